import { InfraError } from '../errors.ts';
import { buildImage } from '../image/build.ts';
import type { LabNode } from '../lab/node.ts';
import { buildKmod } from './build.ts';
import { deployKmod, loadModule, unloadModule, type RemoteKmod } from './deploy.ts';

/**
 * Builds the module and its programs for the lab's image, copies them to every
 * node, and loads a fresh m3ipc (an older copy left loaded by an earlier run on a
 * reused lab is removed first) with the DVS initialized as node id = node index.
 */
export async function installKmod(nodes: LabNode[], nodeIds: number[], log: (l: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<Map<string, RemoteKmod>> {
  const artifacts = await buildKmod(await buildImage({ log }), log);
  const out = new Map<string, RemoteKmod>();
  await Promise.all(
    nodes.map(async (n, i) => {
      const remote = await deployKmod(n, artifacts);
      await unloadModule(n); // not loaded is fine: then rmmod simply fails
      await loadModule(n, remote);
      const init = await n.sh(`${remote.m3ctl} dvs-init ${nodeIds[i]}`);
      if (init.code !== 0) throw new InfraError(`${n.name}: m3ctl dvs-init failed: ${init.stderr.trim() || init.stdout.trim()}`);
      out.set(n.name, remote);
    }),
  );
  return out;
}
