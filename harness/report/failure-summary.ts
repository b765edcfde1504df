import type { Reporter, TestModule } from 'vitest/node';

/**
 * The last lines of a run name what failed and why. The default reporter
 * prints each error above its annotations (a failed lab test carries a dozen:
 * kernel, vCPUs, QEMU of every node, the bundle), so whoever sees only the
 * end of a CI log saw the facts and never the reason. This reporter repeats,
 * after everything else, each failed test with its error's first lines and
 * its evidence bundle.
 */
export const SUMMARY_LINES = 12;

const stripAnsi = (t: string) => t.replace(/\x1b\[[0-9;]*m/g, '');

export interface FailedTest {
  name: string;
  file: string;
  message: string;
  bundle?: string;
}

export function failureSummary(failed: FailedTest[]): string {
  if (failed.length === 0) return '';
  const out = [`${failed.length} failed:`];
  for (const f of failed) {
    out.push(`- ${f.file} > ${f.name}`);
    const lines = f.message.split('\n').filter((l) => l.trim());
    for (const l of lines.slice(0, SUMMARY_LINES)) out.push(`    ${l.length > 300 ? `${l.slice(0, 300)}...` : l}`);
    if (lines.length > SUMMARY_LINES) out.push(`    (${lines.length - SUMMARY_LINES} more lines)`);
    if (f.bundle) out.push(`    evidence: ${f.bundle}`);
  }
  return out.join('\n');
}

export interface SuiteTime {
  project: string;
  file: string;
  passed: number;
  failed: number;
  other: number;
  seconds: number;
  /** Seconds from the suite's start until its lab was up and set up (lab suites). */
  labSetupSeconds?: number;
}

/** One line per suite file: its wall time and how much of it was the lab's boot and setup. */
export function timeTable(rows: SuiteTime[]): string {
  if (rows.length === 0) return '';
  const total = rows.reduce((a, r) => a + r.seconds, 0);
  const out = ['time per suite (wall s, of which lab boot + setup s):'];
  for (const r of rows) {
    const setup = r.labSetupSeconds !== undefined ? `${r.labSetupSeconds.toFixed(0)}`.padStart(5) : '    -';
    out.push(`  ${r.project.padEnd(14)} ${r.file.padEnd(34)} ${r.seconds.toFixed(0).padStart(5)} ${setup}   ${r.passed} passed${r.failed ? `, ${r.failed} failed` : ''}${r.other ? `, ${r.other} other` : ''}`);
  }
  out.push(`  ${'all'.padEnd(14)} ${''.padEnd(34)} ${total.toFixed(0).padStart(5)}`);
  return out.join('\n');
}

export default class FailureSummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const times: SuiteTime[] = [];
    for (const m of modules) {
      const tests = [...m.children.allTests()];
      const setup = tests.flatMap((t) => t.annotations()).find((a) => a.type === 'lab setup s')?.message;
      times.push({
        project: m.project.name || '-',
        file: m.relativeModuleId,
        passed: tests.filter((t) => t.result().state === 'passed').length,
        failed: tests.filter((t) => t.result().state === 'failed').length,
        other: tests.filter((t) => !['passed', 'failed'].includes(t.result().state)).length,
        seconds: m.diagnostic().duration / 1000,
        labSetupSeconds: setup !== undefined ? Number(setup) : undefined,
      });
    }
    process.stdout.write(`\n${timeTable(times)}\n`);
    const failed: FailedTest[] = [];
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state !== 'failed') continue;
        failed.push({
          name: t.fullName,
          file: m.relativeModuleId,
          // An assertion's message elides the values ("expected [ …(2) ] to deeply equal []"); its diff has them.
          message: r.errors.map((e) => [e.message, e.diff ? stripAnsi(e.diff) : ''].filter(Boolean).join('\n')).join('\n') || '(no message)',
          bundle: t.annotations().find((a) => a.type === 'bundle')?.message,
        });
      }
      // A file that failed outside its tests (a hook, an import) has no failed test to show it.
      for (const e of m.errors()) failed.push({ name: '(the file itself)', file: m.relativeModuleId, message: e.message });
    }
    const text = failureSummary(failed);
    if (text) process.stdout.write(`\n${text}\n`);
  }
}
