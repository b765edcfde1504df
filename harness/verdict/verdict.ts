import { Status } from 'allure-js-commons';
import { getStatusFromError } from 'allure-js-commons/sdk';
import type { KernelReport } from '../console/kernel-reports.ts';

/**
 * The lab's verdicts, after syzkaller's split between kernel bugs and
 * infrastructure errors:
 * - failed: the system under test misbehaved — an assertion, or a kernel report,
 *   panic or hang on a node while the test ran (or while it booted);
 * - broken: the host side failed — QEMU would not start, SSH was lost while the
 *   guest kernel was healthy, a host timeout.
 * Nothing becomes "skipped".
 */
export type Verdict = 'failed' | 'broken';

/**
 * A kernel in trouble while a test ran: what the test itself saw (often a lost
 * node) is kept as the cause. Named as an assertion error because Allure and
 * vitest class assertion errors as "failed" and everything else as "broken".
 */
export class KernelFailure extends Error {
  override name = 'KernelAssertionError';
  readonly code = 'M3LAB_KERNEL_FAILURE';
  constructor(
    message: string,
    readonly reports: { node: string; report: KernelReport }[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A node's machine runs but its kernel answers nothing: a hang, the module's fault. */
export class NodeHangError extends KernelFailure {
  override name = 'KernelAssertionError';
}

/**
 * A kernel panic, or any kernel report, while a node booted: a kernel bug, so
 * failed, not broken (the lab itself did its part).
 */
export class BootPanicError extends KernelFailure {
  constructor(
    readonly node: string,
    readonly consoleExcerpt: string,
    reports: { node: string; report: KernelReport }[],
    what = 'kernel panic during boot',
  ) {
    super(`${node}: ${what}: ${describeReports(reports)}\n--- console of ${node} ---\n${consoleExcerpt}`, reports);
  }
}

/** The verdict Allure will give a test that ends with this error (the same rule, not a copy of it). */
export function verdictOf(err: unknown): Verdict {
  return getStatusFromError(err as Error) === Status.FAILED ? 'failed' : 'broken';
}

/** One line naming each report, for the failure message. */
export function describeReports(reports: { node: string; report: KernelReport }[]): string {
  return reports.map((r) => `${r.node}: ${r.report.title}`).join('; ');
}
