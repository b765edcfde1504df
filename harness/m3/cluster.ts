import { randomBytes } from 'node:crypto';
import { ConfigError, InfraError } from '../errors.ts';
import { waitUntil } from '../host/wait.ts';
import { unloadModule, type RemoteKmod } from '../kmod/deploy.ts';
import { installKmod } from '../kmod/install.ts';
import type { LabNode } from '../lab/node.ts';
import { clusterPubFile, generateNodeKey, type NodeKey } from './node-keys.ts';
import { parseTable, type Row } from './procfs.ts';
import { processTimeScale, scaled } from '../verdict/time-scale.ts';

export interface ClusterOptions {
  dc: string;
  dcid: number;
  procs: number;
  /** The proxies' ports are basePort + node id (0..63): below 1024 by default, so no ordinary user of a node can take one first (issue 20). */
  basePort: number;
  heartbeatMs: number;
  timeoutMs: number;
  maxPayload: number;
  /** Where the cluster key is written on every node (root only, mode 0600). */
  keyPath: string;
  /** Where each node's own secret key is written (root only, mode 0600; m3proxy --node-key). */
  nodeKeyPath: string;
  /** Where the nodes' public keys by node id are written on every node (m3proxy --cluster). */
  clusterPubPath: string;
  /**
   * Run the proxies with --insecure (no key, unauthenticated links), e.g. to measure what authentication costs.
   * Refused unless `lab` (the lab file's spec) asks for it by name: `insecure: true` (issue 20).
   */
  insecure: boolean;
  /**
   * Who carries the frames once a link is up (issue 22): `kernel`, the module (m3proxy hands
   * it the socket and keys), or `user`, the proxies themselves. M3LAB_DATA_PATH sets the default.
   */
  dataPath: DataPath;
  /** The lab the cluster runs in: its name and whether its lab file allows --insecure proxies. */
  lab?: { name: string; insecure: boolean };
}

/**
 * `--insecure` proxies only where the lab file says `insecure: true`: unauthenticated
 * links let anyone on the LAN inject frames, so they are never a default or a flag.
 */
export function checkInsecure(o: Pick<ClusterOptions, 'insecure' | 'lab'>): void {
  if (!o.insecure || o.lab?.insecure === true) return;
  const which = o.lab ? `lab ${o.lab.name}` : 'a cluster without a lab file';
  throw new ConfigError('insecure', `m3proxy --insecure (unauthenticated links) refused: ${which} does not ask for it; its lab file must say "insecure: true"`);
}

export type DataPath = 'kernel' | 'user';

/** The data path of M3LAB_DATA_PATH (`kernel` when unset); anything else is a configuration error naming it. */
export function dataPathFromEnv(env: NodeJS.ProcessEnv = process.env): DataPath {
  const v = env.M3LAB_DATA_PATH ?? 'kernel';
  if (v !== 'kernel' && v !== 'user') throw new ConfigError('M3LAB_DATA_PATH', `M3LAB_DATA_PATH must be kernel or user, not ${JSON.stringify(v)}`);
  return v;
}

export const DEFAULT_CLUSTER: ClusterOptions = { dc: 'lab', dcid: 0, procs: 64, basePort: 900, heartbeatMs: 200, timeoutMs: 1000, maxPayload: 65536, keyPath: '/etc/m3ipc-cluster.key', nodeKeyPath: '/etc/m3ipc-node.key', clusterPubPath: '/etc/m3ipc-cluster.pub', insecure: false, dataPath: 'kernel' };

/** The M3-IPC privilege levels, as m3ctl names them. */
export type M3Level = 'hardware' | 'kernel' | 'task' | 'server' | 'user';

/**
 * The endpoint a process the agent spawned (rt_server, rbench) prints once
 * bound (`endpoint=EP`), waited for up to `limitMs`.
 */
export async function spawnedEndpoint(node: LabNode, id: number, what: string, limitMs = 10_000): Promise<number> {
  for (let i = 0; i < limitMs / 100; i++) {
    const r = await node.rpc.call('wait', { id, timeoutMs: 100 });
    const m = /^endpoint=(\d+)$/m.exec(r.stdout);
    if (m) return Number(m[1]);
    if (r.exited) throw new Error(`${what} on ${node.name} exited before it was bound: ${r.stderr.trim()}`);
  }
  throw new InfraError(`${what} on ${node.name} printed no endpoint in ${limitMs / 1000} s`);
}

/** A test server process of the cluster's DC (rt_server). */
export interface RtServer {
  node: LabNode;
  slot: number;
  /** The agent's id of the process. */
  id: number;
  ep: number;
}

export interface ProxyHandle {
  from: LabNode;
  to: LabNode;
  /** The agent's id of the supervising m3proxy process. */
  id: number;
  pid: number;
}

