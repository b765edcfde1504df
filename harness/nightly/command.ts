import { Status } from 'allure-js-commons';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, InfraError } from '../errors.ts';
import { buildImage } from '../image/build.ts';
import { resolveKernels } from '../image/kernel/resolve.ts';
import { sweepStale } from '../lab/lab.ts';
import { loadLabFile } from '../lab/lab-file.ts';
import { readVerdicts, suitePath } from '../lab-job.ts';
import { qemuVersionOnce, writeAllureEnvironment } from '../report/environment.ts';
import { describeCalibration } from '../bench/calibrate.ts';
import { generateReport, NightResults, nightFailures, writeAllureConfig, writeBenchRun, writeFigures, writeRatios, writeStep, writeTargets, type Failure } from './allure.ts';
import { benchCellKeys, plantedDelay, runBench, type NightBench } from './bench.ts';
import { commitText, gitCommit, hostPairs, watchForeignQemus } from './facts.ts';
import type { Judged, RatioJudged, TargetCheck } from './history.ts';
import { describePlan, nightPlan, parseFuzzSeconds, parseMargin, parseRounds, seedFor, type NightPlan } from './plan.ts';
import { repoRoot } from '../paths.ts';
import { historyFile, keepCount, nightDirs, nightlyRoot, nightName, pointLatest, pruneNights, readNight, storedNights, writeNight, type NightRecord } from './store.ts';
import { newFailures, suiteTests } from './tests.ts';
import { hostName, parseShard, shardSlice, shardText, writeShardRecord, type ShardRecord } from '../shard.ts';
import { labProjects, runSuites, type SuiteOutcome } from './suites.ts';
import { nightVerdicts, ratioSummary, type NightVerdicts } from './verdicts.ts';

const log = (l: string) => process.stderr.write(`${l}\n`);
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

/** Allure's history file keeps this many reports (it trims the file itself). */
const HISTORY_LIMIT = 60;

/**
 * Builds what is missing: the image, the plan's kernel variants and m3ipc.ko
 * for each. A kernel or image that will not build is the lab's failure
 * (broken); a module that will not build is the module's (failed).
 */
async function buildStep(plan: NightPlan, out: NightResults): Promise<{ ok: boolean; releases: Map<string, string> }> {
  const releases = new Map<string, string>();
  let start = Date.now();
  try {
    await buildImage({ log });
    const kernels = await resolveKernels(plan.kernels, log);
    for (const [v, k] of kernels) releases.set(v, k.release);
    start = Date.now();
    const { buildKmod } = await import('../kmod/build.ts');
    try {
      for (const k of kernels.values()) await buildKmod(k, log);
    } catch (e) {
      const err = e as Error;
      writeStep(out, { name: 'm3ipc.ko and the guest programs build', group: 'build', status: Status.FAILED, message: `the module does not build: ${err.message.split('\n')[0]}`, trace: err.stack, start, stop: Date.now(), log: err.message });
      return { ok: false, releases };
    }
  } catch (e) {
    const err = e as Error;
    writeStep(out, { name: 'image and kernel variants build', group: 'build', status: Status.BROKEN, message: err.message.split('\n')[0]!, trace: err.stack, start, stop: Date.now(), log: err.message });
    return { ok: false, releases };
  }
  return { ok: true, releases };
}

/** A vitest project that ended badly without a verdict of its own (crash, import error, no lab) gets one. */
function suiteSteps(outcomes: SuiteOutcome[], out: NightResults): void {
  for (const o of outcomes) {
    if (o.code === 0 || o.newFailures > 0) continue;
    const what = `vitest --project ${o.run.project}${o.run.files.length ? ` ${o.run.files.join(' ')}` : ''}`;
    writeStep(out, { name: what, group: 'suites', status: Status.BROKEN, message: o.error ?? `${what} exited with ${o.code} and left no failed test: vitest itself failed (see the night's log)`, start: o.start, stop: o.stop });
  }
}

