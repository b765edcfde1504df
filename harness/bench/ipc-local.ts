import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IPC_PERF_EVENTS, type PerfCounter } from '../../agent/protocol.ts';
import { ConfigError, InfraError } from '../errors.ts';
import { REMOTE_KMOD_DIR } from '../kmod/deploy.ts';
import { installKmod } from '../kmod/install.ts';
import { isBoard, Lab } from '../lab/lab.ts';
import { loadLabFile, resolveLab, type LabOptions, type LabSpec } from '../lab/lab-file.ts';
import type { LabNode } from '../lab/node.ts';
import { repoRoot } from '../paths.ts';
import { shardSlice, shardText, type Shard } from '../shard.ts';
import { benchCsv, benchPlots } from './plots.ts';
import { formatRate, ratio, summarize, type Summary } from './stats.ts';
import { IpcbenchLine, programLine } from './program-line.ts';

/** One ipcbench invocation: a case, its size and how many iterations. */
interface Case {
  id: string;
  args: string[];
  kind: 'msg' | 'copy';
  /** Runs with the module's spin_us parameter set to this (then restored). */
  spinUs?: number;
  /** The bench program: ipcbench unless said (compatbench: the 1.6 compat layer). */
  program?: 'ipcbench' | 'compatbench';
}

const SPIN_PARAM = '/sys/module/m3ipc/parameters/spin_us';

/**
 * futex-spin comes after the M3 cases: it spins as long as the module's
 * spin_budget_ns, which the module measures on the waits that slept, so in
 * each round it takes the budget M3 had in that round.
 */
const MSG_CASES = ['pipe', 'unix', 'futex', 'shm-ring', 'm3-send', 'm3-sendrec', 'm3-sendrec-rr', 'm3-rcvrqst', 'm3-notify', 'm3-sendrec-affine', 'futex-spin'];
const COPY_SIZES = [4096, 65536, 1 << 20, 4 << 20];
const COPY_BYTES = 64 << 20;

/** Comparisons reported for every run: [M3-IPC figure, baseline], by case id. */
const MSG_RATIOS: [string, string][] = [
  ['m3-sendrec-nospin', 'pipe'],
  ['m3-sendrec-nospin', 'unix'],
  ['m3-sendrec', 'pipe'],
  ['m3-sendrec', 'unix'],
  ['m3-sendrec', 'futex'],
  // Fair pairs: both spin (M3's spin_us and the same spin on a futex), or neither.
  ['m3-sendrec', 'futex-spin'],
  ['m3-sendrec-nospin', 'futex'],
  // The bound a user could reach without a kernel (busy polling on shared memory).
  ['m3-sendrec', 'shm-ring'],
  ['m3-sendrec-rr', 'pipe'],
  ['m3-sendrec-rr', 'unix'],
  ['m3-sendrec-rr', 'futex-spin'],
  ['m3-sendrec-rr', 'shm-ring'],
  ['m3-send', 'pipe'],
  ['m3-send', 'unix'],
  ['m3-rcvrqst', 'pipe'],
  ['m3-rcvrqst', 'unix'],
  ['m3-notify', 'futex'],
  // M3_DCF_WAKE_AFFINE (sync wakeups) against the same calls without it.
  ['m3-sendrec-affine', 'm3-sendrec'],
  // The M3-IPC 1.6 compat layer over the same calls: what the layer costs.
  ['compat-sendrec', 'm3-sendrec'],
  ['compat-send', 'm3-send'],
];

/**
 * The targets (issue 25): a figure passes when its median ratio reaches the bound.
 * The server answers with reply-and-receive (m3-sendrec-rr), one call a request.
 * On one CPU nothing spins, so M3 is held to pipe and UNIX socket; on more, to a
 * futex that spins exactly as long (the fair baseline) and to the shared-memory
 * ring (no system call at all: the limit).
 */