/**
 * Node ids of a cluster's nodes: the one a board's lab-file entry gives
 * (boards[].node), else position + 1; two nodes with one id are refused.
 */
export function clusterIds(nodes: LabNode[]): number[] {
  const ids = nodes.map((n, i) => n.record.nodeId ?? i + 1);
  const dup = ids.findIndex((id, i) => ids.indexOf(id) !== i);
  if (dup >= 0) throw new InfraError(`node id ${ids[dup]} twice in the cluster (${nodes.map((n, i) => `${n.name}=${ids[i]}`).join(', ')}): set boards[].node to a free one`);
  return ids;
}

/**
 * M3-IPC across a lab: the module on every node with node id = position + 1 (or a board's own), one
 * DC spanning all nodes, and a proxy pair (m3proxy) for every ordered pair of
 * nodes, started and reaped through each node's agent. The proxies authenticate
 * their links with a key made for this cluster (32 random bytes, written to
 * every node as `keyPath`, mode 0600, through the agent) and each node's own
 * key pair (its secret key as `nodeKeyPath`, every public key by node id in
 * `clusterPubPath`), unless `insecure`: a link proves which node it is.
 */
export class M3Cluster {
  readonly proxies: ProxyHandle[] = [];
  /** Proxies replaced by a restart: their logs still explain what happened. */
  private readonly retired: ProxyHandle[] = [];
  /** The cluster's key, for a node that joins again after a reboot. */
  private key?: Buffer;
  /** Each node's identity by node id (the same again for a node that rejoins). */
  private readonly nodeKeys = new Map<number, NodeKey>();
  /** Node ids by position (a node that rejoins keeps its place and id). */
  private readonly ids: number[];

  private constructor(
    readonly nodes: LabNode[],
    readonly remote: Map<string, RemoteKmod>,
    readonly opts: ClusterOptions,
  ) {
    this.ids = clusterIds(nodes);
  }

  nodeId(node: LabNode): number {
    const i = this.nodes.indexOf(node);
    if (i < 0) throw new InfraError(`${node.name} is not in this cluster`);
    return this.ids[i]!;
  }

  static async setup(nodes: LabNode[], opts: Partial<ClusterOptions> = {}, log?: (l: string) => void): Promise<M3Cluster> {
    const o = { ...DEFAULT_CLUSTER, dataPath: dataPathFromEnv(), ...opts };
    checkInsecure(o);
    const remote = await installKmod(nodes, clusterIds(nodes), log);
    const c = new M3Cluster(nodes, remote, o);
    if (!o.insecure) {
      c.key = randomBytes(32);
      for (const n of nodes) c.nodeKeys.set(c.nodeId(n), generateNodeKey());
      await c.deployKey(nodes);
    }
    await Promise.all(nodes.map((n) => c.joinDc(n)));
    // Each node starts its own pairs; the nodes at once (the proxies connect by themselves).
    await Promise.all(nodes.map(async (from) => {
      for (const to of nodes) if (from !== to) await c.startProxy(from, to);
    }));
    const t0 = Date.now();
    await c.waitAllUp();
    log?.(`cluster: ${nodes.length} nodes, every proxy pair up ${((Date.now() - t0) / 1000).toFixed(1)} s after the last started`);
    return c;
  }

  /** The cluster's DC on one node, with every other node added to it. */
  private async joinDc(n: LabNode): Promise<void> {
    const o = this.opts;
    const ctl = this.remote.get(n.name)!.m3ctl;
    const others = this.nodes.filter((m) => m !== n).map((m) => this.nodeId(m));
    const script = [`${ctl} dc-init ${o.dc} --id ${o.dcid} --tasks 0 --procs ${o.procs} >/dev/null`, ...others.map((id) => `${ctl} add-node ${o.dc} ${id}`)].join(' && ');
    const res = await n.sh(script);
    if (res.code !== 0) throw new InfraError(`${n.name}: DC setup failed: ${res.stderr.trim() || res.stdout.trim()}`);
  }

  /**
   * A node back from a crash, power cycle or reboot (the lab's new LabNode for
   * it): the module, the key, the DC and its own proxy pairs again. The other
   * nodes' sender proxies reconnect to it by themselves (every heartbeat
   * period), so nothing else is restarted.
   */
  async rejoin(node: LabNode, log?: (l: string) => void): Promise<void> {
    const i = this.nodes.findIndex((n) => n.name === node.name);
    if (i < 0) throw new InfraError(`${node.name} is not in this cluster`);
    const old = this.nodes[i]!;
    this.nodes[i] = node;
    for (const p of this.proxies) if (p.to === old) p.to = node;
    // Its own proxies died with it; their logs stay for the evidence.
    for (const p of this.proxies.filter((x) => x.from === old)) {
      this.retired.push(p);
      this.proxies.splice(this.proxies.indexOf(p), 1);
    }
    const remote = await installKmod([node], [this.nodeId(node)], log);
    this.remote.set(node.name, remote.get(node.name)!);
    if (this.key) await this.deployKey([node]);
    await this.joinDc(node);
    for (const to of this.nodes) if (to !== node) await this.startProxy(node, to);
    await this.waitAllUp();
  }

