import { describe, expect, it } from 'vitest';
import { checkCounters, checkHistory, parseHistory, type CheckResult } from '../../harness/faults/history.ts';

const T = 1_000_000;
const opts = { allowed: [-112], boundMs: 5000, faultAt: T + 1000, healedAt: T + 3000 };

function run(lines: string[]): string {
  return [...lines, `done ${lines.filter((l) => l.startsWith('op')).length}`].join('\n');
}

describe('fault history checker', () => {
  it('parses rt_load lines onto the host clock', () => {
    const h = parseHistory('node1/30', 'op 30 1 5 2 0 1\nop 30 2 9 3000 -112 -\nop 30 3 4000 1 0 from65822\ndone 3\n', T);
    expect(h.done).toBe(true);
    expect(h.ops).toEqual([
      { client: 'node1/30', seq: 1, start: T + 5, durationMs: 2, result: 0, reply: 1 },
      { client: 'node1/30', seq: 2, start: T + 9, durationMs: 3000, result: -112, reply: null },
      { client: 'node1/30', seq: 3, start: T + 4000, durationMs: 1, result: 0, reply: 'from65822' },
    ]);
  });

  it('passes a history with documented failures inside the fault and successes around it', () => {
    const h = parseHistory('n/1', run(['op 1 1 0 5 0 1', 'op 1 2 1500 1200 -112 -', 'op 1 3 3500 4 0 1']), T);
    expect(checkHistory([h], opts)).toMatchObject({ ok: true, problems: [] });
  });

  it('finds a wrong answer, a lost call, an undocumented errno, a call over the bound and no recovery', () => {
    const h = parseHistory('n/1', run(['op 1 1 0 5 0 1', 'op 1 2 100 5 0 3', 'op 1 4 1500 6000 -110 -', 'op 1 5 1600 5 -32 -']), T);
    const r = checkHistory([h], opts, (e) => ({ [-110]: 'ETIMEDOUT', [-32]: 'EPIPE' })[e] ?? `${e}`);
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      'n/1 #2: succeeded with a wrong answer (3): not the answer to its own request',
      'n/1: call 3 is numbered 4 (a call lost or repeated)',
      'n/1 #4: took 6000 ms, over the bound of 5000 ms (result ETIMEDOUT)',
      'n/1 #4: failed with ETIMEDOUT, not a documented result of this fault',
      'n/1: call 4 is numbered 5 (a call lost or repeated)',
      'n/1 #5: failed with EPIPE, not a documented result of this fault',
      'n/1: no call succeeded after the heal (traffic did not resume)',
    ]);
  });

  it('finds a client that never finished or never ran', () => {
    const stuck = parseHistory('n/2', 'op 2 1 0 5 0 1\nBail out! rmtbind: -ENONET\n', T);
    const idle = parseHistory('n/3', 'done 0\n', T);
    const r = checkHistory([stuck, idle], opts);
    expect(r.problems).toContain('n/2: did not finish (killed or stuck; last lines: Bail out! rmtbind: -ENONET)');
    expect(r.problems).toContain('n/3: made no call');
  });
  it('holds the module\'s counters against the history: every success received and answered, nothing counted twice', () => {
    const summary: CheckResult['summary'] = [
      { client: 'node1/30>node2', ops: 10, ok: 8, failures: { EHOSTDOWN: 2 }, longestMs: 5, okAfterHeal: 3 },
      { client: 'node3/31>node2', ops: 5, ok: 5, failures: {}, longestMs: 5, okAfterHeal: 2 },
      { client: 'node2/32>node1', ops: 4, ok: 4, failures: {}, longestMs: 5, okAfterHeal: 2 },
    ];
    expect(checkCounters(summary, [{ node: 'node2', rcvd: 14, sent: 13 }, { node: 'node1', rcvd: 4, sent: 4 }])).toEqual([]);
    expect(checkCounters(summary, [{ node: 'node2', rcvd: 12, sent: 12 }])).toEqual(['server on node2: received 12 requests, but 13 calls to it succeeded', 'server on node2: sent 12 answers, but 13 calls to it succeeded']);
    expect(checkCounters(summary, [{ node: 'node2', rcvd: 16, sent: 17 }])).toEqual(['server on node2: received 16 requests, more than the 15 calls made to it', 'server on node2: sent 17 answers for 16 requests']);
    // A client that died with its node called node2 too: its calls are unknown, the lower bounds still hold.
    expect(checkCounters(summary, [{ node: 'node2', rcvd: 16, sent: 16 }], ['node1/33>node2'])).toEqual([]);
    expect(checkCounters(summary, [{ node: 'node2', rcvd: 12, sent: 12 }], ['node1/33>node2'])).toHaveLength(2);
    expect(checkCounters(summary, [{ node: 'node1', rcvd: 5, sent: 5 }], ['node1/33>node2'])).toEqual(['server on node1: received 5 requests, more than the 4 calls made to it']);
  });
});