function targets(cpus: number): { a: string; b: string; min: number }[] {
  return [
    ...(cpus === 1
      ? [
          { a: 'm3-sendrec-rr', b: 'pipe', min: 1.5 },
          { a: 'm3-sendrec-rr', b: 'unix', min: 1.5 },
        ]
      : [
          { a: 'm3-sendrec-rr', b: 'futex-spin', min: 1.0 },
          { a: 'm3-sendrec-rr', b: 'shm-ring', min: 0.6 },
        ]),
    ...COPY_SIZES.map((s) => ({ a: `vcopy-${s}`, b: `pvm-${s}`, min: 0.9 })),
    { a: 'compat-sendrec', b: 'm3-sendrec', min: 0.95 },
  ];
}

function cases(msgIters: number): Case[] {
  const out: Case[] = MSG_CASES.map((c) => ({ id: c, args: ['-n', `${msgIters}`, c], kind: 'msg' as const }));
  // The same calls with adaptive spinning off: what a blocked call costs when it always sleeps.
  for (const c of ['m3-sendrec', 'm3-sendrec-rr']) out.push({ id: `${c}-nospin`, args: ['-n', `${msgIters}`, c], kind: 'msg', spinUs: 0 });
  for (const c of ['compat-sendrec', 'compat-send']) out.push({ id: c, args: ['-n', `${msgIters}`, c], kind: 'msg', program: 'compatbench' });
  for (const size of COPY_SIZES) {
    const n = Math.max(8, Math.round(COPY_BYTES / size));
    for (const c of ['vcopy', 'pvm', 'memcpy']) out.push({ id: `${c}-${size}`, args: ['-n', `${n}`, c, `${size}`], kind: 'copy' });
  }
  return out;
}

export interface CaseResult {
  id: string;
  unit: string;
  samples: number[];
  summary: Summary;
  /** Ping-pong cases: the round trip's median and 99th percentile in ns, the median over the runs of each. */
  latency?: { p50Ns: number; p99Ns: number };
}

export interface ConfigResult {
  cpus: number;
  accel: string;
  kernel: string;
  /** The kernel variant asked for (default, up, debug). */
  variant: string;
  /** More vCPUs than the host has cores: the figures are oversubscribed. */
  oversubscribed: boolean;
  /** The board the cell ran on (CPUs above `cpus` offline), when not a VM of its own. */
  board?: string;
  hostCores: number;
  cases: CaseResult[];
  ratios: { a: string; b: string; value: number; low: number; high: number }[];
  targets: { a: string; b: string; min: number; value: number; met: boolean }[];
  perf: Record<string, { perMessage: Record<string, number | null>; counters: PerfCounter[] }>;
}

async function runCase(node: LabNode, ipcbench: string, c: Case) {
  const bin = c.program === 'compatbench' ? path.posix.join(path.posix.dirname(ipcbench), 'compatbench') : ipcbench;
  const cmd = c.spinUs === undefined ? `exec ${bin} ${c.args.join(' ')}` : `old=$(cat ${SPIN_PARAM}) && echo ${c.spinUs} > ${SPIN_PARAM} && ${bin} ${c.args.join(' ')}; rc=$?; echo $old > ${SPIN_PARAM}; exit $rc`;
  const res = await node.rpc.call('exec', { cmd: '/bin/sh', args: ['-c', cmd], timeoutMs: 300_000 }, 320_000);
  if (res.code !== 0) throw new InfraError(`${node.name}: ${path.posix.basename(bin)} ${c.args.join(' ')} failed (exit ${res.code}): ${res.stderr.trim()}`);
  return programLine(`${node.name}: ${path.posix.basename(bin)} ${c.args.join(' ')}`, res.stdout, IpcbenchLine);
}

/**
 * Where the time goes: software perf events (the only ones TCG has) for a run of
 * the message cases, per one-way message.
 */
