import type { BootPhases } from './boot-phases.ts';
import { isBoard, nodeCpus, type AnyLabNode } from './machines.ts';
import type { NodeState } from './node.ts';
import type { LabState } from './state.ts';

/** One machine of a lab as `m3lab status` shows it (and `up --json` prints it). */
export interface NodeStatus {
  name: string;
  kind: 'qemu' | 'board';
  state: NodeState;
  kernel: string;
  release: string;
  vcpus: number;
  maxcpus: number;
  pid?: number;
  sshPort: number;
  lanAddress: string;
  readySeconds?: number;
  bootPhases?: BootPhases;
  reason?: string;
}

/** Each machine's status; one whose process or power is off is gone, whatever the lab last saw. */
export function labStatus(state: LabState, nodes: AnyLabNode[]): NodeStatus[] {
  return nodes.map((n) => isBoard(n) ? {
    name: n.name,
    kind: 'board' as const,
    kernel: 'board',
    release: n.record.kernel.release,
    vcpus: nodeCpus(n),
    maxcpus: nodeCpus(n),
    state: n.state === 'gone' || !n.target.power.isOn() ? 'gone' : n.state,
    sshPort: n.record.board.ssh.port,
    lanAddress: n.record.lanAddress,
    readySeconds: n.record.readySeconds,
    reason: n.goneReason,
  } : {
    kind: 'qemu' as const,
    name: n.name,
    kernel: n.record.kernel?.variant ?? 'default',
    release: n.record.kernel?.release ?? state.image.release,
    vcpus: n.record.spec.cpus,
    maxcpus: n.record.spec.maxcpus,
    state: n.state === 'gone' || !n.target.power.isOn() ? 'gone' : n.state,
    pid: n.record.pid,
    sshPort: n.record.sshPort,
    lanAddress: n.record.lanAddress,
    readySeconds: n.record.readySeconds,
    bootPhases: n.record.bootPhases,
    reason: n.goneReason,
  });
}
