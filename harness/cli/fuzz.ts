// `m3lab fuzz minimize` and `m3lab fuzz coverage`: a failed fuzz test cut down to a C reproducer, and the module's coverage of a run.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { ConfigError, InfraError } from '../errors.ts';
import { describeSignature, minimize, reportSignature, signatureMatches, type ReportSignature, type Trial, type TrialResult } from '../fuzz/minimize.ts';
import { callCount, parseRawDump, reproC, type Program } from '../fuzz/repro.ts';
import { moduleCoverage, formatCoverage } from '../fuzz/coverage.ts';
import { parseKernelList, type KernelVariant } from '../image/kernel/variants.ts';
import { resolveKernel } from '../image/kernel/resolve.ts';
import { buildKmod } from '../kmod/build.ts';
import { loadModule, unloadModule, type RemoteKmod } from '../kmod/deploy.ts';
import { installKmod } from '../kmod/install.ts';
import { Lab } from '../lab/lab.ts';
import { resolveLab } from '../lab/lab-file.ts';
import type { LabNode } from '../lab/node.ts';
import { repoRoot } from '../paths.ts';
import { readBundleTest } from '../report/bundle-file.ts';

const log = (l: string) => process.stderr.write(`${l}\n`);


/** The fuzzer's raw ring dumps of one node of a bundle, and which node. */
function bundleDumps(dir: string, node?: string): { node: string; text: string } {
  const files = readdirSync(dir).filter((f) => /^m3fuzz-raw-.+\.txt$/.test(f));
  if (files.length === 0) throw new ConfigError('BUNDLE', `${dir} has no m3fuzz-raw-*.txt (a bundle of the fuzz suite, lab-fuzz, has them)`);
  const nodes = [...new Set(files.map((f) => /^m3fuzz-raw-(.+?)-p\d+/.exec(f)?.[1] ?? ''))].filter(Boolean);
  const pick = node && nodes.includes(node) ? node : nodes[0]!;
  const text = files.filter((f) => f.startsWith(`m3fuzz-raw-${pick}-`)).sort().map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
  return { node: pick, text };
}

/** Runs reproducers on one lab node; a kernel report gets a fresh module (or a fresh node) after it. */
class NodeTrials {
  private work = mkdtempSync(path.join(os.tmpdir(), 'm3-repro-'));
  constructor(
    private lab: Lab,
    private node: LabNode,
    private remote: RemoteKmod,
    private seconds: number,
    private signature: ReportSignature | undefined,
  ) {}

  async compile(p: Program, what: string): Promise<{ c: string; bin: string }> {
    const c = reproC(p, { what, seconds: this.seconds });
    const src = path.join(this.work, 'repro.c');
    const bin = path.join(this.work, 'repro');
    writeFileSync(src, c);
    const cc = await execa('gcc', ['-O2', '-static', '-pthread', '-Wall', '-I', path.join(repoRoot, 'kmod'), '-o', bin, src], { reject: false, all: true });
    if (cc.exitCode !== 0) throw new InfraError(`the reproducer does not compile:\n${cc.all}`);
    return { c, bin };
  }

