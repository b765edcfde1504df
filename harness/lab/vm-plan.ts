// What each VM of a lab file will be when QEMU starts it: accelerator, kernel, command line, ports, addresses.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BuiltImage } from '../image/build.ts';
import type { KernelInfo } from '../image/kernel/resolve.ts';
import type { KernelVariant } from '../image/kernel/variants.ts';
import { chooseAccel, type AccelDecision } from '../qemu/accel.ts';
import { hostTscKhz } from '../qemu/host-tsc.ts';
import { hostFactsDir } from '../paths.ts';
import { QemuTarget, type QemuNodeSpec } from '../qemu/qemu-target.ts';
import type { LabSpec } from './lab-file.ts';
import type { QemuLabNode } from './machines.ts';
import { LabNode } from './node.ts';
import { freePort } from './ports.ts';
import type { NodeRecord } from './state.ts';

export const LAN_PREFIX = 24;
/** The inter-node LAN lives on link-local addresses inside the lab's own VDE switch. */
export const lanAddress = (index: number) => `169.254.77.${index}`;

export interface VmPlatform {
  accel: AccelDecision;
  /** The host's TSC rate, told to TCG guests' kernels; absent under KVM. */
  tscKhz?: number;
}

/** The accelerator this host offers the lab file's choice, and under TCG the TSC rate its guests are given. */
export async function chooseVmPlatform(spec: LabSpec, image: BuiltImage, log: (line: string) => void): Promise<VmPlatform> {
  const accel = await chooseAccel(spec.accel, image.kernel, hostFactsDir());
  log(`lab: accelerator ${accel.accel} (${accel.reason})`);
  // TCG guests read the host's TSC: given its rate, they need not calibrate it under load (host-tsc.ts).
  const tscKhz = accel.accel === 'tcg' ? hostTscKhz(hostFactsDir()) : undefined;
  return { accel, tscKhz };
}

export interface VmPlanInputs {
  /** The lab's folder: each VM gets a folder of its own in it. */
  dir: string;
  image: BuiltImage;
  kernels: Map<KernelVariant, KernelInfo>;
  platform: VmPlatform;
  /** The lab switch's control socket, the VMs' LAN. */
  lanSocket: string;
}

/** The lab file's VMs, in its order, as nodes not yet powered on; each record is what lab.json keeps of it. */
export async function planVms(spec: LabSpec, o: VmPlanInputs): Promise<QemuLabNode[]> {
  const nodes: QemuLabNode[] = [];
  for (const [i, n] of spec.nodes.entries()) {
    const index = i + 1;
    const nodeDir = path.join(o.dir, n.name);
    mkdirSync(nodeDir, { recursive: true });
    const k = o.kernels.get(n.kernel)!;
    const qspec: QemuNodeSpec = {
      name: n.name,
      index,
      dir: nodeDir,
      kernel: k.kernel,
      initrd: o.image.initrd,
      cpus: n.cpus,
      maxcpus: n.maxcpus,
      sockets: n.sockets,
      memoryMb: n.memoryMb,
      append: [o.platform.tscKhz ? `tsc_early_khz=${o.platform.tscKhz}` : '', k.append, n.append].filter(Boolean).join(' '),
      accel: o.platform.accel.accel,
      sshPort: await freePort(),
      lanSocket: o.lanSocket,
      lanAddress: lanAddress(index),
      lanPrefix: LAN_PREFIX,
      privateKey: o.image.key.privateKey,
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
    nodes.push(new LabNode(record, new QemuTarget(qspec)));
  }
  return nodes;
}
