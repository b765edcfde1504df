/**
 * The fault suite's workload history and its checker, after Jepsen: the
 * workload (kmod/tests/rt_load.c, one process per client) records every call
 * it made; a fault is injected and healed on a timeline; then this checker
 * judges the history alone. Pure functions: unit-tested without a lab.
 */

/**
 * rt_load's calls: e sendrec echo, v remote vcopy round (write, read back),
 * n notify, g / h the server node's admin grants KERNEL / HARDWARE level
 * (a sendrec), b the server's buffer address (a sendrec).
 */
export const OP_KINDS = ['e', 'v', 'n', 'g', 'h', 'b'] as const;
export type OpKind = (typeof OP_KINDS)[number];
/** Kinds that are a request to the server and wait for its answer (counted by the server's msgs_rcvd and msgs_sent). */
const SENDREC_KINDS: readonly OpKind[] = ['e', 'g', 'h', 'b'];

/** One call as rt_load printed it, placed on the host's clock. */
export interface Op {
  /** "node1/30": the node and slot of the client. */
  client: string;
  seq: number;
  /** What the call was (rt_load's KIND): see OP_KINDS. */
  kind: OpKind;
  /** Host time (ms since the epoch) the call started: the client's start + its offset. */
  start: number;
  durationMs: number;
  /** 0 or a negative errno. */
  result: number;
  /** Reply minus request (1 when right), "from<ep>" for a reply from another process, or null without one. */
  reply: number | string | null;
}

export interface ClientHistory {
  client: string;
  ops: Op[];
  /** rt_load printed its "done" line: it was not killed or stuck. */
  done: boolean;
  /** Lines that were neither ops nor "done" (diagnostics, bail-outs). */
  other: string[];
}

/**
 * Parses one rt_load output. `startedAt` is the host time the client was
 * started (its offsets count from then; the spawn round trip is the error).
 */
export function parseHistory(client: string, text: string, startedAt: number): ClientHistory {
  const h: ClientHistory = { client, ops: [], done: false, other: [] };
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const m = /^op (\d+) (\d+) ([a-z]) (\d+) (\d+) (-?\d+) (\S+)$/.exec(t);
    if (m && (OP_KINDS as readonly string[]).includes(m[3]!)) {
      const raw = m[7]!;
      h.ops.push({
        client,
        seq: Number(m[2]),
        kind: m[3] as OpKind,
        start: startedAt + Number(m[4]),
        durationMs: Number(m[5]),
        result: Number(m[6]),
        reply: raw === '-' ? null : /^-?\d+$/.test(raw) ? Number(raw) : raw,
      });
    } else if (/^done \d+$/.test(t)) h.done = true;
    else h.other.push(t);
  }
  return h;
}

export interface CheckOptions {
  /** Results a call may end with under the fault (0 is always allowed). */
  allowed: number[];
  /** More results allowed for one kind of call only. */
  allowedByKind?: Partial<Record<OpKind, number[]>>;
  /** No call may take longer: the documented bound for an affected call. */
  boundMs: number;
  /** Host time the fault was injected and the time its heal finished. */
  faultAt: number;
  healedAt: number;
}

export interface ClientSummary {
  client: string;
  ops: number;
  ok: number;
  /** Calls by kind (OP_KINDS), for the report. */
  kinds: Partial<Record<OpKind, number>>;
  failures: Record<string, number>;
  longestMs: number;
  okAfterHeal: number;
  /** Requests that reached or may have reached the server: every sendrec, and every notify that was sent (0). */
  messages: number;
  /** Sendrecs answered: each one a request the server received and answered. */
  answered: number;
}

export interface CheckResult {
  ok: boolean;
  problems: string[];
  /** Per client: calls, successes, failures by errno, the longest call. */
  summary: ClientSummary[];
}

/**
 * The checker's rules: every client finished; its calls are numbered 1, 2, 3 ...
 * (none lost, none twice: each request got at most one answer); every
 * successful call got the answer to its own request (never another call's or
 * another client's); every failure is one of the documented errnos; no call
 * took longer than the bound; every client succeeded before the fault and
 * again after the heal (the link came back without anything restarted by hand).
 */
