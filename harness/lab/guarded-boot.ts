import { BootTimeoutError } from '../errors.ts';
import type { QemuTarget } from '../qemu/qemu-target.ts';
import { hostFactor } from '../verdict/time-scale.ts';
import type { LabNode } from './node.ts';
import { powerOnWithFreshPort, type VmRecord } from './power-on.ts';

/**
 * A debug guest silent this long before its ready marker is taken for halted.
 * Half a minute of silence is normal in a healthy debug boot at loglevel 5
 * (KASAN and lockdep between the PCI probe and userspace), hence the margin.
 */
const SILENT_MS = 90_000;
/**
 * The same while its kernel clock has not passed its first second: a healthy
 * kernel gets there within seconds of wall time. The debug kernel's known
 * early hang (PROVE_RCU's RCU-tasks self-test, before the secondary CPUs come
 * up) stops the console right after the lockdep banner, at ~0.5 s.
 */
const EARLY_SILENT_MS = 30_000;
/** Boots in all, the last one without the guard and with the whole deadline. */
export const GUARDED_BOOT_ATTEMPTS = 3;

export interface GuardedBoot {
  /** The full boot deadline of this node, in ms from each power-on. */
  bootMs: number;
  /** The first attempt's deadline, when the caller's clock started earlier (the lab's start). */
  firstDeadline?: number;
  /** Power-cycle a stalled boot (debug kernels); without it, one boot to the deadline. */
  guard: boolean;
  /** The console line that ends the boot (the ready or snapshot marker); the target's ready marker by default. */
  marker?: string;
  log: (line: string) => void;
  /** Called whenever the node's PID or port changed (the lab writes its state). */
  changed: () => void;
}

/**
 * Powers node i on and waits for its marker. With the guard, a boot whose
 * console stalls is power-cycled, at most GUARDED_BOOT_ATTEMPTS boots in all,
 * each counted in the record's bootRetries and said in the log; the last boot
 * gets the whole deadline and no guard, so a kernel that always hangs still
 * ends as a boot timeout with its console attached. Cold labs and snapshot
 * templates boot through here alike: a template boot is a cold boot.
 */
export async function bootGuarded<R extends VmRecord & { bootRetries?: number }>(nodes: LabNode<QemuTarget, R>[], i: number, o: GuardedBoot): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await powerOnWithFreshPort(nodes, i);
    o.changed();
    const n = nodes[i]!;
    const last = !o.guard || attempt >= GUARDED_BOOT_ATTEMPTS;
    const full = attempt === 1 && o.firstDeadline !== undefined ? o.firstDeadline : Date.now() + o.bootMs;
    const deadline = last ? full : Math.min(full, Date.now() + o.bootMs / 2);
    const s = hostFactor();
    try {
      await n.target.waitBooted(deadline, last ? undefined : { silentMs: SILENT_MS * s, earlyMs: EARLY_SILENT_MS * s }, o.marker);
      return;
    } catch (e) {
      if (!(e instanceof BootTimeoutError) || last) throw e;
      n.record.bootRetries = (n.record.bootRetries ?? 0) + 1;
      o.log(`lab: ${n.name}: the boot stalled (${e.message.replace(/^[^:]*: /, '').split('\n')[0]}); power-cycling it (attempt ${attempt + 1} of ${GUARDED_BOOT_ATTEMPTS})`);
      await n.target.power.off(1000);
    }
  }
}
