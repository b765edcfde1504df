import { execa, type ResultPromise } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../harness/host/procs.ts';
import { readNight } from '../../harness/nightly/store.ts';
import { repoRoot } from '../../harness/paths.ts';
import { shardSlice } from '../../harness/shard.ts';
import { hostFactor, scaled } from '../../harness/verdict/time-scale.ts';
import { tempDir } from '../unit/support/temp-dir.ts';
import { clusterSteps, startSlurmCluster, type SlurmCluster } from './support/slurm-cluster.ts';

/**
 * `m3lab nightly --slurm` for real: a one-host Slurm cluster from Debian's
 * packages (tests/lab/support/slurm-cluster.ts), a 2-shard quick night
 * submitted through it as a job array with its merge job after the array
 * (afterany), and the merged night checked: every test once, each shard's
 * slice what the cut says, the host of each test named. A small night (two
 * short suites, one bench round) so make test stays short; the same path runs
 * the real --quick and full nights (docs/shards.md).
 */
const SUITES = ['suites/snapshot.test.ts', 'suites/affinity.test.ts'];
const NIGHT = 'slurm-test';
/**
 * One shard at a time on this one host of 2 cores: two labs at once would only
 * share the same cores (and a host of several labs at once skews what a night
 * measures). A real cluster runs them at once on their own nodes.
 */
const MAX_RUNNING = 1;
const log = (l: string) => process.stderr.write(`${l}\n`);

interface Res {
  fullName: string;
  status: string;
  labels: { name: string; value: string }[];
}
const results = (dir: string): Res[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('-result.json'))
        .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Res)
    : [];

