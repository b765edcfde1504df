import { QemuTarget } from '../qemu/qemu-target.ts';
import { BoardTarget } from '../target/board.ts';
import type { BoardLabNode } from './board-node.ts';
import type { LabNode } from './node.ts';
import type { NodeRecord } from './state.ts';

/** A lab's machines, VMs and boards, and how to tell them apart. */
export type QemuLabNode = LabNode<QemuTarget, NodeRecord>;
export type { BoardLabNode } from './board-node.ts';
/** A VM or a board: what a suite gets, whichever it is. */
export type AnyLabNode = QemuLabNode | BoardLabNode;

export const isVm = (n: AnyLabNode): n is QemuLabNode => n.target instanceof QemuTarget;
export const isBoard = (n: AnyLabNode): n is BoardLabNode => n.target instanceof BoardTarget;

/** CPUs a node has online when it is up: a VM's vCPUs, a board's expected count (or what it reported). */
export function nodeCpus(n: AnyLabNode): number {
  return isVm(n) ? n.record.spec.cpus : n.record.board.cpus ?? n.hello?.cpusOnline.length ?? 1;
}
