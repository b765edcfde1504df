import { Status } from 'allure-js-commons';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { generateReport, NightResults, nightFailures, writeAllureConfig } from '../nightly/allure.ts';
import { readNight, nightDirs, nightlyRoot, pointLatest, writeNight, type NightRecord } from '../nightly/store.ts';
import { newFailures, type NewFailure } from '../nightly/tests.ts';
import { readVerdicts } from '../lab-job.ts';
import { readShardRecord, shardText, type ShardRecord } from '../shard.ts';
import { readAllureResult } from './allure-result.ts';
import { z } from 'zod';
import { readJsonWith } from '../config/schema.ts';

/** A shard's bench-ipc-local.json, as the merge combines it: its cells and their calibrations. */
const BenchLocalFile = z.looseObject({ configs: z.array(z.unknown()), calibration: z.record(z.string(), z.unknown()).optional() });

/**
 * `m3lab report merge DIR... --out DIR`: the results directories of the N
 * shards of one run (a night, a run of suites, a bench matrix) made into one:
 * one set of Allure results, each result labelled with the host and shard
 * that ran it, one Environment, the bench figures of every cell, the evidence
 * bundles, for a night its night.json, and one report whose history is the
 * one file every merged (and unsharded) night shares.
 */

export interface MergeOptions {
  dirs: string[];
  /** Default for a night: its folder in the nightly store (M3LAB_NIGHTLY_DIR/NIGHT). */
  out?: string;
  /** Allure's history file; default: history.jsonl beside the output folder (the store's, for a night). */
  history?: string;
  /** Shards the run was cut into, when the directories given may not all exist. */
  expect?: number;
  log?: (l: string) => void;
}

export interface MergeOutcome {
  out: string;
  code: number;
  lines: string[];
  kind: ShardRecord['kind'];
  shards: { dir: string; record?: ShardRecord; results: number }[];
  missing: number[];
  tests: number;
  newFailures: NewFailure[];
}

interface Result {
  uuid: string;
  name: string;
  fullName?: string;
  historyId?: string;
  status: string;
  statusDetails?: { message?: string; trace?: string };
  labels: { name: string; value: string }[];
  attachments?: unknown[];
  start?: number;
  stop?: number;
  [k: string]: unknown;
}

/** Worst first: what a test that ran in several shards is, in the one report. */
const SEVERITY = ['failed', 'broken', 'unknown', 'skipped', 'passed'];
const worse = (a: string, b: string) => (SEVERITY.indexOf(a) <= SEVERITY.indexOf(b) ? a : b);

/** A shard's allure-results, bench folder and bundles, wherever its kind keeps them. */
function shardLayout(dir: string, kind: ShardRecord['kind']): { results: string; bench: string; bundles: string[] } {
  return {
    results: path.join(dir, 'allure-results'),
    bench: kind === 'bench' ? dir : path.join(dir, 'bench'),
    bundles: [path.join(dir, 'bundles'), path.join(dir, 'state', 'bundles')],
  };
}

