import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { InfraError } from '../errors.ts';
import { processTimeScale, scaled } from '../verdict/time-scale.ts';
import type { KmodGuest } from './guest.ts';
import type { KmodArtifacts } from './build.ts';

/** Where the module and its programs live on every node. */
export const REMOTE_KMOD_DIR = '/tmp/m3lab/kmod';

export interface RemoteKmod {
  module: string;
  m3ctl: string;
  tests: Record<string, string>;
  bench: Record<string, string>;
  proxy: Record<string, string>;
}

/**
 * Copies the build output to a node as one tar stream over SSH: only `tar` and a
 * shell on the far side, the same for a VM and a board. Where the node has
 * `unxz` (every VM: busybox), the stream is xz-compressed. The programs go as
 * one static multicall binary (1.4 MB stripped) and a symlink per program, where
 * ~40 static programs, each with its own libc, made 26 MB: a 1-vCPU TCG guest
 * unpacked those in 2.3-2.4 s and unpacks this in ~0.2 s (measured 2026-12-07),
 * and three nodes beside each other took 7-8 s (18 s on the debug kernel).
 * A static binary, not dynamic ones: those unpack as fast but cost ~37 ms more
 * per exec under TCG (45 ms against 8), and the suites exec thousands.
 */
export async function deployKmod(node: KmodGuest, a: KmodArtifacts): Promise<RemoteKmod> {
  const all = [a.module, ...a.tools, ...a.tests, ...a.bench, ...a.proxy].map((f) => path.relative(a.dir, f));
  // With a multicall binary, its programs go as symlinks to it: one copy of libc instead of ~40.
  const linked = new Set((a.multicall?.programs ?? []).map((f) => path.relative(a.dir, f)));
  const copied = all.filter((f) => !linked.has(f));
  if (a.multicall) copied.push(path.relative(a.dir, a.multicall.binary));
  const staged = await stripped(a.dir, copied);
  if (a.multicall) linkPrograms(staged, [...linked], path.relative(a.dir, a.multicall.binary));
  const files = [...copied, ...linked];
  if (!node.ssh) throw new InfraError(`${node.name}: not connected`);
  const scale = processTimeScale();
  const xz = (await node.ssh.exec('command -v unxz', { timeoutMs: scaled(30000, scale) })).code === 0;
  const stream = await archive(staged, files, xz);
  const unpack = `${xz ? 'unxz | ' : ''}tar -x -C ${REMOTE_KMOD_DIR}`;
  const out = await node.ssh.exec(`rm -rf ${REMOTE_KMOD_DIR} && mkdir -p ${REMOTE_KMOD_DIR} && ${unpack}`, { stdin: stream, timeoutMs: scaled(60000, scale) });
  if (out.code !== 0) throw new InfraError(`${node.name}: unpacking kmod build failed: ${out.stderr}`);
  const remote = (f: string) => path.posix.join(REMOTE_KMOD_DIR, path.relative(a.dir, f));
  const byName = (list: string[]) => Object.fromEntries(list.map((f) => [path.basename(f), remote(f)]));
  return { module: remote(a.module), m3ctl: remote(a.tools[0]!), tests: byName(a.tests), bench: byName(a.bench), proxy: byName(a.proxy) };
}

/** insmod, unless the module is already in; returns whether this call loaded it. */
export async function loadModule(node: KmodGuest, r: RemoteKmod): Promise<boolean> {
  const loaded = await node.sh('grep -q "^m3ipc " /proc/modules');
  if (loaded.code === 0) return false;
  const res = await node.sh(`insmod ${r.module}`);
  if (res.code !== 0) throw new InfraError(`${node.name}: insmod m3ipc failed: ${res.stderr.trim()}`);
  return true;
}

export async function unloadModule(node: KmodGuest): Promise<{ code: number | null; stderr: string }> {
  const res = await node.sh('rmmod m3ipc', 30000);
  return { code: res.code, stderr: res.stderr.trim() };
}

const staging = new Map<string, Promise<void>>();
const archives = new Map<string, Promise<Buffer>>();
/** Compressed archives kept on disk (each suite is a process of its own): the newest few. */
const KEEP_ARCHIVES = 4;

/**
 * The staged files as one tar (xz-compressed when `xz`), made once per content:
 * named by a hash of the file names, sizes and times, kept beside the staged
 * copies so the next suite's process finds it, and shared by the nodes of one
 * setup.
 */
