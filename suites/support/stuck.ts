import { parseTable } from '../../harness/m3/procfs.ts';
import type { LabNode } from '../../harness/lab/node.ts';
import { sleep } from '../../harness/host/wait.ts';

/**
 * Processes in uninterruptible sleep (D) in each of three looks a second
 * apart: stuck, not a moment's disk or page wait that one look can catch (a
 * loaded host makes such moments longer, not stuck).
 */
export async function stuckInD(n: LabNode): Promise<Record<string, string>[]> {
  let stuck: Record<string, string>[] | undefined;
  for (let i = 0; i < 3 && (stuck === undefined || stuck.length > 0); i++) {
    if (i > 0) await sleep(1000);
    const d = parseTable((await n.sh('ps -o pid,stat,comm')).stdout).filter((r) => /^D/.test(r.STAT ?? ''));
    stuck = stuck === undefined ? d : stuck.filter((x) => d.some((y) => y.PID === x.PID));
  }
  return stuck ?? [];
}
