import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { InfraError } from '../../harness/errors.ts';
import type { LabNode } from '../../harness/lab/node.ts';
import { repoRoot } from '../../harness/paths.ts';

/** The test-only canary module, built against a node's own kernel tree. */
const src = path.join(repoRoot, 'tests', 'canary');

export async function buildCanary(release: string, buildDir: string): Promise<string> {
  const dir = path.join(repoRoot, 'kmod', 'build', 'kernels', release, 'canary');
  mkdirSync(dir, { recursive: true });
  for (const f of ['m3canary.c', 'Kbuild']) cpSync(path.join(src, f), path.join(dir, f), { preserveTimestamps: true });
  const res = await execa('make', ['-C', buildDir, `M=${dir}`, 'modules'], { reject: false, all: true });
  if (res.exitCode !== 0) throw new InfraError(`building m3canary.ko for ${release} failed:\n${res.all}`);
  return path.join(dir, 'm3canary.ko');
}


/** Builds the canary for the node's kernel, copies it there and loads it. */
export async function loadCanary(node: LabNode): Promise<void> {
  const ko = await buildCanary(node.record.kernel.release, node.record.kernel.buildDir);
  await node.rpc.call('writeFile', { path: '/tmp/m3canary.ko', data: readFileSync(ko).toString('base64'), encoding: 'base64' });
  const ins = await node.sh('insmod /tmp/m3canary.ko');
  if (ins.code !== 0) throw new InfraError(`insmod m3canary: ${ins.stderr}`);
}
