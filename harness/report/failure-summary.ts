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

export default class FailureSummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
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
