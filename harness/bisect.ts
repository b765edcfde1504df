import { execa, execaSync } from 'execa';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, InfraError } from './errors.ts';
import { readVerdicts, run, suitePath } from './lab-job.ts';
import { NIGHTLY_SEED } from './nightly/plan.ts';
import { repoRoot, stateRoot } from './paths.ts';
import { readBundleTest } from './report/bundle-file.ts';
import { z } from 'zod';
import { readJsonWith } from './config/schema.ts';

/**
 * `m3lab bisect GOOD BAD -- SUITE [-t TEST]`: which commit between GOOD and BAD
 * made a lab test fail. `git bisect run` in a worktree of the repository at
 * BAD; at each commit it tests, a step (this file, `--step`) builds that
 * commit's module (kmod/, against the cached kernels) and runs the one test
 * with this clone's harness and suites on a fresh lab, N times, with the
 * failing night's seed:
 *
 *   - any run failed: bad (exit 1);
 *   - every run passed: good (0);
 *   - the module does not build, or a run was broken (the host's fault, no
 *     verdict on the module): skip (125), as syzbot's bisection does;
 *   - the test matched nothing: the bisection stops (128).
 *
 * BAD is tested first: a test that does not fail there has nothing to bisect,
 * and its run is the evidence when BAD itself is the first bad commit.
 */

/**
 * bisect.json and each step's verdict.json: written by the bisection for its
 * own steps, checked when read back; their types are these schemas'.
 */
const BisectConfigFile = z.object({
  repo: z.string(),
  tree: z.string(),
  kmod: z.string(),
  suite: z.string(),
  test: z.string().optional(),
  project: z.string(),
  kernels: z.array(z.string()),
  repeat: z.number().int().positive(),
  seed: z.number().int(),
  work: z.string(),
});
type BisectConfig = z.output<typeof BisectConfigFile>;

const StepVerdictFile = z.object({
  sha: z.string(),
  verdict: z.enum(['good', 'bad', 'skip', 'none']),
  why: z.string(),
  runs: z.array(z.object({ run: z.number(), passed: z.number(), failed: z.number(), broken: z.number(), skipped: z.number(), code: z.number(), bundles: z.array(z.string()), results: z.string() })),
  seconds: z.number(),
});
export type StepVerdict = z.output<typeof StepVerdictFile>;

const EXIT = { good: 0, bad: 1, skip: 125, none: 128 } as const;

const git = async (cwd: string, args: string[]) => {
  const r = await execa('git', args, { cwd, reject: false, all: true });
  return { code: r.exitCode ?? 1, out: r.stdout.trim(), all: (r.all ?? '').trim() };
};

/** The flags of `m3lab bisect` (cli.ts declares them). */
export interface BisectFlags {
  repeat?: string;
  seed?: string;
  project?: string;
  repo?: string;
  kmod?: string;
  keep?: boolean;
}

/** The words after `--`, vitest's: one suite and perhaps `-t TEST`. */
export function bisectTarget(words: string[]): { suite: string; test?: string } {
  if (words.length === 0) throw new ConfigError('--', 'the suite comes after --, two commits before it: m3lab bisect GOOD BAD -- SUITE [-t TEST]');
  let test: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const a = words[i]!;
    if (a === '-t' || a === '--testNamePattern') {
      if (words[i + 1] === undefined) throw new ConfigError('-t', 'needs a test name (a pattern, as vitest -t)');
      test = words[++i];
    } else if (a.startsWith('--testNamePattern=')) test = a.slice('--testNamePattern='.length);
    else rest.push(a);
  }
  if (rest.length !== 1) throw new ConfigError('SUITE', `one suite after --, got ${rest.length ? rest.join(' ') : 'none'}`);
  return { suite: rest[0]!, test };
}

