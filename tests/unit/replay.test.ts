import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../harness/paths.ts';
import { replayOf } from '../../harness/report/replay.ts';

describe('m3lab replay', () => {
  it('runs the one failed test again with its seed, kernel and command line', () => {
    const r = replayOf({
      test: 'stop: every proxy of node2 is stopped (SIGSTOP), then continued',
      file: path.join(repoRoot, 'suites', 'faults.test.ts'),
      seed: 4242,
      lab: { spec: { nodes: [{ kernel: 'debug', append: 'maxcpus=1' }] } },
    });
    expect(r.env).toEqual({ M3LAB_SEED: '4242', M3LAB_KERNEL: 'debug', M3LAB_APPEND: 'maxcpus=1' });
    expect(r.args).toEqual(['run', '--project', 'lab', 'suites/faults.test.ts', '-t', 'stop: every proxy of node2 is stopped \\(SIGSTOP\\), then continued$']);
    expect(r.line).toBe("M3LAB_SEED=4242 M3LAB_KERNEL=debug M3LAB_APPEND=maxcpus=1 npx vitest run --project lab suites/faults.test.ts -t 'stop: every proxy of node2 is stopped \\(SIGSTOP\\), then continued$'");
    // The pattern matches the test's own name and nothing longer.
    expect(new RegExp(r.args[5]!).test('stop: every proxy of node2 is stopped (SIGSTOP), then continued')).toBe(true);
  });

  it('runs a purpose-made failing suite with its own vitest config', () => {
    const r = replayOf({ test: 'x', file: path.join(repoRoot, 'tests', 'verdicts', 'seeded.suite.ts'), seed: 7 });
    expect(r.args).toEqual(['run', '--config', 'tests/verdicts/vitest.config.ts', 'tests/verdicts/seeded.suite.ts', '-t', 'x$']);
  });

  it('leaves the default kernel and an absent seed out', () => {
    expect(replayOf({ test: 't', file: '/x/suites/a.test.ts', lab: { spec: { nodes: [{ kernel: 'default', append: '' }] } } }).env).toEqual({});
  });

  it('names the field a broken bundle lacks', () => {
    expect(() => replayOf({ file: 'f' }, 'b/test.json')).toThrow(/test.*b\/test.json names no test/);
    expect(() => replayOf({ test: 't' })).toThrow(/names no suite file/);
    expect(() => replayOf({ test: 't', file: 'f', seed: 'x' })).toThrow(/seed that is not an integer/);
  });
});
