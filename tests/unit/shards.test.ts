import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../harness/errors.ts';
import { benchCellKeys } from '../../harness/nightly/bench.ts';
import { nightPlan, NIGHTLY_SEED } from '../../harness/nightly/plan.ts';
import { nightDirs, storedNights, writeNight, type NightRecord } from '../../harness/nightly/store.ts';
import { newFailures } from '../../harness/nightly/tests.ts';
import { repoRoot } from '../../harness/paths.ts';
import { mergeShards } from '../../harness/report/merge.ts';
import { parseShard, readShardRecord, shardRange, shardSlice, writeShardRecord } from '../../harness/shard.ts';
import { batchScripts, parseShardCount, shardArgv, TASK } from '../../harness/slurm.ts';
import { bisectTarget, cmdBisect } from '../../harness/bisect.ts';
import { tempDir } from './support/temp-dir.ts';

const M3LAB = path.join(repoRoot, 'bin', 'm3lab.js');
const FIXTURE_CONFIG = path.join(repoRoot, 'tests', 'fixtures', 'shards', 'vitest.config.ts');
const FIXTURE_FILES = readdirSync(path.join(repoRoot, 'tests', 'fixtures', 'shards')).filter((f) => f.endsWith('.check.ts')).map((f) => `tests/fixtures/shards/${f}`);

/** `m3lab run --project shards-fixture [--shard K/N] --results DIR`, optionally as another host (a UTS namespace of its own: a real other host name). */
function runShard(dir: string, shard: string | undefined, run: string, host?: string): void {
  const args = [M3LAB, 'run', '--project', 'shards-fixture', ...(shard ? ['--shard', shard] : []), '--results', dir, '--run', run];
  const env = { ...process.env, M3LAB_VITEST_CONFIG: FIXTURE_CONFIG };
  const r = host ? spawnSync('unshare', ['--uts', 'sh', '-c', `hostname ${host} && exec "$@"`, 'sh', process.execPath, ...args], { env, encoding: 'utf8' }) : spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`m3lab run ${shard ?? ''} exited ${r.status}: ${r.stdout}\n${r.stderr}`);
}

interface Res {
  fullName: string;
  status: string;
  labels: { name: string; value: string }[];
}
const results = (dir: string): Res[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('-result.json'))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Res);
const fileOf = (r: Res) => /^[^:]*:([^#]+)#/.exec(r.fullName)![1]!;
const label = (r: Res, n: string) => r.labels.find((l) => l.name === n)?.value;

describe('shards: the cut', () => {
  it('reads K/N and names the flag when it is wrong', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['3', '0/2', '3/2', 'a/b', '1/0', '1/65']) {
      expect(() => parseShard(bad)).toThrow(ConfigError);
      expect(() => parseShard(bad)).toThrow(/^--shard: /);
    }
    expect(() => parseShardCount('0')).toThrow(/^--shards: /);
    expect(parseShardCount(undefined)).toBe(2);
  });

  it('gives every item to exactly one shard, the runs of nearly equal length, the longer first', () => {
    for (let total = 0; total <= 13; total++) {
      for (let count = 1; count <= 5; count++) {
        const ranges = Array.from({ length: count }, (_, i) => shardRange(total, { index: i + 1, count }));
        expect(ranges[0]![0]).toBe(0);
        expect(ranges[count - 1]![1]).toBe(total);
        for (let i = 1; i < count; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1]);
        const sizes = ranges.map(([a, b]) => b - a);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect([...sizes].sort((a, b) => b - a)).toEqual(sizes);
      }
    }
  });

  it('cuts a full night\'s bench cells into disjoint slices that together are every cell', () => {
    const plan = nightPlan({ quick: false, margin: 0.1, seed: NIGHTLY_SEED });
    const cells = benchCellKeys(plan);
    expect(cells).toHaveLength(7);
    for (const count of [1, 2, 3, 7]) {
      const slices = Array.from({ length: count }, (_, i) => shardSlice(cells, (c) => c, { index: i + 1, count }, { fromEnd: true }));
      expect(slices.flat().sort()).toEqual([...cells].sort());
      expect(new Set(slices.flat()).size).toBe(cells.length);
    }
  });

  it('puts a quick night\'s one suite file on shard 1 (vitest) and its one bench cell on shard 2 (from the end)', () => {
    const plan = nightPlan({ quick: true, margin: 0.1, seed: NIGHTLY_SEED });
    const cells = benchCellKeys(plan);
    expect(cells).toEqual(['ipc-local/default, 1 vCPU']);
    expect(shardSlice(['/suites/ipc-local.test.ts'], (f) => f, { index: 1, count: 2 })).toEqual(['/suites/ipc-local.test.ts']);
    expect(shardSlice(cells, (c) => c, { index: 1, count: 2 }, { fromEnd: true })).toEqual([]);
    expect(shardSlice(cells, (c) => c, { index: 2, count: 2 }, { fromEnd: true })).toEqual(cells);
  });

  it('slices files exactly as vitest --shard does (run for real over the fixture files)', () => {
    const root = tempDir('m3lab-shard-cut-');
    for (const count of [3]) {
      for (let index = 1; index <= count; index++) {
        const dir = path.join(root, `${index}-of-${count}`);
        runShard(dir, `${index}/${count}`, `cut-${count}`);
        const ran = [...new Set(results(path.join(dir, 'allure-results')).map(fileOf))].sort();
        // vitest hashes each file's path from the root, with its leading slash.
        const ours = shardSlice(FIXTURE_FILES, (f) => `/${f}`, { index, count }).sort();
        expect(ran).toEqual(ours);
      }
    }
  }, 120_000);
});

