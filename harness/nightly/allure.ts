import { Stage, Status, type Label, type Parameter } from 'allure-js-commons';
import { FileSystemWriter, ReporterRuntime } from 'allure-js-commons/sdk/reporter';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from '../lab-job.ts';
import { repoRoot } from '../paths.ts';
import { CATEGORIES, classify, PERF_FIGURE, PERF_LABEL, PERF_RATIO, PERF_TARGET } from './categories.ts';
import type { BenchCell, Judged, RatioJudged, TargetCheck } from './history.ts';
import { formatFigure } from './history.ts';
import { readAllureResult } from '../report/allure-result.ts';
import { z } from 'zod';
import { readJsonWith } from '../config/schema.ts';

/**
 * The night's own Allure results (bench figures, targets, build steps; the
 * suites write theirs through allure-vitest), the Allure 3 config that carries
 * history from night to night, and the report.
 */

/** A file of the night to attach (a plot, the CSV, the bench JSON). */
export interface NightFile {
  name: string;
  file: string;
  type: string;
}

/**
 * Writes results with allure-js-commons' own runtime (what allure-vitest uses),
 * outside vitest. Each attachment is a copy: Allure 3 links an attachment file
 * to one result only (a second result naming the same file shows nothing).
 */
export class NightResults {
  private readonly runtime: ReporterRuntime;

  constructor(readonly dir: string) {
    this.runtime = new ReporterRuntime({ writer: new FileSystemWriter({ resultsDir: dir }) });
  }

  /**
   * One finished result. Its history id is computed by the runtime from the
   * full name and parameters, as for the suites' results, so the same figure
   * on the same cell is the same test night after night.
   */
  write(r: {
    name: string;
    fullName: string;
    status: Status;
    message?: string;
    trace?: string;
    description?: string;
    labels: Label[];
    parameters?: Parameter[];
    start: number;
    stop: number;
    files?: NightFile[];
    texts?: { name: string; text: string; type: string }[];
  }): void {
    const uuid = this.runtime.startTest({ name: r.name, fullName: r.fullName, labels: r.labels, parameters: r.parameters ?? [], description: r.description, start: r.start });
    for (const f of r.files ?? []) if (existsSync(f.file)) this.runtime.writeAttachment(uuid, undefined, f.name, readFileSync(f.file), { contentType: f.type });
    for (const t of r.texts ?? []) this.runtime.writeAttachment(uuid, undefined, t.name, Buffer.from(t.text), { contentType: t.type });
    this.runtime.updateTest(uuid, (t) => {
      t.status = r.status;
      t.stage = Stage.FINISHED;
      t.statusDetails = { message: r.message, trace: r.trace };
    });
    this.runtime.stopTest(uuid, { stop: r.stop });
    this.runtime.writeTest(uuid);
  }
}

const suiteLabels = (parentSuite: string, suite: string, subSuite: string, extra: Label[] = []): Label[] => [
  { name: 'parentSuite', value: parentSuite },
  { name: 'suite', value: suite },
  { name: 'subSuite', value: subSuite },
  { name: 'framework', value: 'm3lab nightly' },
  ...extra,
];

function figureDescription(j: Judged): string {
  const f = (v: number) => formatFigure(v, j.unit);
  const rows = [
    '| | median | interval | n |',
    '| --- | --- | --- | --- |',
    `| tonight | ${f(j.median)} | ${f(j.ciLow)}..${f(j.ciHigh)} (${(j.confidence * 100).toFixed(1)}%) | ${j.n} |`,
    ...(j.reference ? [`| reference (${j.reference.night}) | ${f(j.reference.median)} | ${f(j.reference.ciLow)}..${f(j.reference.ciHigh)} | ${j.reference.n} |`] : []),
  ];
  return `${j.message}\n\n${rows.join('\n')}\n\n${j.better === 'higher' ? 'Higher' : 'Lower'} is better. Outcome: ${j.outcome}. An absolute figure moves with the host: it is shown, never a verdict (the ratios to the same-run baselines are).`;
}

function ratioDescription(r: RatioJudged): string {
  const rows = [
    '| | median | rounds |',
    '| --- | --- | --- |',
    `| tonight | ${r.median.toFixed(3)} | ${r.samples.map((x) => x.toFixed(3)).join(' ')} |`,
    ...(r.reference?.nights ?? []).map((n) => `| ${n.night} | ${n.median.toFixed(3)} | n=${n.n} |`),
  ];
  return `${r.message}\n\n${rows.join('\n')}\n\n${r.a} over ${r.b}, round by round in the same guest; ${r.better === 'higher' ? 'higher' : 'lower'} is better. A regression needs a change beyond the margin and a one-sided Mann–Whitney p below alpha against the pooled rounds of the reference nights (newest first above: a change-point shows as the row where the medians step).`;
}

