import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { isAlive, isOurs } from '../host/procs.ts';
import { stateRoot } from '../paths.ts';
import { killNow } from './cleanup.ts';
import { LabStateError, readState, statePids } from './state.ts';

/**
 * Finds labs left behind by runs that crashed or were killed and cleans them: a
 * run's lab whose owner process is gone, or an `up` lab whose machines all died.
 * Only processes whose command line names that lab's folder are signalled. A
 * lab of another m3lab version is left alone (and said): its state cannot be
 * trusted to name its processes.
 */
export function sweepStale(root = stateRoot(), log: (l: string) => void = () => {}): number {
  if (!existsSync(root)) return 0;
  let cleaned = 0;
  for (const name of readdirSync(root)) {
    const dir = path.join(root, name);
    // Not labs: kept consoles, bundles, and m3lab bisect's work folders (its worktree lives there).
    if (['failed', 'kept', 'bundles', 'bisect'].includes(name) || !statSync(dir).isDirectory()) continue;
    let s;
    try {
      s = readState(dir);
    } catch (e) {
      if (!(e instanceof LabStateError)) throw e;
      log(`m3lab: left ${dir} alone: ${e.message}`);
      continue;
    }
    if (!s) {
      // A folder without state older than a minute: a boot that died before writing it.
      if (Date.now() - statSync(dir).mtimeMs > 60000) rmSync(dir, { recursive: true, force: true });
      continue;
    }
    const nodesAlive = s.nodes.some((n) => n.pid !== undefined && isOurs(n.pid, dir));
    const ownerAlive = !s.detached && isAlive(s.ownerPid) && s.ownerPid !== process.pid;
    if (s.detached ? nodesAlive : ownerAlive) continue;
    const stale = s;
    killNow({ dir, pids: () => statePids(stale) });
    log(`m3lab: cleaned stale lab ${s.id} (${dir})`);
    cleaned++;
  }
  return cleaned;
}
