import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/temp-dir.ts';
import { calibrationDrift, unreliableBecause, type CalibrationPoint, type CellCalibration } from '../../harness/bench/calibrate.ts';
import type { ConfigResult } from '../../harness/bench/ipc-local.ts';
import { mannWhitney, medianChange, seededRandom, summarize } from '../../harness/bench/stats.ts';
import { NightResults, writeFigures, writeRatios } from '../../harness/nightly/allure.ts';
import { baselineOf, isBaseline, judgeRatio, ratioWindow, type StoredNight } from '../../harness/nightly/history.ts';
import { nightVerdicts, type NightVerdicts } from '../../harness/nightly/verdicts.ts';

/**
 * The nightly's performance verdicts as pure logic, table-driven: whole nights
 * of a simulated bench cell (the same cases and round-robin rounds as
 * ipc-local) go through nightVerdicts() against stored earlier nights.
 */

const RULES = { margin: 0.1, alpha: 0.05, window: 5, calibrationBound: 0.25 };
const CELL = 'ipc-local/default, 1 vCPU';
const KEY = 'ipc-local/tcg/default/1cpu';

/** Rates of an idle reference host (msg/s, B/s). */
const BASE: Record<string, number> = { pipe: 40_000, 'm3-send': 70_000, 'm3-sendrec': 60_000, 'pvm-65536': 2e9, 'vcopy-65536': 1.9e9, 'memcpy-65536': 5e9 };

interface NightShape {
  /** Host speed: every figure and the calibration scale with it (0.73: 27% slower). */
  host?: number;
  /** Per-round host mood: each round's figures share a factor in [1 - roundNoise, 1 + roundNoise]. */
  roundNoise?: number;
  /** Per-figure noise on top, independent per case and round. */
  noise?: number;
  /** A planted change of one case's rate (0.7: 30% slower), as a module change would. */
  planted?: Record<string, number>;
  /** Calibration at the cell's end relative to its start (1: held). */
  drift?: number;
  /** Calibration speed relative to the host (1: moves with the host). */
  calibration?: number;
  rounds?: number;
  seed: number;
}

const point = (speed: number, at: number): CalibrationPoint => ({ at, host: { cpu: 400e6 * speed, memcpy: 8e9 * speed }, guest: { cpu: 60e6 * speed, memcpy: 1.5e9 * speed } });

function simulate(s: NightShape): { local: ConfigResult[]; calibration: Map<string, CellCalibration> } {
  const rnd = seededRandom(s.seed);
  const host = s.host ?? 1;
  const rounds = s.rounds ?? 5;
  const moods = Array.from({ length: rounds }, () => 1 + (s.roundNoise ?? 0.1) * (2 * rnd() - 1));
  const cases = Object.entries(BASE).map(([id, rate]) => {
    const samples = moods.map((m) => rate * host * m * (s.planted?.[id] ?? 1) * (1 + (s.noise ?? 0.02) * (2 * rnd() - 1)));
    return { id, unit: id.includes('-65536') ? 'B/s' : 'msg/s', samples, summary: summarize(samples) };
  });
  const config: ConfigResult = { cpus: 1, accel: 'tcg', kernel: 'default 6.1', variant: 'default', oversubscribed: false, hostCores: 2, cases, ratios: [], targets: [], perf: {} };
  const cal = host * (s.calibration ?? 1);
  return { local: [config], calibration: new Map([[CELL, { start: point(cal, 0), end: point(cal * (s.drift ?? 1), 1) }]]) };
}

/** Stored reference nights (newest first) from shapes, each judged against the ones before it. */
function history(shapes: NightShape[]): StoredNight[] {
  const stored: StoredNight[] = [];
  shapes.forEach((shape, i) => {
    const v = nightVerdicts(simulate(shape), stored, RULES);
    stored.unshift({ name: `ref-${i + 1}`, figures: v.figures, ratios: v.ratios, calibration: v.calibration });
  });
  return stored;
}

