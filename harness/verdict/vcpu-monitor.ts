import { readdirSync, readFileSync } from 'node:fs';

/**
 * What the host gave a VM's vCPUs, sampled from /proc: liveness from progress,
 * not from one answer. QEMU names its vCPU threads "CPU n/TCG" or "CPU n/KVM"
 * (`-name ...,debug-threads=on`); for each, schedstat says how long it ran and
 * how long it waited on a run queue, and the process state says whether
 * QEMU was stopped (SIGSTOP, a debugger) altogether.
 *
 * - run time without answers: the guest is busy but makes no progress (hung);
 * - wait time or a stopped process: the host did not run the guest (starved);
 * - neither: the guest sleeps (idle, or every task blocked).
 */
export interface VcpuSample {
  /** Host wall clock, ms. */
  t: number;
  /** QEMU's process state letter (R, S, D, T, t, Z), or 'gone'. */
  state: string;
  /** Summed over vCPU threads, ns. */
  runNs: number;
  waitNs: number;
  vcpus: number;
}

export interface VcpuWindow {
  wallMs: number;
  runMs: number;
  waitMs: number;
  /** Wall time the host did not run the guest: QEMU stopped, or its vCPUs waited more than they ran. */
  starvedMs: number;
  /** The longest unbroken stretch of it. */
  longestStarvedMs: number;
  stoppedMs: number;
  samples: number;
}

const VCPU_COMM = /^CPU \d+\/(TCG|KVM)$/;

/** One sample of a QEMU process, or undefined when it is gone. */
export function sampleQemu(pid: number, now = Date.now()): VcpuSample | undefined {
  let state: string;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '?';
  } catch {
    return undefined;
  }
  let runNs = 0;
  let waitNs = 0;
  let vcpus = 0;
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  for (const tid of tids) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      if (!VCPU_COMM.test(comm)) continue;
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
      runNs += run ?? 0;
      waitNs += wait ?? 0;
      vcpus++;
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return { t: now, state, runNs, waitNs, vcpus };
}

/**
 * A stretch between two samples counts as starved when QEMU was stopped or its
 * vCPUs mostly waited. Run and wait are sums over the vCPU threads, so they are
 * held against the threads' wall time, not the wall once: two vCPUs that each
 * waited 45% of a stretch (four vCPUs sharing two cores, the lab's normal
 * state) are not starved, though their waits add up to 90% of the wall.
 */
function starvedStretch(a: VcpuSample, b: VcpuSample): { starved: boolean; stopped: boolean } {
  const threadWall = (b.t - a.t) * 1e6 * Math.max(1, Math.min(a.vcpus, b.vcpus));
  const stopped = /^[Tt]$/.test(a.state) && /^[Tt]$/.test(b.state);
  const run = b.runNs - a.runNs;
  const wait = b.waitNs - a.waitNs;
  return { stopped, starved: stopped || (wait > run && wait > 0.5 * threadWall) };
}

/** What the samples say of [from, to]. Pure: unit-tested over recorded timelines. */
export function summarize(samples: VcpuSample[], from: number, to: number): VcpuWindow {
  const s = samples.filter((x) => x.t >= from && x.t <= to);
  const w: VcpuWindow = { wallMs: to - from, runMs: 0, waitMs: 0, starvedMs: 0, longestStarvedMs: 0, stoppedMs: 0, samples: s.length };
  let stretch = 0;
  for (let i = 1; i < s.length; i++) {
    const a = s[i - 1]!;
    const b = s[i]!;
    if (b.state === 'gone' || a.state === 'gone') continue;
    const dt = b.t - a.t;
    w.runMs += (b.runNs - a.runNs) / 1e6;
    w.waitMs += (b.waitNs - a.waitNs) / 1e6;
    const { starved, stopped } = starvedStretch(a, b);
    if (stopped) w.stoppedMs += dt;
    if (starved) {
      w.starvedMs += dt;
      stretch += dt;
      w.longestStarvedMs = Math.max(w.longestStarvedMs, stretch);
    } else {
      stretch = 0;
    }
  }
  w.runMs = Math.round(w.runMs);
  w.waitMs = Math.round(w.waitMs);
  return w;
}

/** Starved enough that the guest's slowness or silence is the host's doing. */
export function isStarved(w: VcpuWindow): boolean {
  return w.longestStarvedMs >= 5000 || (w.wallMs > 0 && w.starvedMs >= 0.25 * w.wallMs && w.starvedMs >= 2000);
}

export function describeWindow(node: string, w: VcpuWindow): string {
  const parts = [`${node}'s vCPU threads ran ${w.runMs} ms and waited ${w.waitMs} ms for a CPU in ${(w.wallMs / 1000).toFixed(1)} s`];
  if (w.stoppedMs) parts.push(`QEMU was stopped for ${(w.stoppedMs / 1000).toFixed(1)} s`);
  if (w.starvedMs) parts.push(`starved ${(w.starvedMs / 1000).toFixed(1)} s in all, ${(w.longestStarvedMs / 1000).toFixed(1)} s at a stretch`);
  return parts.join('; ');
}

/**
 * Samples every VM of a lab twice a second into a bounded ring (an hour at
 * most), so a verdict can ask what the host gave each guest in any window.
 */
export class VcpuMonitor {
  private readonly rings = new Map<string, VcpuSample[]>();
  private timer?: NodeJS.Timeout;
  private static readonly KEEP = 7200;

  constructor(private readonly pids: () => { node: string; pid?: number }[], private readonly periodMs = 500) {}

  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  tick(now = Date.now()): void {
    for (const { node, pid } of this.pids()) {
      if (pid === undefined) continue;
      const ring = this.rings.get(node) ?? [];
      ring.push(sampleQemu(pid, now) ?? { t: now, state: 'gone', runNs: 0, waitNs: 0, vcpus: 0 });
      if (ring.length > VcpuMonitor.KEEP) ring.splice(0, ring.length - VcpuMonitor.KEEP);
      this.rings.set(node, ring);
    }
  }

  /** Takes a sample now (so a window ends with fresh data) and summarizes [from, now]. */
  window(node: string, from: number, to = Date.now()): VcpuWindow | undefined {
    this.tick(to);
    const ring = this.rings.get(node);
    return ring ? summarize(ring, from, to) : undefined;
  }

  samples(node: string): VcpuSample[] {
    return [...(this.rings.get(node) ?? [])];
  }
}
