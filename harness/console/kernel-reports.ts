/**
 * The kinds of report a Linux kernel prints when it is in trouble, after
 * syzkaller's pkg/report table: how each begins, what it is called, and where
 * it ends. Console and dmesg text go in; every report comes out whole, from
 * its first line (the `====` separator or `cut here` line printed before the
 * header) to its end marker, or to the end of its stack trace when the kernel
 * prints none (lockdep, hung task, RCU stall, atomic sleep).
 */
export type ReportKind =
  | 'panic'
  | 'oops'
  | 'gpf'
  | 'bug'
  | 'kernel-bug'
  | 'warning'
  | 'kasan'
  | 'kfence'
  | 'ubsan'
  | 'lockdep'
  | 'atomic-sleep'
  | 'rcu-stall'
  | 'soft-lockup'
  | 'hard-lockup'
  | 'hung-task'
  | 'refcount'
  | 'list-corruption'
  | 'bad-page'
  | 'memory-leak';

export interface KernelReport {
  kind: ReportKind;
  /** One line, e.g. `KASAN: use-after-free Read in canary_uaf`. */
  title: string;
  /** First and last line of the report in the scanned text (plus the caller's offset). */
  startLine: number;
  endLine: number;
  text: string;
  /** Only a panic: the node is gone. */
  fatal: boolean;
}

/** How a report ends: a marker line, or the end of its trace. */
type Ending = 'end-trace' | 'separator' | 'trace';

interface KindRule {
  kind: ReportKind;
  /** The header line. */
  begins: RegExp;
  /** One-line title from the header's match (and the report text for a few kinds). */
  title: (m: RegExpExecArray, body: string[]) => string;
  ends: Ending;
  fatal?: boolean;
}

/** The function a report's stack blames: the first frame that is not report machinery. */
function culprit(body: string[]): string | undefined {
  for (const line of body) {
    const m = /^\s*(?:\? )?([A-Za-z_][\w.]*)\+0x[0-9a-f]+\/0x[0-9a-f]+/.exec(line);
    if (!m || line.trimStart().startsWith('?')) continue;
    // Report machinery, locking and scheduling primitives blame nobody (syzkaller skips them too).
    if (/^(dump_stack|dump_stack_lvl|show_stack|print_report|kasan_|kfence_|__kasan|check_noncircular|check_prev_add|validate_chain|__lock_acquire|lock_acquire|__might_|might_sleep|__schedule_bug|__warn|report_bug|handle_bug|exc_invalid_op|asm_exc|panic|ubsan_|__ubsan|print_circular|print_usage|mark_lock|__list_del_entry_valid|__list_add_valid|debug_|lockdep_|watchdog_|__dump_stack|warn_slowpath|__stack_chk|_raw_|__raw_|do_raw_|mutex_lock|__mutex_lock|mutex_lock_nested|down_|__down|up_|rwsem_|schedule|__schedule|schedule_timeout|msleep|refcount_warn|refcount_dec|refcount_inc|__refcount|preempt_schedule|rcu_|__rcu|sched_show_task|show_regs|__show_regs)/.test(m[1]!)) continue;
    return m[1];
  }
  return undefined;
}

/** ` in <culprit>` when the report's stack names one (a console may hide the stack). */
const inCulprit = (body: string[]) => {
  const c = culprit(body);
  return c ? ` in ${c}` : '';
};

const fn = (s: string) => s.replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+.*$/, '').trim();

/**
 * The table. Order matters: the first rule whose header matches a line wins,
 * so the specific kinds (KASAN, lockdep, list corruption) come before the
 * generic BUG/WARNING headers they share a prefix with.
 */
