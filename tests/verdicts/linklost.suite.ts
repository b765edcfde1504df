import { describe, expect } from 'vitest';
import { labSuite } from '../../suites/support/lab-suite.ts';

/**
 * The SSH link to a healthy guest drops in the middle of a test (its dropbear
 * session is killed): the host side failed, so that test is broken, not
 * failed, and the harness makes a new link, so the next test passes on the
 * same node. The new link reaches the same agent session: a process spawned
 * before the cut still runs under the same id. Run by suites/verdicts.test.ts.
 */
describe('verdict fixture: the SSH link drops, the guest lives', () => {
  const suite = labSuite({ need: { name: 'verdict-linklost', nodes: 1 } });

  let kept: { id: number; pid: number } | undefined;

  suite.it('a test whose SSH link is cut', async () => {
    const node = suite.handle().lab.nodes[0]!;
    kept = await node.rpc.call('spawn', { cmd: 'sleep', args: ['600'] });
    // The link is the one SSH connection to the node: a child of the dropbear daemon serves it.
    // (Not the agent's parent: a restored node's agent is its zygote, which init started.)
    await node.sh('main=$(cat /run/dropbear.pid); for f in /proc/[0-9]*/stat; do set -- $(cat $f 2>/dev/null); [ "$4" = "$main" ] && kill -9 $1; done; sleep 30', 60_000);
  });

  suite.it('the next test runs on a new link', async () => {
    const node = suite.handle().lab.nodes[0]!;
    expect((await node.sh('echo alive')).stdout.trim()).toBe('alive');
    expect(node.reconnects).toBe(1);
    expect(node.resumes).toHaveLength(1);
    expect(node.resumes[0]!.procs).toContainEqual({ id: kept!.id, pid: kept!.pid, cmd: 'sleep 600', running: true });
    expect((await node.rpc.call('wait', { id: kept!.id, timeoutMs: 0 })).exited).toBe(false);
    await node.rpc.call('kill', { id: kept!.id, signal: 'SIGKILL' });
    expect((await node.rpc.call('wait', { id: kept!.id, timeoutMs: 10_000 })).signal).toBe('SIGKILL');
  });
});
