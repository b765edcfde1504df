import { describe, expect } from 'vitest';
import { seededRandom } from '../../harness/bench/stats.ts';
import { labSuite } from '../../suites/support/lab-suite.ts';

/**
 * A seeded scenario that fails on purpose, the same way for the same seed: the
 * seed picks a number, the node computes from it, and the test fails naming
 * both. suites/verdicts.test.ts runs it, then replays its evidence bundle with
 * `m3lab replay` and expects the same failure (issue 9: one-command replay).
 */
const SEED = Number(process.env.M3LAB_SEED || Math.floor(Math.random() * 1e6));

describe('verdict fixture: a seeded failure', () => {
  const suite = labSuite({ need: { name: 'verdict-seeded', nodes: 1 }, seed: SEED });

  suite.it('the seed picks a number; the node squares it; the test refuses every answer', async () => {
    const pick = 1 + Math.floor(seededRandom(SEED)() * 1000);
    const node = suite.handle().lab.nodes[0]!;
    const r = await node.sh(`echo $((${pick} * ${pick}))`);
    expect(r.code).toBe(0);
    expect.fail(`seed ${SEED} picked ${pick}, the node said ${r.stdout.trim()}`);
  });
});