describe('report merge', () => {
  it('merges two shards (two hosts) into the unsharded run\'s tests, says which host ran each, and keeps history across two merged runs', async () => {
    const root = tempDir('m3lab-merge-');
    const history = path.join(root, 'history.jsonl');
    runShard(path.join(root, 'whole'), undefined, 'whole');
    const whole = results(path.join(root, 'whole', 'allure-results'));
    expect(whole.length).toBe(FIXTURE_FILES.length * 2);

    const merged: string[] = [];
    for (const night of ['night1', 'night2']) {
      const s1 = path.join(root, night, 'shard-1-of-2');
      const s2 = path.join(root, night, 'shard-2-of-2');
      runShard(s1, '1/2', night);
      runShard(s2, '2/2', night, 'm3lab-shard-b');
      const out = path.join(root, night, 'merged');
      const m = await mergeShards({ dirs: [s1, s2], out, history });
      expect(m.code).toBe(0);
      expect(m.missing).toEqual([]);
      merged.push(out);
      const rs = results(path.join(out, 'allure-results'));
      // Exactly the unsharded run's tests: the same full names, each once.
      expect(rs.map((r) => r.fullName).sort()).toEqual(whole.map((r) => r.fullName).sort());
      expect(m.tests).toBe(whole.length);
      // Each test says which host and shard ran it: shard 2's tests ran in the other UTS namespace.
      const second = new Set(results(path.join(s2, 'allure-results')).map((r) => r.fullName));
      expect(second.size).toBeGreaterThan(0);
      // vitest's own cut, as harness/shard.ts computes it.
      expect([...new Set([...second].map((n) => fileOf({ fullName: n } as Res)))].sort()).toEqual(shardSlice(FIXTURE_FILES, (f) => `/${f}`, { index: 2, count: 2 }).sort());
      for (const r of rs) {
        expect(label(r, 'host')).toBe(second.has(r.fullName) ? 'm3lab-shard-b' : os.hostname());
        expect(label(r, 'shard')).toBe(second.has(r.fullName) ? '2/2' : '1/2');
      }
      const env = readFileSync(path.join(out, 'allure-results', 'environment.properties'), 'utf8');
      expect(env).toContain(`shard1.host=${os.hostname()}`);
      expect(env).toContain('shard2.host=m3lab-shard-b');
      expect(existsSync(path.join(out, 'allure-report', 'index.html'))).toBe(true);
    }
    // One history for both merged runs: two points, and the second report shows each test's first run.
    expect(readFileSync(history, 'utf8').trim().split('\n')).toHaveLength(2);
    const dataDir = path.join(merged[1]!, 'allure-report', 'data', 'test-results');
    const reported = readdirSync(dataDir).map((f) => JSON.parse(readFileSync(path.join(dataDir, f), 'utf8')) as { fullName: string; history: { status: string }[] });
    expect(reported).toHaveLength(whole.length);
    for (const t of reported) expect(t.history.map((h) => h.status)).toEqual(['passed']);
  }, 180_000);

  it('reports a missing shard as broken and fails the merge; refuses shards of different runs or a broken shard.json, naming the field', async () => {
    const root = tempDir('m3lab-merge-bad-');
    const s1 = path.join(root, 'shard-1-of-2');
    runShard(s1, '1/2', 'gap');
    const m = await mergeShards({ dirs: [s1, path.join(root, 'shard-2-of-2')], out: path.join(root, 'out'), history: path.join(root, 'h.jsonl') });
    expect(m.code).toBe(1);
    expect(m.missing).toEqual([2]);
    const broken = results(path.join(root, 'out', 'allure-results')).filter((r) => r.status === 'broken');
    expect(broken.map((r) => r.fullName)).toEqual(['m3lab:merge/gap#shard 2/2']);

    const other = path.join(root, 'other');
    writeShardRecord(other, { run: 'another', shard: { index: 2, count: 2 }, kind: 'run', host: 'h', started: new Date().toISOString(), finished: new Date().toISOString(), code: 0, command: 'x' });
    await expect(mergeShards({ dirs: [s1, other], out: path.join(root, 'out2') })).rejects.toThrow(/shard\.json: run: another/);
    writeFileSync(path.join(other, 'shard.json'), JSON.stringify({ run: 'gap', shard: { index: 3, count: 2 }, kind: 'run', host: 'h', started: '' }));
    expect(() => readShardRecord(other)).toThrow(/shard\.json: shard: must be/);
    await expect(mergeShards({ dirs: [s1], out: path.join(root, 'out') })).rejects.toThrow(/^--out: /);
  }, 120_000);
});