  /**
   * The cluster key and the node's own secret key on each node (written through the agent, readable by
   * root only: m3proxy refuses anything else), and the nodes' public keys by id.
   */
  private async deployKey(nodes: LabNode[]): Promise<void> {
    const key = this.key!;
    const o = this.opts;
    const pub = clusterPubFile(this.nodeKeys);
    await Promise.all(
      nodes.map(async (n) => {
        const secrets: [string, Buffer][] = [[o.keyPath, key], [o.nodeKeyPath, this.nodeKeys.get(this.nodeId(n))!.secret]];
        for (const [path, data] of secrets) {
          await n.sh(`rm -f ${path}; mkdir -p $(dirname ${path})`);
          await n.rpc.call('writeFile', { path, data: data.toString('base64'), encoding: 'base64', mode: 0o600 });
          const res = await n.sh(`chmod 600 ${path} && stat -c '%a %s %U' ${path}`);
          if (res.code !== 0 || res.stdout.trim() !== '600 32 root') throw new InfraError(`${n.name}: key ${path} not deployed as expected: ${res.stdout.trim()} ${res.stderr.trim()}`);
        }
        await n.sh(`mkdir -p $(dirname ${o.clusterPubPath})`);
        await n.rpc.call('writeFile', { path: o.clusterPubPath, data: Buffer.from(pub).toString('base64'), encoding: 'base64', mode: 0o644 });
      }),
    );
  }

  /** `over`: options for this proxy pair only (e.g. another --max-payload on one end). */
  async startProxy(from: LabNode, to: LabNode, over: Partial<Pick<ClusterOptions, 'maxPayload' | 'dataPath'>> = {}): Promise<ProxyHandle> {
    const o = { ...this.opts, ...over };
    checkInsecure(o);
    const args = ['--node', `${this.nodeId(from)}`, '--peer', `${this.nodeId(to)}`, '--peer-addr', to.record.lanAddress, '--base-port', `${o.basePort}`, '--heartbeat-ms', `${o.heartbeatMs}`, '--timeout-ms', `${o.timeoutMs}`, '--max-payload', `${o.maxPayload}`, '--data-path', o.dataPath, ...(o.insecure ? ['--insecure'] : ['--key', o.keyPath, '--node-key', o.nodeKeyPath, '--cluster', o.clusterPubPath])];
    const cmd = this.remote.get(from.name)!.proxy.m3proxy;
    if (!cmd) throw new InfraError(`${from.name}: no m3proxy in the kmod build`);
    const { id, pid } = await from.rpc.call('spawn', { cmd, args });
    const h = { from, to, id, pid };
    const i = this.proxies.findIndex((p) => p.from === from && p.to === to);
    if (i >= 0) {
      this.retired.push(this.proxies[i]!);
      this.proxies[i] = h;
    }
    else this.proxies.push(h);
    return h;
  }

  /** SIGTERM one proxy pair (it proxy_unbinds: the peer is down on `from`) and reap it. */
  async stopProxy(from: LabNode, to: LabNode): Promise<void> {
    const p = this.proxy(from, to);
    await from.rpc.call('kill', { id: p.id, signal: 'SIGTERM' });
    const r = await from.rpc.call('wait', { id: p.id, timeoutMs: 5000 });
    if (!r.exited) throw new InfraError(`proxy ${from.name}->${to.name} did not exit on SIGTERM`);
  }

  /**
   * As the admin of `on`: the level of the remote process `ep` of node `of` there
   * (`m3ctl rmtbind DC EP NODE --priv LEVEL`). Frames never carry privilege: a
   * remote descriptor is USER unless its node's admin says otherwise.
   */
  async grant(on: LabNode, ep: number, of: LabNode, level: M3Level): Promise<void> {
    const ctl = this.remote.get(on.name)!.m3ctl;
    const res = await on.sh(`${ctl} rmtbind ${this.opts.dc} ${ep} ${this.nodeId(of)} --priv ${level}`);
    if (res.code !== 0) throw new InfraError(`${on.name}: rmtbind ${ep} of ${of.name} --priv ${level}: ${res.stderr.trim()}`);
  }

