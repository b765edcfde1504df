import { execa, type ResultPromise } from 'execa';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StepVerdict } from '../../harness/bisect.ts';
import { repoRoot } from '../../harness/paths.ts';
import { hostFactor, scaled } from '../../harness/verdict/time-scale.ts';
import { tempDir } from '../unit/support/temp-dir.ts';

/**
 * `m3lab bisect` for real: a throwaway git repository holding a copy of the
 * module (kmod/) with four commits — the copy, a harmless change, a planted
 * regression (a notification names the wrong sender), another harmless change —
 * bisected with ipc-local's t_ipc test on fresh labs. The first bad commit
 * must be the planted one: that needs the harmless commit judged good and the
 * planted one bad, each from a real run of the test against that commit's
 * module. One run a commit keeps make test short (`--repeat`, default 3).
 */
const TEST = 't_ipc passes on every node$';
const log = (l: string) => process.stderr.write(`${l}\n`);

async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await execa('git', args, { cwd, env: { ...process.env, GIT_AUTHOR_NAME: 'm3lab test', GIT_AUTHOR_EMAIL: 'test@m3lab.invalid', GIT_COMMITTER_NAME: 'm3lab test', GIT_COMMITTER_EMAIL: 'test@m3lab.invalid' } });
  return r.stdout.trim();
}

/** A repository with the module's copy and the four commits; returns their hashes, oldest first. */
async function throwawayRepo(dir: string): Promise<string[]> {
  await git(dir, 'init', '-q', '-b', 'main');
  // The module's sources and everything its tests build from, without build output.
  cpSync(path.join(repoRoot, 'kmod'), path.join(dir, 'kmod'), { recursive: true, filter: (src) => !src.startsWith(path.join(repoRoot, 'kmod', 'build')) && !/\.(o|ko|mod|mod\.c|cmd|o\.d)$/.test(src) && !/(Module\.symvers|modules\.order)$/.test(src) });
  const commits: string[] = [];
  const commit = async (msg: string) => {
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', msg);
    commits.push(await git(dir, 'rev-parse', 'HEAD'));
  };
  await commit('a copy of the module');
  const readme = path.join(dir, 'kmod', 'README.md');
  writeFileSync(readme, `${readFileSync(readme, 'utf8')}\nA harmless change.\n`);
  await commit('docs: a harmless change');
  const ipc = path.join(dir, 'kmod', 'module', 'ipc.c');
  const src = readFileSync(ipc, 'utf8');
  const planted = src.replace('\tm->m_source = src->endpoint;\n\tm->m_type = M3_MTYPE_NOTIFY;', '\tm->m_source = src->endpoint + 1;\n\tm->m_type = M3_MTYPE_NOTIFY;');
  expect(planted).not.toBe(src);
  writeFileSync(ipc, planted);
  await commit('ipc: build notify messages in one place');
  const main = path.join(dir, 'kmod', 'module', 'main.c');
  writeFileSync(main, `${readFileSync(main, 'utf8')}\n/* another harmless change */\n`);
  await commit('main: a comment');
  return commits;
}

describe('bisect: a planted regression in a throwaway copy of the module', () => {
  // Still running when the test ends (a timeout): SIGTERM, on which bisect stops its process groups (each
  // lab tears itself down) and removes its worktree; nothing of it outlives the test.
  let running: ResultPromise<{ reject: false; all: true }> | undefined;
  afterAll(async () => {
    if (running && running.exitCode === null) {
      running.kill('SIGTERM');
      await running.catch(() => undefined);
    }
  }, scaled(120_000, hostFactor()));

  it(
    'names the commit that planted it, with the evidence bundle of its failed run',
    async () => {
      const root = tempDir('m3lab-bisect-');
      const repo = path.join(root, 'repo');
      await execa('mkdir', ['-p', repo]);
      const [c1, c2, c3, c4] = await throwawayRepo(repo);
      const state = path.join(root, 'state');
      const started = Date.now();
      running = execa(process.execPath, [path.join(repoRoot, 'bin', 'm3lab.js'), 'bisect', c1!, c4!, '--repo', repo, '--repeat', '1', '--seed', '20240601', '--', 'ipc-local', '-t', TEST], {
        cwd: repoRoot,
        // Its labs, work folder and bundles under the test's temp dir; ipc-local on one 1-vCPU node (M3LAB_NODES),
        // the smallest fresh lab that runs t_ipc.
        env: { ...process.env, M3LAB_STATE: state, M3LAB_NODES: JSON.stringify([{ cpus: 1 }]) },
        reject: false,
        all: true,
      });
      const r = await running;
      log(`bisect: exit ${r.exitCode} in ${Math.round((Date.now() - started) / 1000)} s\n${(r.all ?? '').split('\n').slice(-25).join('\n')}`);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain(`first bad commit: ${c3} | m3lab test, `);
      expect(r.stdout).toContain('ipc: build notify messages in one place');

      // What each tested commit was judged, from its own runs.
      const work = path.join(state, 'bisect', readdirSync(path.join(state, 'bisect'))[0]!);
      const steps = new Map(readdirSync(path.join(work, 'steps')).map((sha) => [sha, JSON.parse(readFileSync(path.join(work, 'steps', sha, 'verdict.json'), 'utf8')) as StepVerdict]));
      expect(steps.get(c4!)?.verdict).toBe('bad');
      expect(steps.get(c3!)?.verdict).toBe('bad');
      expect(steps.get(c2!)?.verdict).toBe('good');
      expect(steps.has(c1!)).toBe(false);
      expect(steps.get(c2!)!.runs).toEqual([expect.objectContaining({ passed: 1, failed: 0, broken: 0 })]);
      // The failed run at the planted commit: t_ipc's notify line, and an evidence bundle of it.
      const bad = steps.get(c3!)!;
      expect(bad.why).toMatch(/t_ipc passes on every node/);
      const bundle = bad.runs[0]!.bundles[0]!;
      expect(r.stdout).toContain(`evidence: ${bad.why}; ${bundle}`);
      const facts = JSON.parse(readFileSync(path.join(bundle, 'test.json'), 'utf8')) as { test: string; verdict: string; seed: number };
      expect(facts).toMatchObject({ test: 't_ipc passes on every node', verdict: 'failed', seed: 20240601 });
      // t_ipc's notification checks are what broke (its TAP lines, with file and line, in the bundle's error).
      expect(readFileSync(path.join(bundle, 'error.txt'), 'utf8')).toMatch(/not ok \d+ - rcvrqst skips notifications/);
      // The bisection's worktree is gone again; the repository is as it was.
      expect(existsSync(path.join(work, 'tree'))).toBe(false);
      expect(await git(repo, 'worktree', 'list')).not.toContain(work);
      expect(await git(repo, 'rev-parse', 'HEAD')).toBe(c4);
    },
    scaled(15 * 60_000, hostFactor()),
  );
});
