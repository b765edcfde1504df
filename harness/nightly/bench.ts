import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import type { AccelChoice } from '../qemu/accel.ts';
import { guestCalibration, hostCalibration, unreliableBecause, type CalibrationPoint, type CellCalibration } from '../bench/calibrate.ts';
import { benchCell, formatTable, type ConfigResult } from '../bench/ipc-local.ts';
import { InfraError } from '../errors.ts';
import { REMOTE_KMOD_DIR } from '../kmod/deploy.ts';
import { installKmod } from '../kmod/install.ts';
import { Lab } from '../lab/lab.ts';
import { resolveLab } from '../lab/lab-file.ts';
import type { LabNode } from '../lab/node.ts';
import type { RemoteResult } from '../bench/ipc-remote.ts';
import { benchCsv, benchPlots } from '../bench/plots.ts';
import { repoRoot } from '../paths.ts';
import type { NightFile } from './allure.ts';
import type { BenchLocalPlan, BenchRemotePlan } from './plan.ts';
import { programLine } from '../bench/program-line.ts';
import { z } from 'zod';
import { readJsonWith } from '../config/schema.ts';

/** bench-ipc-remote.json as the night keeps it: when it was measured, its figures and ratios. */
const RemoteBenchFile = z.looseObject({
  date: z.string(),
  accel: z.string(),
  kernel: z.string(),
  figures: z.array(z.looseObject({ id: z.string(), unit: z.string(), samples: z.array(z.number()) })),
  ratios: z.array(z.looseObject({ a: z.string(), b: z.string(), value: z.number() })),
});

/** A bench cell that did not produce figures (its lab failed): reported broken, the night goes on. */
export interface CellError {
  bench: 'ipc-local' | 'ipc-remote';
  cell: string;
  message: string;
  trace?: string;
  start: number;
  stop: number;
}

export interface NightBench {
  local: ConfigResult[];
  remote?: { result: RemoteResult; variant: string };
  errors: CellError[];
  /** `${bench}/${cell}` -> when it ran, for the results' timings. */
  when: Map<string, { start: number; stop: number }>;
  /** bench -> files to attach to its results (plots, CSV, JSON). */
  files: Map<string, NightFile[]>;
  /** Each bench that ran: its cells and when. */
  runs: { bench: 'ipc-local' | 'ipc-remote'; cells: string[]; start: number; stop: number }[];
  /** `${bench}/${cell}` -> the host's (and the cell guest's) calibration at its start and end. */
  calibration: Map<string, CellCalibration>;
}

/**
 * M3LAB_TEST_SENDREC_DELAY_US: a planted slowdown of sendrec in every ipc-local
 * cell (the module's test-only test_sendrec_delay_us), the positive control of
 * the performance verdicts run by hand. Never set for a real night.
 */
export function plantedDelay(): number | undefined {
  const v = process.env.M3LAB_TEST_SENDREC_DELAY_US;
  if (v === undefined || v === '' || v === '0') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 10000) throw new InfraError(`M3LAB_TEST_SENDREC_DELAY_US: an integer 0..10000, got ${JSON.stringify(v)}`);
  return n;
}

/** ipcbench's calibration cases in a cell's guest: the JSON line's value. */
async function runGuestIpcbench(node: LabNode, args: string[]): Promise<number> {
  const res = await node.rpc.call('exec', { cmd: `${REMOTE_KMOD_DIR}/bench/ipcbench`, args, timeoutMs: 60_000 }, 70_000);
  if (res.code !== 0) throw new InfraError(`${node.name}: ipcbench ${args.join(' ')} failed (exit ${res.code}): ${res.stderr.trim()}`);
  return programLine(`${node.name}: ipcbench ${args.join(' ')}`, res.stdout).value;
}

export async function calibrationPoint(node?: LabNode): Promise<CalibrationPoint> {
  const at = Date.now();
  const host = hostCalibration();
  return { at, host, ...(node ? { guest: await guestCalibration((args) => runGuestIpcbench(node, args)) } : {}) };
}

/**
 * One ipc-local cell as `m3lab bench ipc-local` runs it (its own lab, the
 * module loaded, ipc-local's benchCell), with the host's and the guest's
 * calibration taken right before the first round and right after the last.
 */
