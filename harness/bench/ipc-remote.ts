import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, InfraError } from '../errors.ts';
import { Lab } from '../lab/lab.ts';
import { loadLabFile, resolveLab, type LabOptions } from '../lab/lab-file.ts';
import type { LabNode } from '../lab/node.ts';
import { M3Cluster, spawnedEndpoint, type DataPath } from '../m3/cluster.ts';
import { repoRoot } from '../paths.ts';
import { cpuSnapshot, formatProfile, profileOf, type CpuProfile } from './cpu-profile.ts';
import { ratio, summarize, type Summary } from './stats.ts';
import { programLine } from './program-line.ts';

const TCP_PORT = 7100;
const SERVER_SLOT = 10;
const CLIENTS = 8;

/** One figure per round: [id, unit, how to get it from the program's JSON line]. */
interface Figure {
  id: string;
  unit: string;
  values: number[];
}

async function json(node: LabNode, cmd: string, args: string[]): Promise<Record<string, number>> {
  const res = await node.rpc.call('exec', { cmd, args, timeoutMs: 300_000 }, 320_000);
  if (res.code !== 0) throw new InfraError(`${node.name}: ${path.basename(cmd)} ${args.join(' ')} failed (exit ${res.code}): ${res.stderr.trim()}`);
  return programLine(`${node.name}: ${path.basename(cmd)} ${args.join(' ')}`, res.stdout) as Record<string, number>;
}

/**
 * A remote vcopy client: node2 obeys its vcopy frames only once node2's admin gave
 * its endpoint KERNEL (frames carry no privilege), and a new binding is a new
 * endpoint, so the client waits bound until the grant is made.
 */
