import { describe, expect, it } from 'vitest';
import { parsePerfCsv } from '../../agent/perf.ts';

describe('perf stat CSV', () => {
  it('keeps counted values and marks uncountable events unavailable, not zero', () => {
    // perf 6.1 in a TCG guest: software events count, hardware events do not exist.
    const csv = [
      '# started on Tue Nov 24 05:30:00 2026',
      '',
      '3.05,msec,task-clock,3052000,100.00,0.610,CPUs utilized',
      '2,,context-switches,3052000,100.00,655.308,/sec',
      '<not supported>,,cycles,0,100.00,,',
      '<not counted>,,instructions,0,0.00,,',
    ].join('\n');
    expect(parsePerfCsv(csv)).toEqual([
      { event: 'task-clock', value: 3.05, unit: 'msec', unavailable: undefined },
      { event: 'context-switches', value: 2, unit: '', unavailable: undefined },
      { event: 'cycles', value: null, unit: '', unavailable: 'not supported' },
      { event: 'instructions', value: null, unit: '', unavailable: 'not counted' },
    ]);
  });
});
