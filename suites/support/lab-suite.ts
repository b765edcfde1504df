import * as allure from 'allure-js-commons';
import path from 'node:path';
import { afterAll, beforeAll, it, type TestContext } from 'vitest';
import { InfraError } from '../../harness/errors.ts';
import { sleep } from '../../harness/host/wait.ts';
import { saveTestBundle } from '../../harness/report/bundle.ts';
import { factPairs, labFacts, writeAllureEnvironment } from '../../harness/report/environment.ts';
import { findReports, type KernelReport } from '../../harness/console/kernel-reports.ts';
import { KernelFailure } from '../../harness/verdict/verdict.ts';
import { judge, type EarlierCrash, type NodeObservation } from '../../harness/verdict/judge.ts';
import { collectReports, judgementError, probe, withDeadline } from '../../harness/verdict/observe.ts';
import { describeWindow, VcpuMonitor } from '../../harness/verdict/vcpu-monitor.ts';
import { describeTimeScale, plannedTimeScale, scaled } from '../../harness/verdict/time-scale.ts';
import { diagnoseVm } from '../../harness/verdict/diagnose.ts';
import { isVm, machineNote } from '../../harness/lab/lab.ts';
import { repoRoot } from '../../harness/paths.ts';
import { releaseLab, useLab, type LabHandle } from './lab-fixture.ts';

export type NodeReport = { node: string; report: KernelReport };

export interface LabSuiteOptions {
  /**
   * What the suite needs of a lab (lab-file fields); the kernel comes from
   * M3LAB_KERNEL. A function is called in beforeAll (a suite that first sets
   * up a simulated board names it only then); its failure fails every test.
   */
  need: Record<string, unknown> | (() => Promise<Record<string, unknown>>);
  /** Always a lab of its own, started this way (lab-fixture.ts useLab). */
  fresh?: 'snapshot' | 'cold';
  /** Runs once after the lab is up (deploy the module, start proxies...). */
  setup?: (h: LabHandle) => Promise<void>;
  /** Runs once before the lab is released, whatever happened. */
  teardown?: (h: LabHandle) => Promise<void>;
  /** The seed of the suite's random choices, stored with every result. */
  seed?: number;
  /** Suite-specific evidence for a failed or broken test (proxy logs, ...): file name -> text. */
  evidence?: (h: LabHandle) => Promise<Record<string, string>>;
}

export interface TestOptions {
  /**
   * The kernel reports the test causes on purpose (the panic of a crash it
   * injects): attached, but they do not fail it. Anything else still does.
   */
  expectReports?: (r: NodeReport) => boolean;
}

export interface LabSuite {
  /** The lab, or the reason there is none (thrown: every test then reports it). */
  handle(): LabHandle;
  /** A test judged by the lab's rules; its timeout is a base figure, scaled like every bound of the lab. */
  it(name: string, fn: (h: LabHandle, ctx: TestContext) => Promise<void>, timeoutMs?: number, test?: TestOptions): void;
  /** Kernel variant the suite asked for. */
  readonly kernel: string;
}

const log = (l: string) => process.stderr.write(`${l}\n`);
const DEFAULT_TIMEOUT = 5 * 60_000;
/** Room left after the test body for judging, dmesg, a probe and the bundle (scaled). */
const JUDGE_MARGIN = 60_000;
/**
 * Bound of a suite's lab boot and setup on the reference host, before scaling:
 * a first run may build the image and snapshot templates, and a restore may be
 * retried; a setup still going after this has stalled.
 */
const LAB_SETUP_MS = Number(process.env.M3LAB_SETUP_BOUND_MS) || 8 * 60_000;

/** What the suite remembers from one test to the next, for the verdict engine. */
interface SuiteMemory {
  /** Console length per node when the previous test was judged: reports after it and before the next belong to nobody yet. */
  marks: Map<string, number>;
  previousTest?: string;
  earlierCrash?: EarlierCrash;
  monitor?: VcpuMonitor;
}

/** Kernel variant and extra command line for labs the suites boot (`m3lab run --kernel`, make test projects). */
export function suiteKernel(): { kernel: string; append?: string } {
  return { kernel: process.env.M3LAB_KERNEL || 'default', append: process.env.M3LAB_APPEND || undefined };
}

/**
 * A vitest suite on a lab, judged the way the lab promises:
 * - the lab boots in beforeAll, but a boot that fails does not throw there (vitest
 *   would show every test as skipped): each test then fails with the boot error —
 *   failed for a kernel panic, broken for a host-side fault;
 * - every test is watched on every node's console and kernel log: any kernel
 *   report (panic, Oops, KASAN, lockdep, ...) while it ran makes it failed, with
 *   the whole report attached, whatever the test itself saw (a node that died
 *   under it is the module's fault, not the lab's);
 * - a node whose QEMU runs but which no longer answers is a hang: failed;
 * - every failed or broken test leaves an evidence bundle whose path is in the report.
 */
