import { installKmod } from '../kmod/install.ts';
import { loadModule } from '../kmod/deploy.ts';
import { Lab } from '../lab/lab.ts';
import { resolveLab, type LabOptions } from '../lab/lab-file.ts';
import type { LabNode } from '../lab/node.ts';
import { ratio, summarize, type Summary } from './stats.ts';

/**
 * `m3lab bench seal`: what sealing one link frame costs with each candidate
 * of the guest kernel's crypto API (issue 22: HMAC-SHA-256 and two AEADs
 * against the HMAC-SHA-512/256 of wire v2), from the module's
 * /proc/m3ipc/link_seal (rmt_link_seal.c), read REPEAT times on one node;
 * each candidate as a ratio to the links' own HMAC, read in the same rounds.
 */
export interface SealRow {
  candidate: string;
  driver: string;
  bytes: number;
  /** undefined: the kernel has no such algorithm (the reason is in `unavailable`). */
  ns?: number;
  unavailable?: string;
}

/** Rows of /proc/m3ipc/link_seal; a line that is neither a row nor the heading is an error. */
export function parseLinkSeal(text: string): SealRow[] {
  const lines = text.trim().split('\n');
  if (lines[0]?.trim() !== 'candidate driver bytes ns_per_frame') throw new Error(`link_seal: unexpected heading ${JSON.stringify(lines[0])}`);
  return lines.slice(1).map((l) => {
    const f = l.trim().split(/\s+/);
    if (f.length !== 4) throw new Error(`link_seal: bad row ${JSON.stringify(l)}`);
    const [candidate, driver, bytes, ns] = f as [string, string, string, string];
    const un = /^unavailable\((-?\d+)\)$/.exec(ns);
    if (un) return { candidate, driver, bytes: Number(bytes), unavailable: `errno ${un[1]}` };
    if (!/^\d+$/.test(ns) || !/^\d+$/.test(bytes)) throw new Error(`link_seal: bad row ${JSON.stringify(l)}`);
    return { candidate, driver, bytes: Number(bytes), ns: Number(ns) };
  });
}

export interface SealFigure {
  candidate: string;
  driver: string;
  bytes: number;
  summary?: Summary;
  /** Against the links' HMAC (the first candidate) at the same size: below 1 is cheaper. */
  ratio?: { value: number; low: number; high: number };
  unavailable?: string;
}

/** Per candidate and size, over rounds: the median and the ratio to the first candidate (the links' HMAC). */
export function sealFigures(rounds: SealRow[][]): SealFigure[] {
  const key = (r: SealRow) => `${r.candidate} ${r.bytes}`;
  const first = rounds[0] ?? [];
  const base = first[0]?.candidate;
  return first.map((row) => {
    const samples = rounds.map((rs) => rs.find((r) => key(r) === key(row))?.ns).filter((v): v is number => v !== undefined);
    if (row.ns === undefined || samples.length === 0) return { candidate: row.candidate, driver: row.driver, bytes: row.bytes, unavailable: row.unavailable ?? 'no sample' };
    const baseSamples = rounds.map((rs) => rs.find((r) => r.candidate === base && r.bytes === row.bytes)?.ns).filter((v): v is number => v !== undefined);
    return {
      candidate: row.candidate,
      driver: row.driver,
      bytes: row.bytes,
      summary: summarize(samples),
      ratio: baseSamples.length ? ratio(samples, baseSamples, { seed: 1 }) : undefined,
    };
  });
}

export function formatSeal(figs: SealFigure[], repeat: number, where: string): string {
  const out = [`== link_seal: ns to seal one frame, median of ${repeat} reads (each the best of 4 turns of 16 frames), ${where}`];
  out.push(`${'candidate'.padEnd(44)} ${'driver'.padEnd(42)} ${'bytes'.padStart(6)} ${'ns'.padStart(9)} ${'spread'.padStart(7)}  vs the links' HMAC`);
  for (const f of figs) {
    if (!f.summary) {
      out.push(`${f.candidate.padEnd(44)} ${'-'.padEnd(42)} ${`${f.bytes}`.padStart(6)} unavailable (${f.unavailable})`);
      continue;
    }
    const q = f.ratio ? `${f.ratio.value.toFixed(2)} [${f.ratio.low.toFixed(2)}, ${f.ratio.high.toFixed(2)}]` : '';
    out.push(`${f.candidate.padEnd(44)} ${f.driver.padEnd(42)} ${`${f.bytes}`.padStart(6)} ${f.summary.median.toFixed(0).padStart(9)} ${`${(f.summary.spread * 100).toFixed(0)}%`.padStart(7)}  ${q}`);
  }
  return out.join('\n');
}

export async function benchSeal(o: { repeat: number; json: boolean; kernel?: LabOptions['kernel']; accel?: LabOptions['accel'] }): Promise<number> {
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const lab = await Lab.boot(resolveLab({ name: 'bench-seal', nodes: 1 }, { kernel: o.kernel, accel: o.accel }), { log });
  try {
    const node = lab.nodes[0] as LabNode;
    const remote = (await installKmod([node], [1], log)).get(node.name)!;
    await loadModule(node, remote);
    const rounds: SealRow[][] = [];
    for (let i = 0; i < o.repeat; i++) rounds.push(parseLinkSeal((await node.sh('cat /proc/m3ipc/link_seal')).stdout));
    const figs = sealFigures(rounds);
    const where = `${lab.state.accel.accel.toUpperCase()}, ${node.record.kernel.variant} kernel ${node.record.kernel.release}`;
    if (o.json) console.log(JSON.stringify({ bench: 'seal', repeat: o.repeat, where, figures: figs, rounds }, null, 2));
    else console.log(formatSeal(figs, o.repeat, where));
    return 0;
  } finally {
    await lab.teardown();
  }
}
