import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { agentBundlePath, repoRoot } from './paths.ts';


/** Bundles the agent into one CommonJS file (rebuilt only when a source is newer). */
export async function agentBundle(): Promise<{ path: string; code: Buffer }> {
  const out = agentBundlePath();
  const agentDir = path.join(repoRoot, 'agent');
  const sources = readdirSync(agentDir).filter((f) => f.endsWith('.ts')).map((f) => path.join(agentDir, f));
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
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