describe('Slurm: a 2-shard quick night on a one-host cluster', () => {
  let cluster: SlurmCluster | undefined;
  const scale = hostFactor();

  beforeAll(async () => {
    cluster = await startSlurmCluster({ log });
  }, scaled(60_000, scale));

  let submitter: ResultPromise<{ reject: false; all: true }> | undefined;
  afterAll(async () => {
    // A submitter still waiting (a timeout) stops watching; cancelling the jobs below ends the shards.
    if (submitter && submitter.exitCode === null) submitter.kill('SIGTERM');
    await submitter?.catch(() => undefined);
    const c = cluster;
    if (!c) return;
    await c.stop();
    // Every daemon this test started is gone, and no job step of its cluster is left.
    expect(c.daemons.filter((d) => isAlive(d.pid)).map((d) => d.name)).toEqual([]);
    expect(clusterSteps(c.conf)).toEqual([]);
  }, scaled(120_000, scale));

  it(
    'submits the shards as a job array, merges them when the array ends, and the merged night has every test once with its host',
    async () => {
      const c = cluster!;
      const store = tempDir('m3lab-slurm-nights-');
      const started = Date.now();
      submitter = execa(process.execPath, [path.join(repoRoot, 'bin', 'm3lab.js'), 'nightly', '--quick', ...SUITES.flatMap((s) => ['--suite', s]), '--rounds', '1', '--slurm', '--shards', '2', '--max-running', `${MAX_RUNNING}`, '--night', NIGHT], {
        cwd: repoRoot,
        env: { ...process.env, ...c.env, M3LAB_NIGHTLY_DIR: store },
        reject: false,
        all: true,
      });
      const r = await submitter;
      const seconds = (Date.now() - started) / 1000;
      log(`slurm night: exit ${r.exitCode} in ${seconds.toFixed(0)} s\n${(r.all ?? '').split('\n').slice(-40).join('\n')}`);

      // The jobs: one array of two tasks, one merge after it, each with its log.
      const base = path.join(store, 'shards', NIGHT);
      const jobs = JSON.parse(readFileSync(path.join(base, 'jobs.json'), 'utf8')) as { array: string; merge: string };
      expect(readFileSync(path.join(base, 'shards.sbatch'), 'utf8')).toContain(`#SBATCH --array=1-2%${MAX_RUNNING}`);
      for (const t of [1, 2]) expect(readFileSync(path.join(base, `slurm-${jobs.array}_${t}.out`), 'utf8')).toContain(`m3lab shard ${t}/2 on ${os.hostname()}`);
      expect(existsSync(path.join(base, `slurm-merge-${jobs.merge}.out`))).toBe(true);

      // The merged night: in the store like any night, both shards, each on this host.
      const night = readNight(path.join(store, NIGHT));
      expect(night?.finished).toBeDefined();
      expect(night!.shards?.map((s) => [s.index, s.count, s.host])).toEqual([
        [1, 2, os.hostname()],
        [2, 2, os.hostname()],
      ]);
      // The command's exit is the merged night's verdict (a quick night under TCG misses bench targets: then 1).
      expect(r.exitCode).toBe(night!.passed ? 0 : 1);

      // Each shard ran its slice: vitest's cut of the suite files, the bench cell from the last shard.
      const shardDirs = [1, 2].map((k) => path.join(base, `shard-${k}-of-2`));
      const perShard = shardDirs.map((d) => results(path.join(d, 'allure-results')));
      const filesOf = (rs: Res[]) => [...new Set(rs.map((x) => /^m3lab:(suites\/[^#]+)#/.exec(x.fullName)?.[1]).filter(Boolean))].sort();
      for (const k of [1, 2]) expect(filesOf(perShard[k - 1]!)).toEqual(shardSlice(SUITES, (f) => `/${f}`, { index: k, count: 2 }).sort());
      const benchOf = (rs: Res[]) => rs.filter((x) => x.fullName.startsWith('m3lab:nightly/bench/')).length;
      expect(benchOf(perShard[0]!)).toBe(0);
      expect(benchOf(perShard[1]!)).toBeGreaterThan(0);

      // Every test once: the suites' tests (as vitest lists them, unsharded) and the bench's
      // results (each judged figure, ratio and target, and the bench run), no more, no fewer.
      const merged = results(path.join(store, NIGHT, 'allure-results'));
      const names = merged.map((x) => x.fullName);
      expect(new Set(names).size).toBe(names.length);
      expect(merged.length).toBe(perShard[0]!.length + perShard[1]!.length);
      const listed = await execa(path.join(repoRoot, 'node_modules', '.bin', 'vitest'), ['list', '--project', 'lab', ...SUITES, '--json'], { cwd: repoRoot, reject: false });
      const suiteTests = (JSON.parse(listed.stdout) as { name: string }[]).length;
      expect(suiteTests).toBeGreaterThan(0);
      const bench = night!.figures.length + (night!.ratios?.length ?? 0) + night!.targets.length + 1;
      expect(merged.filter((x) => x.fullName.startsWith('m3lab:suites/')).length).toBe(suiteTests);
      expect(merged.filter((x) => x.fullName.startsWith('m3lab:nightly/bench/')).length).toBe(bench);
      expect(merged.length).toBe(suiteTests + bench + merged.filter((x) => x.fullName.startsWith('m3lab:nightly/build')).length);
      // Which host ran each test, and in which shard.
      for (const x of merged) {
        expect(x.labels.find((l) => l.name === 'host')?.value).toBe(os.hostname());
        expect(['1/2', '2/2']).toContain(x.labels.find((l) => l.name === 'shard')?.value);
      }
      // No suite test failed (a module bug would show here as in any night); the report exists with the store's history.
      expect(merged.filter((x) => x.fullName.startsWith('m3lab:suites/') && x.status !== 'passed').map((x) => `${x.fullName}: ${x.status}`)).toEqual([]);
      expect(existsSync(path.join(store, NIGHT, 'allure-report', 'index.html'))).toBe(true);
      expect(readFileSync(path.join(store, 'history.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    },
    scaled(15 * 60_000, scale),
  );
});
