import * as allure from 'allure-js-commons';
import path from 'node:path';
import { afterAll, beforeAll, it, type TestContext } from 'vitest';
import { InfraError } from '../../harness/errors.ts';
import { SshTransport } from '../../harness/transport/ssh.ts';
import { saveTestBundle } from '../../harness/report/bundle.ts';
import { factPairs, labFacts, writeAllureEnvironment } from '../../harness/report/environment.ts';
import { findReports, type KernelReport } from '../../harness/report/kernel-reports.ts';
import { describeReports, KernelFailure, NodeHangError, verdictOf } from '../../harness/report/verdict.ts';
import { repoRoot } from '../../harness/paths.ts';
import type { LabNode } from '../../harness/lab/node.ts';
import { releaseLab, useLab, type LabHandle } from './lab-fixture.ts';

export type NodeReport = { node: string; report: KernelReport };

export interface LabSuiteOptions {
  /**
   * What the suite needs of a lab (lab-file fields); the kernel comes from
   * M3LAB_KERNEL. A function is called in beforeAll (a suite that first sets
   * up a simulated board names it only then); its failure fails every test.
   */
  need: Record<string, unknown> | (() => Promise<Record<string, unknown>>);
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
  /** A test judged by the lab's rules (see labTest). */
  it(name: string, fn: (h: LabHandle, ctx: TestContext) => Promise<void>, timeoutMs?: number, test?: TestOptions): void;
  /** Kernel variant the suite asked for. */
  readonly kernel: string;
}

