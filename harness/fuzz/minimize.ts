import { callCount, compact, type Call, type Program } from './repro.ts';

/**
 * Cutting a fuzzer's program down to a small reproducer, the way syzkaller's
 * prog/minimization and Zeller's delta debugging do: remove a part, run what
 * is left, keep the removal when the bug still shows. A race shows only now
 * and then, so a trial that does not reproduce proves nothing: a removal is
 * kept only on a reproducing trial, and what is left always reproduced at
 * least once.
 */
export interface TrialResult {
  reproduced: boolean;
  /** The line that decided it (a kernel report, or the TAP result). */
  line: string;
}

export type Trial = (p: Program) => Promise<TrialResult>;

export interface MinimizeStep {
  step: string;
  before: number;
  after: number;
  trials: number;
}

/** Classic ddmin over items: the smallest subset found for which test holds. */
export async function ddmin<T>(items: T[], test: (keep: T[]) => Promise<boolean>, budget: { left: number }): Promise<T[]> {
  let cur = items;
  let n = 2;
  while (cur.length >= 2 && budget.left > 0) {
    const size = Math.ceil(cur.length / n);
    const chunks: T[][] = [];
    for (let i = 0; i < cur.length; i += size) chunks.push(cur.slice(i, i + size));
    let reduced = false;
    // The complements first: removing one chunk at a time is the cheapest win.
    for (let i = 0; i < chunks.length && budget.left > 0; i++) {
      const rest = chunks.filter((_, j) => j !== i).flat();
      if (rest.length === 0) continue;
      budget.left--;
      if (await test(rest)) {
        cur = rest;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (reduced) continue;
    if (n >= cur.length) break;
    n = Math.min(n * 2, cur.length);
  }
  return cur;
}

interface CallRef {
  p: number;
  t: number;
  c: number;
}

function refs(p: Program): CallRef[] {
  const out: CallRef[] = [];
  p.procs.forEach((q, pi) => q.threads.forEach((t, ti) => t.calls.forEach((_, ci) => out.push({ p: pi, t: ti, c: ci }))));
  return out;
}

function keepOnly(p: Program, keep: (r: CallRef, call: Call) => boolean): Program {
  return compact({
    ...p,
    procs: p.procs.map((q, pi) => ({
      ...q,
      threads: q.threads.map((t, ti) => ({ ...t, calls: t.calls.filter((call, ci) => keep({ p: pi, t: ti, c: ci }, call)) })),
    })),
  });
}

const callKey = (c: Call) => `${c.op}/${c.cmd}/${c.pk}/${c.ptr}/${c.arg.toString('hex')}`;

/**
 * Minimizes p with trial: whole kinds of call first (most calls go there),
 * then processes, threads, repeated calls within a thread, then single calls.
 * At most maxTrials trials in all.
 */
export async function minimize(p: Program, trial: Trial, o: { maxTrials: number; log?: (l: string) => void }): Promise<{ program: Program; steps: MinimizeStep[]; trials: number; stages: Program[] }> {
  const log = o.log ?? (() => {});
  const budget = { left: o.maxTrials };
  const steps: MinimizeStep[] = [];
  let cur = compact(p);
  let trials = 0;
  // What each step left, the whole program first: a race that the last cuts made rare is looked for again there.
  const stages: Program[] = [cur];
  const test = async (cand: Program): Promise<boolean> => {
    if (callCount(cand) === 0) return false;
    trials++;
    const r = await trial(cand);
    log(`  trial ${trials}: ${callCount(cand)} calls, ${cand.procs.length} processes: ${r.reproduced ? 'reproduced' : 'not reproduced'} (${r.line})`);
    return r.reproduced;
  };
  const step = async (name: string, run: () => Promise<Program>) => {
    const before = callCount(cur);
    const t0 = trials;
    cur = await run();
    if (callCount(cur) < callCount(stages.at(-1)!)) stages.push(cur);
    steps.push({ step: name, before, after: callCount(cur), trials: trials - t0 });
    log(`${name}: ${before} -> ${callCount(cur)} calls (${trials - t0} trials)`);
  };

  await step('kinds of call', async () => {
    const kinds = [...new Set(refs(cur).map((r) => cur.procs[r.p]!.threads[r.t]!.calls[r.c]!.op))].sort();
    const kept = new Set(await ddmin(kinds, (k) => test(keepOnly(cur, (_, c) => k.includes(c.op))), budget));
    return keepOnly(cur, (_, c) => kept.has(c.op));
  });
  await step('processes', async () => {
    const idx = cur.procs.map((_, i) => i);
    const kept = new Set(await ddmin(idx, (k) => test(keepOnly(cur, (r) => k.includes(r.p))), budget));
    return keepOnly(cur, (r) => kept.has(r.p));
  });
  await step('threads', async () => {
    const ths = cur.procs.flatMap((q, pi) => q.threads.map((_, ti) => `${pi}/${ti}`));
    const kept = new Set(await ddmin(ths, (k) => test(keepOnly(cur, (r) => k.includes(`${r.p}/${r.t}`))), budget));
    return keepOnly(cur, (r) => kept.has(`${r.p}/${r.t}`));
  });
  await step('repeated calls', async () => {
    // A thread replays its calls in a loop: a call it already makes once adds little but time.
    const seen = new Set<string>();
    const cand = keepOnly(cur, (r, c) => {
      const k = `${r.p}/${r.t}/${callKey(c)}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    if (callCount(cand) === callCount(cur) || budget.left-- <= 0) return cur;
    return (await test(cand)) ? cand : cur;
  });
  await step('single calls', async () => {
    const all = refs(cur).map((r) => `${r.p}/${r.t}/${r.c}`);
    const kept = new Set(await ddmin(all, (k) => {
      const ks = new Set(k);
      return test(keepOnly(cur, (r) => ks.has(`${r.p}/${r.t}/${r.c}`)));
    }, budget));
    return keepOnly(cur, (r) => kept.has(`${r.p}/${r.t}/${r.c}`));
  });
  return { program: cur, steps, trials, stages };
}

/**
 * What a trial's kernel report must match to count: the bug of the bundle,
 * not any report (a reduction that turns a use-after-free into a lockdep
 * splat has not reproduced it). From a title like
 * `KASAN: use-after-free Read in m3_dc_init`: the kind, on the report's
 * first line, and the function, there or in its call trace (the same bug
 * is also reported "in string" when vsnprintf, called from m3_dc_init,
 * reads the freed name).
 */
export interface ReportSignature {
  kind: RegExp;
  fn?: RegExp;
}

export function reportSignature(title: string): ReportSignature {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const fn = [...title.matchAll(/\bin ([A-Za-z_][A-Za-z0-9_.]*)/g)].pop()?.[1];
  const kasan = /KASAN: ([a-z-]+)/.exec(title)?.[1];
  const kind = kasan ? new RegExp(`KASAN: ${esc(kasan)}\\b`) : new RegExp(esc(title.split(/\s+/)[0]!.replace(/:$/, '')));
  return { kind, fn: fn ? new RegExp(`\\b${esc(fn)}\\b`) : undefined };
}

export function signatureMatches(sig: ReportSignature, first: string, rest: string[] = []): boolean {
  if (!sig.kind.test(first)) return false;
  return !sig.fn || sig.fn.test(first) || rest.some((l) => sig.fn!.test(l));
}

export const describeSignature = (sig: ReportSignature) => `${sig.kind.source}${sig.fn ? ` with ${sig.fn.source} in the report` : ''}`;
