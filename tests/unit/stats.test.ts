import { describe, expect, it } from 'vitest';
import { formatRate, ratio, summarize } from '../../harness/bench/stats.ts';

describe('bench statistics', () => {
  it('median, extremes and spread of odd and even sample counts', () => {
    expect(summarize([3, 1, 2])).toEqual({ n: 3, median: 2, min: 1, max: 3, spread: 1 });
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5);
    expect(() => summarize([])).toThrow('no samples');
  });

  it('ratios carry the bounds of both samples', () => {
    const r = ratio(summarize([20, 22, 24]), summarize([10, 11, 12]));
    expect(r.value).toBe(2);
    expect(r.low).toBeCloseTo(20 / 12);
    expect(r.high).toBeCloseTo(24 / 10);
  });

  it('formats rates and bandwidths', () => {
    expect(formatRate(23006.7, 'msg/s')).toBe('23.0 kmsg/s');
    expect(formatRate(554380669.8, 'B/s')).toBe('554.4 MB/s');
    expect(formatRate(2.4e9, 'B/s')).toBe('2.40 GB/s');
  });
});
