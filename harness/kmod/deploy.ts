import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { InfraError } from '../errors.ts';
import type { LabNode } from '../lab/node.ts';
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
 * shell on the far side, the same for a VM and a board.
 */
export async function deployKmod(node: LabNode, a: KmodArtifacts): Promise<RemoteKmod> {
  const files = [a.module, ...a.tools, ...a.tests, ...a.bench, ...a.proxy].map((f) => path.relative(a.dir, f));
  const staged = await stripped(a.dir, files);
  const tar = await execa('tar', ['-c', '-C', staged, ...files], { encoding: 'buffer', reject: false });
  if (tar.exitCode !== 0) throw new InfraError(`tar of ${a.dir} failed: ${tar.stderr.toString()}`);
  if (!node.ssh) throw new InfraError(`${node.name}: not connected`);
  const out = await node.ssh.exec(`rm -rf ${REMOTE_KMOD_DIR} && mkdir -p ${REMOTE_KMOD_DIR} && tar -x -C ${REMOTE_KMOD_DIR}`, { stdin: Buffer.from(tar.stdout), timeoutMs: 60000 });
  if (out.code !== 0) throw new InfraError(`${node.name}: unpacking kmod build failed: ${out.stderr}`);
  const remote = (f: string) => path.posix.join(REMOTE_KMOD_DIR, path.relative(a.dir, f));
  const byName = (list: string[]) => Object.fromEntries(list.map((f) => [path.basename(f), remote(f)]));
  return { module: remote(a.module), m3ctl: remote(a.tools[0]!), tests: byName(a.tests), bench: byName(a.bench), proxy: byName(a.proxy) };
}

/** insmod, unless the module is already in; returns whether this call loaded it. */
export async function loadModule(node: LabNode, r: RemoteKmod): Promise<boolean> {
  const loaded = await node.sh('grep -q "^m3ipc " /proc/modules');
  if (loaded.code === 0) return false;
  const res = await node.sh(`insmod ${r.module}`);
  if (res.code !== 0) throw new InfraError(`${node.name}: insmod m3ipc failed: ${res.stderr.trim()}`);
  return true;
}

export async function unloadModule(node: LabNode): Promise<{ code: number | null; stderr: string }> {
  const res = await node.sh('rmmod m3ipc', 30000);
  return { code: res.code, stderr: res.stderr.trim() };
}

const staging = new Map<string, Promise<void>>();

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
  if (existsSync(to) && statSync(to).mtimeMs >= statSync(from).mtimeMs) return;
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
