import { execa } from 'execa';
import { InfraError } from '../errors.ts';
import { APT_UPDATE_MS, aptUpdateOnce, fetchAll } from '../image/debs.ts';
import { cachedHeaders, prepareHeaders } from '../image/headers.ts';
import type { PackagePin } from '../image/recipe.ts';
import { cacheDir } from '../paths.ts';

/**
 * A board runs whatever Debian kernel it has. Its headers come the way the
 * image's do: the packages of its release (`uname -r`) at the version its
 * build names (`uname -v` says "Debian 6.1.176-1"), downloaded with apt-get
 * into the cache and unpacked into one tree the module builds against.
 */
export function debianVersion(unameV: string): string | undefined {
  return /\bDebian (\S+)/.exec(unameV)?.[1];
}

/** The headers package, its common headers and kbuild, from the package's own Depends. */
export function headerPins(release: string, version: string, depends: string): PackagePin[] {
  const pins: PackagePin[] = [{ package: `linux-headers-${release}`, version }];
  for (const dep of depends.split(',').map((d) => d.trim().split(/\s+/)[0]!)) {
    if (/^linux-headers-.*-common(-rt)?$/.test(dep) || /^linux-kbuild-/.test(dep)) pins.push({ package: dep, version });
  }
  return pins;
}

let listsRefreshed = false;

async function aptShow(pkg: string): Promise<{ ok: boolean; text: string }> {
  const show = () => execa('apt-cache', ['show', pkg], { reject: false, all: true, timeout: APT_UPDATE_MS });
  let res = await show();
  if ((res.exitCode !== 0 || !res.stdout.trim()) && !listsRefreshed && process.getuid?.() === 0) {
    listsRefreshed = true;
    await aptUpdateOnce();
    res = await show();
  }
  return { ok: res.exitCode === 0 && res.stdout.trim() !== '', text: res.exitCode === 0 ? res.stdout : res.all ?? '' };
}

/** Returns the `make -C` directory for a board's kernel, fetching its headers if needed. */
export async function boardKernelTree(board: string, release: string, unameV: string, log: (l: string) => void = () => {}): Promise<string> {
  const pkg = `linux-headers-${release}`;
  let version = debianVersion(unameV);
  if (!version) {
    const policy = await execa('apt-cache', ['policy', pkg], { reject: false });
    version = /Candidate: (\S+)/.exec(policy.stdout)?.[1];
    if (!version || version === '(none)') throw new InfraError(`${board}: no kernel headers for ${release}: its build (uname -v: ${unameV.trim()}) names no Debian version and no Debian package ${pkg} is known`);
  }
  // Headers of this very build already unpacked (the image's own, or an earlier board's): no apt at all.
  const cached = cachedHeaders(cacheDir(), release, { package: pkg, version });
  if (cached) {
    log(`kmod: ${board} runs ${release} (Debian ${version}); headers from the cache`);
    return cached;
  }
  const shown = await aptShow(`${pkg}=${version}`);
  if (!shown.ok) throw new InfraError(`${board}: no kernel headers for ${release}: Debian package ${pkg} version ${version} is not available (${shown.text.trim().split('\n').pop()})`);
  const depends = /^Depends: (.*)$/m.exec(shown.text)?.[1] ?? '';
  const pins = headerPins(release, version, depends);
  log(`kmod: ${board} runs ${release} (Debian ${version}); headers from ${pins.map((p) => p.package).join(', ')}`);
  const cache = cacheDir();
  await fetchAll(cache, pins);
  return prepareHeaders(cache, release, pins);
}
