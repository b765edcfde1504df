/**
 * The node agent's wire protocol: JSON lines over the SSH channel's stdin/stdout.
 * Request {id, method, params}; answer {id, ok: true, result} or
 * {id, ok: false, error: {code, message}}. The agent writes nothing else to stdout.
 * Parameters are declared as schemas (protocol-schema.ts) and their types
 * inferred here; results are what the agent itself builds.
 */
import type * as z from 'zod/mini';
import type { MethodParams } from './protocol-schema.ts';

type ParamsOf<M extends keyof typeof MethodParams> = z.infer<(typeof MethodParams)[M]>;

export const AGENT_VERSION = '0.4.0';

export interface HelloResult {
  nonce: string;
  agentVersion: string;
  node: string;
  kernelRelease: string;
  cpusOnline: number[];
  cpusPossible: number[];
  uptimeSeconds: number;
  image?: { hash: string; name: string; release: string };
  pid: number;
  /** This agent is the image's zygote, already running when the node was restored (images/zygote.cjs). */
  zygote?: boolean;
  /** Present when this link took over a session whose link had dropped. */
  resumed?: {
    detachedMs: number;
    /** Spawned processes kept through the gap (running or exited meanwhile). */
    procs: ProcInfo[];
    /** `exec` commands of the dropped link still running. */
    execsRunning: number;
    /** Answers that had no link to go to. */
    answers: DetachedAnswer[];
  };
}

export interface DetachedAnswer {
  id: number;
  method: string;
  ok: boolean;
  summary: string;
}

export type ExecParams = ParamsOf<'exec'>;

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/**
 * What the lab counts around an IPC run: the software events any guest has,
 * and two hardware ones a TCG guest cannot count (reported unavailable, never 0).
 * images/init.sh holds the software ones open from boot, so their static keys
 * never turn while a test runs.
 */
export const IPC_PERF_EVENTS = ['task-clock', 'context-switches', 'cpu-migrations', 'page-faults', 'cycles', 'instructions'];

export interface PerfCounter {
  event: string;
  /** null when perf cannot count this event here (e.g. hardware events under TCG). */
  value: number | null;
  unit: string;
  unavailable?: string;
}

export type SpawnParams = ParamsOf<'spawn'>;

export interface WaitResult {
  id: number;
  exited: boolean;
  code: number | null;
  signal: string | null;
  /** The last 64 KiB of each stream. */
  stdout: string;
  stderr: string;
}

export interface ProcInfo {
  id: number;
  pid: number;
  cmd: string;
  running: boolean;
}

export interface KmsgRecord {
  seq: number;
  level: number;
  usec: number;
  text: string;
}

export interface Methods {
  hello: { params: ParamsOf<'hello'>; result: HelloResult };
  exec: { params: ParamsOf<'exec'>; result: ExecResult };
  /** The sequence number of the newest kernel log record: a mark to read from later. */
  dmesgMark: { params: ParamsOf<'dmesgMark'>; result: { seq: number } };
  /** Kernel log records after a mark (all when the mark is -1). */
  dmesg: { params: ParamsOf<'dmesg'>; result: { records: KmsgRecord[]; lost: number } };
  /** A command under `perf stat`; counters perf cannot count come back as unavailable. */
  perfStat: { params: ParamsOf<'perfStat'>; result: ExecResult & { counters: PerfCounter[] } };
  /** A long-running process (a proxy, a server); killed when the session ends. */
  spawn: { params: ParamsOf<'spawn'>; result: { id: number; pid: number } };
  /** Waits up to timeoutMs (0: just look, -1: forever) for a spawned process to exit. */
  wait: { params: ParamsOf<'wait'>; result: WaitResult };
  kill: { params: ParamsOf<'kill'>; result: { sent: boolean } };
  procs: { params: ParamsOf<'procs'>; result: ProcInfo[] };
  /** Kills every command a running `exec` started (a test past its deadline); spawned processes stay. */
  cancel: { params: ParamsOf<'cancel'>; result: { killed: number } };
  /** Ends the session now: every child killed, no grace period. */
  bye: { params: ParamsOf<'bye'>; result: Record<string, never> };
  /** CPU lists from sysfs: online, present, possible. */
  cpus: { params: ParamsOf<'cpus'>; result: { online: number[]; present: number[]; possible: number[] } };
  /** Brings a CPU on- or offline through sysfs (works on VMs and boards alike). */
  cpuOnline: { params: ParamsOf<'cpuOnline'>; result: { online: number[] } };
  readFile: { params: ParamsOf<'readFile'>; result: { data: string } };
  writeFile: { params: ParamsOf<'writeFile'>; result: { bytes: number } };
}

export interface RoundTrips {
  count: number;
  medianUs: number;
  p90Us: number;
  minUs: number;
  maxUs: number;
}

export interface NetMethods {
  /** A TCP echo server inside the agent (the peer side of round-trip probes). */
  echoStart: { params: ParamsOf<'echoStart'>; result: { port: number } };
  echoStop: { params: ParamsOf<'echoStop'>; result: { stopped: boolean } };
  /** 1-byte (or `bytes`) TCP round trips to an echo server, after a short warm-up. */
  /** Raw bytes to a TCP port (base64 in and out); says whether the peer closed on us. */
  tcpSend: { params: ParamsOf<'tcpSend'>; result: { connected: boolean; closedByPeer: boolean; received: string; ms: number } };
  tcpRoundTrips: { params: ParamsOf<'tcpRoundTrips'>; result: RoundTrips };
}

export type AllMethods = Methods & NetMethods;
export type Method = keyof AllMethods;

export interface Request<M extends Method = Method> {
  id: number;
  method: M;
  params: AllMethods[M]['params'];
}

export type Response =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string } };
