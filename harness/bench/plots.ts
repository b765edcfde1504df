import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { compile } from 'vega-lite';
import type { ConfigResult } from './ipc-local.ts';

/**
 * The bench matrix as a table (CSV) and as plots (SVG, drawn by Vega-Lite's
 * compiler and Vega's headless renderer: no browser, no canvas).
 */

const CSV_HEAD = 'kernel,variant,cpus,accel,oversubscribed,case,unit,n,median,ci_low,ci_high,confidence';

export function benchCsv(configs: ConfigResult[]): string {
  const rows = configs.flatMap((c) =>
    c.cases.map((r) => [c.kernel, c.variant, c.cpus, c.accel, c.oversubscribed, r.id, r.unit, r.summary.n, r.summary.median, r.summary.ciLow, r.summary.ciHigh, r.summary.confidence.toFixed(4)].join(',')),
  );
  return `${[CSV_HEAD, ...rows].join('\n')}\n`;
}

/** Message cases and the baselines they are plotted against. */
const RATE_CASES = ['m3-sendrec', 'm3-sendrec-nospin', 'm3-send', 'compat-sendrec', 'pipe', 'unix', 'futex', 'futex-spin', 'shm-ring'];
const COPY_CASES = /^(vcopy|pvm|memcpy)-(\d+)$/;

async function svg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}

/** Message rate vs vCPUs (one panel per kernel) and vcopy bandwidth vs block size (one panel per kernel and CPU count). */
export async function benchPlots(configs: ConfigResult[]): Promise<Record<string, string>> {
  const rate = configs.flatMap((c) =>
    c.cases
      .filter((r) => RATE_CASES.includes(r.id))
      .map((r) => ({ kernel: c.variant, cpus: c.cpus, case: r.id, median: r.summary.median, low: r.summary.ciLow, high: r.summary.ciHigh, oversubscribed: c.oversubscribed })),
  );
  const copy = configs.flatMap((c) =>
    c.cases.flatMap((r) => {
      const m = COPY_CASES.exec(r.id);
      return m ? [{ panel: `${c.variant}, ${c.cpus} vCPU`, case: m[1]!, size: Number(m[2]), mbs: r.summary.median / 1e6, low: r.summary.ciLow / 1e6, high: r.summary.ciHigh / 1e6 }] : [];
    }),
  );
  const title = (t: string) => `${t} (${configs[0]?.accel.toUpperCase() ?? ''}; median and its interval over ${configs[0]?.cases[0]?.summary.n ?? 0} runs)`;
  const ratePlot: TopLevelSpec = {
    title: title('M3-IPC message rate vs vCPUs, beside its baselines'),
    data: { values: rate },
    facet: { column: { field: 'kernel', type: 'nominal', title: 'kernel' } },
    spec: {
      width: 260,
      height: 220,
      layer: [
        { mark: { type: 'line', point: true }, encoding: { x: { field: 'cpus', type: 'ordinal', title: 'vCPUs' }, y: { field: 'median', type: 'quantitative', scale: { type: 'log' }, title: 'one-way messages/s' }, color: { field: 'case', type: 'nominal' } } },
        { mark: 'rule', encoding: { x: { field: 'cpus', type: 'ordinal' }, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color: { field: 'case', type: 'nominal' } } },
      ],
    },
  };
  const copyPlot: TopLevelSpec = {
    title: title('vcopy bandwidth vs block size, beside process_vm_readv and memcpy'),
    data: { values: copy },
    facet: { column: { field: 'panel', type: 'nominal', title: null } },
    spec: {
      width: 220,
      height: 200,
      layer: [
        { mark: { type: 'line', point: true }, encoding: { x: { field: 'size', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'block size (bytes)' }, y: { field: 'mbs', type: 'quantitative', title: 'MB/s' }, color: { field: 'case', type: 'nominal' } } },
        { mark: 'rule', encoding: { x: { field: 'size', type: 'quantitative' }, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color: { field: 'case', type: 'nominal' } } },
      ],
    },
  };
  return { 'bench-ipc-local-rate.svg': await svg(ratePlot), 'bench-ipc-local-vcopy.svg': await svg(copyPlot) };
}
