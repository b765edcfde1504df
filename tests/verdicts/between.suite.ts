import { describe, expect, it } from 'vitest';
import { labSuite } from '../../suites/support/lab-suite.ts';
import { plannedTimeScale, processTimeScale, scaled } from '../../harness/verdict/time-scale.ts';
import { waitUntil } from '../../harness/host/wait.ts';

/**
 * A node's kernel panics between two tests: the test that finds it must be
 * failed with the panic attached (not broken with "node is gone"), and the
 * tests after it broken, naming the crash and the test that reported it.
 * Run by suites/verdicts.test.ts, on a lab of its own and on one from `m3lab up`.
 */
describe('verdict fixture: kernel panic between two tests', () => {
  const suite = labSuite({ need: { name: 'verdict-between', nodes: 1 } });

  suite.it('arms a crash for after its end', async () => {
    const node = suite.handle().lab.nodes[0]!;
    // Detached from the agent's command, so it outlives this test.
    const r = await node.sh('echo 1 > /proc/sys/kernel/sysrq; setsid sh -c "sleep 2; echo c > /proc/sysrq-trigger" </dev/null >/dev/null 2>&1 & echo armed');
    expect(r.stdout.trim()).toBe('armed');
  });

  // Not a lab test: the host only waits while the node crashes.
  it('(the host waits while the node crashes)', async () => {
    const node = suite.handle().lab.nodes[0]!;
    await waitUntil(() => node.state === 'gone', { what: `${node.name} to be gone`, timeoutMs: scaled(60_000, processTimeScale()), intervalMs: 200, onTimeout: 'return' });
    expect(node.state).toBe('gone');
  }, scaled(90_000, plannedTimeScale(['default'], 1)));

  suite.it('finds the node crashed', async () => {
    await suite.handle().lab.nodes[0]!.sh('true');
  });

  suite.it('runs after the crash was reported', async () => {
    await suite.handle().lab.nodes[0]!.sh('true');
  });
});
