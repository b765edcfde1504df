import * as allure from 'allure-js-commons';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../harness/paths.ts';
import { cmdline, descendants, isAlive, processesWithMarker, signalIfOurs } from '../harness/host/procs.ts';
import { waitUntil } from '../harness/host/wait.ts';
import { hostFactor, scaled } from '../harness/verdict/time-scale.ts';
import { generateLocalReport, localReportDir } from '../harness/report/local-report.ts';
import { openAttachment, openReport, openTestResult, shownText, withChromium } from './support/report-browser.ts';

/**
 * Proof that the lab tells the truth: suites that fail on purpose
 * (tests/verdicts/*.suite.ts, tests/canary/canary.suite.ts) run in a nested
 * vitest with their own Allure results, and the verdicts, reports and evidence
 * they produced are checked here.
 */
interface Attachment {
  name: string;
  source: string;
}
interface Result {
  name: string;
  status: string;
  statusDetails?: { message?: string };
  attachments: Attachment[];
  steps?: { attachments?: Attachment[]; steps?: unknown[] }[];
  links?: { url: string; name?: string }[];
  parameters?: { name: string; value: string }[];
}

interface FixtureRun {
  results: Result[];
  dir: string;
  output: string;
}

async function runFixture(file: string | string[], env?: Record<string, string>, timeoutMs?: number): Promise<FixtureRun> {
  const run = await nestedRun(file, env, timeoutMs);
  await attachRun(file, run);
  return run;
}

async function attachRun(file: string | string[], run: FixtureRun): Promise<void> {
  await allure.attachment(`nested run of ${[file].flat().join(' ')}`, run.output, { contentType: 'text/plain' });
}

/** A nested vitest run of fixture suites; attaches nothing, so it may run beside another test. */
async function nestedRun(file: string | string[], env: Record<string, string> = {}, timeoutMs = 15 * 60_000): Promise<FixtureRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3lab-verdicts-'));
  const res = await execa(path.join(repoRoot, 'node_modules', '.bin', 'vitest'), ['run', '--config', 'tests/verdicts/vitest.config.ts', ...[file].flat()], {
    cwd: repoRoot,
    reject: false,
    all: true,
    env: { ...process.env, M3LAB_OWN_LAB: '1', M3LAB_ALLURE_RESULTS: dir, M3LAB_KERNEL: '', M3LAB_APPEND: '', ...env },
    timeout: timeoutMs,
  });
  const results = readdirSync(dir)
    .filter((f) => f.endsWith('-result.json'))
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Result);
  return { results, dir, output: res.all ?? '' };
}

function attachmentsOf(r: Result): Attachment[] {
  const out = [...r.attachments];
  const walk = (steps: Result['steps']) => {
    for (const s of steps ?? []) {
      out.push(...(s.attachments ?? []));
      walk(s.steps as Result['steps']);
    }
  };
  walk(r.steps);
  return out;
}

function attachmentText(dir: string, r: Result, name: RegExp): string {
  const a = attachmentsOf(r).filter((x) => name.test(x.name));
  return a.map((x) => readFileSync(path.join(dir, x.source), 'utf8')).join('\n');
}

function bundleOf(dir: string, r: Result): string {
  const p = attachmentText(dir, r, /^evidence bundle$/).trim();
  expect(p, `${r.name}: no evidence bundle attached`).not.toBe('');
  expect(existsSync(path.join(p, 'test.json')), `${p}/test.json`).toBe(true);
  return p;
}

const byName = (results: Result[]) => new Map(results.map((r) => [r.name, r]));

