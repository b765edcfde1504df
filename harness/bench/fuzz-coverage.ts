import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { moduleCoverage, type CoverageReport } from '../fuzz/coverage.ts';
import { kmodBuildDir } from '../kmod/build.ts';
import { repoRoot } from '../paths.ts';
import { loadModule, unloadModule } from '../kmod/deploy.ts';
import { installKmod } from '../kmod/install.ts';
import { Lab } from '../lab/lab.ts';
import { resolveLab, type LabOptions } from '../lab/lab-file.ts';
import type { LabNode } from '../lab/node.ts';
import { mannWhitney, ratio, summarize } from './stats.ts';

/**
 * `m3lab bench fuzz`: does coverage guidance pay? m3fuzz random and
 * m3fuzz --guided, the same seeds and time each, in an order that turns
 * every round (ABBA for two modes) so a drift of the host hits all, on one
 * 2-vCPU debug node with a freshly loaded module per run; coverage is the
 * module's instrumented blocks (KCOV sites) and lines each run reached.
 * Guided is said to beat random only when its rounds are higher with
 * p < 0.05 (Mann-Whitney), never from one run. More arms (--arms) tell
 * what each piece adds: `swarm` (m3fuzz --swarm: swarm configurations drawn
 * without feedback) and `guided+swarm` (the configurations steered by
 * coverage too).
 */
export interface FuzzBenchOptions {
  seconds: number;
  /** A budget of calls (all processes) per run; seconds is then its cap. */
  calls?: number;
  repeat: number;
  json: boolean;
  /** The first is the baseline every other is compared with. */
  arms?: Mode[];
  accel?: LabOptions['accel'];
}

export const FUZZ_ARMS = ['random', 'guided', 'swarm', 'guided+swarm', 'hints', 'guided+hints', 'guided+swarm+hints'] as const;
export type Mode = (typeof FUZZ_ARMS)[number];

interface Run {
  mode: Mode;
  seed: number;
  blocks: number;
  lines: number;
  calls: number;
  seconds: number;
  timeline: string;
  /** --hints: what the comparisons gave (m3fuzz's summary line). */
  hints?: string;
}

const log = (l: string) => process.stderr.write(`${l}\n`);
const COVER = '/tmp/m3fuzz.cover';
/** Each run's cover file, for `m3lab fuzz coverage FILE --missed` (not under .m3lab/: the lab sweeps folders there). */
export const benchCoverDir = path.join(repoRoot, 'reports', 'bench-fuzz');

const MODE_ARGS: Record<Mode, string[]> = {
  random: [],
  guided: ['--guided'],
  swarm: ['--swarm'],
  'guided+swarm': ['--guided', '--swarm'],
  hints: ['--hints'],
  'guided+hints': ['--guided', '--hints'],
  'guided+swarm+hints': ['--guided', '--swarm', '--hints'],
};

/** Round i's order: the modes turned by i, reversed on odd rounds (ABBA for two). */
export function roundOrder<T>(modes: readonly T[], i: number): T[] {
  const turned = modes.map((_, k) => modes[(k + Math.floor(i / 2)) % modes.length]!);
  return i % 2 === 0 ? turned : turned.reverse();
}

async function runOnce(node: LabNode, fuzzer: string, ko: string, mode: Mode, seed: number, seconds: number, calls?: number): Promise<Run> {
  const budget = calls ? ['--total-calls', `${calls}`] : [];
  const args = ['--seed', `${seed}`, '--procs', '6', '--threads', '3', '--seconds', `${seconds}`, ...budget, '--log-dir', '/tmp/m3fuzz', '--cover', COVER, ...MODE_ARGS[mode]];
  const res = await node.rpc.call('exec', { cmd: fuzzer, args, timeoutMs: (seconds + 60) * 1000 }, (seconds + 90) * 1000);
  if (res.code !== 0) throw new Error(`m3fuzz ${args.join(' ')} exited ${res.code}: ${res.stdout.split('\n').filter((l) => l.startsWith('m3fuzz:')).join(' | ')}`);
  // An arm that could not be what it says would be compared as another.
  const unavailable = /^m3fuzz: (coverage|hints) unavailable: .*$/m.exec(res.stdout);
  if (unavailable) throw new Error(`bench fuzz: ${mode}: ${unavailable[0]}`);
  const cover = await node.sh(`cat ${COVER}`);
  mkdirSync(benchCoverDir, { recursive: true });
  writeFileSync(path.join(benchCoverDir, `${mode}-${seed}.cover`), cover.stdout);
  const r: CoverageReport = await moduleCoverage(ko, cover.stdout);
  if (r.unmatched) throw new Error(`${r.unmatched} PCs at no site of ${ko}: the coverage mapping is wrong`);
  return {
    mode,
    seed,
    blocks: r.sites.covered,
    lines: r.lines.covered,
    calls: Number(/m3fuzz: (\d+) calls/.exec(res.stdout)?.[1] ?? 0),
    seconds: Number(/ calls \(\d+ ok\) in ([\d.]+) s/.exec(res.stdout)?.[1] ?? 0),
    timeline: /timeline (.*)$/m.exec(res.stdout)?.[1] ?? '',
    hints: /^m3fuzz: hints: (.*)$/m.exec(res.stdout)?.[1],
  };
}

