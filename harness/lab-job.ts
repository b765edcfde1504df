import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { buildImage } from './image/build.ts';
import { Lab, currentLabDir, readState, sweepStale } from './lab/lab.ts';
import { loadLabFile, type LabOptions } from './lab/lab-file.ts';
import { repoRoot } from './paths.ts';
import { qemuVersionOnce } from './report/environment.ts';
import { readAllureResult } from './report/allure-result.ts';

export interface Verdicts {
  passed: number;
  failed: number;
  broken: number;
  skipped: number;
  failures: { name: string; status: string; message: string }[];
}

/** Counts Allure verdicts (passed / failed / broken / skipped) from allure-results/. */
export function readVerdicts(dir: string): Verdicts {
  const v: Verdicts = { passed: 0, failed: 0, broken: 0, skipped: 0, failures: [] };
  if (!existsSync(dir)) return v;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('-result.json'))) {
    const r = readAllureResult(path.join(dir, f));
    const key = (['passed', 'failed', 'broken', 'skipped'] as const).find((k) => k === r.status) ?? 'broken';
    v[key]++;
    if (key === 'failed' || key === 'broken') v.failures.push({ name: r.fullName ?? r.name, status: key, message: (r.statusDetails?.message ?? '').split('\n')[0]!.slice(0, 200) });
  }
  return v;
}

/** A suite named on the command line (`lab`, or a path) as the file vitest runs. */
export function suitePath(s: string): string {
  return s.includes('/') || s.endsWith('.ts') ? s : `suites/${s}.test.ts`;
}

/** Runs a command in the repository with this terminal; resolves with its exit code. */
export async function run(cmd: string, args: string[], o: { timeoutMs?: number } = {}): Promise<number> {
  // No execa cleanup: on Ctrl-C the command gets the terminal's SIGINT itself and winds down its own way, as it always did.
  // A bound (a test's) ends the command (SIGTERM, then execa's SIGKILL) and makes the run fail.
  const r = await execa(cmd, args, { stdio: 'inherit', cwd: repoRoot, reject: false, cleanup: false, ...(o.timeoutMs ? { timeout: o.timeoutMs } : {}) });
  return r.exitCode ?? (r.signal ? 128 : 1);
}

/**
 * The main job (`make lab`): build what is missing, boot the default lab (or use
 * the one that is up), run the lab suites on it, write Allure results, JUnit XML
 * and the HTML report, tear down what it booted, and print a summary.
 */
export async function labJob(opts: { labFile?: string; overrides?: LabOptions; suites?: string[] } = {}): Promise<number> {
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const started = Date.now();
  sweepStale(undefined, log);
  const image = await buildImage({ log });
  let lab: Lab | undefined;
  let booted = false;
  const results = path.join(repoRoot, 'allure-results');
  rmSync(results, { recursive: true, force: true });
  try {
    if (readState(currentLabDir())) {
      lab = await Lab.attach(currentLabDir());
      log(`lab: using the lab that is already up (${lab.state.id})`);
    } else {
      const spec = loadLabFile(opts.labFile ?? path.join(repoRoot, 'labs', 'default.yaml'), opts.overrides);
      lab = await Lab.boot(spec, { detached: true, log });
      booted = true;
    }
    const status = lab.status();
    const accel = lab.state.accel;
    lab.detach();
    if (booted) {
      // Still ours to tear down on SIGINT/SIGTERM while the suites run.
      const { own } = await import('./lab/cleanup.ts');
      own({ dir: lab.dir, pids: () => lab!.state.nodes.map((n) => n.pid!).concat(lab!.state.vdePid ? [lab!.state.vdePid] : []) });
    }
    const suites = (opts.suites ?? []).map(suitePath);
    // The suites must judge the lab they run on by its kernel: the one this job booted.
    if (opts.overrides?.kernel) process.env.M3LAB_KERNEL = opts.overrides.kernel;
    const testCode = await run(path.join(repoRoot, 'node_modules', '.bin', 'vitest'), ['run', '--project', 'lab', ...suites]);
    const { generateLocalReport } = await import('./report/local-report.ts');
    const reportCode = await generateLocalReport(results, 'm3lab lab');
    const v = readVerdicts(results);
    const lines = [
      '',
      '=== m3lab summary ===',
      `image      ${image.name} ${image.hash} (kernel ${image.release})`,
      `lab        ${lab.state.id}: ${status.length} node(s), accelerator ${accel.accel} (${accel.reason})`,
      `qemu       ${await qemuVersionOnce()}`,
      ...status.map((s) => `           ${s.name}: kernel ${s.kernel} (${s.release}), ${s.vcpus} vCPU${s.maxcpus > s.vcpus ? ` (max ${s.maxcpus})` : ''}, ready in ${s.readySeconds ?? '?'} s, ssh 127.0.0.1:${s.sshPort}, lan ${s.lanAddress}`),
      `tests      ${v.passed} passed, ${v.failed} failed, ${v.broken} broken (lab errors), ${v.skipped} skipped`,
      ...v.failures.map((f) => `  ${f.status.toUpperCase().padEnd(7)} ${f.name}: ${f.message}`),
      `results    ${results}`,
      `junit      ${path.join(repoRoot, 'reports', 'junit.xml')}`,
      `report     ${reportCode === 0 ? path.join(repoRoot, 'allure-report', 'index.html') : 'not generated (allure failed)'}`,
      `took       ${Math.round((Date.now() - started) / 1000)} s`,
    ];
    console.log(lines.join('\n'));
    return testCode !== 0 ? testCode : reportCode;
  } finally {
    if (booted && lab) {
      const again = await Lab.attach(lab.dir, { connect: false }).catch(() => undefined);
      await again?.teardown();
    }
  }
}