/** A one-node lab from `m3lab up` in a state folder of its own, handed to fn, then taken down. */
async function withUpLab<T>(fn: (env: Record<string, string>) => Promise<T>): Promise<T> {
  const state = mkdtempSync(path.join(os.tmpdir(), 'm3lab-up-'));
  const labFile = path.join(state, 'attached.yaml');
  writeFileSync(labFile, 'name: verdict-attached\naccel: auto\nnodes:\n  - { name: node1, cpus: 1 }\nmemory: 1024\n');
  const env = { M3LAB_STATE: state, M3LAB_OWN_LAB: '0', M3LAB_KERNEL: '', M3LAB_APPEND: '' };
  const cli = (args: string[]) => execa('node', [path.join(repoRoot, 'bin', 'm3lab.js'), ...args], { cwd: repoRoot, reject: false, all: true, env: { ...process.env, ...env }, timeout: 5 * 60_000 });
  try {
    const up = await cli(['up', '--lab', labFile]);
    await allure.attachment('m3lab up', up.all ?? '', { contentType: 'text/plain' });
    expect(up.exitCode, up.all).toBe(0);
    return await fn(env);
  } finally {
    const down = await cli(['down']);
    await allure.attachment('m3lab down', down.all ?? '', { contentType: 'text/plain' });
    rmSync(state, { recursive: true, force: true });
  }
}

/** The between-tests fixture's results: the crash is failed once, with the panic, and hidden nowhere. */
function expectCrashBetweenTests(results: Result[], dir: string): void {
  const r = byName(results);
  expect([...r.keys()].sort()).toEqual(['(the host waits while the node crashes)', 'arms a crash for after its end', 'finds the node crashed', 'runs after the crash was reported']);
  expect(r.get('arms a crash for after its end')!.status).toBe('passed');
  const found = r.get('finds the node crashed')!;
  expect(found.status).toBe('failed');
  expect(found.statusDetails?.message).toMatch(/kernel report after test "arms a crash for after its end" ended and before this one began: node1: .*panic/i);
  expect(attachmentText(dir, found, /^kernel report node1/)).toContain('Kernel panic - not syncing');
  bundleOf(dir, found);
  const later = r.get('runs after the crash was reported')!;
  expect(later.status).toBe('broken');
  expect(later.statusDetails?.message).toMatch(/node1 crashed earlier \(.*panic.*\), reported as failed by test "finds the node crashed"/i);
  // Exactly one result carries the crash as a failure.
  expect(results.filter((x) => x.status === 'failed').length).toBe(1);
}

/**
 * The report of the between-tests fixture as a person reads it: made by the
 * lab's own pipeline (one index.html, data inside) into a folder of its own,
 * opened from file:// in headless Chromium, the failed test reached by its
 * leaf in the tree, its kernel report opened: the panic shows there. Negative
 * controls, so that a page showing everything or nothing fails: the same
 * test's QEMU command line shows that command and no panic, and the page of
 * the test that passed shows no panic. Each browser wait is bounded by a step
 * scaled with the host, like every bound of the lab.
 */
