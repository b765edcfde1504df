import { describe, expect } from 'vitest';
import { labSuite } from '../../suites/support/lab-suite.ts';

/** A node's kernel panics in the middle of a test: the test must be failed with the panic text, not broken. */
describe('verdict fixture: kernel panic mid-test', () => {
  const suite = labSuite({ need: { name: 'verdict-panic', nodes: 1 } });

  suite.it('a node panics while the test waits on it', async () => {
    const node = suite.handle().lab.nodes[0]!;
    expect((await node.sh('true')).code).toBe(0);
    // The agent's call dies with the node; what the test sees is a lost node.
    await node.sh('echo 1 > /proc/sys/kernel/sysrq; echo c > /proc/sysrq-trigger', 30000);
  });
});
