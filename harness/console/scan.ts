import { findReports, type ReportKind } from './kernel-reports.ts';

/**
 * Console scanning for callers that want one line per kernel report (the lab
 * suite's "no console shows a report" check): a thin view of the report table
 * in harness/console/kernel-reports.ts.
 */
export type FindingKind = ReportKind;

export interface Finding {
  kind: FindingKind;
  /** Line of the report's header (its first line when it has a separator). */
  line: number;
  /** The report's title. */
  text: string;
}

export function scanConsole(text: string, startLine = 0): Finding[] {
  return findReports(text, startLine).map((r) => ({ kind: r.kind, line: r.startLine, text: r.title }));
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