async function expectReportShowsPanic(results: string): Promise<void> {
  const panic = 'Kernel panic - not syncing';
  const step = scaled(30_000, hostFactor());
  const out = mkdtempSync(path.join(os.tmpdir(), 'm3lab-verdicts-report-'));
  try {
    expect(await generateLocalReport(results, 'm3lab verdicts: between', { dir: out, timeoutMs: 4 * step })).toBe(0);
    const index = path.join(localReportDir(out), 'index.html');
    await withChromium(step, async (browser) => {
      const { page, refused } = await openReport(browser, index, step);
      const failedId = await openTestResult(page, 'finds the node crashed');
      const report = await openAttachment(page, 'kernel report node1');
      await allure.attachment('the report in Chromium: finds the node crashed, its kernel report open', Buffer.from(await page.screenshot({ type: 'png' })), { contentType: 'image/png' });
      expect(report).toContain(panic);
      const qemu = await openAttachment(page, 'node1.qemu.txt');
      expect(qemu).toContain('qemu-system-x86_64 ');
      expect(qemu).not.toContain(panic);
      const other = (await openReport(browser, index, step)).page;
      const passedId = await openTestResult(other, 'arms a crash for after its end');
      expect(passedId).not.toBe(failedId);
      const shown = await shownText(other);
      expect(shown).toContain('Passed');
      expect(shown).not.toContain(panic);
      if (refused.length) await allure.attachment('requests the report made outside its file (refused)', refused.join('\n'), { contentType: 'text/plain' });
      // The report opens with no request outside its file: Allure's analytics are cut from it (stripAnalytics).
      expect(refused).toEqual([]);
    });
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * The suites the overload control runs: ipc-local in `make test` (it fits the
 * budget); `M3LAB_OVERLOAD_SUITES=full` adds ipc-remote and faults, as the
 * nightly and a by-hand check do; or a comma-separated list of suite files.
 */
function overloadSuites(): string[] {
  const v = process.env.M3LAB_OVERLOAD_SUITES?.trim();
  if (!v) return ['suites/ipc-local.test.ts'];
  if (v === 'full') return ['suites/ipc-local.test.ts', 'suites/ipc-remote.test.ts', 'suites/faults.test.ts'];
  return v.split(',').map((f) => f.trim()).filter(Boolean);
}

/** Two busy loops, one per host core, until stopped (by PID). */
function busyLoops(n = 2): { stop: () => void } {
  const kids = Array.from({ length: n }, () => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
  return {
    stop: () => {
      for (const k of kids) if (k.pid !== undefined && k.exitCode === null) process.kill(k.pid, 'SIGKILL');
    },
  };
}

const SIGSTOP_FIXTURE = 'tests/verdicts/sigstop.suite.ts';
/**
 * The SIGSTOP control's nested run starts with the suite and runs beside the
 * first tests: its guest spends a minute stopped, the host's cores idle, and
 * the tests beside it add the load a busy host would. Its test, later, waits
 * for it and judges it; the overload control runs only after it ended.
 */
let sigstopRun: Promise<FixtureRun> | undefined;

describe('verdicts: the lab reports kernel bugs as failed and host faults as broken', () => {
  beforeAll(() => {
    sigstopRun = nestedRun(SIGSTOP_FIXTURE);
    // Judged by its own test; an early rejection must not be unhandled meanwhile.
    sigstopRun.catch(() => undefined);
  });

  afterAll(async () => {
    // Its results folder, also when a filter (-t) left its test out.
    const run = await sigstopRun?.catch(() => undefined);
    if (run) rmSync(run.dir, { recursive: true, force: true });
  });

  it('a node whose kernel panics during a test yields a failed test with the panic text and a bundle', async () => {
    const { results, dir } = await runFixture('tests/verdicts/panic.suite.ts');
    try {
      expect(results.map((r) => r.status)).toEqual(['failed']);
      const r = results[0]!;
      expect(r.statusDetails?.message).toMatch(/kernel report while the test ran: node1: .*panic/i);
      const report = attachmentText(dir, r, /^kernel report node1/);
      expect(report).toContain('Kernel panic - not syncing');
      expect(report).toMatch(/sysrq/i);
      const bundle = bundleOf(dir, r);
      expect(readFileSync(path.join(bundle, 'node1.console.log'), 'utf8')).toContain('Kernel panic - not syncing');
      expect(readFileSync(path.join(bundle, 'reports.txt'), 'utf8')).toContain('Kernel panic - not syncing');
      expect(JSON.parse(readFileSync(path.join(bundle, 'test.json'), 'utf8'))).toMatchObject({ verdict: 'failed', nodes: [{ node: 'node1', kernel: 'default' }] });
      expect(readFileSync(path.join(bundle, 'node1.qemu.txt'), 'utf8')).toMatch(/^qemu-system-x86_64 .*-kernel /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a lab that cannot boot for a host-side reason yields broken tests, none skipped', async () => {
    const { results, dir } = await runFixture('tests/verdicts/noboot.suite.ts', { M3LAB_BOOT_TIMEOUT: '1' });
    try {
      expect(results.map((r) => r.status)).toEqual(['broken', 'broken']);
      for (const r of results) expect(r.statusDetails?.message).toMatch(/not ready before the boot deadline/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a kernel that panics while it boots yields a failed test, not a broken one', async () => {
    const { results, dir } = await runFixture('tests/verdicts/bootpanic.suite.ts');
    try {
      expect(results.map((r) => r.status)).toEqual(['failed']);
      expect(results[0]!.statusDetails?.message).toMatch(/kernel panic during boot/);
      expect(results[0]!.statusDetails?.message).toContain('Kernel panic - not syncing');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a node that hangs (QEMU runs, the guest answers nothing, not even a new SSH login) yields a failed test, not a broken one', async () => {
    const { results, dir } = await runFixture('tests/canary/hang.suite.ts');
    try {
      expect(results.map((r) => r.status)).toEqual(['failed']);
      expect(results[0]!.statusDetails?.message).toMatch(/node1 hung: QEMU runs but the guest answers nothing/);
      bundleOf(dir, results[0]!);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failed test\'s evidence bundle replays with one command (m3lab replay) and fails the same way, seed and all', async () => {
    const first = await runFixture('tests/verdicts/seeded.suite.ts');
    const again = mkdtempSync(path.join(os.tmpdir(), 'm3lab-verdicts-'));
    try {
      expect(first.results.map((r) => r.status)).toEqual(['failed']);
      const why = first.results[0]!.statusDetails?.message ?? '';
      const picked = /seed (\d+) picked (\d+), the node said (\d+)/.exec(why);
      expect(picked, why).not.toBeNull();
      const bundle = bundleOf(first.dir, first.results[0]!);
      // The report holds the evidence itself (a copied report is complete): the node's QEMU command line and dmesg.
      expect(attachmentText(first.dir, first.results[0]!, /^node1\.qemu\.txt$/)).toMatch(/^qemu-system-x86_64 /);
      expect(attachmentsOf(first.results[0]!).map((a) => a.name)).toContain('dmesg node1');
      // The one command, as a developer on a laptop would type it.
      const res = await execa('node', [path.join(repoRoot, 'bin', 'm3lab.js'), 'replay', bundle], {
        cwd: repoRoot,
        reject: false,
        all: true,
        env: { ...process.env, M3LAB_OWN_LAB: '1', M3LAB_ALLURE_RESULTS: again, M3LAB_KERNEL: '', M3LAB_APPEND: '', M3LAB_SEED: '' },
        timeout: 10 * 60_000,
      });
      await allure.attachment('m3lab replay', res.all ?? '', { contentType: 'text/plain' });
      expect(res.all).toContain(`replay: M3LAB_SEED=${picked![1]} npx vitest run --config tests/verdicts/vitest.config.ts tests/verdicts/seeded.suite.ts -t`);
      expect(res.exitCode).not.toBe(0);
      const replayed = readdirSync(again)
        .filter((f) => f.endsWith('-result.json'))
        .map((f) => JSON.parse(readFileSync(path.join(again, f), 'utf8')) as Result);
      expect(replayed.map((r) => [r.name, r.status])).toEqual([[first.results[0]!.name, 'failed']]);
      // The same failure: the same seed picked the same number, and the node answered the same.
      expect(replayed[0]!.statusDetails?.message).toContain(picked![0]);
    } finally {
      rmSync(first.dir, { recursive: true, force: true });
      rmSync(again, { recursive: true, force: true });
    }
  });

  it('the canary module on the debug kernel: lockdep, atomic sleep, WARN, UBSAN, list corruption and KASAN each make a failed test with the report attached', async () => {
    const { results, dir } = await runFixture('tests/canary/canary.suite.ts', { M3LAB_KERNEL: 'debug' });
    try {
      const byName = new Map(results.map((r) => [r.name, r]));
      const expected: [string, RegExp][] = [
        ['lock-order inversion', /WARNING: possible circular locking dependency detected[\s\S]*m3canary/],
        ["sleeping in atomic context", /(BUG: sleeping function called from invalid context|BUG: scheduling while atomic)[\s\S]*canary_sleep_atomic/],
        ['a WARN', /WARNING: CPU: \d+ PID: \d+ at \S*m3canary\.c:\d+ canary_write[\s\S]*---\[ end trace/],
        ['a shift out of bounds', /UBSAN: shift-out-of-bounds in [\s\S]*m3canary/],
        ['list corruption', /list_del corruption/],
        // KASAN, unless KFENCE sampled that allocation (KASAN does not check KFENCE's
        // objects): either report is the bug found (CI saw KFENCE's once).
        ['use-after-free', /BUG: (KASAN: (slab-)?use-after-free in|KFENCE: use-after-free read in) canary_uaf\+0x[0-9a-f]+\/0x[0-9a-f]+ \[m3canary\]/],
      ];
      expect([...byName.keys()].sort()).toEqual(expected.map(([n]) => n).sort());
      for (const [name, re] of expected) {
        const r = byName.get(name)!;
        expect({ name, status: r.status }).toEqual({ name, status: 'failed' });
        expect(r.parameters).toEqual(expect.arrayContaining([{ name: 'kernel', value: 'debug' }]));
        const text = attachmentText(dir, r, /^kernel report node1/);
        expect(text, name).toMatch(re);
        bundleOf(dir, r);
      }
      // The whole KASAN report, from its header to its closing line.
      const uafText = attachmentText(dir, byName.get('use-after-free')!, /^kernel report node1/);
      expect(uafText.trim().split('\n').pop()).toMatch(/^(\[[ .\d]+\] )?={20,}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a panic between two tests fails the test that finds it, with the panic attached; later tests are broken naming it; the report, in a browser, shows the panic in that test\'s kernel report', async () => {
    const { results, dir } = await runFixture('tests/verdicts/between.suite.ts');
    try {
      expectCrashBetweenTests(results, dir);
      await expectReportShowsPanic(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on a lab from `m3lab up` used by a run: a panic between tests and one inside a test are each one failed test with the panic', async () => {
    await withUpLab(async (env) => {
      const { results, dir } = await runFixture('tests/verdicts/between.suite.ts', env);
      try {
        expectCrashBetweenTests(results, dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
    await withUpLab(async (env) => {
      const { results, dir } = await runFixture('tests/verdicts/panic.suite.ts', env);
      try {
        expect(results.map((r) => r.status)).toEqual(['failed']);
        expect(results[0]!.statusDetails?.message).toMatch(/kernel report while the test ran: node1: .*panic/i);
        expect(attachmentText(dir, results[0]!, /^kernel report node1/)).toContain('Kernel panic - not syncing');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }, 10 * 60_000);

  it('negative control: a guest whose QEMU the host stops for 60 s mid-test is not failed, and the next test passes on it', async () => {
    const run = await sigstopRun!;
    await attachRun(SIGSTOP_FIXTURE, run);
    const { results, dir } = run;
    try {
      const r = byName(results);
      const stopped = [...r.values()].find((x) => x.name.startsWith('a test during which QEMU is stopped'))!;
      expect(stopped, JSON.stringify(results.map((x) => x.name))).toBeDefined();
      // Passed, or broken naming the host (the guest's stall detectors may fire after a minute without CPU).
      expect(stopped.status).not.toBe('failed');
      if (stopped.status === 'broken') expect(stopped.statusDetails?.message).toMatch(/host starved: node1's vCPU threads .*QEMU was stopped/);
      expect(r.get('the next test runs on the same node')!.status).toBe('passed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 10 * 60_000);

  it(`negative control: ${overloadSuites().map((f) => path.basename(f, '.test.ts')).join(', ')} on a host whose cores two busy loops saturate: 0 failed, 0 broken`, async () => {
    // Its load is two busy loops and nothing else: the SIGSTOP run beside the first tests must have ended
    // (it has when its own test ran; not when a filter (-t) picked this test alone).
    await sigstopRun?.catch(() => undefined);
    const load = busyLoops(2);
    try {
      const { results, dir } = await runFixture(overloadSuites(), {}, overloadSuites().length * 20 * 60_000);
      try {
        expect(results.length).toBeGreaterThan(5);
        const bad = results.filter((r) => r.status !== 'passed').map((r) => ({ name: r.name, status: r.status, message: r.statusDetails?.message?.split('\n')[0] }));
        expect(bad).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      load.stop();
    }
  }, overloadSuites().length * 20 * 60_000 + 60_000);

  it('a lab setup that stalls makes every test of its file broken at the setup bound, none skipped', async () => {
    const { results, dir } = await runFixture('tests/verdicts/stall.suite.ts', { M3LAB_SETUP_BOUND_MS: '20000' });
    try {
      expect(results.map((r) => [r.name, r.status]).sort()).toEqual([['a first test', 'broken'], ['a second test', 'broken']]);
      for (const r of results) expect(r.statusDetails?.message).toMatch(/the lab was not booted and set up within \d+ s/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a run whose vitest main process alone is ended (SIGTERM to its PID) leaves no QEMU, switch or worker behind', async () => {
    const scale = hostFactor();
    const state = mkdtempSync(path.join(os.tmpdir(), 'm3lab-orphan-state-'));
    const results = mkdtempSync(path.join(os.tmpdir(), 'm3lab-verdicts-'));
    const main = execa(path.join(repoRoot, 'node_modules', '.bin', 'vitest'), ['run', '--config', 'tests/verdicts/vitest.config.ts', 'tests/verdicts/orphan.suite.ts'], {
      cwd: repoRoot,
      reject: false,
      all: true,
      env: { ...process.env, M3LAB_OWN_LAB: '1', M3LAB_STATE: state, M3LAB_ALLURE_RESULTS: results, M3LAB_KERNEL: '', M3LAB_APPEND: '' },
    });
    let output = '';
    main.all?.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await waitUntil(() => output.includes('M3LAB-ORPHAN-WAITING') || main.exitCode !== null, { what: 'the nested run to wait in its test, or end', timeoutMs: scaled(180_000, scale), intervalMs: 200, onTimeout: 'return' });
      expect(output, output.slice(-3000)).toContain('M3LAB-ORPHAN-WAITING');
      // Negative control: while the run lives, its lab's processes and its worker are there to be seen.
      const workers = descendants(main.pid!).filter((p) => /\bnode\b/.test(cmdline(p) ?? ''));
      const lab = processesWithMarker(state);
      expect(workers.length).toBeGreaterThan(0);
      expect(lab.map((p) => (cmdline(p) ?? '').split(' ')[0]!.split('/').pop())).toContain('qemu-system-x86_64');
      process.kill(main.pid!, 'SIGTERM');
      await main;
      const left = () => [...workers, ...lab].filter((p) => isAlive(p));
      await waitUntil(() => left().length === 0, { what: "the nested run's workers and lab processes to end", timeoutMs: scaled(30_000, scale), intervalMs: 200, onTimeout: 'return' });
      expect(left().map((p) => `${p} ${cmdline(p)?.slice(0, 120)}`)).toEqual([]);
      expect(processesWithMarker(state)).toEqual([]);
    } finally {
      await allure.attachment('nested run ended by SIGTERM', output, { contentType: 'text/plain' });
      if (main.exitCode === null) main.kill('SIGKILL');
      for (const p of processesWithMarker(state)) signalIfOurs(p, state, 'SIGKILL');
      rmSync(state, { recursive: true, force: true });
      rmSync(results, { recursive: true, force: true });
    }
  });

  it('negative control: an SSH link cut under a healthy guest makes that test broken, and the next passes over a new link', async () => {
    const { results, dir } = await runFixture('tests/verdicts/linklost.suite.ts');
    try {
      const r = byName(results);
      expect(r.get('a test whose SSH link is cut')?.status).toBe('broken');
      expect(r.get('a test whose SSH link is cut')?.statusDetails?.message).toMatch(/every node still answers a fresh login/);
      expect(r.get('the next test runs on a new link')?.status).toBe('passed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