describe('nightly: new failures come with their bisect command', () => {
  const t = (fullName: string, status: string) => ({ fullName, name: fullName.split('#')[1]!.replace(/^d /, ''), file: fullName.split(':')[1]!.split('#')[0]!, project: 'lab', status });
  const night = (name: string, commit: string, tests: ReturnType<typeof t>[]): NightRecord => ({ name, mode: 'quick', started: '', finished: 'x', commit, seed: 7, margin: 0.1, plan: [], environment: {}, figures: [], targets: [], failures: [], tests });
  it('offers git bisect between the newest night that passed the test and tonight, on its project and seed', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    const c = 'c'.repeat(40);
    const tonight = night('n3', `${c} (subject)`, [t('m3lab:suites/ipc-local.test.ts#d t_ipc passes on every node', 'failed'), t('m3lab:suites/ipc-local.test.ts#d old failure', 'failed'), t('m3lab:suites/ipc-local.test.ts#d fine', 'passed')]);
    const earlier = [night('n2', `${b} (s)`, [t('m3lab:suites/ipc-local.test.ts#d t_ipc passes on every node', 'passed'), t('m3lab:suites/ipc-local.test.ts#d old failure', 'failed')]), night('n1', `${a} (s)`, [t('m3lab:suites/ipc-local.test.ts#d old failure', 'passed')])];
    const fresh = newFailures(tonight, earlier);
    expect(fresh.map((f) => f.test.name)).toEqual(['t_ipc passes on every node']);
    expect(fresh[0]!.command).toBe(`npx m3lab bisect ${b} ${c} --project lab --seed 7 -- suites/ipc-local.test.ts -t 't_ipc passes on every node$'`);
    // The command is one bisect itself reads back: commander takes its flags, bisect the words after --,
    // and the first check that needs the history is GOOD's (b is no commit of this clone).
    const words = ['bisect', b, c, '--project', 'lab', '--seed', '7', '--', 'suites/ipc-local.test.ts', '-t', 't_ipc passes on every node$'];
    expect(bisectTarget(words.slice(words.indexOf('--') + 1))).toEqual({ suite: 'suites/ipc-local.test.ts', test: 't_ipc passes on every node$' });
    const r = spawnSync(process.execPath, [M3LAB, ...words], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`GOOD: "${b}" is not a commit`);
  });

  it('bisect names a bad argument', async () => {
    expect(() => bisectTarget([])).toThrow(/^--: /);
    await expect(cmdBisect('a', undefined, ['s'], {})).rejects.toThrow(/^GOOD BAD: /);
    expect(() => bisectTarget(['s', '-t'])).toThrow(/^-t: /);
    expect(() => bisectTarget(['s', 't'])).toThrow(/^SUITE: /);
    expect(bisectTarget(['s', '--testNamePattern=x'])).toEqual({ suite: 's', test: 'x' });
  });
});

