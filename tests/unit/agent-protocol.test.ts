import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentBundle } from '../../harness/agent-bundle.ts';

/**
 * The agent protocol's schemas (agent/protocol-schema.ts), on the same bundle
 * the lab copies to its nodes, run on this host and driven over stdin/stdout:
 * a request the schemas refuse gets an answer naming the field, and no handler
 * runs; the same request with the field right is served.
 */
let agent: ChildProcessWithoutNullStreams;
const answers = new Map<number, (r: any) => void>();
const stray: any[] = [];

beforeAll(async () => {
  agent = spawn(process.execPath, [(await agentBundle()).path], { stdio: ['pipe', 'pipe', 'pipe'] });
  readline.createInterface({ input: agent.stdout }).on('line', (l) => {
    const r = JSON.parse(l);
    const w = answers.get(r.id);
    if (w) w(r);
    else stray.push(r);
  });
}, 60_000);

afterAll(() => {
  if (agent.exitCode === null) agent.kill('SIGKILL');
});

let nextId = 1;
function raw(line: string, id: number): Promise<any> {
  return new Promise((resolve) => {
    answers.set(id, resolve);
    agent.stdin.write(`${line}\n`);
  });
}
const call = (method: string, params: unknown) => {
  const id = nextId++;
  return raw(JSON.stringify({ id, method, params }), id);
};

describe('agent protocol schemas', () => {
  it('a method served with its parameters right, refused with EINVAL naming the wrong one', async () => {
    const ok = await call('exec', { cmd: 'echo', args: ['schema-ok'] });
    expect(ok).toMatchObject({ ok: true, result: { code: 0, stdout: 'schema-ok\n' } });
    const bad = await call('exec', { cmd: 'echo', args: ['x', 7] });
    expect(bad).toMatchObject({ ok: false, error: { code: 'EINVAL' } });
    expect(bad.error.message).toMatch(/^exec: params\.args\[1\]: expected string$/);
    const missing = await call('wait', { timeoutMs: 0 });
    expect(missing.error).toMatchObject({ code: 'EINVAL' });
    expect(missing.error.message).toBe('wait: params.id: expected number');
    const frac = await call('cpuOnline', { cpu: 0.5, online: true });
    expect(frac.error.message).toBe('cpuOnline: params.cpu: expected int');
  });

  it('an unknown method is ENOSYS, a request without an id or method is EPROTO, and the agent keeps serving', async () => {
    expect((await call('rmrf', {})).error).toMatchObject({ code: 'ENOSYS', message: 'unknown method rmrf' });
    expect((await call('toString', {})).error).toMatchObject({ code: 'ENOSYS' });
    const noMethod = await raw(JSON.stringify({ id: 900, params: {} }), 900);
    expect(noMethod.error).toMatchObject({ code: 'EPROTO' });
    expect(noMethod.error.message).toMatch(/not a request: method: /);
    agent.stdin.write('{"method":"cpus","id":"1"}\n');
    const after = await call('cpus', {});
    expect(after.ok).toBe(true);
    expect(after.result.online.length).toBeGreaterThan(0);
    expect(stray.map((r) => [r.id, r.error?.code])).toEqual([[-1, 'EPROTO']]);
  });
});
