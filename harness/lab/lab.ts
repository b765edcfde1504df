// The lab: its machines, switch and state as one thing a suite or the CLI boots, attaches to and tears down. The
// work is in the files beside it (state, sweep, vm-plan, boot, ready, attach, restart, status, evidence).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { agentBundle } from '../agent-bundle.ts';
import { InfraError } from '../errors.ts';
import { stopProcess } from '../host/procs.ts';
import { buildImage } from '../image/build.ts';
import { resolveKernels } from '../image/kernel/resolve.ts';
import { VdeSwitch } from '../network/vde.ts';
import { stateRoot } from '../paths.ts';
import { applyGuestDetectors } from '../verdict/guest-detectors.ts';
import { describeTimeScale, setProcessTimeScale, type TimeScale } from '../verdict/time-scale.ts';
import { attachedMachines } from './attach.ts';
import { boardNode } from './board-node.ts';
import { bootMachines, useSnapshots } from './boot.ts';
import { release, own } from './cleanup.ts';
import { labTimeScale } from './deadlines.ts';
import { evidenceMarked, keepEvidence, markEvidence, saveFailureBundle } from './evidence.ts';
import type { LabSpec } from './lab-file.ts';
import { isBoard, isVm, type AnyLabNode, type QemuLabNode } from './machines.ts';
import { restartBoard, restartVm } from './restart.ts';
import { labStatus, type NodeStatus } from './status.ts';
import { currentLabDir, newLabState, readState, statePids, writeState, type LabState } from './state.ts';
import { sweepStale } from './sweep.ts';
import { chooseVmPlatform, planVms } from './vm-plan.ts';

// What other files have always imported from here.
export { LabNode, type NodeState } from './node.ts';
export { bootTimeoutMs, labTimeScale } from './deadlines.ts';
export { useSnapshots } from './boot.ts';
export { machineNote } from './evidence.ts';
export { isBoard, isVm, nodeCpus, type AnyLabNode, type BoardLabNode, type QemuLabNode } from './machines.ts';
export { currentLabDir, readState, type LabState, type NodeRecord } from './state.ts';
export { sweepStale } from './sweep.ts';
export { LAN_PREFIX, lanAddress } from './vm-plan.ts';

export interface BootOptions {
  detached?: boolean;
  /** true: a real boot of every node, no snapshot; false: snapshots; unset: M3LAB_COLD=1 says cold. */
  cold?: boolean;
  log?: (line: string) => void;
}

export class Lab {
  /** Every bound of this lab is a base figure times this (docs/verdicts.md, *Time is scaled to the host*). */
  timeScale!: TimeScale;

  private constructor(readonly state: LabState, readonly nodes: AnyLabNode[], readonly vde: VdeSwitch) {
    this.rescale();
  }

  /** Computes the scale again from the lab's nodes and the host now (once the nodes are known). */
  rescale(): TimeScale {
    this.timeScale = labTimeScale(this.state);
    setProcessTimeScale(this.timeScale);
    return this.timeScale;
  }

  /** The guest's stall detectors set to the lab's scale (after each connect). */
  async scaleGuest(n: AnyLabNode): Promise<void> {
    n.detectors = await applyGuestDetectors(n, this.timeScale).catch(() => undefined);
  }

  get dir(): string {
    return this.state.dir;
  }

  /** The lab's VMs (QEMU nodes), in lab order. */
  get vms(): QemuLabNode[] {
    return this.nodes.filter(isVm);
  }