async function perfProfile(node: LabNode, bin: string, id: string, iters: number) {
  const res = await node.rpc.call('perfStat', { cmd: bin, args: ['-n', `${iters}`, id], events: IPC_PERF_EVENTS, timeoutMs: 300_000 }, 320_000);
  const msgs = 2 * iters;
  const perMessage: Record<string, number | null> = {};
  for (const c of res.counters) perMessage[c.event] = c.value === null ? null : c.value / msgs;
  return { perMessage, counters: res.counters };
}

interface CellOptions {
  repeat: number;
  msgIters: number;
  log: (l: string) => void;
}

/** One cell of the matrix on a VM booted for it with `cpus` vCPUs. */
export async function benchIpcLocalConfig(cpus: number, opts: CellOptions & { accel?: LabOptions['accel']; kernel?: LabOptions['kernel']; node?: Record<string, unknown> }): Promise<ConfigResult> {
  const { log } = opts;
  const lab = await Lab.boot(resolveLab({ name: `bench-${cpus}cpu`, nodes: [{ ...opts.node, name: undefined, cpus, maxcpus: cpus }] }, { accel: opts.accel, kernel: opts.kernel }), { log });
  try {
    const node = lab.nodes[0]!;
    await installKmod([node], [1], log);
    return await benchCell(node, cpus, { accel: lab.state.accel.accel, kernel: `${node.record.kernel.variant} ${node.record.kernel.release}`, variant: node.record.kernel.variant, oversubscribed: cpus > os.cpus().length }, opts);
  } finally {
    await lab.teardown();
  }
}

/**
 * The cells of a board: one boot, the module built for its own kernel, and
 * each CPU count made by taking the CPUs above it offline through sysfs (a
 * real 4-CPU machine benchmarked at 1, 2, 3 and 4 CPUs); all CPUs are online
 * again afterwards.
 */
export async function benchIpcLocalBoard(spec: LabSpec, cpuList: number[] | undefined, opts: CellOptions): Promise<ConfigResult[]> {
  const { log } = opts;
  const lab = await Lab.boot(spec, { log });
  const node = lab.nodes.find(isBoard);
  try {
    if (!node) throw new InfraError(`lab ${spec.name} has no boards: bench ipc-local --lab benches the lab file's first board`);
    await installKmod([node], [1], log);
    const all = (await node.rpc.call('cpus', {})).online;
    const counts = cpuList ?? all.map((_, i) => i + 1);
    const tooMany = counts.find((c) => c > all.length);
    if (tooMany !== undefined) throw new ConfigError('--cpus', `${node.name} has ${all.length} CPUs online, cannot bench ${tooMany}`);
    const out: ConfigResult[] = [];
    for (const cpus of counts) {
      const keep = new Set(all.slice(0, cpus));
      // CPU 0 has no offline switch on x86 and stays.
      for (const c of all.filter((x) => x !== 0)) await node.rpc.call('cpuOnline', { cpu: c, online: keep.has(c) });
      const online = (await node.rpc.call('cpus', {})).online;
      if (online.length !== cpus) throw new InfraError(`${node.name}: ${online.length} CPUs online (${online.join(',')}), wanted ${cpus}`);
      log(`bench: ${node.name}: ${cpus} CPU online (${online.join(',')})`);
      out.push(await benchCell(node, cpus, { accel: 'board', kernel: `board ${node.record.kernel.release}`, variant: 'board', oversubscribed: false, board: node.name }, opts));
    }
    return out;
  } finally {
    if (node && node.state === 'ready') for (const c of (await node.rpc.call('cpus', {}).catch(() => ({ possible: [] as number[] }))).possible.filter((x) => x !== 0)) await node.rpc.call('cpuOnline', { cpu: c, online: true }).catch(() => undefined);
    await lab.teardown();
  }
}