/** vCPUs the suite's lab will have, where the need says (else the default lab's 4). */
function plannedVcpus(need: LabSuiteOptions['need']): number {
  if (typeof need === 'function') return 4;
  const nodes = need.nodes;
  if (Array.isArray(nodes)) return nodes.reduce((a: number, n) => a + Number((n as { cpus?: number }).cpus ?? 1), 0);
  if (typeof nodes === 'number') return nodes * Number(need.cpus ?? 1);
  return 4;
}

export function labSuite(opts: LabSuiteOptions): LabSuite {
  const { kernel, append } = suiteKernel();
  const base = { kernel, ...(append ? { append } : {}) };
  let handle: LabHandle | undefined;
  let setupError: unknown;
  let anyFailed = false;
  const memory: SuiteMemory = { marks: new Map() };
  // vitest needs a test's timeout before the lab exists: the scale of the lab asked for.
  const planned = plannedTimeScale([kernel], plannedVcpus(opts.need));

  let labSetupSeconds: number | undefined;
  // The lab's boot and setup have a bound of their own, scaled like every other, under vitest's hook
  // timeout: a setup that stalls makes every test of the file broken, with why, never skipped.
  const setupBound = scaled(LAB_SETUP_MS, planned);
  beforeAll(async () => {
    const setupStarted = Date.now();
    if (opts.seed !== undefined) log(`seed ${opts.seed}: M3LAB_SEED=${opts.seed} replays this run's random choices`);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new InfraError(`the lab was not booted and set up within ${Math.round(setupBound / 1000)} s (the suite's bound, scaled to this host and kernel); its log says which step it was at`)), setupBound);
    });
    const bringUp = async () => {
      handle = await useLab({ ...base, ...(typeof opts.need === 'function' ? await opts.need() : opts.need) }, opts.fresh);
      const facts = await labFacts(handle.lab);
      writeAllureEnvironment(process.env.M3LAB_ALLURE_RESULTS ?? path.join(repoRoot, 'allure-results'), `${handle.lab.state.spec.name}.`, [...factPairs(facts), ['timeScale', describeTimeScale(handle.lab.timeScale)]]);
      await opts.setup?.(handle);
      // What the kernels reported while the suite set its lab up (module load,
      // proxies) belongs to no test: it fails them all.
      const setupReports = handle.lab.nodes.flatMap((n) => findReports(n.target.console.text().slice(handle!.consoleStart.get(n.name) ?? 0)).map((report) => ({ node: n.name, report })));
      if (setupReports.length) {
        throw new KernelFailure(`kernel report while the suite set up its lab: ${setupReports.map((r) => `${r.node}: ${r.report.title}`).join('; ')}\n\n${setupReports[0]!.report.text}`, setupReports);
      }
      const h = handle;
      memory.marks = new Map(h.lab.nodes.map((n) => [n.name, n.target.console.text().length]));
      memory.monitor = new VcpuMonitor(() => h.lab.vms.map((n) => ({ node: n.name, pid: n.target.pid })));
      memory.monitor.start();
      labSetupSeconds = (Date.now() - setupStarted) / 1000;
      log(`suite: time scale ${describeTimeScale(h.lab.timeScale)}`);
    };
    try {
      await Promise.race([bringUp(), late]);
    } catch (e) {
      setupError = e;
      log(`suite: the lab is not usable, every test of this file will say why: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      clearTimeout(timer);
    }
  }, setupBound + scaled(60_000, planned));

  afterAll(async () => {
    memory.monitor?.stop();
    if (!handle) return;
    try {
      await opts.teardown?.(handle);
    } finally {
      await releaseLab(handle, { keepEvidence: anyFailed || setupError !== undefined });
    }
  });

  const suite: LabSuite = {
    kernel,
    handle() {
      if (setupError !== undefined) throw setupError;
      if (!handle) throw new InfraError('the lab did not come up (see the suite log)');
      return handle;
    },
    it(name, fn, baseTimeoutMs = DEFAULT_TIMEOUT, test = {}) {
      const timeoutMs = scaled(baseTimeoutMs, planned);
      it(
        name,
        async (ctx) => {
          await allure.parameter('kernel', kernel);
          if (append) await allure.parameter('append', append);
          if (opts.seed !== undefined) await allure.parameter('seed', `${opts.seed}`);
          try {
            // Once per suite, for the run's time table (failure-summary.ts).
            if (labSetupSeconds !== undefined) {
              await ctx.annotate(`${Math.round(labSetupSeconds)}`, 'lab setup s');
              labSetupSeconds = undefined;
            }
            await judged(suite, ctx, name, fn, timeoutMs - scaled(JUDGE_MARGIN, planned), opts, test, memory);
          } catch (e) {
            anyFailed = true;
            throw e;
          }
          if ((ctx.task.result?.errors?.length ?? 0) > 0) anyFailed = true;
        },
        timeoutMs,
      );
    },
  };
  return suite;
}

/** Attachments in the report stay small: a text's last ATTACH_MAX bytes, saying what was cut (the bundle has it all). */
const ATTACH_MAX = 256 * 1024;
function tail(text: string): string {
  return text.length <= ATTACH_MAX ? text : `[first ${text.length - ATTACH_MAX} characters cut: the evidence bundle has the whole text]\n${text.slice(-ATTACH_MAX)}`;
}

/** The error with what an assertion compared, so a bundle explains itself without the report. */
function describeError(e: unknown): string {
  const err = e as Error & { actual?: unknown; expected?: unknown };
  const parts = [`${err.stack ?? err}`];
  if ('actual' in err || 'expected' in err) parts.push(`--- expected ---\n${JSON.stringify(err.expected, null, 2)}`, `--- actual ---\n${JSON.stringify(err.actual, null, 2)}`);
  return parts.join('\n');
}

async function judged(suite: LabSuite, ctx: TestContext, name: string, fn: (h: LabHandle, ctx: TestContext) => Promise<void>, bodyMs: number, opts: LabSuiteOptions, test: TestOptions, memory: SuiteMemory): Promise<void> {
  const seed = opts.seed;
  const h = suite.handle();
  const scale = h.lab.timeScale;
  const nodes = h.lab.nodes;
  const facts = factPairs(await labFacts(h.lab));
  for (const [k, v] of facts) await ctx.annotate(v, k);
  await ctx.annotate(describeTimeScale(scale), 'time scale');
  // A link lost in an earlier test may still be coming back.
  await Promise.all(nodes.map((n) => n.linkSettled()));
  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  const consoleMarks = new Map(nodes.map((n) => [n.name, n.target.console.text().length]));
  // Printed since the last test was judged: nobody has answered for these yet.
  const before = new Map(nodes.map((n) => [n.name, findReports(n.target.console.text().slice(memory.marks.get(n.name) ?? 0, consoleMarks.get(n.name)))]));
  const dmesgMarks = new Map<string, number>();
  await Promise.all(
    nodes.map(async (n) => {
      if (n.state === 'gone') return;
      const m = await n.rpc.call('dmesgMark', {}, 15000).catch(() => undefined);
      if (m) dmesgMarks.set(n.name, m.seq);
    }),
  );

  const crashed = memory.earlierCrash && nodes.find((n) => n.name === memory.earlierCrash!.node)?.state === 'gone' ? memory.earlierCrash : undefined;
  const goneAtStart = nodes.filter((n) => n.state === 'gone');
  let err: unknown;
  if (crashed || goneAtStart.length) {
    // Nothing to run it on: judged from what the consoles say.
    err = new InfraError(`${goneAtStart.map((n) => `node ${n.name} is gone: ${n.goneReason ?? 'gone'}`).join('; ')} before the test began`);
  } else {
    try {
      await withDeadline(fn(h, ctx), bodyMs, `test "${name}"`, nodes);
    } catch (e) {
      err = e;
    }
  }
  // A node that died under the test: give its last console lines a moment to land.
  if (err !== undefined || nodes.some((n) => n.state === 'gone')) await sleep(scaled(1500, scale));
  const current = suite.handle().lab.nodes;
  const collected = await collectReports(current, consoleMarks, dmesgMarks);
  const { dmesg } = collected;
  const expected: NodeReport[] = [];
  const keep = (node: string, rs: KernelReport[]) =>
    rs.filter((report) => {
      const ok = test.expectReports?.({ node, report }) === true;
      if (ok) expected.push({ node, report });
      return !ok;
    });
  const hostSide = err instanceof InfraError;
  const observations: NodeObservation[] = [];
  const diagnoses: Record<string, string> = {};
  for (const n of current) {
    const o: NodeObservation = {
      node: n.name,
      reports: keep(n.name, collected.reports.get(n.name) ?? []),
      reportsBefore: keep(n.name, before.get(n.name) ?? []),
      gone: n.state === 'gone' ? n.goneReason ?? 'gone' : undefined,
      vcpu: isVm(n) ? memory.monitor?.window(n.name, t0) : undefined,
      dmesgError: collected.dmesgErrors.get(n.name),
    };
    if ((hostSide || o.dmesgError) && n.state !== 'gone' && n.target.power.isOn()) {
      Object.assign(o, await probe(n, scale, memory.monitor, consoleMarks.get(n.name) ?? 0));
      if (!o.answered && isVm(n)) {
        // Ask the silent guest what it is doing, then look again for what it printed.
        diagnoses[`${n.name}.diagnosis.txt`] = await diagnoseVm(n.target, scaled(3000, scale));
        o.reports.push(...keep(n.name, findReports(n.target.console.text().slice(consoleMarks.get(n.name) ?? 0)).filter((r) => !o.reports.some((x) => x.title === r.title))));
      }
    }
    observations.push(o);
  }
  const softErrors = ctx.task.result?.errors ?? [];
  const firstSoft = softErrors[0] as { message?: string } | undefined;
  const j = judge({
    test: name,
    error: err !== undefined ? { message: (err as Error).message ?? `${err}`, hostSide } : firstSoft ? { message: firstSoft.message ?? 'a soft assertion failed', hostSide: false } : undefined,
    nodes: observations,
    earlierCrash: crashed,
    previousTest: memory.previousTest,
  });
  // A node that went down with a report: later tests name it instead of failing for it again.
  if (j.verdict === 'failed' && j.why === 'crash') {
    const dead = j.reports.find((r) => current.find((n) => n.name === r.node)?.state === 'gone' || r.report.fatal);
    if (dead) memory.earlierCrash = { node: dead.node, title: dead.report.title, test: name };
  }
  memory.marks = new Map(current.map((n) => [n.name, n.target.console.text().length]));
  memory.previousTest = name;

  for (const r of expected) await allure.attachment(`expected kernel report ${r.node}: ${r.report.title}`, r.report.text, { contentType: 'text/plain' });
  for (const r of j.explained) await allure.attachment(`kernel report explained by the host ${r.node}: ${r.report.title}`, r.report.text, { contentType: 'text/plain' });
  for (const r of j.reports) await allure.attachment(`kernel report ${r.node}: ${r.report.title}`, r.report.text, { contentType: 'text/plain' });
  const failure = judgementError(j, err);
  if (failure !== undefined || softErrors.length > 0) {
    // In the report itself, so a copied report (a CI artifact, one HTML file) holds the evidence; the bundle keeps whole files.
    for (const n of current) {
      await allure.attachment(`console ${n.name} (during the test)`, tail(n.target.console.text().slice(consoleMarks.get(n.name) ?? 0)), { contentType: 'text/plain' });
      const d = dmesg.get(n.name);
      if (d !== undefined) await allure.attachment(`dmesg ${n.name}`, tail(d), { contentType: 'text/plain' });
      const note = machineNote(n);
      await allure.attachment(note.file, tail(note.text), { contentType: 'text/plain' });
    }
    const host = observations.filter((o) => o.vcpu || o.probeVcpu).map((o) => [o.vcpu && `during the test: ${describeWindow(o.node, o.vcpu)}`, o.probeVcpu && `during the probe: ${describeWindow(o.node, o.probeVcpu)}`].filter(Boolean).join('\n'));
    const hostText = [`time scale ${describeTimeScale(scale)}`, ...host].join('\n');
    await allure.attachment('host', hostText, { contentType: 'text/plain' });
    const verdict = j.verdict === 'passed' ? 'failed' : j.verdict;
    const suiteFiles = opts.evidence ? await opts.evidence(h).catch((e: Error) => ({ 'evidence-error.txt': `${e.stack ?? e}` })) : {};
    const files: Record<string, string> = { ...suiteFiles, ...diagnoses, 'host.txt': `${hostText}\n`, 'vcpu-samples.json': JSON.stringify(Object.fromEntries(current.map((n) => [n.name, memory.monitor?.samples(n.name).filter((x) => x.t >= t0 - 5000) ?? []]))) };
    for (const [f, text] of Object.entries({ ...suiteFiles, ...diagnoses })) await allure.attachment(f, text, { contentType: 'text/plain' });
    const bundle = await saveTestBundle(h.lab, {
      test: name,
      file: ctx.task.file?.filepath ?? '',
      verdict,
      error: failure !== undefined ? `${j.why}: ${describeError(failure)}` : JSON.stringify(softErrors, null, 2),
      seed,
      startedAt,
      endedAt: new Date().toISOString(),
      reports: j.reports,
      consoleSince: consoleMarks,
      dmesg,
      files,
      extra: { timeScale: describeTimeScale(scale) },
    });
    await allure.attachment('evidence bundle', bundle, { contentType: 'text/plain' });
    await allure.link(`file://${bundle}`, 'evidence bundle');
    await ctx.annotate(bundle, 'bundle');
    log(`test "${name}" ${verdict} (${j.why}): evidence in ${bundle}`);
  }
  if (failure !== undefined) throw failure;
}