async function calibratedCell(cpus: number, o: { repeat: number; msgIters: number; accel: AccelChoice | undefined; kernel: BenchLocalPlan['kernels'][number]; log: (l: string) => void }): Promise<{ result: ConfigResult; calibration: CellCalibration }> {
  const lab = await Lab.boot(resolveLab({ name: `bench-${cpus}cpu`, nodes: [{ cpus, maxcpus: cpus }] }, { accel: o.accel, kernel: o.kernel }), { log: o.log });
  try {
    const node = lab.nodes[0]!;
    await installKmod([node], [1], o.log);
    const planted = plantedDelay();
    if (planted) {
      // Test only (docs/nightly.md, The controls): the positive control of the performance verdicts, by hand.
      const set = await node.sh(`echo ${planted} > /sys/module/m3ipc/parameters/test_sendrec_delay_us`);
      if (set.code !== 0) throw new InfraError(`${node.name}: cannot set test_sendrec_delay_us=${planted}: ${set.stderr.trim()}`);
      o.log(`nightly: PLANTED SLOWDOWN test_sendrec_delay_us=${planted} (M3LAB_TEST_SENDREC_DELAY_US): every sendrec busy-waits ${planted} us`);
    }
    const start = await calibrationPoint(node);
    const result = await benchCell(node, cpus, { accel: lab.state.accel.accel, kernel: `${node.record.kernel.variant} ${node.record.kernel.release}`, variant: node.record.kernel.variant, oversubscribed: cpus > os.cpus().length }, { repeat: o.repeat, msgIters: o.msgIters, log: o.log });
    const end = await calibrationPoint(node);
    return { result, calibration: { start, end } };
  } finally {
    await lab.teardown();
  }
}

export const cellName = (variant: string, cpus?: number) => (cpus === undefined ? variant : `${variant}, ${cpus} vCPU`);

/**
 * Every bench cell of a plan by its key (`ipc-local/default, 1 vCPU`,
 * `ipc-remote/default`), in the order the night runs them: what a shard
 * slices (harness/shard.ts) and what a merge must find again.
 */
export function benchCellKeys(plan: { local: BenchLocalPlan; remote?: BenchRemotePlan }): string[] {
  return [...plan.local.kernels.flatMap((k) => plan.local.cpus.map((c) => `ipc-local/${cellName(k, c)}`)), ...(plan.remote ? [`ipc-remote/${cellName(plan.remote.kernel)}`] : [])];
}

/**
 * The ipc-local matrix cell by cell (each its own lab, as `m3lab bench` does);
 * a cell that fails is recorded and the next one runs. Writes the same JSON,
 * CSV and SVG plots as `m3lab bench ipc-local` into the night's bench/ folder.
 */
/**
 * A cell whose calibration drifted beyond the bound is measured once more (a
 * shared host has bursts of other work); the second measurement counts,
 * unreliable or not.
 */
const CELL_ATTEMPTS = 2;

async function benchLocal(plan: BenchLocalPlan, dir: string, accel: AccelChoice | undefined, log: (l: string) => void, out: NightBench, calibrationBound: number, only: (key: string) => boolean): Promise<void> {
  const run = { bench: 'ipc-local' as const, cells: plan.kernels.flatMap((k) => plan.cpus.filter((c) => only(`ipc-local/${cellName(k, c)}`)).map((c) => cellName(k, c))), start: Date.now(), stop: 0 };
  if (!run.cells.length) return;
  out.runs.push(run);
  for (const kernel of plan.kernels) {
    for (const cpus of plan.cpus) {
      if (!only(`ipc-local/${cellName(kernel, cpus)}`)) continue;
      const start = Date.now();
      try {
        log(`nightly: bench ipc-local, ${cellName(kernel, cpus)}`);
        let cell = await calibratedCell(cpus, { repeat: plan.repeat, msgIters: plan.msgIters, accel, kernel, log });
        for (let attempt = 2; attempt <= CELL_ATTEMPTS; attempt++) {
          const why = unreliableBecause(cell.calibration, calibrationBound);
          if (!why) break;
          log(`nightly: bench ipc-local, ${cellName(kernel, cpus)}: unreliable (${why}); measuring it again (attempt ${attempt} of ${CELL_ATTEMPTS})`);
          cell = await calibratedCell(cpus, { repeat: plan.repeat, msgIters: plan.msgIters, accel, kernel, log });
        }
        out.local.push(cell.result);
        out.calibration.set(`ipc-local/${cellName(kernel, cpus)}`, cell.calibration);
      } catch (e) {
        const err = e as Error;
        out.errors.push({ bench: 'ipc-local', cell: cellName(kernel, cpus), message: err.message, trace: err.stack, start, stop: Date.now() });
      }
      out.when.set(`ipc-local/${cellName(kernel, cpus)}`, { start, stop: Date.now() });
    }
  }
  run.stop = Date.now();
  if (!out.local.length) return;
  const calibration = Object.fromEntries([...out.calibration].filter(([k]) => k.startsWith('ipc-local/')));
  const doc = { bench: 'ipc-local', date: new Date().toISOString(), repeat: plan.repeat, msgIters: plan.msgIters, calibration, configs: out.local };
  const json = path.join(dir, 'bench-ipc-local.json');
  writeFileSync(json, `${JSON.stringify(doc, null, 2)}\n`);
  writeFileSync(path.join(dir, 'bench-ipc-local.csv'), benchCsv(out.local));
  writeFileSync(path.join(dir, 'bench-ipc-local.txt'), `${formatTable(out.local)}\n`);
  const plots = await benchPlots(out.local);
  for (const [name, svg] of Object.entries(plots)) writeFileSync(path.join(dir, name), svg);
  process.stdout.write(`${formatTable(out.local)}\n`);
  out.files.set('ipc-local', [
    ...Object.keys(plots).map((name) => ({ name, file: path.join(dir, name), type: 'image/svg+xml' })),
    { name: 'bench-ipc-local.csv', file: path.join(dir, 'bench-ipc-local.csv'), type: 'text/csv' },
    { name: 'bench-ipc-local.txt (the table)', file: path.join(dir, 'bench-ipc-local.txt'), type: 'text/plain' },
    { name: 'bench-ipc-local.json', file: json, type: 'application/json' },
  ]);
}

