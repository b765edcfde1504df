import * as allure from 'allure-js-commons';
import { describe, expect } from 'vitest';
import { InfraError } from '../harness/errors.ts';
import { seededRandom } from '../harness/bench/stats.ts';
import { checkCounters, checkHistory, historyText, parseHistory, type ClientHistory, type ServerCounts } from '../harness/faults/history.ts';
import { makeFault } from '../harness/faults/kinds.ts';
import type { Fault } from '../harness/faults/nemesis.ts';
import type { LabNode } from '../harness/lab/node.ts';
import type { RtServer } from '../harness/m3/cluster.ts';
import { parseTable } from '../harness/m3/procfs.ts';
import { clusterSuite, type ClusterSuite } from './support/cluster-suite.ts';

/**
 * Faults under load, after Jepsen: a client on every node calls a server on each
 * other node without a timeout of its own (kmod/tests/rt_load.c) and records
 * every call; one fault is injected and healed on a timeline; the checker
 * (harness/faults/history.ts) judges the history: every call ended within the
 * bound with a documented result, every answer is the answer to its own
 * request, nothing was lost or answered twice, and traffic resumed after the
 * heal without anything restarted by hand.
 */

const HEARTBEAT_MS = 200;
const PROXY_TIMEOUT_MS = 1000;
/** The module's node_timeout_ms (asserted below). */
const NODE_TIMEOUT_MS = 3000;
/** An affected call ends by the node timeout at the latest, plus its 250 ms check period and 2 s for TCG scheduling. */
const BOUND_MS = NODE_TIMEOUT_MS + 250 + 2000;
/**
 * One seed drives the schedule: which node a fault hits, how long the load runs
 * before it and how long it lasts. Replay a run with M3LAB_SEED (or from its
 * evidence bundle: `m3lab replay .m3lab/bundles/<id>`).
 */
const SEED = Number(process.env.M3LAB_SEED ?? Math.floor(Math.random() * 1e6));
const rnd = seededRandom(SEED);
const between = (lo: number, hi: number) => Math.round(lo + rnd() * (hi - lo));
const LOAD_MS = 16_000;

const ERRNO: Record<number, string> = { [-112]: 'EHOSTDOWN', [-67]: 'ENOLINK', [-107]: 'ENOTCONN', [-32]: 'EPIPE', [-110]: 'ETIMEDOUT', [-71]: 'EPROTO', [-4]: 'EINTR', [-52]: 'EBADE' };
const errname = (e: number) => ERRNO[e] ?? `errno ${-e}`;
/**
 * The documented results of a call whose peer's node is cut off: -EHOSTDOWN (the
 * node was declared down while it waited, or before), -ENOLINK (no proxy for the
 * node between a proxy's death and its restart), -ENOTCONN (its descriptor on the
 * callee node was dropped), -EPIPE (the server's descriptor here was dropped by
 * the node down and not yet bound again: rt_load binds it after every failure).
 */
const ALLOWED = [-112, -67, -107, -32];

let cs: ClusterSuite;
const c = () => cs.c();
const nodes = () => cs.nodes();

const servers = new Map<string, RtServer>();

/** Each server's msgs_rcvd / msgs_sent, read from its node's /proc/m3ipc (the module's own count). */
async function serverCounts(): Promise<ServerCounts[]> {
  const out: ServerCounts[] = [];
  for (const s of servers.values()) {
    const rows = parseTable((await s.node.rpc.call('readFile', { path: `/proc/m3ipc/dc/${c().opts.dc}/procs` })).data);
    const row = rows.find((r) => Number(r.p_nr) === s.slot && Number(r.endpoint) === s.ep);
    if (!row) throw new InfraError(`${s.node.name}: the server at slot ${s.slot} (endpoint ${s.ep}) is not in /proc/m3ipc/dc/${c().opts.dc}/procs`);
    out.push({ node: s.node.name, rcvd: Number(row.msgs_rcvd), sent: Number(row.msgs_sent) });
  }
  return out;
}