/** `m3lab bisect GOOD BAD [flags] -- SUITE [-t TEST]`; target: the words after `--`. */
export async function cmdBisect(goodRef: string | undefined, badRef: string | undefined, target: string[], v: BisectFlags): Promise<number> {
  if (goodRef === undefined || badRef === undefined) throw new ConfigError('GOOD BAD', `two commits before --, got ${goodRef ?? 'none'}`);
  const a = { good: goodRef, bad: badRef, ...bisectTarget(target) };
  const repeat = v.repeat === undefined ? 3 : Number(v.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20) throw new ConfigError('--repeat', `must be an integer 1..20, got ${JSON.stringify(v.repeat)}`);
  const seed = v.seed === undefined ? NIGHTLY_SEED : Number(v.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new ConfigError('--seed', `must be a non-negative integer, got ${JSON.stringify(v.seed)}`);
  const repo = path.resolve(v.repo ?? repoRoot);
  const top = await git(repo, ['rev-parse', '--show-toplevel']);
  if (top.code !== 0) throw new ConfigError('--repo', `${repo} is not a git repository: ${top.all}`);
  const resolve = async (ref: string, what: string) => {
    const r = await git(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
    if (r.code !== 0 || !r.out) throw new ConfigError(what, `${JSON.stringify(ref)} is not a commit of ${repo}`);
    return r.out;
  };
  const good = await resolve(a.good, 'GOOD');
  const bad = await resolve(a.bad, 'BAD');
  if (good === bad) throw new ConfigError('GOOD BAD', 'are the same commit');
  if ((await git(repo, ['merge-base', '--is-ancestor', good, bad])).code !== 0) throw new ConfigError('GOOD', `${a.good} is not an ancestor of ${a.bad}`);
  const kmodRel = v.kmod ?? 'kmod';
  if ((await git(repo, ['cat-file', '-e', `${bad}:${kmodRel}/module`])).code !== 0) throw new ConfigError('--kmod', `${kmodRel}/module is not in ${a.bad} of ${repo}: where is the module's tree?`);
  const suite = suitePath(a.suite);
  if (!existsSync(path.join(repoRoot, suite))) throw new ConfigError('SUITE', `${suite} is not a suite of this clone (${repoRoot})`);
  const project = v.project ?? 'lab';
  const { labProjects } = await import('./nightly/suites.ts');
  const projects = await labProjects();
  const p = projects.find((x) => x.name === project);
  if (!p) throw new ConfigError('--project', `${project} is not a project of vitest.config.ts (have: ${projects.map((x) => x.name).join(', ')})`);

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const work = path.join(stateRoot(), 'bisect', `${stamp}-${bad.slice(0, 10)}`);
  const tree = path.join(work, 'tree');
  mkdirSync(work, { recursive: true });
  const cfg: BisectConfig = { repo: top.out, tree, kmod: path.join(tree, kmodRel), suite, test: a.test, project, kernels: [...new Set([p.kernel, ...(p.nodeKernels ?? [])])], repeat, seed, work };
  writeFileSync(path.join(work, 'bisect.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const started = Date.now();
  const add = await git(repo, ['worktree', 'add', '--detach', tree, bad]);
  if (add.code !== 0) throw new InfraError(`git worktree add ${tree} ${bad}: ${add.all}`);
  const step = path.join(work, 'step.sh');
  writeFileSync(step, `#!/bin/sh\n# One commit of the bisection (m3lab bisect): build its module, run the test, exit good/bad/skip.\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(repoRoot, 'bin', 'm3lab.js'))} bisect --step ${JSON.stringify(work)}\n`, { mode: 0o755 });
  console.log(`bisect: ${a.good} (${good.slice(0, 10)}) good .. ${a.bad} (${bad.slice(0, 10)}) bad in ${cfg.repo}; ${suite}${a.test ? ` -t ${JSON.stringify(a.test)}` : ''}, project ${project}, ${repeat} run(s) a commit, seed ${seed}; work ${work}`);
  // Each child (the step, git bisect run and what they start) in a process group of its own: on SIGINT or
  // SIGTERM the whole group is told (each lab's own handlers tear it down), then the worktree goes.
  let child: { pid?: number } | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    execaSync('git', ['bisect', 'reset'], { cwd: tree, stdio: 'ignore' });
    if (!v.keep) execaSync('git', ['worktree', 'remove', '--force', tree], { cwd: repo, stdio: 'ignore' });
    process.stderr.write(`bisect: ${sig}: stopped; work folder ${work}\n`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // BAD first: it must fail here, or there is nothing to bisect.
    log(`bisect: testing BAD ${bad.slice(0, 10)} first`);
    const firstRun = execa(step, [], { cwd: tree, reject: false, stdio: 'inherit', detached: true });
    child = firstRun;
    const first = await firstRun;
    const atBad = readStep(work, bad);
    if (first.exitCode !== EXIT.bad || atBad?.verdict !== 'bad') {
      console.log(`bisect: BAD ${bad.slice(0, 10)} is ${atBad?.verdict ?? `unknown (step exit ${first.exitCode})`}: ${atBad?.why ?? 'see the log above'} — nothing to bisect`);
      return 1;
    }
    const start = await git(tree, ['bisect', 'start', bad, good]);
    if (start.code !== 0) throw new InfraError(`git bisect start: ${start.all}`);
    // When GOOD is BAD's parent, `bisect start` already names BAD.
    let text = start.all;
    if (!/is the first bad commit/.test(text)) {
      const bisecting = execa('git', ['bisect', 'run', step], { cwd: tree, reject: false, all: true, stdout: ['pipe', 'inherit'], stderr: ['pipe', 'inherit'], detached: true });
      child = bisecting;
      text = (await bisecting).all ?? '';
    }
    const logText = (await git(tree, ['bisect', 'log'])).out;
    writeFileSync(path.join(work, 'bisect.log'), `${logText}\n\n${text}\n`);
    const firstBad = /^([0-9a-f]{40}) is the first bad commit/m.exec(text)?.[1];
    const steps = readdirSync(path.join(work, 'steps')).map((sha) => readStep(work, sha)!).filter(Boolean);
    const lines = ['', '=== m3lab bisect ==='];
    for (const s of steps.sort((x, y) => x.sha.localeCompare(y.sha))) lines.push(`  ${s.sha.slice(0, 10)} ${s.verdict.padEnd(5)} ${s.why} (${s.runs.length} run(s), ${Math.round(s.seconds)} s)`);
    if (!firstBad) {
      const could = /only 'skip'ped commits left to test[\s\S]*/m.exec(text)?.[0];
      lines.push(could ? `no single first bad commit: ${could.split('\n').slice(0, 8).join('\n')}` : `git bisect run did not name a first bad commit (see ${path.join(work, 'bisect.log')})`);
      console.log(lines.join('\n'));
      return 1;
    }
    const show = await git(repo, ['show', '-s', '--format=%H%n%an, %aI%n%s', firstBad]);
    const ev = readStep(work, firstBad);
    lines.push(`first bad commit: ${show.out.split('\n').join(' | ')}`);
    lines.push(`evidence: ${ev ? `${ev.why}; ${ev.runs.flatMap((r) => r.bundles).join(', ') || `results in ${ev.runs[0]?.results ?? '?'}`}` : 'none kept'}`);
    lines.push(`log: ${path.join(work, 'bisect.log')}; took ${Math.round((Date.now() - started) / 1000)} s`);
    console.log(lines.join('\n'));
    writeFileSync(path.join(work, 'result.json'), `${JSON.stringify({ firstBad, subject: show.out.split('\n')[2], evidence: ev, steps }, null, 2)}\n`);
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await git(tree, ['bisect', 'reset']);
    if (!v.keep) await git(repo, ['worktree', 'remove', '--force', tree]);
  }
}

/** Every file of a kmod tree but the module's own sources (module/) and build output, by content. */
function userSourcesHash(kmod: string): string {
  const h = createHash('sha256');
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(kmod, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const r = path.join(rel, e.name);
      if (r === 'build' || r === 'module' || r === 'docs' || r === '.git') continue;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) h.update(`${r}\0`).update(readFileSync(path.join(kmod, r))).update('\0');
    }
  };
  walk('.');
  return h.digest('hex');
}

/**
 * The static programs (tests, tools, proxies, benches) do not change with the
 * module: when a commit's user-space sources are byte for byte the clone's, and
 * the clone's build of them is up to date (`make -q user`), that build is
 * copied in (newer than the commit's checked-out sources, so make keeps it)
 * instead of compiling ~40 static programs again (~45 s on 2 cores). Otherwise
 * make builds them from the commit's sources.
 */
export async function seedUserBuild(treeKmod: string, log: (l: string) => void): Promise<void> {
  const clone = path.join(repoRoot, 'kmod');
  const cloneBuild = path.join(clone, 'build');
  if (existsSync(path.join(treeKmod, 'build', 'm3ctl')) || !existsSync(cloneBuild) || path.resolve(treeKmod) === clone) return;
  if (userSourcesHash(treeKmod) !== userSourcesHash(clone)) return;
  const fresh = await execa('make', ['-q', '-C', clone, 'user'], { reject: false });
  if (fresh.exitCode !== 0) return;
  const to = path.join(treeKmod, 'build');
  cpSync(cloneBuild, to, { recursive: true, preserveTimestamps: true, filter: (src) => !src.startsWith(path.join(cloneBuild, 'kernels')) && !src.endsWith('.make.lock') });
  // The copies' times pressed into the last moments before now, in their own order: newer than the commit's
  // checked-out sources, older among themselves as make left them (and never in the future).
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (f: string) => files.push(f))(path.join(d, e.name));
  };
  walk(to);
  const order = files.map((f) => ({ f, t: statSync(f).mtimeMs })).sort((a, b) => a.t - b.t);
  const now = Date.now();
  order.forEach(({ f }, i) => utimesSync(f, new Date(now), new Date(now - (order.length - i) * 2)));
  log('user-space sources are the clone\'s, whose build is up to date: its programs copied in (the module is built from this commit)');
}

