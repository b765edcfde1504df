import { describe, expect } from 'vitest';
import { labSuite } from '../../suites/support/lab-suite.ts';
import { isVm } from '../../harness/lab/lab.ts';
import { sleep } from '../../harness/host/wait.ts';

/**
 * The host stops a node's QEMU (SIGSTOP) for M3LAB_STOP_SECONDS (60 by
 * default) in the middle of a test, as memory pressure or a noisy neighbour
 * does: the guest is not at fault, so no test may be failed. The link must
 * survive, so the next test runs on the same node and passes.
 * Run by suites/verdicts.test.ts.
 */
const STOP_SECONDS = Number(process.env.M3LAB_STOP_SECONDS ?? 60);

describe('verdict fixture: the host stops a guest for a minute', () => {
  const suite = labSuite({ need: { name: 'verdict-sigstop', nodes: 1 } });

  suite.it(`a test during which QEMU is stopped for ${STOP_SECONDS} s`, async () => {
    const node = suite.handle().lab.nodes[0]!;
    if (!isVm(node)) throw new Error('needs a VM');
    const pid = node.target.pid!;
    const work = node.sh('i=0; while [ $i -lt 40 ]; do sleep 0.25; i=$((i+1)); done; echo done', 240_000);
    await sleep(3000);
    process.kill(pid, 'SIGSTOP');
    try {
      await sleep(STOP_SECONDS * 1000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const r = await work;
    expect({ code: r.code, out: r.stdout.trim() }).toEqual({ code: 0, out: 'done' });
  }, 6 * 60_000);

  suite.it('the next test runs on the same node', async () => {
    const node = suite.handle().lab.nodes[0]!;
    expect((await node.sh('echo alive')).stdout.trim()).toBe('alive');
  });
});
