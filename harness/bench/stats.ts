import { binomialDistribution, median, quantileSorted, sampleWithReplacement } from 'simple-statistics';

/**
 * Summary statistics for repeated benchmark runs: the median with the
 * order-statistic confidence interval of the median (distribution-free: the
 * ranks come from Binomial(n, 1/2), simple-statistics' binomialDistribution),
 * and ratios of two medians with a seeded percentile-bootstrap interval.
 */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  /** (max - min) / median, as a fraction. */
  spread: number;
  /** The interval of the median and the confidence it really has (below 95% when n < 6: then it is [min, max]). */
  ciLow: number;
  ciHigh: number;
  confidence: number;
}

export const CI_LEVEL = 0.95;

/**
 * [x(j), x(n+1-j)] (1-based ranks of the sorted samples) with the largest j whose
 * coverage 1 - 2 P(B <= j-1), B ~ Binomial(n, 1/2), is at least `level`; when no j
 * reaches it (n < 6 for 95%), [min, max] and its own coverage.
 */
export function medianInterval(sorted: number[], level = CI_LEVEL): { low: number; high: number; confidence: number } {
  const n = sorted.length;
  const p = n > 0 ? binomialDistribution(n, 0.5) : [];
  let below = 0; // P(B <= j - 1)
  let best = { j: 1, confidence: 1 - 2 * (p[0] ?? 0) };
  for (let j = 1; j <= n >> 1; j++) {
    below += p[j - 1] ?? 0;
    const confidence = 1 - 2 * below;
    if (confidence >= level) best = { j, confidence };
    else break;
  }
  return { low: sorted[best.j - 1]!, high: sorted[n - best.j]!, confidence: best.confidence };
}

export function summarize(values: number[]): Summary {
  if (values.length === 0) throw new Error('no samples');
  const s = [...values].sort((a, b) => a - b);
  const med = median(s);
  const ci = medianInterval(s);
  return { n: s.length, median: med, min: s[0]!, max: s[s.length - 1]!, spread: med > 0 ? (s[s.length - 1]! - s[0]!) / med : 0, ciLow: ci.low, ciHigh: ci.high, confidence: ci.confidence };
}

/** A small seeded generator (mulberry32): the same samples give the same interval every time. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The ratio of two medians, a over b, with a percentile-bootstrap interval:
 * both sample sets resampled with replacement `resamples` times (seeded).
 */
export function ratio(a: number[], b: number[], o: { level?: number; resamples?: number; seed?: number } = {}): { value: number; low: number; high: number } {
  if (!a.length || !b.length) throw new Error('no samples');
  const level = o.level ?? CI_LEVEL;
  const rnd = seededRandom(o.seed ?? 1);
  const rs: number[] = [];
  for (let i = 0; i < (o.resamples ?? 2000); i++) rs.push(median(sampleWithReplacement(a, a.length, rnd)) / median(sampleWithReplacement(b, b.length, rnd)));
  rs.sort((x, y) => x - y);
  return { value: median(a) / median(b), low: quantileSorted(rs, (1 - level) / 2), high: quantileSorted(rs, 1 - (1 - level) / 2) };
}

export function formatRate(v: number, unit: string): string {
  if (unit === 'B/s') {
    if (v >= 1e9) return `${(v / 1e9).toFixed(2)} GB/s`;
    return `${(v / 1e6).toFixed(1)} MB/s`;
  }
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M${unit}`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k${unit}`;
  return `${v.toFixed(0)} ${unit}`;
}