/** Every accelerator the night's labs ran with, from the bench and the suites' lab facts. */
function accelerators(bench: NightBench | undefined, resultsDir: string): string[] {
  const seen = new Set<string>([...(bench?.local ?? []).map((c) => c.accel), ...(bench?.remote ? [bench.remote.result.accel] : [])]);
  const env = path.join(resultsDir, 'environment.properties');
  if (existsSync(env)) for (const m of readFileSync(env, 'utf8').matchAll(/\.accel=(\S+)/g)) seen.add(m[1]!);
  return [...seen].sort();
}

/** The flags of `m3lab nightly` (cli.ts declares them and says what each does). */
export interface NightlyFlags {
  quick?: boolean;
  lab?: string;
  margin?: string;
  seed?: string;
  'fuzz-seconds'?: string;
  suite?: string[];
  rounds?: string;
  shard?: string;
  results?: string;
  night?: string;
  slurm?: boolean;
  shards?: string;
  'max-running'?: string;
  'sbatch-arg'?: string[];
  'submit-only'?: boolean;
}

/** `m3lab nightly serve [NIGHT]`: a night's report (default: the latest) on 127.0.0.1. */
export async function serveNight(night: string | undefined, values: { port?: string }): Promise<number> {
  const root = nightlyRoot();
  const dir = night ? path.resolve(root, night) : path.join(root, 'latest');
  const report = path.join(dir, 'allure-report');
  if (!existsSync(path.join(report, 'index.html'))) throw new InfraError(`no report in ${report}; run \`m3lab nightly\` first`);
  const { serveUntilStopped } = await import('../report/serve.ts');
  await serveUntilStopped(realpathSync(report), values.port, (url) => `report of night ${path.basename(realpathSync(dir))}: ${url} (Ctrl-C to stop)`);
  return 0;
}