export function checkHistory(histories: ClientHistory[], o: CheckOptions, errname: (e: number) => string = (e) => `${e}`): CheckResult {
  const problems: string[] = [];
  const summary: CheckResult['summary'] = [];
  for (const h of histories) {
    const failures: Record<string, number> = {};
    let longest = 0;
    let okBefore = 0;
    let okAfter = 0;
    if (!h.done) problems.push(`${h.client}: did not finish (killed or stuck; last lines: ${h.other.slice(-3).join(' | ') || 'none'})`);
    if (h.ops.length === 0) problems.push(`${h.client}: made no call`);
    h.ops.forEach((op, i) => {
      if (op.seq !== i + 1) problems.push(`${h.client}: call ${i + 1} is numbered ${op.seq} (a call lost or repeated)`);
      longest = Math.max(longest, op.durationMs);
      if (op.durationMs > o.boundMs) problems.push(`${h.client} #${op.seq}: took ${op.durationMs} ms, over the bound of ${o.boundMs} ms (result ${errname(op.result)})`);
      if (op.result === 0) {
        if (op.reply !== 1) problems.push(`${h.client} #${op.seq}: succeeded with a wrong answer (${op.reply === null ? 'none' : op.reply}): not the answer to its own request`);
        if (op.start < o.faultAt) okBefore++;
        if (op.start >= o.healedAt) okAfter++;
      } else {
        failures[errname(op.result)] = (failures[errname(op.result)] ?? 0) + 1;
        if (!o.allowed.includes(op.result) && !o.allowedByKind?.[op.kind]?.includes(op.result)) problems.push(`${h.client} #${op.seq}: failed with ${errname(op.result)}, not a documented result of this fault`);
        if (op.reply !== null) problems.push(`${h.client} #${op.seq}: failed but carries an answer (${op.reply})`);
      }
    });
    if (h.ops.length && okBefore === 0) problems.push(`${h.client}: no call succeeded before the fault (the workload never ran)`);
    if (h.ops.length && okAfter === 0) problems.push(`${h.client}: no call succeeded after the heal (traffic did not resume)`);
    const kinds: ClientSummary['kinds'] = {};
    for (const op of h.ops) kinds[op.kind] = (kinds[op.kind] ?? 0) + 1;
    summary.push({
      client: h.client,
      ops: h.ops.length,
      ok: h.ops.filter((x) => x.result === 0).length,
      kinds,
      failures,
      longestMs: longest,
      okAfterHeal: okAfter,
      messages: h.ops.filter((x) => SENDREC_KINDS.includes(x.kind) || (x.kind === 'n' && x.result === 0)).length,
      answered: h.ops.filter((x) => SENDREC_KINDS.includes(x.kind) && x.result === 0).length,
    });
  }
  return { ok: problems.length === 0, problems, summary };
}

/** A server's message counters from /proc/m3ipc over the run (after minus before). */
export interface ServerCounts {
  /** The node the server runs on: client labels end in `>NODE`. */
  node: string;
  rcvd: number;
  sent: number;
}

/**
 * The module's own counters against the history: a server received every request
 * whose sendrec succeeded and no more messages than its clients sent (sendrecs
 * and notifies; notifies pending at once coalesce, so they bound only from
 * above), and answered at least the successful sendrecs and at most what it
 * received (a request counted twice, or an answer sent to nobody's call, shows
 * here). vcopy moves no message. Calls of `lostClients`
 * (their node died, and their records with it) are unknown: a server they
 * called is held only to the lower bounds.
 */
export function checkCounters(summary: Pick<ClientSummary, 'client' | 'messages' | 'answered'>[], servers: ServerCounts[], lostClients: string[] = []): string[] {
  const problems: string[] = [];
  for (const s of servers) {
    const mine = summary.filter((c) => c.client.endsWith(`>${s.node}`));
    const ok = mine.reduce((n, c) => n + c.answered, 0);
    const calls = mine.reduce((n, c) => n + c.messages, 0);
    // Clients whose history died with their node made calls nobody can count: no upper bound then.
    const uncounted = lostClients.some((c) => c.endsWith(`>${s.node}`));
    if (s.rcvd < ok) problems.push(`server on ${s.node}: received ${s.rcvd} messages, but ${ok} sendrecs to it succeeded`);
    if (!uncounted && s.rcvd > calls) problems.push(`server on ${s.node}: received ${s.rcvd} messages, more than the ${calls} its clients sent`);
    if (s.sent < ok) problems.push(`server on ${s.node}: sent ${s.sent} answers, but ${ok} sendrecs to it succeeded`);
    if (s.sent > s.rcvd) problems.push(`server on ${s.node}: sent ${s.sent} answers for ${s.rcvd} messages`);
  }
  return problems;
}

/** A history as text for a report: one line per call, in host time order. */
export function historyText(histories: ClientHistory[], t0: number): string {
  return histories
    .flatMap((h) => h.ops)
    .sort((a, b) => a.start - b.start)
    .map((op) => `${((op.start - t0) / 1000).toFixed(3).padStart(8)}s ${op.client.padEnd(10)} #${`${op.seq}`.padEnd(5)} ${op.kind} ${`${op.durationMs}`.padStart(5)} ms  ${op.result === 0 ? 'ok' : op.result}  reply ${op.reply ?? '-'}`)
    .join('\n');
}
