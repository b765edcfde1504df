import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { InfraError } from '../errors.ts';
import type { PackagePin } from './recipe.ts';

/**
 * Debian packages fetched with `apt-get download` into the cache and unpacked with
 * `dpkg-deb -x`: nothing is installed on the host. Each pin gets its own folder so
 * a package is downloaded and unpacked once per version.
 */
export function pinKey(pin: PackagePin): string {
  return `${pin.package}=${pin.version}`.replaceAll(':', '%3a');
}

let aptUpdated = false;

/**
 * Bounds of the host's apt calls: a mirror that stops answering must end as a
 * host-side error naming the call, not as a suite hook that times out with no
 * word of why (apt's own retries have no overall bound).
 */
export const APT_UPDATE_MS = 5 * 60_000;
export const APT_DOWNLOAD_MS = 10 * 60_000;

/** `apt-get update`, once per process, as root only, bounded. */
export async function aptUpdateOnce(): Promise<void> {
  if (aptUpdated || process.getuid?.() !== 0) return;
  aptUpdated = true;
  const res = await execa('apt-get', ['update', '-qq'], { reject: false, all: true, timeout: APT_UPDATE_MS });
  if (res.timedOut) throw new InfraError(`apt-get update did not finish in ${APT_UPDATE_MS / 60_000} min (the package mirror is unreachable or stalled)`);
}

async function aptDownload(pin: PackagePin, dir: string): Promise<void> {
  const spec = `${pin.package}=${pin.version}`;
  const attempt = async () => {
    const r = await execa('apt-get', ['download', '-q', spec], { cwd: dir, reject: false, all: true, timeout: APT_DOWNLOAD_MS });
    if (r.timedOut) throw new InfraError(`apt-get download ${spec} did not finish in ${APT_DOWNLOAD_MS / 60_000} min`);
    return r;
  };
  let res = await attempt();
  // A fresh machine may have empty package lists; refresh them once, as root only.
  if (res.exitCode !== 0 && !aptUpdated && process.getuid?.() === 0) {
    await aptUpdateOnce();
    res = await attempt();
  }
  if (res.exitCode !== 0) {
    const why = (res.all ?? '').split('\n').filter((l) => /^E:/.test(l)).join('; ') || res.all;
    throw new InfraError(`cannot download Debian package ${pin.package} version ${pin.version}: ${why}`);
  }
}

/** Returns the unpacked root of one pinned package, downloading it if needed. */
export async function fetchAndExtract(cache: string, pin: PackagePin): Promise<string> {
  const key = pinKey(pin);
  const root = path.join(cache, 'pkgs', key);
  const marker = path.join(root, '.m3lab-extracted');
  if (existsSync(marker)) return path.join(root, 'root');
  rmSync(root, { recursive: true, force: true });
  const dl = path.join(root, 'download');
  mkdirSync(dl, { recursive: true });
  await aptDownload(pin, dl);
  const debs = readdirSync(dl).filter((f) => f.endsWith('.deb'));
  if (debs.length !== 1) throw new InfraError(`apt-get download ${key} left ${debs.length} .deb files`);
  const deb = path.join(root, debs[0]!);
  renameSync(path.join(dl, debs[0]!), deb);
  rmSync(dl, { recursive: true, force: true });
  const res = await execa('dpkg-deb', ['-x', deb, path.join(root, 'root')], { reject: false, all: true });
  if (res.exitCode !== 0) throw new InfraError(`dpkg-deb -x ${debs[0]} failed: ${res.all}`);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return path.join(root, 'root');
}

/** Fetches many pins with bounded concurrency, reporting each as it lands. */
export async function fetchAll(
  cache: string,
  pins: PackagePin[],
  onDone: (pin: PackagePin, done: number, total: number) => void = () => {},
): Promise<Map<string, string>> {
  const roots = new Map<string, string>();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < pins.length) {
      const pin = pins[next++]!;
      roots.set(pin.package, await fetchAndExtract(cache, pin));
      onDone(pin, ++done, pins.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, pins.length) }, worker));
  return roots;
}