/**
 * The remote bench through `m3lab bench ipc-remote`'s own function, which
 * writes reports/bench-ipc-remote.json; that file is taken only if this run
 * wrote it (its date is after the start), then copied into the night.
 */
async function benchRemote(plan: BenchRemotePlan, dir: string, accel: AccelChoice | undefined, out: NightBench): Promise<void> {
  const start = Date.now();
  const cell = cellName(plan.kernel);
  // No guest of its own to calibrate in (the bench boots and tears down its lab): the host's, around it.
  const calStart = await calibrationPoint();
  try {
    const { benchIpcRemote } = await import('../bench/ipc-remote.ts');
    const code = await benchIpcRemote({ repeat: plan.repeat, iters: plan.iters, json: false, accel, kernel: plan.kernel });
    const file = path.join(repoRoot, 'reports', 'bench-ipc-remote.json');
    const doc = existsSync(file) ? (readJsonWith(file, RemoteBenchFile) as unknown as RemoteResult & { date: string }) : undefined;
    if (code !== 0 || !doc || Date.parse(doc.date) < start) throw new Error(`bench ipc-remote wrote no figures (exit ${code})`);
    const copy = path.join(dir, 'bench-ipc-remote.json');
    copyFileSync(file, copy);
    out.remote = { result: doc, variant: plan.kernel };
    out.calibration.set(`ipc-remote/${cell}`, { start: calStart, end: await calibrationPoint() });
    out.files.set('ipc-remote', [{ name: 'bench-ipc-remote.json', file: copy, type: 'application/json' }]);
  } catch (e) {
    const err = e as Error;
    out.errors.push({ bench: 'ipc-remote', cell, message: err.message, trace: err.stack, start, stop: Date.now() });
  }
  out.when.set(`ipc-remote/${cell}`, { start, stop: Date.now() });
  out.runs.push({ bench: 'ipc-remote', cells: [cell], start, stop: Date.now() });
}

/** Runs the plan's bench cells; with `cells` (a shard's slice, keys of benchCellKeys()) only those. */
export async function runBench(plan: { local: BenchLocalPlan; remote?: BenchRemotePlan; calibrationBound: number }, nightDir: string, accel: AccelChoice | undefined, log: (l: string) => void, cells?: string[]): Promise<NightBench> {
  const dir = path.join(nightDir, 'bench');
  mkdirSync(dir, { recursive: true });
  const out: NightBench = { local: [], errors: [], when: new Map(), files: new Map(), runs: [], calibration: new Map() };
  const only = (key: string) => cells === undefined || cells.includes(key);
  await benchLocal(plan.local, dir, accel, log, out, plan.calibrationBound, only);
  if (plan.remote && only(`ipc-remote/${cellName(plan.remote.kernel)}`)) await benchRemote(plan.remote, dir, accel, out);
  return out;
}
