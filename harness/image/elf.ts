import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { InfraError } from '../errors.ts';

const LIB_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64', 'lib', 'usr/lib'];

/** Follows symlinks inside an unpacked package tree, where absolute links mean that tree. */
export function resolveInRoot(root: string, rel: string, depth = 0): string | undefined {
  if (depth > 16) return undefined;
  const full = path.join(root, rel);
  if (!existsSync(full) && !isLink(full)) return undefined;
  if (!isLink(full)) return full;
  const target = readlinkSync(full);
  const next = target.startsWith('/') ? target : path.join(path.dirname(rel), target);
  return resolveInRoot(root, next, depth + 1);
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

export async function neededLibraries(file: string): Promise<string[]> {
  const res = await execa('readelf', ['-d', file], { reject: false });
  if (res.exitCode !== 0) throw new InfraError(`readelf -d ${file}: ${res.stderr}`);
  return [...res.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
}

/**
 * The shared-library closure of some ELF programs, resolved against the given roots
 * in order (the recipe's unpacked packages, never the host unless asked). Returns
 * soname -> real file. An unresolvable soname fails with the program that needs it.
 */
export async function libraryClosure(
  programs: string[],
  roots: string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const queue = programs.map((p) => ({ file: p, by: p }));
  while (queue.length > 0) {
    const { file, by } = queue.shift()!;
    for (const soname of await neededLibraries(file)) {
      if (found.has(soname)) continue;
      const hit = findLibrary(soname, roots);
      if (!hit) {
        throw new InfraError(
          `library ${soname} needed by ${path.basename(by)} is in none of the recipe's packages; add its package to images/recipe.yaml`,
        );
      }
      found.set(soname, hit);
      queue.push({ file: hit, by: `${by} -> ${soname}` });
    }
  }
  return found;
}

function findLibrary(soname: string, roots: string[]): string | undefined {
  for (const root of roots) {
    for (const dir of LIB_DIRS) {
      const hit = resolveInRoot(root, path.join(dir, soname));
      if (hit) return hit;
    }
  }
  return undefined;
}