/**
 * Runs the workload (a client on every node for each other node's server),
 * injects FAULT after the warm-up, heals it after HOLD_MS, lets the clients
 * finish, then checks their histories.
 */
async function underLoad(fault: Fault, index: number): Promise<void> {
  const all = nodes();
  const t0 = Date.now();
  // The schedule: the load runs 1.5-3 s before the fault, which lasts 3-6 s
  // (the seed decides; the heal still leaves the clients 6 s or more).
  const warmupMs = between(1500, 3000);
  const holdMs = between(3000, 6000);
  await allure.parameter('seed', `${SEED}`);
  await allure.description(`Schedule (seed ${SEED}): load ${warmupMs} ms, fault ${holdMs} ms, heal, load until ${LOAD_MS} ms. Replay: M3LAB_SEED=${SEED} npx m3lab run suites/faults.test.ts`);
  const countsBefore = await serverCounts();
  let slot = 30 + (index % 5) * 6; // fresh client slots for every test (30..59; the DC has 64; reused after 5 tests)
  const clients = [];
  for (const from of all) {
    for (const to of all) {
      if (from === to) continue;
      const s = servers.get(to.name)!;
      const mySlot = slot++;
      const startedAt = Date.now();
      const { id } = await from.rpc.call('spawn', { cmd: c().remote.get(from.name)!.tests.rt_load!, args: [c().opts.dc, `${mySlot}`, `${s.ep}`, `${c().nodeId(to)}`, `${LOAD_MS}`] });
      clients.push({ from, to, slot: mySlot, id, startedAt });
    }
  }
  await new Promise((r) => setTimeout(r, warmupMs));
  const faultAt = Date.now();
  await cs.nemesis.inject(fault);
  await new Promise((r) => setTimeout(r, holdMs));
  await cs.nemesis.heal(fault);
  const healedAt = Date.now();

  const histories: ClientHistory[] = [];
  for (const cl of clients) {
    const left = Math.max(0, cl.startedAt + LOAD_MS - Date.now());
    let r = await cl.from.rpc.call('wait', { id: cl.id, timeoutMs: left + BOUND_MS + 5000 }, left + BOUND_MS + 15_000);
    if (!r.exited) {
      // Stuck in a call: the history says so (no "done"); the process must still go.
      await cl.from.rpc.call('kill', { id: cl.id, signal: 'SIGKILL' }).catch(() => undefined);
      r = await cl.from.rpc.call('wait', { id: cl.id, timeoutMs: 5000 });
    }
    histories.push(parseHistory(`${cl.from.name}/${cl.slot}>${cl.to.name}`, `${r.stdout}${r.stderr ? `\n${r.stderr}` : ''}`, cl.startedAt));
  }
  const result = checkHistory(histories, { allowed: ALLOWED, boundMs: BOUND_MS, faultAt, healedAt }, errname);
  const countsAfter = await serverCounts();
  const counts = countsAfter.map((a, i) => ({ node: a.node, rcvd: a.rcvd - countsBefore[i]!.rcvd, sent: a.sent - countsBefore[i]!.sent }));
  await allure.attachment('history', historyText(histories, t0), { contentType: 'text/plain' });
  await allure.attachment('history summary', JSON.stringify({ seed: SEED, warmupMs, holdMs, faultAtS: (faultAt - t0) / 1000, healedAtS: (healedAt - t0) / 1000, boundMs: BOUND_MS, clients: result.summary, serverCounters: counts }, null, 2), { contentType: 'application/json' });
  expect(result.problems).toEqual([]);
  expect(checkCounters(result.summary, counts)).toEqual([]);
  // Each client really crossed the fault: something failed or waited while it lasted.
  expect(result.summary.every((s) => s.ops > 10)).toBe(true);

  // Nothing stuck in an uninterruptible sleep on any node.
  for (const n of all) {
    const d = parseTable((await n.sh('ps -o pid,stat,comm')).stdout).filter((r) => /^D/.test(r.STAT ?? ''));
    expect({ node: n.name, d }).toEqual({ node: n.name, d: [] });
  }
}

