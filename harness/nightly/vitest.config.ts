import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.ts';
import { repoRoot } from '../paths.ts';

/**
 * The repository's vitest projects, reporting into the night's folder instead
 * of the clone's allure-results/ and reports/junit.xml (`m3lab nightly` sets
 * M3LAB_ALLURE_RESULTS and M3LAB_NIGHTLY_JUNIT; the suites write their lab
 * facts to the same M3LAB_ALLURE_RESULTS). Everything else is vitest.config.ts.
 */
export default defineConfig({
  ...base,
  root: repoRoot,
  test: {
    ...base.test,
    reporters: [
      'default',
      ['junit', { outputFile: process.env.M3LAB_NIGHTLY_JUNIT ?? 'reports/junit.xml' }],
      ['allure-vitest/reporter', { resultsDir: process.env.M3LAB_ALLURE_RESULTS ?? 'allure-results' }],
    ],
  },
});
