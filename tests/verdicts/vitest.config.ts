import { defineConfig } from 'vitest/config';

/**
 * Suites that fail on purpose, to prove the lab's verdicts: run only by
 * suites/verdicts.test.ts (never by `make test` directly), each in a nested
 * vitest whose Allure results go to M3LAB_ALLURE_RESULTS.
 */
export default defineConfig({
  test: {
    // The real suites: run under a host overload by the verdicts suite (M3LAB_OVERLOAD_SUITES).
    include: ['tests/verdicts/*.suite.ts', 'tests/canary/*.suite.ts', 'suites/ipc-local.test.ts', 'suites/ipc-remote.test.ts', 'suites/faults.test.ts'],
    setupFiles: ['allure-vitest/setup'],
    reporters: ['default', ['allure-vitest/reporter', { resultsDir: process.env.M3LAB_ALLURE_RESULTS ?? 'allure-results-verdicts' }]],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 5 * 60_000,
    hookTimeout: 10 * 60_000,
  },
});
