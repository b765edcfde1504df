import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';

/** Repository root: everything the lab reads ships inside it. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Downloaded packages, extracted trees, built images and kernels; safe to delete.
 * Outside the clone (XDG cache) so a fresh clone on the same machine reuses the
 * expensive builds; M3LAB_CACHE overrides.
 */
export function cacheDir(): string {
  if (process.env.M3LAB_CACHE) return path.resolve(process.env.M3LAB_CACHE);
  const xdg = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(xdg, 'm3lab');
}

/**
 * Facts about this host that hold until it reboots (the KVM probe, the TSC
 * rate): in the cache, not the clone, so every clone on the host uses the same
 * figures (a TSC measured anew in each clone changed the snapshots' keys).
 */
export const hostFactsDir = () => path.join(cacheDir(), 'host');

/** Running labs (pids, sockets, console logs); one folder per lab. */
export function stateRoot(): string {
  return path.resolve(process.env.M3LAB_STATE ?? path.join(repoRoot, '.m3lab'));
}

export const recipePath = path.join(repoRoot, 'images', 'recipe.yaml');
export const guestInitPath = path.join(repoRoot, 'images', 'init.sh');
/** The restored node's reseed-and-clock helper, built into the image. */
export const guestIdentPath = path.join(repoRoot, 'images', 'ident.c');
/** The agent's zygote in a snapshot's template (images/zygote.cjs). */
export const guestZygotePath = path.join(repoRoot, 'images', 'zygote.cjs');
export const agentBundlePath = (hash: string) => path.join(cacheDir(), 'agent', `m3lab-agent-${hash}.cjs`);