function readProperties(file: string): Map<string, string> {
  const m = new Map<string, string>();
  if (!existsSync(file)) return m;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

function checkOut(out: string): void {
  if (existsSync(out) && readdirSync(out).some((f) => f !== 'allure-results' || readdirSync(path.join(out, f)).length > 0)) throw new ConfigError('--out', `${out} is not empty: merge into a new directory`);
}

export async function mergeShards(o: MergeOptions): Promise<MergeOutcome> {
  const log = o.log ?? (() => {});
  if (!o.dirs.length) throw new ConfigError('DIR', 'name the shards\' results directories');
  const present = o.dirs.filter((d) => existsSync(d));
  const absent = o.dirs.filter((d) => !existsSync(d));
  const shards = present.map((dir) => ({ dir: path.resolve(dir), record: readShardRecord(dir), results: 0 }));
  if (!shards.length) throw new ConfigError('DIR', `none of the directories exists: ${o.dirs.join(', ')}`);
  const first = shards[0]!.record;
  for (const s of shards) {
    if (s.record.kind !== first.kind) throw new ConfigError(`${s.dir}/shard.json: kind`, `${s.record.kind}, but ${shards[0]!.dir} is ${first.kind}: shards of one run only`);
    if (s.record.shard.count !== first.shard.count) throw new ConfigError(`${s.dir}/shard.json: shard`, `one of ${s.record.shard.count}, but ${shards[0]!.dir} is one of ${first.shard.count}`);
    if (s.record.run !== first.run) throw new ConfigError(`${s.dir}/shard.json: run`, `${s.record.run}, but ${shards[0]!.dir} belongs to ${first.run}: shards of one run only`);
  }
  const count = o.expect ?? first.shard.count;
  if (count !== first.shard.count) throw new ConfigError('--expect', `${count}, but the shards say they are ${first.shard.count}`);
  const seen = new Map<number, string>();
  for (const s of shards) {
    const other = seen.get(s.record.shard.index);
    if (other) throw new ConfigError(`${s.dir}/shard.json: shard`, `${shardText(s.record.shard)} again (also ${other})`);
    seen.set(s.record.shard.index, s.dir);
  }
  shards.sort((a, b) => a.record.shard.index - b.record.shard.index);
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  const kind = first.kind;
  const out = path.resolve(o.out ?? (kind === 'nightly' ? path.join(nightlyRoot(), first.run) : ''));
  if (!o.out && kind !== 'nightly') throw new ConfigError('--out', 'required: where the merged results and report go');
  checkOut(out);
  const resultsOut = path.join(out, 'allure-results');
  mkdirSync(resultsOut, { recursive: true });

  // Results: every file copied; each result labelled with its shard and host; a
  // test that ran in several shards (a night's per-bench "every cell ran", a
  // build step) becomes one result, the worst of them, with all their attachments.
  const byHistory = new Map<string, { r: Result; from: { shard: string; host: string; status: string; message?: string }[] }>();
  const order: string[] = [];
  for (const s of shards) {
    const lay = shardLayout(s.dir, kind);
    if (!existsSync(lay.results)) continue;
    for (const f of readdirSync(lay.results)) {
      const src = path.join(lay.results, f);
      if (f === 'environment.properties') continue;
      if (!f.endsWith('-result.json')) {
        copyFileSync(src, path.join(resultsOut, f));
        continue;
      }
      const r = readAllureResult(src) as Result;
      s.results++;
      r.labels = (r.labels ?? []).filter((l) => l.name !== 'host' && l.name !== 'shard');
      r.labels.push({ name: 'host', value: s.record.host }, { name: 'shard', value: shardText(s.record.shard) });
      const key = r.historyId ?? r.uuid;
      const from = { shard: shardText(s.record.shard), host: s.record.host, status: r.status, message: r.statusDetails?.message };
      const have = byHistory.get(key);
      if (!have) {
        byHistory.set(key, { r, from: [from] });
        order.push(key);
        continue;
      }
      const m = have.r;
      // A night's "every cell ran" names its shard's cells: the one result names them all.
      if (r.name !== m.name) m.name = `${m.name} + ${r.name}`;
      m.status = worse(m.status, r.status);
      m.attachments = [...(m.attachments ?? []), ...(r.attachments ?? [])];
      m.start = Math.min(m.start ?? Infinity, r.start ?? Infinity);
      m.stop = Math.max(m.stop ?? 0, r.stop ?? 0);
      have.from.push(from);
    }
  }
  for (const key of order) {
    const { r, from } = byHistory.get(key)!;
    if (from.length > 1) {
      r.labels = r.labels.filter((l) => l.name !== 'host' && l.name !== 'shard');
      r.labels.push({ name: 'host', value: [...new Set(from.map((f) => f.host))].join(', ') }, { name: 'shard', value: from.map((f) => f.shard).join(', ') });
      r.statusDetails = { ...r.statusDetails, message: from.map((f) => `shard ${f.shard} on ${f.host}: ${f.status}${f.message ? `: ${f.message}` : ''}`).join('\n') };
    }
    writeFileSync(path.join(resultsOut, `${r.uuid}-result.json`), JSON.stringify(r));
  }

  // A shard that left nothing, or did not finish, is a lab failure of the merged run: broken, never a silent gap.
  const results = new NightResults(resultsOut);
  const now = Date.now();
  for (const i of missing) {
    const where = absent.find((d) => new RegExp(`shard-${i}-of-${count}$`).test(d)) ?? `no directory given for shard ${i}/${count}`;
    results.write({ name: `shard ${i}/${count} left no results`, fullName: `m3lab:merge/${first.run}#shard ${i}/${count}`, status: Status.BROKEN, message: `shard ${i}/${count} of ${first.run} has no results directory (${where}): its job did not run or its host lost them`, labels: [{ name: 'parentSuite', value: 'merge' }, { name: 'suite', value: 'shards' }], start: now, stop: now });
  }
  for (const s of shards.filter((x) => x.record.finished === undefined)) {
    results.write({ name: `shard ${shardText(s.record.shard)} did not finish`, fullName: `m3lab:merge/${first.run}#shard ${shardText(s.record.shard)} finished`, status: Status.BROKEN, message: `shard ${shardText(s.record.shard)} on ${s.record.host} started ${s.record.started} and never wrote its end (killed, or its host went down); its ${s.results} result(s) are merged`, labels: [{ name: 'parentSuite', value: 'merge' }, { name: 'suite', value: 'shards' }, { name: 'host', value: s.record.host }], start: now, stop: now });
  }

  // The Environment: a fact every shard agrees on once; one they differ on (the host, its load) per shard.
  const envs = shards.map((s) => ({ s, env: readProperties(path.join(shardLayout(s.dir, kind).results, 'environment.properties')) }));
  const keys = [...new Set(envs.flatMap((e) => [...e.env.keys()]))];
  const env = new Map<string, string>();
  env.set('shards', shards.map((s) => `${shardText(s.record.shard)} on ${s.record.host}`).join('; ') + (missing.length ? `; missing ${missing.map((i) => `${i}/${count}`).join(', ')}` : ''));
  for (const k of keys) {
    const values = envs.map((e) => e.env.get(k));
    if (values.every((v) => v === values[0])) env.set(k, values[0]!);
    else envs.forEach((e, i) => values[i] !== undefined && env.set(`shard${e.s.record.shard.index}.${k}`, values[i]!));
  }
  writeFileSync(path.join(resultsOut, 'environment.properties'), [...env].map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`).join('\n') + '\n');

  // Bench figures: each cell ran in exactly one shard; the merged JSON has them all.
  const benchOut = kind === 'bench' ? out : path.join(out, 'bench');
  const local = shards.map((s) => path.join(shardLayout(s.dir, kind).bench, 'bench-ipc-local.json')).filter((f) => existsSync(f));
  let cells = 0;
  if (local.length) {
    const docs = local.map((f) => readJsonWith(f, BenchLocalFile));
    const configs = docs.flatMap((d) => d.configs);
    cells = configs.length;
    const doc = { ...docs[0], date: new Date().toISOString(), calibration: Object.assign({}, ...docs.map((d) => d.calibration ?? {})), configs, shards: local.map((f) => path.dirname(f)) };
    mkdirSync(benchOut, { recursive: true });
    writeFileSync(path.join(benchOut, 'bench-ipc-local.json'), `${JSON.stringify(doc, null, 2)}\n`);
    const { benchCsv, benchPlots } = await import('../bench/plots.ts');
    const { formatTable } = await import('../bench/ipc-local.ts');
    type Configs = Parameters<typeof benchCsv>[0];
    writeFileSync(path.join(benchOut, 'bench-ipc-local.csv'), benchCsv(configs as Configs));
    writeFileSync(path.join(benchOut, 'bench-ipc-local.txt'), `${formatTable(configs as Configs)}\n`);
    if (configs.length) for (const [n, svg] of Object.entries(await benchPlots(configs as Configs))) writeFileSync(path.join(benchOut, n), svg);
  }
  for (const s of shards) {
    const remote = path.join(shardLayout(s.dir, kind).bench, 'bench-ipc-remote.json');
    if (existsSync(remote)) {
      mkdirSync(benchOut, { recursive: true });
      copyFileSync(remote, path.join(benchOut, 'bench-ipc-remote.json'));
      cells++;
    }
  }

  // Evidence bundles: each shard's, under its shard's number (a bundle's path in a result is where its shard wrote it).
  let bundles = 0;
  for (const s of shards) {
    for (const b of shardLayout(s.dir, kind).bundles.filter((d) => existsSync(d))) {
      for (const d of readdirSync(b)) {
        cpSync(path.join(b, d), path.join(out, 'bundles', `shard${s.record.shard.index}-${d}`), { recursive: true });
        bundles++;
      }
    }
  }

  // A night: one night.json, as an unsharded night leaves it, so later nights compare with it.
  const store = path.dirname(out);
  let night: NightRecord | undefined;
  let fresh: NewFailure[] = [];
  if (kind === 'nightly') {
    const recs = shards.map((s) => ({ s, n: readNight(s.dir) }));
    const base = recs.find((r) => r.n)?.n;
    if (base) {
      const all = recs.flatMap((r) => (r.n ? [r.n] : []));
      night = {
        ...base,
        name: first.run,
        started: all.map((n) => n.started).sort()[0]!,
        finished: all.every((n) => n.finished) ? all.map((n) => n.finished!).sort().pop() : undefined,
        plan: base.plan.filter((l) => !l.startsWith('shard ') && !l.startsWith('folder ')),
        environment: Object.fromEntries(env),
        suites: all.reduce((a, n) => ({ passed: a.passed + (n.suites?.passed ?? 0), failed: a.failed + (n.suites?.failed ?? 0), broken: a.broken + (n.suites?.broken ?? 0), skipped: a.skipped + (n.suites?.skipped ?? 0) }), { passed: 0, failed: 0, broken: 0, skipped: 0 }),
        figures: all.flatMap((n) => n.figures),
        ratios: all.flatMap((n) => n.ratios ?? []),
        calibration: Object.assign({}, ...all.map((n) => n.calibration ?? {})),
        hostFacts: all.flatMap((n) => (n.hostFacts ?? []).map((f) => `shard ${shardText(n.shard!)} (${n.shard!.host}): ${f}`)),
        targets: all.flatMap((n) => n.targets),
        tests: recs.flatMap((r) => (r.n?.tests ?? []).map((t) => ({ ...t, host: r.s.record.host }))),
        shard: undefined,
        shards: shards.map((s) => ({ ...s.record.shard, host: s.record.host, dir: s.dir, passed: recs.find((r) => r.s === s)?.n?.passed })),
      };
    }
  }

  const config = writeAllureConfig(out, { name: `m3lab ${kind === 'nightly' ? 'nightly' : kind} ${first.run} (${count} shards)`, historyPath: path.resolve(o.history ?? path.join(store, 'history.jsonl')), historyLimit: 60 });
  log(`merge: allure generate ${resultsOut} (history ${path.resolve(o.history ?? path.join(store, 'history.jsonl'))})`);
  const reportCode = await generateReport(resultsOut, config);
  const failures = nightFailures(resultsOut);
  const verdicts = readVerdicts(resultsOut);
  const shardsOk = missing.length === 0 && shards.every((s) => s.record.code === 0);
  const passed = shardsOk && failures.length === 0 && reportCode === 0;
  if (night) {
    Object.assign(night, { passed, failures: failures.map(({ category, name, message }) => ({ category, name, message })) });
    writeNight(out, night);
    if (path.resolve(store) === path.resolve(nightlyRoot())) pointLatest(store, out);
    fresh = newFailures(night, nightDirs(store).map((d) => readNight(d)).filter((r): r is NightRecord => r !== undefined && r.finished !== undefined && r.name !== night!.name));
  }
  const tests = verdicts.passed + verdicts.failed + verdicts.broken + verdicts.skipped;
  const lines = [
    `=== m3lab report merge: ${first.run} (${kind}, ${count} shards) ===`,
    ...shards.map((s) => `shard      ${shardText(s.record.shard)} on ${s.record.host}: ${s.results} result(s), ${s.record.finished ? `exit ${s.record.code}, ${s.record.started} .. ${s.record.finished}` : `did not finish (started ${s.record.started})`} (${s.dir})`),
    ...missing.map((i) => `shard      ${i}/${count}: NO RESULTS`),
    `results    ${tests} test(s): ${verdicts.passed} passed, ${verdicts.failed} failed, ${verdicts.broken} broken, ${verdicts.skipped} skipped${cells ? `; ${cells} bench cell(s)` : ''}${bundles ? `; ${bundles} evidence bundle(s) in ${path.join(out, 'bundles')}` : ''}`,
    ...failures.map((f) => `  ${f.status.toUpperCase().padEnd(7)} ${f.name}: ${f.message}`),
    ...(fresh.length ? ['new failures (passed in an earlier night): find the commit with', ...fresh.flatMap((f) => [`  ${f.test.project} ${f.test.name} (passed in ${f.goodNight}, ran on ${f.test.host ?? '?'}):`, `    ${f.command}`])] : []),
    `report     ${reportCode === 0 ? path.join(out, 'allure-report') : `not generated (allure exited ${reportCode})`}`,
    `history    ${path.resolve(o.history ?? path.join(store, 'history.jsonl'))}`,
    `merged     ${passed ? 'PASSED' : 'FAILED'}`,
  ];
  return { out, code: passed ? 0 : 1, lines, kind, shards, missing, tests, newFailures: fresh };
}
