/** A TAP (Test Anything Protocol) reader for the C test programs' output. */
export interface TapResult {
  ok: boolean;
  number: number;
  description: string;
  directive?: 'skip' | 'todo';
  reason?: string;
  diagnostics: string[];
}

export interface TapReport {
  planned?: number;
  results: TapResult[];
  bailOut?: string;
  /** Lines that are neither TAP nor diagnostics (program noise, crash messages). */
  other: string[];
}

// The description may itself contain '#' (a file:line note); only "# SKIP" / "# TODO" are directives.
const RESULT = /^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*?)(?:\s*#\s*(SKIP|TODO)\b\s*(.*))?$/i;

export function parseTap(text: string): TapReport {
  const report: TapReport = { results: [], other: [] };
  let last: TapResult | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const plan = line.match(/^1\.\.(\d+)/);
    if (plan) {
      report.planned = Number(plan[1]);
      continue;
    }
    const bail = line.match(/^Bail out!\s*(.*)$/);
    if (bail) {
      report.bailOut = bail[1] || 'bailed out';
      continue;
    }
    const m = line.match(RESULT);
    if (m) {
      last = {
        ok: m[1]!.toLowerCase() === 'ok',
        number: m[2] ? Number(m[2]) : report.results.length + 1,
        description: m[3]!.trim(),
        directive: m[4] ? (m[4].toLowerCase() as 'skip' | 'todo') : undefined,
        reason: m[5]?.trim() || undefined,
        diagnostics: [],
      };
      report.results.push(last);
      continue;
    }
    if (line.startsWith('#')) {
      if (last) last.diagnostics.push(line.slice(1).trim());
      continue;
    }
    report.other.push(line);
  }
  return report;
}

/** Why a TAP run is not a pass, or undefined when it is one. */
export function tapProblems(r: TapReport): string[] {
  const problems: string[] = [];
  if (r.bailOut) problems.push(`bailed out: ${r.bailOut}`);
  if (r.planned === undefined) problems.push('no plan line (1..N): the program did not finish');
  else if (r.planned !== r.results.length) problems.push(`planned ${r.planned} tests, ran ${r.results.length}`);
  for (const t of r.results) {
    if (!t.ok && t.directive !== 'todo') problems.push(`not ok ${t.number} - ${t.description}${t.diagnostics.length ? ` (${t.diagnostics.join('; ')})` : ''}`);
    if (t.directive === 'skip') problems.push(`skipped ${t.number} - ${t.description}: ${t.reason ?? ''}`);
  }
  return problems;
}
