import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { InfraError } from '../errors.ts';
import { pinKey } from './debs.ts';
import type { PackagePin } from './recipe.ts';

/**
 * Kernel headers usable without installing them: the headers, common headers and
 * kbuild packages unpacked into one tree, with the one absolute include in the
 * flavour Makefile and the absolute symlinks pointed back into that tree.
 * Returns the directory to pass as `make -C`.
 */
/**
 * The unpacked headers tree of `release` if the cache already holds one made from
 * `pin` (and the packages it came with), without asking apt anything.
 */
export function cachedHeaders(cache: string, release: string, pin: PackagePin): string | undefined {
  const marker = path.join(cache, 'headers', release, '.m3lab-key');
  if (!existsSync(marker) || !readFileSync(marker, 'utf8').split('+').includes(pinKey(pin))) return undefined;
  const kdir = path.join(cache, 'headers', release, 'root', 'usr', 'src', `linux-headers-${release}`);
  return existsSync(path.join(kdir, 'Makefile')) ? kdir : undefined;
}

export async function prepareHeaders(cache: string, release: string, pins: PackagePin[]): Promise<string> {
  const key = pins.map(pinKey).join('+');
  const root = path.join(cache, 'headers', release, 'root');
  const marker = path.join(cache, 'headers', release, '.m3lab-key');
  const kdir = path.join(root, 'usr', 'src', `linux-headers-${release}`);
  if (existsSync(marker) && readFileSync(marker, 'utf8') === key) return kdir;
  rmSync(path.dirname(root), { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  for (const pin of pins) {
    const dir = path.join(cache, 'pkgs', pinKey(pin));
    const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
    if (!deb) throw new InfraError(`no .deb cached for ${pinKey(pin)}`);
    const res = await execa('dpkg-deb', ['-x', path.join(dir, deb), root], { reject: false, all: true });
    if (res.exitCode !== 0) throw new InfraError(`dpkg-deb -x ${deb}: ${res.all}`);
  }
  const makefile = path.join(kdir, 'Makefile');
  if (!existsSync(makefile)) throw new InfraError(`headers for ${release} have no ${makefile}`);
  const text = readFileSync(makefile, 'utf8').replace(/^include \/usr\/src\//m, `include ${root}/usr/src/`);
  writeFileSync(makefile, text);
  relinkAbsolute(root, root);
  writeFileSync(marker, key);
  return kdir;
}

function relinkAbsolute(root: string, dir: string): void {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    const st = lstatSync(full);
    if (st.isSymbolicLink()) {
      const target = readlinkSync(full);
      if (target.startsWith('/')) {
        unlinkSync(full);
        symlinkSync(path.join(root, target), full);
      }
    } else if (st.isDirectory()) {
      relinkAbsolute(root, full);
    }
  }
}
