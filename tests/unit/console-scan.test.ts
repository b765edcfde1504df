import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { excerpt, scanConsole } from '../../harness/console/scan.ts';
import { findReports } from '../../harness/console/kernel-reports.ts';

// Real serial logs captured from the lab's own guests (6.1.0-50-cloud-amd64 under TCG).
const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, '..', 'fixtures', name), 'utf8');

describe('console scanning on captured boot logs', () => {
  it('finds nothing in a clean verbose boot (which mentions "report a bug")', () => {
    const text = fixture('console-clean.log');
    expect(text).toContain('M3LAB-READY node1');
    expect(text).toContain('report a bug');
    expect(scanConsole(text)).toEqual([]);
  });

  it('finds the panic of a failed init, with its line', () => {
    const text = fixture('console-panic.log');
    const found = scanConsole(text);
    expect(found.map((f) => f.kind)).toEqual(['panic']);
    expect(found[0]!.text).toContain('Attempted to kill init');
    expect(excerpt(text, found[0]!.line, 1, 2)).toContain('/nonexistent');
  });

  it('finds the NULL dereference in a module as one Oops report (BUG line, page-fault lines and Oops together)', () => {
    const found = scanConsole(fixture('console-oops.log'));
    expect(found.map((f) => f.kind)).toEqual(['oops']);
    expect(found[0]!.text).toBe('BUG: kernel NULL pointer dereference in oops_init');
    const report = findReports(fixture('console-oops.log'))[0]!;
    expect(report.text).toMatch(/Oops: 0002 \[#1\]/);
    expect(report.text).toMatch(/---\[ end trace [0-9a-f]+ \]---/);
  });

  it('classifies headers of kinds not captured from the lab yet (hung task, RCU stall, hard lockup, bad page, leak)', () => {
    // Header lines as 6.1 prints them; each followed by an unrelated line.
    const cases: [string, string][] = [
      ['INFO: task m3test:77 blocked for more than 120 seconds.', 'hung-task'],
      ['rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:', 'rcu-stall'],
      ['rcu: INFO: rcu_preempt self-detected stall on CPU', 'rcu-stall'],
      ['Watchdog detected hard LOCKUP on cpu 1', 'hard-lockup'],
      ['BUG: Bad page state in process t_stress  pfn:12345', 'bad-page'],
      ['unreferenced object 0xffff888003a4b200 (size 64):', 'memory-leak'],
      ['BUG: unable to handle page fault for address: ffffc90000a3f000', 'oops'],
      ['BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!', 'bug'],
    ];
    for (const [header, kind] of cases) {
      const text = `[    1.0] m3lab-init: before\n[    2.0] ${header}\nM3LAB-READY node1\n`;
      expect({ header, kinds: scanConsole(text).map((f) => f.kind) }).toEqual({ header, kinds: [kind] });
    }
  });
});
