// What explains a lab's failure, kept outside its folder: consoles, how each machine was started, the state.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stateRoot } from '../paths.ts';
import { isVm, type AnyLabNode } from './machines.ts';
import type { LabState } from './state.ts';

/** Bundles and kept labs each: older ones are removed. */
const KEEP = 20;
/** In a lab's folder: a test on the lab failed or broke, so its teardown keeps the evidence. */
const EVIDENCE_MARK = 'KEEP-EVIDENCE';

/** Keeps what explains a failed boot (consoles, QEMU stderr and argv, state) in <state>/failed/<lab-id>/. */
export function saveFailureBundle(state: LabState, nodes: AnyLabNode[], err: Error): string {
  pruneDirs(path.join(stateRoot(), 'failed'), KEEP);
  const out = path.join(stateRoot(), 'failed', state.id);
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'error.txt'), `${err.stack ?? err.message}\n`);
  writeFileSync(path.join(out, 'lab.json'), `${JSON.stringify(state, null, 2)}\n`);
  writeMachineEvidence(nodes, out);
  return out;
}

export function markEvidence(labDir: string): void {
  writeFileSync(path.join(labDir, EVIDENCE_MARK), `${new Date().toISOString()}\n`);
}

export const evidenceMarked = (labDir: string) => existsSync(path.join(labDir, EVIDENCE_MARK));

/** A marked lab's consoles, QEMU command lines and state, in <state>/kept/<lab-id>/ (pruned by count like the bundles). */
export function keepEvidence(state: LabState, nodes: AnyLabNode[]): string {
  const out = path.join(stateRoot(), 'kept', state.id);
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'lab.json'), `${JSON.stringify(state, null, 2)}\n`);
  writeMachineEvidence(nodes, out);
  pruneDirs(path.join(stateRoot(), 'kept'), KEEP);
  return out;
}

/**
 * How a machine was started or switched, for evidence: a VM's QEMU command
 * line and stderr (`NODE.qemu.txt`), a board's lab-file entry and power log
 * (`NODE.board.txt`).
 */
export function machineNote(n: AnyLabNode): { file: string; text: string } {
  if (isVm(n)) {
    const argv = ['qemu-system-x86_64', ...n.target.argv].map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(' ');
    return { file: `${n.name}.qemu.txt`, text: `${argv}\n\n${n.target.stderrText()}\n` };
  }
  const power = path.join(n.record.dir, 'power.log');
  return { file: `${n.name}.board.txt`, text: `${JSON.stringify(n.record.board, null, 2)}\n\n${existsSync(power) ? readFileSync(power, 'utf8') : '(no power command ran)'}\n` };
}

/** Every machine's whole console and its note. */
function writeMachineEvidence(nodes: AnyLabNode[], out: string): void {
  for (const n of nodes) {
    writeFileSync(path.join(out, `${n.name}.console.log`), n.target.console.text());
    const note = machineNote(n);
    writeFileSync(path.join(out, note.file), note.text);
  }
}

/** Keeps the newest `keep` folders of root (by modification time), removes the rest. */
function pruneDirs(root: string, keep: number): void {
  if (!existsSync(root)) return;
  const dirs = readdirSync(root)
    .map((d) => ({ d, t: statSync(path.join(root, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { d } of dirs.slice(keep)) rmSync(path.join(root, d), { recursive: true, force: true });
}