const log = (l: string) => process.stderr.write(`${l}\n`);
const DEFAULT_TIMEOUT = 5 * 60_000;
/** Room left after the test body for judging, dmesg and the bundle. */
const JUDGE_MARGIN = 45_000;

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
export function labSuite(opts: LabSuiteOptions): LabSuite {
  const { kernel, append } = suiteKernel();
  const base = { kernel, ...(append ? { append } : {}) };
  let handle: LabHandle | undefined;
  let setupError: unknown;
  let anyFailed = false;

  beforeAll(async () => {
    if (opts.seed !== undefined) log(`seed ${opts.seed}: M3LAB_SEED=${opts.seed} replays this run's random choices`);
    try {
      handle = await useLab({ ...base, ...(typeof opts.need === 'function' ? await opts.need() : opts.need) });
      const facts = await labFacts(handle.lab);
      writeAllureEnvironment(process.env.M3LAB_ALLURE_RESULTS ?? path.join(repoRoot, 'allure-results'), `${handle.lab.state.spec.name}.`, factPairs(facts));
      await opts.setup?.(handle);
      // What the kernels reported while the suite set its lab up (module load,
      // proxies) belongs to no test: it fails them all.
      const setupReports = handle.lab.nodes.flatMap((n) => findReports(n.target.console.text().slice(handle!.consoleStart.get(n.name) ?? 0)).map((report) => ({ node: n.name, report })));
      if (setupReports.length) {
        throw new KernelFailure(`kernel report while the suite set up its lab: ${describeReports(setupReports)}\n\n${setupReports[0]!.report.text}`, setupReports);
      }
    } catch (e) {
      setupError = e;
      log(`suite: the lab is not usable, every test of this file will say why: ${(e as Error).message.split('\n')[0]}`);
    }
  });

  afterAll(async () => {
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
    it(name, fn, timeoutMs = DEFAULT_TIMEOUT, test = {}) {
      it(
        name,
        async (ctx) => {
          await allure.parameter('kernel', kernel);
          if (append) await allure.parameter('append', append);
          if (opts.seed !== undefined) await allure.parameter('seed', `${opts.seed}`);
          try {
            await judged(suite, ctx, name, fn, timeoutMs - JUDGE_MARGIN, opts, test);
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

/** The error with what an assertion compared, so a bundle explains itself without the report. */
function describeError(e: unknown): string {
  const err = e as Error & { actual?: unknown; expected?: unknown };
  const parts = [`${err.stack ?? err}`];
  if ('actual' in err || 'expected' in err) parts.push(`--- expected ---\n${JSON.stringify(err.expected, null, 2)}`, `--- actual ---\n${JSON.stringify(err.actual, null, 2)}`);
  return parts.join('\n');
}

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new InfraError(`${what}: no result within ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Console reports on every node since the marks, and kernel-log reports of nodes that still answer. */
async function collectReports(nodes: LabNode[], consoleMarks: Map<string, number>, dmesgMarks: Map<string, number>): Promise<{ reports: NodeReport[]; dmesg: Map<string, string> }> {
  const reports: NodeReport[] = [];
  const dmesg = new Map<string, string>();
  for (const n of nodes) {
    const text = n.target.console.text().slice(consoleMarks.get(n.name) ?? 0);
    const seen = new Set<string>();
    for (const r of findReports(text)) {
      reports.push({ node: n.name, report: r });
      seen.add(r.title);
    }
    if (n.state === 'gone' || !n.agent) continue;
    try {
      const all = await n.rpc.call('dmesg', { since: -1 }, 20000);
      dmesg.set(n.name, all.records.map((r) => `[${(r.usec / 1e6).toFixed(6)}] ${r.text}`).join('\n'));
      const since = dmesgMarks.get(n.name);
      if (since === undefined) continue;
      const recent = all.records.filter((r) => r.seq > since);
      // The console shows what reached it; dmesg has what the console level hid.
      for (const r of findReports(recent.map((x) => x.text).join('\n'))) if (!seen.has(r.title)) reports.push({ node: n.name, report: r });
    } catch {
      // A node that does not answer is judged by its console (and the hang check).
    }
  }
  return { reports, dmesg };
}

/**
 * A node whose machine still runs but that answers nothing on a fresh SSH
 * connection is hung (the guest kernel, not the host, failed); one that answers
 * means the harness lost its link, a host-side problem.
 */
async function hungNodes(nodes: LabNode[]): Promise<string[]> {
  const hung: string[] = [];
  await Promise.all(
    nodes.map(async (n) => {
      if (n.state === 'gone' || !n.target.power.isOn()) return;
      const alive = await n.rpc
        .call('exec', { cmd: '/bin/true', args: [], timeoutMs: 5000 }, 10000)
        .then(() => true)
        .catch(() => false);
      if (alive) return;
      const ssh = new SshTransport(`${n.name}-probe`, n.target.ssh);
      try {
        await ssh.connect(Date.now() + 15000);
        const r = await ssh.exec('true', { timeoutMs: 10000 });
        if (r.code !== 0) hung.push(n.name);
      } catch {
        hung.push(n.name);
      } finally {
        ssh.close();
      }
    }),
  );
  return hung;
}

async function judged(suite: LabSuite, ctx: TestContext, name: string, fn: (h: LabHandle, ctx: TestContext) => Promise<void>, bodyMs: number, opts: LabSuiteOptions, test: TestOptions): Promise<void> {
  const seed = opts.seed;
  const h = suite.handle();
  const nodes = h.lab.nodes;
  const facts = factPairs(await labFacts(h.lab));
  for (const [k, v] of facts) await ctx.annotate(v, k);
  const startedAt = new Date().toISOString();
  const consoleMarks = new Map(nodes.map((n) => [n.name, n.target.console.text().length]));
  const dmesgMarks = new Map<string, number>();
  await Promise.all(
    nodes.map(async (n) => {
      if (n.state === 'gone') return;
      const m = await n.rpc.call('dmesgMark', {}, 15000).catch(() => undefined);
      if (m) dmesgMarks.set(n.name, m.seq);
    }),
  );

  let err: unknown;
  try {
    await withDeadline(fn(h, ctx), bodyMs, `test "${name}"`);
  } catch (e) {
    err = e;
  }
  // A node that died under the test: give its last console lines a moment to land.
  if (err !== undefined || nodes.some((n) => n.state === 'gone')) await new Promise((r) => setTimeout(r, 1500));
  const current = suite.handle().lab.nodes;
  const collected = await collectReports(current, consoleMarks, dmesgMarks);
  const { dmesg } = collected;
  const expected = collected.reports.filter((r) => test.expectReports?.(r) === true);
  for (const r of expected) await allure.attachment(`expected kernel report ${r.node}: ${r.report.title}`, r.report.text, { contentType: 'text/plain' });
  const reports = collected.reports.filter((r) => !expected.includes(r));
  let failure: unknown = err;
  if (reports.length > 0) {
    for (const r of reports) await allure.attachment(`kernel report ${r.node}: ${r.report.title}`, r.report.text, { contentType: 'text/plain' });
    failure = new KernelFailure(`kernel report while the test ran: ${describeReports(reports)}${err ? `\n(the test saw: ${(err as Error).message})` : ''}\n\n${reports[0]!.report.text}`, reports, { cause: err });
  } else if (err instanceof InfraError) {
    const hung = await hungNodes(current);
    if (hung.length) failure = new NodeHangError(`${hung.join(', ')} hung: QEMU runs but the guest answers nothing (the test saw: ${(err as Error).message})`, [], { cause: err });
  }
  const softErrors = ctx.task.result?.errors?.length ?? 0;
  if (failure !== undefined || softErrors > 0) {
    for (const n of current) await allure.attachment(`console ${n.name} (during the test)`, n.target.console.text().slice(consoleMarks.get(n.name) ?? 0), { contentType: 'text/plain' });
    const verdict = failure !== undefined ? verdictOf(failure) : 'failed';
    const files = opts.evidence ? await opts.evidence(h).catch((e: Error) => ({ 'evidence-error.txt': `${e.stack ?? e}` })) : {};
    for (const [f, text] of Object.entries(files)) await allure.attachment(f, text, { contentType: 'text/plain' });
    const bundle = await saveTestBundle(h.lab, {
      test: name,
      file: ctx.task.file?.filepath ?? '',
      verdict,
      error: failure !== undefined ? describeError(failure) : JSON.stringify(ctx.task.result?.errors ?? [], null, 2),
      seed,
      startedAt,
      endedAt: new Date().toISOString(),
      reports,
      consoleSince: consoleMarks,
      dmesg,
      files,
    });
    await allure.attachment('evidence bundle', bundle, { contentType: 'text/plain' });
    await allure.link(`file://${bundle}`, 'evidence bundle');
    await ctx.annotate(bundle, "bundle");
    log(`test "${name}" ${verdict}: evidence in ${bundle}`);
  }
  if (failure !== undefined) throw failure;
}
