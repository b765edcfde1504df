import type { Lab } from '../lab/lab.ts';
import type { LabNode } from '../lab/node.ts';
import { QemuTarget } from '../qemu/qemu-target.ts';
import { InfraError } from '../errors.ts';
import type { Fault } from './nemesis.ts';

/** SIGKILL a process the node's agent spawned (a proxy, a server); heal starts a replacement if given. */
export function killProcess(node: LabNode, id: number, label: string, restart?: () => Promise<string | void>): Fault {
  return {
    name: `kill -9 ${label} on ${node.name}`,
    inject: async () => {
      const sent = await node.rpc.call('kill', { id, signal: 'SIGKILL' });
      const r = await node.rpc.call('wait', { id, timeoutMs: 5000 });
      if (!r.exited) throw new InfraError(`${label} on ${node.name} survived SIGKILL`);
      return sent.sent ? `pid exited (${r.signal ?? r.code})` : 'was not running';
    },
    heal: async () => (restart ? restart() : 'nothing to restart'),
  };
}

/** Pull the plug on a VM; heal power-cycles it with its original command line. */
export function killNode(lab: Lab, name: string): Fault {
  return {
    name: `kill node ${name}`,
    inject: async () => {
      await lab.node(name).target.power.kill();
      return 'QEMU SIGKILL';
    },
    heal: async () => {
      const n = await lab.restart(name);
      return `ready again in ${n.record.readySeconds} s`;
    },
  };
}

/**
 * The node's LAN cable out (the guest sees carrier loss), through QMP set_link.
 * The management NIC stays up: a partition never cuts the harness off.
 */
export function lanLinkDown(node: LabNode): Fault {
  const set = async (up: boolean) => {
    if (!(node.target instanceof QemuTarget)) throw new InfraError(`fault link-down is not supported on ${node.name} (a ${node.target.kind}): pulling a LAN cable needs QEMU's QMP; use partition, which a board does inside itself`);
    const qmp = await node.target.qmp();
    try {
      await qmp.hmp(`set_link lan ${up ? 'on' : 'off'}`);
    } finally {
      qmp.close();
    }
  };
  return {
    name: `LAN link of ${node.name} down`,
    inject: () => set(false),
    heal: () => set(true),
  };
}
