import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { agentBundlePath, repoRoot } from './paths.ts';

const SOURCES = ['agent/agent.ts', 'agent/protocol.ts'].map((f) => path.join(repoRoot, f));

/** Bundles the agent into one CommonJS file (rebuilt only when a source is newer). */
export async function agentBundle(): Promise<{ path: string; code: Buffer }> {
  const out = agentBundlePath();
  const newest = Math.max(...SOURCES.map((f) => statSync(f).mtimeMs));
  if (!existsSync(out) || statSync(out).mtimeMs < newest) {
    mkdirSync(path.dirname(out), { recursive: true });
    await build({
      entryPoints: [path.join(repoRoot, 'agent/agent.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node18',
      outfile: out,
      logLevel: 'error',
    });
  }
  return { path: out, code: readFileSync(out) };
}
