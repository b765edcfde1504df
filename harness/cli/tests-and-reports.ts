// Tests and their reports: `m3lab run` (whole, or a shard of it), `replay`, `report` and `report merge`.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, InfraError } from '../errors.ts';
import { run, suitePath } from '../lab-job.ts';
import { repoRoot } from '../paths.ts';
import { coldIf, oneKernel } from './lab-commands.ts';

const log = (l: string) => process.stderr.write(`${l}\n`);

export interface RunFlags {
  kernel?: string;
  append?: string;
  cold?: boolean;
  shard?: string;
  results?: string;
  run?: string;
  project?: string;
}

/** `m3lab run [SUITE...]`; argv: its words as given, for a shard's record. */
export async function cmdRun(values: RunFlags, positionals: string[], argv: string[]): Promise<number> {
  coldIf(values.cold);
  // Suites read the kernel and command line of the labs they boot from the environment.
  if (values.kernel !== undefined) process.env.M3LAB_KERNEL = oneKernel(values.kernel);
  if (values.append !== undefined) process.env.M3LAB_APPEND = values.append;
  const suites = positionals.map(suitePath);
  const vitest = path.join(repoRoot, 'node_modules', '.bin', 'vitest');
  const project = values.project ?? 'lab';
  if (!/^[\w.:-]+$/.test(project)) throw new ConfigError('--project', `not a project name: ${JSON.stringify(project)}`);
  if (values.shard === undefined && values.results === undefined) {
    if (values.run !== undefined) throw new ConfigError('--run', 'only with --shard K/N or --results DIR');
    // This run's results only, and its report made the way make lab and the nightly make theirs (categories, history).
    const results = path.join(repoRoot, 'allure-results');
    rmSync(results, { recursive: true, force: true });
    const testCode = await run(vitest, ['run', '--project', project, ...suites]);
    if (!existsSync(results)) return testCode;
    const { generateLocalReport, localHistory, localReportDir } = await import('../report/local-report.ts');
    const reportCode = await generateLocalReport(results, `m3lab run ${project}`);
    log(reportCode === 0 ? `report: ${path.join(localReportDir(), 'index.html')}; history ${localHistory()}` : 'report: not generated (allure failed)');
    return testCode !== 0 ? testCode : reportCode;
  }
  return runShard({ shard: values.shard, results: values.results, run: values.run, project, suites, argv });
}

/**
 * `m3lab run --shard K/N [--results DIR]`: vitest's own slice K of the suites,
 * into a self-contained results directory (Allure results with the host's
 * Environment, JUnit, evidence bundles, shard.json) for `m3lab report merge`.
 */
async function runShard(o: { shard?: string; results?: string; run?: string; project: string; suites: string[]; argv: string[] }): Promise<number> {
  const { hostName, parseShard, shardText, writeShardRecord } = await import('../shard.ts');
  const { gitCommit, commitText, hostPairs } = await import('../nightly/facts.ts');
  const { NIGHTLY_VITEST_CONFIG } = await import('../nightly/suites.ts');
  const { writeAllureEnvironment } = await import('../report/environment.ts');
  const shard = o.shard !== undefined ? parseShard(o.shard) : { index: 1, count: 1 };
  if (o.run !== undefined && !/^[\w.+-]{1,80}$/.test(o.run)) throw new ConfigError('--run', `letters, digits and . _ + - only (1..80), got ${JSON.stringify(o.run)}`);
  const dir = path.resolve(o.results ?? path.join(repoRoot, 'reports', `shard-${shard.index}-of-${shard.count}`));
  const results = path.join(dir, 'allure-results');
  if (existsSync(results) && readdirSync(results).length) throw new ConfigError('--results', `${dir} already holds results: give each shard a fresh directory`);
  const commit = await gitCommit();
  const record = { run: o.run ?? `run-${commit.short}`, shard, kind: 'run' as const, host: hostName(), started: new Date().toISOString(), commit: commitText(commit), command: `m3lab run ${o.argv.join(' ')}` };
  writeShardRecord(dir, record);
  writeAllureEnvironment(results, '', [...hostPairs(), ['shard', `${shardText(shard)} on ${hostName()}`], ['commit', commitText(commit)], ...(process.env.M3LAB_SEED ? [['seed', process.env.M3LAB_SEED] as [string, string]] : [])]);
  process.env.M3LAB_ALLURE_RESULTS = results;
  process.env.M3LAB_NIGHTLY_JUNIT = path.join(dir, 'junit.xml');
  process.env.M3LAB_BUNDLES = path.join(dir, 'bundles');
  // M3LAB_VITEST_CONFIG: another config reporting the same way (the unit test's fixture).
  const config = process.env.M3LAB_VITEST_CONFIG ? path.resolve(process.env.M3LAB_VITEST_CONFIG) : NIGHTLY_VITEST_CONFIG;
  const code = await run(path.join(repoRoot, 'node_modules', '.bin', 'vitest'), ['run', '--config', config, '--project', o.project, `--shard=${shardText(shard)}`, '--passWithNoTests', ...o.suites]);
  writeShardRecord(dir, { ...record, finished: new Date().toISOString(), code });
  console.log(`shard ${shardText(shard)} on ${record.host}: exit ${code}; results ${dir} (merge: npx m3lab report merge DIR... --out DIR)`);
  return code;
}

/** Runs the test of an evidence bundle again as it ran: its seed, kernel and command line. */
export async function cmdReplay(positionals: string[], values: { print?: boolean }): Promise<number> {
  if (positionals.length !== 1) throw new ConfigError('replay', 'usage: m3lab replay BUNDLE_DIR [--print]');
  const { readBundle } = await import('../report/replay.ts');
  const r = readBundle(path.resolve(positionals[0]!));
  console.log(`replay: ${r.line}`);
  if (values.print) return 0;
  Object.assign(process.env, r.env);
  return run(path.join(repoRoot, 'node_modules', '.bin', 'vitest'), r.args);
}

export async function cmdReport(values: { serve?: boolean; port?: string }): Promise<number> {
  const results = path.join(repoRoot, 'allure-results');
  if (!existsSync(results)) throw new InfraError('no allure-results/ yet; run `m3lab run` first');
  const { generateLocalReport, localHistory, localReportDir } = await import('../report/local-report.ts');
  const out = localReportDir();
  const code = await generateLocalReport(results);
  if (code !== 0) return code;
  if (!values.serve) {
    console.log(`report: ${path.join(out, 'index.html')} (one file: open it in a browser, or \`m3lab report --serve\`); history ${localHistory()}`);
    return 0;
  }
  const { serveUntilStopped } = await import('../report/serve.ts');
  await serveUntilStopped(out, values.port, (url) => `report: ${url} (Ctrl-C to stop)`);
  return 0;
}

/** `m3lab report merge DIR... --out DIR [--history FILE] [--expect N]`. */
export async function cmdMerge(positionals: string[], values: { out?: string; history?: string; expect?: string }): Promise<number> {
  let expect: number | undefined;
  if (values.expect !== undefined) {
    expect = Number(values.expect);
    if (!Number.isInteger(expect) || expect < 1 || expect > 64) throw new ConfigError('--expect', `must be the number of shards, 1..64, got ${JSON.stringify(values.expect)}`);
  }
  const { mergeShards } = await import('../report/merge.ts');
  const m = await mergeShards({ dirs: positionals, out: values.out, history: values.history, expect, log });
  console.log(m.lines.join('\n'));
  return m.code;
}
