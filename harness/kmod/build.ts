import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { InfraError } from '../errors.ts';
import type { BuiltImage } from '../image/build.ts';
import { modinfo } from '../image/kmods.ts';
import { repoRoot } from '../paths.ts';

export const kmodDir = path.join(repoRoot, 'kmod');
export const kmodBuildDir = path.join(kmodDir, 'build');

export interface KmodArtifacts {
  dir: string;
  module: string;
  vermagic: string;
  tools: string[];
  tests: string[];
  bench: string[];
  proxy: string[];
}

function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => !f.includes('.')).map((f) => path.join(dir, f)) : [];
}

/**
 * Builds the module against the image's own kernel headers (so vermagic and
 * Module.symvers match the guests) and the static user-space programs.
 * make decides what is out of date.
 */
export async function buildKmod(image: BuiltImage, log: (l: string) => void = () => {}): Promise<KmodArtifacts> {
  const res = await execa('make', ['-C', kmodDir, `KDIR=${image.headersDir}`, `-j2`, 'all'], { reject: false, all: true });
  if (res.exitCode !== 0) throw new InfraError(`building kmod/ failed:\n${(res.all ?? '').split('\n').slice(-40).join('\n')}`);
  const module = path.join(kmodBuildDir, 'm3ipc.ko');
  const vermagic = modinfo(module).get('vermagic')?.[0] ?? '';
  if (!vermagic.startsWith(`${image.release} `)) throw new InfraError(`m3ipc.ko vermagic "${vermagic}" does not match the image kernel ${image.release}`);
  const a: KmodArtifacts = {
    dir: kmodBuildDir,
    module,
    vermagic,
    tools: [path.join(kmodBuildDir, 'm3ctl')],
    tests: listDir(path.join(kmodBuildDir, 'tests')),
    bench: listDir(path.join(kmodBuildDir, 'bench')),
    proxy: listDir(path.join(kmodBuildDir, 'proxy')),
  };
  log(`kmod: m3ipc.ko (${vermagic}), ${a.tests.length} test programs, ${a.bench.length} bench programs`);
  return a;
}
