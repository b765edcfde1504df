import { describe, expect, it } from 'vitest';
import { failureSummary, SUMMARY_LINES } from '../../harness/report/failure-summary.ts';

describe('failure summary at the end of a run', () => {
  it('says nothing when nothing failed', () => {
    expect(failureSummary([])).toBe('');
  });

  it('names each failed test with the first lines of its error and its evidence bundle', () => {
    const long = Array.from({ length: SUMMARY_LINES + 3 }, (_, i) => `line ${i + 1}`).join('\n');
    const text = failureSummary([
      { name: 'faults > netem', file: 'suites/faults.test.ts', message: `expected [ 'node1/30: took 6000 ms' ] to equal []\n\n${long}`, bundle: '/b/1' },
      { name: '(the file itself)', file: 'suites/lab.test.ts', message: 'Cannot find module' },
    ]).split('\n');
    expect(text[0]).toBe('2 failed:');
    expect(text[1]).toBe('- suites/faults.test.ts > faults > netem');
    expect(text[2]).toBe("    expected [ 'node1/30: took 6000 ms' ] to equal []");
    expect(text).toContain(`    line ${SUMMARY_LINES - 1}`);
    expect(text).not.toContain(`    line ${SUMMARY_LINES}`);
    expect(text).toContain('    (4 more lines)');
    expect(text).toContain('    evidence: /b/1');
    expect(text.slice(-2)).toEqual(['- suites/lab.test.ts > (the file itself)', '    Cannot find module']);
  });
});
