import { describe } from 'vitest';
import { labSuite } from '../../suites/support/lab-suite.ts';
import { loadCanary } from './build.ts';

/**
 * A node that hangs with interrupts off (canary `hang`) on a fresh node, so no
 * earlier deliberate bug can print a report first: QEMU keeps running, the
 * guest answers nothing, not even a new SSH login, and the test must be failed
 * (a hang is the module's fault), not broken. Run by suites/verdicts.test.ts.
 */
describe('verdict fixture: a node that hangs', () => {
  const suite = labSuite({
    need: { name: 'verdict-hang', nodes: 1 },
    setup: (h) => loadCanary(h.lab.nodes[0]!),
  });

  suite.it('a hang with interrupts off', async () => {
    const node = suite.handle().lab.nodes[0]!;
    await node.sh('echo hang > /sys/kernel/debug/m3canary/trigger', 10000);
  });
});