describe(`faults: node failures under IPC load, judged from the workload's history (${process.env.M3LAB_KERNEL || 'default'} kernel)`, () => {
  // node2 has two vCPUs, so one of them can go offline under load.
  cs = clusterSuite({ heartbeatMs: HEARTBEAT_MS, timeoutMs: PROXY_TIMEOUT_MS, seed: SEED, nodes: [{ cpus: 1 }, { cpus: 2 }, { cpus: 1 }] }, async (cl, ns) => {
    for (const [i, n] of ns.entries()) servers.set(n.name, await cl.startServer(n, 10 + i));
  });
  const { suite } = cs;

  suite.it('the module checks silent nodes with the timeout the bounds assume', async () => {
    for (const n of nodes()) expect((await n.sh('cat /sys/module/m3ipc/parameters/node_timeout_ms')).stdout.trim()).toBe(`${NODE_TIMEOUT_MS}`);
  });

  suite.it('kill: the sender proxy of node1 for node2 is killed (-9) and restarted', async () => {
    const [n1, n2] = nodes();
    const row = (await c().proxyTable(n1)).find((r) => Number(r.node_id) === c().nodeId(n2))!;
    await underLoad(
      {
        name: `kill -9 sender proxy ${n1.name}->${n2.name} (pid ${row.sender_pid})`,
        inject: async () => {
          const r = await n1.sh(`kill -9 ${row.sender_pid}`);
          if (r.code !== 0) throw new InfraError(`kill -9 ${row.sender_pid}: ${r.stderr}`);
        },
        heal: async () => {
          await n1.rpc.call('wait', { id: c().proxy(n1, n2).id, timeoutMs: 5000 });
          await c().startProxy(n1, n2);
          await c().waitAllUp(15_000);
          return 'proxy pair restarted, all peers up';
        },
      },
      0,
    );
  });

  suite.it('stop: every proxy of one node (the seed picks it) is stopped (SIGSTOP), a hang not a death, then continued', async () => {
    const target = nodes()[between(0, 2)]!;
    await underLoad(makeFault(suite.handle().lab, { kind: 'stop', node: target.name, process: 'm3proxy' }), 1);
  });

  suite.it('partition: one node (the seed picks it) is cut off the LAN silently (its switch port in a VLAN of its own), then back', async () => {
    const target = nodes()[between(0, 2)]!;
    await underLoad(makeFault(suite.handle().lab, { kind: 'partition', node: target.name }), 2);
  });

  suite.it('one-way: every frame one node (the seed picks it) sends on the LAN is dropped inside the node (tc), it still hears the others; then healed', async () => {
    const target = nodes()[between(0, 2)]!;
    await underLoad(makeFault(suite.handle().lab, { kind: 'one-way', node: target.name }), 3);
  });

  suite.it('netem: one node (the seed picks it) sends through a bad LAN, 100 ms delay and 5% loss (tc netem); then healed', async () => {
    const target = nodes()[between(0, 2)]!;
    await underLoad(makeFault(suite.handle().lab, { kind: 'netem', node: target.name, delayMs: 100, lossPct: 5 }), 4);
  });

  suite.it('cpu-offline: CPU 1 of node2 (two vCPUs) goes offline under load through sysfs, processes and proxies move to CPU 0, then it comes back', async () => {
    await underLoad(makeFault(suite.handle().lab, { kind: 'cpu-offline', node: nodes()[1]!.name, cpu: 1 }), 5);
  });

  suite.it('afterwards every proxy and client exits, nothing is left bound but the servers, rmmod succeeds', async () => {
    for (const s of servers.values()) await c().stopServer(s);
    await cs.expectCleanTeardown();
  });
});
