import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BootTimeoutError } from '../../harness/errors.ts';
import { QemuTarget, lastUptime } from '../../harness/qemu/qemu-target.ts';

// The debug kernel's console where a CI run's template boot stopped (node2, 2 vCPUs),
// and the same kernel past its first second in a healthy boot.
const LOCKDEP = [
  '[    0.519262] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar',
  '[    0.520671] ... MAX_LOCKDEP_SUBCLASSES:  8',
  '[    0.522001]  memory used by lock dependency info: 6365 kB',
  '[    0.522217]  memory used for stack traces: 4224 kB',
  '[    0.522431]  per task-struct memory footprint: 1920 bytes',
];
const STALLED = LOCKDEP.join('\n') + '\n';
const PAST_FIRST_SECOND = STALLED + '[    1.868302] mtrr: your CPUs had inconsistent fixed MTRR settings\n[    2.731783] acpi PNP0A03:00: fail to add MMCONFIG information\n';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A target whose console file the test writes; no QEMU is started (waitBooted reads only the console). */
function targetWithConsole(text: string): QemuTarget {
  dir = mkdtempSync(path.join(os.tmpdir(), 'm3lab-stall-'));
  writeFileSync(path.join(dir, 'console.log'), text);
  return new QemuTarget({ name: 'node2', index: 2, dir, kernel: '', initrd: '', cpus: 2, maxcpus: 2, memoryMb: 1024, append: '', accel: 'tcg', sshPort: 1, lanAddress: '', lanPrefix: 24, privateKey: '' });
}

async function timed(p: Promise<unknown>): Promise<{ ms: number; error?: Error }> {
  const t0 = Date.now();
  try {
    await p;
    return { ms: Date.now() - t0 };
  } catch (e) {
    return { ms: Date.now() - t0, error: e as Error };
  }
}

describe('boot stall guard (waitBooted)', () => {
  it('reads the uptime of the last timestamped console line', () => {
    expect(lastUptime(STALLED)).toBeCloseTo(0.522431, 6);
    expect(lastUptime(PAST_FIRST_SECOND)).toBeCloseTo(2.731783, 6);
    expect(lastUptime('SeaBIOS (version 1.16.2)\n')).toBeUndefined();
  });

  it('a console stopped in the kernel\'s first second ends the wait at the early bound, naming the stall', async () => {
    const t = targetWithConsole(STALLED);
    const r = await timed(t.waitBooted(Date.now() + 20_000, { silentMs: 10_000, earlyMs: 400 }));
    expect(r.error).toBeInstanceOf(BootTimeoutError);
    expect(r.error!.message).toMatch(/node2: kernel stalled in its first second of uptime \(console silent at \[0\.522431\]/);
    expect(r.ms).toBeLessThan(5_000);
  });

  it('negative control: a kernel past its first second gets the whole silence bound, not the early one', async () => {
    const t = targetWithConsole(PAST_FIRST_SECOND);
    const r = await timed(t.waitBooted(Date.now() + 20_000, { silentMs: 1_500, earlyMs: 300 }));
    expect(r.error).toBeInstanceOf(BootTimeoutError);
    expect(r.error!.message).toMatch(/node2: console silent for \d+ s before the guest was ready/);
    expect(r.ms).toBeGreaterThanOrEqual(1_500);
  });

  it('negative control: without a guard the same stalled console waits for the deadline', async () => {
    const t = targetWithConsole(STALLED);
    const r = await timed(t.waitBooted(Date.now() + 1_200));
    expect(r.error!.message).toMatch(/node2: not ready before the boot deadline/);
    expect(r.ms).toBeGreaterThanOrEqual(1_200);
  });

  it('a console that reached the ready marker is ready, guard or not', async () => {
    const t = targetWithConsole(STALLED + 'M3LAB-READY node2\n');
    const r = await timed(t.waitBooted(Date.now() + 5_000, { silentMs: 100, earlyMs: 100 }));
    expect(r.error).toBeUndefined();
  });
});
