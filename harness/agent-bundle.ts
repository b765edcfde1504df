import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { agentBundlePath, repoRoot } from './paths.ts';

/**
 * Bundles the agent into one CommonJS file, cached by the hash of its sources:
 * two clones or worktrees of different commits share the cache without one
 * handing the other its agent (a cache judged by file times did).
 */
export async function agentBundle(): Promise<{ path: string; code: Buffer }> {
  const agentDir = path.join(repoRoot, 'agent');
  const sources = readdirSync(agentDir)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const h = createHash('sha256');
  for (const f of sources) h.update(f).update('\0').update(readFileSync(path.join(agentDir, f))).update('\0');
  // The packages bundled into it (zod/mini, for the protocol's schemas) are part of what it is.
  h.update(readFileSync(path.join(repoRoot, 'node_modules', 'zod', 'package.json')));
  const out = agentBundlePath(h.digest('hex').slice(0, 16));
  if (!existsSync(out)) {
    mkdirSync(path.dirname(out), { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    await build({
      entryPoints: [path.join(agentDir, 'agent.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node18',
      outfile: tmp,
      logLevel: 'error',
    });
    renameSync(tmp, out);
  }
  return { path: out, code: readFileSync(out) };
}