type Timings = Map<string, { start: number; stop: number }>;
const timing = (when: Timings, bench: string, cell: string) => when.get(`${bench}/${cell}`) ?? { start: Date.now(), stop: Date.now() };

/**
 * Every absolute bench figure as a test: always passed (new, within, better or
 * worse than its reference, in the message): the host moves them as much as
 * the module, so they are shown with their history, not judged.
 */
export function writeFigures(out: NightResults, figures: Judged[], when: Timings): void {
  for (const j of figures) {
    out.write({
      name: `${j.case} (${j.cell})`,
      fullName: `m3lab:nightly/bench/${j.bench}#${j.cell} ${j.case}`,
      status: Status.PASSED,
      message: j.message,
      description: figureDescription(j),
      labels: suiteLabels(`bench: ${j.bench}`, j.cell, 'figures vs earlier nights', [
        { name: PERF_LABEL, value: PERF_FIGURE },
        { name: 'tag', value: 'performance' },
      ]),
      parameters: cellParameters(j),
      ...timing(when, j.bench, j.cell),
    });
  }
}

/**
 * Every ratio of an M3-IPC figure to its same-run baseline as a test: the
 * performance verdicts. Failed for a regression (with the bench's plots and
 * CSV), broken when the cell's calibration moved during the bench (its figures
 * are unreliable: the host, not the module), passed otherwise.
 */
export function writeRatios(out: NightResults, ratios: RatioJudged[], when: Timings, files: Map<string, NightFile[]>): void {
  for (const r of ratios) {
    const failed = r.outcome === 'regression';
    out.write({
      name: `${r.a} / ${r.b} (${r.cell})`,
      fullName: `m3lab:nightly/bench/${r.bench}#${r.cell} ratio ${r.a} / ${r.b}`,
      status: failed ? Status.FAILED : r.outcome === 'unreliable' ? Status.BROKEN : Status.PASSED,
      message: r.message,
      description: ratioDescription(r),
      labels: suiteLabels(`bench: ${r.bench}`, r.cell, 'ratios to same-run baselines vs earlier nights', [
        { name: PERF_LABEL, value: PERF_RATIO },
        { name: 'tag', value: 'performance' },
      ]),
      parameters: cellParameters(r),
      ...timing(when, r.bench, r.cell),
      files: failed ? (files.get(r.bench) ?? []).filter((f) => !f.type.includes('json')) : [],
    });
  }
}

/** A cell's kernel, vCPUs and accelerator as Allure parameters (history keys on them). */
function cellParameters(c: BenchCell): { name: string; value: string }[] {
  return [{ name: 'kernel', value: c.variant }, ...(c.cpus !== undefined ? [{ name: 'vCPUs', value: `${c.cpus}` }] : []), { name: 'accel', value: c.accel }];
}

/** Every bench target as a test: passed when met, failed (with the plots and CSV) when missed. */
export function writeTargets(out: NightResults, targets: TargetCheck[], when: Timings, files: Map<string, NightFile[]>): void {
  for (const t of targets) {
    out.write({
      name: `target ${t.a} / ${t.b} ${t.bound} (${t.cell})`,
      fullName: `m3lab:nightly/bench/${t.bench}#${t.cell} target ${t.a} / ${t.b}`,
      status: t.met ? Status.PASSED : Status.FAILED,
      message: t.message,
      labels: suiteLabels(`bench: ${t.bench}`, t.cell, 'targets', [
        { name: PERF_LABEL, value: PERF_TARGET },
        { name: 'tag', value: 'performance' },
      ]),
      parameters: cellParameters(t),
      ...timing(when, t.bench, t.cell),
      files: t.met ? [] : (files.get(t.bench) ?? []).filter((f) => !f.type.includes('json')),
    });
  }
}

/**
 * One result per bench that ran: did every cell produce figures? It carries the
 * bench's plots, CSV, table and JSON. Broken (a lab failure) when a cell did not
 * run, naming each such cell and its error.
 */
