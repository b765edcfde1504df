/**
 * The node agent's wire protocol: JSON lines over the SSH channel's stdin/stdout.
 * Request {id, method, params}; answer {id, ok: true, result} or
 * {id, ok: false, error: {code, message}}. The agent writes nothing else to stdout.
 */
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

export interface ExecParams {
  cmd: string;
  args?: string[];
  timeoutMs?: number;
  stdin?: string;
  cwd?: string;
  env?: Record<string, string>;
}

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

export interface SpawnParams {
  cmd: string;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
}

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
  hello: { params: { nonce: string }; result: HelloResult };
  exec: { params: ExecParams; result: ExecResult };
  /** The sequence number of the newest kernel log record: a mark to read from later. */
  dmesgMark: { params: Record<string, never>; result: { seq: number } };
  /** Kernel log records after a mark (all when the mark is -1). */
  dmesg: { params: { since: number }; result: { records: KmsgRecord[]; lost: number } };
  /** A command under `perf stat`; counters perf cannot count come back as unavailable. */
  perfStat: { params: ExecParams & { events: string[] }; result: ExecResult & { counters: PerfCounter[] } };
  /** A long-running process (a proxy, a server); killed when the session ends. */
  spawn: { params: SpawnParams; result: { id: number; pid: number } };
  /** Waits up to timeoutMs (0: just look, -1: forever) for a spawned process to exit. */
  wait: { params: { id: number; timeoutMs?: number }; result: WaitResult };
  kill: { params: { id: number; signal?: string }; result: { sent: boolean } };
  procs: { params: Record<string, never>; result: ProcInfo[] };
  /** Kills every command a running `exec` started (a test past its deadline); spawned processes stay. */
  cancel: { params: Record<string, never>; result: { killed: number } };
  /** Ends the session now: every child killed, no grace period. */
  bye: { params: Record<string, never>; result: Record<string, never> };
  /** CPU lists from sysfs: online, present, possible. */
  cpus: { params: Record<string, never>; result: { online: number[]; present: number[]; possible: number[] } };
  /** Brings a CPU on- or offline through sysfs (works on VMs and boards alike). */
  cpuOnline: { params: { cpu: number; online: boolean }; result: { online: number[] } };
  readFile: { params: { path: string; encoding?: 'utf8' | 'base64' }; result: { data: string } };
  writeFile: { params: { path: string; data: string; encoding?: 'utf8' | 'base64'; mode?: number }; result: { bytes: number } };
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
  echoStart: { params: { port: number; host?: string }; result: { port: number } };
  echoStop: { params: { port: number }; result: { stopped: boolean } };
  /** 1-byte (or `bytes`) TCP round trips to an echo server, after a short warm-up. */
  /** Raw bytes to a TCP port (base64 in and out); says whether the peer closed on us. */
  tcpSend: { params: { host: string; port: number; data: string; waitMs?: number }; result: { connected: boolean; closedByPeer: boolean; received: string; ms: number } };
  tcpRoundTrips: { params: { host: string; port: number; count: number; bytes?: number; timeoutMs?: number }; result: RoundTrips };
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
