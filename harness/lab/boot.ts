// How a lab's machines come up: boards through their own power, beside the VMs; the VMs from snapshots, or by a
// cold boot (power-cycled when a debug kernel stalls), each then made ready (ready.ts).
import { agentBundle } from '../agent-bundle.ts';
import { InfraError } from '../errors.ts';
import { scaled, type TimeScale } from '../verdict/time-scale.ts';
import { bringUpBoard, type BoardLabNode } from './board-node.ts';
import { bootTimeoutMs, RESTORED_SSH_MS } from './deadlines.ts';
import { bootGuarded } from './guarded-boot.ts';
import type { AnyLabNode, QemuLabNode } from './machines.ts';
import { whenReady, type ReadyContext } from './ready.ts';
import { writeState, type LabState } from './state.ts';
import { powerOnWithFreshPort, startFromSnapshot } from './vm-start.ts';

/** Labs start from snapshots unless asked for a real boot (--cold, M3LAB_COLD=1). */
export function useSnapshots(opts: { cold?: boolean }): boolean {
  return opts.cold === undefined ? process.env.M3LAB_COLD !== '1' : !opts.cold;
}

/** What booting needs of the lab: its state (written whenever a PID or port changes), its scale and the guests' detectors. */
export interface BootingLab {
  readonly state: LabState;
  readonly timeScale: TimeScale;
  scaleGuest(n: AnyLabNode): Promise<void>;
}

export interface MachinesBoot {
  snapshots: boolean;
  log: (line: string) => void;
  /** Called once the VMs are ready: a VM started again on a fresh port is a new LabNode, and the lab's list follows. */
  vmsReplaced: () => void;
}

/** Brings up every machine of the lab; `vms` entries are replaced as VMs are started again. */
export async function bootMachines(lab: BootingLab, vms: QemuLabNode[], boards: BoardLabNode[], o: MachinesBoot): Promise<void> {
  const { state } = lab;
  const bundle = (await agentBundle()).code;
  const started = Date.now();
  // Boards come up beside the VMs: their power, console and kernel are their own.
  const boardMs = (b: BoardLabNode) => Math.max(120_000, bootTimeoutMs(state.accel.accel, b.record.board.cpus ?? 1, state.spec.nodes.length + boards.length));
  const boardsUp = Promise.all(boards.map((b) => bringUpBoard(b, Date.now() + boardMs(b), bundle, o.log)));
  boardsUp.catch(() => undefined);
  const c: ReadyContext = { bundle, started, scaleGuest: (n) => lab.scaleGuest(n), log: o.log };
  if (o.snapshots) await restoreVms(lab, vms, c);
  else if (state.spec.nodes.some((n) => n.kernel === 'debug')) await bootDebugVms(lab, vms, c);
  else await bootVms(lab, vms, c);
  o.vmsReplaced();
  await boardsUp;
  await Promise.all(boards.map((b) => lab.scaleGuest(b)));
}

const maxCpus = (state: LabState) => Math.max(...state.spec.nodes.map((n) => n.cpus));

/** Each VM from the snapshot of its shape; a missing one is made by the first VM of that shape. */
async function restoreVms(lab: BootingLab, nodes: QemuLabNode[], c: ReadyContext): Promise<void> {
  const { state } = lab;
  const accel = state.accel.accel;
  c.log(`lab: ${nodes.length} node(s) starting from snapshots`);
  const restoreOpts = (n: QemuLabNode) => {
    const bootMs = bootTimeoutMs(accel, n.record.spec.cpus, nodes.length, n.record.kernel.variant);
    return { imageHash: state.image.hash, deadline: c.started + bootMs, bootMs, guard: n.record.kernel.variant === 'debug', log: c.log, changed: () => writeState(state) };
  };
  await Promise.all(nodes.map((n, i) => startFromSnapshot(nodes, i, restoreOpts(n))));
  writeState(state);
  /*
   * A restored node past its ready marker answers SSH within seconds (the
   * agent phase: ~8 s for a debug guest). One restored debug node in a
   * clean-clone run printed its marker and then never answered a
   * handshake; with the module not loaded yet that is the lab's problem,
   * so such a node is restored once more (said, and counted in
   * bootRetries), and a second silence is the boot error it is.
   */
  await Promise.all(nodes.map(async (_, i) => {
    const full = bootTimeoutMs(accel, maxCpus(state), nodes.length, nodes[i]!.record.kernel.variant);
    const first = Math.min(full, scaled(RESTORED_SSH_MS, lab.timeScale));
    try {
      await whenReady(nodes[i]!, Date.now() + first, c);
    } catch (e) {
      if (!(e instanceof InfraError) || !/: SSH to .* failed/.test(e.message)) throw e;
      const n = nodes[i]!;
      n.record.bootRetries = (n.record.bootRetries ?? 0) + 1;
      c.log(`lab: ${n.name}: restored, but SSH did not answer in ${Math.round(first / 1000)} s (${e.message.replace(/^[^:]*: /, '')}); restoring it again`);
      n.disconnect();
      await n.target.power.off(1000);
      await startFromSnapshot(nodes, i, { ...restoreOpts(n), deadline: Date.now() + full });
      writeState(state);
      await whenReady(nodes[i]!, Date.now() + full, c);
    }
  }));
}

/**
 * A debug guest that stalls in boot is power-cycled, at most twice, and
 * said so (guarded-boot.ts). Under voluntary preemption this kernel
 * deadlocked in its RCU-tasks self-test on a loaded host; it boots with
 * preempt=full now (images/kernels/variants.yaml) and still stalled
 * there once in a CI run, so the guard stays: a boot-time hang of the
 * kernel itself is named and retried, not waited out.
 */
async function bootDebugVms(lab: BootingLab, nodes: QemuLabNode[], c: ReadyContext): Promise<void> {
  const { state } = lab;
  const accel = state.accel.accel;
  const bootDebug = (i: number) => bootGuarded(nodes, i, {
    bootMs: bootTimeoutMs(accel, nodes[i]!.record.spec.cpus, nodes.length, nodes[i]!.record.kernel.variant),
    guard: nodes[i]!.record.kernel.variant === 'debug',
    log: c.log,
    changed: () => writeState(state),
  });
  c.log(`lab: ${nodes.length} node(s) with the debug kernel powered on, waiting for readiness`);
  await Promise.all(nodes.map((_, i) => bootDebug(i)));
  await Promise.all(nodes.map((n) => whenReady(n, Date.now() + bootTimeoutMs(accel, maxCpus(state), nodes.length, 'debug'), c)));
}

/** Every VM powered on at once, all ready by one deadline. */
async function bootVms(lab: BootingLab, nodes: QemuLabNode[], c: ReadyContext): Promise<void> {
  const { state } = lab;
  const deadline = c.started + bootTimeoutMs(state.accel.accel, maxCpus(state), state.spec.nodes.length);
  await Promise.all(nodes.map((n, i) => powerOnWithFreshPort(nodes, i)));
  writeState(state);
  c.log(`lab: ${nodes.length} node(s) powered on, waiting for readiness`);
  await Promise.all(nodes.map((n) => whenReady(n, deadline, c)));
}
