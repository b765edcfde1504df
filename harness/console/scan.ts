/**
 * Console scanning: the lines of a kernel log that mean the guest kernel is in
 * trouble. A panic ends the boot at once; the others fail the test that produced them.
 */
export type FindingKind = 'panic' | 'oops' | 'bug' | 'warning' | 'hung-task' | 'lockdep' | 'kasan';

export interface Finding {
  kind: FindingKind;
  line: number;
  text: string;
}

const RULES: { kind: FindingKind; re: RegExp }[] = [
  { kind: 'panic', re: /Kernel panic - not syncing/ },
  { kind: 'oops', re: /\bOops(?::|\s*\[#\d+\])|\bOops\b.*\bPREEMPT\b/ },
  { kind: 'bug', re: /\bBUG: |kernel BUG at / },
  { kind: 'warning', re: /\bWARNING: (?:CPU: \d+ PID: \d+|at )/ },
  { kind: 'hung-task', re: /INFO: task .* blocked for more than \d+ seconds/ },
  { kind: 'lockdep', re: /WARNING: possible (?:circular|recursive) locking|INFO: possible irq lock inversion|WARNING: inconsistent lock state/ },
  { kind: 'kasan', re: /BUG: KASAN: / },
];

/** Strips the "[    1.234567] " printk timestamp and any carriage returns. */
function clean(line: string): string {
  return line.replace(/\r/g, '');
}

export function scanConsole(text: string, startLine = 0): Finding[] {
  const findings: Finding[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = clean(lines[i]!);
    for (const rule of RULES) {
      if (rule.re.test(line)) {
        // KASAN and lockdep are more specific than bug/warning: keep one finding per line.
        const prior = findings.findIndex((f) => f.line === startLine + i);
        if (prior >= 0) findings[prior] = { kind: rule.kind, line: startLine + i, text: line.trim() };
        else findings.push({ kind: rule.kind, line: startLine + i, text: line.trim() });
      }
    }
  }
  return findings;
}

export function isFatal(f: Finding): boolean {
  return f.kind === 'panic';
}

/** The lines around a finding (or the tail of the log), for error messages and reports. */
export function excerpt(text: string, aroundLine?: number, before = 10, after = 40): string {
  const lines = text.replace(/\r/g, '').split('\n');
  if (aroundLine === undefined) return lines.slice(-before - after).join('\n');
  return lines.slice(Math.max(0, aroundLine - before), aroundLine + after).join('\n');
}
