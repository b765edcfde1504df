import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The harness's shape, kept as issue 23 left it: the lab composes the layers
 * below it (qemu, target, network, kmod, host, verdict, console, ...) and none
 * of them leads back to it; lab.ts stays a facade; a file past 400 lines says
 * why.
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

/** A file's package: its folder under harness/, or the file itself for harness/*.ts. */
const packageOf = (file: string) => path.relative(HARNESS, file).split(path.sep)[0]!;

/** Packages that import `from` directly or through others. */
function reachable(from: string, edges: Map<string, Set<string>>): Set<string> {
  const seen = new Set<string>();
  const todo = [from];
  while (todo.length) for (const next of edges.get(todo.pop()!) ?? []) if (!seen.has(next)) seen.add(next), todo.push(next);
  return seen;
}

describe('harness layout', () => {
  it('the lab is in no import cycle: nothing it uses (qemu, target, network, kmod, ...) leads back to it', () => {
    const edges = new Map<string, Set<string>>();
    const via = new Map<string, string>();
    for (const f of tsFiles(HARNESS)) {
      for (const t of importsOf(f).filter((t) => t.startsWith(HARNESS + path.sep))) {
        const [a, b] = [packageOf(f), packageOf(t)];
        if (a === b) continue;
        if (!edges.has(a)) edges.set(a, new Set());
        edges.get(a)!.add(b);
        via.set(`${a}>${b}`, `${path.relative(HARNESS, f)} -> ${path.relative(HARNESS, t)}`);
      }
    }
    const back = [...reachable('lab', edges)].filter((p) => reachable(p, edges).has('lab'));
    // Each offender with the import that leads it back to the lab, where that is direct.
    expect(back.map((p) => via.get(`${p}>lab`) ?? p)).toEqual([]);
    for (const below of ['qemu', 'target', 'network', 'kmod', 'host']) expect(reachable(below, edges).has('lab')).toBe(false);
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

  it('every package the harness, the agent and bin/ import at run time is a dependency, not a devDependency', () => {
    const pkg = JSON.parse(readFileSync(path.resolve(HARNESS, '../package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const files = [...tsFiles(HARNESS), ...tsFiles(path.resolve(HARNESS, '../agent')), path.resolve(HARNESS, '../bin/m3lab.js')];
    const used = new Map<string, string>();
    for (const f of files) {
      const src = readFileSync(f, 'utf8');
      // `import type` is erased at run time; node: builtins need no package.
      for (const m of src.matchAll(/^import (?!type )[^;]*?from '([^.'][^']*)'|import\('([^.'][^']*)'\)/gm)) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith('node:')) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        used.set(name, path.relative(path.resolve(HARNESS, '..'), f));
      }
    }
    expect(used.size).toBeGreaterThan(5);
    const missing = [...used].filter(([name]) => !(name in pkg.dependencies)).map(([name, f]) => `${name} (${f})`);
    expect(missing).toEqual([]);
  });
});
