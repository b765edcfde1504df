import { bootPhases, initSeconds, type BootPhases } from './boot-phases.ts';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { agentBundle } from '../agent-bundle.ts';
import { BootTimeoutError, InfraError } from '../errors.ts';
import { buildImage, type BuiltImage } from '../image/build.ts';
import { resolveKernels } from '../image/kernel/resolve.ts';
import type { KernelVariant } from '../image/kernel/variants.ts';
import { VdeSwitch } from '../network/vde.ts';
import { stateRoot } from '../paths.ts';
import { chooseAccel, type Accel, type AccelDecision } from '../qemu/accel.ts';
import { hostTscKhz } from '../qemu/host-tsc.ts';
import { QemuTarget, type QemuNodeSpec } from '../qemu/qemu-target.ts';
import { killNow, own, release } from './cleanup.ts';
import type { LabSpec } from './lab-file.ts';
import { LabNode, type NodeRecordBase, type NodeState } from './node.ts';
import { attachBoard, boardNode, bringUpBoard, resolveBoardKernel, type BoardLabNode, type BoardRecord } from './board-node.ts';
import { BoardTarget } from '../target/board.ts';
import { applyGuestDetectors } from '../verdict/guest-detectors.ts';
import { computeTimeScale, describeTimeScale, hostFactor, hostSlowdown, scaled, setProcessTimeScale, type TimeScale } from '../verdict/time-scale.ts';
import os from 'node:os';

export { LabNode, type NodeState } from './node.ts';
import { freePort } from './ports.ts';
import { powerOnWithFreshPort, startFromSnapshot, type RestoreInfo } from './vm-start.ts';
import { bootGuarded } from './guarded-boot.ts';
import { isAlive, isOurs, stopProcess } from '../host/procs.ts';

export const LAN_PREFIX = 24;
/** A restored node answers SSH within this (x the lab's time scale) of its ready marker, or is restored again. */
const RESTORED_SSH_MS = 30_000;
/** The inter-node LAN lives on link-local addresses inside the lab's own VDE switch. */
export const lanAddress = (index: number) => `169.254.77.${index}`;


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
  version: 1;
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

/**
 * Boot deadline: scaled by accelerator, vCPUs and how many nodes share the
 * host's cores, and by the host's speed now (the time scale's host part, or
 * M3LAB_TIME_SCALE in its place).
 */
export function bootTimeoutMs(accel: Accel, cpus: number, nodes: number, kernel = 'default'): number {
  const env = Number(process.env.M3LAB_BOOT_TIMEOUT);
  if (env > 0) return env * 1000;
  const base = accel === 'kvm' ? 20 : 60;
  // KASAN and lockdep make a debug kernel's boot ~6x slower under TCG (~30 s alone, ~50 s three at once).
  const variant = kernel === 'debug' ? 3 : 1;
  return Math.round(base * variant * (1 + 0.25 * (cpus - 1)) * Math.max(1, nodes / 2) * hostFactor() * 1000);
}

/** Labs start from snapshots unless asked for a real boot (--cold, M3LAB_COLD=1). */
export function useSnapshots(opts: { cold?: boolean }): boolean {
  return opts.cold === undefined ? process.env.M3LAB_COLD !== '1' : !opts.cold;
}


/** The lab's time scale (harness/verdict/time-scale.ts), from its kernels, vCPUs and the host now. */
export function labTimeScale(state: LabState): TimeScale {
  const vcpus = state.nodes.reduce((a, n) => a + n.spec.cpus, 0);
  return computeTimeScale({
    kernels: state.nodes.map((n) => n.kernel?.variant ?? 'default'),
    vcpus,
    hostCores: os.availableParallelism?.() ?? os.cpus().length,
    hostSlowdown: hostSlowdown(),
  });
}

