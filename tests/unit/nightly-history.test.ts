import { describe, expect, it } from 'vitest';
import type { ConfigResult } from '../../harness/bench/ipc-local.ts';
import type { RemoteResult } from '../../harness/bench/ipc-remote.ts';
import { summarize } from '../../harness/bench/stats.ts';
import { betterOf, figuresFromLocal, figuresFromRemote, findReference, judge, judgeAll, targetsFromLocal, targetsFromRemote, type Figure, type StoredNight } from '../../harness/nightly/history.ts';

function fig(median: number, ciLow: number, ciHigh: number, over: Partial<Figure> = {}): Figure {
  return { key: 'ipc-local/tcg/default/1cpu/m3-sendrec', bench: 'ipc-local', cell: 'default, 1 vCPU', variant: 'default', cpus: 1, accel: 'tcg', case: 'm3-sendrec', unit: 'msg/s', better: 'higher', n: 3, median, ciLow, ciHigh, confidence: 0.75, ...over };
}

const night = (name: string, ...figures: Figure[]): StoredNight => ({ name, figures: figures.map((f) => judge(f, undefined, 0.1)) });

describe('nightly: an absolute figure against its reference (shown, never a verdict)', () => {
  const ref = { night: 'n1', figure: fig(100, 90, 110) };

  it('is new when no earlier night measured it, and passes', () => {
    const j = judge(fig(100, 95, 105), undefined, 0.1);
    expect(j.outcome).toBe('new');
    expect(j.message).toMatch(/first measurement/);
  });

  it('is within while its median stays inside the reference interval widened by the margin', () => {
    // [90 * 0.9, 110 * 1.1] = [81, 121]
    expect(judge(fig(81, 70, 90), ref, 0.1).outcome).toBe('within');
    expect(judge(fig(121, 110, 130), ref, 0.1).outcome).toBe('within');
  });

  it('is worse below the widened bound for a rate, with the figure, the interval and the margin in the message, and says it is not a verdict', () => {
    const j = judge(fig(72.9, 70, 75), ref, 0.1);
    expect(j.outcome).toBe('worse');
    expect(j.beyond).toBeCloseTo((81 - 72.9) / 81, 6);
    expect(j.reference).toEqual({ night: 'n1', median: 100, ciLow: 90, ciHigh: 110, n: 3 });
    expect(j.message).toContain('absolute, not a verdict (worse)');
    expect(j.message).not.toContain('REGRESSION');
    expect(j.message).toContain('73 msg/s (interval 70 msg/s..75 msg/s, n=3)');
    expect(j.message).toContain('interval 90 msg/s..110 msg/s');
    expect(j.message).toContain('margin 10.0%');
    expect(j.message).toContain('night n1');
  });

  it('is better above it for a rate', () => {
    expect(judge(fig(140, 130, 150), ref, 0.1).outcome).toBe('better');
  });

  it('turns the sides round for a latency (lower is better)', () => {
    const lat = (m: number) => fig(m, m, m, { unit: 'us', better: 'lower' });
    const r = { night: 'n1', figure: lat(200) };
    expect(judge(lat(230), r, 0.1).outcome).toBe('worse');
    expect(judge(lat(170), r, 0.1).outcome).toBe('better');
    expect(judge(lat(215), r, 0.1).outcome).toBe('within');
    expect(betterOf('us')).toBe('lower');
    expect(betterOf('msg/s')).toBe('higher');
    expect(betterOf('B/s')).toBe('higher');
  });

  it('a margin of 0 makes anything outside the interval count', () => {
    expect(judge(fig(89.9, 89, 91), ref, 0).outcome).toBe('worse');
    expect(judge(fig(90, 89, 91), ref, 0).outcome).toBe('within');
  });
});

