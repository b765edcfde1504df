import { describe, expect, it } from 'vitest';
import { checkCounters, checkHistory, parseHistory } from '../../harness/faults/history.ts';

const T = 1_000_000;
const opts = { allowed: [-112], boundMs: 5000, faultAt: T + 1000, healedAt: T + 3000 };

function run(lines: string[]): string {
  return [...lines, `done ${lines.filter((l) => l.startsWith('op')).length}`].join('\n');
}

describe('fault history checker', () => {
  it('parses rt_load lines onto the host clock', () => {
    const h = parseHistory('node1/30', 'op 30 1 e 5 2 0 1\nop 30 2 v 9 3000 -112 -\nop 30 3 e 4000 1 0 from65822\nop 30 4 x 4001 1 0 1\ndone 3\n', T);
    expect(h.done).toBe(true);
    expect(h.ops).toEqual([
      { client: 'node1/30', seq: 1, kind: 'e', start: T + 5, durationMs: 2, result: 0, reply: 1 },
      { client: 'node1/30', seq: 2, kind: 'v', start: T + 9, durationMs: 3000, result: -112, reply: null },
      { client: 'node1/30', seq: 3, kind: 'e', start: T + 4000, durationMs: 1, result: 0, reply: 'from65822' },
    ]);
    // A kind the checker does not know is not a call it can judge: kept as a diagnostic line.
    expect(h.other).toEqual(['op 30 4 x 4001 1 0 1']);
  });

  it('passes a history with documented failures inside the fault and successes around it', () => {
    const h = parseHistory('n/1', run(['op 1 1 g 0 5 0 1', 'op 1 2 e 1500 1200 -112 -', 'op 1 3 e 3500 4 0 1']), T);
    expect(checkHistory([h], opts)).toMatchObject({ ok: true, problems: [] });
  });

  it('finds a wrong answer, a lost call, an undocumented errno, a call over the bound and no recovery', () => {
    const h = parseHistory('n/1', run(['op 1 1 e 0 5 0 1', 'op 1 2 e 100 5 0 3', 'op 1 4 v 1500 6000 -110 -', 'op 1 5 e 1600 5 -32 -']), T);
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
    const stuck = parseHistory('n/2', 'op 2 1 e 0 5 0 1\nBail out! rmtbind: -ENONET\n', T);
    const idle = parseHistory('n/3', 'done 0\n', T);
    const r = checkHistory([stuck, idle], opts);
    expect(r.problems).toContain('n/2: did not finish (killed or stuck; last lines: Bail out! rmtbind: -ENONET)');
    expect(r.problems).toContain('n/3: made no call');
  });
  it('allows a result for one kind of call only, and finds a vcopy that read back other bytes', () => {
    const h = parseHistory('n/1', run(['op 1 1 h 0 5 0 1', 'op 1 2 n 100 1 0 1', 'op 1 3 h 1500 5 -13 -', 'op 1 4 e 1600 5 -13 -', 'op 1 5 v 1700 9 0 mismatch12', 'op 1 6 n 3500 1 0 1']), T);
    const r = checkHistory([h], { ...opts, allowedByKind: { h: [-13] } }, (e) => (e === -13 ? 'EACCES' : `${e}`));
    expect(r.problems).toEqual(['n/1 #4: failed with EACCES, not a documented result of this fault', 'n/1 #5: succeeded with a wrong answer (mismatch12): not the answer to its own request']);
    expect(r.summary[0]).toMatchObject({ kinds: { h: 2, n: 2, e: 1, v: 1 }, messages: 5, answered: 1 });
  });

  it('holds the module\'s counters against the history: every success received and answered, nothing counted twice', () => {
    const summary = [
      { client: 'node1/30>node2', messages: 10, answered: 8 },
      { client: 'node3/31>node2', messages: 5, answered: 5 },
      { client: 'node2/32>node1', messages: 4, answered: 4 },
    ];
    expect(checkCounters(summary, [{ node: 'node2', rcvd: 14, sent: 13 }, { node: 'node1', rcvd: 4, sent: 4 }])).toEqual([]);
    expect(checkCounters(summary, [{ node: 'node2', rcvd: 12, sent: 12 }])).toEqual(['server on node2: received 12 messages, but 13 sendrecs to it succeeded', 'server on node2: sent 12 answers, but 13 sendrecs to it succeeded']);
    expect(checkCounters(summary, [{ node: 'node2', rcvd: 16, sent: 17 }])).toEqual(['server on node2: received 16 messages, more than the 15 its clients sent', 'server on node2: sent 17 answers for 16 messages']);
    // A client that died with its node called node2 too: its calls are unknown, the lower bounds still hold.
    expect(checkCounters(summary, [{ node: 'node2', rcvd: 16, sent: 16 }], ['node1/33>node2'])).toEqual([]);
    expect(checkCounters(summary, [{ node: 'node2', rcvd: 12, sent: 12 }], ['node1/33>node2'])).toHaveLength(2);
    expect(checkCounters(summary, [{ node: 'node1', rcvd: 5, sent: 5 }], ['node1/33>node2'])).toEqual(['server on node1: received 5 messages, more than the 4 its clients sent']);
  });
});
