import { isOurs } from '../host/procs.ts';
import { buildImage } from '../image/build.ts';
import { QemuTarget } from '../qemu/qemu-target.ts';
import { attachBoard } from './board-node.ts';
import type { AnyLabNode } from './machines.ts';
import { LabNode } from './node.ts';
import type { LabState } from './state.ts';

/**
 * The machines of a lab another process booted, from its state: a VM whose
 * QEMU still runs (and is that lab's) is `running`, one whose QEMU is gone is
 * marked gone; boards are taken as running. None is connected yet.
 */
export async function attachedMachines(state: LabState, dir: string): Promise<AnyLabNode[]> {
  const image = await buildImage({ log: () => {} }).catch(() => undefined);
  const key = image?.key.privateKey ?? '';
  const vms = state.nodes.map((r) => {
    const alive = r.pid !== undefined && isOurs(r.pid, dir);
    const node = new LabNode(r, new QemuTarget({ ...r.spec, privateKey: key }, alive ? r.pid : undefined));
    if (!alive) node.markGone('QEMU process is not running');
    else node.state = 'running';
    return node;
  });
  const boards = (state.boards ?? []).map((r) => {
    const b = attachBoard(r);
    b.state = 'running';
    return b;
  });
  return [...vms, ...boards];
}
