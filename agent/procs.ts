import { spawn, type ChildProcess } from './spawn.ts';
import type { ProcInfo, SpawnParams, WaitResult } from './protocol.ts';

/**
 * Long-running processes the agent started (proxies, servers): their output kept
 * in a bounded tail, their exit remembered. Everything still running is killed
 * when the harness ends the session (or its link stays away past the grace
 * period, session.ts), so nothing outlives the session.
 */
interface Proc {
  id: number;
  child: ChildProcess;
  cmd: string;
  stdout: string;
  stderr: string;
  exit?: { code: number | null; signal: string | null };
  exited: Promise<void>;
}

/** A fault workload's history runs to ~100 KiB in 30 s: keep far more than that. */
const TAIL = 2 * 1024 * 1024;
const procs = new Map<number, Proc>();
let nextId = 1;

function keepTail(s: string): string {
  return s.length > TAIL ? s.slice(-TAIL) : s;
}

export function spawnProc(p: SpawnParams): { id: number; pid: number } {
  const child = spawn(p.cmd, p.args ?? [], { cwd: p.cwd, env: { ...process.env, ...p.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: Proc = { id: nextId++, child, cmd: [p.cmd, ...(p.args ?? [])].join(' '), stdout: '', stderr: '', exited: Promise.resolve() };
  proc.exited = new Promise((resolve) => {
    child.on('error', (e) => {
      proc.stderr = keepTail(`${proc.stderr}${e.message}\n`);
      proc.exit ??= { code: null, signal: null };
      resolve();
    });
    child.on('close', (code, signal) => {
      proc.exit = { code, signal };
      resolve();
    });
  });
  child.stdout!.on('data', (d: Buffer) => (proc.stdout = keepTail(proc.stdout + d.toString('utf8'))));
  child.stderr!.on('data', (d: Buffer) => (proc.stderr = keepTail(proc.stderr + d.toString('utf8'))));
  procs.set(proc.id, proc);
  if (child.pid === undefined) throw Object.assign(new Error(`cannot start ${p.cmd}`), { code: 'ESPAWN' });
  return { id: proc.id, pid: child.pid };
}

function get(id: number): Proc {
  const p = procs.get(id);
  if (!p) throw Object.assign(new Error(`no process with id ${id}`), { code: 'ENOENT' });
  return p;
}

function result(p: Proc): WaitResult {
  return { id: p.id, exited: p.exit !== undefined, code: p.exit?.code ?? null, signal: p.exit?.signal ?? null, stdout: p.stdout, stderr: p.stderr };
}

export async function waitProc(id: number, timeoutMs = 0): Promise<WaitResult> {
  const p = get(id);
  if (!p.exit && timeoutMs !== 0) {
    await Promise.race([p.exited, new Promise((r) => setTimeout(r, timeoutMs < 0 ? 2 ** 31 - 1 : timeoutMs))]);
  }
  return result(p);
}

export function killProc(id: number, signal: NodeJS.Signals = 'SIGTERM'): { sent: boolean } {
  const p = get(id);
  if (p.exit) return { sent: false };
  return { sent: p.child.kill(signal) };
}

export function listProcs(): ProcInfo[] {
  return [...procs.values()].map((p) => ({ id: p.id, pid: p.child.pid ?? -1, cmd: p.cmd, running: p.exit === undefined }));
}

export function liveProcs(): number {
  let n = 0;
  for (const p of procs.values()) if (!p.exit) n++;
  return n;
}

export function killAll(): void {
  for (const p of procs.values()) if (!p.exit) p.child.kill('SIGKILL');
}
