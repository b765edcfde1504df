import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Repository root: everything the lab reads ships inside it. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Downloaded packages, extracted trees and built images; safe to delete. */
export function cacheDir(): string {
  return path.resolve(process.env.M3LAB_CACHE ?? path.join(repoRoot, '.cache'));
}

/** Running labs (pids, sockets, console logs); one folder per lab. */
export function stateRoot(): string {
  return path.resolve(process.env.M3LAB_STATE ?? path.join(repoRoot, '.m3lab'));
}

export const recipePath = path.join(repoRoot, 'images', 'recipe.yaml');
export const guestInitPath = path.join(repoRoot, 'images', 'init.sh');
export const agentBundlePath = () => path.join(cacheDir(), 'agent', 'm3lab-agent.cjs');