/** Keeps the newest `keep` folders of root (by modification time), removes the rest. */
function pruneDirs(root: string, keep: number): void {
  if (!existsSync(root)) return;
  const dirs = readdirSync(root)
    .map((d) => ({ d, t: statSync(path.join(root, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { d } of dirs.slice(keep)) rmSync(path.join(root, d), { recursive: true, force: true });
}

function writeState(state: LabState): void {
  const file = path.join(state.dir, 'lab.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  // rename is atomic: a reader never sees half a state file.
  renameSync(`${file}.tmp`, file);
}

export function readState(dir: string): LabState | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'lab.json'), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export const currentLabDir = () => path.join(stateRoot(), 'current');

function statePids(s: LabState): number[] {
  const pids = [...s.nodes.map((n) => n.pid), ...(s.boards ?? []).map((b) => b.consolePid), s.uplinkPid, s.vdePid];
  return pids.filter((p): p is number => p !== undefined);
}

/**
 * Finds labs left behind by runs that crashed or were killed and cleans them: a
 * run's lab whose owner process is gone, or an `up` lab whose machines all died.
 * Only processes whose command line names that lab's folder are signalled.
 */
export function sweepStale(root = stateRoot(), log: (l: string) => void = () => {}): number {
  if (!existsSync(root)) return 0;
  let cleaned = 0;
  for (const name of readdirSync(root)) {
    const dir = path.join(root, name);
    // Not labs: kept consoles, bundles, and m3lab bisect's work folders (its worktree lives there).
    if (['failed', 'kept', 'bundles', 'bisect'].includes(name) || !statSync(dir).isDirectory()) continue;
    const s = readState(dir);
    if (!s) {
      // A folder without state older than a minute: a boot that died before writing it.
      if (Date.now() - statSync(dir).mtimeMs > 60000) rmSync(dir, { recursive: true, force: true });
      continue;
    }
    const nodesAlive = s.nodes.some((n) => n.pid !== undefined && isOurs(n.pid, dir));
    const ownerAlive = !s.detached && isAlive(s.ownerPid) && s.ownerPid !== process.pid;
    if (s.detached ? nodesAlive : ownerAlive) continue;
    killNow({ dir, pids: () => statePids(s) });
    log(`m3lab: cleaned stale lab ${s.id} (${dir})`);
    cleaned++;
  }
  return cleaned;
}

export interface BootOptions {
  detached?: boolean;
  /** true: a real boot of every node, no snapshot; false: snapshots; unset: M3LAB_COLD=1 says cold. */
  cold?: boolean;
  log?: (line: string) => void;
}

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
    const image: BuiltImage = await buildImage({ log });
    const kernels = await resolveKernels(spec.nodes.map((n) => n.kernel), log);
    const accel = await chooseAccel(spec.accel, image.kernel, root);
    log(`lab: accelerator ${accel.accel} (${accel.reason})`);
    // TCG guests read the host's TSC: given its rate, they need not calibrate it under load (host-tsc.ts).
    const tscKhz = accel.accel === 'tcg' ? hostTscKhz(root) : undefined;

    const id = `${spec.name}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const dir = opts.detached ? currentLabDir() : path.join(root, `run-${process.pid}-${randomBytes(3).toString('hex')}`);
    if (opts.detached && existsSync(dir)) {
      const prior = readState(dir);
      throw new InfraError(`a lab is already up (${prior?.id ?? dir}); run \`m3lab down\` first`);
    }
    mkdirSync(dir, { recursive: true });
    const state: LabState = {
      version: 1,
      id,
      dir,
      // Owned by this process until detach(): a boot killed half-way is swept as stale.
      detached: false,
      ownerPid: process.pid,
      createdAt: new Date().toISOString(),
      accel,
      image: { hash: image.hash, release: image.release, kernel: image.kernel, initrd: image.initrd },
      spec,
      nodes: [],
    };
    own({ dir, pids: () => statePids(state) });
    const vde = new VdeSwitch(dir);
    const nodes: QemuLabNode[] = [];
    const all: AnyLabNode[] = [];
    const lab = new Lab(state, all, vde);
    try {
      await vde.start();
      state.vdePid = vde.pid;
      if (spec.lan.uplink) {
        state.uplinkPid = await vde.cableTo(spec.lan.uplink);
        log(`lab: LAN cabled to the switch at ${spec.lan.uplink}`);
      }
      for (const [i, n] of spec.nodes.entries()) {
        const index = i + 1;
        const nodeDir = path.join(dir, n.name);
        mkdirSync(nodeDir, { recursive: true });
        const k = kernels.get(n.kernel)!;
        const qspec: QemuNodeSpec = {
          name: n.name,
          index,
          dir: nodeDir,
          kernel: k.kernel,
          initrd: image.initrd,
          cpus: n.cpus,
          maxcpus: n.maxcpus,
          sockets: n.sockets,
          memoryMb: n.memoryMb,
          append: [tscKhz ? `tsc_early_khz=${tscKhz}` : '', k.append, n.append].filter(Boolean).join(' '),
          accel: accel.accel,
          sshPort: await freePort(),
          lanSocket: vde.ctl,
          lanAddress: lanAddress(index),
          lanPrefix: LAN_PREFIX,
          privateKey: image.key.privateKey,
        };
        const { privateKey: _k, ...persisted } = qspec;
        const record: NodeRecord = {
          name: n.name,
          index,
          sshPort: qspec.sshPort,
          lanAddress: qspec.lanAddress,
          dir: nodeDir,
          spec: persisted,
          kernel: { variant: k.variant, release: k.release, buildDir: k.buildDir },
        };
        state.nodes.push(record);
        nodes.push(new LabNode(record, new QemuTarget(qspec)));
      }
      const boards = spec.boards.map((b) => boardNode(b, dir));
      state.boards = boards.map((b) => b.record);
      const syncNodes = () => all.splice(0, all.length, ...nodes, ...boards);
      syncNodes();
      const scale = lab.rescale();
      log(`lab: time scale ${describeTimeScale(scale)}`);
      writeState(state);
      const bundle = (await agentBundle()).code;
      const started = Date.now();
      // Boards come up beside the VMs: their power, console and kernel are their own.
      const boardsUp = Promise.all(boards.map((b) => bringUpBoard(b, Date.now() + Math.max(120_000, bootTimeoutMs(accel.accel, b.record.board.cpus ?? 1, spec.nodes.length + boards.length)), bundle, log)));
      boardsUp.catch(() => undefined);
      const maxCpus = Math.max(...spec.nodes.map((n) => n.cpus));
      const snapshots = useSnapshots(opts);
      const ready = async (n: QemuLabNode, deadline: number) => {
        await n.target.waitBooted(deadline);
        await n.connect(deadline, bundle);
        const helloAt = Date.now();
        await lab.scaleGuest(n);
        const readyAt = Date.now();
        n.record.readySeconds = Math.round((readyAt - started) / 100) / 10;
        // A restored node's kernel log and uptime are its template's: no boot phases.
        const log0 = n.record.restore ? undefined : await n.rpc.call('dmesg', { since: -1 }, 20_000).catch(() => undefined);
        n.record.bootPhases = bootPhases({
          startedAt: n.target.startedAt ?? started,
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
          r.total = Math.round((readyAt - (n.target.startedAt ?? started)) / 10) / 100;
        }
        if (n.hello!.kernelRelease !== n.record.kernel.release) {
          throw new InfraError(`${n.name}: booted kernel ${n.hello!.kernelRelease}, expected ${n.record.kernel.release} (variant ${n.record.kernel.variant})`);
        }
        log(`lab: ${n.name} ready in ${n.record.readySeconds} s (${n.record.kernel.variant} kernel ${n.hello!.kernelRelease}, cpus ${n.hello!.cpusOnline.join(',')})`);
      };
      if (snapshots) {
        // Each node from the snapshot of its shape; a missing one is made by the first node of that shape.
        log(`lab: ${nodes.length} node(s) starting from snapshots`);
        const restoreOpts = (n: QemuLabNode) => {
          const bootMs = bootTimeoutMs(accel.accel, n.record.spec.cpus, nodes.length, n.record.kernel.variant);
          return { imageHash: image.hash, deadline: started + bootMs, bootMs, guard: n.record.kernel.variant === 'debug', log, changed: () => writeState(state) };
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
          const full = bootTimeoutMs(accel.accel, maxCpus, nodes.length, nodes[i]!.record.kernel.variant);
          const first = Math.min(full, scaled(RESTORED_SSH_MS, lab.timeScale));
          try {
            await ready(nodes[i]!, Date.now() + first);
          } catch (e) {
            if (!(e instanceof InfraError) || !/: SSH to .* failed/.test(e.message)) throw e;
            const n = nodes[i]!;
            n.record.bootRetries = (n.record.bootRetries ?? 0) + 1;
            log(`lab: ${n.name}: restored, but SSH did not answer in ${Math.round(first / 1000)} s (${e.message.replace(/^[^:]*: /, '')}); restoring it again`);
            n.disconnect();
            await n.target.power.off(1000);
            await startFromSnapshot(nodes, i, { ...restoreOpts(n), deadline: Date.now() + full });
            writeState(state);
            await ready(nodes[i]!, Date.now() + full);
          }
        }));
      } else if (spec.nodes.some((n) => n.kernel === 'debug')) {
        /*
         * A debug guest that stalls in boot is power-cycled, at most twice, and
         * said so (guarded-boot.ts). Under voluntary preemption this kernel
         * deadlocked in its RCU-tasks self-test on a loaded host; it boots with
         * preempt=full now (images/kernels/variants.yaml) and still stalled
         * there once in a CI run, so the guard stays: a boot-time hang of the
         * kernel itself is named and retried, not waited out.
         */
        const bootDebug = (i: number) => bootGuarded(nodes, i, {
          bootMs: bootTimeoutMs(accel.accel, nodes[i]!.record.spec.cpus, nodes.length, nodes[i]!.record.kernel.variant),
          guard: nodes[i]!.record.kernel.variant === 'debug',
          log,
          changed: () => writeState(state),
        });
        log(`lab: ${nodes.length} node(s) with the debug kernel powered on, waiting for readiness`);
        await Promise.all(nodes.map((_, i) => bootDebug(i)));
        await Promise.all(nodes.map((n) => ready(n, Date.now() + bootTimeoutMs(accel.accel, maxCpus, nodes.length, 'debug'))));
      } else {
        const deadline = started + bootTimeoutMs(accel.accel, maxCpus, spec.nodes.length);
        await Promise.all(nodes.map((n, i) => powerOnWithFreshPort(nodes, i)));
        writeState(state);
        log(`lab: ${nodes.length} node(s) powered on, waiting for readiness`);
        await Promise.all(nodes.map((n) => ready(n, deadline)));
      }
      // A VM started again on a fresh port is a new LabNode: the lab's list follows.
      syncNodes();
      await boardsUp;
      await Promise.all(boards.map((b) => lab.scaleGuest(b)));
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
    pruneDirs(path.join(stateRoot(), 'failed'), 20);
    const out = path.join(stateRoot(), 'failed', this.state.id);
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'error.txt'), `${err.stack ?? err.message}\n`);
    writeFileSync(path.join(out, 'lab.json'), `${JSON.stringify(this.state, null, 2)}\n`);
    writeMachineEvidence(this.nodes, out);
    return out;
  }

  /** Connects to a lab another process booted (the one `m3lab up` left running). */
  static async attach(dir = currentLabDir(), opts: { connect?: boolean; timeoutMs?: number } = {}): Promise<Lab> {
    const state = readState(dir);
    if (!state) throw new InfraError(`no lab is up (no state in ${dir}); run \`m3lab up\` first`);
    const image = await buildImage({ log: () => {} }).catch(() => undefined);
    const key = image?.key.privateKey ?? '';
    const nodes = state.nodes.map((r) => {
      const alive = r.pid !== undefined && isOurs(r.pid, dir);
      const t = new QemuTarget({ ...r.spec, privateKey: key }, alive ? r.pid : undefined);
      const node = new LabNode(r, t);
      if (!alive) node.markGone('QEMU process is not running');
      else node.state = 'running';
      return node;
    });
    const boards = (state.boards ?? []).map((r) => {
      const b = attachBoard(r);
      b.state = 'running';
      return b;
    });
    const lab = new Lab(state, [...nodes, ...boards], new VdeSwitch(dir, state.vdePid));
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

  /** Power-cycles one node with its original command line and waits until it is ready again. */
  async restart(name: string, how: 'power' | 'wait' = 'power'): Promise<AnyLabNode> {
    const any = this.node(name);
    if (isBoard(any)) return this.restartBoard(any, how);
    const old = any;
    old.disconnect();
    await old.target.power.off(2000);
    const record = old.record;
    const at = this.nodes.indexOf(old);
    const started = Date.now();
    const deadline = started + bootTimeoutMs(this.state.accel.accel, record.spec.cpus, 1, record.kernel?.variant);
    let node: QemuLabNode;
    if (record.restore && useSnapshots({})) {
      // A node that started from a snapshot starts from it again: a fresh kernel, as a boot gives.
      const one: QemuLabNode[] = [new LabNode(record, new QemuTarget({ ...old.target.spec, incoming: false }))];
      this.nodes[at] = one[0]!;
      await startFromSnapshot(one, 0, { imageHash: this.state.image.hash, deadline, bootMs: deadline - started, guard: record.kernel?.variant === 'debug', log: () => {}, changed: () => writeState(this.state) });
      node = one[0]!;
      this.nodes[at] = node;
    } else {
      const target = new QemuTarget({ ...old.target.spec, incoming: false, ctlSocket: undefined });
      node = new LabNode(record, target);
      this.nodes[at] = node;
      await target.power.on();
      record.pid = target.pid;
      writeState(this.state);
      await target.waitBooted(deadline);
    }
    await node.connect(deadline, (await agentBundle()).code);
    await this.scaleGuest(node);
    record.readySeconds = Math.round((Date.now() - started) / 100) / 10;
    writeState(this.state);
    return node;
  }

  /**
   * A board back from a power cycle through its own power commands (console
   * captured from the first byte), or, without power commands, from a reboot
   * asked through SSH, or (`wait`) from a reboot already under way; then SSH,
   * agent and kernel as at boot.
   */
  private async restartBoard(old: BoardLabNode, how: 'power' | 'wait'): Promise<BoardLabNode> {
    const started = Date.now();
    const deadline = started + Math.max(120_000, bootTimeoutMs(this.state.accel.accel, old.record.board.cpus ?? 1, 1));
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
    this.nodes[this.nodes.indexOf(old)] = node;
    writeState(this.state);
    await node.target.waitBooted(deadline);
    await node.connect(deadline, (await agentBundle()).code);
    await this.scaleGuest(node);
    await resolveBoardKernel(node, () => {});
    node.record.readySeconds = Math.round((Date.now() - started) / 100) / 10;
    writeState(this.state);
    return node;
  }

  status(): { name: string; kind: 'qemu' | 'board'; state: NodeState; kernel: string; release: string; vcpus: number; maxcpus: number; pid?: number; sshPort: number; lanAddress: string; readySeconds?: number; bootPhases?: BootPhases; reason?: string }[] {
    return this.nodes.map((n) => isBoard(n) ? {
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
      release: n.record.kernel?.release ?? this.state.image.release,
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

  /** Records that a test on this lab failed or broke: its consoles outlive the teardown. */
  markEvidence(): void {
    writeFileSync(path.join(this.dir, 'KEEP-EVIDENCE'), `${new Date().toISOString()}\n`);
  }

  /**
   * Stops every machine and the switch and removes the lab's state. Always safe
   * to call. A lab marked for evidence keeps its consoles, QEMU command lines
   * and state in <state>/kept/<lab-id>/ (pruned by count like the bundles).
   */
  async teardown(): Promise<string | undefined> {
    for (const n of this.nodes) n.disconnect();
    await Promise.all(this.nodes.map((n) => (isBoard(n) ? n.target.console.stop() : n.record.pid ? stopProcess(n.record.pid, this.dir, 2000) : undefined)));
    if (this.state.uplinkPid) await stopProcess(this.state.uplinkPid, this.dir, 1000);
    await this.vde.stop();
    let kept: string | undefined;
    if (existsSync(path.join(this.dir, 'KEEP-EVIDENCE'))) kept = this.keepEvidence();
    rmSync(this.dir, { recursive: true, force: true });
    release(this.dir);
    return kept;
  }

  private keepEvidence(): string {
    const out = path.join(stateRoot(), 'kept', this.state.id);
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'lab.json'), `${JSON.stringify(this.state, null, 2)}\n`);
    writeMachineEvidence(this.nodes, out);
    pruneDirs(path.join(stateRoot(), 'kept'), 20);
    return out;
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
