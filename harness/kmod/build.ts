import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { InfraError } from '../errors.ts';
import { modinfo } from '../image/kmods.ts';
import { repoRoot } from '../paths.ts';

/**
 * The module's tree: the clone's kmod/, or M3LAB_KMOD_DIR (`m3lab bisect`
 * builds and tests the kmod/ of the commit it is at with this harness).
 */
export const kmodDir = process.env.M3LAB_KMOD_DIR ? path.resolve(process.env.M3LAB_KMOD_DIR) : path.join(repoRoot, 'kmod');
export const kmodBuildDir = path.join(kmodDir, 'build');

/** The kernel a module is built for: its release and a tree `make -C` accepts. */
export interface KernelTree {
  release: string;
  buildDir: string;
}

export interface KmodArtifacts {
  dir: string;
  module: string;
  vermagic: string;
  release: string;
  tools: string[];
  tests: string[];
  bench: string[];
  proxy: string[];
  /**
   * The programs linked into one static binary (kmod/Makefile `multicall`), which
   * the deploy sends once with a symlink per program: paths as in the lists above.
   * Absent for a tree whose Makefile has no such target (an older commit in a bisection).
   */
  multicall?: { binary: string; programs: string[] };
}

function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => !f.includes('.')).map((f) => path.join(dir, f)) : [];
}

function tail(text: string | undefined, n = 40): string {
  return (text ?? '').split('\n').slice(-n).join('\n');
}

let userBuilt: Promise<void> | undefined;

/**
 * `make` under an exclusive lock of the build folder (flock(1)): two shards of a
 * night on one host (or one clone on a shared file system) build the same
 * objects, and two makes in one folder at once can leave a broken one.
 */
function lockedMake(args: string[]) {
  mkdirSync(kmodBuildDir, { recursive: true });
  return execa('flock', [path.join(kmodBuildDir, '.make.lock'), 'make', ...args], { reject: false, all: true });
}

/** Whether the tree's Makefile can link its programs into one binary (kmod/Makefile `multicall`). */
const hasMulticall = () => /^multicall:/m.test(readFileSync(path.join(kmodDir, 'Makefile'), 'utf8'));

/** The static user-space programs (the same for every kernel), and their multicall binary; make decides what is stale. */
async function buildUser(): Promise<void> {
  const res = await lockedMake(['-C', kmodDir, '-j2', 'user']);
  if (res.exitCode !== 0) throw new InfraError(`building kmod/ user space failed:\n${tail(res.all)}`);
  if (!hasMulticall()) return;
  const mc = await lockedMake(['-C', kmodDir, '-j2', 'multicall']);
  if (mc.exitCode !== 0) throw new InfraError(`building kmod/ multicall binary failed:\n${tail(mc.all)}`);
}

/** The multicall binary and the programs it holds, as paths of the build folder (tools/m3ctl is build/m3ctl). */
function multicallOf(): KmodArtifacts['multicall'] {
  const dir = path.join(kmodBuildDir, 'multicall');
  if (!hasMulticall() || !existsSync(path.join(dir, 'programs'))) return undefined;
  const programs = readFileSync(path.join(dir, 'programs'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((p) => path.join(kmodBuildDir, p.replace(/^tools\//, '')));
  return { binary: path.join(dir, 'm3multi'), programs };
}

/** What a module build depends on: its sources as copied, and the kernel tree's identity. */
function buildStamp(root: string, k: KernelTree): string {
  const h = createHash('sha256');
  h.update(`${k.release}\0${k.buildDir}\0`);
  for (const sub of ['module', 'uapi']) {
    const dir = path.join(root, sub);
    for (const f of readdirSync(dir).filter((x) => /\.(c|h)$|^Kbuild$/.test(x)).sort()) h.update(`${sub}/${f}\0`).update(readFileSync(path.join(dir, f)));
  }
  for (const f of ['Module.symvers', 'Makefile', '.config']) {
    const p = path.join(k.buildDir, f);
    if (existsSync(p)) {
      const st = statSync(p);
      h.update(`${f} ${st.size} ${st.mtimeMs}\0`);
    }
  }
  return h.digest('hex');
}

/**
 * Builds m3ipc.ko for one kernel in a folder of its own
 * (`build/kernels/<release>/module`), so modules for several kernels coexist and
 * kbuild's objects for one never leak into another; then checks its vermagic.
 */
async function buildModule(k: KernelTree): Promise<{ module: string; vermagic: string }> {
  if (!existsSync(path.join(k.buildDir, 'Makefile'))) throw new InfraError(`no kernel build tree for ${k.release} at ${k.buildDir}`);
  const root = path.join(kmodBuildDir, 'kernels', k.release);
  mkdirSync(root, { recursive: true });
  for (const sub of ['module', 'uapi']) {
    // Copy sources only: make keeps its objects there between runs.
    for (const f of readdirSync(path.join(kmodDir, sub))) {
      if (/\.(c|h)$|^Kbuild$/.test(f)) {
        mkdirSync(path.join(root, sub), { recursive: true });
        cpSync(path.join(kmodDir, sub, f), path.join(root, sub, f), { preserveTimestamps: true });
      }
    }
  }
  const module = path.join(root, 'module', 'm3ipc.ko');
  // kbuild takes ~2 s of both cores to find nothing to do, and every cluster setup and
  // node rejoin asks (some thirty times a make test, beside running guests): the
  // build is skipped when the sources and the kernel tree are the ones it was made from.
  const stampFile = path.join(root, 'module', '.m3lab-built');
  const stamp = buildStamp(root, k);
  if (!(existsSync(module) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp)) {
    rmSync(stampFile, { force: true });
    const res = await lockedMake(['-C', k.buildDir, `M=${path.join(root, 'module')}`, '-j2', 'modules']);
    if (res.exitCode !== 0) throw new InfraError(`building m3ipc.ko for ${k.release} failed:\n${tail(res.all)}`);
    writeFileSync(stampFile, stamp);
  }
  const vermagic = modinfo(module).get('vermagic')?.[0] ?? '';
  if (!vermagic.startsWith(`${k.release} `)) throw new InfraError(`m3ipc.ko vermagic "${vermagic}" does not match the kernel ${k.release}`);
  return { module, vermagic };
}

/**
 * Builds the module against a kernel's own build tree (so vermagic and
 * Module.symvers match the guest) and the static user-space programs.
 */
export async function buildKmod(k: KernelTree, log: (l: string) => void = () => {}): Promise<KmodArtifacts> {
  userBuilt ??= buildUser();
  try {
    await userBuilt;
  } catch (e) {
    userBuilt = undefined;
    throw e;
  }
  const { module, vermagic } = await buildModule(k);
  const a: KmodArtifacts = {
    dir: kmodBuildDir,
    module,
    vermagic,
    release: k.release,
    tools: [path.join(kmodBuildDir, 'm3ctl')],
    tests: listDir(path.join(kmodBuildDir, 'tests')),
    bench: listDir(path.join(kmodBuildDir, 'bench')),
    proxy: listDir(path.join(kmodBuildDir, 'proxy')),
    multicall: multicallOf(),
  };
  log(`kmod: m3ipc.ko (${vermagic}), ${a.tests.length} test programs, ${a.bench.length} bench programs${a.multicall ? ` (${a.multicall.programs.length} of all in one multicall binary)` : ''}`);
  return a;
}

/** Removes the per-kernel module builds (used by `make clean`). */
export function cleanKernelBuilds(): void {
  rmSync(path.join(kmodBuildDir, 'kernels'), { recursive: true, force: true });
}
