import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { generateReport, writeAllureConfig } from '../nightly/allure.ts';
import { repoRoot } from '../paths.ts';

/**
 * The report of a run on this clone (`make lab`, `m3lab report`), made the way
 * the nightly makes its own: the lab's failure categories, and history kept in
 * the results area (reports/allure-history.jsonl) so each report shows the runs
 * before it. One index.html with its data inside: it opens from a file, and a
 * copy of it (a CI artifact) is the whole report.
 */
export const localReportDir = () => path.join(repoRoot, 'allure-report');
export const localHistory = () => path.join(repoRoot, 'reports', 'allure-history.jsonl');

export function generateLocalReport(results: string, name = 'm3lab'): Promise<number> {
  const reports = path.join(repoRoot, 'reports');
  mkdirSync(reports, { recursive: true });
  const config = writeAllureConfig(reports, { name, historyPath: localHistory(), historyLimit: 30, output: localReportDir(), singleFile: true });
  return generateReport(results, config);
}
