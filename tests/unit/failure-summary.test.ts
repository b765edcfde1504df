import { describe, expect, it } from 'vitest';
import { failureSummary, SUMMARY_LINES, timeTable } from '../../harness/report/failure-summary.ts';

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

describe('the time table', () => {
  it('gives each suite its wall time and lab share, and the total', () => {
    const text = timeTable([
      { project: 'lab', file: 'suites/ipc-local.test.ts', passed: 12, failed: 0, other: 0, seconds: 40.2, labSetupSeconds: 9 },
      { project: 'unit', file: 'tests/unit/x.test.ts', passed: 3, failed: 1, other: 0, seconds: 0.4 },
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^time per suite/);
    expect(lines[1]).toMatch(/^\s+lab\s+suites\/ipc-local\.test\.ts\s+40\s+9\s+12 passed$/);
    expect(lines[2]).toMatch(/^\s+unit\s+tests\/unit\/x\.test\.ts\s+0\s+-\s+3 passed, 1 failed$/);
    expect(lines[3]).toMatch(/^\s+all\s+41$/);
  });
  it('is empty for no suites', () => {
    expect(timeTable([])).toBe('');
  });
});
