import type { ConfigResult } from '../bench/ipc-local.ts';
import type { RemoteResult } from '../bench/ipc-remote.ts';
import { formatRate } from '../bench/stats.ts';

/**
 * Bench figures night after night: each figure of a night is compared with the
 * stored figure of an earlier night (its reference), and each bench target is
 * checked. Pure logic (tests/unit/nightly-history.test.ts); the files live in
 * store.ts.
 */

export type Better = 'higher' | 'lower';

/** Where a figure or target was measured: one cell of a bench. */
export interface BenchCell {
  /** Identity across nights: bench, accelerator, kernel, vCPUs, case (or ratio). */
  key: string;
  bench: 'ipc-local' | 'ipc-remote';
  /** The cell, for people: `default, 1 vCPU`. */
  cell: string;
  variant: string;
  cpus?: number;
  accel: string;
}

/** One measured figure: the median of a case in one bench cell, with its interval. */
export interface Figure extends BenchCell {
  case: string;
  unit: string;
  better: Better;
  n: number;
  median: number;
  ciLow: number;
  ciHigh: number;
  confidence: number;
}

/**
 * new: no earlier night has it; within: inside the reference interval widened
 * by the margin; improved / regression: beyond it on the good / bad side.
 */
export type Outcome = 'new' | 'within' | 'improved' | 'regression';

export interface Judged extends Figure {
  outcome: Outcome;
  reference?: { night: string; median: number; ciLow: number; ciHigh: number; n: number };
  /** How far beyond the widened bound, as a fraction of that bound (improved / regression). */
  beyond?: number;
  message: string;
}

/** A bench target (a ratio of two medians with a bound) and whether it was met. */
export interface TargetCheck extends BenchCell {
  a: string;
  b: string;
  /** `>= 1.5` or `<= 1.25`. */
  bound: string;
  value: number;
  met: boolean;
  message: string;
}

/** What later nights read of an earlier one. */
export interface StoredNight {
  name: string;
  figures: Judged[];
}

/** Latency (us) is better low; rates and bandwidths high. */
export function betterOf(unit: string): Better {
  return unit === 'us' || unit === 'ns' || unit === 's' ? 'lower' : 'higher';
}

export function formatFigure(v: number, unit: string): string {
  if (unit === 'us') return `${v.toFixed(0)} us`;
  return formatRate(v, unit);
}

const cellOf = (variant: string, cpus?: number) => (cpus === undefined ? variant : `${variant}, ${cpus} vCPU`);

export function figuresFromLocal(configs: ConfigResult[]): Figure[] {
  return configs.flatMap((c) =>
    c.cases.map((r) => ({
      key: `ipc-local/${c.accel}/${c.variant}/${c.cpus}cpu/${r.id}`,
      bench: 'ipc-local' as const,
      cell: cellOf(c.variant, c.cpus),
      variant: c.variant,
      cpus: c.cpus,
      accel: c.accel,
      case: r.id,
      unit: r.unit,
      better: betterOf(r.unit),
      n: r.summary.n,
      median: r.summary.median,
      ciLow: r.summary.ciLow,
      ciHigh: r.summary.ciHigh,
      confidence: r.summary.confidence,
    })),
  );
}

export function figuresFromRemote(r: RemoteResult, variant: string): Figure[] {
  return r.figures.map((f) => ({
    key: `ipc-remote/${r.accel}/${variant}/${f.id}`,
    bench: 'ipc-remote' as const,
    cell: cellOf(variant),
    variant,
    accel: r.accel,
    case: f.id,
    unit: f.unit,
    better: betterOf(f.unit),
    n: f.summary.n,
    median: f.summary.median,
    ciLow: f.summary.ciLow,
    ciHigh: f.summary.ciHigh,
    confidence: f.summary.confidence,
  }));
}

function targetMessage(t: Omit<TargetCheck, 'message'>): string {
  return `target ${t.a} / ${t.b} ${t.bound} on ${t.cell} (${t.accel.toUpperCase()}): ${t.value.toFixed(2)} — ${t.met ? 'met' : 'MISSED'}`;
}

