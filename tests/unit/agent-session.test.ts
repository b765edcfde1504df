import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentBundle } from '../../harness/agent-bundle.ts';
import { sleep, waitUntil } from '../../harness/host/wait.ts';

/**
 * The agent's session (agent/session.ts), run for real on this host: the same
 * bundle the lab copies to its nodes, driven over stdin/stdout as SSH does.
 */
let bundle: string;
const started: ChildProcessWithoutNullStreams[] = [];

beforeAll(async () => {
  bundle = (await agentBundle()).path;
}, 60_000);

afterEach(() => {
  for (const p of started.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
});

interface Link {
  proc: ChildProcessWithoutNullStreams;
  call: (method: string, params?: unknown) => Promise<any>;
  exited: Promise<number | null>;
}

function link(session: string | undefined, graceMs = 5_000): Link {
  const args = session ? [bundle, '--session', session, '--grace-ms', String(graceMs)] : [bundle];
  const proc = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  started.push(proc);
  const waiting = new Map<number, (r: any) => void>();
  let buf = '';
  let id = 1;
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const r = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      waiting.get(r.id)?.(r);
    }
  });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const call = (method: string, params: unknown = {}) =>
    new Promise<any>((resolve, reject) => {
      const n = id++;
      waiting.set(n, (r) => (r.ok ? resolve(r.result) : reject(new Error(r.error.message))));
      proc.stdin.write(`${JSON.stringify({ id: n, method, params })}\n`);
    });
  return { proc, call, exited };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** True once `done` holds, checked every 50 ms; false if it still does not at `ms`. */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  return (await waitUntil(done, { what: 'the processes to end', timeoutMs: ms, intervalMs: 50, onTimeout: 'return' })) ?? false;
}

describe('agent session: children survive a dropped link for the grace period', () => {
  it('a new link to the same session reaches the same agent, its processes and their ids', async () => {
    const session = `t${randomBytes(4).toString('hex')}`;
    const a = link(session);
    const h1 = await a.call('hello', { nonce: 'one' });
    expect(h1.resumed).toBeUndefined();
    const sp = await a.call('spawn', { cmd: 'sleep', args: ['30'] });
    a.proc.stdin.end(); // the link drops (SSH gone); the agent is not told why
    await sleep(300);
    expect(alive(h1.pid), 'the agent waits out its grace period').toBe(true);
    expect(alive(sp.pid)).toBe(true);

    const b = link(session);
    const h2 = await b.call('hello', { nonce: 'two' });
    expect(h2.pid).toBe(h1.pid);
    expect(h2.resumed.procs).toEqual([{ id: sp.id, pid: sp.pid, cmd: 'sleep 30', running: true }]);
    expect(h2.resumed.detachedMs).toBeGreaterThanOrEqual(250);
    expect((await b.call('wait', { id: sp.id, timeoutMs: 0 })).exited).toBe(false);

    await b.call('bye');
    expect(await until(() => !alive(sp.pid) && !alive(h1.pid), 5_000), 'bye ends the agent and its children').toBe(true);
    expect(existsSync(`/tmp/m3lab/agent-${session}.sock`)).toBe(false);
  }, 30_000);

  it('an answer that finds no link is reported to the next one', async () => {
    const session = `t${randomBytes(4).toString('hex')}`;
    const a = link(session);
    await a.call('hello', { nonce: 'one' });
    void a.call('exec', { cmd: '/bin/sh', args: ['-c', 'sleep 0.5; exit 3'] }).catch(() => {});
    a.proc.stdin.end();
    await sleep(1_000);
    const b = link(session);
    const h2 = await b.call('hello', { nonce: 'two' });
    expect(h2.resumed.answers).toEqual([{ id: 2, method: 'exec', ok: true, summary: 'exit 3' }]);
    await b.call('bye');
  }, 30_000);

  it('no new link within the grace period: the children are killed and the agent ends', async () => {
    const session = `t${randomBytes(4).toString('hex')}`;
    const a = link(session, 1_000);
    const h = await a.call('hello', { nonce: 'x' });
    const sp = await a.call('spawn', { cmd: 'sleep', args: ['30'] });
    a.proc.stdin.end();
    await sleep(400);
    expect(alive(sp.pid)).toBe(true);
    expect(await until(() => !alive(sp.pid) && !alive(h.pid), 5_000)).toBe(true);
  }, 30_000);

  it('nothing running: a dropped link ends the agent at once, as without a session', async () => {
    for (const session of [`t${randomBytes(4).toString('hex')}`, undefined]) {
      const a = link(session, 60_000);
      await a.call('hello', { nonce: 'x' });
      const t0 = Date.now();
      a.proc.stdin.end();
      expect(await a.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5_000);
    }
  }, 30_000);

  it('without a session, a dropped link kills the spawned processes at once', async () => {
    const a = link(undefined);
    await a.call('hello', { nonce: 'x' });
    const sp = await a.call('spawn', { cmd: 'sleep', args: ['30'] });
    a.proc.stdin.end();
    expect(await a.exited).toBe(0);
    expect(await until(() => !alive(sp.pid), 3_000)).toBe(true);
  }, 30_000);
});
