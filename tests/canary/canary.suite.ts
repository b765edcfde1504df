import { readFileSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { InfraError } from '../../harness/errors.ts';
import { labSuite } from '../../suites/support/lab-suite.ts';
import { buildCanary } from './build.ts';

/**
 * The canary module's bugs, triggered on purpose on the debug kernel (run with
 * M3LAB_KERNEL=debug by suites/verdicts.test.ts): each test must end failed with
 * the kernel's report attached. m3canary is never part of m3ipc.
 */
describe('verdict fixture: canary bugs on the debug kernel', () => {
  const suite = labSuite({
    need: { name: 'verdict-canary', nodes: 1 },
    setup: async (h) => {
      const node = h.lab.nodes[0]!;
      const ko = await buildCanary(node.record.kernel.release, node.record.kernel.buildDir);
      await node.rpc.call('writeFile', { path: '/tmp/m3canary.ko', data: readFileSync(ko).toString('base64'), encoding: 'base64' });
      const ins = await node.sh('insmod /tmp/m3canary.ko');
      if (ins.code !== 0) throw new InfraError(`insmod m3canary: ${ins.stderr}`);
    },
  });

  const trigger = async (word: string) => {
    const node = suite.handle().lab.nodes[0]!;
    const r = await node.sh(`echo ${word} > /sys/kernel/debug/m3canary/trigger`);
    expect(r.code).toBe(0);
  };

  // lockdep first: a KASAN report or an Oops taints the kernel and switches
  // lockdep off; the BUG (list) and the use-after-free come last.
  suite.it('lock-order inversion', async () => {
    await trigger('lockorder');
  });
  suite.it('sleeping in atomic context', async () => {
    await trigger('atomic-sleep');
  });

  suite.it('a WARN', async () => {
    await trigger('warn');
  });

  suite.it('a shift out of bounds', async () => {
    await trigger('ubsan');
  });

  suite.it('list corruption', async () => {
    await trigger('list');
  });

  suite.it('use-after-free', async () => {
    await trigger('uaf');
  });

});
