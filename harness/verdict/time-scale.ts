import os from 'node:os';

/**
 * One time scale per lab, after syzkaller's `Timeouts` × slowdown: every bound
 * the lab uses (boot, SSH keepalive, hang probes, a test's deadline, the guest's
 * own hung-task, RCU-stall and lockup detectors) is a base figure tuned on an
 * idle 2-core TCG host with the default kernel, multiplied by this factor.
 *
 * The factor is the product of
 * - the kernel: KASAN + lockdep make a debug guest ~3x slower;
 * - oversubscription: vCPUs per host core beyond the 2-per-core the bases were
 *   tuned with (the default lab: 4 vCPUs on 2 cores);
 * - the host now: the share of a core a busy thread gets at the start
 *   (hostSlowdown). A host that is busy or shared gives a larger factor.
 * KVM is not given a factor below 1: the bases are already what a slow host needs.
 *
 * M3LAB_TIME_SCALE overrides the computed factor (a slow machine the
 * calibration misjudges, or to reproduce a run's bounds).
 */
export interface TimeScale {
  factor: number;
  kernel: number;
  oversubscription: number;
  host: number;
  /** 'env' when M3LAB_TIME_SCALE set it. */
  source: 'computed' | 'env';
}

export interface TimeScaleInput {
  kernels: string[];
  vcpus: number;
  hostCores: number;
  hostSlowdown: number;
}

/** The bases were tuned with this many vCPUs per host core. */
const TUNED_VCPUS_PER_CORE = 2;
/** Beyond this the host is not "slow" but unusable: the lab says so rather than waiting for hours. */
const MAX_FACTOR = 20;

const round2 = (x: number) => Math.round(x * 100) / 100;

export function computeTimeScale(input: TimeScaleInput, env: string | undefined = process.env.M3LAB_TIME_SCALE): TimeScale {
  const kernel = input.kernels.includes('debug') ? 3 : 1;
  const oversubscription = Math.max(1, input.vcpus / Math.max(1, input.hostCores) / TUNED_VCPUS_PER_CORE);
  const host = Math.max(1, input.hostSlowdown);
  const forced = Number(env);
  if (env !== undefined && env !== '' && Number.isFinite(forced) && forced > 0) {
    return { factor: round2(forced), kernel, oversubscription: round2(oversubscription), host: round2(host), source: 'env' };
  }
  const factor = Math.min(MAX_FACTOR, kernel * oversubscription * host);
  return { factor: round2(factor), kernel, oversubscription: round2(oversubscription), host: round2(host), source: 'computed' };
}

/** A base bound in ms, scaled. */
export function scaled(ms: number, scale: TimeScale | number): number {
  const f = typeof scale === 'number' ? scale : scale.factor;
  return Math.round(ms * f);
}

export function describeTimeScale(s: TimeScale): string {
  if (s.source === 'env') return `${s.factor} (M3LAB_TIME_SCALE)`;
  return `${s.factor} (kernel ${s.kernel} x oversubscription ${s.oversubscription} x host ${s.host})`;
}

/**
 * The guest's own stall detectors, scaled: what each is set to in a guest of
 * this scale. Bases: hung task 30 s (the debug config's 20 s fired under CI
 * load), RCU stall 21 s (the kernel's default), watchdog threshold 10 s (soft
 * lockup at twice that). Each is clamped to what the kernel accepts.
 */
export interface GuestDetectors {
  hungTaskTimeoutSecs: number;
  rcuCpuStallTimeout: number;
  watchdogThresh: number;
}

export function guestDetectors(scale: TimeScale | number): GuestDetectors {
  const f = typeof scale === 'number' ? scale : scale.factor;
  return {
    hungTaskTimeoutSecs: Math.min(600, Math.ceil(30 * f)),
    // kernel/rcu/tree_stall.h clamps it to 300.
    rcuCpuStallTimeout: Math.min(300, Math.ceil(21 * f)),
    // kernel/watchdog.c: 0..60.
    watchdogThresh: Math.min(60, Math.ceil(10 * f)),
  };
}

/** The files that hold them in a guest, and the value each gets. */
export function guestDetectorWrites(d: GuestDetectors): { path: string; value: string }[] {
  return [
    { path: '/proc/sys/kernel/hung_task_timeout_secs', value: `${d.hungTaskTimeoutSecs}` },
    { path: '/sys/module/rcupdate/parameters/rcu_cpu_stall_timeout', value: `${d.rcuCpuStallTimeout}` },
    { path: '/proc/sys/kernel/watchdog_thresh', value: `${d.watchdogThresh}` },
  ];
}

let measured: number | undefined;

/**
 * How much slower the host runs a thread now than an idle core would (>= 1):
 * a busy loop spins for a fixed wall time and counts the CPU time it was
 * given. On an idle host it gets the whole span; with two busy loops and a
 * guest beside it on 2 cores, about a third. Measuring the share, not the time
 * of a fixed loop, keeps the JIT's tiers (a loop's time varied 11-27 ms between
 * processes on an idle core) and the CPU model out of it. Once per process.
 */
export function hostSlowdown(spinMs = 250): number {
  if (measured !== undefined) return measured;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let x = 0;
  while (Number(process.hrtime.bigint() - t0) / 1e6 < spinMs) for (let i = 0; i < 10_000; i++) x = (x + i) | 0;
  const wallUs = Number(process.hrtime.bigint() - t0) / 1e3;
  const cpu = process.cpuUsage(cpu0);
  if (x === 42) process.stderr.write('');
  // Other threads of this process (GC, workers) can add a little: never below 1.
  measured = Math.max(1, wallUs / Math.max(1, cpu.user + cpu.system));
  return measured;
}

/** The host part of the time scale now, or M3LAB_TIME_SCALE in its place (boot bounds, before a lab's scale exists). */
export function hostFactor(): number {
  const forced = Number(process.env.M3LAB_TIME_SCALE);
  return forced > 0 ? forced : hostSlowdown();
}

/**
 * The scale of a lab that is not up yet, from what a suite asks for: used for
 * the bounds vitest needs before the lab exists (a test's timeout).
 */
export function plannedTimeScale(kernels: string[], vcpus: number): TimeScale {
  return computeTimeScale({ kernels, vcpus, hostCores: os.availableParallelism?.() ?? os.cpus().length, hostSlowdown: hostSlowdown() });
}

/**
 * The scale of the lab this process drives (one per process: a suite file,
 * a CLI command). Set when a lab boots or is attached; read by what has no
 * lab at hand (an SSH link's keepalive). 1 until then.
 */
let current: TimeScale | undefined;

export function setProcessTimeScale(s: TimeScale): void {
  current = s;
}

export function processTimeScale(): TimeScale {
  return current ?? { factor: 1, kernel: 1, oversubscription: 1, host: 1, source: 'computed' };
}
