import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseJsonWith } from '../config/schema.ts';
import { InfraError } from '../errors.ts';
import type { KernelVariant } from '../image/kernel/variants.ts';
import { stateRoot } from '../paths.ts';
import type { AccelDecision } from '../qemu/accel.ts';
import type { QemuNodeSpec } from '../qemu/qemu-target.ts';
import type { BoardRecord } from './board-node.ts';
import type { BootPhases } from './boot-phases.ts';
import type { LabSpec } from './lab-file.ts';
import type { NodeRecordBase } from './node.ts';
import type { RestoreInfo } from './vm-start.ts';

/**
 * The lab's record on disk (`<lab>/lab.json`): what another process (`m3lab
 * down`, `status`, a suite reusing an `up` lab, the stale sweep) needs to find
 * and stop the lab's machines. Versioned: a process reads only the version it
 * writes, so a lab left by another m3lab is refused by name, never misread.
 */
export const LAB_STATE_VERSION = 1;

export interface NodeRecord extends NodeRecordBase {
  name: string;
  index: number;
  pid?: number;
  sshPort: number;
  lanAddress: string;
  dir: string;
  spec: Omit<QemuNodeSpec, 'privateKey'>;
  /** The kernel variant the node boots, its release, and the tree its modules build against. */
  kernel: { variant: KernelVariant; release: string; buildDir: string };
  readySeconds?: number;
  /** Where the ready time went (boot-phases.ts); absent when the kernel log did not say. */
  bootPhases?: BootPhases;
  /** Boots power-cycled because the guest went silent (debug kernels under TCG). */
  bootRetries?: number;
  /** Started from a snapshot (vm-start.ts): its key and where the time went. */
  restore?: RestoreInfo;
}

export interface LabState {
  version: typeof LAB_STATE_VERSION;
  id: string;
  dir: string;
  detached: boolean;
  ownerPid: number;
  createdAt: string;
  accel: AccelDecision;
  image: { hash: string; release: string; kernel: string; initrd: string };
  spec: LabSpec;
  vdePid?: number;
  /** The cable from the lab's switch to the boards' LAN (dpipe of two vde_plugs), when the lab file names one. */
  uplinkPid?: number;
  nodes: NodeRecord[];
  /** Boards of the lab file, after its VMs in the lab's node order. */
  boards?: BoardRecord[];
}

const pid = z.number().int().positive();
const kernelOf = z.looseObject({ variant: z.string(), release: z.string(), buildDir: z.string() });

/**
 * What lab.json must hold for another process to find and stop the lab's
 * machines, and to reuse its nodes: checked on every read, so a damaged file
 * is refused naming its field instead of killing a wrong pid or reaching a
 * wrong port. Fields only this process's own code reads pass through.
 */
export const LabStateFile = z.looseObject({
  version: z.literal(LAB_STATE_VERSION),
  id: z.string().min(1),
  dir: z.string().min(1),
  detached: z.boolean(),
  ownerPid: pid,
  createdAt: z.string(),
  accel: z.looseObject({ accel: z.enum(['kvm', 'tcg']), reason: z.string() }),
  image: z.looseObject({ hash: z.string(), release: z.string(), kernel: z.string(), initrd: z.string() }),
  spec: z.looseObject({}),
  vdePid: pid.optional(),
  uplinkPid: pid.optional(),
  nodes: z.array(
    z.looseObject({
      name: z.string().min(1),
      index: z.number().int().nonnegative(),
      pid: pid.optional(),
      sshPort: z.number().int().min(1).max(65535),
      lanAddress: z.string(),
      dir: z.string(),
      spec: z.looseObject({ name: z.string(), cpus: z.number().int().positive(), maxcpus: z.number().int().positive(), lanAddress: z.string() }),
      kernel: kernelOf,
    }),
  ),
  boards: z.array(z.looseObject({ kind: z.literal('board'), name: z.string().min(1), dir: z.string(), consolePid: pid.optional(), kernel: kernelOf })).optional(),
});

/** A lab.json this m3lab cannot trust: damaged, or written by another version of it. */
export class LabStateError extends InfraError {}

/** A lab.json written by another version of m3lab. */
export class LabStateVersionError extends LabStateError {}

/** Where `m3lab up` keeps the lab it leaves running. */
export const currentLabDir = () => path.join(stateRoot(), 'current');

/** A new lab's record, owned by this process until it is detached. */
export function newLabState(o: Pick<LabState, 'id' | 'dir' | 'accel' | 'image' | 'spec'>): LabState {
  return {
    version: LAB_STATE_VERSION,
    id: o.id,
    dir: o.dir,
    // Owned by this process until detach(): a boot killed half-way is swept as stale.
    detached: false,
    ownerPid: process.pid,
    createdAt: new Date().toISOString(),
    accel: o.accel,
    image: o.image,
    spec: o.spec,
    nodes: [],
  };
}

export function writeState(state: LabState): void {
  const file = path.join(state.dir, 'lab.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  // rename is atomic: a reader never sees half a state file.
  renameSync(`${file}.tmp`, file);
}

/**
 * The lab's state, or undefined where there is none (no lab.json, or not JSON).
 * Throws LabStateVersionError for a state of another version, LabStateError
 * for one that is damaged (the field named).
 */
export function readState(dir: string): LabState | undefined {
  const file = path.join(dir, 'lab.json');
  let text: string;
  let raw: unknown;
  try {
    text = readFileSync(file, 'utf8');
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const version = raw !== null && typeof raw === 'object' ? (raw as { version?: unknown }).version : undefined;
  if (version !== LAB_STATE_VERSION) {
    throw new LabStateVersionError(
      `${file}: lab state version ${JSON.stringify(version) ?? 'missing'}, but this m3lab reads only version ${LAB_STATE_VERSION}; ` +
        `stop that lab with the m3lab that started it, or remove ${dir} after stopping its processes`,
    );
  }
  // The schema checks what LabState declares for readers; the rest is this code's own.
  try {
    return parseJsonWith(file, LabStateFile, text) as unknown as LabState;
  } catch (e) {
    throw new LabStateError(`${(e as Error).message}; remove ${dir} after stopping its processes`);
  }
}

/** Every host process the state names: VMs, board consoles, the LAN cable and the switch. */
export function statePids(s: LabState): number[] {
  const pids = [...s.nodes.map((n) => n.pid), ...(s.boards ?? []).map((b) => b.consolePid), s.uplinkPid, s.vdePid];
  return pids.filter((p): p is number => p !== undefined);
}