function readStep(work: string, sha: string): StepVerdict | undefined {
  const f = path.join(work, 'steps', sha, 'verdict.json');
  return existsSync(f) ? readJsonWith(f, StepVerdictFile) : undefined;
}

/** One commit (`m3lab bisect --step WORK`): git bisect run's script (see the file's comment); cwd is the worktree at that commit. */
export async function bisectStep(work: string | undefined): Promise<number> {
  if (!work || !existsSync(path.join(work, 'bisect.json'))) throw new ConfigError('--step', `needs the bisection's work folder, got ${JSON.stringify(work)}`);
  const cfg = readJsonWith(path.join(work, 'bisect.json'), BisectConfigFile);
  const sha = (await git(cfg.tree, ['rev-parse', 'HEAD'])).out;
  const dir = path.join(work, 'steps', sha);
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  const log = (l: string) => process.stderr.write(`bisect ${sha.slice(0, 10)}: ${l}\n`);
  const done = (verdict: StepVerdict['verdict'], why: string, runs: StepVerdict['runs'] = []): number => {
    const s: StepVerdict = { sha, verdict, why, runs, seconds: (Date.now() - t0) / 1000 };
    writeFileSync(path.join(dir, 'verdict.json'), `${JSON.stringify(s, null, 2)}\n`);
    appendFileSync(path.join(work, 'steps.jsonl'), `${JSON.stringify(s)}\n`);
    log(`${verdict.toUpperCase()}: ${why}`);
    return EXIT[verdict];
  };
  await seedUserBuild(cfg.kmod, log);
  // This commit's module and programs, built by this harness in a process of their own: kmod/build.ts reads
  // M3LAB_KMOD_DIR when it is first imported, and this process has imported it already.
  process.env.M3LAB_KMOD_DIR = cfg.kmod;
  for (const kernel of cfg.kernels) {
    log(`building ${cfg.kmod} for the ${kernel} kernel`);
    const b = await execa(process.execPath, [path.join(repoRoot, 'bin', 'm3lab.js'), 'kmod', 'build', '--kernel', kernel], { cwd: repoRoot, reject: false, all: true });
    if (b.exitCode !== 0) {
      const text = b.all ?? '';
      writeFileSync(path.join(dir, 'build.log'), `${text}\n`);
      return done('skip', `the module does not build for ${kernel}: ${text.split('\n').find((l) => /error/i.test(l))?.trim() ?? text.split('\n').pop()}`);
    }
  }
  const { NIGHTLY_VITEST_CONFIG } = await import('./nightly/suites.ts');
  const vitest = path.join(repoRoot, 'node_modules', '.bin', 'vitest');
  const runs: StepVerdict['runs'] = [];
  for (let i = 1; i <= cfg.repeat; i++) {
    const out = path.join(dir, `run-${i}`);
    Object.assign(process.env, {
      M3LAB_OWN_LAB: '1',
      M3LAB_SEED: `${cfg.seed}`,
      M3LAB_ALLURE_RESULTS: path.join(out, 'allure-results'),
      M3LAB_NIGHTLY_JUNIT: path.join(out, 'junit.xml'),
      M3LAB_BUNDLES: path.join(out, 'bundles'),
    });
    log(`run ${i}/${cfg.repeat}: vitest --project ${cfg.project} ${cfg.suite}${cfg.test ? ` -t ${cfg.test}` : ''} (fresh lab, seed ${cfg.seed})`);
    const code = await run(vitest, ['run', '--config', NIGHTLY_VITEST_CONFIG, '--project', cfg.project, cfg.suite, ...(cfg.test ? ['-t', cfg.test] : [])]);
    const v = readVerdicts(path.join(out, 'allure-results'));
    const bundles = existsSync(path.join(out, 'bundles')) ? readdirSync(path.join(out, 'bundles')).map((b) => path.join(out, 'bundles', b)) : [];
    runs.push({ run: i, passed: v.passed, failed: v.failed, broken: v.broken, skipped: v.skipped, code, bundles, results: path.join(out, 'allure-results') });
    // The lab's own verdict, in each bundle, decides: a test that made soft assertions and was then found
    // starved is broken by the lab's rules though Allure shows its first (assertion) error as failed.
    const judged = bundles.map((b) => (existsSync(path.join(b, 'test.json')) ? readBundleTest(path.join(b, 'test.json')).verdict : undefined));
    if (v.failed > 0 && judged.length > 0 && judged.every((x) => x === 'broken')) return done('skip', `run ${i} broken by the lab's verdict (the host, not the module): ${v.failures.map((f) => f.message).join('; ')}`, runs);
    if (v.failed > 0) return done('bad', `run ${i}: ${v.failures.filter((f) => f.status === 'failed').map((f) => `${f.name}: ${f.message}`).join('; ')}`, runs);
    if (v.broken > 0) return done('skip', `run ${i} broken (the host, not the module): ${v.failures.map((f) => f.message).join('; ')}`, runs);
    // The suite's other tests are skipped by -t; the one selected must have passed.
    if (v.passed === 0) return done('none', `run ${i}: no test matched${cfg.test ? ` -t ${cfg.test}` : ''} (vitest exit ${code})`, runs);
    if (code !== 0) return done('skip', `run ${i}: vitest exit ${code} with no failed or broken test (vitest itself failed)`, runs);
  }
  return done('good', `${cfg.repeat} run(s) passed`, runs);
}
