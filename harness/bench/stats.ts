import { binomialDistribution, cumulativeStdNormalProbability, median, quantileSorted, sampleWithReplacement, wilcoxonRankSum } from 'simple-statistics';

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
  const p = (n > 0 ? binomialDistribution(n, 0.5) : undefined) ?? [];
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

/**
 * The Mann–Whitney U test (Wilcoxon rank-sum) of `x` against `y`, one-sided
 * both ways. U counts the pairs (x_i, y_j) with x_i > y_j (a tie counts one
 * half); it comes from simple-statistics' wilcoxonRankSum (mid-ranks for ties):
 * U = W_x - m (m + 1) / 2. simple-statistics has no distribution of U, so the
 * p-values are written here: exact (the count of orderings of m + n values
 * with a given U, by the recursion f(m, n, u) = f(m - 1, n, u - n) + f(m, n - 1, u))
 * when m * n <= 2500, which is every nightly cell; else the normal
 * approximation with continuity correction (simple-statistics'
 * cumulativeStdNormalProbability). The exact counts assume no ties, as for
 * continuous figures; a tie only makes the test a little conservative.
 *
 * pLess: P(U <= u) when both come from one distribution, i.e. the evidence
 * that x tends to be smaller than y; pGreater: that it tends to be larger.
 */
export function mannWhitney(x: number[], y: number[]): { u: number; pLess: number; pGreater: number } {
  if (!x.length || !y.length) throw new Error('no samples');
  const m = x.length;
  const n = y.length;
  const u = wilcoxonRankSum(x, y) - (m * (m + 1)) / 2;
  if (m * n > 2500) {
    const mu = (m * n) / 2;
    const sigma = Math.sqrt((m * n * (m + n + 1)) / 12);
    return { u, pLess: cumulativeStdNormalProbability((u + 0.5 - mu) / sigma), pGreater: 1 - cumulativeStdNormalProbability((u - 0.5 - mu) / sigma) };
  }
  const counts = uDistribution(m, n);
  const total = counts.reduce((a, b) => a + b, 0);
  let le = 0;
  let ge = 0;
  for (let k = 0; k < counts.length; k++) {
    if (k <= u + 1e-9) le += counts[k]!;
    if (k >= u - 1e-9) ge += counts[k]!;
  }
  return { u, pLess: le / total, pGreater: ge / total };
}

/** How many of the C(m + n, m) orderings give U = 0, 1, ..., m n (f(m, n, u) above, row by row). */
function uDistribution(m: number, n: number): number[] {
  // f[i][j] for the current i, all j: arrays indexed by u.
  let prev: number[][] = Array.from({ length: n + 1 }, () => [1]); // i = 0: U = 0 in one way
  for (let i = 1; i <= m; i++) {
    const cur: number[][] = [[1]]; // j = 0: U = 0 in one way
    for (let j = 1; j <= n; j++) {
      const size = i * j + 1;
      const row = new Array<number>(size).fill(0);
      const a = prev[j]!; // f(i - 1, j, u - j): the largest value is an x, above all j y's
      const b = cur[j - 1]!; // f(i, j - 1, u): the largest value is a y
      for (let k = 0; k < size; k++) row[k] = (k - j >= 0 ? (a[k - j] ?? 0) : 0) + (b[k] ?? 0);
      cur.push(row);
    }
    prev = cur;
  }
  return prev[n]!;
}

/**
 * The relative change of the median from `before` to `after` (median(after) /
 * median(before) - 1) with its seeded percentile-bootstrap interval: ratio()
 * of the two sample sets, less one.
 */
export function medianChange(after: number[], before: number[], o: { level?: number; resamples?: number; seed?: number } = {}): { change: number; low: number; high: number } {
  const r = ratio(after, before, o);
  return { change: r.value - 1, low: r.low - 1, high: r.high - 1 };
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
