import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, InfraError } from './errors.ts';
import { sleep, waitUntil } from './host/wait.ts';
import { MAX_SHARDS } from './shard.ts';
import { repoRoot } from './paths.ts';

/**
 * Runs the shards of a night (or of a bench matrix) on a Slurm cluster: one
 * job array (`sbatch --array=1-N`), task K running shard K/N into its own
 * results directory, and one merge job that starts when the whole array has
 * ended, however it ended (`--dependency=afterany:ARRAY`), and makes the one
 * report. The clone and the results directory must be at the same path on
 * every node (a shared file system): the jobs `cd` into the clone and write
 * there.
 */

export interface ArrayJob {
  /** Name of the run: the night, or the bench run. */
  name: string;
  /** Where the shards write (BASE/shard-K-of-N) and the job logs go. */
  base: string;
  /** Where the merge writes the merged results and report. */
  out: string;
  shards: number;
  /** At most this many shards at once (`--array=1-N%M`): a small cluster, or one host of 2 cores. */
  maxRunning?: number;
  /** `m3lab` arguments of shard TASK (TASK stands for Slurm's array task id). */
  shardArgs: string[];
  /** Arguments of `m3lab report merge` after the shard directories. */
  mergeArgs: string[];
  sbatchArgs: string[];
  submitOnly: boolean;
  /** Environment every job gets (besides the submitter's, which sbatch exports). */
  env: Record<string, string>;
  log: (l: string) => void;
}

/** Stands for the array task id in shardArgs. */
export const TASK = '@@TASK@@';

/** `--shards N`: 1..64. */
export function parseShardCount(v: string | undefined, dflt = 2, flag = '--shards'): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_SHARDS) throw new ConfigError(flag, `must be an integer 1..${MAX_SHARDS}, got ${JSON.stringify(v)}`);
  return n;
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** A word of the batch script: quoted, with TASK as the shell's array task id. */
const word = (s: string) => sq(s).split(TASK).join(`'"$SLURM_ARRAY_TASK_ID"'`);

export function shardDir(base: string, task: string | number, count: number): string {
  return path.join(base, `shard-${task}-of-${count}`);
}

/** The two batch scripts (kept beside the results, so a run can be resubmitted by hand). */
export function batchScripts(j: Pick<ArrayJob, 'name' | 'base' | 'shards' | 'maxRunning' | 'shardArgs' | 'mergeArgs' | 'env'>, node = process.execPath): { array: string; merge: string } {
  const env = Object.entries(j.env).map(([k, v]) => `export ${k}=${sq(v)}`);
  const head = (name: string, output: string, extra: string[] = []) => ['#!/bin/bash', `#SBATCH --job-name=${name}`, `#SBATCH --output=${output}`, ...extra, 'set -euo pipefail', `cd ${sq(repoRoot)}`, ...env];
  const m3lab = [node, path.join(repoRoot, 'bin', 'm3lab.js')];
  const array = [...head(`m3lab-${j.name}`.slice(0, 60), path.join(j.base, 'slurm-%A_%a.out'), [`#SBATCH --array=1-${j.shards}${j.maxRunning ? `%${j.maxRunning}` : ''}`]), 'echo "m3lab shard $SLURM_ARRAY_TASK_ID/' + j.shards + ' on $(hostname), job $SLURM_JOB_ID"', `exec ${[...m3lab, ...j.shardArgs].map(word).join(' ')}`, ''].join('\n');
  const dirs = Array.from({ length: j.shards }, (_, i) => shardDir(j.base, i + 1, j.shards));
  const merge = [...head(`m3lab-${j.name}-merge`.slice(0, 60), path.join(j.base, 'slurm-merge-%j.out')), `exec ${[...m3lab, 'report', 'merge', ...dirs, '--expect', `${j.shards}`, ...j.mergeArgs].map(word).join(' ')}`, ''].join('\n');
  return { array, merge };
}

async function sbatch(args: string[]): Promise<string> {
  const r = await execa('sbatch', ['--parsable', ...args], { reject: false, all: true });
  if (r.exitCode !== 0) throw new InfraError(`sbatch ${args.join(' ')} failed (exit ${r.exitCode}): ${(r.all ?? '').trim()}`);
  // --parsable: "jobid" or "jobid;cluster".
  return r.stdout.trim().split(';')[0]!;
}

