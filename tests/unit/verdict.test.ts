import { describe, expect, it } from 'vitest';
import { BootError, BootTimeoutError, InfraError, NodeGoneError } from '../../harness/errors.ts';
import { BootPanicError, KernelFailure, NodeHangError, verdictOf } from '../../harness/verdict/verdict.ts';

const report = { kind: 'kasan' as const, title: 'KASAN: use-after-free Read in f', startLine: 0, endLine: 1, text: 'BUG: KASAN: use-after-free in f', fatal: false };

/** What vitest hands the reporter: the error as a plain object (its class is lost). */
function serialized(e: Error): Record<string, unknown> {
  return { name: e.name, message: e.message, stack: e.stack };
}

describe('verdicts', () => {
  const failed: [string, Error][] = [
    ['a kernel report while a test ran', new KernelFailure('kernel report', [{ node: 'node1', report }])],
    ['a kernel panic at boot', new BootPanicError('node1', 'Kernel panic - not syncing: x', [{ node: 'node1', report }])],
    ['a hung guest', new NodeHangError('node1 hung', [])],
  ];
  const broken: [string, Error][] = [
    ['a host-side lab error', new InfraError('qemu would not start')],
    ['a node whose QEMU is gone (no kernel report)', new NodeGoneError('node1', 'QEMU killed by SIGKILL')],
    ['a boot deadline', new BootTimeoutError('node1: not ready', 'node1', '')],
    ['QEMU exiting before the guest was ready', new BootError('node1: QEMU exited with code 1', 'node1', '')],
  ];

  it.each(failed)('%s is failed, also once vitest serialized it', (_, e) => {
    expect(verdictOf(e)).toBe('failed');
    expect(verdictOf(serialized(e))).toBe('failed');
  });

  it.each(broken)('%s is broken, also once vitest serialized it', (_, e) => {
    expect(verdictOf(e)).toBe('broken');
    expect(verdictOf(serialized(e))).toBe('broken');
  });

  it('an assertion of a test is failed', () => {
    let err: unknown;
    try {
      expect(1).toBe(2);
    } catch (e) {
      err = e;
    }
    expect(verdictOf(err)).toBe('failed');
  });

  it('a kernel failure keeps what the test saw as its cause', () => {
    const cause = new NodeGoneError('node1', 'guest kernel panicked (pvpanic: QEMU exited with status 1)');
    const f = new KernelFailure('kernel report while the test ran: node1: kernel panic', [{ node: 'node1', report }], { cause });
    expect(f.cause).toBe(cause);
    expect(f.reports[0]!.report.kind).toBe('kasan');
  });
});