  node(name: string): AnyLabNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new InfraError(`no node ${name} in this lab (nodes: ${this.nodes.map((x) => x.name).join(', ')})`);
    return n;
  }

  static async boot(spec: LabSpec, opts: BootOptions = {}): Promise<Lab> {
    const log = opts.log ?? (() => {});
    const root = stateRoot();
    mkdirSync(root, { recursive: true });
    sweepStale(root, log);
    const image = await buildImage({ log });
    const kernels = await resolveKernels(spec.nodes.map((n) => n.kernel), log);
    const platform = await chooseVmPlatform(spec, image, log);

    const id = `${spec.name}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const dir = opts.detached ? currentLabDir() : path.join(root, `run-${process.pid}-${randomBytes(3).toString('hex')}`);
    if (opts.detached && existsSync(dir)) {
      const prior = readState(dir);
      throw new InfraError(`a lab is already up (${prior?.id ?? dir}); run \`m3lab down\` first`);
    }
    mkdirSync(dir, { recursive: true });
    const state = newLabState({ id, dir, accel: platform.accel, image: { hash: image.hash, release: image.release, kernel: image.kernel, initrd: image.initrd }, spec });
    own({ dir, pids: () => statePids(state) });
    const vde = new VdeSwitch(dir);
    const all: AnyLabNode[] = [];
    const lab = new Lab(state, all, vde);
    try {
      await vde.start();
      state.vdePid = vde.pid;
      if (spec.lan.uplink) {
        state.uplinkPid = await vde.cableTo(spec.lan.uplink);
        log(`lab: LAN cabled to the switch at ${spec.lan.uplink}`);
      }
      const vms = await planVms(spec, { dir, image, kernels, platform, lanSocket: vde.ctl });
      state.nodes.push(...vms.map((n) => n.record));
      const boards = spec.boards.map((b) => boardNode(b, dir));
      state.boards = boards.map((b) => b.record);
      const syncNodes = () => all.splice(0, all.length, ...vms, ...boards);
      syncNodes();
      log(`lab: time scale ${describeTimeScale(lab.rescale())}`);
      writeState(state);
      await bootMachines(lab, vms, boards, { snapshots: useSnapshots(opts), log, vmsReplaced: syncNodes });
      writeState(state);
      return lab;
    } catch (e) {
      const bundle = lab.saveBundle(e as Error);
      log(`lab: boot failed; consoles and QEMU command lines kept in ${bundle}`);
      await lab.teardown();
      throw e;
    }
  }

  /** Keeps what explains a failure (consoles, QEMU stderr and argv, state) outside the lab folder. */
  saveBundle(err: Error): string {
    return saveFailureBundle(this.state, this.nodes, err);
  }

  /** Connects to a lab another process booted (the one `m3lab up` left running). */
  static async attach(dir = currentLabDir(), opts: { connect?: boolean; timeoutMs?: number } = {}): Promise<Lab> {
    const state = readState(dir);
    if (!state) throw new InfraError(`no lab is up (no state in ${dir}); run \`m3lab up\` first`);
    const lab = new Lab(state, await attachedMachines(state, dir), new VdeSwitch(dir, state.vdePid));
    if (opts.connect !== false) {
      const bundle = (await agentBundle()).code;
      const deadline = Date.now() + (opts.timeoutMs ?? 30000);
      await Promise.all(lab.nodes.filter((n) => n.state !== 'gone').map(async (n) => {
        await n.connect(deadline, bundle);
        await lab.scaleGuest(n);
      }));
    }
    return lab;
  }

  /** Power-cycles one node (a VM with its original command line) and waits until it is ready again. */
  async restart(name: string, how: 'power' | 'wait' = 'power'): Promise<AnyLabNode> {
    const n = this.node(name);
    return isBoard(n) ? restartBoard(this, n, how) : restartVm(this, n);
  }

  status(): NodeStatus[] {
    return labStatus(this.state, this.nodes);
  }

  /** Records that a test on this lab failed or broke: its consoles outlive the teardown. */
  markEvidence(): void {
    markEvidence(this.dir);
  }

  /**
   * Stops every machine and the switch and removes the lab's state. Always safe
   * to call. A lab marked for evidence keeps its consoles, QEMU command lines
   * and state in <state>/kept/<lab-id>/ (evidence.ts).
   */
  async teardown(): Promise<string | undefined> {
    for (const n of this.nodes) n.disconnect();
    await Promise.all(this.nodes.map((n) => (isBoard(n) ? n.target.console.stop() : n.record.pid ? stopProcess(n.record.pid, this.dir, 2000) : undefined)));
    if (this.state.uplinkPid) await stopProcess(this.state.uplinkPid, this.dir, 1000);
    await this.vde.stop();
    const kept = evidenceMarked(this.dir) ? keepEvidence(this.state, this.nodes) : undefined;
    rmSync(this.dir, { recursive: true, force: true });
    release(this.dir);
    return kept;
  }

  /** Hands the lab over to the user: it stays up after this process exits. */
  detach(): void {
    for (const n of this.nodes) n.disconnect();
    if (this.state.ownerPid === process.pid && !this.state.detached) {
      this.state.detached = true;
      writeState(this.state);
    }
    release(this.dir);
  }
}