function archive(staged: string, files: string[], xz: boolean): Promise<Buffer> {
  const h = createHash('sha256').update(xz ? 'xz\n' : 'tar\n');
  for (const f of files) {
    const st = statSync(path.join(staged, f));
    h.update(`${f}${lstatSync(path.join(staged, f)).isSymbolicLink() ? ' ->' : ''} ${st.size} ${st.mtimeMs}\n`);
  }
  const key = h.digest('hex').slice(0, 16);
  let p = archives.get(key);
  if (!p) {
    p = makeArchive(staged, files, xz, key);
    archives.set(key, p);
    p.catch(() => archives.delete(key));
  }
  return p;
}

async function makeArchive(staged: string, files: string[], xz: boolean, key: string): Promise<Buffer> {
  const dir = path.join(staged, '..', '.deploy-archives');
  const file = path.join(dir, `${key}.tar${xz ? '.xz' : ''}`);
  if (existsSync(file)) return readFileSync(file);
  const tar = await execa('tar', ['-c', '-C', staged, ...files], { encoding: 'buffer', reject: false });
  if (tar.exitCode !== 0) throw new InfraError(`tar of ${staged} failed: ${tar.stderr.toString()}`);
  let data = Buffer.from(tar.stdout);
  if (!xz) return data;
  // -1: the programs' shared libc is found within its 1 MiB window; more costs host time for little.
  const comp = await execa('xz', ['-1', '-T1', '-c'], { input: data, encoding: 'buffer', reject: false });
  if (comp.exitCode !== 0) throw new InfraError(`xz of the kmod archive failed: ${comp.stderr.toString()}`);
  data = Buffer.from(comp.stdout);
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
  const old = readdirSync(dir)
    .filter((f) => !f.endsWith('.tmp'))
    .map((f) => ({ f, t: statSync(path.join(dir, f)).mtimeMs }))
    .sort((x, y) => y.t - x.t)
    .slice(KEEP_ARCHIVES);
  for (const o of old) rmSync(path.join(dir, o.f), { force: true });
  return data;
}

/**
 * The static programs without their symbol tables (32 MB become 24): the copy
 * over SSH into a TCG guest runs at ~14 MB/s and happens at every cluster setup
 * and node rejoin. The unstripped ones stay in kmod/build for debugging on the
 * host. A staged copy is made again only when its program is newer. A module
 * loses only its debug sections (strip --strip-debug, what the kernel's
 * INSTALL_MOD_STRIP does): the debug kernel's m3ipc.ko carries DWARF for the
 * fuzzer's line coverage, read on the host.
 */
export async function stripped(dir: string, files: string[]): Promise<string> {
  const out = path.join(dir, '.deploy');
  await Promise.all(files.map((f) => stageOnce(path.join(dir, f), path.join(out, f))));
  return out;
}

/**
 * Each multicall program as a relative symlink to the binary in the staged tree
 * (the binary runs the program its name says). A stripped copy left there by a
 * deploy without the multicall binary is replaced; so is a stale link.
 */
function linkPrograms(staged: string, programs: string[], binary: string): void {
  for (const p of programs) {
    const at = path.join(staged, p);
    const target = path.relative(path.dirname(at), path.join(staged, binary));
    let current: string | undefined;
    try {
      current = lstatSync(at).isSymbolicLink() ? readlinkSync(at) : '';
    } catch {
      current = undefined;
    }
    if (current === target) continue;
    mkdirSync(path.dirname(at), { recursive: true });
    // Another process may link the same name: a temporary link renamed over it wins atomically.
    const tmp = `${at}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    symlinkSync(target, tmp);
    renameSync(tmp, at);
  }
}

/** Nodes deploy in parallel: one strip per program, the others wait for it. */
function stageOnce(from: string, to: string): Promise<void> {
  let p = staging.get(to);
  if (!p) {
    p = stage(from, to).finally(() => staging.delete(to));
    staging.set(to, p);
  }
  return p;
}

async function stage(from: string, to: string): Promise<void> {
  // A symlink there is a multicall program's: this deploy sends the program itself (renamed over below).
  const isLink = (() => {
    try {
      return lstatSync(to).isSymbolicLink();
    } catch {
      return false;
    }
  })();
  if (!isLink && existsSync(to) && statSync(to).mtimeMs >= statSync(from).mtimeMs) return;
  mkdirSync(path.dirname(to), { recursive: true });
  // Another process (a nested m3lab run, the nightly) may stage the same program:
  // each writes its own temporary name and the atomic rename lets the last one win.
  const tmp = `${to}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  const res = await execa('strip', [...(from.endsWith('.ko') ? ['--strip-debug'] : []), '-o', tmp, from], { reject: false, all: true });
  if (res.exitCode !== 0) {
    rmSync(tmp, { force: true });
    throw new InfraError(`strip ${from} failed: ${res.all}`);
  }
  renameSync(tmp, to);
}
