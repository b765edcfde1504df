import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isKernelVariant, type KernelVariant } from '../image/kernel/variants.ts';
import { Lab } from '../lab/lab.ts';
import { loadLabFile } from '../lab/lab-file.ts';
import { readVerdicts, run } from '../lab-job.ts';
import { repoRoot } from '../paths.ts';
import { shardText, type Shard } from '../shard.ts';
import type { SuiteRun } from './plan.ts';
import { z } from 'zod';
import { parseJsonWith } from '../config/schema.ts';

/** A project's M3LAB_NODES: the lab's nodes, each maybe with its own kernel. */
const NodesEnv = z.array(z.looseObject({ kernel: z.string().optional() }));

const resultFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('-result.json')) : []);

/** How one vitest project went: its exit code, and whether it left a verdict for what went wrong. */
export interface SuiteOutcome {
  run: SuiteRun;
  code: number;
  start: number;
  stop: number;
  /** Failed or broken results this run added (0 with a non-zero exit: vitest itself failed). */
  newFailures: number;
  /** Why the project did not run at all (the --lab lab did not boot). */
  error?: string;
  /** The Allure result files this run wrote (so each test is known by its project). */
  results: string[];
}

/** The nightly's vitest config: the repository's projects, reporting into the night's folder. */
export const NIGHTLY_VITEST_CONFIG = path.join(repoRoot, 'harness', 'nightly', 'vitest.config.ts');

/**
 * The projects of vitest.config.ts in their group order, each with the kernel
 * variant its env asks for: a project added there runs in the next night.
 */
export async function labProjects(): Promise<{ name: string; kernel: KernelVariant; nodeKernels?: KernelVariant[] }[]> {
  const base = (await import('../../vitest.config.ts')).default as { test?: { projects?: unknown[] } };
  type P = { test?: { name?: string; env?: Record<string, string>; sequence?: { groupOrder?: number } } };
  return ((base.test?.projects ?? []) as P[])
    .filter((p) => typeof p.test?.name === 'string')
    .sort((a, b) => (a.test?.sequence?.groupOrder ?? 0) - (b.test?.sequence?.groupOrder ?? 0))
    .map((p) => {
      const k = p.test?.env?.M3LAB_KERNEL ?? 'default';
      const kernel: KernelVariant = isKernelVariant(k) ? k : 'default';
      // Nodes of one lab may boot other kernels (M3LAB_NODES): the night builds those too.
      const nodes = p.test?.env?.M3LAB_NODES ? parseJsonWith(`vitest project ${p.test.name}: env M3LAB_NODES`, NodesEnv, p.test.env.M3LAB_NODES) : [];
      const nodeKernels = [...new Set(nodes.map((n) => n.kernel).filter((x): x is KernelVariant => x !== undefined && isKernelVariant(x)))];
      return { name: p.test!.name!, kernel, ...(nodeKernels.length ? { nodeKernels } : {}) };
    });
}

/**
 * Boots the lab of `--lab FILE` for the default-kernel project, as `m3lab lab
 * --lab FILE` does: detached, so the suites find it as the running lab (in the
 * night's own state folder) and use it where it fits. Torn down right after
 * that project, so no idle lab runs beside the next project's own labs.
 */
async function withLab<T>(labFile: string | undefined, log: (l: string) => void, fn: () => Promise<T>): Promise<T> {
  if (!labFile) return fn();
  const lab = await Lab.boot(loadLabFile(labFile), { detached: true, log });
  lab.detach();
  const { own, release } = await import('../lab/cleanup.ts');
  own({ dir: lab.dir, pids: () => lab.state.nodes.map((n) => n.pid!).concat(lab.state.vdePid ? [lab.state.vdePid] : []) });
  try {
    return await fn();
  } finally {
    const again = await Lab.attach(lab.dir, { connect: false }).catch(() => undefined);
    await again?.teardown();
    release(lab.dir);
  }
}

/**
 * Runs each vitest project of the plan, one after another, with the night's
 * environment (M3LAB_ALLURE_RESULTS, M3LAB_SEED, M3LAB_STATE set by the caller)
 * and a JUnit file per project.
 */
export async function runSuites(runs: SuiteRun[], o: { nightDir: string; resultsDir: string; labFile?: string; log: (l: string) => void; shard?: Shard }): Promise<SuiteOutcome[]> {
  const vitest = path.join(repoRoot, 'node_modules', '.bin', 'vitest');
  const out: SuiteOutcome[] = [];
  for (const r of runs) {
    const before = readVerdicts(o.resultsDir);
    const filesBefore = new Set(resultFiles(o.resultsDir));
    const start = Date.now();
    process.env.M3LAB_NIGHTLY_JUNIT = path.join(o.nightDir, `junit-${r.project}${r.label ? `-${r.label}` : ''}.xml`);
    const env = Object.entries(r.env ?? {});
    o.log(`nightly: ${env.map(([k, v]) => `${k}=${v} `).join('')}vitest --project ${r.project} ${r.files.join(' ')}`);
    const exec = async () => {
      // This run's own environment, gone again before the next run.
      const saved = env.map(([k]) => [k, process.env[k]] as const);
      for (const [k, v] of env) process.env[k] = v;
      try {
        // A shard runs vitest's own slice of the project's files; a slice may be empty.
        const shard = o.shard ? [`--shard=${shardText(o.shard)}`, '--passWithNoTests'] : [];
        return await run(vitest, ['run', '--config', NIGHTLY_VITEST_CONFIG, '--project', r.project, ...shard, ...r.files]);
      } finally {
        for (const [k, v] of saved) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    };
    let code: number;
    let error: string | undefined;
    try {
      code = r.project === 'lab' ? await withLab(o.labFile, o.log, exec) : await exec();
    } catch (e) {
      // The --lab lab did not boot: the project did not run at all.
      error = (e as Error).message;
      o.log(`nightly: --project ${r.project} did not run: ${error}`);
      code = 1;
    }
    const after = readVerdicts(o.resultsDir);
    out.push({ run: r, code, start, stop: Date.now(), newFailures: after.failed + after.broken - before.failed - before.broken, error, results: resultFiles(o.resultsDir).filter((f) => !filesBefore.has(f)) });
  }
  return out;
}
