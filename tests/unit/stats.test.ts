import { describe, expect, it } from 'vitest';
import { benchCsv, benchPlots } from '../../harness/bench/plots.ts';
import type { ConfigResult } from '../../harness/bench/ipc-local.ts';
import { formatRate, medianInterval, ratio, summarize } from '../../harness/bench/stats.ts';

describe('bench statistics', () => {
  it('median, extremes and spread of odd and even sample counts', () => {
    expect(summarize([3, 1, 2])).toMatchObject({ n: 3, median: 2, min: 1, max: 3, spread: 1 });
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5);
    expect(() => summarize([])).toThrow('no samples');
  });

  it('the order-statistic interval of the median: [min, max] with its own confidence when runs are few', () => {
    // n = 3: [x1, x3] covers the median with 1 - 2/8 = 75%.
    expect(medianInterval([1, 2, 3])).toEqual({ low: 1, high: 3, confidence: 0.75 });
    // n = 10: [x2, x9] covers it with 1 - 2 * 11/1024 = 97.85%; [x3, x8] would be 89%.
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const ci = medianInterval(ten);
    expect({ low: ci.low, high: ci.high }).toEqual({ low: 2, high: 9 });
    expect(ci.confidence).toBeCloseTo(1 - 22 / 1024, 6);
    expect(summarize(ten)).toMatchObject({ ciLow: 2, ciHigh: 9 });
  });

  it('ratios of medians carry a seeded bootstrap interval around them', () => {
    const r = ratio([20, 22, 24], [10, 11, 12]);
    expect(r.value).toBe(2);
    expect(r.low).toBeGreaterThanOrEqual(20 / 12);
    expect(r.high).toBeLessThanOrEqual(24 / 10);
    expect(r.low).toBeLessThan(2);
    expect(r.high).toBeGreaterThan(2);
    expect(ratio([20, 22, 24], [10, 11, 12])).toEqual(r);
  });

  it('formats rates and bandwidths', () => {
    expect(formatRate(23006.7, 'msg/s')).toBe('23.0 kmsg/s');
    expect(formatRate(554380669.8, 'B/s')).toBe('554.4 MB/s');
    expect(formatRate(2.4e9, 'B/s')).toBe('2.40 GB/s');
  });
});

describe('bench matrix output', () => {
  const cell = (variant: string, cpus: number): ConfigResult => ({
    cpus,
    accel: 'tcg',
    kernel: `${variant} 6.1`,
    variant,
    oversubscribed: cpus > 2,
    hostCores: 2,
    cases: [
      { id: 'm3-sendrec', unit: 'msg/s', samples: [1000 * cpus, 1100 * cpus, 1200 * cpus], summary: summarize([1000 * cpus, 1100 * cpus, 1200 * cpus]) },
      { id: 'pipe', unit: 'msg/s', samples: [900, 950, 1000], summary: summarize([900, 950, 1000]) },
      { id: 'vcopy-4096', unit: 'B/s', samples: [1e8, 2e8, 3e8], summary: summarize([1e8, 2e8, 3e8]) },
      { id: 'pvm-4096', unit: 'B/s', samples: [1e8, 1e8, 1e8], summary: summarize([1e8, 1e8, 1e8]) },
    ],
    ratios: [],
    targets: [],
    perf: {},
  });
  const configs = [cell('default', 1), cell('default', 4), cell('up', 1)];

  it('writes one CSV row per kernel, CPU count and case, oversubscription marked', () => {
    const lines = benchCsv(configs).trim().split('\n');
    expect(lines[0]).toBe('kernel,variant,cpus,accel,oversubscribed,case,unit,n,median,ci_low,ci_high,confidence');
    expect(lines).toHaveLength(1 + 3 * 4);
    expect(lines).toContain('default 6.1,default,4,tcg,true,m3-sendrec,msg/s,3,4400,4000,4800,0.7500');
  });

  it('draws the rate and vcopy plots as SVG with a panel per kernel', async () => {
    const plots = await benchPlots(configs);
    expect(Object.keys(plots)).toEqual(['bench-ipc-local-rate.svg', 'bench-ipc-local-vcopy.svg']);
    const rate = plots['bench-ipc-local-rate.svg']!;
    expect(rate.startsWith('<svg')).toBe(true);
    for (const text of ['m3-sendrec', 'pipe', 'default', 'up', 'vCPUs']) expect(rate).toContain(text);
    expect(plots['bench-ipc-local-vcopy.svg']).toContain('block size');
  });
});
