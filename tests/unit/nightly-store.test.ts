import { existsSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CATEGORIES, classify } from '../../harness/nightly/categories.ts';
import { judge } from '../../harness/nightly/history.ts';
import { NIGHT_FUZZ_SECONDS, NIGHTLY_SEED, describePlan, nightPlan, parseFuzzSeconds, parseMargin, seedFor } from '../../harness/nightly/plan.ts';
import { nightDirs, nightlyRoot, nightName, pointLatest, pruneNights, readNight, storedNights, writeNight, type NightRecord } from '../../harness/nightly/store.ts';

const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempRoot(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'm3lab-nightly-'));
  tmp.push(d);
  return d;
}

const figure = judge(
  { key: 'k', bench: 'ipc-local', cell: 'default, 1 vCPU', variant: 'default', cpus: 1, accel: 'tcg', case: 'pipe', unit: 'msg/s', better: 'higher', n: 3, median: 10, ciLow: 9, ciHigh: 11, confidence: 0.75 },
  undefined,
  0.1,
);

function rec(name: string, finished = true): NightRecord {
  return { name, mode: 'quick', started: '', finished: finished ? 'x' : undefined, commit: 'c', seed: 1, margin: 0.1, plan: [], environment: {}, figures: [figure], targets: [], failures: [] };
}

describe('nightly: the store of nights', () => {
  it('lives outside the clone: M3LAB_NIGHTLY_DIR, else $XDG_STATE_HOME/m3lab/nightly', () => {
    const saved = { dir: process.env.M3LAB_NIGHTLY_DIR, xdg: process.env.XDG_STATE_HOME };
    try {
      process.env.M3LAB_NIGHTLY_DIR = '/srv/nights';
      expect(nightlyRoot()).toBe('/srv/nights');
      delete process.env.M3LAB_NIGHTLY_DIR;
      process.env.XDG_STATE_HOME = '/var/state';
      expect(nightlyRoot()).toBe('/var/state/m3lab/nightly');
    } finally {
      if (saved.dir === undefined) delete process.env.M3LAB_NIGHTLY_DIR;
      else process.env.M3LAB_NIGHTLY_DIR = saved.dir;
      if (saved.xdg === undefined) delete process.env.XDG_STATE_HOME;
      else process.env.XDG_STATE_HOME = saved.xdg;
    }
  });

  it('names a night by its UTC start and commit, so names sort by time', () => {
    expect(nightName(new Date('2025-03-04T02:05:06.789Z'), 'abc1234567+dirty')).toBe('20250304T020506Z-abc1234567+dirty');
    expect(nightName(new Date('2025-03-04T02:05:06Z'), '')).toBe('20250304T020506Z-nocommit');
  });

  it('lists nights newest first, reads back only finished ones, prunes the oldest, points latest at one', () => {
    const root = tempRoot();
    for (const [n, done] of [['20250101T000000Z-a', true], ['20250103T000000Z-c', false], ['20250102T000000Z-b', true]] as const) writeNight(path.join(root, n), rec(n, done));
    expect(nightDirs(root).map((d) => path.basename(d))).toEqual(['20250103T000000Z-c', '20250102T000000Z-b', '20250101T000000Z-a']);
    // The unfinished night (killed half-way) is no reference; the current night is excluded.
    expect(storedNights(root).map((n) => n.name)).toEqual(['20250102T000000Z-b', '20250101T000000Z-a']);
    expect(storedNights(root, '20250102T000000Z-b').map((n) => n.name)).toEqual(['20250101T000000Z-a']);
    expect(readNight(path.join(root, '20250101T000000Z-a'))?.figures[0]?.median).toBe(10);
    pointLatest(root, path.join(root, '20250102T000000Z-b'));
    expect(readlinkSync(path.join(root, 'latest'))).toBe('20250102T000000Z-b');
    expect(pruneNights(root, 2).map((d) => path.basename(d))).toEqual(['20250101T000000Z-a']);
    expect(existsSync(path.join(root, '20250101T000000Z-a'))).toBe(false);
    // `latest` and history.jsonl are not nights.
    expect(nightDirs(root)).toHaveLength(2);
  });
});