/** A job's state and exit code from the controller (`scontrol show job`), without accounting. */
export async function jobState(id: string): Promise<{ states: string[]; exitCodes: string[] } | undefined> {
  const r = await execa('scontrol', ['show', 'job', '-o', id], { reject: false });
  if (r.exitCode !== 0) return undefined;
  const lines = r.stdout.split('\n').filter((l) => l.includes('JobId='));
  return { states: lines.map((l) => /JobState=(\S+)/.exec(l)?.[1] ?? '?'), exitCodes: lines.map((l) => /\bExitCode=(\S+)/.exec(l)?.[1] ?? '?') };
}

const ENDED = /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE|OUT_OF_MEMORY)/;

/** Submits the array and its merge; unless submitOnly, waits for the merge and returns its exit code. */
export async function submitArray(j: ArrayJob): Promise<number> {
  const which = await execa('sbatch', ['--version'], { reject: false });
  if (which.exitCode !== 0) throw new InfraError('sbatch not found or not working: --slurm needs the Slurm client on this host (Debian: slurm-client) and a cluster it reaches (SLURM_CONF)');
  mkdirSync(j.base, { recursive: true });
  const scripts = batchScripts(j);
  const arrayFile = path.join(j.base, 'shards.sbatch');
  const mergeFile = path.join(j.base, 'merge.sbatch');
  writeFileSync(arrayFile, scripts.array, { mode: 0o755 });
  writeFileSync(mergeFile, scripts.merge, { mode: 0o755 });
  const started = Date.now();
  const arrayId = await sbatch([...j.sbatchArgs, arrayFile]);
  const mergeId = await sbatch([`--dependency=afterany:${arrayId}`, ...j.sbatchArgs, mergeFile]);
  j.log(`slurm: job array ${arrayId} (${j.shards} shard(s): ${arrayFile}), merge job ${mergeId} after it (afterany: ${mergeFile})`);
  j.log(`slurm: shards write ${shardDir(j.base, "K", j.shards)}; the merge writes ${j.out}; logs ${path.join(j.base, "slurm-*.out")}; waiting here only watches them (stop the jobs: scancel ${arrayId} ${mergeId})`);
  writeFileSync(path.join(j.base, 'jobs.json'), `${JSON.stringify({ array: arrayId, merge: mergeId, submitted: new Date(started).toISOString() }, null, 2)}\n`);
  if (j.submitOnly) {
    console.log(`submitted: array ${arrayId}, merge ${mergeId}; follow with squeue -j ${arrayId},${mergeId}; the report will be ${path.join(j.out, 'allure-report')}`);
    return 0;
  }
  // Wait for the merge job: it ends after the array, whatever the shards did. A job queues for as long as the cluster makes it: no bound.
  let last = '';
  let gone = 0;
  await sleep(1000);
  const merge = await waitUntil(
    async () => {
      const [a, m] = await Promise.all([jobState(arrayId), jobState(mergeId)]);
      if (!m) {
        // The controller forgets a job MinJobAge after it ended; a job it never knew is an error at once.
        if (++gone > 5) throw new InfraError(`slurm: merge job ${mergeId} is unknown to the controller (scontrol show job ${mergeId})`);
        return undefined;
      }
      gone = 0;
      const now = `array ${a ? a.states.join(',') : '?'}; merge ${m.states.join(',')}`;
      if (now !== last) j.log(`slurm: ${now} (${Math.round((Date.now() - started) / 1000)} s)`);
      last = now;
      return ENDED.test(m.states[0] ?? '') ? m : undefined;
    },
    { what: `slurm merge job ${mergeId}`, deadline: Infinity, intervalMs: 1000 },
  );
  const logFile = path.join(j.base, `slurm-merge-${mergeId}.out`);
  if (existsSync(logFile)) process.stdout.write(readFileSync(logFile, 'utf8'));
  const code = Number((merge.exitCodes[0] ?? '1:0').split(':')[0]);
  console.log(`slurm: ${j.shards} shard(s) and the merge took ${Math.round((Date.now() - started) / 1000)} s from submission; merge ${merge.states[0]}, exit ${code}`);
  return merge.states[0] === 'COMPLETED' || merge.states[0] === 'FAILED' ? code : 1;
}

/**
 * argv without the options that only the submitter reads: what each shard is
 * given again (with its own --shard, --results and the run's name).
 */
export function shardArgv(argv: string[], drop: { flags: string[]; valued: string[] }): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = a.split('=')[0]!;
    if (drop.flags.includes(a)) continue;
    if (drop.valued.includes(name)) {
      if (!a.includes('=')) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}
