import { InfraError } from '../errors.ts';
import type { KmodGuest } from './guest.ts';
import { buildKmod, type KmodArtifacts } from './build.ts';
import { deployKmod, loadModule, unloadModule, type RemoteKmod } from './deploy.ts';

/**
 * Builds the module for each node's own kernel (nodes of one lab may run
 * different variants) and its programs, copies them to every node, and loads a
 * fresh m3ipc (an older copy left loaded by an earlier run on a reused lab is
 * removed first) with the DVS initialized as node id = node index.
 */
export async function installKmod(nodes: KmodGuest[], nodeIds: number[], log: (l: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<Map<string, RemoteKmod>> {
  const builds = new Map<string, Promise<KmodArtifacts>>();
  for (const n of nodes) {
    const k = n.record.kernel;
    if (!builds.has(k.release)) builds.set(k.release, buildKmod(k, log));
  }
  // One build at a time per release; wait for all before touching any node.
  const artifacts = new Map<string, KmodArtifacts>();
  for (const [release, p] of builds) artifacts.set(release, await p);
  const out = new Map<string, RemoteKmod>();
  const secs = (ms: number) => (ms / 1000).toFixed(1);
  await Promise.all(
    nodes.map(async (n, i) => {
      // Where a suite's setup time goes, in its log: the copy is most of it on a TCG guest.
      const t0 = Date.now();
      const remote = await deployKmod(n, artifacts.get(n.record.kernel.release)!);
      const t1 = Date.now();
      await unloadModule(n); // not loaded is fine: then rmmod simply fails
      await loadModule(n, remote);
      const init = await n.sh(`${remote.m3ctl} dvs-init ${nodeIds[i]}`);
      if (init.code !== 0) throw new InfraError(`${n.name}: m3ctl dvs-init failed: ${init.stderr.trim() || init.stdout.trim()}`);
      log(`kmod: ${n.name}: copied in ${secs(t1 - t0)} s, loaded in ${secs(Date.now() - t1)} s`);
      out.set(n.name, remote);
    }),
  );
  return out;
}
