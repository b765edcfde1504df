import { describe } from 'vitest';
import { labSuite } from '../../suites/support/lab-suite.ts';
import { processTimeScale, scaled } from '../../harness/verdict/time-scale.ts';
import { sleep } from '../../harness/host/wait.ts';

/**
 * A lab left running by a test that waits (bounded): suites/verdicts.test.ts
 * ends this run's vitest main process alone (SIGTERM to its PID, as a CI runner
 * or a user's `kill` does) while the test waits, and expects no QEMU, switch or
 * worker of it left.
 */
describe('verdict fixture: a run ended from outside', () => {
  const suite = labSuite({ need: { name: 'verdict-orphan', nodes: 1 } });

  suite.it('waits with its lab up until the run is ended', async () => {
    const node = suite.handle().lab.nodes[0]!;
    await node.sh('true');
    process.stdout.write('M3LAB-ORPHAN-WAITING\n');
    await sleep(scaled(120_000, processTimeScale()));
  });
});