describe('nightly: which earlier night is the reference', () => {
  it('the newest night that measured the figure', () => {
    const nights = [night('n3'), night('n2', fig(100, 95, 105)), night('n1', fig(50, 45, 55))];
    expect(findReference('ipc-local/tcg/default/1cpu/m3-sendrec', nights)?.night).toBe('n2');
  });

  it('is the newest night whatever it found: an absolute figure is compared with last night, not judged', () => {
    const n1 = night('n1', fig(100, 95, 105));
    const [n2fig] = judgeAll([fig(50, 48, 52)], [n1], 0.1);
    expect(n2fig!.outcome).toBe('worse');
    const n2: StoredNight = { name: 'n2', figures: [n2fig!] };
    const [n3fig] = judgeAll([fig(51, 49, 53)], [n2, n1], 0.1);
    expect(n3fig!.reference?.night).toBe('n2');
    expect(n3fig!.outcome).toBe('within');
  });

  it('never compares across accelerators, kernels or vCPU counts (the key differs)', () => {
    const nights = [night('n1', fig(100, 95, 105, { key: 'ipc-local/kvm/default/1cpu/m3-sendrec' }), fig(100, 95, 105, { key: 'ipc-local/tcg/default/2cpu/m3-sendrec' }))];
    expect(judgeAll([fig(10, 9, 11)], nights, 0.1)[0]!.outcome).toBe('new');
  });
});

const cfg = (variant: string, cpus: number, accel = 'tcg'): ConfigResult => ({
  cpus,
  accel,
  kernel: `${variant} 6.1`,
  variant,
  oversubscribed: false,
  hostCores: 2,
  cases: [
    { id: 'pipe', unit: 'msg/s', samples: [10, 11, 12], summary: summarize([10, 11, 12]) },
    { id: 'm3-sendrec', unit: 'msg/s', samples: [20, 21, 22], summary: summarize([20, 21, 22]) },
  ],
  ratios: [],
  targets: [{ a: 'm3-sendrec', b: 'pipe', min: 1.5, value: 21 / 11, met: true }, { a: 'compat-sendrec', b: 'm3-sendrec', min: 0.95, value: 0.7, met: false }],
  perf: {},
});

describe('nightly: figures and targets of a bench run', () => {
  it('one figure per case and cell, keyed by bench, accelerator, kernel, vCPUs and case', () => {
    const f = figuresFromLocal([cfg('default', 1), cfg('up', 2)]);
    expect(f.map((x) => x.key)).toEqual(['ipc-local/tcg/default/1cpu/pipe', 'ipc-local/tcg/default/1cpu/m3-sendrec', 'ipc-local/tcg/up/2cpu/pipe', 'ipc-local/tcg/up/2cpu/m3-sendrec']);
    expect(f[1]).toMatchObject({ cell: 'default, 1 vCPU', median: 21, ciLow: 20, ciHigh: 22, n: 3, better: 'higher' });
  });

  it('every target, met or missed, with the value and the bound in its message', () => {
    const t = targetsFromLocal([cfg('default', 1)]);
    expect(t.map((x) => [x.met, x.bound])).toEqual([
      [true, '>= 1.5'],
      [false, '>= 0.95'],
    ]);
    expect(t[1]!.message).toBe('target compat-sendrec / m3-sendrec >= 0.95 on default, 1 vCPU (TCG): 0.70 — MISSED');
  });

  it('remote figures and the ratios that have a target', () => {
    const r: RemoteResult = {
      accel: 'tcg',
      kernel: '6.1',
      figures: [{ id: 'm3-rtt-us', unit: 'us', samples: [300, 310], summary: summarize([300, 310]) }],
      ratios: [
        { a: 'm3-rtt-us', b: 'tcp-rtt-us', value: 1.4, low: 1.3, high: 1.5, target: '<= 1.25', met: false },
        { a: 'm3-sendrec-rate', b: 'tcp-pingpong-rate', value: 0.8, low: 0.7, high: 0.9 },
      ],
      proxies: [],
      profiles: [],
    };
    expect(figuresFromRemote(r, 'default')[0]).toMatchObject({ key: 'ipc-remote/tcg/default/m3-rtt-us', better: 'lower', cell: 'default' });
    const t = targetsFromRemote(r, 'default');
    expect(t).toHaveLength(1);
    expect(t[0]).toMatchObject({ met: false, bound: '<= 1.25' });
  });
});