export async function benchFuzzCoverage(o: FuzzBenchOptions): Promise<number> {
  const lab = await Lab.boot(resolveLab({ name: 'bench-fuzz', nodes: 1, cpus: 2 }, { kernel: 'debug', accel: o.accel }), { log });
  try {
    const node = lab.nodes[0] as LabNode;
    const remote = (await installKmod([node], [1], log)).get(node.name)!;
    const ko = path.join(kmodBuildDir, 'kernels', node.record.kernel.release, 'module', 'm3ipc.ko');
    log(`bench fuzz: each run's cover file goes to ${benchCoverDir}/MODE-SEED.cover`);
    const runs: Run[] = [];
    const modes: Mode[] = o.arms ?? ['random', 'guided'];
    for (let i = 0; i < o.repeat; i++) {
      for (const mode of roundOrder(modes, i)) {
        // A fresh module per run: each starts from the same state.
        await unloadModule(node);
        await loadModule(node, remote);
        await node.sh(`${remote.m3ctl} dvs-init 1`);
        const r = await runOnce(node, remote.tests.m3fuzz!, ko, mode, 1000 + i, o.seconds, o.calls);
        if (o.calls && r.calls < o.calls) throw new Error(`bench fuzz: ${mode} made ${r.calls} of its ${o.calls} calls in the ${o.seconds} s cap: raise --seconds`);
        // The threads stop within a few calls of the budget: far past it, m3fuzz's own counters were overwritten.
        if (o.calls && r.calls > 2 * o.calls) throw new Error(`bench fuzz: ${mode} seed ${r.seed} counted ${r.calls} calls for a budget of ${o.calls}: m3fuzz's counters are corrupt, the run says nothing`);
        runs.push(r);
        log(`bench fuzz: round ${i + 1}/${o.repeat} ${mode.padEnd(12)} seed ${r.seed}: ${r.blocks} blocks, ${r.lines} lines, ${r.calls} calls in ${r.seconds} s; distinct PCs over time:${r.timeline}${r.hints ? `; hints: ${r.hints}` : ''}`);
      }
    }
    const of = (m: Mode, k: 'blocks' | 'lines') => runs.filter((r) => r.mode === m).map((r) => r[k]);
    const compare = (a: Mode, b: Mode, k: 'blocks' | 'lines') => {
      const x = of(a, k);
      const y = of(b, k);
      const mw = mannWhitney(x, y);
      const q = ratio(x, y, { seed: 1 });
      return { a, b, [a]: summarize(x), [b]: summarize(y), ratio: q, pGreater: mw.pGreater, beats: mw.pGreater < 0.05 && q.low > 1 };
    };
    const pairs: [Mode, Mode][] = modes.slice(1).map((m) => [m, modes[0]!]);
    const table = (k: 'blocks' | 'lines') => pairs.map(([a, b]) => compare(a, b, k));
    const out = { seconds: o.seconds, calls: o.calls, repeat: o.repeat, blocks: table('blocks'), lines: table('lines'), runs, timeScale: lab.timeScale };
    if (o.json) console.log(JSON.stringify(out, null, 2));
    else {
      for (const k of ['blocks', 'lines'] as const) {
        for (const v of out[k]) {
          const med = (m: Mode) => (v as unknown as Record<Mode, { median: number }>)[m].median;
          console.log(
            `${k.padEnd(6)}: ${v.a} median ${med(v.a)} vs ${v.b} ${med(v.b)}: ratio ${v.ratio.value.toFixed(3)} [${v.ratio.low.toFixed(3)}, ${v.ratio.high.toFixed(3)}], p(${v.a} > ${v.b}) = ${v.pGreater.toFixed(4)}: ${v.beats ? `${v.a} beats ${v.b}` : 'no measurable gain'}`,
          );
        }
      }
    }
    return 0;
  } finally {
    await lab.teardown();
  }
}
