/**
 * Builds original M3-IPC 1.6 programs (issue 24) to run in a lab: unchanged sources from a
 * MOL-IPC tree, compiled on the host with `gcc -static` against `m3ipc_compat.h` and
 * `libm3ipc_compat.a`, the original include paths mapped to the compat header as the census
 * maps them (harness/compat/census.ts). The tree is test data: it is only read.
 *
 * One thing is added at link time: `-Wl,--wrap=sleep` with tests/fixtures/compat/scaled-sleep.c.
 * The originals pause up to 40 s only to order their two sides; the wrap turns each second into
 * M3COMPAT_SLEEP_MS milliseconds on the guest, so a suite keeps the order at a fraction of the
 * time.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../paths.ts';
import { buildCompat, commonFlags, compatMirror, includeDirs } from './census.ts';

// Output as the tools wrote it, final newline and all (their stderr is parsed line by line).
const run = (file: string, args: string[], o: { cwd?: string; maxBuffer?: number; env?: NodeJS.ProcessEnv } = {}) => execa(file, args, { ...o, stripFinalNewline: false });

export const scaledSleepSource = path.join(repoRoot, 'tests', 'fixtures', 'compat', 'scaled-sleep.c');

export interface OriginalsBuild {
  /** the tree read */
  tree: string;
  /**
   * What identifies the sources: the tree's git commit, or the commit its README beside it
   * names (shared/orig/README.md), and a digest of the built programs' sources either way.
   */
  source: string;
  /** program name (file name without .c) -> host path of the static binary */
  binaries: Map<string, string>;
  /** the dir holding the binaries; remove it when done */
  dir: string;
}

/** The commit a tree is at: its own git HEAD, or the "at commit X" of the README beside it. */
function treeCommit(tree: string): string | undefined {
  if (existsSync(path.join(tree, '.git'))) {
    try {
      return readFileSync(path.join(tree, '.git', 'HEAD'), 'utf8').trim();
    } catch {
      return undefined;
    }
  }
  const readme = path.join(path.dirname(tree), 'README.md');
  if (!existsSync(readme)) return undefined;
  return readFileSync(readme, 'utf8').match(new RegExp(`${path.basename(tree)}\\b[\\s\\S]*?at commit ([0-9a-f]{7,40})`))?.[1];
}

async function gcc(args: string[], cwd: string): Promise<void> {
  try {
    // nice: the host's 2 cores are shared with the lab being booted
    await run('nice', ['-n', '10', 'gcc', ...args], { cwd, maxBuffer: 16 << 20, env: { ...process.env, LC_ALL: 'C' } });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`gcc ${args.filter((a) => a.endsWith('.c')).join(' ')} failed: ${err.stderr ?? err.message}`);
  }
}

/**
 * Builds `files` (paths from the tree's root, e.g. `loops/loop_mol_ipc1.c`) into a temp dir.
 * Two compilers at a time: the host has 2 cores.
 */
export async function buildOriginals(tree: string, files: string[]): Promise<OriginalsBuild> {
  const missing = files.filter((f) => !existsSync(path.join(tree, f)));
  if (missing.length > 0) throw new Error(`the MOL-IPC tree at ${tree} lacks ${missing.join(', ')}: set M3LAB_ORIG_MOLIPC to a copy of PabloPessolani/MOL-IPC`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3-originals-'));
  try {
    const { inc, lib } = await buildCompat(path.join(dir, 'build'));
    const mirror = path.join(dir, 'tree');
    compatMirror(tree, mirror);
    const out = path.join(dir, 'bin');
    mkdirSync(out);
    const shim = path.join(dir, 'scaled-sleep.o');
    await gcc(['-O2', '-c', scaledSleepSource, '-o', shim], dir);
    const binaries = new Map<string, string>();
    const queue = [...files];
    const worker = async () => {
      for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
        const name = path.basename(f, '.c');
        const bin = path.join(out, name);
        await gcc([...commonFlags, '-I', inc, ...includeDirs(mirror, f), path.join(mirror, f), shim, '-static', '-Wl,--wrap=sleep', '-o', bin, '-L', lib, '-lm3ipc_compat', '-lpthread', '-lrt', '-lm'], dir);
        binaries.set(name, bin);
      }
    };
    await Promise.all([worker(), worker()]);
    const digest = createHash('sha256');
    for (const f of [...files].sort()) digest.update(f).update('\0').update(readFileSync(path.join(tree, f)));
    const commit = treeCommit(tree);
    const source = `${tree} (${commit ? `commit ${commit}` : 'commit unknown'}; sources sha256 ${digest.digest('hex').slice(0, 16)})`;
    return { tree, source, binaries, dir };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The binaries as one xz-compressed tar (about 0.8 MB for fifteen 850 kB static programs),
 * for `unxz | tar -x` on a guest, as the kmod copy does (harness/kmod/deploy.ts).
 */
export async function packOriginals(build: OriginalsBuild): Promise<Buffer> {
  const names = [...build.binaries.keys()].sort();
  const bin = path.dirname(build.binaries.get(names[0]!)!);
  const res = await execa('sh', ['-c', 'tar -c -C "$0" "$@" | xz -1 -T1 -c', bin, ...names], { encoding: 'buffer', maxBuffer: 256 << 20 });
  return Buffer.from(res.stdout);
}