describe('nightly store: a merged night under its own name', () => {
  it('is a night of the store (found, ordered by its start, newest first); shards/ is not', () => {
    const root = tempDir('m3lab-named-nights-');
    const rec = (name: string, started: string): NightRecord => ({ name, mode: 'quick', started, finished: started, commit: 'c', seed: 1, margin: 0.1, plan: [], environment: {}, figures: [], targets: [], failures: [] });
    writeNight(path.join(root, '20250101T000000Z-abc'), rec('20250101T000000Z-abc', '2025-01-01T00:00:00.000Z'));
    writeNight(path.join(root, 'ci-42'), rec('ci-42', '2025-01-02T00:00:00.000Z'));
    writeNight(path.join(root, '20250103T000000Z-def'), rec('20250103T000000Z-def', '2025-01-03T00:00:00.000Z'));
    writeShardRecord(path.join(root, 'shards', 'ci-43', 'shard-1-of-2'), { run: 'ci-43', shard: { index: 1, count: 2 }, kind: 'nightly', host: 'h', started: '', command: 'x' });
    expect(nightDirs(root).map((d) => path.basename(d))).toEqual(['20250103T000000Z-def', 'ci-42', '20250101T000000Z-abc']);
    expect(storedNights(root).map((n) => n.name)).toEqual(['20250103T000000Z-def', 'ci-42', '20250101T000000Z-abc']);
  });
});

describe('slurm: the batch scripts', () => {
  it('runs shard $SLURM_ARRAY_TASK_ID of N in its own directory and merges every shard after the array', () => {
    const s = batchScripts({ name: 'n1', base: '/shared/n1', shards: 3, shardArgs: ['nightly', '--quick', '--shard', `${TASK}/3`, '--results', `/shared/n1/shard-${TASK}-of-3`], mergeArgs: ['--out', '/shared/night'], env: { M3LAB_NIGHTLY_DIR: '/shared' } }, '/usr/bin/node');
    expect(s.array).toContain('#SBATCH --array=1-3');
    expect(s.array).toContain(`'--shard' ''"$SLURM_ARRAY_TASK_ID"'/3'`);
    expect(s.array).toContain("export M3LAB_NIGHTLY_DIR='/shared'");
    expect(s.merge).toContain(`'report' 'merge' '/shared/n1/shard-1-of-3' '/shared/n1/shard-2-of-3' '/shared/n1/shard-3-of-3' '--expect' '3' '--out' '/shared/night'`);
    // The shell gives the task id where TASK stood.
    const line = s.array.split('\n').find((l) => l.startsWith('exec '))!.replace(/^exec /, 'printf "%s\\n" ');
    const out = execFileSync('bash', ['-c', line], { env: { ...process.env, SLURM_ARRAY_TASK_ID: '2' }, encoding: 'utf8' }).trim().split('\n');
    expect(out).toContain('2/3');
    expect(out).toContain('/shared/n1/shard-2-of-3');
  });

  it('passes the caller\'s options to each shard, without the submitter\'s own', () => {
    expect(shardArgv(['--quick', '--slurm', '--shards', '3', '--sbatch-arg=--exclusive', '--sbatch-arg', '-p', '--seed', '5', '--results', '/x', '--submit-only'], { flags: ['--slurm', '--submit-only'], valued: ['--shards', '--sbatch-arg', '--results', '--night'] })).toEqual(['--quick', '--seed', '5']);
  });
});
