// A machine of a running lab brought back: a VM power-cycled (from its snapshot when it started from one), a board
// through its own power commands or a reboot.
import { agentBundle } from '../agent-bundle.ts';
import { QemuTarget } from '../qemu/qemu-target.ts';
import { resolveBoardKernel, type BoardLabNode } from './board-node.ts';
import { useSnapshots } from './boot.ts';
import { bootTimeoutMs } from './deadlines.ts';
import type { AnyLabNode, QemuLabNode } from './machines.ts';
import { LabNode } from './node.ts';
import { writeState, type LabState } from './state.ts';
import { startFromSnapshot } from './vm-start.ts';

/** What a restart needs of the lab: its state, its node list (the restarted node replaces the old one) and detectors. */
export interface RunningLab {
  readonly state: LabState;
  readonly nodes: AnyLabNode[];
  scaleGuest(n: AnyLabNode): Promise<void>;
}

/** Power-cycles a VM with its original command line and waits until it is ready again. */
export async function restartVm(lab: RunningLab, old: QemuLabNode): Promise<QemuLabNode> {
  old.disconnect();
  await old.target.power.off(2000);
  const record = old.record;
  const at = lab.nodes.indexOf(old);
  const started = Date.now();
  const deadline = started + bootTimeoutMs(lab.state.accel.accel, record.spec.cpus, 1, record.kernel?.variant);
  let node: QemuLabNode;
  if (record.restore && useSnapshots({})) {
    // A node that started from a snapshot starts from it again: a fresh kernel, as a boot gives.
    const one: QemuLabNode[] = [new LabNode(record, new QemuTarget({ ...old.target.spec, incoming: false }))];
    lab.nodes[at] = one[0]!;
    await startFromSnapshot(one, 0, { imageHash: lab.state.image.hash, deadline, bootMs: deadline - started, guard: record.kernel?.variant === 'debug', log: () => {}, changed: () => writeState(lab.state) });
    node = one[0]!;
    lab.nodes[at] = node;
  } else {
    const target = new QemuTarget({ ...old.target.spec, incoming: false, ctlSocket: undefined });
    node = new LabNode(record, target);
    lab.nodes[at] = node;
    await target.power.on();
    record.pid = target.pid;
    writeState(lab.state);
    await target.waitBooted(deadline);
  }
  await node.connect(deadline, (await agentBundle()).code);
  await lab.scaleGuest(node);
  record.readySeconds = Math.round((Date.now() - started) / 100) / 10;
  writeState(lab.state);
  return node;
}

/**
 * A board back from a power cycle through its own power commands (console
 * captured from the first byte), or, without power commands, from a reboot
 * asked through SSH, or (`wait`) from a reboot already under way; then SSH,
 * agent and kernel as at boot.
 */
export async function restartBoard(lab: RunningLab, old: BoardLabNode, how: 'power' | 'wait'): Promise<BoardLabNode> {
  const started = Date.now();
  const deadline = started + Math.max(120_000, bootTimeoutMs(lab.state.accel.accel, old.record.board.cpus ?? 1, 1));
  if (how === 'wait') {
    // Already rebooting (a reboot or crash fault): wait for it to come back.
    old.disconnect();
  } else if (old.target.hasPower) {
    old.disconnect();
    // Its `cycle` command, or off then on; the console capture restarts first either way.
    await old.target.power.cycle();
    old.record.consolePid = old.target.console.pid;
  } else {
    if (old.state !== 'gone') void old.sh('reboot', 5000).catch(() => undefined);
    old.target.markBoot();
    await old.target.waitDown(Date.now() + 60_000);
    old.disconnect();
  }
  const node: BoardLabNode = new LabNode(old.record, old.target);
  lab.nodes[lab.nodes.indexOf(old)] = node;
  writeState(lab.state);
  await node.target.waitBooted(deadline);
  await node.connect(deadline, (await agentBundle()).code);
  await lab.scaleGuest(node);
  await resolveBoardKernel(node, () => {});
  node.record.readySeconds = Math.round((Date.now() - started) / 100) / 10;
  writeState(lab.state);
  return node;
}
