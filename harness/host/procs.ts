import { readFileSync, readdirSync } from 'node:fs';
import { waitUntil } from './wait.ts';

/**
 * Process checks by PID, with a marker (the lab's state folder) that must appear in
 * the command line: we only ever signal processes a lab of ours started.
 */
export function cmdline(pid: number): string | undefined {
  return procArgs(pid)?.join(' ');
}

/** A process's arguments as /proc has them (NUL-separated; the last is empty), or undefined once it is gone. */
function procArgs(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function isOurs(pid: number, marker: string): boolean {
  const cl = cmdline(pid);
  return cl !== undefined && cl.includes(marker) && isAlive(pid);
}

/** Whether the process leads its own process group (started detached). */
function leadsGroup(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pid;
  } catch {
    return false;
  }
}

/**
 * Signals a process of ours; one that leads its own group (a board's console
 * capture: a shell and the command it runs) takes its group with it, so no
 * child is orphaned.
 */
export function signalIfOurs(pid: number, marker: string, sig: NodeJS.Signals): boolean {
  if (!isOurs(pid, marker)) return false;
  try {
    process.kill(leadsGroup(pid) ? -pid : pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, a grace period, then SIGKILL; resolves when the process is gone. */
export async function stopProcess(pid: number, marker: string, graceMs = 3000): Promise<void> {
  if (!signalIfOurs(pid, marker, 'SIGTERM')) return;
  const gone = () => !isAlive(pid);
  if (await waitUntil(gone, { what: `process ${pid} to end`, timeoutMs: graceMs, intervalMs: 50, onTimeout: 'return' })) return;
  signalIfOurs(pid, marker, 'SIGKILL');
  await waitUntil(gone, { what: `process ${pid} to end after SIGKILL`, timeoutMs: 5000, intervalMs: 50, onTimeout: 'return' });
}

/** Every live process but this one whose arguments (from /proc, NUL-separated) MATCH. */
function livePidsWhere(match: (args: string[]) => boolean): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const args = procArgs(pid);
    if (args && match(args) && isAlive(pid)) pids.push(pid);
  }
  return pids;
}

/**
 * Every live process whose command line names the marker (a lab folder): finds the
 * QEMU and switch processes of a lab whose state was never written in full.
 */
export function processesWithMarker(marker: string): number[] {
  return livePidsWhere((args) => args.join(' ').includes(`${marker}/`));
}

/** Every process below PID (children, their children, ...), from /proc. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p) (out.push(c), walk(c));
  };
  walk(pid);
  return out;
}

/** Every live process one of whose arguments is exactly ARG (a browser's `--user-data-dir=<its temp profile>`). */
export function processesWithArg(arg: string): number[] {
  return livePidsWhere((args) => args.includes(arg));
}
