import { InfraError } from '../errors.ts';
import { bootPhases, initSeconds } from './boot-phases.ts';
import type { AnyLabNode, QemuLabNode } from './machines.ts';

/** What a VM's readiness needs of the lab booting it. */
export interface ReadyContext {
  /** The agent bundle deployed to each node. */
  bundle: Buffer;
  /** When the lab's boot started (host ms): ready times count from here. */
  started: number;
  scaleGuest(n: AnyLabNode): Promise<void>;
  log: (line: string) => void;
}

/**
 * A VM is ready when its console said so, its agent answered and its stall
 * detectors are set to the lab's scale, and it runs the kernel its record
 * names. Records its ready time and where it went (boot phases, or a restore's
 * own phases).
 */
export async function whenReady(n: QemuLabNode, deadline: number, c: ReadyContext): Promise<void> {
  await n.target.waitBooted(deadline);
  await n.connect(deadline, c.bundle);
  const helloAt = Date.now();
  await c.scaleGuest(n);
  const readyAt = Date.now();
  n.record.readySeconds = Math.round((readyAt - c.started) / 100) / 10;
  // A restored node's kernel log and uptime are its template's: no boot phases.
  const log0 = n.record.restore ? undefined : await n.rpc.call('dmesg', { since: -1 }, 20_000).catch(() => undefined);
  n.record.bootPhases = bootPhases({
    startedAt: n.target.startedAt ?? c.started,
    bootedAt: n.target.bootedAt ?? helloAt,
    helloAt,
    readyAt,
    uptimeAtHello: n.hello!.uptimeSeconds,
    initSeconds: log0 ? initSeconds(log0.records) : undefined,
  });
  if (n.record.restore) {
    const r = n.record.restore;
    r.agent = Math.round((helloAt - (n.target.bootedAt ?? helloAt)) / 10) / 100;
    r.setup = Math.round((readyAt - helloAt) / 10) / 100;
    r.total = Math.round((readyAt - (n.target.startedAt ?? c.started)) / 10) / 100;
  }
  if (n.hello!.kernelRelease !== n.record.kernel.release) {
    throw new InfraError(`${n.name}: booted kernel ${n.hello!.kernelRelease}, expected ${n.record.kernel.release} (variant ${n.record.kernel.variant})`);
  }
  c.log(`lab: ${n.name} ready in ${n.record.readySeconds} s (${n.record.kernel.variant} kernel ${n.hello!.kernelRelease}, cpus ${n.hello!.cpusOnline.join(',')})`);
}
