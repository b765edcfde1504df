import { describe } from 'vitest';
import { labSuite } from '../../suites/support/lab-suite.ts';

/**
 * A suite whose lab setup never ends (a step waiting on something that never
 * comes): suites/verdicts.test.ts runs it with a short setup bound
 * (M3LAB_SETUP_BOUND_MS) and expects both tests broken, saying the setup did not
 * end within its bound, and none skipped (vitest's own hook timeout skips them).
 */
describe('verdict fixture: a lab setup that stalls', () => {
  const suite = labSuite({
    need: { name: 'verdict-stall', nodes: 1 },
    setup: () => new Promise<void>(() => {}),
  });

  suite.it('a first test', async () => {
    suite.handle();
  });
  suite.it('a second test', async () => {
    suite.handle();
  });
});
