import { describe, expect, it } from 'vitest';
import { InfraError } from '../../harness/errors.ts';
import { sleep, waitUntil } from '../../harness/host/wait.ts';

/** A check that answers `answer(n)` on its n-th call (from 1), recording when each call came. */
function counted<T>(answer: (n: number) => T) {
  const at: number[] = [];
  const check = () => {
    at.push(Date.now());
    return answer(at.length);
  };
  return { check, at };
}

const gaps = (at: number[]) => at.slice(1).map((t, i) => t - at[i]!);

/** 'pending' when the promise has not settled within ms. */
const settledWithin = <T>(p: Promise<T>, ms: number) => Promise.race([p.then(() => 'resolved', () => 'rejected'), sleep(ms).then(() => 'pending')]);

describe('waitUntil', () => {
  it('resolves with the first value the check answers, at the first call that answers one', async () => {
    const c = counted((n) => (n < 3 ? undefined : `value ${n}`));
    expect(await waitUntil(c.check, { what: 'the third call', timeoutMs: 2000, intervalMs: 5 })).toBe('value 3');
    expect(c.at.length).toBe(3);
    // Negative control: a check that answers at once is called once, and the wait does not pause.
    const t0 = Date.now();
    const once = counted(() => true);
    expect(await waitUntil(once.check, { what: 'at once', timeoutMs: 2000, intervalMs: 500 })).toBe(true);
    expect({ calls: once.at.length, fast: Date.now() - t0 < 400 }).toEqual({ calls: 1, fast: true });
  });

  it('takes 0 and the empty string as values; undefined, null and false as not yet', async () => {
    expect(await waitUntil(() => 0, { what: 'zero', timeoutMs: 50 })).toBe(0);
    expect(await waitUntil(() => '', { what: 'empty', timeoutMs: 50 })).toBe('');
    // Negative control: each of the "not yet" answers waits out the bound.
    for (const notYet of [undefined, null, false]) {
      await expect(waitUntil(() => notYet, { what: `only ${notYet}`, timeoutMs: 20, intervalMs: 5 })).rejects.toThrow(`waiting for only ${notYet}`);
    }
  });

  it('awaits an async check', async () => {
    const c = counted((n) => Promise.resolve(n >= 2 ? n : undefined));
    expect(await waitUntil(c.check, { what: 'async', timeoutMs: 2000, intervalMs: 5 })).toBe(2);
  });

  it('throws an InfraError naming what it waited for, and how long, once the bound passes', async () => {
    const t0 = Date.now();
    const err = await waitUntil(() => false, { what: "node9's SSH", timeoutMs: 60, intervalMs: 10 }).catch((e: Error) => e);
    const ms = Date.now() - t0;
    expect(err).toBeInstanceOf(InfraError);
    expect((err as Error).message).toMatch(/^timed out after 0\.\d s waiting for node9's SSH$/);
    expect(ms).toBeGreaterThanOrEqual(60);
    expect(ms).toBeLessThan(1000);
    // Negative control: the same bound, a check that answers within it.
    const start = Date.now();
    expect(await waitUntil(() => Date.now() - start >= 20 || undefined, { what: 'twenty ms', timeoutMs: 60, intervalMs: 10 })).toBe(true);
  });

  it('takes the bound as an epoch-ms deadline, checks once more at it, and never sleeps past it', async () => {
    const t0 = Date.now();
    const c = counted(() => false);
    await expect(waitUntil(c.check, { what: 'a deadline', deadline: t0 + 70, intervalMs: 50 })).rejects.toThrow(/waiting for a deadline/);
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(70);
    // Checks at 0, 50 and at the deadline (70), not at 100.
    expect({ calls: c.at.length, last: c.at.at(-1)! - t0 >= 69, beforeNextInterval: ms < 100 }).toEqual({ calls: 3, last: true, beforeNextInterval: true });
    // Negative control: a deadline already past still checks once, and a check answering then wins.
    expect(await waitUntil(() => 'late but there', { what: 'past', deadline: t0 - 1 })).toBe('late but there');
  });

  it('at the bound, throws the caller\'s error, or resolves undefined with onTimeout "return"', async () => {
    class Mine extends Error {}
    const err = await waitUntil(() => false, { what: 'x', timeoutMs: 20, intervalMs: 5, timeoutError: (ms) => new Mine(`gave up after ${ms >= 20 ? 'the bound' : ms}`) }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Mine);
    expect((err as Error).message).toBe('gave up after the bound');
    expect(await waitUntil(() => false, { what: 'x', timeoutMs: 20, intervalMs: 5, onTimeout: 'return' })).toBeUndefined();
    // Negative control: with onTimeout "return", a check that answers still gives its value.
    expect(await waitUntil(() => 7, { what: 'x', timeoutMs: 20, onTimeout: 'return' })).toBe(7);
  });

  it('pauses intervalMs between checks', async () => {
    const slow = counted(() => false);
    await waitUntil(slow.check, { what: 'slow', timeoutMs: 160, intervalMs: 50, onTimeout: 'return' });
    // All but the last pause (cut to the bound) are the interval, give or take a timer's rounding.
    expect(gaps(slow.at).slice(0, -1).every((g) => g >= 48)).toBe(true);
    expect(slow.at.length).toBeLessThanOrEqual(5);
    // Negative control: a short interval checks far more often within the same bound.
    const fast = counted(() => false);
    await waitUntil(fast.check, { what: 'fast', timeoutMs: 160, intervalMs: 2, onTimeout: 'return' });
    expect(fast.at.length).toBeGreaterThan(slow.at.length + 3);
    expect(Math.min(...gaps(fast.at))).toBeLessThan(48);
  });

  it('a check that throws ends the wait with its error, not a timeout', async () => {
    const c = counted((n) => {
      if (n === 2) throw new Error('QEMU said no');
      return undefined;
    });
    await expect(waitUntil(c.check, { what: 'x', timeoutMs: 2000, intervalMs: 5 })).rejects.toThrow('QEMU said no');
    expect(c.at.length).toBe(2);
  });

  it('stops at once when its signal aborts, with the signal\'s reason, and checks no more', async () => {
    const ac = new AbortController();
    const c = counted(() => false);
    const t0 = Date.now();
    // In the middle of a pause: the abort does not wait for its end.
    const waiting = waitUntil(c.check, { what: 'x', timeoutMs: 5000, intervalMs: 2000, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('the lab is closing')), 30);
    await expect(waiting).rejects.toThrow('the lab is closing');
    expect(Date.now() - t0).toBeLessThan(1000);
    const calls = c.at.length;
    expect(calls).toBe(1);
    await sleep(40);
    expect(c.at.length).toBe(calls);
    // An already aborted signal: no check at all.
    const none = counted(() => 1);
    await expect(waitUntil(none.check, { what: 'x', timeoutMs: 5000, signal: AbortSignal.abort(new Error('gone')) })).rejects.toThrow('gone');
    expect(none.at.length).toBe(0);
    // Negative control: the same wait without an abort is still waiting then.
    const control = new AbortController();
    const still = waitUntil(() => false, { what: 'x', timeoutMs: 5000, intervalMs: 10, signal: control.signal });
    expect(await settledWithin(still, 60)).toBe('pending');
    control.abort(new Error('done with the control'));
    await expect(still).rejects.toThrow('done with the control');
  });

  it('a check that never settles ends the wait a tenth of the bound after it, with the timeout error', async () => {
    const t0 = Date.now();
    const hung = () => new Promise<boolean>(() => undefined);
    const err = await waitUntil(hung, { what: 'a probe that hangs', timeoutMs: 200, intervalMs: 5 }).catch((e: Error) => e);
    const ms = Date.now() - t0;
    expect((err as Error).message).toMatch(/waiting for a probe that hangs$/);
    // The bound (200 ms) and its grace (20 ms), not forever; generous above for a loaded host.
    expect(ms).toBeGreaterThanOrEqual(215);
    expect(ms).toBeLessThan(2000);
    expect(await waitUntil(hung, { what: 'hangs', timeoutMs: 50, intervalMs: 5, onTimeout: 'return' })).toBeUndefined();
    // Negative control: the last check, made at the bound, answers within the grace and is taken.
    const c = counted((n) => (n === 1 ? false : sleep(5).then(() => 'late but there')));
    expect(await waitUntil(c.check, { what: 'slow', timeoutMs: 100, intervalMs: 1000 })).toBe('late but there');
    expect(c.at.length).toBe(2);
  });

  it('an unbounded wait (deadline Infinity) waits for an async check as long as it takes', async () => {
    // Node fires a timer of more than 2^31 - 1 ms after 1 ms: a grace timer at Infinity ended the
    // Slurm job wait after 0.1 s. The check below answers at its third call, 20 ms apart.
    const c = counted((n) => sleep(2).then(() => (n >= 3 ? 'done' : undefined)));
    expect(await waitUntil(c.check, { what: 'a Slurm job', deadline: Infinity, intervalMs: 20 })).toBe('done');
    expect(c.at.length).toBe(3);
    // Negative control: a far but finite deadline, past what a Node timer holds, is no different.
    const far = counted((n) => sleep(2).then(() => (n >= 2 ? 'done' : undefined)));
    expect(await waitUntil(far.check, { what: 'far', deadline: Date.now() + 2 ** 33, intervalMs: 20 })).toBe('done');
  });

  it('refuses a wait without a bound', async () => {
    await expect(waitUntil(() => false, { what: 'for ever' })).rejects.toThrow(/waiting for for ever: no bound given/);
    // Negative control: Infinity is a bound the caller chose (a Slurm job may queue for hours).
    expect(await waitUntil(() => 1, { what: 'x', deadline: Infinity })).toBe(1);
  });
});

describe('sleep', () => {
  it('resolves after the pause', async () => {
    const t0 = Date.now();
    await sleep(30);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(29);
  });

  it('rejects with the reason when aborted, before the pause ends', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = sleep(5000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(Date.now() - t0).toBeLessThan(1000);
    // Negative control: an unaborted signal lets the pause run.
    const control = new AbortController();
    const running = sleep(5000, control.signal);
    expect(await settledWithin(running, 30)).toBe('pending');
    control.abort(new Error('done with the control'));
    await expect(running).rejects.toThrow('done with the control');
  });
});
