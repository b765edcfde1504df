/** Summary statistics for repeated benchmark runs. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  /** (max - min) / median, as a fraction. */
  spread: number;
}

export function summarize(values: number[]): Summary {
  if (values.length === 0) throw new Error('no samples');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { n: s.length, median, min: s[0]!, max: s[s.length - 1]!, spread: median > 0 ? (s[s.length - 1]! - s[0]!) / median : 0 };
}

/** Ratio of two medians with bounds from the extremes (a's worst over b's best and the reverse). */
export function ratio(a: Summary, b: Summary): { value: number; low: number; high: number } {
  return { value: a.median / b.median, low: a.min / b.max, high: a.max / b.min };
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