export async function benchCell(node: LabNode, cpus: number, meta: Pick<ConfigResult, 'accel' | 'kernel' | 'variant' | 'oversubscribed' | 'board'>, opts: CellOptions): Promise<ConfigResult> {
  const { log } = opts;
  const bin = `${REMOTE_KMOD_DIR}/bench/ipcbench`;
  const list = cases(opts.msgIters);
  const samples = new Map<string, { unit: string; values: number[]; p50: number[]; p99: number[] }>();
  // Round-robin over the cases so a slow phase of the host touches every case alike.
  for (let r = 0; r < opts.repeat; r++) {
    for (const c of list) {
      const line = await runCase(node, bin, c);
      const s = samples.get(c.id) ?? { unit: line.unit, values: [], p50: [], p99: [] };
      s.values.push(line.value);
      if (line.rttP50Ns !== undefined && line.rttP99Ns !== undefined) {
        s.p50.push(line.rttP50Ns);
        s.p99.push(line.rttP99Ns);
      }
      samples.set(c.id, s);
    }
    log(`bench: ${node.name}, ${cpus} CPU: round ${r + 1}/${opts.repeat} done`);
  }
  const results: CaseResult[] = list.map((c) => {
    const s = samples.get(c.id)!;
    const latency = s.p50.length ? { p50Ns: summarize(s.p50).median, p99Ns: summarize(s.p99).median } : undefined;
    return { id: c.id, unit: s.unit, samples: s.values, summary: summarize(s.values), ...(latency ? { latency } : {}) };
  });
  const byId = new Map(results.map((r) => [r.id, r]));
  const pairs: [string, string][] = [...MSG_RATIOS, ...COPY_SIZES.flatMap((s): [string, string][] => [[`vcopy-${s}`, `pvm-${s}`], [`vcopy-${s}`, `memcpy-${s}`]])];
  const ratios = pairs.map(([a, b]) => ({ a, b, ...ratio(byId.get(a)!.samples, byId.get(b)!.samples) }));
  const met = targets(cpus).map((t) => {
    const value = byId.get(t.a)!.summary.median / byId.get(t.b)!.summary.median;
    return { ...t, value, met: value >= t.min };
  });
  const perf: ConfigResult['perf'] = {};
  for (const id of ['pipe', 'unix', 'futex-spin', 'shm-ring', 'm3-sendrec', 'm3-sendrec-rr']) perf[id] = await perfProfile(node, bin, id, opts.msgIters);
  return { cpus, ...meta, hostCores: os.cpus().length, cases: results, ratios, targets: met, perf };
}

export function formatTable(configs: ConfigResult[]): string {
  const lines: string[] = [];
  for (const c of configs) {
    const first = c.cases[0]!.summary;
    lines.push(`\n== ipc-local, ${c.board ? `board ${c.board}, ${c.cpus} CPU online` : `${c.cpus} vCPU`}${c.oversubscribed ? ` (OVERSUBSCRIBED: the host has ${c.hostCores} cores)` : ''}, ${c.accel.toUpperCase()}, kernel ${c.kernel}; median of ${first.n} runs, its ${(first.confidence * 100).toFixed(1)}% interval${first.confidence < 0.95 ? ' (too few runs for 95%: min..max)' : ''}`);
    lines.push(`${'case'.padEnd(18)} ${'median'.padStart(14)}  interval`);
    for (const r of c.cases) lines.push(`${r.id.padEnd(18)} ${formatRate(r.summary.median, r.unit).padStart(14)}  ${formatRate(r.summary.ciLow, r.unit)} .. ${formatRate(r.summary.ciHigh, r.unit)}`);
    lines.push(`${'ratio'.padEnd(30)} ${'median'.padStart(7)}  95% bootstrap interval`);
    for (const r of c.ratios) lines.push(`${`${r.a} / ${r.b}`.padEnd(30)} ${r.value.toFixed(2).padStart(7)}  ${r.low.toFixed(2)}..${r.high.toFixed(2)}`);
    lines.push('round trip (ns, median over the runs of each run\'s median and 99th percentile):');
    for (const r of c.cases.filter((x) => x.latency)) lines.push(`  ${r.id.padEnd(22)} p50 ${r.latency!.p50Ns.toFixed(0).padStart(8)}  p99 ${r.latency!.p99Ns.toFixed(0).padStart(9)}`);
    lines.push('targets:');
    for (const t of c.targets) lines.push(`  ${t.a} / ${t.b} >= ${t.min}: ${t.value.toFixed(2)} ${t.met ? 'MET' : 'MISSED'}`);
    lines.push('per one-way message (perf software events; hardware events "n/a" when the guest cannot count them):');
    for (const [id, p] of Object.entries(c.perf)) {
      const f = (e: string, scale = 1, digits = 2) => (p.perMessage[e] === null || p.perMessage[e] === undefined ? 'n/a' : (p.perMessage[e]! * scale).toFixed(digits));
      lines.push(`  ${id.padEnd(16)} task-clock ${f('task-clock', 1000, 1)} us  ctx-switches ${f('context-switches')}  migrations ${f('cpu-migrations', 1, 3)}  cycles ${f('cycles', 1, 0)}  instructions ${f('instructions', 1, 0)}`);
    }
  }
  return lines.join('\n');
}

