/**
 * Where a node's boot time goes, from host clocks and the guest's own: the
 * guest's uptime at the agent's hello says when its kernel started (in host
 * time), and the kernel log's "Run /init" record says when the kernel handed
 * over to user space. The phases add up to the node's ready time.
 */
export interface BootTimes {
  /** Host ms: QEMU spawned (the lab's power-on of this node). */
  startedAt: number;
  /** Host ms: the ready marker seen on the console. */
  bootedAt: number;
  /** Host ms: the agent's hello answered. */
  helloAt: number;
  /** Host ms: ready (guest detectors applied). */
  readyAt: number;
  /** Guest uptime in seconds, reported by the hello. */
  uptimeAtHello: number;
  /** Guest seconds since kernel start of "Run /init as init process" (undefined when not in the log). */
  initSeconds?: number;
}

export interface BootPhases {
  /** QEMU start to the kernel's first instruction: QEMU itself and firmware (SeaBIOS, option ROMs, kernel load). */
  firmware: number;
  /** Kernel start to /init. */
  kernel: number;
  /** /init to the ready marker (modules, network, sshd). */
  userspace: number;
  /** Ready marker to the agent's hello (SSH, agent copy and start). */
  agent: number;
  /** Hello to ready (guest detectors scaled). */
  setup: number;
  total: number;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

export function bootPhases(t: BootTimes): BootPhases | undefined {
  if (t.initSeconds === undefined) return undefined;
  const kernelStart = t.helloAt - t.uptimeAtHello * 1000;
  const initAt = kernelStart + t.initSeconds * 1000;
  return {
    firmware: r2(Math.max(0, kernelStart - t.startedAt) / 1000),
    kernel: r2(t.initSeconds),
    userspace: r2(Math.max(0, t.bootedAt - initAt) / 1000),
    agent: r2(Math.max(0, t.helloAt - t.bootedAt) / 1000),
    setup: r2(Math.max(0, t.readyAt - t.helloAt) / 1000),
    total: r2((t.readyAt - t.startedAt) / 1000),
  };
}

/** Seconds since kernel start of the hand-over to user space, from kernel log records. */
export function initSeconds(records: { usec: number; text: string }[]): number | undefined {
  const r = records.find((x) => /^Run \S+ as init process/.test(x.text));
  return r ? r.usec / 1e6 : undefined;
}
