import { describe, expect } from 'vitest';
import { labSuite } from '../../suites/support/lab-suite.ts';
import { loadCanary } from './build.ts';

/**
 * The canary module's bugs, triggered on purpose on the debug kernel (run with
 * M3LAB_KERNEL=debug by suites/verdicts.test.ts): each test must end failed with
 * the kernel's report attached. m3canary is never part of m3ipc.
 */
describe('verdict fixture: canary bugs on the debug kernel', () => {
  const suite = labSuite({
    need: { name: 'verdict-canary', nodes: 1 },
    setup: (h) => loadCanary(h.lab.nodes[0]!),
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