/**
 * The bench matrix: every kernel variant x every vCPU count, each cell run
 * `repeat` times. Writes reports/bench-ipc-local.{json,csv} and SVG plots.
 */
export async function benchIpcLocal(opts: { cpus?: number[]; repeat: number; msgIters: number; json: boolean; accel?: LabOptions['accel']; kernels?: LabOptions['kernel'][]; labFile?: string; shard?: Shard; results?: string }): Promise<number> {
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const configs: ConfigResult[] = [];
  const labDoc = opts.labFile ? loadLabFile(opts.labFile) : undefined;
  if (opts.shard && labDoc && labDoc.boards.length > 0) throw new ConfigError('--shard', 'a board\'s cells run on that board: not with --lab FILE of boards');
  if (labDoc && labDoc.boards.length > 0) configs.push(...(await benchIpcLocalBoard(labDoc, opts.cpus, { ...opts, log })));
  else {
    // A lab file without boards gives the VM's other fields (memory, kernel, command line); the CPU count is the cell's.
    const first = labDoc?.nodes[0];
    const node = first ? { memory: first.memoryMb, append: first.append || undefined, kernel: first.kernel } : undefined;
    const all = (opts.kernels ?? [undefined]).flatMap((kernel) => (opts.cpus ?? [1, 2]).map((cpus) => ({ kernel, cpus, key: `ipc-local/${kernel ?? 'default'}, ${cpus} vCPU` })));
    // A shard: the nightly's cut of the same cells (harness/shard.ts).
    const cells = opts.shard ? shardSlice(all, (c) => c.key, opts.shard, { fromEnd: true }) : all;
    if (opts.shard) log(`bench: shard ${shardText(opts.shard)}: ${cells.map((c) => c.key).join('; ') || 'no cell'} (of ${all.length})`);
    for (const c of all.filter((x) => cells.includes(x))) configs.push(await benchIpcLocalConfig(c.cpus, { ...opts, kernel: c.kernel, node, log }));
  }
  const doc = { bench: 'ipc-local', date: new Date().toISOString(), repeat: opts.repeat, msgIters: opts.msgIters, configs };
  const dir = opts.results ? path.resolve(opts.results) : path.join(repoRoot, 'reports');
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, 'bench-ipc-local.json');
  writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
  writeFileSync(path.join(dir, 'bench-ipc-local.csv'), benchCsv(configs));
  const plots = configs.length ? await benchPlots(configs) : {};
  for (const [name, svg] of Object.entries(plots)) writeFileSync(path.join(dir, name), svg);
  if (opts.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  else process.stdout.write(`${formatTable(configs)}\n\nfigures: ${out}, bench-ipc-local.csv, ${Object.keys(plots).join(', ')} (in ${dir})\n`);
  return 0;
}