/** `m3lab nightly`; argv: its words as given, for a shard's record and the Slurm shards' command lines. */
export async function cmdNightly(values: NightlyFlags, argv: string[]): Promise<number> {
  const shard = values.shard !== undefined ? parseShard(values.shard) : undefined;
  if (values.slurm && shard) throw new ConfigError('--shard', 'not with --slurm: --slurm submits every shard itself (--shards N)');
  if (!values.slurm && (values.shards !== undefined || values['max-running'] !== undefined || values['sbatch-arg'] || values['submit-only'])) throw new ConfigError(values.shards !== undefined ? '--shards' : values['max-running'] !== undefined ? '--max-running' : values['sbatch-arg'] ? '--sbatch-arg' : '--submit-only', 'only with --slurm');
  if (!shard && !values.slurm && (values.results !== undefined || values.night !== undefined)) throw new ConfigError(values.results !== undefined ? '--results' : '--night', 'only with --shard K/N or --slurm (an unsharded night is stored under M3LAB_NIGHTLY_DIR)');
  if (values.night !== undefined && !/^[\w.+-]{1,80}$/.test(values.night)) throw new ConfigError('--night', `letters, digits and . _ + - only (1..80), got ${JSON.stringify(values.night)}`);
  let margin: number;
  let seed: number;
  let fuzzSeconds: number;
  let rounds: number | undefined;
  try {
    margin = parseMargin(values.margin);
    seed = seedFor(values.seed);
    fuzzSeconds = parseFuzzSeconds(values['fuzz-seconds']);
    rounds = parseRounds(values.rounds);
  } catch (e) {
    throw new ConfigError('nightly', (e as Error).message);
  }
  const suiteFiles = (values.suite ?? []).map(suitePath);
  if (suiteFiles.length && !values.quick) throw new ConfigError('--suite', 'only with --quick (a full night runs every lab project)');
  for (const f of suiteFiles) if (!existsSync(path.join(repoRoot, f))) throw new ConfigError('--suite', `${f} is not a suite of ${repoRoot}`);
  // Refused now, not after an hour of suites.
  const labSpec = values.lab ? loadLabFile(values.lab) : undefined;
  if (values.slurm) {
    const { submitNight } = await import('./slurm.ts');
    return submitNight({ argv, shards: values.shards, maxRunning: values['max-running'], sbatchArgs: values['sbatch-arg'] ?? [], submitOnly: Boolean(values['submit-only']), results: values.results, night: values.night, log });
  }
  const plan = nightPlan({ quick: Boolean(values.quick), margin, seed, fuzzSeconds, projects: values.quick ? undefined : await labProjects(), suites: suiteFiles, rounds });

  const started = new Date();
  const root = nightlyRoot();
  const commit = await gitCommit();
  const name = values.night ?? nightName(started, `${commit.short}${commit.dirty ? '+dirty' : ''}`);
  // A shard's folder is its own results directory; it is not a night of the store (no history, no latest, no pruning).
  const dir = shard ? path.resolve(values.results ?? path.join(root, 'shards', name, `shard-${shard.index}-of-${shard.count}`)) : path.join(root, name);
  const resultsDir = path.join(dir, 'allure-results');
  if (shard && existsSync(resultsDir) && readdirSync(resultsDir).length) throw new ConfigError('--results', `${dir} already holds results: give each shard a fresh directory`);
  mkdirSync(resultsDir, { recursive: true });
  const shardRecord: ShardRecord | undefined = shard ? { run: name, shard, kind: 'nightly', host: hostName(), started: started.toISOString(), commit: commitText(commit), command: `m3lab nightly ${argv.join(' ')}` } : undefined;
  if (shardRecord) writeShardRecord(dir, shardRecord);
  const cells = shard ? shardSlice(benchCellKeys(plan), (k) => k, shard, { fromEnd: true }) : undefined;

  // Labs, evidence bundles and kept consoles of this night live in its folder,
  // apart from any lab someone has up in the clone (.m3lab/); a night killed
  // earlier may have left labs in its own folder: swept first.
  for (const d of nightDirs(root)) if (d !== dir && existsSync(path.join(d, 'state'))) sweepStale(path.join(d, 'state'), log);
  process.env.M3LAB_STATE = path.join(dir, 'state');
  process.env.M3LAB_ALLURE_RESULTS = resultsDir;
  process.env.M3LAB_SEED = `${seed}`;
  // The projects set their own kernel and command line; nothing from the caller's shell leaks in.
  delete process.env.M3LAB_KERNEL;
  delete process.env.M3LAB_APPEND;
  delete process.env.M3LAB_OWN_LAB;

  const planLines = [
    `night      ${name}`,
    `folder     ${dir}`,
    `commit     ${commitText(commit)}`,
    ...describePlan(plan),
    ...(shard ? [`shard      ${shardText(shard)} on ${hostName()}: vitest --shard=${shardText(shard)} of each suite run; bench cells ${cells!.length ? cells!.join('; ') : 'none'} (of ${benchCellKeys(plan).length})`] : []),
    ...(values.lab ? [`lab file   ${values.lab} (the default-kernel suites run on it)`] : []),
  ];
  console.log(['=== m3lab nightly ===', ...planLines].join('\n'));
  const record: NightRecord = { name, mode: plan.mode, started: started.toISOString(), commit: commitText(commit), seed, margin, plan: planLines, environment: {}, figures: [], targets: [], failures: [], ...(shard ? { shard: { ...shard, host: hostName() } } : {}) };
  writeNight(dir, record);

  const loadAtStart = loadavg();
  let loadAtBench: string | undefined;
  let foreign: { samples: number; max: number; busy: number } | undefined;
  const out = new NightResults(resultsDir);
  const build = await buildStep(plan, out);
  let suites: SuiteOutcome[] = [];
  let bench: NightBench | undefined;
  let figures: Judged[] = [];
  let ratios: RatioJudged[] = [];
  let targets: TargetCheck[] = [];
  let perf: NightVerdicts | undefined;
  if (build.ok) {
    suites = await runSuites(plan.suites, { nightDir: dir, resultsDir, labFile: values.lab, log, shard });
    suiteSteps(suites, out);
    const suiteVerdicts = readVerdicts(resultsDir);
    record.suites = { passed: suiteVerdicts.passed, failed: suiteVerdicts.failed, broken: suiteVerdicts.broken, skipped: suiteVerdicts.skipped };
    record.tests = suites.flatMap((s) => suiteTests(resultsDir, s.results, s.run.project, s.run.env));

    loadAtBench = loadavg();
    const watch = watchForeignQemus(dir);
    bench = await runBench(plan, dir, labSpec?.accel, log, cells);
    foreign = watch.stop();
    perf = nightVerdicts(bench, storedNights(root, name), plan);
    ({ figures, ratios, targets } = perf);
    writeRatios(out, ratios, bench.when, bench.files);
    writeFigures(out, figures, bench.when);
    writeTargets(out, targets, bench.when, bench.files);
    for (const r of bench.runs) writeBenchRun(out, { ...r, errors: bench.errors.filter((e) => e.bench === r.bench), files: bench.files.get(r.bench) ?? [] });
  }

  // The environment section: what a reader needs to trust or doubt the night.
  const references = [...new Set(figures.flatMap((f) => (f.reference ? [f.reference.night] : [])))];
  const ratioReferences = [...new Set(ratios.flatMap((r) => r.reference?.nights.map((n) => n.night) ?? []))];
  const env: [string, string][] = [
    ['night', name],
    ['mode', plan.mode],
    ['commit', commitText(commit)],
    ['seed', `${seed}`],
    ['margin', `${(margin * 100).toFixed(0)}%`],
    ...(plantedDelay() ? [['PLANTED-SLOWDOWN', `test_sendrec_delay_us=${plantedDelay()} in every ipc-local cell (M3LAB_TEST_SENDREC_DELAY_US, test only)`] as [string, string]] : []),
    ...hostPairs(),
    ...(shard ? [['shard', `${shardText(shard)} on ${hostName()}`] as [string, string]] : []),
    // Other work on the host skews the figures: the load when the night began and when it measured.
    ['host.load', `${loadAtStart} at the start, ${loadAtBench ?? '-'} before the bench (1/5/15 min)`],
    ['host.other-qemu', foreign ? `${foreign.busy ? `up to ${foreign.max} QEMU process(es) not this night's ran during the bench (${foreign.busy} of ${foreign.samples} samples): figures may be skewed` : 'none during the bench'}` : 'bench not run'],
    ['qemu', await qemuVersionOnce()],
    ['accelerator', accelerators(bench, resultsDir).join(', ') || 'none (nothing booted)'],
    ['kernels', plan.kernels.map((k) => `${k} (${build.releases.get(k) ?? 'not built'})`).join(', ')],
    ['reference-nights', references.join(', ') || 'none (first night for these figures)'],
    ['ratio-reference-nights', ratioReferences.join(', ') || 'none (first night for these ratios)'],
    // Calibration (calibrate.ts): the host's and the cell guest's CPU loop and memcpy at each cell's start and end.
    ...Object.entries(perf?.calibration ?? {}).map(([k, c]): [string, string] => [`calibration.${k}`, `${describeCalibration(c)}${perf?.unreliable[k] ? ' — UNRELIABLE' : ''}`]),
    ...(perf?.facts ?? []).map((f, i): [string, string] => [`host.vs-reference${perf!.facts.length > 1 ? `.${i + 1}` : ''}`, f]),
  ];
  writeAllureEnvironment(resultsDir, '', env);
  record.environment = Object.fromEntries(env);

  // A shard writes results only: the merge makes the one report, with the one history.
  const reportCode = shard ? 0 : await generateReport(resultsDir, writeAllureConfig(dir, { name: `m3lab nightly ${name}`, historyPath: historyFile(root), historyLimit: HISTORY_LIMIT }));
  const failures: Failure[] = nightFailures(resultsDir);
  const verdicts = readVerdicts(resultsDir);
  const suitesRan = suites.every((s) => s.code === 0);
  const passed = build.ok && suitesRan && failures.length === 0 && reportCode === 0;

  Object.assign(record, { finished: new Date().toISOString(), passed, figures, ratios, calibration: perf?.calibration, hostFacts: perf?.facts, targets, failures: failures.map(({ category, name: n, message }) => ({ category, name: n, message })) });
  writeNight(dir, record);
  const pruned = shard ? [] : pruneNights(root, keepCount());
  if (!shard) pointLatest(root, dir);
  // Each new failure, with the command that finds the commit that brought it.
  const fresh = shard ? [] : newFailures(record, nightDirs(root).map((d) => readNight(d)).filter((r): r is NightRecord => r !== undefined && r.finished !== undefined && r.name !== name));
  if (shardRecord) writeShardRecord(dir, { ...shardRecord, finished: record.finished, code: passed ? 0 : 1 });

  const byCategory = new Map<string, Failure[]>();
  for (const f of failures) byCategory.set(f.category, [...(byCategory.get(f.category) ?? []), f]);
  const outcome = (o: Judged['outcome']) => figures.filter((f) => f.outcome === o).length;
  console.log(
    [
      '',
      '=== m3lab nightly summary ===',
      ...planLines,
      ...env.filter(([k]) => ['accelerator', 'kernels', 'qemu', 'reference-nights', 'ratio-reference-nights', 'host.load', 'host.other-qemu', 'PLANTED-SLOWDOWN'].includes(k) || k.startsWith('calibration.')).map(([k, v]) => `${k.padEnd(10)} ${v}`),
      `suites     ${suites.map((s) => `${s.run.project}: exit ${s.code} in ${Math.round((s.stop - s.start) / 1000)} s`).join('; ') || 'not run (build failed)'}`,
      `verdicts   ${ratioSummary(ratios)}`,
      ...ratios.filter((r) => r.outcome === 'regression' || r.outcome === 'improved').map((r) => `  ${r.message}`),
      ...Object.entries(perf?.unreliable ?? {}).map(([k, why]) => `  unreliable ${k}: ${why}`),
      `figures    ${figures.length} absolute figures (shown, not verdicts): ${outcome('new')} new, ${outcome('within')} within, ${outcome('better')} better, ${outcome('worse')} worse than their reference; targets ${targets.filter((t) => t.met).length} met, ${targets.filter((t) => !t.met).length} missed${bench?.errors.length ? `; ${bench.errors.length} bench cell(s) failed to run` : ''}`,
      ...(perf?.facts ?? []).map((f) => `host       ${f}`),
      `results    ${verdicts.passed} passed, ${verdicts.failed} failed, ${verdicts.broken} broken, ${verdicts.skipped} skipped`,
      ...[...byCategory].flatMap(([c, fs]) => [`  ${c} (${fs.length}):`, ...fs.map((f) => `    ${f.status.toUpperCase().padEnd(7)} ${f.name}: ${f.message}`)]),
      ...(fresh.length ? ['new failures (passed in an earlier night): find the commit with', ...fresh.flatMap((f) => [`  ${f.test.project} ${f.test.name} (passed in ${f.goodNight}):`, `    ${f.command}`])] : []),
      shard
        ? `results    ${dir} (shard ${shardText(shard)}: merge with npx m3lab report merge ${path.join(path.dirname(dir), `shard-*-of-${shard.count}`)} --out DIR)`
        : `report     ${reportCode === 0 ? `${path.join(dir, 'allure-report')} (open: npx m3lab nightly serve ${name})` : `not generated (allure exited ${reportCode})`}`,
      ...(shard ? [] : [`history    ${historyFile(root)}`]),
      ...(pruned.length ? [`pruned     ${pruned.length} old night(s)`] : []),
      `took       ${Math.round((Date.now() - started.getTime()) / 1000)} s`,
      `night      ${passed ? 'PASSED' : 'FAILED'}`,
    ].join('\n'),
  );
  return passed ? 0 : 1;
}
