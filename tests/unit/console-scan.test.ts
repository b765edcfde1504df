import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { excerpt, scanConsole } from '../../harness/console/scan.ts';

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

  it('finds the BUG and the Oops of a NULL dereference in a module', () => {
    const found = scanConsole(fixture('console-oops.log'));
    expect(found.map((f) => f.kind)).toEqual(['bug', 'oops']);
    expect(found[0]!.text).toContain('BUG: kernel NULL pointer dereference');
    expect(found[1]!.text).toMatch(/Oops: 0002 \[#1\]/);
  });

  it('classifies WARNING, hung task, lockdep and KASAN lines', () => {
    const text = [
      '[    1.0] WARNING: CPU: 1 PID: 42 at kmod/ipc.c:10 m3_send+0x1/0x2 [m3ipc]',
      '[    2.0] INFO: task m3test:77 blocked for more than 120 seconds.',
      '[    3.0] WARNING: possible circular locking dependency detected',
      '[    4.0] BUG: KASAN: use-after-free in m3_receive+0x10/0x20 [m3ipc]',
    ].join('\n');
    expect(scanConsole(text).map((f) => f.kind)).toEqual(['warning', 'hung-task', 'lockdep', 'kasan']);
  });
});
