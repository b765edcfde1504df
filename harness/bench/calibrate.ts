import { median } from 'simple-statistics';

/**
 * Host calibration: how fast the machine runs plain code right now, measured
 * the same way every time, on the host (this Node.js process) and in a guest
 * (ipcbench's cpu-loop and memcpy cases). A bench measures it at the start and
 * at the end of each cell: the two tell whether the host changed speed while
 * the cell ran (then its figures are unreliable), and set against an earlier
 * night's, whether the host as a whole is slower or faster than then — a fact
 * about the host, not a verdict on the module.
 */

/** One calibration: a fixed CPU loop (loop iterations per second) and a memcpy (bytes per second). */
export interface Calibration {
  cpu: number;
  memcpy: number;
}

export interface CalibrationPoint {
  /** When it was taken (ms since the epoch). */
  at: number;
  host: Calibration;
  /** Absent when the bench had no guest of its own to run it in (ipc-remote). */
  guest?: Calibration;
}

/** A bench cell's calibration at its start and its end. */
export interface CellCalibration {
  start: CalibrationPoint;
  end: CalibrationPoint;
}

const REPS = 3;

/**
 * The host's: a dependent xorshift chain (32-bit, no memory traffic) and
 * Buffer copies of 32 MiB (beyond the last-level cache), each the median of
 * three runs of ~0.1 s: longer than a scheduler slice, so one preemption does
 * not decide the figure (shorter runs swung ±100% on a busy 2-core host).
 */
export function hostCalibration(): Calibration {
  const cpu: number[] = [];
  const mem: number[] = [];
  const iters = 30_000_000;
  for (let r = 0; r < REPS; r++) {
    let x = 2463534242;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
    const t1 = process.hrtime.bigint();
    if (x === 0) throw new Error('calibration loop collapsed');
    cpu.push(iters / (Number(t1 - t0) / 1e9));
  }
  const size = 32 << 20;
  const copies = 4;
  const src = Buffer.alloc(size, 0x5a);
  const dst = Buffer.alloc(size);
  for (let r = 0; r < REPS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < copies; i++) src.copy(dst);
    const t1 = process.hrtime.bigint();
    mem.push((size * copies) / (Number(t1 - t0) / 1e9));
  }
  return { cpu: median(cpu), memcpy: median(mem) };
}

/** What a guest calibration runs (~0.2 s each under TCG): `ipcbench ARGS` prints one JSON line with `value`. */
export const GUEST_CPU_ARGS = ['-n', '20000000', 'cpu-loop'];
export const GUEST_MEMCPY_ARGS = ['-n', '256', 'memcpy', `${1 << 20}`];

/** The guest's, through a runner of `ipcbench ARGS` (each the median of three runs). */
export async function guestCalibration(runIpcbench: (args: string[]) => Promise<number>): Promise<Calibration> {
  const cpu: number[] = [];
  const mem: number[] = [];
  for (let r = 0; r < REPS; r++) {
    cpu.push(await runIpcbench(GUEST_CPU_ARGS));
    mem.push(await runIpcbench(GUEST_MEMCPY_ARGS));
  }
  return { cpu: median(cpu), memcpy: median(mem) };
}

/** The measures of a point by name: `host cpu`, `host memcpy`, `guest cpu`, `guest memcpy`. */
export function measures(p: CalibrationPoint): Record<string, number> {
  return {
    'host CPU loop': p.host.cpu,
    'host memcpy': p.host.memcpy,
    ...(p.guest ? { 'guest CPU loop': p.guest.cpu, 'guest memcpy': p.guest.memcpy } : {}),
  };
}

/**
 * The measures that decide (the rest are recorded and shown): the CPU loop
 * where the figures were measured, in the guest when the cell had one, else
 * on the host. A guest's figures ride on its vCPU thread, which the CPU loop
 * times directly; memcpy swings with whatever else uses the memory bus and
 * would make a busy host's every night unreliable.
 */
export function leadMeasures(p: CalibrationPoint): string[] {
  return p.guest ? ['guest CPU loop'] : ['host CPU loop'];
}

/**
 * How far each measure moved from the start of a cell to its end (end / start
 * - 1, negative: slower at the end), and the worst of the lead measures.
 */
export function calibrationDrift(c: CellCalibration): { worst: { what: string; change: number }; all: { what: string; change: number }[] } {
  const a = measures(c.start);
  const b = measures(c.end);
  const all = Object.keys(a)
    .filter((k) => b[k] !== undefined && a[k]! > 0)
    .map((what) => ({ what, change: b[what]! / a[what]! - 1 }));
  const lead = leadMeasures(c.start);
  const worst = all.filter((x) => lead.includes(x.what)).reduce((w, x) => (Math.abs(x.change) > Math.abs(w.change) ? x : w), { what: 'nothing measured', change: 0 });
  return { worst, all };
}

const pct = (x: number) => `${x >= 0 ? '+' : '\u2212'}${Math.abs(x * 100).toFixed(1)}%`;

/**
 * A cell whose calibration moved more than `bound` (fraction) from its start to
 * its end ran on a host that changed speed under it: its figures are
 * unreliable, whatever they say. Returns why, or undefined when it held.
 */
export function unreliableBecause(c: CellCalibration | undefined, bound: number): string | undefined {
  if (!c) return undefined;
  const d = calibrationDrift(c);
  if (Math.abs(d.worst.change) <= bound) return undefined;
  return `the host changed speed during the bench: ${d.worst.what} ${pct(d.worst.change)} from the cell's start to its end (bound ±${(bound * 100).toFixed(0)}%; ${d.all.map((x) => `${x.what} ${pct(x.change)}`).join(', ')})`;
}

/** The calibration of a cell in one line, for the environment. */
export function describeCalibration(c: CellCalibration): string {
  const fmt = (what: string, v: number) => (what.endsWith('memcpy') ? `${(v / 1e9).toFixed(2)} GB/s` : `${(v / 1e6).toFixed(0)} Mloop/s`);
  const a = measures(c.start);
  const b = measures(c.end);
  return Object.keys(a)
    .map((k) => `${k} ${fmt(k, a[k]!)} → ${b[k] !== undefined ? `${fmt(k, b[k]!)} (${pct(b[k]! / a[k]! - 1)})` : '-'}`)
    .join('; ');
}

/** The speed of a cell's calibration: the median of start and end, per measure. */
export function calibrationLevel(c: CellCalibration): Record<string, number> {
  const a = measures(c.start);
  const b = measures(c.end);
  return Object.fromEntries(Object.keys(a).filter((k) => b[k] !== undefined).map((k) => [k, (a[k]! + b[k]!) / 2]));
}
