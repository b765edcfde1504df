import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findReports, stripLine } from '../../harness/console/kernel-reports.ts';

/**
 * Real consoles captured from this lab (suites/verdicts.test.ts bundles): the
 * debug kernel (6.1.176-m3lab-debug) running the canary module's bugs one after
 * another, and Debian's cloud kernel crashed through sysrq.
 */
const fixture = (f: string) => readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'captured', f), 'utf8');
const strip = (l: string) => stripLine(l).trimEnd();

describe('kernel reports in consoles captured from the lab', () => {
  const debug = fixture('debug-6.1-canary.console.log');
  const reports = findReports(debug);

  it('finds every report the canary caused on the debug kernel, in order', () => {
    expect(reports.map((r) => r.kind)).toEqual(['lockdep', 'atomic-sleep', 'atomic-sleep', 'warning', 'atomic-sleep', 'warning', 'ubsan', 'list-corruption', 'kasan']);
    expect(reports.every((r) => !r.fatal)).toBe(true);
  });

  it('takes each report whole: from its separator or cut-here line to its end marker', () => {
    const lines = debug.split('\n');
    const byKind = (k: string) => reports.filter((r) => r.kind === k);
    const kasan = byKind('kasan')[0]!;
    expect(strip(lines[kasan.startLine]!)).toMatch(/^={60,}$/);
    expect(strip(lines[kasan.startLine + 1]!)).toMatch(/^BUG: KASAN: use-after-free in canary_uaf/);
    expect(strip(lines[kasan.endLine]!)).toMatch(/^={60,}$/);
    expect(kasan.text).toContain('Freed by task');
    const ubsan = byKind('ubsan')[0]!;
    expect(strip(lines[ubsan.startLine]!)).toMatch(/^={70,}$/);
    expect(strip(lines[ubsan.endLine]!)).toMatch(/^={70,}$/);
    // The line the module printed after the report is not part of it.
    expect(ubsan.text).not.toContain('m3canary: shift gave');
    const list = byKind('list-corruption')[0]!;
    expect(strip(lines[list.startLine]!)).toBe('------------[ cut here ]------------');
    expect(strip(lines[list.endLine]!)).toMatch(/^---\[ end trace [0-9a-f]+ \]---$/);
    const canaryWarn = byKind('warning').find((r) => r.text.includes('m3canary.c:'))!;
    expect(canaryWarn.text).toContain('canary_write');
    expect(strip(lines[canaryWarn.endLine]!)).toMatch(/^---\[ end trace/);
    const lockdep = byKind('lockdep')[0]!;
    expect(strip(lines[lockdep.startLine]!)).toMatch(/^={40,}$/);
    expect(lockdep.text).toContain('WARNING: possible circular locking dependency detected');
    expect(lockdep.text).toContain('canary_ba');
    expect(lockdep.text).toContain('stack backtrace:');
    expect(lockdep.text).toContain('Possible unsafe locking scenario');
    expect(strip(lines[lockdep.endLine]!)).toMatch(/<\/TASK>$/);
    expect(lockdep.text).not.toContain('BUG: scheduling while atomic');
  });

  it('gives each report a one-line title that names the culprit', () => {
    expect(reports.find((r) => r.kind === 'kasan')!.title).toMatch(/use-after-free.*canary_uaf/);
    expect(reports.find((r) => r.kind === 'ubsan')!.title).toMatch(/shift-out-of-bounds/);
    for (const r of reports) expect(r.title).not.toContain('\n');
  });

  it('finds the sysrq panic of the cloud kernel as one fatal report with its trace', () => {
    const panic = findReports(fixture('default-6.1-sysrq-panic.console.log'));
    expect(panic.map((r) => [r.kind, r.fatal])).toEqual([['panic', true]]);
    expect(panic[0]!.text).toContain('Kernel panic - not syncing: sysrq triggered crash');
    expect(panic[0]!.text).toContain('sysrq_handle_crash');
    expect(panic[0]!.text.trim().split('\n').pop()).toMatch(/<\/TASK>$/);
  });
});

describe('more kernel reports captured from the debug kernel', () => {
  const more = fixture('debug-6.1-canary-more.console.log');
  const lines = more.split('\n');
  const reports = findReports(more);

  it('finds KFENCE, refcount, soft lockup, two general protection faults and a kernel BUG', () => {
    expect(reports.map((r) => r.kind)).toEqual(['kfence', 'refcount', 'soft-lockup', 'gpf', 'gpf', 'kernel-bug']);
    expect(reports.map((r) => r.title)).toEqual([
      'KFENCE: use-after-free read in canary_kfence',
      'refcount bug (decrement hit 0; leaking memory) in canary_refcount',
      'soft lockup in canary_write',
      'general protection fault in canary_deref',
      'general protection fault in canary_deref',
      expect.stringMatching(/^kernel BUG at \S*m3canary\.c:\d+$/),
    ]);
  });

  it('ends each report where the kernel ended it, and no later', () => {
    const [kfence, refcount, soft, gpf] = reports;
    expect(strip(lines[kfence!.endLine]!)).toMatch(/^={60,}$/);
    expect(strip(lines[refcount!.endLine]!)).toMatch(/^---\[ end trace/);
    // The soft lockup has no end marker: its trace ends it, not the clocksource line after it.
    expect(strip(lines[soft!.endLine]!)).toMatch(/<\/TASK>$/);
    expect(soft!.text).not.toContain('clocksource');
    // An Oops repeats its registers after the end marker; they are part of it.
    expect(gpf!.text).toMatch(/---\[ end trace [0-9a-f]+ \]---[\s\S]*PKRU/);
    expect(gpf!.text).toContain('KASAN: null-ptr-deref in range');
  });
});

describe('a hung task captured from the debug kernel', () => {
  const text = fixture('debug-6.1-hung-task.console.log');
  const lines = text.split('\n');

  it('finds each report of the 20 s detector, ending with the lock listing it printed', () => {
    const reports = findReports(text);
    expect(reports.map((r) => [r.kind, r.title])).toEqual([
      ['hung-task', 'task hung: sh'],
      ['hung-task', 'task hung: sh'],
    ]);
    for (const r of reports) {
      expect(r.text).toContain('Showing all locks held in the system:');
      expect(strip(lines[r.endLine]!)).toMatch(/^={40,}$/);
    }
  });
});
