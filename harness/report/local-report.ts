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
export const localReportDir = (dir?: string) => (dir ? path.join(dir, 'allure-report') : path.join(repoRoot, 'allure-report'));
export const localHistory = (dir?: string) => path.join(dir ?? path.join(repoRoot, 'reports'), 'allure-history.jsonl');

/**
 * O.dir, when given, takes the clone's place: its config, history and report
 * (O.dir/allure-report/index.html) go there, as a test's report of fixture
 * results must, never into the clone's own history. O.timeoutMs bounds
 * `allure generate` (a test's bound); a run past it fails.
 */
export function generateLocalReport(results: string, name = 'm3lab', o: { dir?: string; timeoutMs?: number } = {}): Promise<number> {
  const reports = o.dir ?? path.join(repoRoot, 'reports');
  mkdirSync(reports, { recursive: true });
  const config = writeAllureConfig(reports, { name, historyPath: localHistory(o.dir), historyLimit: 30, output: localReportDir(o.dir), singleFile: true });
  return generateReport(results, config, o.timeoutMs);
}
