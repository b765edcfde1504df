import { describe, expect } from 'vitest';
import { labSuite } from '../../suites/support/lab-suite.ts';

/** A kernel that panics while it boots (init= names no program): failed, with the panic, not broken. */
describe('verdict fixture: a kernel panic at boot', () => {
  const suite = labSuite({ need: { name: 'verdict-bootpanic', nodes: 1, append: 'init=/nonexistent' } });

  suite.it('a test of a lab whose kernel panicked at boot', async () => {
    expect(suite.handle().lab.nodes).toHaveLength(1);
  });
});
