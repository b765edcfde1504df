import path from 'node:path';
import { moduleCoverage, type CoverageReport } from '../fuzz/coverage.ts';
import { kmodBuildDir } from '../kmod/build.ts';
import { loadModule, unloadModule } from '../kmod/deploy.ts';
import { installKmod } from '../kmod/install.ts';
import { Lab } from '../lab/lab.ts';
import { resolveLab, type LabOptions } from '../lab/lab-file.ts';
import type { LabNode } from '../lab/node.ts';
import { mannWhitney, ratio, summarize } from './stats.ts';

/**
 * `m3lab bench fuzz`: does coverage guidance pay? m3fuzz random and
 * m3fuzz --guided, the same seeds and time each, alternated ABBA so a drift
 * of the host hits both, on one 2-vCPU debug node with a freshly loaded
 * module per run; coverage is the module's instrumented blocks (KCOV sites)
 * and lines each run reached. Guided is said to beat random only when its
 * rounds are higher with p < 0.05 (Mann-Whitney), never from one run.
 */
export interface FuzzBenchOptions {
  seconds: number;
  repeat: number;
  json: boolean;
  accel?: LabOptions['accel'];
}

interface Run {
  mode: 'random' | 'guided';
  seed: number;
  blocks: number;
  lines: number;
  calls: number;
  timeline: string;
}

const log = (l: string) => process.stderr.write(`${l}\n`);
const COVER = '/tmp/m3fuzz.cover';

async function runOnce(node: LabNode, fuzzer: string, ko: string, mode: Run['mode'], seed: number, seconds: number): Promise<Run> {
  const args = ['--seed', `${seed}`, '--procs', '6', '--threads', '3', '--seconds', `${seconds}`, '--log-dir', '/tmp/m3fuzz', '--cover', COVER, ...(mode === 'guided' ? ['--guided'] : [])];
  const res = await node.rpc.call('exec', { cmd: fuzzer, args, timeoutMs: (seconds + 60) * 1000 }, (seconds + 90) * 1000);
  if (res.code !== 0) throw new Error(`m3fuzz ${args.join(' ')} exited ${res.code}: ${res.stdout.split('\n').filter((l) => l.startsWith('m3fuzz:')).join(' | ')}`);
  const cover = await node.sh(`cat ${COVER}`);
  const r: CoverageReport = await moduleCoverage(ko, cover.stdout);
  if (r.unmatched) throw new Error(`${r.unmatched} PCs at no site of ${ko}: the coverage mapping is wrong`);
  return {
    mode,
    seed,
    blocks: r.sites.covered,
    lines: r.lines.covered,
    calls: Number(/m3fuzz: (\d+) calls/.exec(res.stdout)?.[1] ?? 0),
    timeline: /timeline (.*)$/m.exec(res.stdout)?.[1] ?? '',
  };
}

export async function benchFuzzCoverage(o: FuzzBenchOptions): Promise<number> {
  const lab = await Lab.boot(resolveLab({ name: 'bench-fuzz', nodes: 1, cpus: 2 }, { kernel: 'debug', accel: o.accel }), { log });
  try {
    const node = lab.nodes[0] as LabNode;
    const remote = (await installKmod([node], [1], log)).get(node.name)!;
    const ko = path.join(kmodBuildDir, 'kernels', node.record.kernel.release, 'module', 'm3ipc.ko');
    const runs: Run[] = [];
    for (let i = 0; i < o.repeat; i++) {
      // ABBA: random first on even rounds, guided first on odd ones.
      const order: Run['mode'][] = i % 2 === 0 ? ['random', 'guided'] : ['guided', 'random'];
      for (const mode of order) {
        // A fresh module per run: each starts from the same state.
        await unloadModule(node);
        await loadModule(node, remote);
        await node.sh(`${remote.m3ctl} dvs-init 1`);
        const r = await runOnce(node, remote.tests.m3fuzz!, ko, mode, 1000 + i, o.seconds);
        runs.push(r);
        log(`bench fuzz: round ${i + 1}/${o.repeat} ${mode.padEnd(6)} seed ${r.seed}: ${r.blocks} blocks, ${r.lines} lines, ${r.calls} calls; distinct PCs over time:${r.timeline}`);
      }
    }
    const of = (m: Run['mode'], k: 'blocks' | 'lines') => runs.filter((r) => r.mode === m).map((r) => r[k]);
    const verdict = (k: 'blocks' | 'lines') => {
      const g = of('guided', k);
      const r = of('random', k);
      const mw = mannWhitney(g, r);
      const q = ratio(g, r, { seed: 1 });
      return { guided: summarize(g), random: summarize(r), ratio: q, pGreater: mw.pGreater, beats: mw.pGreater < 0.05 && q.low > 1 };
    };
    const out = { seconds: o.seconds, repeat: o.repeat, blocks: verdict('blocks'), lines: verdict('lines'), runs, timeScale: lab.timeScale };
    if (o.json) console.log(JSON.stringify(out, null, 2));
    else {
      for (const k of ['blocks', 'lines'] as const) {
        const v = out[k];
        console.log(
          `${k.padEnd(6)}: guided median ${v.guided.median} vs random ${v.random.median}: ratio ${v.ratio.value.toFixed(3)} [${v.ratio.low.toFixed(3)}, ${v.ratio.high.toFixed(3)}], p(guided > random) = ${v.pGreater.toFixed(4)}: ${v.beats ? 'guided beats random' : 'no measurable gain'}`,
        );
      }
    }
    return 0;
  } finally {
    await lab.teardown();
  }
}