const REFS = history([{ seed: 11 }, { seed: 12 }, { seed: 13 }]);
const regressions = (v: NightVerdicts) => v.ratios.filter((r) => r.outcome === 'regression');
const ratioOf = (v: NightVerdicts, a: string) => v.ratios.find((r) => r.a === a)!;

describe('nightly: performance verdicts from ratios to same-run baselines', () => {
  const table: { name: string; night: NightShape; expect: (v: NightVerdicts) => void }[] = [
    {
      name: 'an unchanged commit on the same host: no regression',
      night: { seed: 21 },
      expect: (v) => {
        expect(regressions(v)).toEqual([]);
        expect(v.facts[0]).toMatch(/^host as fast as the reference night/);
      },
    },
    {
      name: 'a host uniformly 27% slower: every absolute figure is worse, no ratio regressed, and the report says the host is slower',
      night: { seed: 22, host: 0.73 },
      expect: (v) => {
        expect(regressions(v)).toEqual([]);
        expect(v.ratios.every((r) => r.outcome === 'within')).toBe(true);
        expect(v.figures.filter((f) => f.outcome === 'worse').map((f) => f.case).sort()).toEqual(Object.keys(BASE).sort());
        expect(v.facts).toHaveLength(1);
        expect(v.facts[0]).toMatch(/^host 27% slower than the reference night \(ipc-local\/tcg\/default\/1cpu vs night ref-3\)/);
        expect(v.facts[0]).toMatch(/same-run baselines −2\d\.\d%.* moved with it — a fact about the host, not a regression/);
      },
    },
    {
      name: 'the calibration slower but the baselines not: a fact that names both, no regression',
      night: { seed: 23, calibration: 0.7 },
      expect: (v) => {
        expect(regressions(v)).toEqual([]);
        expect(v.facts[0]).toMatch(/^host 30% slower than the reference night by its calibration .* did not move with it/);
      },
    },
    {
      name: 'a planted 30% drop of sendrec over 5 rounds: the sendrec ratio regressed, with its size; nothing else did',
      night: { seed: 24, planted: { 'm3-sendrec': 0.7 } },
      expect: (v) => {
        expect(regressions(v).map((r) => `${r.a} / ${r.b}`)).toEqual(['m3-sendrec / pipe']);
        const r = ratioOf(v, 'm3-sendrec');
        expect(r.change!).toBeCloseTo(-0.3, 1);
        expect(r.changeHigh!).toBeLessThan(0);
        expect(r.p!).toBeLessThan(0.001);
        expect(r.reference?.nights.map((n) => n.night)).toEqual(['ref-3', 'ref-2', 'ref-1']);
        expect(r.message).toMatch(/^REGRESSION: m3-sendrec \/ pipe on default, 1 vCPU \(TCG\): .* change −(29|30|31)\.\d% \(95% bootstrap −\d+\.\d%\.\.−\d+\.\d%\), Mann–Whitney one-sided p=/);
      },
    },
    {
      name: 'the same planted drop on a host 27% slower: still exactly the sendrec regression',
      night: { seed: 25, host: 0.73, planted: { 'm3-sendrec': 0.7 } },
      expect: (v) => {
        expect(regressions(v).map((r) => r.a)).toEqual(['m3-sendrec']);
        expect(ratioOf(v, 'm3-sendrec').change!).toBeCloseTo(-0.3, 1);
      },
    },
    {
      name: 'a noisy night whose sendrec median dropped beyond the margin without significance: no regression',
      // Two rounds of five far below, three at the reference: the median is down
      // 12-ish%, but the ranks overlap the reference rounds.
      night: { seed: 26, rounds: 3, noise: 0.25, planted: { 'm3-sendrec': 0.88 } },
      expect: (v) => {
        const r = ratioOf(v, 'm3-sendrec');
        expect(r.outcome).toBe('within');
        expect(r.p!).toBeGreaterThanOrEqual(0.05);
      },
    },
    {
      name: 'a calibration that moved 40% during the bench: every ratio of the cell unreliable (broken), none failed',
      night: { seed: 27, drift: 0.6, planted: { 'm3-sendrec': 0.7 } },
      expect: (v) => {
        expect(regressions(v)).toEqual([]);
        expect(v.ratios.every((r) => r.outcome === 'unreliable')).toBe(true);
        expect(v.unreliable[KEY]).toMatch(/the host changed speed during the bench: .* −40\.0% from the cell's start to its end \(bound ±25%/);
        // Shown with what it would say, not judged.
        expect(ratioOf(v, 'm3-sendrec').message).toMatch(/^UNRELIABLE: .* it would read: change −(29|30|31)\.\d%/);
      },
    },
  ];

  for (const t of table) it(t.name, () => t.expect(nightVerdicts(simulate(t.night), REFS, RULES)));

  it('a planted drop is flagged on most seeds, and a clean night almost never (the test has power, and keeps its false alarms near alpha)', () => {
    let flagged = 0;
    let falseAlarms = 0;
    for (let seed = 100; seed < 140; seed++) {
      if (ratioOf(nightVerdicts(simulate({ seed, planted: { 'm3-sendrec': 0.7 } }), REFS, RULES), 'm3-sendrec').outcome === 'regression') flagged++;
      falseAlarms += regressions(nightVerdicts(simulate({ seed, host: 0.6 + (seed % 5) * 0.1 }), REFS, RULES)).length;
    }
    expect(flagged).toBe(40);
    expect(falseAlarms).toBe(0);
  });

  it('the first night of a ratio is new; nights before ratio verdicts (no rounds stored) are not a reference', () => {
    const v = nightVerdicts(simulate({ seed: 30 }), [{ name: 'old', figures: REFS[0]!.figures }], RULES);
    expect(v.ratios.every((r) => r.outcome === 'new')).toBe(true);
    expect(v.facts[0]).toMatch(/no earlier night calibrated this cell/);
  });
});

describe('nightly: the rolling window of reference nights', () => {
  it('the newest nights up to the window, skipping one that found the ratio regressed or unreliable', () => {
    const planted = nightVerdicts(simulate({ seed: 40, planted: { 'm3-sendrec': 0.7 } }), REFS, RULES);
    const broken = nightVerdicts(simulate({ seed: 41, drift: 0.5 }), REFS, RULES);
    const nights: StoredNight[] = [{ name: 'broken', figures: [], ratios: broken.ratios }, { name: 'planted', figures: [], ratios: planted.ratios }, ...REFS];
    const key = `${KEY}/ratio/m3-sendrec/pipe`;
    expect(ratioWindow(key, nights, 5).map((w) => w.night)).toEqual(['ref-3', 'ref-2', 'ref-1']);
    expect(ratioWindow(key, nights, 2).map((w) => w.night)).toEqual(['ref-3', 'ref-2']);
    // So a regression stays red the next night, instead of becoming the norm.
    const again = nightVerdicts(simulate({ seed: 42, planted: { 'm3-sendrec': 0.7 } }), nights, RULES);
    expect(ratioOf(again, 'm3-sendrec').outcome).toBe('regression');
  });

  it('one reference night is not enough to call a change, however clear: the verdict waits for a second', () => {
    const fig = { key: 'k', cellKey: 'c', bench: 'ipc-local' as const, cell: 'c', variant: 'default', accel: 'tcg', a: 'm3-sendrec', b: 'pipe', better: 'higher' as const, samples: [1.0, 1.01, 0.99, 1.02, 0.98], median: 1.0 };
    const n1 = { night: 'n1', samples: [1.5, 1.51, 1.49, 1.52, 1.48] };
    const one = judgeRatio(fig, [n1], RULES);
    expect(one.outcome).toBe('within');
    // The rank test reaches significance with 5 against 5 rounds (p = 1/252): said, not called.
    expect(one.p).toBeCloseTo(1 / 252, 6);
    expect(one.message).toMatch(/not called: only 1 reference night\(s\), at least 2 needed .* it would read REGRESSION/);
    const two = judgeRatio(fig, [n1, { night: 'n0', samples: [1.45, 1.46, 1.44, 1.47, 1.43] }], RULES);
    expect(two.outcome).toBe('regression');
    expect(judgeRatio(fig, [n1], { ...RULES, minNights: 1 }).outcome).toBe('regression');
  });

  it('a change must clear every reference night, not only their pooled median: nights spread more than their rounds', () => {
    const fig = { key: 'k', cellKey: 'c', bench: 'ipc-local' as const, cell: 'c', variant: 'default', accel: 'tcg', a: 'm3-send', b: 'pipe', better: 'higher' as const };
    const window = [
      { night: 'n2', samples: [1.0, 1.01, 0.99, 1.02, 0.98] },
      { night: 'n1', samples: [0.85, 0.86, 0.84, 0.87, 0.83] },
    ];
    // 14% below the pooled median, but only 6% below night n1, and its rounds lie
    // among n1's rounds moved by the margin: within.
    const r = judgeRatio({ ...fig, samples: [0.8, 0.81, 0.79, 0.82, 0.78], median: 0.8 }, window, RULES);
    expect(r.change!).toBeLessThan(-0.1);
    expect(r.p!).toBeGreaterThan(0.05);
    expect(r.outcome).toBe('within');
    // 20% below n1 as well: a regression.
    expect(judgeRatio({ ...fig, samples: [0.68, 0.69, 0.67, 0.7, 0.66], median: 0.68 }, window, RULES).outcome).toBe('regression');
  });

  it('a night beside a host busy loop, its ratio shifted and spread by the load (CI, stop 31): not a regression, though a test against zero change would call it one', () => {
    const fig = { key: 'k', cellKey: 'c', bench: 'ipc-local' as const, cell: 'default, 1 vCPU', variant: 'default', accel: 'tcg', a: 'm3-send', b: 'pipe', better: 'higher' as const };
    // The shape of the CI night: reference nights at 1.066 and 1.090, the loaded one at 0.942, −13%.
    const window = [
      { night: 'ref-2', samples: [1.066, 1.05, 1.072, 1.06, 1.08] },
      { night: 'ref-1', samples: [1.09, 1.082, 1.1, 1.085, 1.095] },
    ];
    const samples = [0.86, 0.9, 0.942, 0.97, 1.055];
    expect(mannWhitney(samples, window.flatMap((w) => w.samples)).pLess).toBeLessThan(0.05);
    const r = judgeRatio({ ...fig, samples, median: 0.942 }, window, RULES);
    expect(r.change!).toBeLessThan(-0.1);
    expect(r.p!).toBeGreaterThan(0.05);
    expect(r.outcome).toBe('within');
    expect(r.message).toMatch(/beyond the margin but not significant/);
  });

  it('a ratio of latencies (remote / TCP round trip) regresses upwards', () => {
    const base = { key: 'k', cellKey: 'c', bench: 'ipc-remote' as const, cell: 'default', variant: 'default', accel: 'tcg', a: 'm3-rtt-us', b: 'tcp-rtt-us', better: 'lower' as const };
    const ref = [
      { night: 'n2', samples: [1.2, 1.21, 1.19, 1.22, 1.18] },
      { night: 'n1', samples: [1.19, 1.2, 1.18, 1.21, 1.17] },
    ];
    expect(judgeRatio({ ...base, samples: [1.6, 1.61, 1.59, 1.62, 1.58], median: 1.6 }, ref, RULES).outcome).toBe('regression');
    expect(judgeRatio({ ...base, samples: [0.9, 0.91, 0.89, 0.92, 0.88], median: 0.9 }, ref, RULES).outcome).toBe('improved');
  });
});

describe('nightly: same-run baselines and statistics', () => {
  it.each([
    ['ipc-local', 'm3-sendrec', 'pipe'],
    ['ipc-local', 'm3-sendrec-nospin', 'pipe'],
    ['ipc-local', 'compat-sendrec', 'pipe'],
    ['ipc-local', 'm3-notify', 'futex'],
    ['ipc-local', 'vcopy-1048576', 'pvm-1048576'],
    ['ipc-local', 'pipe', undefined],
    ['ipc-local', 'memcpy-4096', undefined],
    ['ipc-remote', 'm3-rtt-us', 'tcp-rtt-us'],
    ['ipc-remote', 'm3-rtt-us-insecure', 'tcp-rtt-us'],
    ['ipc-remote', 'm3-sendrec-rate', 'tcp-pingpong-rate'],
    ['ipc-remote', 'm3-sendrec-8-clients', 'tcp-pipeline-8'],
    ['ipc-remote', 'm3-vcopy-4194304-insecure', 'tcp-stream-4194304'],
    ['ipc-remote', 'tcp-rtt-us', undefined],
  ] as const)('%s %s is judged against %s', (bench, id, base) => {
    expect(baselineOf(bench, id)).toBe(base);
    expect(isBaseline(bench, id)).toBe(base === undefined);
  });

  it('Mann–Whitney: exact one-sided p-values (3 vs 3 all below: 1/20; interleaved: 7/20)', () => {
    expect(mannWhitney([1, 2, 3], [4, 5, 6])).toEqual({ u: 0, pLess: 0.05, pGreater: 1 });
    const mixed = mannWhitney([1, 5, 3], [4, 2, 6]);
    expect(mixed.u).toBe(3);
    expect(mixed.pLess).toBeCloseTo(0.35, 10);
    // Large samples: the normal approximation, about one half for identical spreads.
    const big = mannWhitney(Array.from({ length: 60 }, (_, i) => i), Array.from({ length: 60 }, (_, i) => i + 0.5));
    expect(big.pLess).toBeGreaterThan(0.35);
    expect(big.pLess).toBeLessThan(0.5);
  });

  it('the change of a median with its bootstrap interval', () => {
    const c = medianChange([7, 7.1, 6.9], [10, 10.1, 9.9]);
    expect(c.change).toBeCloseTo(-0.3, 10);
    expect(c.low).toBeLessThan(c.change);
    expect(c.high).toBeGreaterThan(c.change);
    expect(c.high).toBeLessThan(0);
  });

  it('calibration drift: the worst measure from start to end, and a reason only beyond the bound', () => {
    const c: CellCalibration = { start: point(1, 0), end: { ...point(1, 1), guest: { cpu: 60e6 * 0.7, memcpy: 1.5e9 } } };
    expect(calibrationDrift(c).worst).toMatchObject({ what: 'guest CPU loop' });
    expect(calibrationDrift(c).worst.change).toBeCloseTo(-0.3, 10);
    expect(unreliableBecause(c, 0.25)).toMatch(/guest CPU loop −30\.0%/);
    expect(unreliableBecause(c, 0.35)).toBeUndefined();
    expect(unreliableBecause(undefined, 0.25)).toBeUndefined();
  });
});

describe('nightly: performance results in Allure', () => {
  it('a regressed ratio fails, an unreliable one is broken, absolute figures always pass', () => {
    const dir = tempDir('m3lab-ratios-');
    const out = new NightResults(dir);
    const planted = nightVerdicts(simulate({ seed: 50, host: 0.7, planted: { 'm3-sendrec': 0.7 } }), REFS, RULES);
    const broken = nightVerdicts(simulate({ seed: 51, drift: 0.5 }), REFS, RULES);
    writeRatios(out, [...planted.ratios, broken.ratios[0]!], new Map(), new Map());
    writeFigures(out, planted.figures, new Map());
    const results = readdirSync(dir)
      .filter((f) => f.endsWith('-result.json'))
      .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { name: string; status: string });
    const status = (s: string) => results.filter((r) => r.status === s).map((r) => r.name).sort();
    expect(status('failed')).toEqual(['m3-sendrec / pipe (default, 1 vCPU)']);
    expect(status('broken')).toHaveLength(1);
    expect(results.filter((r) => !r.name.includes(' / ')).every((r) => r.status === 'passed')).toBe(true);
  });
});