export function targetsFromLocal(configs: ConfigResult[]): TargetCheck[] {
  return configs.flatMap((c) =>
    c.targets.map((t) => {
      const base = { key: `ipc-local/${c.accel}/${c.variant}/${c.cpus}cpu/target/${t.a}/${t.b}`, bench: 'ipc-local' as const, cell: cellOf(c.variant, c.cpus), variant: c.variant, cpus: c.cpus, accel: c.accel, a: t.a, b: t.b, bound: `>= ${t.min}`, value: t.value, met: t.met };
      return { ...base, message: targetMessage(base) };
    }),
  );
}

export function targetsFromRemote(r: RemoteResult, variant: string): TargetCheck[] {
  return r.ratios
    .filter((q) => q.target !== undefined)
    .map((q) => {
      const base = { key: `ipc-remote/${r.accel}/${variant}/target/${q.a}/${q.b}`, bench: 'ipc-remote' as const, cell: cellOf(variant), variant, accel: r.accel, a: q.a, b: q.b, bound: q.target!, value: q.value, met: q.met === true };
      return { ...base, message: targetMessage(base) };
    });
}

/**
 * The reference of a figure: the newest earlier night that measured it and did
 * not find it regressed. A regressed figure is never a reference, so a real
 * regression stays red night after night until the figure is back, instead of
 * becoming the new normal after one night; an outlier night on the bad side
 * does not move the reference either. `nights` newest first.
 */
export function findReference(key: string, nights: StoredNight[]): { night: string; figure: Judged } | undefined {
  for (const n of nights) {
    const f = n.figures.find((x) => x.key === key);
    if (f && f.outcome !== 'regression') return { night: n.name, figure: f };
  }
  return undefined;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * A figure against its reference: the reference interval widened by `margin`
 * on each side ([low (1 - m), high (1 + m)]); a median beyond it on the bad side
 * (below for rates, above for latencies) is a regression, on the good side an
 * improvement. The figure's own median is what is compared: its interval is
 * reported, not used, so a noisy night cannot hide behind a wide interval.
 */
export function judge(fig: Figure, ref: { night: string; figure: Figure } | undefined, margin: number): Judged {
  const f = (v: number) => formatFigure(v, fig.unit);
  const own = `${fig.case} on ${fig.cell} (${fig.accel.toUpperCase()}): ${f(fig.median)} (interval ${f(fig.ciLow)}..${f(fig.ciHigh)}, n=${fig.n})`;
  if (!ref) return { ...fig, outcome: 'new', message: `${own}; first measurement, no reference night` };
  const r = ref.figure;
  const reference = { night: ref.night, median: r.median, ciLow: r.ciLow, ciHigh: r.ciHigh, n: r.n };
  const lowBound = r.ciLow * (1 - margin);
  const highBound = r.ciHigh * (1 + margin);
  const refText = `reference ${f(r.median)} (interval ${f(r.ciLow)}..${f(r.ciHigh)}, n=${r.n}) from night ${ref.night}; margin ${pct(margin)} → ${f(lowBound)}..${f(highBound)}`;
  let side: 'below' | 'above' | undefined;
  let beyond = 0;
  if (fig.median < lowBound) {
    side = 'below';
    beyond = (lowBound - fig.median) / lowBound;
  } else if (fig.median > highBound) {
    side = 'above';
    beyond = (fig.median - highBound) / highBound;
  }
  if (!side) return { ...fig, outcome: 'within', reference, message: `${own}; within the ${refText}` };
  const worse = (side === 'below') === (fig.better === 'higher');
  const outcome: Outcome = worse ? 'regression' : 'improved';
  const head = worse ? 'REGRESSION' : 'improved';
  return { ...fig, outcome, reference, beyond, message: `${head}: ${own} is ${pct(beyond)} ${side} the ${refText}` };
}

/** Every figure of tonight judged against the stored nights (newest first). */
export function judgeAll(figures: Figure[], nights: StoredNight[], margin: number): Judged[] {
  return figures.map((fig) => judge(fig, findReference(fig.key, nights), margin));
}
