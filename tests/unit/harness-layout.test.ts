import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The harness's shape, kept as issue 23 left it: the lab composes the layers
 * below it (qemu, target, network, kmod, host) and none of them imports the
 * lab back; lab.ts stays a facade; a file past 400 lines says why.
 */
const HARNESS = path.resolve(import.meta.dirname, '../../harness');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The harness files a file imports (relative specifiers only), resolved. */
function importsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)].map((m) => path.resolve(path.dirname(file), m[1]!));
}

describe('harness layout', () => {
  it('no layer below the lab imports the lab', () => {
    const below = ['qemu', 'target', 'network', 'kmod', 'host'];
    const offenders = below
      .flatMap((d) => tsFiles(path.join(HARNESS, d)))
      .flatMap((f) => importsOf(f).filter((t) => t.startsWith(path.join(HARNESS, 'lab') + path.sep)).map((t) => `${path.relative(HARNESS, f)} -> ${path.relative(HARNESS, t)}`));
    expect(offenders).toEqual([]);
  });

  it('lab.ts is a facade of at most 200 lines', () => {
    expect(readFileSync(path.join(HARNESS, 'lab/lab.ts'), 'utf8').split('\n').length - 1).toBeLessThanOrEqual(200);
  });

  it('a file over 400 lines says why in its first line', () => {
    const long = tsFiles(HARNESS)
      .map((f) => ({ f: path.relative(HARNESS, f), lines: readFileSync(f, 'utf8').split('\n') }))
      .filter((x) => x.lines.length - 1 > 400 && !/^\/\/ Over 400 lines: \S/.test(x.lines[0] ?? ''));
    expect(long.map((x) => x.f)).toEqual([]);
  });
});
