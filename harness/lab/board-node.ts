import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { InfraError } from '../errors.ts';
import { boardKernelTree } from '../kmod/board-kernel.ts';
import { BoardTarget } from '../target/board.ts';
import type { BoardSpec } from './board-spec.ts';
import { LabNode, type NodeRecordBase } from './node.ts';

/** What a lab remembers of a board (lab.json), enough to attach to it again. */
export interface BoardRecord extends NodeRecordBase {
  kind: 'board';
  board: BoardSpec;
  dir: string;
  /** The harness's console capture (CaptureConsole), stopped at teardown. */
  consolePid?: number;
  /** Its kernel, found when it came up: release from uname -r, headers fetched for it. */
  kernel: { variant: 'board'; release: string; buildDir: string };
}

export type BoardLabNode = LabNode<BoardTarget, BoardRecord>;

export function boardNode(spec: BoardSpec, labDir: string): BoardLabNode {
  const dir = path.join(labDir, spec.name);
  mkdirSync(dir, { recursive: true });
  const record: BoardRecord = { kind: 'board', name: spec.name, lanAddress: spec.lanAddress, nodeId: spec.nodeId, board: spec, dir, kernel: { variant: 'board', release: '', buildDir: '' } };
  return new LabNode(record, new BoardTarget(spec, dir));
}

export function attachBoard(record: BoardRecord): BoardLabNode {
  return new LabNode(record, new BoardTarget(record.board, record.dir, record.consolePid));
}

/**
 * Power on (console captured first), SSH, agent, then the board's own kernel:
 * the headers of its release fetched and unpacked so the module builds for it.
 * A board whose online CPUs differ from the lab file's `cpus` fails here,
 * naming the field.
 */
export async function bringUpBoard(n: BoardLabNode, deadline: number, bundle: Buffer, log: (l: string) => void): Promise<void> {
  const started = Date.now();
  // Each step logged: a bring-up that stalls says where (two stalled in make test on 2026-12-07, unexplained).
  const step = (what: string) => log(`lab: board ${n.name}: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  await n.target.console.start();
  n.record.consolePid = n.target.console.pid;
  await n.target.power.on();
  step('powered on');
  await n.target.waitBooted(deadline);
  step('SSH answers');
  await n.connect(deadline, bundle);
  step('agent up');
  await resolveBoardKernel(n, log);
  const want = n.record.board.cpus;
  const online = n.hello!.cpusOnline.length;
  if (want !== undefined && online !== want) throw new InfraError(`${n.name}: ${online} CPU(s) online, the lab file expects ${want} (boards[].cpus)`);
  n.record.readySeconds = Math.round((Date.now() - started) / 100) / 10;
  log(`lab: board ${n.name} ready in ${n.record.readySeconds} s (kernel ${n.record.kernel.release}, cpus ${n.hello!.cpusOnline.join(',')})`);
}

export async function resolveBoardKernel(n: BoardLabNode, log: (l: string) => void): Promise<void> {
  const release = n.hello!.kernelRelease;
  if (n.record.kernel.release === release && n.record.kernel.buildDir) return;
  const v = await n.sh('uname -v');
  if (v.code !== 0) throw new InfraError(`${n.name}: uname -v failed: ${v.stderr.trim()}`);
  n.record.kernel = { variant: 'board', release, buildDir: await boardKernelTree(n.name, release, v.stdout, log) };
}
