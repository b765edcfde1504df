import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure TypeScript logic, seconds) and `lab` (real QEMU guests,
 * one lab per suite file, files one after another: the host has 2 cores).
 * Both report to the console, JUnit XML (reports/junit.xml) and Allure (allure-results/).
 */
export default defineConfig({
  test: {
    teardownTimeout: 60_000,
    reporters: [
      'default',
      ['junit', { outputFile: 'reports/junit.xml' }],
      ['allure-vitest/reporter', { resultsDir: 'allure-results' }],
    ],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          setupFiles: ['allure-vitest/setup'],
        },
      },
      {
        test: {
          name: 'lab',
          include: ['suites/**/*.test.ts'],
          setupFiles: ['allure-vitest/setup'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 5 * 60_000,
          hookTimeout: 10 * 60_000,
        },
      },
    ],
  },
});