describe('nightly: the plan', () => {
  it('--quick: ipc-local on the default kernel and one bench cell, 5 rounds (enough for the rank test against one reference night)', () => {
    const p = nightPlan({ quick: true, margin: 0.1, seed: 1 });
    expect(p.suites).toEqual([{ project: 'lab', files: ['suites/ipc-local.test.ts'], kernel: 'default' }]);
    expect(p.local).toMatchObject({ kernels: ['default'], cpus: [1], repeat: 5 });
    expect(p).toMatchObject({ margin: 0.1, alpha: 0.05, window: 5, calibrationBound: 0.25 });
    expect(p.remote).toBeUndefined();
    expect(p.kernels).toEqual(['default']);
  });

  it('the full night: every lab project, the matrix default/up/debug x 1/2 vCPUs and the remote bench', () => {
    const p = nightPlan({ quick: false, margin: 0.1, seed: 1 });
    expect(p.suites.map((s) => s.project)).toEqual(['lab', 'lab-debug', 'lab-1cpu', 'lab-fuzz', 'lab-fuzz']);
    expect(p.local).toMatchObject({ kernels: ['default', 'up', 'debug'], cpus: [1, 2] });
    expect(p.remote?.kernel).toBe('default');
    expect(p.kernels.sort()).toEqual(['debug', 'default', 'up']);
  });

  it('the full night runs the lab projects vitest.config.ts has, not unit or verdicts, and builds their kernels', () => {
    const p = nightPlan({ quick: false, margin: 0.1, seed: 1, projects: [{ name: 'unit', kernel: 'default' }, { name: 'lab', kernel: 'default' }, { name: 'lab-affinity', kernel: 'up' }, { name: 'verdicts', kernel: 'default' }] });
    expect(p.suites.map((s) => [s.project, s.kernel])).toEqual([
      ['lab', 'default'],
      ['lab-affinity', 'up'],
    ]);
    expect(p.kernels.sort()).toEqual(['debug', 'default', 'up']);
  });

  it('the full night fuzzes long on the debug and up kernels (an hour in all by default); --quick does not fuzz', () => {
    const p = nightPlan({ quick: false, margin: 0.1, seed: 1 });
    const fuzz = p.suites.filter((s) => s.project === 'lab-fuzz');
    expect(fuzz.map((s) => [s.kernel, s.label, s.env])).toEqual([
      ['debug', 'debug', { M3LAB_FUZZ_KERNEL: 'debug', M3LAB_FUZZ_SECONDS: `${NIGHT_FUZZ_SECONDS}` }],
      ['up', 'up', { M3LAB_FUZZ_KERNEL: 'up', M3LAB_FUZZ_SECONDS: `${NIGHT_FUZZ_SECONDS}` }],
    ]);
    expect(NIGHT_FUZZ_SECONDS * 2).toBe(3600);
    expect(describePlan(p).filter((l) => l.includes('lab-fuzz'))).toEqual([
      `suites     M3LAB_FUZZ_KERNEL=debug M3LAB_FUZZ_SECONDS=${NIGHT_FUZZ_SECONDS} vitest --project lab-fuzz`,
      `suites     M3LAB_FUZZ_KERNEL=up M3LAB_FUZZ_SECONDS=${NIGHT_FUZZ_SECONDS} vitest --project lab-fuzz`,
    ]);
    expect(nightPlan({ quick: false, margin: 0.1, seed: 1, fuzzSeconds: 600 }).suites.filter((s) => s.project === 'lab-fuzz').map((s) => s.env?.M3LAB_FUZZ_SECONDS)).toEqual(['600', '600']);
    expect(nightPlan({ quick: true, margin: 0.1, seed: 1 }).suites.some((s) => s.project === 'lab-fuzz')).toBe(false);
  });

  it('--fuzz-seconds: whole seconds from 10 to a day, else an error naming the option', () => {
    expect(parseFuzzSeconds(undefined)).toBe(NIGHT_FUZZ_SECONDS);
    expect(parseFuzzSeconds('3600')).toBe(3600);
    for (const bad of ['0', '9', '1.5', 'x', '86401']) expect(() => parseFuzzSeconds(bad)).toThrow(/--fuzz-seconds/);
  });

  it('seed: fixed by default (history links tests by name and parameters), a number, or random', () => {
    expect(seedFor(undefined)).toBe(NIGHTLY_SEED);
    expect(seedFor('42')).toBe(42);
    expect(seedFor('random', () => 0.5)).toBe(500000);
    expect(() => seedFor('x')).toThrow(/--seed/);
  });

  it('margin in percent', () => {
    expect(parseMargin(undefined)).toBe(0.1);
    expect(parseMargin('15')).toBe(0.15);
    expect(parseMargin('5%')).toBe(0.05);
    expect(() => parseMargin('-1')).toThrow(/--margin/);
  });
});

describe('nightly: categories', () => {
  const perf = { name: 'perf-check', value: 'bench target' };
  it('a failed bench check is performance; a failed test with a kernel report a module bug of its own; other failures module bugs; broken a lab failure', () => {
    expect(classify({ status: 'failed', labels: [perf], statusDetails: { message: 'target ... MISSED' } })?.id).toBe('performance');
    expect(classify({ status: 'failed', statusDetails: { message: 'kernel report while the test ran: node1: KASAN', trace: 'KernelAssertionError: kernel report' } })?.id).toBe('module-bug-kernel');
    expect(classify({ status: 'failed', statusDetails: { message: 'node1: kernel panic during boot: x' } })?.id).toBe('module-bug-kernel');
    expect(classify({ status: 'failed', statusDetails: { message: 'expected 1 to be 2', trace: 'AssertionError: expected 1 to be 2' } })?.id).toBe('module-bug');
    expect(classify({ status: 'broken', statusDetails: { message: 'node1: boot deadline' } })?.id).toBe('lab-failure');
    expect(classify({ status: 'passed', labels: [perf] })).toBeUndefined();
  });

  it('are valid Allure 3 category rules: unique ids, names, matchers', () => {
    expect(new Set(CATEGORIES.map((c) => c.id)).size).toBe(CATEGORIES.length);
    for (const c of CATEGORIES) {
      expect(c.name.trim()).not.toBe('');
      expect(c.matchers.length).toBeGreaterThan(0);
    }
  });
});
