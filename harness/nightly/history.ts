// Over 400 lines: the bench verdict rules as one pure module (absolute figures, ratios, host facts), unit-tested as one.
import { median } from 'simple-statistics';
import { calibrationLevel, type CellCalibration } from '../bench/calibrate.ts';
import type { ConfigResult } from '../bench/ipc-local.ts';
import type { RemoteResult } from '../bench/ipc-remote.ts';
import { formatRate, mannWhitney, medianChange } from '../bench/stats.ts';

/**
 * Bench figures night after night. Pure logic (tests/unit/nightly-history.test.ts,
 * tests/unit/nightly-ratios.test.ts); the files live in store.ts.
 *
 * - Absolute figures (every median of every case) are compared with the newest
 *   earlier night that measured them: recorded, plotted, shown — never a
 *   verdict, since on a shared host they move with the host.
 * - Verdicts come from ratios: each M3-IPC figure over its same-run baseline
 *   (sendrec / pipe, vcopy / process_vm_readv, remote / TCP), round by round,
 *   judged against the pooled rounds of a rolling window of earlier nights: a
 *   regression needs a change beyond the margin AND a significant Mann–Whitney
 *   rank test over the rounds.
 * - The host's calibration (calibrate.ts) against the reference night's
 *   becomes a fact ("host 27% slower than the reference night"), and a cell
 *   whose calibration moved during the bench has unreliable ratios (broken).
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
 * by the margin; better / worse: beyond it on the good / bad side. Absolute
 * figures are never a verdict (a night's older records may say improved /
 * regression: the same two sides).
 */
export type Outcome = 'new' | 'within' | 'better' | 'worse';

