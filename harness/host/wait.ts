import { InfraError } from '../errors.ts';

/**
 * The one wait of the harness and its suites: every poll (check, sleep, check
 * again until a bound) is waitUntil, every plain pause is sleep. The bound is
 * the caller's, scaled by the caller (a lab deadline in epoch ms, or a base
 * figure times the lab's time scale): this module scales nothing.
 */

/** What a check answers while it waits: not yet. Any other value (0 and '' too) is the result. */
type NotYet = undefined | null | false;

export interface WaitOptions {
  /** What is awaited, in words ("node1's SSH"): the timeout's error names it. */
  what: string;
  /** The bound as an epoch-ms deadline (the lab's own deadlines); Infinity waits for as long as it takes. */
  deadline?: number;
  /** The bound in ms from now; used when no deadline is given. */
  timeoutMs?: number;
  /** Pause between checks, in ms (default 100); the last pause ends at the bound. */
  intervalMs?: number;
  /** Ends the wait at once, rejecting with the signal's reason. */
  signal?: AbortSignal;
  /** At the bound: throw (the default) or resolve undefined, for a caller that judges the last state itself. */
  onTimeout?: 'throw' | 'return';
  /** The error thrown at the bound (the caller's class and words, from the last check's state); by default an InfraError naming `what`. */
  timeoutError?: (waitedMs: number) => Error;
}

/** A pause of `ms`; rejects with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `check` until it answers a value (anything but undefined, null or
 * false), which it resolves with; `intervalMs` apart, the first call at once.
 * A check that throws ends the wait with its error. At the bound, after a last
 * check, it throws `timeoutError` (default: an InfraError naming `what` and
 * how long it waited) or, with onTimeout 'return', resolves undefined.
 */
export function waitUntil<T>(check: () => T | NotYet | Promise<T | NotYet>, o: WaitOptions & { onTimeout: 'return' }): Promise<T | undefined>;
export function waitUntil<T>(check: () => T | NotYet | Promise<T | NotYet>, o: WaitOptions & { onTimeout?: 'throw' }): Promise<T>;
export async function waitUntil<T>(check: () => T | NotYet | Promise<T | NotYet>, o: WaitOptions): Promise<T | undefined> {
  const started = Date.now();
  if (o.deadline === undefined && o.timeoutMs === undefined) throw new InfraError(`waiting for ${o.what}: no bound given (deadline or timeoutMs)`);
  const deadline = o.deadline ?? started + o.timeoutMs!;
  const interval = o.intervalMs ?? 100;
  // A check that never settles must not hold the wait past its bound: it is given a tenth of
  // the whole wait beyond the deadline (at least one interval), then the wait times out.
  const grace = Math.max(interval, (deadline - started) / 10);
  const timedOut = (now: number) => {
    if (o.onTimeout === 'return') return undefined;
    throw o.timeoutError?.(now - started) ?? new InfraError(`timed out after ${((now - started) / 1000).toFixed(1)} s waiting for ${o.what}`);
  };
  for (;;) {
    o.signal?.throwIfAborted();
    const r = await settledBy(check(), deadline + grace);
    if (!r.settled) return timedOut(Date.now());
    const v = r.value;
    if (v !== undefined && v !== null && v !== false) return v;
    const now = Date.now();
    if (now >= deadline) return timedOut(now);
    if (deadline - now > interval) {
      await sleep(interval, o.signal);
      continue;
    }
    // The pause cut to end at the bound: the next check is the last, made at the bound, never
    // before it (a timer may fire a millisecond before Date.now() says it is due).
    do await sleep(deadline - Date.now(), o.signal);
    while (Date.now() < deadline);
  }
}

/** The check's value, or settled false once `by` (epoch ms) passed first; the check's error is thrown. */
async function settledBy<T>(v: T | Promise<T>, by: number): Promise<{ settled: true; value: T } | { settled: false }> {
  if (!(v instanceof Promise)) return { settled: true, value: v };
  // An unbounded wait (deadline Infinity) has nothing to cut a check at; and a timer past
  // 2^31 - 1 ms fires after 1 ms in Node, which would end every such wait at once.
  if (!Number.isFinite(by)) return { settled: true, value: await v };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ settled: false }>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false }), Math.min(2 ** 31 - 1, Math.max(0, by - Date.now())));
  });
  try {
    return await Promise.race([v.then((value) => ({ settled: true as const, value })), late]);
  } finally {
    clearTimeout(timer);
  }
}