  readonly trial: Trial = async (p) => {
    const { bin } = await this.compile(p, 'trial');
    const put = await this.node.ssh!.exec('cat > /tmp/m3repro && chmod +x /tmp/m3repro', { stdin: readFileSync(bin), timeoutMs: 60_000 * this.lab.timeScale.factor });
    if (put.code !== 0) throw new InfraError(`${this.node.name}: copying the reproducer failed: ${put.stderr}`);
    const res = await this.node.rpc.call('exec', { cmd: '/tmp/m3repro', args: [`${this.seconds}`], timeoutMs: (this.seconds + 40) * 1000 }, (this.seconds + 60) * 1000);
    const out = res.stdout;
    const report = /^not ok 1 - kernel report after [\d.]+ s \(\d+ calls\): (.*)$/m.exec(out)?.[1];
    const rest = [...out.matchAll(/^# report: (.*)$/gm)].map((m) => m[1]!);
    const result: TrialResult = report
      ? { reproduced: this.signature ? signatureMatches(this.signature, report, rest) : true, line: report.trim() }
      : { reproduced: false, line: (/^(not )?ok 1 - .*$/m.exec(out)?.[0] ?? /^Bail out!.*$/m.exec(out)?.[0] ?? `exit ${res.code}`).trim() };
    if (report || res.timedOut || /stuck in the kernel/.test(out)) await this.freshModule();
    return result;
  };

  /** After a kernel report the module's state is suspect: reload it, or restart the node if it will not go. */
  private async freshModule(): Promise<void> {
    const rm = await unloadModule(this.node).catch(() => ({ code: 1, stderr: 'no answer' }));
    if (rm.code !== 0) {
      log(`  ${this.node.name}: rmmod m3ipc failed (${rm.stderr}); restarting the node`);
      this.node = (await this.lab.restart(this.node.name)) as LabNode;
      this.remote = (await installKmod([this.node], [1], log)).get(this.node.name)!;
      return;
    }
    await loadModule(this.node, this.remote);
    const init = await this.node.sh(`${this.remote.m3ctl} dvs-init 1`);
    if (init.code !== 0) throw new InfraError(`${this.node.name}: m3ctl dvs-init failed: ${init.stderr}`);
  }

  close(): void {
    rmSync(this.work, { recursive: true, force: true });
  }
}

/** The flags of `m3lab fuzz minimize` (cli.ts declares them). */
export interface MinimizeFlags {
  seconds?: string;
  trials?: string;
  out?: string;
  name?: string;
  any?: boolean;
}

/** `m3lab fuzz minimize BUNDLE`: the bundle's calls cut down to a C reproducer that still shows its report. */
export async function cmdMinimize(bundle: string, values: MinimizeFlags): Promise<number> {
  const dir = path.resolve(bundle);
  const testFile = path.join(dir, 'test.json');
  if (!existsSync(testFile)) throw new ConfigError('BUNDLE', `${dir} has no test.json`);
  const facts = readBundleTest(testFile);
  const seconds = Number(values.seconds ?? 10);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 600) throw new ConfigError('--seconds', `must be an integer 1..600, got ${values.seconds}`);
  const maxTrials = Number(values.trials ?? 80);
  if (!Number.isInteger(maxTrials) || maxTrials < 1) throw new ConfigError('--trials', `must be a positive integer, got ${values.trials}`);
  const report = facts.reports?.[0];
  if (!report && !values.any) throw new ConfigError('BUNDLE', `${testFile} names no kernel report; --any minimizes toward any report`);
  const signature = values.any ? undefined : reportSignature(report!.title);
  const { node: fromNode, text } = bundleDumps(dir, report?.node);
  const program = parseRawDump(text);
  const kernel = (facts.lab?.spec?.nodes?.[0]?.kernel ?? 'debug') as KernelVariant;
  parseKernelList(kernel, 'test.json lab.spec.nodes[0].kernel');
  const what = values.name ?? `reproducer of "${report?.title ?? 'a kernel report'}" (m3fuzz seed ${program.seed})`;
  log(`minimize: ${callCount(program)} calls of ${program.procs.length} processes (${fromNode}), seed ${program.seed}; wanted: ${signature ? describeSignature(signature) : 'any kernel report'}; ${kernel} kernel, ${seconds} s a trial, at most ${maxTrials} trials`);

  const lab = await Lab.boot(resolveLab({ name: 'fuzz-minimize', nodes: 1, cpus: 2 }, { kernel }), { log });
  let trials: NodeTrials | undefined;
  try {
    const node = lab.nodes[0] as LabNode;
    const remote = (await installKmod([node], [1], log)).get(node.name)!;
    trials = new NodeTrials(lab, node, remote, seconds, signature);
    // The whole program first: a bundle that does not reproduce here cannot be minimized.
    let first: TrialResult | undefined;
    for (let i = 0; i < 3 && !first?.reproduced; i++) first = await trials.trial(program);
    if (!first?.reproduced) {
      log(`minimize: the whole program did not reproduce in 3 trials of ${seconds} s (last: ${first?.line}); try --seconds ${seconds * 3}`);
      return 1;
    }
    const res = await minimize(program, trials.trial, { maxTrials, log });
    // A reproducer must show the bug most times: from the smallest stage up, the first that
    // reproduces in 2 of 3 more trials (the cuts of a race can leave it rare).
    let chosen = res.stages[0]!;
    let again = 0;
    const checks: string[] = [];
    for (const cand of [...res.stages].reverse()) {
      let hits = 0;
      checks.length = 0;
      for (let i = 0; i < 3 && hits + (3 - i) >= 2; i++) {
        const r = await trials.trial(cand);
        hits += r.reproduced ? 1 : 0;
        checks.push(r.line);
      }
      log(`minimize: check of ${callCount(cand)} calls: reproduced ${hits} of ${checks.length}`);
      chosen = cand;
      again = hits;
      if (hits >= 2) break;
    }
    const out = path.resolve(values.out ?? path.join(dir, 'repro.c'));
    const { c } = await trials.compile(chosen, `${what}; reproduced ${again} of ${checks.length} times in ${seconds} s after minimizing`);
    writeFileSync(out, c);
    log(`minimize: ${callCount(program)} -> ${callCount(chosen)} calls, ${chosen.procs.length} processes, ${res.trials} trials; it reproduced ${again}/${checks.length}: ${checks.join(' | ')}`);
    for (const s of res.steps) log(`  ${s.step.padEnd(16)} ${s.before} -> ${s.after} (${s.trials} trials)`);
    console.log(out);
    return again >= 2 ? 0 : 1;
  } finally {
    trials?.close();
    await lab.teardown();
  }
}

/** `m3lab fuzz coverage COVER_FILE`: the module's line and block coverage of an m3fuzz --cover file. */
export async function cmdCoverage(coverFile: string, values: { kernel?: string; json?: boolean; missed?: boolean }): Promise<number> {
  const kernel = (values.kernel ?? 'debug') as KernelVariant;
  parseKernelList(kernel);
  const k = await resolveKernel(kernel, log);
  const a = await buildKmod(k, log);
  const r = await moduleCoverage(a.module, readFileSync(coverFile, 'utf8'));
  console.log(values.json ? JSON.stringify(r, null, 2) : formatCoverage(r, { missed: values.missed }));
  return 0;
}
