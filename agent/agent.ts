/**
 * m3lab node agent. Bundled to one file and copied to each node over SSH; runs
 * under the node's own `node` and answers JSON-lines requests on stdin/stdout.
 * Needs nothing but Node.js and a Linux /proc, so a real board with SSH and node
 * runs it exactly as our guest image does.
 */
import { spawn } from './spawn.ts';
import { closeSync, constants, existsSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { echoStart, echoStop, tcpRoundTrips, tcpSend } from './net.ts';
import { perfStat } from './perf.ts';
import { killAll, killProc, listProcs, liveProcs, spawnProc, waitProc } from './procs.ts';
import { type Channel, endAgent, noteDetached, runSession, takeDetached } from './session.ts';
import { AGENT_VERSION, type AllMethods, type ExecParams, type ExecResult, type HelloResult, type KmsgRecord, type Method, type Response } from './protocol.ts';
import { MethodParams, RequestLine, firstIssue } from './protocol-schema.ts';

class AgentFailure extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

function cpuList(file: string): number[] {
  const text = readFileSync(file, 'utf8').trim();
  const cpus: number[] = [];
  for (const part of text.split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a!; c <= (b ?? a!); c++) cpus.push(c);
  }
  return cpus;
}

function hello(nonce: string): HelloResult {
  const imagePath = '/etc/m3lab/image.json';
  return {
    nonce,
    agentVersion: AGENT_VERSION,
    node: os.hostname(),
    kernelRelease: os.release(),
    cpusOnline: cpuList('/sys/devices/system/cpu/online'),
    cpusPossible: cpuList('/sys/devices/system/cpu/possible'),
    uptimeSeconds: Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]),
    image: existsSync(imagePath) ? JSON.parse(readFileSync(imagePath, 'utf8')) : undefined,
    pid: process.pid,
    zygote: 'm3labLink' in globalThis,
    resumed: resumed(),
  };
}

/** Set when this link took over from one that dropped: what the agent kept meanwhile. */
function resumed(): HelloResult['resumed'] {
  const d = takeDetached();
  if (!d) return undefined;
  return { detachedMs: d.detachedMs, procs: listProcs(), execsRunning: running.size, answers: d.answers };
}

/** Children of running `exec` calls: a test past its deadline has them killed (`cancel`). */
const running = new Set<ReturnType<typeof spawn>>();

