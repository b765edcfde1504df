import os from 'node:os';
import type { Accel } from '../qemu/accel.ts';
import { computeTimeScale, hostFactor, hostSlowdown, type TimeScale } from '../verdict/time-scale.ts';
import type { LabState } from './state.ts';

/** A restored node answers SSH within this (x the lab's time scale) of its ready marker, or is restored again. */
export const RESTORED_SSH_MS = 30_000;

/**
 * Boot deadline: scaled by accelerator, vCPUs and how many nodes share the
 * host's cores, and by the host's speed now (the time scale's host part, or
 * M3LAB_TIME_SCALE in its place).
 */
export function bootTimeoutMs(accel: Accel, cpus: number, nodes: number, kernel = 'default'): number {
  const env = Number(process.env.M3LAB_BOOT_TIMEOUT);
  if (env > 0) return env * 1000;
  const base = accel === 'kvm' ? 20 : 60;
  // KASAN and lockdep make a debug kernel's boot ~6x slower under TCG (~30 s alone, ~50 s three at once).
  const variant = kernel === 'debug' ? 3 : 1;
  return Math.round(base * variant * (1 + 0.25 * (cpus - 1)) * Math.max(1, nodes / 2) * hostFactor() * 1000);
}

/** The lab's time scale (harness/verdict/time-scale.ts), from its kernels, vCPUs and the host now. */
export function labTimeScale(state: LabState): TimeScale {
  const vcpus = state.nodes.reduce((a, n) => a + n.spec.cpus, 0);
  return computeTimeScale({
    kernels: state.nodes.map((n) => n.kernel?.variant ?? 'default'),
    vcpus,
    hostCores: os.availableParallelism?.() ?? os.cpus().length,
    hostSlowdown: hostSlowdown(),
  });
}
