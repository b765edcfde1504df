import { InfraError } from '../errors.ts';
import { sleep, waitUntil } from '../host/wait.ts';
import type { Lab } from '../lab/lab.ts';
import type { LabNode } from '../lab/node.ts';
import { QemuTarget } from '../qemu/qemu-target.ts';
import { BoardTarget } from '../target/board.ts';
import { processTimeScale, scaled } from '../verdict/time-scale.ts';
import { lanLinkDown } from './faults.ts';
import type { Fault } from './nemesis.ts';

/**
 * The fault kinds a developer can inject by hand (`m3lab fault KIND NODE`),
 * each with its heal. A fault is described by plain data (kind, node, options)
 * so a heal can run in another process than the inject (`m3lab heal`).
 */
export interface FaultSpec {
  kind: FaultKind;
  node: string;
  /** Process name for kill/stop. */
  process?: string;
  /** CPU number for cpu-offline. */
  cpu?: number;
  /** netem: added delay (ms) and loss (%) on the node's outgoing LAN frames. */
  delayMs?: number;
  lossPct?: number;
}

export const FAULT_KINDS = ['kill', 'stop', 'crash', 'power-cycle', 'reboot', 'partition', 'split', 'one-way', 'netem', 'link-down', 'cpu-offline', 'cpu-unplug'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What each kind does and which targets can do it (crash and power-cycle on a board need its power commands). */
export const FAULT_HELP: Record<FaultKind, { what: string; heal: string; qemu: boolean; board: boolean }> = {
  kill: { what: 'SIGKILL every process named --process NAME on the node', heal: 'none (restart them yourself)', qemu: true, board: true },
  stop: { what: 'SIGSTOP every process named --process NAME (a hang, not a death)', heal: 'SIGCONT', qemu: true, board: true },
  crash: { what: 'crash the node\'s kernel (sysrq c): the console keeps the panic', heal: 'power the node back on (a board: its power commands) and wait until it is ready', qemu: true, board: true },
  'power-cycle': { what: 'hard power-off (QEMU killed; a board: its power off command)', heal: 'power on and wait until ready', qemu: true, board: true },
  reboot: { what: 'graceful reboot from inside the node', heal: 'wait until ready again', qemu: true, board: true },
  partition: { what: 'silent partition: a VM\'s LAN port moves to a VLAN of its own on the lab switch; a board drops every LAN frame in and out inside the node (tc); carrier stays up, SSH unaffected', heal: 'port back to VLAN 0 / the qdiscs removed', qemu: true, board: true },
  'one-way': { what: 'one-way partition from inside the node: every frame it sends on its LAN is dropped (tc netem loss 100%), it still hears the others', heal: 'the qdisc removed', qemu: true, board: true },
  netem: { what: 'a bad LAN from inside the node: --delay MS (default 100) and --loss PCT (default 5) on every frame it sends (tc netem)', heal: 'the qdisc removed', qemu: true, board: true },
  split: { what: 'split the lab in two: the nodes named as NODE,NODE,... move together to a VLAN of their own on the lab switch; each group still talks within itself (VMs only)', heal: 'ports back to VLAN 0', qemu: true, board: false },
  'link-down': { what: 'LAN cable out (the guest sees carrier loss), QMP set_link', heal: 'link up', qemu: true, board: false },
  'cpu-offline': { what: 'take CPU --cpu N (default: the highest online but 0) offline through sysfs', heal: 'online it again', qemu: true, board: true },
  // QEMU 7.2 under TCG dies when the heal plugs a vCPU back after an unplug in the same run: SIGSEGV into the
  // same slot (3 of 3 tries, with and without load), "double free or corruption" into a slot never used,
  // and with -accel tcg,thread=single the unplug itself deadlocks (qemu_thread_join). Needs a newer QEMU or KVM.
  'cpu-unplug': { what: 'hot-unplug a vCPU through QMP (offlined in the guest first); a node without a hot-added vCPU gets one first (needs maxcpus > cpus)', heal: 'plug it back (QMP) and online it (QEMU 7.2 under TCG crashes there)', qemu: true, board: false },
};

export function isFaultKind(k: string): k is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(k);
}