function exec(p: ExecParams): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    let child;
    try {
      child = spawn(p.cmd, p.args ?? [], {
        cwd: p.cwd,
        env: { ...process.env, ...p.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (e) {
      reject(new AgentFailure('ESPAWN', (e as Error).message));
      return;
    }
    running.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const limit = 16 * 1024 * 1024;
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < limit) stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < limit) stderr += d.toString('utf8');
    });
    const timer =
      p.timeoutMs && p.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, p.timeoutMs)
        : undefined;
    child.on('error', (e) => {
      running.delete(child);
      if (timer) clearTimeout(timer);
      reject(new AgentFailure((e as NodeJS.ErrnoException).code ?? 'ESPAWN', `${p.cmd}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      running.delete(child);
      if (timer) clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        timedOut,
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(p.stdin ?? '');
  });
}

/** Reads /dev/kmsg records without blocking; each read returns exactly one record. */
function readKmsg(since: number): { records: KmsgRecord[]; lost: number } {
  const fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(8192);
  const records: KmsgRecord[] = [];
  let lost = 0;
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        if (code === 'EPIPE') {
          lost++; // overwritten before we read it; the next read continues
          continue;
        }
        throw e;
      }
      const line = buf.toString('utf8', 0, n);
      const semi = line.indexOf(';');
      const [pri, seq, usec] = line.slice(0, semi).split(',');
      const s = Number(seq);
      if (s <= since) continue;
      const text = line.slice(semi + 1).split('\n')[0]!;
      records.push({ seq: s, level: Number(pri) & 7, usec: Number(usec), text });
    }
  } finally {
    closeSync(fd);
  }
  return { records, lost };
}

function killExecs(): number {
  let killed = 0;
  for (const c of running) if (c.kill('SIGKILL')) killed++;
  return killed;
}

type Handlers = { [M in Method]: (params: AllMethods[M]['params']) => AllMethods[M]['result'] | Promise<AllMethods[M]['result']> };

const handlers: Handlers = {
  hello: (p) => hello(p.nonce),
  exec: (p) => exec(p),
  dmesgMark: () => {
    const { records } = readKmsg(-1);
    return { seq: records.length ? records[records.length - 1]!.seq : -1 };
  },
  dmesg: (p) => readKmsg(p.since),
  readFile: (p) => ({
    data: readFileSync(p.path).toString(p.encoding ?? 'utf8'),
  }),
  cpus: () => ({
    online: cpuList('/sys/devices/system/cpu/online'),
    present: cpuList('/sys/devices/system/cpu/present'),
    possible: cpuList('/sys/devices/system/cpu/possible'),
  }),
  cpuOnline: (p) => {
    writeFileSync(`/sys/devices/system/cpu/cpu${Number(p.cpu)}/online`, p.online ? '1' : '0');
    return { online: cpuList('/sys/devices/system/cpu/online') };
  },
  spawn: (p) => spawnProc(p),
  wait: (p) => waitProc(p.id, p.timeoutMs),
  kill: (p) => killProc(p.id, p.signal as NodeJS.Signals | undefined),
  procs: () => listProcs(),
  cancel: () => ({ killed: killExecs() }),
  // The harness is done with this node: end now, children too, with no grace period.
  bye: () => {
    setImmediate(() => endAgent(0));
    return {};
  },
  perfStat: (p) => perfStat(p, exec),
  echoStart: (p) => echoStart(p.port, p.host),
  echoStop: (p) => echoStop(p.port),
  tcpSend: (p) => tcpSend(p.host, p.port, Buffer.from(p.data, 'base64'), p.waitMs),
  tcpRoundTrips: (p) =>
    tcpRoundTrips(p.host, p.port, p.count, p.bytes, p.timeoutMs),
  writeFile: (p) => {
    const data = Buffer.from(p.data, p.encoding ?? 'utf8');
    writeFileSync(p.path, data, { mode: p.mode });
    return { bytes: data.length };
  },
};

function send(ch: Channel, method: string, r: Response): void {
  if (ch.live) {
    ch.write(`${JSON.stringify(r)}\n`);
    return;
  }
  noteDetached({ id: r.id, method, ok: r.ok, summary: r.ok ? summary(r.result) : `${r.error.code}: ${r.error.message}`.slice(0, 300) });
}

function summary(result: unknown): string {
  const x = result as Partial<ExecResult> | undefined;
  if (x && typeof x === 'object' && 'code' in x) return `exit ${x.code}${x.signal ? ` signal ${x.signal}` : ''}${x.timedOut ? ' (timed out)' : ''}`;
  return 'ok';
}

async function handle(ch: Channel, line: string): Promise<void> {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    send(ch, '?', { id: -1, ok: false, error: { code: 'EPROTO', message: `not JSON: ${line.slice(0, 100)}` } });
    return;
  }
  const req = RequestLine.safeParse(doc);
  if (!req.success) {
    const id = typeof (doc as { id?: unknown })?.id === 'number' ? (doc as { id: number }).id : -1;
    send(ch, '?', { id, ok: false, error: { code: 'EPROTO', message: `not a request: ${firstIssue(req.error)}` } });
    return;
  }
  const { id, method } = req.data;
  if (!Object.hasOwn(MethodParams, method)) {
    send(ch, method, { id, ok: false, error: { code: 'ENOSYS', message: `unknown method ${method}` } });
    return;
  }
  const m = method as Method;
  const params = MethodParams[m].safeParse(req.data.params ?? {});
  if (!params.success) {
    send(ch, m, { id, ok: false, error: { code: 'EINVAL', message: `${m}: ${firstIssue(params.error, 'params')}` } });
    return;
  }
  try {
    send(ch, m, { id, ok: true, result: await (handlers[m] as (p: unknown) => unknown)(params.data) });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { code?: string };
    send(ch, m, { id, ok: false, error: { code: err.code ?? 'EAGENT', message: err.message } });
  }
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// The harness closing the channel ends the agent (nothing outlives the session),
// at once when nothing runs, else after the session's grace period (session.ts).
runSession({
  session: arg('--session'),
  graceMs: Number(arg('--grace-ms') ?? 0) || 120_000,
  onLine: (ch, line) => void handle(ch, line),
  busy: () => running.size + liveProcs(),
  endAll: () => {
    killExecs();
    killAll();
  },
}).catch((e) => {
  process.stderr.write(`m3lab agent: ${(e as Error).message}\n`);
  process.exit(1);
});