export function writeBenchRun(out: NightResults, b: { bench: string; cells: string[]; errors: { cell: string; message: string; trace?: string }[]; start: number; stop: number; files: NightFile[] }): void {
  const ok = b.errors.length === 0;
  out.write({
    name: `${b.bench}: every cell ran (${b.cells.join('; ')})`,
    fullName: `m3lab:nightly/bench/${b.bench}#every cell ran`,
    status: ok ? Status.PASSED : Status.BROKEN,
    message: ok ? `${b.cells.length} cell(s) measured; plots, CSV and JSON attached` : b.errors.map((e) => `${e.cell}: ${e.message.split('\n')[0]}`).join('; '),
    trace: b.errors.map((e) => `${e.cell}:\n${e.trace ?? e.message}`).join('\n\n') || undefined,
    labels: suiteLabels(`bench: ${b.bench}`, 'the bench run', 'cells'),
    start: b.start,
    stop: b.stop,
    files: b.files,
  });
}

/**
 * A step of the night that did not get as far as a verdict of its own (a build,
 * a bench cell whose lab failed, a vitest run that crashed): broken for the
 * host side, failed when the module is at fault (it does not build).
 */
export function writeStep(out: NightResults, s: { name: string; group: string; status: Status; message: string; trace?: string; start: number; stop: number; log?: string }): void {
  out.write({
    name: s.name,
    fullName: `m3lab:nightly/${s.group}#${s.name}`,
    status: s.status,
    message: s.message,
    trace: s.trace,
    labels: suiteLabels('nightly', s.group, s.group),
    start: s.start,
    stop: s.stop,
    texts: s.log ? [{ name: 'log', text: s.log, type: 'text/plain' }] : [],
  });
}

/**
 * allurerc.json for this night: Allure 3 keeps history in a JSON-lines file
 * (`historyPath`), reads it when it generates a report (every test's history,
 * the trend widgets, data/history/) and appends this report's point to it. The
 * file sits beside the nights, so each night's report carries the earlier ones.
 */
export function writeAllureConfig(nightDir: string, o: { name: string; historyPath: string; historyLimit: number; output?: string; singleFile?: boolean }): string {
  const file = path.join(nightDir, 'allurerc.json');
  const config = {
    name: o.name,
    output: o.output ?? path.join(nightDir, 'allure-report'),
    historyPath: o.historyPath,
    historyLimit: o.historyLimit,
    categories: CATEGORIES,
    // singleFile: one index.html with its data inside, which opens from a file (no server) and copies whole.
    plugins: { awesome: { options: { reportName: o.name, groupBy: ['parentSuite', 'suite', 'subSuite'], ...(o.singleFile ? { singleFile: true } : {}) } } },
  };
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

/** `allure generate` with the night's config; resolves with its exit code (non-zero when it outlived TIMEOUTMS, if given). */
export async function generateReport(resultsDir: string, configFile: string, timeoutMs?: number): Promise<number> {
  const code = await run(path.join(repoRoot, 'node_modules', '.bin', 'allure'), ['generate', resultsDir, '--config', configFile], { timeoutMs });
  // writeAllureConfig always names the report's folder.
  if (code === 0) stripAnalytics(path.resolve(repoRoot, readJsonWith(configFile, z.looseObject({ output: z.string() })).output));
  return code;
}

/**
 * Allure 3's report pages load Google's tag manager whenever they are opened
 * with a network (the awesome plugin has it on with no option to turn it
 * off): a lab's report must not tell a third party who opened it, from where.
 * Cut from every page; the browser check of the report refuses any request
 * outside the file and fails on one.
 */
export function stripAnalytics(reportDir: string): number {
  let cut = 0;
  if (!existsSync(reportDir)) return 0;
  for (const f of readdirSync(reportDir).filter((x) => x.endsWith('.html'))) {
    const file = path.join(reportDir, f);
    const html = readFileSync(file, 'utf8');
    const clean = html.replace(/<script async src="https:\/\/www\.googletagmanager\.com\/gtag\/js\?id=[\w-]+"><\/script>\s*<script>\s*window\.dataLayer[\s\S]*?<\/script>/g, () => (cut++, ''));
    if (clean !== html) writeFileSync(file, clean);
  }
  return cut;
}

export interface Failure {
  category: string;
  name: string;
  status: string;
  message: string;
}

/** Every failed or broken result of the night, in the category Allure shows it in. */
export function nightFailures(resultsDir: string): Failure[] {
  if (!existsSync(resultsDir)) return [];
  const out: Failure[] = [];
  for (const f of readdirSync(resultsDir).filter((x) => x.endsWith('-result.json'))) {
    const r = readAllureResult(path.join(resultsDir, f));
    if (r.status !== 'failed' && r.status !== 'broken') continue;
    out.push({ category: classify({ ...r, status: r.status })?.name ?? r.status, name: r.name, status: r.status, message: (r.statusDetails?.message ?? '').split('\n')[0]!.slice(0, 300) });
  }
  return out.sort((a, b) => a.category.localeCompare(b.category) || a.name.localeCompare(b.name));
}
