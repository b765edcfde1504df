import type { ExecResult } from '../../agent/protocol.ts';
import { guestDetectorWrites, guestDetectors, type GuestDetectors, type TimeScale } from './time-scale.ts';

/** A shell on a guest through its agent (a lab node is one): said here so the verdict layer needs nothing of the lab. */
export interface GuestShell {
  sh(script: string, timeoutMs?: number): Promise<ExecResult>;
}

/**
 * Sets a guest's hung-task, RCU-stall and lockup detectors to the lab's time
 * scale, so a slow host does not make them fire on a healthy guest (and a
 * debug kernel's 20 s hung-task bound is not judged on a host 3x slower).
 * Returns what was set; a detector the kernel lacks is left out, not an error.
 */
export async function applyGuestDetectors(node: GuestShell, scale: TimeScale): Promise<Partial<GuestDetectors>> {
  const d = guestDetectors(scale);
  const script = guestDetectorWrites(d)
    .map((w) => `if [ -w ${w.path} ]; then echo ${w.value} > ${w.path} && echo "${w.path}=$(cat ${w.path})"; fi`)
    .join('; ');
  // sysrq on, so a silent guest can be asked for its CPUs' backtraces (diagnose.ts).
  const r = await node.sh(`${script}; [ -w /proc/sys/kernel/sysrq ] && echo 1 > /proc/sys/kernel/sysrq; true`, 15000);
  const set: Partial<GuestDetectors> = {};
  for (const line of r.stdout.split('\n')) {
    const [file, value] = line.split('=');
    if (!file || value === undefined) continue;
    if (file.endsWith('hung_task_timeout_secs')) set.hungTaskTimeoutSecs = Number(value);
    if (file.endsWith('rcu_cpu_stall_timeout')) set.rcuCpuStallTimeout = Number(value);
    if (file.endsWith('watchdog_thresh')) set.watchdogThresh = Number(value);
  }
  return set;
}