export const REPORT_KINDS: readonly KindRule[] = [
  { kind: 'panic', begins: /Kernel panic - not syncing: (.*)$/, title: (m) => `kernel panic: ${m[1]!.trim()}`, ends: 'trace', fatal: true },
  { kind: 'kasan', begins: /BUG: KASAN: ([a-z-]+) in (\S+)/, title: (m, b) => `KASAN: ${m[1]} ${/^(Read|Write) of size/m.exec(b.join('\n'))?.[1] ?? 'access'} in ${fn(m[2]!)}`, ends: 'separator' },
  { kind: 'kfence', begins: /BUG: KFENCE: ([a-z-]+)(?: (read|write))? in (\S+)/, title: (m) => `KFENCE: ${m[1]}${m[2] ? ` ${m[2]}` : ''} in ${fn(m[3]!)}`, ends: 'separator' },
  { kind: 'ubsan', begins: /UBSAN: ([a-z-]+) in (\S+)/, title: (m, b) => `UBSAN: ${m[1]} in ${culprit(b) ?? m[2]}`, ends: 'separator' },
  { kind: 'lockdep', begins: /WARNING: possible circular locking dependency detected/, title: (_, b) => `possible deadlock${inCulprit(b)}`, ends: 'trace' },
  { kind: 'lockdep', begins: /WARNING: possible recursive locking detected/, title: (_, b) => `possible recursive locking${inCulprit(b)}`, ends: 'trace' },
  { kind: 'lockdep', begins: /WARNING: inconsistent lock state/, title: (_, b) => `inconsistent lock state${inCulprit(b)}`, ends: 'trace' },
  { kind: 'lockdep', begins: /WARNING: bad unlock balance detected!/, title: (_, b) => `bad unlock balance${inCulprit(b)}`, ends: 'trace' },
  { kind: 'lockdep', begins: /WARNING: lock held when returning to user space!/, title: (_, b) => `lock held when returning to user space${inCulprit(b)}`, ends: 'trace' },
  { kind: 'lockdep', begins: /WARNING: suspicious RCU usage/, title: (_, b) => `suspicious RCU usage${inCulprit(b)}`, ends: 'trace' },
  { kind: 'lockdep', begins: /WARNING: possible irq lock inversion dependency detected|INFO: possible irq lock inversion dependency detected/, title: (_, b) => `possible irq lock inversion${inCulprit(b)}`, ends: 'trace' },
  { kind: 'lockdep', begins: /WARNING: held lock freed!/, title: (_, b) => `held lock freed${inCulprit(b)}`, ends: 'trace' },
  { kind: 'atomic-sleep', begins: /BUG: sleeping function called from invalid context at (\S+)/, title: (_, b) => `sleeping function called from invalid context${inCulprit(b)}`, ends: 'trace' },
  { kind: 'atomic-sleep', begins: /BUG: scheduling while atomic: (\S+)/, title: (_, b) => `scheduling while atomic${inCulprit(b)}`, ends: 'trace' },
  { kind: 'soft-lockup', begins: /BUG: soft lockup - CPU#(\d+) stuck for/, title: (_, b) => `soft lockup${inCulprit(b)}`, ends: 'trace' },
  { kind: 'hard-lockup', begins: /Watchdog detected hard LOCKUP on cpu (\d+)/, title: (_, b) => `hard lockup${inCulprit(b)}`, ends: 'trace' },
  { kind: 'rcu-stall', begins: /rcu: INFO: rcu_\w+ (?:self-)?detected stalls? on CPUs?\/tasks|INFO: rcu_\w+ (?:self-)?detected stalls?/, title: (_, b) => `RCU stall${inCulprit(b)}`, ends: 'trace' },
  { kind: 'hung-task', begins: /INFO: task (\S+?):\d+ blocked for more than \d+ seconds/, title: (m, b) => `task hung: ${m[1]}${inCulprit(b)}`, ends: 'trace' },
  { kind: 'list-corruption', begins: /(list_add|list_del) corruption/, title: (m, b) => `${m[1]} corruption${inCulprit(b)}`, ends: 'end-trace' },
  { kind: 'refcount', begins: /refcount_t: (.*)\.?$/, title: (m, b) => `refcount bug (${m[1]!.replace(/\.$/, '')})${inCulprit(b)}`, ends: 'end-trace' },
  { kind: 'bad-page', begins: /BUG: Bad page (state|map) in process (\S+)/, title: (m) => `bad page ${m[1]} in ${m[2]}`, ends: 'end-trace' },
  { kind: 'memory-leak', begins: /unreferenced object 0x[0-9a-f]+ \(size (\d+)\)/, title: (_, b) => `memory leak${inCulprit(b)}`, ends: 'trace' },
  { kind: 'gpf', begins: /general protection fault(?:, probably for non-canonical address 0x[0-9a-f]+)?:/, title: (_, b) => `general protection fault in ${fn(/RIP: 0010:(\S+)/.exec(b.join('\n'))?.[1] ?? 'unknown')}`, ends: 'end-trace' },
  { kind: 'oops', begins: /BUG: (unable to handle page fault for address|kernel NULL pointer dereference, address|unable to handle kernel paging request)/, title: (m, b) => `BUG: ${m[1]!.replace(/, address$| for address$/, '')} in ${fn(/RIP: 0010:(\S+)/.exec(b.join('\n'))?.[1] ?? 'unknown')}`, ends: 'end-trace' },
  { kind: 'kernel-bug', begins: /kernel BUG at (\S+)!/, title: (m) => `kernel BUG at ${m[1]}`, ends: 'end-trace' },
  { kind: 'warning', begins: /WARNING: CPU: \d+ PID: \d+ at (\S+) (\S+)/, title: (m) => `WARNING in ${fn(m[2]!)}`, ends: 'end-trace' },
  { kind: 'oops', begins: /\bOops: (?:\d+ )?\[#\d+\]|\bOops: [0-9a-f]{4}/, title: (_, b) => `Oops in ${fn(/RIP: 0010:(\S+)/.exec(b.join('\n'))?.[1] ?? 'unknown')}`, ends: 'end-trace' },
  { kind: 'bug', begins: /\bBUG: ([^\n]+)/, title: (m) => `BUG: ${m[1]!.trim()}`, ends: 'end-trace' },
];

/** Lines of a stack trace or register dump: what a report without an end marker is made of. */
const TRACE_LINE = new RegExp(
  [
    '^\\s*$',
    '^\\s*<\\/?(TASK|IRQ|NMI|SOFTIRQ)>$',
    '^\\s*(\\? )?[A-Za-z_.$][\\w.$]*\\+0x[0-9a-f]+\\/0x[0-9a-f]+',
    '^\\s*(Call Trace|Hardware name|Modules linked in|CPU: \\d+ PID|RIP|RSP|RAX|RDX|RBP|R0\\d|R1\\d|FS|CS|CR2|DR0|DR3|DR6|Code|Stack|irq event stamp|hardirqs|softirqs|Workqueue|INFO: lockdep is turned off|Preemption disabled at|Tainted|Kernel Offset|---\\[)',
    '^\\s*(\\[<[0-9a-f]+>\\]|#\\d+: |-> #\\d+|\\s*\\(|other info that might help|the existing dependency chain|which lock already depends|but task is already holding|Chain exists of|Possible unsafe locking scenario|CPU\\d|\\*\\*\\* DEADLOCK|\\d+ locks? held by|no locks held by|stack backtrace|lock\\(|rcu:|\\s|task:|in_atomic|preempt_count|RCU nest depth|Showing|\\"echo 0|KASAN: (null-ptr-deref|maybe wild-memory-access)|PKRU|ES: |GS:|RIP:|Code:|note: |#PF: |PGD |P4D |PUD |PMD |PTE |Oops: )',
  ].join('|'),
);

const REGISTERS = /^(RIP: |Code: |RSP: |RAX: |RDX: |RBP: |R\d+: |FS: |CS: |CR2: |PKRU: |DR\d: |Kernel Offset: )/;
const END_TRACE = /^---\[ end (trace [0-9a-f]+|Kernel panic - not syncing.*) \]---/;
const SEPARATOR = /^={20,}$/;
const CUT_HERE = /^-+\[ cut here \]-+$/;
const MAX_LINES = 400;

/** The line without its printk decorations: `<4>` level, `[ 12.345678]` time, `\r`. */
export function stripLine(line: string): string {
  return line.replace(/\r/g, '').replace(/^<\d+>/, '').replace(/^\[\s*\d+\.\d+\]\s?/, '');
}

function headerAt(line: string): { rule: KindRule; m: RegExpExecArray } | undefined {
  for (const rule of REPORT_KINDS) {
    const m = rule.begins.exec(line);
    if (m) return { rule, m };
  }
  return undefined;
}

/** Where a report starts: its header, or the separator / cut-here / message line the kernel printed just before it. */
function startOf(lines: string[], header: number, rule: KindRule, floor: number): number {
  let start = header;
  const prev = (i: number) => (i > floor ? lines[i - 1]! : undefined);
  if (rule.ends === 'separator' || rule.kind === 'lockdep') {
    if (prev(start) !== undefined && SEPARATOR.test(prev(start)!)) start--;
    return start;
  }
  // WARN(cond, fmt...) and list/refcount checks print their message, then the
  // WARNING/BUG line, both after "cut here".
  for (let back = 1; back <= 3 && header - back >= floor; back++) {
    if (CUT_HERE.test(lines[header - back]!)) return header - back;
  }
  if (prev(start) !== undefined && SEPARATOR.test(prev(start)!)) start--;
  return start;
}

/** Where a report ends, looking no further than `limit`. */
function endOf(lines: string[], header: number, rule: KindRule, limit: number): number {
  const stop = Math.min(limit, header + MAX_LINES);
  let from = header;
  // Lockdep explains itself in prose (the chain, the scenario, the locks held)
  // before its one stack trace: the report ends with that trace.
  if (rule.kind === 'lockdep') {
    const bt = lines.slice(header, stop).findIndex((l) => /^stack backtrace:/.test(l));
    if (bt > 0) from = header + bt;
  }
  let lastTrace = from;
  for (let i = from + 1; i < stop; i++) {
    const l = lines[i]!;
    if (rule.ends === 'separator' && SEPARATOR.test(l)) return i;
    if (END_TRACE.test(l)) {
      // An Oops repeats its registers after the end marker: they belong to it.
      let j = i;
      while (j + 1 < stop && REGISTERS.test(lines[j + 1]!)) j++;
      return j;
    }
    if (rule.ends === 'trace' || rule.ends === 'end-trace') {
      if (TRACE_LINE.test(l)) {
        if (l.trim() !== '') lastTrace = i;
        continue;
      }
      // A hung-task report closes its lock listing with a separator line.
      if (rule.kind === 'hung-task' && SEPARATOR.test(l)) return i;
      // A line that is not part of a trace ends a report without a marker;
      // one with a marker may still quote a message line before its trace.
      if (rule.ends === 'trace' || i - lastTrace > 2) return lastTrace;
    }
  }
  return rule.ends === 'separator' ? stop - 1 : lastTrace;
}

/**
 * Every kernel report in `text`, in order. `startLine` is added to the line
 * numbers (for text that is a slice of a longer log). A report inside another
 * one's span (the WARNING printed by a list-corruption check, the panic after
 * an Oops) is folded into the first unless it is a panic, which is always its
 * own report: it is what killed the node.
 */
export function findReports(text: string, startLine = 0): KernelReport[] {
  const raw = text.split('\n');
  const lines = raw.map(stripLine);
  const out: KernelReport[] = [];
  let floor = 0;
  for (let i = 0; i < lines.length; i++) {
    const hit = headerAt(lines[i]!);
    if (!hit) continue;
    const start = startOf(lines, i, hit.rule, floor);
    // The next header of another report bounds this one (a panic always starts anew).
    let limit = lines.length;
    for (let j = i + 1; j < Math.min(lines.length, i + MAX_LINES); j++) {
      const next = headerAt(lines[j]!);
      if (!next) continue;
      if (next.rule.fatal || (hit.rule.ends !== 'separator' && SEPARATOR.test(lines[j - 1] ?? '')) || CUT_HERE.test(lines[j - 1] ?? '') || next.rule.ends === 'separator' || (hit.rule.ends === 'trace' && next.rule.kind !== 'warning')) {
        limit = next.rule.ends === 'separator' || next.rule.kind === 'lockdep' ? (SEPARATOR.test(lines[j - 1] ?? '') ? j - 1 : j) : CUT_HERE.test(lines[j - 1] ?? '') ? j - 1 : j;
        break;
      }
    }
    const end = Math.max(i, endOf(lines, i, hit.rule, limit));
    const body = lines.slice(i, end + 1);
    out.push({
      kind: hit.rule.kind,
      title: hit.rule.title(hit.m, body).replace(/\s+/g, ' ').trim(),
      startLine: startLine + start,
      endLine: startLine + end,
      text: raw.slice(start, end + 1).join('\n'),
      fatal: hit.rule.fatal ?? false,
    });
    i = end;
    floor = end + 1;
  }
  return out;
}
