import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { agentBundle } from '../../harness/agent-bundle.ts';
import { AgentClient } from '../../harness/agent-client.ts';
import type { SshTransport } from '../../harness/transport/ssh.ts';

/**
 * The harness's side of the agent protocol: answers checked by their schema.
 * The channel is a process on this host standing where SSH would put the agent:
 * the real bundle, or a broken agent that answers with lines that are not the
 * protocol's.
 */
const started: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const p of started.splice(0)) if (p.exitCode === null) p.kill('SIGKILL');
});

/** An SshTransport whose agent channel is ARGV run here (the copy step succeeds and does nothing). */
function transportRunning(argv: string[]): SshTransport {
  return {
    exec: async () => ({ code: 0, stdout: '', stderr: '' }),
    channel: async () => {
      const p = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      started.push(p);
      const ch = Duplex.from({ readable: p.stdout, writable: p.stdin }) as Duplex & { stderr: NodeJS.ReadableStream };
      ch.stderr = p.stderr;
      return ch;
    },
  } as unknown as SshTransport;
}

/** A one-line agent: answers the hello request with ANSWER(id, nonce), then waits. */
const brokenAgent = (answer: string) => [
  process.execPath,
  '-e',
  `require('readline').createInterface({ input: process.stdin }).on('line', (l) => { const r = JSON.parse(l); const id = r.id, nonce = r.params.nonce; process.stdout.write(${answer} + '\\n'); });`,
];

describe('agent client: answers checked by the protocol schema', () => {
  it('the real agent: hello and a call go through', async () => {
    const bundle = await agentBundle();
    const agent = new AgentClient('host', transportRunning([process.execPath, bundle.path]));
    const hello = await agent.start(bundle.code);
    expect(hello.cpusOnline.length).toBeGreaterThan(0);
    expect((await agent.call('exec', { cmd: 'echo', args: ['through'] })).stdout).toBe('through\n');
  }, 60_000);

  it('a hello without the fields the harness relies on is refused, naming the field', async () => {
    const agent = new AgentClient('fake', transportRunning(brokenAgent(`JSON.stringify({ id, ok: true, result: { nonce, agentVersion: 'x', node: 'n', kernelRelease: 'k', cpusPossible: [0], uptimeSeconds: 1, pid: 1 } })`)));
    await expect(agent.start(Buffer.from(''))).rejects.toThrow(/^fake: the agent's hello is not one: cpusOnline: /);
  });

  it('a line that is JSON but not an answer ends the link with an error naming the field', async () => {
    const agent = new AgentClient('fake', transportRunning(brokenAgent(`JSON.stringify({ id, ok: 'yes', result: {} })`)));
    await expect(agent.start(Buffer.from(''))).rejects.toThrow(/^fake: agent sent a line that is not an answer: /);
    // The link is dead: later calls fail the same way at once.
    await expect(agent.call('procs', {})).rejects.toThrow(/not an answer/);
  });
});
