import { rmSync } from 'node:fs';
import { processesWithMarker, signalIfOurs } from '../host/procs.ts';

/**
 * Labs this process is responsible for, killed synchronously if the process is
 * interrupted (SIGINT, SIGTERM) or exits before tearing them down itself. A lab
 * handed over to the user (`m3lab up` after success) is released from here.
 */
interface Owned {
  dir: string;
  pids: () => number[];
}

const owned = new Map<string, Owned>();
let installed = false;

export function killNow(o: Owned): void {
  const pids = new Set([...o.pids(), ...processesWithMarker(o.dir)]);
  for (const pid of pids) signalIfOurs(pid, o.dir, 'SIGKILL');
  rmSync(o.dir, { recursive: true, force: true });
}

function onSignal(sig: NodeJS.Signals): void {
  const had = owned.size;
  for (const o of owned.values()) killNow(o);
  owned.clear();
  if (had > 0) process.stderr.write(`m3lab: ${sig}: lab torn down\n`);
  process.exit(sig === 'SIGINT' ? 130 : 143);
}

export function own(o: Owned): void {
  owned.set(o.dir, o);
  if (installed) return;
  installed = true;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // A vitest worker (a forked child) gets no signal when its main process alone is
  // ended (a SIGTERM to that PID, a crash): its IPC channel closing is the sign, and
  // an orphaned worker would otherwise keep its lab running to the end of its tests.
  if (process.channel) process.on('disconnect', () => onSignal('SIGTERM'));
  process.on('exit', () => {
    for (const o of owned.values()) killNow(o);
  });
}

export function release(dir: string): void {
  owned.delete(dir);
}
