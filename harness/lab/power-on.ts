import { QemuTarget, type QemuNodeSpec } from '../qemu/qemu-target.ts';
import type { RestoreInfo } from './vm-start.ts';
import { LabNode, type NodeRecordBase } from './node.ts';
import { freePort } from './ports.ts';

/** The VM side of a record: what a start needs to write back. */
export interface VmRecord extends NodeRecordBase {
  pid?: number;
  sshPort: number;
  spec: Omit<QemuNodeSpec, 'privateKey'>;
  restore?: RestoreInfo;
}

export type VmNode = LabNode<QemuTarget, VmRecord>;

/** A start of a VM that wrote back its port and PID. */
export function writeBack(n: VmNode, spec: QemuNodeSpec): void {
  const { privateKey: _k, ...persisted } = spec;
  n.record.spec = persisted;
  n.record.sshPort = spec.sshPort;
}

/**
 * Starts a node's QEMU. The SSH port was free when picked, but another process can
 * take it before QEMU binds it; QEMU then exits at once saying so, and the node is
 * started again on a new port (up to three times). `nodes[i]` is replaced when
 * the spec changes.
 */
export async function powerOnWithFreshPort<R extends VmRecord>(nodes: LabNode<QemuTarget, R>[], i: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const n = nodes[i]!;
    await n.target.power.on();
    n.record.pid = n.target.pid;
    const exited = await Promise.race([n.target.gone.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 300))]);
    if (!exited || attempt >= 3 || !/host forwarding|hostfwd/i.test(n.target.stderrText())) return;
    const spec = { ...n.target.spec, sshPort: await freePort() };
    writeBack(n, spec);
    nodes[i] = new LabNode(n.record, new QemuTarget(spec));
  }
}

