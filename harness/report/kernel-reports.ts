/**
 * PLACEHOLDER until the full table lands (helper): minimal recognition of report
 * starts and ends, same interface.
 */
export type ReportKind = 'panic' | 'oops' | 'gpf' | 'bug' | 'kernel-bug' | 'warning' | 'kasan' | 'kfence' | 'ubsan' | 'lockdep' | 'atomic-sleep' | 'rcu-stall' | 'soft-lockup' | 'hard-lockup' | 'hung-task' | 'refcount' | 'list-corruption' | 'bad-page' | 'memory-leak';

export interface KernelReport {
  kind: ReportKind;
  title: string;
  startLine: number;
  endLine: number;
  text: string;
  fatal: boolean;
}

const BEGINS: { kind: ReportKind; re: RegExp; fatal?: boolean }[] = [
  { kind: 'panic', re: /Kernel panic - not syncing/, fatal: true },
  { kind: 'kasan', re: /BUG: KASAN: / },
  { kind: 'kfence', re: /BUG: KFENCE: / },
  { kind: 'ubsan', re: /UBSAN: / },
  { kind: 'lockdep', re: /WARNING: possible (circular|recursive) locking|WARNING: inconsistent lock state|WARNING: bad unlock balance|INFO: possible irq lock inversion|WARNING: suspicious RCU usage|WARNING: lock held when returning/ },
  { kind: 'atomic-sleep', re: /BUG: sleeping function called from invalid context|BUG: scheduling while atomic/ },
  { kind: 'soft-lockup', re: /BUG: soft lockup/ },
  { kind: 'rcu-stall', re: /rcu: INFO: rcu_\w+ (self-)?detected (stalls|stall)/ },
  { kind: 'hung-task', re: /INFO: task .* blocked for more than \d+ seconds/ },
  { kind: 'gpf', re: /general protection fault/ },
  { kind: 'oops', re: /BUG: unable to handle|BUG: kernel NULL pointer dereference|\bOops: / },
  { kind: 'list-corruption', re: /list_(add|del) corruption/ },
  { kind: 'kernel-bug', re: /kernel BUG at / },
  { kind: 'refcount', re: /refcount_t: / },
  { kind: 'warning', re: /WARNING: CPU: \d+ PID: \d+ at / },
  { kind: 'bug', re: /\bBUG: / },
];

const strip = (l: string) => l.replace(/\r/g, '').replace(/^<\d>/, '').replace(/^\[\s*\d+\.\d+\]\s?/, '');
const END = /---\[ end (trace|Kernel panic)|^={20,}$/;

export function findReports(text: string, startLine = 0): KernelReport[] {
  const lines = text.split('\n');
  const out: KernelReport[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = strip(lines[i]!);
    const rule = BEGINS.find((b) => b.re.test(l));
    if (!rule) continue;
    let start = i;
    const prev = i > 0 ? strip(lines[i - 1]!) : '';
    if (/^={20,}$|cut here/.test(prev)) start = i - 1;
    let end = i;
    for (let j = i + 1; j < Math.min(lines.length, i + 400); j++) {
      const s = strip(lines[j]!);
      end = j;
      if (END.test(s)) break;
      if (rule.kind === 'panic') break;
    }
    out.push({ kind: rule.kind, title: `${rule.kind}: ${l.trim()}`, startLine: startLine + start, endLine: startLine + end, text: lines.slice(start, end + 1).join('\n'), fatal: rule.fatal ?? false });
    i = rule.kind === 'panic' ? end : end;
  }
  return out;
}
