import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { parseJsonWith } from '../../config/schema.ts';
import { InfraError } from '../../errors.ts';
import { cacheDir } from '../../paths.ts';
import { fetchAndExtract, pinKey } from '../debs.ts';
import { configMismatches, fragmentWants, kernelsDir, loadVariants, type BuiltVariantSpec, type VariantsFile } from './variants.ts';

/** Bump when the build steps change for the same inputs. */
const KERNEL_BUILDER_VERSION = 1;

export interface BuiltKernel {
  variant: string;
  key: string;
  /** bzImage to boot. */
  kernel: string;
  /** `uname -r` of the kernel. */
  release: string;
  /** A pruned O= build tree: `make -C <this> M=...` builds out-of-tree modules for it. */
  buildDir: string;
  source: string;
  buildSeconds: number;
  builtAt: string;
  describe: string;
}

type Log = (line: string) => void;

async function compilerId(): Promise<string> {
  const res = await execa('gcc', ['--version'], { reject: false });
  return (res.stdout ?? '').split('\n')[0] ?? 'gcc unknown';
}

export async function kernelKey(file: VariantsFile, v: BuiltVariantSpec): Promise<string> {
  const h = createHash('sha256');
  h.update(`kernel-builder ${KERNEL_BUILDER_VERSION}\n`);
  h.update(`${pinKey(file.source)}\n`);
  h.update(`${await compilerId()}\n`);
  for (const f of v.fragments) {
    h.update(`${f}\n`);
    h.update(readFileSync(path.join(kernelsDir, f)));
  }
  return h.digest('hex').slice(0, 16);
}

/** Debian's linux-source tarball, unpacked once per pinned version into the cache. */
async function sourceTree(cache: string, file: VariantsFile, log: Log): Promise<string> {
  const root = path.join(cache, 'kernels', 'src', pinKey(file.source));
  const marker = path.join(root, '.m3lab-unpacked');
  const series = file.source.package.replace(/^linux-source-/, '');
  const tree = path.join(root, `linux-source-${series}`);
  if (existsSync(marker)) return tree;
  log(`kernel: fetching ${file.source.package}=${file.source.version}`);
  const pkg = await fetchAndExtract(cache, file.source);
  const tarball = path.join(pkg, 'usr', 'src', `linux-source-${series}.tar.xz`);
  if (!existsSync(tarball)) throw new InfraError(`${file.source.package} has no usr/src/linux-source-${series}.tar.xz (images/kernels/variants.yaml field source)`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  log(`kernel: unpacking ${path.basename(tarball)}`);
  const res = await execa('tar', ['-xf', tarball, '-C', root], { reject: false, all: true });
  if (res.exitCode !== 0) throw new InfraError(`unpacking ${tarball} failed: ${res.all}`);
  if (!existsSync(path.join(tree, 'Makefile'))) throw new InfraError(`${tarball} did not unpack to ${tree}`);
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  return tree;
}

const fmt = (ms: number) => {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};

/**
 * Runs one make step with its output in the build log; every 20 s prints the
 * phase, how many objects were compiled and the elapsed time, never the
 * compiler lines themselves. On failure the log's tail is in the error.
 */
async function makeStep(src: string, args: string[], logFile: string, phase: string, log: Log, started: number): Promise<void> {
  const out = createWriteStream(logFile, { flags: 'a' });
  out.write(`\n$ make ${args.join(' ')}\n`);
  const child = execa('make', ['-C', src, ...args], { reject: false, all: true, buffer: false });
  let compiled = 0;
  let tail: string[] = [];
  child.all?.on('data', (chunk: Buffer) => {
    out.write(chunk);
    const text = chunk.toString();
    compiled += (text.match(/^\s+CC(?: \[M\])?\s/gm) ?? []).length;
    tail = [...tail, ...text.split('\n')].slice(-60);
  });
  const timer = setInterval(() => log(`kernel: ${phase}: ${compiled} objects compiled, ${fmt(Date.now() - started)} elapsed`), 20000);
  const res = await child;
  clearInterval(timer);
  await new Promise((r) => out.end(r));
  if (res.exitCode !== 0) {
    throw new InfraError(`kernel build failed in ${phase} (make ${args.join(' ')}); full log ${logFile}:\n${tail.join('\n')}`);
  }
}

/**
 * Keeps what building an out-of-tree module needs (.config, generated headers,
 * Module.symvers, scripts/ and objtool binaries, Makefiles) and drops the
 * objects, so a cached variant costs tens of MB, not gigabytes.
 */
function pruneBuildTree(dir: string): void {
  const keepDirs = new Set(['scripts', 'tools', 'include', 'arch']);
  const walk = (d: string, top: boolean) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      const st = statSync(full, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) {
        if (top && keepDirs.has(name) && name !== 'arch') continue;
        walk(full, false);
      } else if (/\.(o|a|ko|mod\.c|mod|o\.cmd|ko\.cmd|a\.cmd|s)$/.test(name) && !full.includes(`${path.sep}arch${path.sep}x86${path.sep}tools${path.sep}`)) {
        rmSync(full, { force: true });
      }
    }
  };
  walk(dir, true);
  for (const big of ['vmlinux', 'vmlinux.o', 'vmlinux.a', '.tmp_vmlinux.kallsyms1', '.tmp_vmlinux.kallsyms2', '.tmp_vmlinux.btf']) rmSync(path.join(dir, big), { force: true });
}

function variantDir(cache: string, name: string, key: string): string {
  return path.join(cache, 'kernels', `${name}-${key}`);
}

/**
 * A cached build's record (kernel.json). One that is damaged or lacks a field
 * (a build killed while writing it, an older m3lab) counts as no build: the
 * kernel is built again rather than booted from a path that is not there.
 */
