import { describe, expect } from 'vitest';
import { labSuite } from '../../suites/support/lab-suite.ts';

/**
 * A lab that cannot boot for a host-side reason (run with M3LAB_BOOT_TIMEOUT=1):
 * every test must be reported broken with the reason, none skipped.
 */
describe('verdict fixture: a lab that cannot boot', () => {
  const suite = labSuite({ need: { name: 'verdict-noboot', nodes: 1 } });

  suite.it('first test of a lab that never came up', async () => {
    expect(suite.handle().lab.nodes).toHaveLength(1);
  });

  suite.it('second test of a lab that never came up', async () => {
    expect(suite.handle().lab.nodes).toHaveLength(1);
  });
});
