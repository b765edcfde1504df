import { readFileSync } from 'node:fs';
import { describe } from 'vitest';
import { InfraError } from '../../harness/errors.ts';
import { labSuite } from '../../suites/support/lab-suite.ts';
import { buildCanary } from './build.ts';

/**
 * A node that hangs with interrupts off (canary `hang`) on a fresh node, so no
 * earlier deliberate bug can print a report first: QEMU keeps running, the
 * guest answers nothing, not even a new SSH login, and the test must be failed
 * (a hang is the module's fault), not broken. Run by suites/verdicts.test.ts.
 */
describe('verdict fixture: a node that hangs', () => {
  const suite = labSuite({
    need: { name: 'verdict-hang', nodes: 1 },
    setup: async (h) => {
      const node = h.lab.nodes[0]!;
      const ko = await buildCanary(node.record.kernel.release, node.record.kernel.buildDir);
      await node.rpc.call('writeFile', { path: '/tmp/m3canary.ko', data: readFileSync(ko).toString('base64'), encoding: 'base64' });
      const ins = await node.sh('insmod /tmp/m3canary.ko');
      if (ins.code !== 0) throw new InfraError(`insmod m3canary: ${ins.stderr}`);
    },
  });

  suite.it('a hang with interrupts off', async () => {
    const node = suite.handle().lab.nodes[0]!;
    await node.sh('echo hang > /sys/kernel/debug/m3canary/trigger', 10000);
  });
});