const BuiltKernelFile = z.looseObject({
  variant: z.string(),
  key: z.string(),
  kernel: z.string().min(1),
  release: z.string().min(1),
  buildDir: z.string().min(1),
  source: z.string(),
  buildSeconds: z.number(),
  builtAt: z.string(),
  describe: z.string(),
});

function readBuiltKernel(meta: string): BuiltKernel | undefined {
  if (!existsSync(meta)) return undefined;
  try {
    return parseJsonWith(meta, BuiltKernelFile, readFileSync(meta, 'utf8')) as BuiltKernel;
  } catch (e) {
    process.stderr.write(`kernel: ${(e as Error).message}: building again\n`);
    return undefined;
  }
}

/** The cached build of a variant, if its inputs were built before. */
export async function cachedKernel(name: string): Promise<BuiltKernel | undefined> {
  const file = loadVariants();
  const v = file.variants.find((x) => x.name === name);
  if (!v) throw new InfraError(`kernel variant ${name} is not in images/kernels/variants.yaml`);
  const meta = path.join(variantDir(cacheDir(), name, await kernelKey(file, v)), 'kernel.json');
  return readBuiltKernel(meta);
}

/**
 * Builds a kernel variant from Debian's linux-source (or returns the cached one):
 * x86_64_defconfig + kvm_guest.config + the variant's fragments merged with
 * merge_config.sh, olddefconfig, a check that every symbol a fragment asked for
 * survived, then bzImage and modules with one job per core.
 */
export async function buildKernel(name: string, opts: { log?: Log; force?: boolean } = {}): Promise<BuiltKernel> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const cache = cacheDir();
  const file = loadVariants();
  const v = file.variants.find((x) => x.name === name);
  if (!v) throw new InfraError(`kernel variant ${name} is not in images/kernels/variants.yaml`);
  const key = await kernelKey(file, v);
  const dir = variantDir(cache, name, key);
  const metaPath = path.join(dir, 'kernel.json');
  const cached = opts.force ? undefined : readBuiltKernel(metaPath);
  if (cached) return cached;

  const started = Date.now();
  const src = await sourceTree(cache, file, log);
  // Built where it will live (an O= tree names its own path); kernel.json, written
  // last, marks it complete, so a build cut short is redone.
  const tmp = dir;
  rmSync(tmp, { recursive: true, force: true });
  const build = path.join(tmp, 'build');
  mkdirSync(build, { recursive: true });
  const logFile = path.join(tmp, 'build.log');
  const jobs = availableParallelism();
  log(`kernel ${name}: building ${key} from ${file.source.package}=${file.source.version} (${v.fragments.join(' + ')}), ${jobs} jobs; log ${logFile}`);

  log(`kernel ${name}: [1/4] configure`);
  await makeStep(src, [`O=${build}`, 'x86_64_defconfig'], logFile, 'configure', log, started);
  const fragments = v.fragments.map((f) => path.join(kernelsDir, f));
  const merge = await execa(path.join(src, 'scripts', 'kconfig', 'merge_config.sh'), ['-m', '-O', build, path.join(build, '.config'), path.join(src, 'kernel', 'configs', 'kvm_guest.config'), ...fragments], { cwd: src, reject: false, all: true });
  writeFileSync(logFile, `${readFileSync(logFile, 'utf8')}\n${merge.all ?? ''}\n`);
  if (merge.exitCode !== 0) throw new InfraError(`merge_config.sh failed for kernel ${name}: ${merge.all}`);
  await makeStep(src, [`O=${build}`, 'olddefconfig'], logFile, 'configure', log, started);
  const finalConfig = readFileSync(path.join(build, '.config'), 'utf8');
  for (const f of v.fragments) {
    const bad = configMismatches(fragmentWants(readFileSync(path.join(kernelsDir, f), 'utf8')), finalConfig);
    if (bad.length) {
      throw new InfraError(`kernel ${name}: images/kernels/${f} asks for symbols the final .config does not have (unmet dependencies?): ${bad.map(([s, w, g]) => `${s} wanted ${w}, got ${g}`).join('; ')}`);
    }
  }

  log(`kernel ${name}: [2/4] compile bzImage and modules`);
  await makeStep(src, [`O=${build}`, `-j${jobs}`, 'bzImage', 'modules'], logFile, 'compile', log, started);
  const release = (await execa('make', ['-s', '-C', src, `O=${build}`, 'kernelrelease'], { reject: false })).stdout.trim().split('\n').pop() ?? '';
  if (!release) throw new InfraError(`kernel ${name}: make kernelrelease printed nothing`);

  log(`kernel ${name}: [3/4] keep the module build tree`);
  const bz = path.join(build, 'arch', 'x86', 'boot', 'bzImage');
  if (!existsSync(bz)) throw new InfraError(`kernel ${name}: no arch/x86/boot/bzImage after the build`);
  renameSync(bz, path.join(tmp, 'bzImage'));
  pruneBuildTree(build);

  log(`kernel ${name}: [4/4] cache`);
  const buildSeconds = Math.round((Date.now() - started) / 1000);
  const meta: BuiltKernel = {
    variant: name,
    key,
    kernel: path.join(dir, 'bzImage'),
    release,
    buildDir: path.join(dir, 'build'),
    source: `${file.source.package}=${file.source.version}`,
    buildSeconds,
    builtAt: new Date().toISOString(),
    describe: v.describe,
  };
  writeFileSync(path.join(tmp, 'kernel.json'), `${JSON.stringify(meta, null, 2)}\n`);
  log(`kernel ${name}: built ${release} in ${fmt(Date.now() - started)} (cache ${dir})`);
  return meta;
}