export function faultName(s: FaultSpec): string {
  const netem = s.kind === 'netem' ? ` delay ${s.delayMs ?? NETEM_DELAY_MS}ms loss ${s.lossPct ?? NETEM_LOSS_PCT}%` : '';
  return `${s.kind} ${s.node}${s.process ? ` ${s.process}` : ''}${s.cpu !== undefined ? ` cpu${s.cpu}` : ''}${netem}`;
}

export const NETEM_DELAY_MS = 100;
export const NETEM_LOSS_PCT = 5;
/** The lab LAN's interface inside every node (images/init.sh names it). */
const LAN_IF = 'lan0';

/**
 * The node's interface on the lab LAN: the one holding its LAN address (a
 * board names its NICs its own way); our image's name when none is found.
 */
async function lanInterface(node: LabNode): Promise<string> {
  const r = await node.sh('ip -o -4 addr show');
  const line = r.stdout.split('\n').find((l) => l.includes(` ${node.record.lanAddress}/`));
  return line?.trim().split(/\s+/)[1] ?? LAN_IF;
}

/** tc on the node: a netem qdisc on its LAN's egress, or none. */
async function egressQdisc(node: LabNode, netem: string | undefined): Promise<string> {
  const dev = await lanInterface(node);
  // /sbin/tc from iproute2 (the image has it): busybox has a tc applet without netem.
  const cmd = netem === undefined ? `/sbin/tc qdisc del dev ${dev} root` : `/sbin/tc qdisc replace dev ${dev} root netem ${netem}`;
  const r = await node.sh(cmd);
  // Removing a qdisc that is not there is a heal with nothing to do, not an error.
  if (r.code !== 0 && !(netem === undefined && /No such file|Cannot delete qdisc with handle of zero/i.test(r.stderr))) {
    throw new InfraError(`${node.name}: ${cmd}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  return netem === undefined ? `${dev} egress qdisc removed` : `${dev} egress: netem ${netem}`;
}

/** A silent partition from inside the node (what a board gets): every LAN frame in and out dropped, or the drop removed. */
async function inNodePartition(node: LabNode, on: boolean): Promise<string> {
  const dev = await lanInterface(node);
  const out = await egressQdisc(node, on ? 'loss 100%' : undefined);
  const cmd = on
    ? `/sbin/tc qdisc replace dev ${dev} ingress && /sbin/tc filter replace dev ${dev} parent ffff: protocol all prio 1 u32 match u32 0 0 action drop`
    : `/sbin/tc qdisc del dev ${dev} ingress`;
  const r = await node.sh(cmd);
  if (r.code !== 0 && !(!on && /No such file|Invalid argument|Cannot find/i.test(r.stderr))) throw new InfraError(`${node.name}: ${cmd}: ${r.stderr.trim() || `exit ${r.code}`}`);
  return on ? `${out}; ${dev} ingress: every frame dropped` : `${out}; ${dev} ingress qdisc removed`;
}

/** The QEMU behind a node, or a clear refusal naming the fault and the node. */
function vmOf(node: LabNode, kind: FaultKind): QemuTarget {
  if (!(node.target instanceof QemuTarget)) throw new InfraError(`fault ${kind} is not supported on ${node.name} (a ${node.target.kind}); see \`m3lab fault --help\``);
  return node.target;
}

/** Guest CPU number of the vCPU in QEMU slot (socket-id, core-id), from the guest's sysfs topology. */
async function guestCpu(node: LabNode, props: Record<string, number>): Promise<number | undefined> {
  const r = await node.sh('for c in /sys/devices/system/cpu/cpu[0-9]*; do echo "${c##*cpu} $(cat $c/topology/physical_package_id 2>/dev/null) $(cat $c/topology/core_id 2>/dev/null)"; done');
  for (const line of r.stdout.trim().split('\n')) {
    const [cpu, pkg, core] = line.split(' ').map(Number);
    if (pkg === (props['socket-id'] ?? 0) && core === (props['core-id'] ?? 0)) return cpu;
  }
  return undefined;
}

type CpuSlot = { type: string; props: Record<string, number>; 'qom-path'?: string };

/**
 * vCPU hot-unplug under load: a vCPU the harness hot-added (QEMU cannot pull a
 * boot vCPU) is offlined in the guest, then removed through QMP; the heal puts
 * it back and onlines it. A node without one gets one first.
 */
async function unplugVcpu(node: LabNode, spec: FaultSpec): Promise<string> {
  const t = vmOf(node, 'cpu-unplug');
  const q = await t.qmp();
  let slots: CpuSlot[];
  try {
    slots = await q.execute<CpuSlot[]>('query-hotpluggable-cpus');
  } finally {
    q.close();
  }
  const slot = slots.find((x) => x['qom-path']?.startsWith('/machine/peripheral/'));
  const notes: string[] = [];
  let id: string;
  let cpu: number | undefined;
  if (slot) {
    id = slot['qom-path']!.split('/').pop()!;
    // An online CPU shows its topology; an offline hot-added one is the only present CPU beyond the boot ones.
    const beyondBoot = (await node.rpc.call('cpus', {})).present.filter((c) => c >= t.spec.cpus);
    cpu = (await guestCpu(node, slot.props)) ?? (beyondBoot.length === 1 ? beyondBoot[0] : undefined);
    if (cpu === undefined) throw new InfraError(`${node.name}: no guest CPU for vCPU ${id}`);
  } else {
    const before = (await node.rpc.call('cpus', {})).present;
    id = await t.hotplugCpu();
    cpu = await newGuestCpu(node, before, id);
    await node.rpc.call('cpuOnline', { cpu, online: true });
    notes.push(`hot-added vCPU ${id} (CPU ${cpu}) first`);
    await sleep(1000);
  }
  const { online } = await node.rpc.call('cpus', {});
  if (online.includes(cpu)) await node.rpc.call('cpuOnline', { cpu, online: false });
  await t.unplugCpu(id);
  spec.cpu = cpu;
  return [...notes, `vCPU ${id} (CPU ${cpu}) offlined and unplugged`].join('; ');
}

async function replugVcpu(node: LabNode): Promise<string> {
  const t = vmOf(node, 'cpu-unplug');
  const before = (await node.rpc.call('cpus', {})).present;
  const id = await t.hotplugCpu();
  const cpu = await newGuestCpu(node, before, id);
  const r = await node.rpc.call('cpuOnline', { cpu, online: true });
  return `vCPU ${id} plugged back as CPU ${cpu}; online now ${r.online.join(',')}`;
}

/** The guest CPU a vCPU just hot-added became: the one present now that was not before (offline CPUs show no topology). Within 10 s, scaled. */
function newGuestCpu(node: LabNode, before: number[], id: string): Promise<number> {
  return waitUntil(
    async () => {
      const added = (await node.rpc.call('cpus', {})).present.filter((c) => !before.includes(c));
      return added.length === 1 ? added[0]! : undefined;
    },
    { what: `${node.name}'s guest to see hot-added vCPU ${id}`, timeoutMs: scaled(10_000, processTimeScale()), intervalMs: 100, timeoutError: () => new InfraError(`${node.name}: the guest never saw hot-added vCPU ${id}`) },
  );
}

/** The nodes of a split group (`node1,node2`), each a VM. */
function splitGroup(lab: Lab, spec: FaultSpec): LabNode[] {
  const names = spec.node.split(',').filter(Boolean);
  const group = names.map((n) => lab.node(n));
  for (const n of group) vmOf(n, 'split');
  if (group.length === 0 || group.length >= lab.nodes.length) throw new InfraError(`split ${spec.node}: name some but not all of the lab's nodes (${lab.nodes.map((n) => n.name).join(', ')}), comma-separated`);
  return group;
}

const SPLIT_VLAN = 200;

/** A board's fault that needs its power commands to heal (or to inject). */
function needPower(node: LabNode, kind: FaultKind): void {
  if (node.target instanceof BoardTarget && !node.target.hasPower) {
    throw new InfraError(`fault ${kind} is not supported on ${node.name}: the board has no power commands in the lab file (boards[].power), so it could not be brought back`);
  }
}

async function pidsOf(node: LabNode, name: string): Promise<number[]> {
  const r = await node.sh(`pidof ${JSON.stringify(name)}`);
  return r.stdout.trim().split(/\s+/).filter(Boolean).map(Number);
}

async function signalAll(node: LabNode, name: string, sig: 'KILL' | 'STOP' | 'CONT'): Promise<string> {
  const pids = await pidsOf(node, name);
  if (pids.length === 0) return `no process named ${name}`;
  const r = await node.sh(`kill -${sig} ${pids.join(' ')}`);
  if (r.code !== 0) throw new InfraError(`${node.name}: kill -${sig} ${pids.join(' ')}: ${r.stderr.trim()}`);
  return `SIG${sig} to ${pids.join(', ')}`;
}

/** The node's port on the lab switch, found by the QEMU pid vde_switch records for it. */
async function switchPort(lab: Lab, node: LabNode): Promise<number> {
  const out = await lab.vde.command('port/allprint');
  const pid = (node.target as QemuTarget).pid;
  let port: number | undefined;
  for (const line of out.split('\n')) {
    const p = /^Port\s+0*(\d+)/.exec(line.trim());
    if (p) port = Number(p[1]);
    if (port !== undefined && pid !== undefined && new RegExp(`pid\\s*=?\\s*${pid}\\b|PID ${pid}\\b|\\b${pid}\\b.*qemu`, 'i').test(line)) return port;
  }
  throw new InfraError(`${node.name}: no port of the lab switch belongs to QEMU pid ${pid}:\n${out}`);
}

const ISOLATED_VLAN_BASE = 100;

/** Moves the VMs' ports on the lab switch to `vlan` (0: back to the common LAN); returns the ports. */
async function moveToVlan(lab: Lab, nodes: LabNode[], vlan: number): Promise<number[]> {
  const ports = [];
  for (const n of nodes) ports.push(await switchPort(lab, n));
  if (vlan !== 0) await lab.vde.command(`vlan/create ${vlan}`).catch(() => undefined);
  for (const p of ports) await lab.vde.command(`port/setvlan ${p} ${vlan}`);
  return ports;
}

/**
 * Resolves with why the node's machine went away, or fails after `ms`. A VM's
 * QEMU exits; a board is gone for the harness once its SSH stops answering.
 */
async function goneWithin(n: LabNode, ms: number, after: string): Promise<string> {
  if (n.target instanceof BoardTarget) {
    await n.target.waitDown(Date.now() + ms).catch(() => {
      throw new InfraError(`${n.name}: still answering SSH ${ms / 1000} s after ${after}`);
    });
    return `SSH stopped answering after ${after}`;
  }
  return Promise.race([n.target.gone, new Promise<string>((_, rej) => setTimeout(() => rej(new InfraError(`${n.name}: still running ${ms / 1000} s after ${after}`)), ms))]);
}

async function restartNode(lab: Lab, name: string, how: 'power' | 'wait' = 'power'): Promise<string> {
  const n = await lab.restart(name, how);
  return `ready again in ${n.record.readySeconds} s`;
}

/** The Fault for a spec, on this lab: inject and heal. */
export function makeFault(lab: Lab, spec: FaultSpec): Fault {
  const node = () => lab.node(spec.node);
  if (spec.kind === 'split') {
    return {
      name: faultName(spec),
      inject: async () => {
        const ports = await moveToVlan(lab, splitGroup(lab, spec), SPLIT_VLAN);
        return `switch ports ${ports.join(', ')} (${spec.node}) moved to VLAN ${SPLIT_VLAN}; the rest stay in VLAN 0`;
      },
      heal: async () => `switch ports ${(await moveToVlan(lab, splitGroup(lab, spec), 0)).join(', ')} back in VLAN 0`,
    };
  }
  const name = faultName(spec);
  const needProcess = () => {
    if (!spec.process) throw new InfraError(`fault ${spec.kind} needs --process NAME`);
    return spec.process;
  };
  switch (spec.kind) {
    case 'kill':
      return { name, inject: () => signalAll(node(), needProcess(), 'KILL'), heal: async () => 'not restarted' };
    case 'stop':
      return { name, inject: () => signalAll(node(), needProcess(), 'STOP'), heal: () => signalAll(node(), needProcess(), 'CONT') };
    case 'crash':
      return {
        name,
        inject: async () => {
          const n = node();
          needPower(n, 'crash');
          // The agent dies with the kernel: do not wait for its answer.
          void n.sh('echo 1 > /proc/sys/kernel/sysrq; echo c > /proc/sysrq-trigger', 5000).catch(() => undefined);
          return goneWithin(n, 20000, 'sysrq c');
        },
        heal: () => restartNode(lab, spec.node),
      };
    case 'power-cycle':
      return {
        name,
        inject: async () => {
          const n = node();
          needPower(n, 'power-cycle');
          await n.target.power.kill();
          return 'power off';
        },
        heal: () => restartNode(lab, spec.node),
      };
    case 'reboot':
      return {
        name,
        inject: async () => {
          const n = node();
          void n.sh('reboot', 5000).catch(() => undefined);
          return goneWithin(n, 60000, 'reboot');
        },
        // A VM's QEMU exits on reboot (-no-reboot) and is started again; a board comes back by itself.
        heal: () => restartNode(lab, spec.node, 'wait'),
      };
    case 'partition': {
      const vlan = ISOLATED_VLAN_BASE + lab.nodes.findIndex((n) => n.name === spec.node);
      return {
        name,
        inject: async () => {
          const n = node();
          if (n.target instanceof BoardTarget) return inNodePartition(n, true);
          return `switch port ${(await moveToVlan(lab, [n], vlan)).join(', ')} moved to VLAN ${vlan}`;
        },
        heal: async () => {
          const n = node();
          if (n.target instanceof BoardTarget) return inNodePartition(n, false);
          return `switch port ${(await moveToVlan(lab, [n], 0)).join(', ')} back in VLAN 0`;
        },
      };
    }
    case 'one-way':
      return { name, inject: () => egressQdisc(node(), 'loss 100%'), heal: () => egressQdisc(node(), undefined) };
    case 'netem':
      return {
        name,
        inject: () => egressQdisc(node(), `delay ${spec.delayMs ?? NETEM_DELAY_MS}ms loss ${spec.lossPct ?? NETEM_LOSS_PCT}%`),
        heal: () => egressQdisc(node(), undefined),
      };
    case 'link-down': {
      const f = lanLinkDown(node());
      return { name, inject: f.inject, heal: f.heal };
    }
    case 'cpu-unplug':
      return { name, inject: () => unplugVcpu(node(), spec), heal: () => replugVcpu(node()) };
    case 'cpu-offline': {
      let cpu = spec.cpu;
      return {
        name,
        inject: async () => {
          const n = node();
          const { online } = await n.rpc.call('cpus', {});
          cpu ??= Math.max(...online.filter((c) => c !== 0));
          if (!Number.isFinite(cpu) || !online.includes(cpu)) throw new InfraError(`${n.name}: no online CPU to take offline (online: ${online.join(',')}; CPU 0 stays)`);
          spec.cpu = cpu;
          const r = await n.rpc.call('cpuOnline', { cpu, online: false });
          return `online now ${r.online.join(',')}`;
        },
        heal: async () => {
          if (cpu === undefined) return 'nothing offline';
          const r = await node().rpc.call('cpuOnline', { cpu, online: true });
          return `online now ${r.online.join(',')}`;
        },
      };
    }
  }
}
