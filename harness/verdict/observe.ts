import type { AgentClient } from '../agent-client.ts';
import { InfraError } from '../errors.ts';
import { BoardTarget, sshAnswers } from '../target/board.ts';
import { KernelFailure, NodeHangError } from './verdict.ts';
import { findReports, type KernelReport } from '../console/kernel-reports.ts';
import type { Target } from '../target/target.ts';
import { SshTransport } from '../transport/ssh.ts';
import type { Judgement, NodeObservation } from './judge.ts';
import { scaled, type TimeScale } from './time-scale.ts';
import type { VcpuMonitor } from './vcpu-monitor.ts';

/**
 * What the verdict engine is given, gathered from a lab around one test: the
 * kernel reports of every node (console, and dmesg where it answers), a probe
 * of a node that went silent, and the error the verdict becomes. Lives beside
 * the engine so any runner (vitest suites today) judges the same way.
 */
/** What observing a machine needs of it (a lab node is one): said here so the verdict engine needs nothing of the lab. */
export interface ObservedNode {
  readonly name: string;
  readonly state: string;
  /** Its agent when connected; `rpc` is the same or throws saying why there is none. */
  readonly agent?: AgentClient;
  readonly rpc: AgentClient;
  readonly target: Target;
}

/**
 * Runs the body until its deadline; past it, the body is cancelled: every
 * command it started on a node is killed (the agent's `cancel`), so it cannot
 * run on into the next test.
 */
export async function withDeadline<T>(p: Promise<T>, ms: number, what: string, nodes: ObservedNode[]): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      for (const n of nodes) if (n.state !== 'gone' && n.agent) void n.agent.call('cancel', {}, 10000).catch(() => undefined);
      reject(new InfraError(`${what}: no result within ${Math.round(ms / 1000)} s; its commands on the nodes were killed`));
    }, ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Console reports on every node since the marks, and kernel-log reports of nodes that still answer. */
export async function collectReports(nodes: ObservedNode[], consoleMarks: Map<string, number>, dmesgMarks: Map<string, number>): Promise<{ reports: Map<string, KernelReport[]>; dmesg: Map<string, string>; dmesgErrors: Map<string, string> }> {
  const reports = new Map<string, KernelReport[]>();
  const dmesg = new Map<string, string>();
  const dmesgErrors = new Map<string, string>();
  for (const n of nodes) {
    const text = n.target.console.text().slice(consoleMarks.get(n.name) ?? 0);
    const mine: KernelReport[] = [];
    const seen = new Set<string>();
    for (const r of findReports(text)) {
      mine.push(r);
      seen.add(r.title);
    }
    reports.set(n.name, mine);
    if (n.state === 'gone' || !n.agent) continue;
    try {
      const all = await n.rpc.call('dmesg', { since: -1 }, 20000);
      dmesg.set(n.name, all.records.map((r) => `[${(r.usec / 1e6).toFixed(6)}] ${r.text}`).join('\n'));
      const since = dmesgMarks.get(n.name);
      if (since === undefined) continue;
      const recent = all.records.filter((r) => r.seq > since);
      // The console shows what reached it; dmesg has what the console level hid.
      for (const r of findReports(recent.map((x) => x.text).join('\n'))) if (!seen.has(r.title)) mine.push(r);
    } catch (e) {
      // Not dropped from the check: the verdict engine decides what a silent node means.
      dmesgErrors.set(n.name, (e as Error).message);
    }
  }
  return { reports, dmesg, dmesgErrors };
}

/**
 * Does the node answer a command, or at least a fresh SSH login? Returns what
 * the host gave its vCPUs meanwhile, so silence is judged from progress.
 */
export async function probe(n: ObservedNode, scale: TimeScale, monitor: VcpuMonitor | undefined, consoleMark = 0): Promise<Pick<NodeObservation, 'answered' | 'probeVcpu' | 'board'>> {
  const from = Date.now();
  let answered = await n.rpc
    .call('exec', { cmd: '/bin/true', args: [], timeoutMs: 5000 }, 10000)
    .then(() => true)
    .catch(() => false);
  if (!answered) {
    const ssh = new SshTransport(`${n.name}-probe`, n.target.ssh);
    try {
      await ssh.connect(Date.now() + scaled(15000, scale));
      answered = (await ssh.exec('true', { timeoutMs: scaled(10000, scale) })).code === 0;
    } catch {
      answered = false;
    } finally {
      ssh.close();
    }
  }
  if (n.target instanceof BoardTarget) {
    // No vCPU threads to watch on a board: its liveness is what it still does by itself.
    const t = n.target;
    const board = {
      sshBanner: await sshAnswers(t.spec.ssh.host, t.spec.ssh.port, scaled(5000, scale)),
      consoleLive: t.console.command !== undefined && t.console.running(),
      consoleBytes: Math.max(0, t.console.text().length - consoleMark),
    };
    return { answered, board };
  }
  return { answered, probeVcpu: monitor?.window(n.name, from) };
}

export function judgementError(j: Judgement, err: unknown): unknown {
  if (j.verdict === 'passed') return undefined;
  if (j.why === 'assertion') return err;
  if (j.verdict === 'broken') return new InfraError(j.message, { cause: err });
  if (j.why === 'hung') return new NodeHangError(j.message, [], { cause: err });
  return new KernelFailure(j.message, j.reports, { cause: err });
}