export interface Judged extends Figure {
  outcome: Outcome;
  reference?: { night: string; median: number; ciLow: number; ciHigh: number; n: number };
  /** How far beyond the widened bound, as a fraction of that bound (better / worse). */
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
  /** Absent in nights before ratio verdicts. */
  ratios?: RatioJudged[];
  /** Cell key (cellKey()) -> its calibration; absent in nights before calibration. */
  calibration?: Record<string, CellCalibration>;
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

/** A cell's identity across nights: bench, accelerator, kernel variant and (local) vCPUs. */
export function cellKey(bench: 'ipc-local' | 'ipc-remote', accel: string, variant: string, cpus?: number): string {
  return bench === 'ipc-local' ? `ipc-local/${accel}/${variant}/${cpus}cpu` : `ipc-remote/${accel}/${variant}`;
}

export function figuresFromLocal(configs: ConfigResult[]): Figure[] {
  return configs.flatMap((c) =>
    c.cases.map((r) => ({
      key: `${cellKey('ipc-local', c.accel, c.variant, c.cpus)}/${r.id}`,
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
    key: `${cellKey('ipc-remote', r.accel, variant)}/${f.id}`,
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
 * The reference of an absolute figure: the newest earlier night that measured
 * it (`nights` newest first). Absolute figures are shown, not judged, so an
 * earlier night's outcome does not matter here.
 */
export function findReference(key: string, nights: StoredNight[]): { night: string; figure: Judged } | undefined {
  for (const n of nights) {
    const f = n.figures.find((x) => x.key === key);
    if (f) return { night: n.name, figure: f };
  }
  return undefined;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/**
 * An absolute figure against its reference: the reference interval widened by
 * `margin` on each side ([low (1 - m), high (1 + m)]); a median beyond it is
 * worse (below for rates, above for latencies) or better. Information only:
 * the host moves absolute figures as much as the module does, so they never
 * fail a night (judgeRatio() gives the verdicts).
 */
export function judge(fig: Figure, ref: { night: string; figure: Figure } | undefined, margin: number): Judged {
  const f = (v: number) => formatFigure(v, fig.unit);
  const own = `${fig.case} on ${fig.cell} (${fig.accel.toUpperCase()}): ${f(fig.median)} (interval ${f(fig.ciLow)}..${f(fig.ciHigh)}, n=${fig.n})`;
  if (!ref) return { ...fig, outcome: 'new', message: `absolute, not a verdict: ${own}; first measurement, no reference night` };
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
  if (!side) return { ...fig, outcome: 'within', reference, message: `absolute, not a verdict: ${own}; within the ${refText}` };
  const worse = (side === 'below') === (fig.better === 'higher');
  const outcome: Outcome = worse ? 'worse' : 'better';
  return { ...fig, outcome, reference, beyond, message: `absolute, not a verdict (${outcome}): ${own} is ${pct(beyond)} ${side} the ${refText}` };
}

/** Every figure of tonight judged against the stored nights (newest first). */
export function judgeAll(figures: Figure[], nights: StoredNight[], margin: number): Judged[] {
  return figures.map((fig) => judge(fig, findReference(fig.key, nights), margin));
}

// ---------------------------------------------------------------------------
// Ratios to same-run baselines: the performance verdicts.

/**
 * The same-run baseline of an M3-IPC figure: what the same guest, in the same
 * round, did with what a user would use instead. Undefined for a baseline (or
 * anything else): those are shown, never judged.
 */
export function baselineOf(bench: 'ipc-local' | 'ipc-remote', id: string): string | undefined {
  let m: RegExpExecArray | null;
  if (bench === 'ipc-local') {
    if ((m = /^vcopy-(\d+)$/.exec(id))) return `pvm-${m[1]}`;
    if (id === 'm3-notify') return 'futex';
    if (/^(m3|compat)-/.test(id)) return 'pipe';
    return undefined;
  }
  const base = id.replace(/-insecure$/, '');
  if (base === 'm3-rtt-us') return 'tcp-rtt-us';
  if (base === 'm3-sendrec-rate') return 'tcp-pingpong-rate';
  if ((m = /^m3-sendrec-(\d+)-clients$/.exec(base))) return `tcp-pipeline-${m[1]}`;
  if ((m = /^m3-vcopy-(\d+)$/.exec(base))) return `tcp-stream-${m[1]}`;
  return undefined;
}

/** A figure that is a baseline (not M3-IPC's own): pipe, futex, process_vm_readv, memcpy, TCP... */
export function isBaseline(bench: 'ipc-local' | 'ipc-remote', id: string): boolean {
  return !/^(m3|compat|vcopy)-/.test(id) && baselineOf(bench, id) === undefined;
}

/** An M3-IPC figure over its same-run baseline, one value per round. */
export interface RatioFigure extends BenchCell {
  /** The cell's key (cellKey()). */
  cellKey: string;
  a: string;
  b: string;
  /** Of the M3 figure: a ratio of rates is better high, of latencies low. */
  better: Better;
  /** a[i] / b[i] for each round i (the bench runs the cases round-robin, so a round's two share the host's mood). */
  samples: number[];
  median: number;
}

/**
 * new: no earlier night in the window; within: no significant change beyond the
 * margin; improved / regression: a change beyond the margin that the rank test
 * finds significant; unreliable: the cell's calibration moved during the bench.
 */
export type RatioOutcome = 'new' | 'within' | 'improved' | 'regression' | 'unreliable';

export interface RatioJudged extends RatioFigure {
  outcome: RatioOutcome;
  /** median(tonight) / median(reference rounds) - 1, with its 95% bootstrap interval. */
  change?: number;
  changeLow?: number;
  changeHigh?: number;
  /** One-sided Mann–Whitney p-value in the direction of the change's side. */
  p?: number;
  reference?: { nights: { night: string; median: number; n: number }[]; median: number; n: number };
  message: string;
}

/**
 * One ratio per M3 figure of a cell, from its cases' samples (round order).
 * ipc-remote's `-insecure` figures come from a second pass with no TCP figures
 * of its own: their round i is paired with the first pass's TCP round i.
 */
export function ratiosOf(cell: BenchCell & { cellKey: string }, cases: { id: string; unit: string; samples: number[] }[]): RatioFigure[] {
  const byId = new Map(cases.map((c) => [c.id, c]));
  const out: RatioFigure[] = [];
  for (const c of cases) {
    const b = baselineOf(cell.bench, c.id);
    const base = b ? byId.get(b) : undefined;
    if (!b || !base) continue;
    const n = Math.min(c.samples.length, base.samples.length);
    const samples = Array.from({ length: n }, (_, i) => c.samples[i]! / base.samples[i]!).filter((x) => Number.isFinite(x) && x > 0);
    if (!samples.length) continue;
    out.push({ ...cell, key: `${cell.cellKey}/ratio/${c.id}/${b}`, a: c.id, b, better: betterOf(c.unit), samples, median: median(samples) });
  }
  return out;
}

export function ratiosFromLocal(configs: ConfigResult[]): RatioFigure[] {
  return configs.flatMap((c) =>
    ratiosOf(
      { key: '', cellKey: cellKey('ipc-local', c.accel, c.variant, c.cpus), bench: 'ipc-local', cell: cellOf(c.variant, c.cpus), variant: c.variant, cpus: c.cpus, accel: c.accel },
      c.cases.map((r) => ({ id: r.id, unit: r.unit, samples: r.samples })),
    ),
  );
}

export function ratiosFromRemote(r: RemoteResult, variant: string): RatioFigure[] {
  return ratiosOf({ key: '', cellKey: cellKey('ipc-remote', r.accel, variant), bench: 'ipc-remote', cell: cellOf(variant), variant, accel: r.accel }, r.figures);
}

/** How the ratio verdicts are judged. */
export interface RatioRules {
  /** A change must be beyond this fraction (0.1: 10%) to count. */
  margin: number;
  /** ... and the one-sided Mann–Whitney p-value below this. */
  alpha: number;
  /** At most this many earlier nights form the reference. */
  window: number;
  /**
   * A change is called (regression or improvement) only against at least this
   * many reference nights (default 2): against one, a night whose host had a
   * mood of its own reads as a regression of the module.
   */
  minNights?: number;
}

export const DEFAULT_RATIO_RULES: RatioRules = { margin: 0.1, alpha: 0.05, window: 5, minNights: 2 };

/**
 * The reference of a ratio: the rounds of up to `window` earlier nights
 * (newest first) that measured it with their rounds, did not find it
 * regressed (a regression never becomes the norm: it stays red until the ratio
 * is back) and did not find it unreliable.
 */
export function ratioWindow(key: string, nights: StoredNight[], window: number): { night: string; samples: number[] }[] {
  const out: { night: string; samples: number[] }[] = [];
  for (const n of nights) {
    if (out.length >= window) break;
    const r = n.ratios?.find((x) => x.key === key);
    if (r && r.samples.length && r.outcome !== 'regression' && r.outcome !== 'unreliable') out.push({ night: n.name, samples: r.samples });
  }
  return out;
}

const spct = (x: number) => `${x >= 0 ? '+' : '\u2212'}${Math.abs(x * 100).toFixed(1)}%`;

/**
 * A ratio against the pooled rounds of its window. Regression: the median
 * moved beyond the margin on the bad side (down for a ratio of rates, up for
 * one of latencies), from the pooled median and from each reference night's
 * own median, AND the rank test says tonight's rounds are below (above) the
 * reference rounds moved by the margin, with p < alpha. Beyond the margin but not significant
 * stays within, and says so. `unreliable`: why the cell's figures cannot be
 * trusted (its calibration moved), which makes the verdict broken.
 */
export function judgeRatio(fig: RatioFigure, window: { night: string; samples: number[] }[], rules: RatioRules, unreliable?: string): RatioJudged {
  const own = `${fig.a} / ${fig.b} on ${fig.cell} (${fig.accel.toUpperCase()}): ${fig.median.toFixed(3)} (median of ${fig.samples.length} rounds)`;
  if (!window.length) {
    if (unreliable) return { ...fig, outcome: 'unreliable', message: `UNRELIABLE: ${own}; not judged: ${unreliable}` };
    return { ...fig, outcome: 'new', message: `${own}; first measurement, no reference night` };
  }
  const pooled = window.flatMap((w) => w.samples);
  const refMedian = median(pooled);
  const reference = { nights: window.map((w) => ({ night: w.night, median: median(w.samples), n: w.samples.length })), median: refMedian, n: pooled.length };
  const ch = medianChange(fig.samples, pooled);
  const down = ch.change < 0;
  // The rank test asks whether tonight's rounds lie beyond the reference rounds
  // moved by the margin (a one-sided test against "changed by no more than the
  // margin"), not merely whether they differ: a loaded host shifts and spreads
  // a ratio by a few percent, which a test against zero change finds
  // "significant" once the shift nears the margin.
  const edge = pooled.map((x) => x * (down ? 1 - rules.margin : 1 + rules.margin));
  const mw = mannWhitney(fig.samples, edge);
  const p = down ? mw.pLess : mw.pGreater;
  // Beyond the margin from every reference night's median, not only from the
  // pooled one: rounds of one night share that night's mood, so the nights
  // themselves spread more than their rounds; a change must clear that spread too.
  const nearest = down ? Math.min(...reference.nights.map((n) => n.median)) : Math.max(...reference.nights.map((n) => n.median));
  const beyond = Math.abs(ch.change) > rules.margin && Math.abs(fig.median / nearest - 1) > rules.margin;
  const significant = p < rules.alpha;
  const worse = down === (fig.better === 'higher');
  const refText = `reference ${refMedian.toFixed(3)} (${pooled.length} rounds of ${window.length} night(s): ${reference.nights.map((n) => `${n.night} ${n.median.toFixed(3)}`).join(', ')})`;
  const stat = `change ${spct(ch.change)} (95% bootstrap ${spct(ch.low)}..${spct(ch.high)}), Mann\u2013Whitney one-sided p=${p.toPrecision(2)} against the reference moved by the margin; margin ${(rules.margin * 100).toFixed(0)}%, alpha ${rules.alpha}`;
  const base = { ...fig, change: ch.change, changeLow: ch.low, changeHigh: ch.high, p, reference };
  // Unreliable: the figures are shown with what they would say, but not judged.
  if (unreliable) return { ...base, outcome: 'unreliable', message: `UNRELIABLE: ${own}; not judged: ${unreliable}; against the ${refText} it would read: ${stat}` };
  const minNights = rules.minNights ?? DEFAULT_RATIO_RULES.minNights!;
  if (beyond && significant && window.length < minNights) {
    return { ...base, outcome: 'within', message: `${own}; not called: only ${window.length} reference night(s), at least ${minNights} needed (one night's own mood is not told from a change of the module); against the ${refText} it would read ${worse ? 'REGRESSION' : 'improved'}: ${stat}` };
  }
  if (beyond && significant) {
    const outcome: RatioOutcome = worse ? 'regression' : 'improved';
    return { ...base, outcome, message: `${worse ? 'REGRESSION' : 'improved'}: ${own} vs ${refText}: ${stat}` };
  }
  const why = beyond ? ` (beyond the margin but not significant: p \u2265 ${rules.alpha})` : significant ? " (its rounds lie beyond the margin, its median not beyond every reference night's)" : '';
  return { ...base, outcome: 'within', message: `${own}; within the ${refText}: ${stat}${why}` };
}

/** Every ratio of tonight against its window in the stored nights (newest first). */
export function judgeRatios(ratios: RatioFigure[], nights: StoredNight[], rules: RatioRules, unreliable: Map<string, string> = new Map()): RatioJudged[] {
  return ratios.map((r) => judgeRatio(r, ratioWindow(r.key, nights, rules.window), rules, unreliable.get(r.cellKey)));
}

/**
 * What the calibration and the baselines say about the host against the
 * reference night of a cell (the newest earlier night with a calibration of
 * the same cell): a fact for the report, never a verdict. Speeds: tonight /
 * then - 1 (for a latency then / tonight - 1), negative is slower.
 */
export function hostFacts(o: { calibration: Record<string, CellCalibration>; figures: Figure[]; nights: StoredNight[]; margin: number }): string[] {
  const out: string[] = [];
  for (const [key, cal] of Object.entries(o.calibration)) {
    const refNight = o.nights.find((n) => n.calibration?.[key]);
    if (!refNight) {
      out.push(`${key}: no earlier night calibrated this cell; tonight is the first reference`);
      continue;
    }
    const now = calibrationLevel(cal);
    const then = calibrationLevel(refNight.calibration![key]!);
    const calMoves = Object.keys(now)
      .filter((k) => then[k] !== undefined)
      .map((k) => ({ what: k, change: now[k]! / then[k]! - 1 }));
    // The guest's CPU loop is what the guest's figures ride on; without a guest, the host's.
    const lead = calMoves.find((m) => m.what === 'guest CPU loop') ?? calMoves.find((m) => m.what === 'host CPU loop');
    const baseMoves = o.figures
      .filter((f) => f.key.startsWith(`${key}/`) && isBaseline(f.bench, f.case))
      .flatMap((f) => {
        const r = refNight.figures.find((x) => x.key === f.key);
        if (!r || !(r.median > 0) || !(f.median > 0)) return [];
        return [{ what: f.case, change: f.better === 'higher' ? f.median / r.median - 1 : r.median / f.median - 1 }];
      });
    const baseMove = baseMoves.length ? median(baseMoves.map((m) => m.change)) : undefined;
    const calText = calMoves.map((m) => `${m.what} ${spct(m.change)}`).join(', ');
    const baseText = baseMove === undefined ? 'no baseline measured then' : `same-run baselines ${spct(baseMove)} (median of ${baseMoves.length}: ${baseMoves.map((m) => `${m.what} ${spct(m.change)}`).join(', ')})`;
    const speed = (x: number) => `${Math.abs(x * 100).toFixed(0)}% ${x < 0 ? 'slower' : 'faster'}`;
    const calOut = lead !== undefined && Math.abs(lead.change) > o.margin;
    const baseOut = baseMove !== undefined && Math.abs(baseMove) > o.margin;
    const where = `${key} vs night ${refNight.name}`;
    if (calOut && baseOut && Math.sign(lead.change) === Math.sign(baseMove)) out.push(`host ${speed(lead.change)} than the reference night (${where}): ${calText}; the ${baseText} moved with it — a fact about the host, not a regression (verdicts use ratios to the baselines)`);
    else if (calOut) out.push(`host ${speed(lead.change)} than the reference night by its calibration (${where}: ${calText}), while the ${baseText} did not move with it`);
    else if (baseOut) out.push(`baselines ${speed(baseMove)} than the reference night while the calibration held (${where}: ${calText}): the ${baseText} — the host changed in a way a CPU loop and memcpy do not show (I/O, other guests, the guest kernel)`);
    else out.push(`host as fast as the reference night (${where}): ${calText}; ${baseText}`);
  }
  return out;
}