  /** An rt_server (kmod/tests/rt_server.c) bound at SLOT of the cluster's DC on NODE, once it printed its endpoint. */
  async startServer(node: LabNode, slot: number): Promise<RtServer> {
    const { id } = await node.rpc.call('spawn', { cmd: this.remote.get(node.name)!.tests.rt_server!, args: [this.opts.dc, `${slot}`] });
    return { node, slot, id, ep: await spawnedEndpoint(node, id, 'rt_server') };
  }

  async stopServer(s: RtServer): Promise<void> {
    await s.node.rpc.call('kill', { id: s.id, signal: 'SIGKILL' }).catch(() => undefined);
    await s.node.rpc.call('wait', { id: s.id, timeoutMs: 5000 }).catch(() => undefined);
  }

  proxy(from: LabNode, to: LabNode): ProxyHandle {
    const p = this.proxies.find((x) => x.from === from && x.to === to);
    if (!p) throw new InfraError(`no proxy ${from.name} -> ${to.name}`);
    return p;
  }

  async proxyTable(node: LabNode): Promise<Row[]> {
    const r = await node.rpc.call('readFile', { path: '/proc/m3ipc/proxies' });
    return parseTable(r.data);
  }

  /** Until every proxy pair is up; the bound is a base figure, scaled like every bound of the lab. */
  async waitAllUp(timeoutMs = 30000): Promise<void> {
    let last = '';
    const up = await waitUntil(
      async () => {
        let ok = true;
        for (const n of this.nodes) {
          const rows = await this.proxyTable(n);
          for (const m of this.nodes) {
            if (m === n) continue;
            const row = rows.find((r) => Number(r.node_id) === this.nodeId(m));
            if (row?.state !== 'up') {
              ok = false;
              last = `${n.name}: proxy for ${m.name} is ${row?.state ?? 'absent'}`;
            }
          }
        }
        return ok;
      },
      { what: 'every proxy pair up', timeoutMs: scaled(timeoutMs, processTimeScale()), intervalMs: 200, onTimeout: 'return' },
    );
    if (up) return;
    const logs = await Promise.all(this.proxies.map(async (p) => `${p.from.name}->${p.to.name}: ${(await p.from.rpc.call('wait', { id: p.id, timeoutMs: 0 })).stderr.slice(-500)}`));
    throw new InfraError(`proxies not up in ${timeoutMs} ms (${last})\n${logs.join('\n')}`);
  }

  /** Every proxy's log so far (for the evidence of a failed test), by `from->to`. */
  async proxyLogs(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const p of [...this.retired, ...this.proxies]) {
      const r = await p.from.rpc.call('wait', { id: p.id, timeoutMs: 0 }).catch((e: Error) => ({ stderr: `(no log: ${e.message})`, stdout: '' }));
      out[`proxy-${p.from.name}-to-${p.to.name}-${p.id}.log`] = `${r.stdout}${r.stderr}`;
    }
    return out;
  }

  /** SIGTERM every proxy (they proxy_unbind and exit), SIGKILL after a grace period. */
  async stopProxies(): Promise<void> {
    await Promise.all(
      this.proxies.map(async (p) => {
        await p.from.rpc.call('kill', { id: p.id, signal: 'SIGTERM' }).catch(() => undefined);
        const r = await p.from.rpc.call('wait', { id: p.id, timeoutMs: 5000 }).catch(() => undefined);
        if (r && !r.exited) {
          await p.from.rpc.call('kill', { id: p.id, signal: 'SIGKILL' }).catch(() => undefined);
          await p.from.rpc.call('wait', { id: p.id, timeoutMs: 5000 }).catch(() => undefined);
        }
      }),
    );
  }

  /** Proxies stopped and reaped, the DC ended, the module unloaded; returns what failed. */
  async teardown(): Promise<string[]> {
    const problems: string[] = [];
    await this.stopProxies();
    for (const n of this.nodes) {
      // A node whose agent cannot list its processes is a problem, never "no proxy left".
      const procs = await n.rpc.call('procs', {}).catch((e: Error) => e);
      if (procs instanceof Error) problems.push(`${n.name}: cannot list processes: ${procs.message}`);
      else for (const p of procs) if (p.running && p.cmd.includes('m3proxy')) problems.push(`${n.name}: proxy ${p.pid} still running`);
      const ctl = this.remote.get(n.name)!.m3ctl;
      const end = await n.sh(`${ctl} dc-end ${this.opts.dc}`).catch((e: Error) => ({ code: -1, stderr: e.message, stdout: '' }));
      if (end.code !== 0) problems.push(`${n.name}: dc-end failed: ${end.stderr.trim()}`);
      const rm = await unloadModule(n).catch((e: Error) => ({ code: -1, stderr: e.message }));
      if (rm.code !== 0) problems.push(`${n.name}: rmmod m3ipc failed: ${rm.stderr}`);
    }
    return problems;
  }
}