async function grantedVcopy(cluster: M3Cluster, n1: LabNode, n2: LabNode, rb: string, args: string[]): Promise<Record<string, number>> {
  const { id } = await n1.rpc.call('spawn', { cmd: rb, args: [...args, '--await-grant'] });
  try {
    const ep = await spawnedEndpoint(n1, id, `rbench ${args.join(' ')}`);
    await cluster.grant(n2, ep, n1, 'kernel');
    await n1.rpc.call('kill', { id, signal: 'SIGUSR1' });
    const r = await n1.rpc.call('wait', { id, timeoutMs: 300_000 }, 320_000);
    if (!r.exited || r.code !== 0) throw new InfraError(`${n1.name}: rbench ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return programLine(`${n1.name}: rbench ${args.join(' ')}`, r.stdout) as Record<string, number>;
  } finally {
    await n1.rpc.call('kill', { id, signal: 'SIGKILL' }).catch(() => {});
  }
}

export interface RemoteResult {
  accel: string;
  kernel: string;
  figures: { id: string; unit: string; samples: number[]; summary: Summary }[];
  ratios: { a: string; b: string; value: number; low: number; high: number; target?: string; met?: boolean }[];
  proxies: Record<string, string>[];
  /** Where the time went during the 8-client run, on the client's node and the server's. */
  profiles: CpuProfile[];
  /** Rounds that did not finish (not in the figures), with the error. */
  failedRounds?: { pass: string; round: number; error: string }[];
}

/**
 * The passes of one run, each a cluster of its own on the same two guests (issue 22): the kernel data path
 * (every figure, and the TCP baselines), the proxies carrying the frames (`--data-path user`), and the
 * kernel path without authentication (what the MACs cost; only where the lab file allows --insecure).
 */
interface Pass {
  name: string;
  dataPath: DataPath;
  insecure: boolean;
  suffix: string;
}
const PASSES: Pass[] = [
  { name: 'kernel data path', dataPath: 'kernel', insecure: false, suffix: '' },
  { name: 'user data path (proxies)', dataPath: 'user', insecure: false, suffix: '-user' },
  { name: 'kernel data path, --insecure', dataPath: 'kernel', insecure: true, suffix: '-insecure' },
];

/** What one setting of the proxies measures: every figure id gets `suffix`. */
interface Round {
  cluster: M3Cluster;
  n1: LabNode;
  n2: LabNode;
  ep: number;
  suffix: string;
  iters: number;
  /** No TCP baselines (the first pass has them), and of the vcopy sizes only 4 MiB. */
  short: boolean;
  /** CPU use on both nodes over the 8-client run (the last round of the main pass). */
  profile: boolean;
}

async function measure(r: Round, add: (id: string, unit: string, v: number) => void): Promise<CpuProfile[]> {
  const { cluster, n1, n2, ep, suffix } = r;
  const r1 = cluster.remote.get(n1.name)!;
  const dc = cluster.opts.dc;
  const tcp = r1.bench.tcpbench!;
  const rb = r1.bench.rbench!;
  const host = n2.record.lanAddress;
  const node2 = `${cluster.nodeId(n2)}`;
  const it = `${r.iters}`;
  if (!r.short) {
    const t = await json(n1, tcp, ['rtt', host, `${TCP_PORT}`, it, '1']);
    add('tcp-rtt-us', 'us', t.median_us!);
    add('tcp-pingpong-rate', 'msg/s', t.rate!);
  }
  const m = await json(n1, rb, ['rtt', dc, '20', `${ep}`, node2, it]);
  add(`m3-rtt-us${suffix}`, 'us', m.median_us!);
  if (!r.short) {
    add('m3-sendrec-rate', 'msg/s', m.rate!);
    const tp = await json(n1, tcp, ['pipeline', host, `${TCP_PORT}`, `${r.iters * CLIENTS}`, '64', `${CLIENTS}`]);
    add(`tcp-pipeline-${CLIENTS}`, 'msg/s', tp.rate!);
  }
  const before = r.profile ? await Promise.all([n1, n2].map(cpuSnapshot)) : [];
  const mp = await json(n1, rb, ['rate', dc, '21', `${ep}`, node2, it, `${CLIENTS}`]);
  const after = r.profile ? await Promise.all([n1, n2].map(cpuSnapshot)) : [];
  add(`m3-sendrec-${CLIENTS}-clients${suffix}`, 'msg/s', mp.rate!);
  for (const size of r.short ? [4 << 20] : [65536, 4 << 20]) {
    const iters = Math.max(4, Math.round((16 << 20) / size));
    if (!r.short) {
      const ts = await json(n1, tcp, ['stream', host, `${TCP_PORT}`, `${size * iters}`]);
      add(`tcp-stream-${size}`, 'B/s', ts.value!);
    }
    const mv = await grantedVcopy(cluster, n1, n2, rb, ['vcopy', dc, '40', `${ep}`, node2, `${size}`, `${iters}`]);
    add(`m3-vcopy-${size}${suffix}`, 'B/s', mv.value!);
  }
  return after.map((a, i) => profileOf([n1, n2][i]!.name, before[i]!, a, r.iters * CLIENTS));
}

/** A cluster on the two machines and its rbench and TCP servers on the second; the server's endpoint. */
async function startCluster(n1: LabNode, n2: LabNode, pass: Pass, lab: { name: string; insecure: boolean }, log: (l: string) => void): Promise<{ cluster: M3Cluster; ep: number }> {
  const cluster = await M3Cluster.setup([n1, n2], { insecure: pass.insecure, dataPath: pass.dataPath, lab }, log);
  const hmac = (await n1.sh('cat /sys/module/m3ipc/parameters/link_hmac /sys/module/m3ipc/parameters/link_hmac_ns')).stdout.trim().split('\n');
  log(`bench: ${pass.name}: ${n1.name}'s links use ${hmac[0] || 'no HMAC'} (measured at load, ns per MAC: ${hmac[1] ?? '?'})`);
  const rows = await cluster.proxyTable(n1);
  if (rows.some((r) => r.data_path !== pass.dataPath)) throw new InfraError(`bench: the ${pass.name} pass has links on another path: ${rows.map((r) => `node ${r.node_id} ${r.data_path}`).join(', ')}`);
  const r2 = cluster.remote.get(n2.name)!;
  await n2.rpc.call('spawn', { cmd: r2.bench.tcpbench!, args: ['server', `${TCP_PORT}`] });
  const srv = await n2.rpc.call('spawn', { cmd: r2.bench.rbench!, args: ['server', cluster.opts.dc, `${SERVER_SLOT}`] });
  return { cluster, ep: await spawnedEndpoint(n2, srv.id, 'rbench server', 5000) };
}

export async function benchIpcRemote(opts: { repeat: number; iters: number; json: boolean; accel?: LabOptions['accel']; kernel?: LabOptions['kernel']; labFile?: string }): Promise<number> {
  const log = (l: string) => process.stderr.write(`${l}\n`);
  // With --lab: the file's first two machines (VMs or boards), e.g. a VM and a board, or two boards.
  // The bench's own lab asks for --insecure proxies by name (its second pass); a lab file must say `insecure: true` for it.
  const spec = opts.labFile ? loadLabFile(opts.labFile, { accel: opts.accel, kernel: opts.kernel }) : resolveLab({ name: 'bench-remote', nodes: 2, insecure: true }, { accel: opts.accel, kernel: opts.kernel });
  if (spec.nodes.length + spec.boards.length < 2) throw new ConfigError('--lab', `bench ipc-remote needs two machines; ${opts.labFile} has ${spec.nodes.length + spec.boards.length}`);
  const lab = await Lab.boot(spec, { log });
  let cluster: M3Cluster | undefined;
  try {
    const [n1, n2] = [lab.nodes[0]!, lab.nodes[1]!];
    const fig = new Map<string, Figure>();
    const add = (id: string, unit: string, v: number) => {
      const f = fig.get(id) ?? { id, unit, values: [] };
      f.values.push(v);
      fig.set(id, f);
    };
    let profiles: CpuProfile[] = [];
    const failedRounds: RemoteResult['failedRounds'] = [];
    let proxies: Record<string, string>[] = [];
    if (!spec.insecure) log(`bench: no --insecure pass: lab ${spec.name}'s file does not ask for it (insecure: true), so what authentication costs is not measured`);
    for (const pass of PASSES.filter((p) => !p.insecure || spec.insecure)) {
      const main = pass === PASSES[0];
      const started = await startCluster(n1, n2, pass, { name: spec.name, insecure: spec.insecure }, log);
      cluster = started.cluster;
      for (let r = 0; r < opts.repeat; r++) {
        const last = r === opts.repeat - 1;
        // A round's figures count only when the whole round ran: every figure keeps one sample per round.
        const round: [string, string, number][] = [];
        try {
          const p = await measure({ cluster, n1, n2, ep: started.ep, suffix: pass.suffix, iters: opts.iters, short: !main, profile: main && last }, (id, unit, v) => round.push([id, unit, v]));
          if (p.length) profiles = p;
        } catch (e) {
          // One program dying (it happened once in 9 rounds to tcpbench, a baseline) should not throw away
          // the rounds already measured: said, kept in the figures file, and the bench fails past a third.
          const why = (e as Error).message.split('\n')[0]!;
          failedRounds.push({ pass: pass.name, round: r + 1, error: why });
          log(`bench: remote round ${r + 1}/${opts.repeat} (${pass.name}) FAILED, not counted: ${why}`);
          if (failedRounds.length > Math.max(1, Math.floor(opts.repeat / 3))) throw new InfraError(`bench ipc-remote: ${failedRounds.length} rounds failed (${failedRounds.map((f) => `${f.pass} ${f.round}: ${f.error}`).join('; ')})`);
          continue;
        }
        for (const [id, unit, v] of round) add(id, unit, v);
        log(`bench: remote round ${r + 1}/${opts.repeat} (${pass.name}) done`);
      }
      if (main) proxies = await cluster.proxyTable(n1);
      const problems = await cluster.teardown();
      cluster = undefined;
      if (problems.length) throw new InfraError(`cluster teardown between the passes: ${problems.join('; ')}`);
    }
    const figures = [...fig.values()].map((f) => ({ id: f.id, unit: f.unit, samples: f.values, summary: summarize(f.values) }));
    const by = new Map(figures.map((f) => [f.id, f.samples]));
    const pair = (a: string, b: string, target?: { max?: number; min?: number }) => {
      const q = ratio(by.get(a)!, by.get(b)!);
      const met = target ? (target.max !== undefined ? q.value <= target.max : q.value >= target.min!) : undefined;
      return { a, b, ...q, target: target ? (target.max !== undefined ? `<= ${target.max}` : `>= ${target.min}`) : undefined, met };
    };
    // Issue 22's targets for the kernel data path, each against TCP between the same guests in the same run.
    const ratios = [
      pair('m3-rtt-us', 'tcp-rtt-us', { max: 1.1 }),
      pair('m3-sendrec-rate', 'tcp-pingpong-rate'),
      pair(`m3-sendrec-${CLIENTS}-clients`, `tcp-pipeline-${CLIENTS}`, { min: 1.0 }),
      pair('m3-vcopy-65536', 'tcp-stream-65536', { min: 0.9 }),
      pair(`m3-vcopy-${4 << 20}`, `tcp-stream-${4 << 20}`, { min: 0.9 }),
      // The kernel path against the proxies' path: below 1 for a time, above 1 for a rate.
      pair('m3-rtt-us', 'm3-rtt-us-user'),
      pair(`m3-sendrec-${CLIENTS}-clients`, `m3-sendrec-${CLIENTS}-clients-user`),
      pair(`m3-vcopy-${4 << 20}`, `m3-vcopy-${4 << 20}-user`),
      pair('m3-rtt-us-user', 'tcp-rtt-us'),
      // What authentication costs: above 1 for a time, below 1 for a rate (only when the lab allowed the --insecure pass).
      ...(spec.insecure
        ? [pair('m3-rtt-us', 'm3-rtt-us-insecure'), pair(`m3-sendrec-${CLIENTS}-clients`, `m3-sendrec-${CLIENTS}-clients-insecure`), pair(`m3-vcopy-${4 << 20}`, `m3-vcopy-${4 << 20}-insecure`)]
        : []),
    ];
    const result: RemoteResult = { accel: lab.state.accel.accel, kernel: [n1, n2].map((n, i) => `${i ? 'server' : 'client'} ${n.name} (${n.record.kernel.variant} ${n.record.kernel.release})`).join(', '), figures, ratios, proxies, profiles, failedRounds };
    const doc = { bench: 'ipc-remote', date: new Date().toISOString(), repeat: opts.repeat, iters: opts.iters, ...result };
    const out = path.join(repoRoot, 'reports', 'bench-ipc-remote.json');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(doc, null, 2)}\n`);
    if (opts.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    else process.stdout.write(`${formatRemote(result, opts.repeat)}\n\nfigures: ${out}\n`);
    return 0;
  } finally {
    if (cluster) await cluster.teardown().catch(() => undefined);
    await lab.teardown();
  }
}

export function formatRemote(r: RemoteResult, repeat: number): string {
  const lines = [`== ipc-remote, client -> server over the lab LAN, ${r.accel.toUpperCase()}, ${r.kernel}; median of ${repeat} runs`];
  const fmt = (v: number, unit: string) => (unit === 'B/s' ? `${(v / 1e6).toFixed(1)} MB/s` : unit === 'us' ? `${v.toFixed(0)} us` : `${(v / 1e3).toFixed(2)} kmsg/s`);
  lines.push(`${'figure'.padEnd(26)} ${'median'.padStart(14)} ${'spread'.padStart(7)}`);
  for (const f of r.figures) lines.push(`${f.id.padEnd(26)} ${fmt(f.summary.median, f.unit).padStart(14)} ${`${(f.summary.spread * 100).toFixed(0)}%`.padStart(7)}`);
  lines.push(`${'ratio'.padEnd(48)} ${'median'.padStart(7)}  range        target`);
  for (const q of r.ratios) lines.push(`${`${q.a} / ${q.b}`.padEnd(48)} ${q.value.toFixed(2).padStart(7)}  ${`${q.low.toFixed(2)}..${q.high.toFixed(2)}`.padEnd(12)} ${q.target ? `${q.target} ${q.met ? 'MET' : 'MISSED'}` : ''}`);
  for (const f of r.failedRounds ?? []) lines.push(`round ${f.round} of the ${f.pass} pass failed and is not counted: ${f.error}`);
  if (r.profiles.length) {
    lines.push('', `where the time goes during m3-sendrec-${CLIENTS}-clients (from /proc, 10 ms ticks):`);
    for (const p of r.profiles) lines.push(formatProfile(p));
  }
  return lines.join('\n');
}
