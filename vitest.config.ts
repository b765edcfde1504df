import { defineConfig } from 'vitest/config';

const labTest = {
  setupFiles: ['allure-vitest/setup'],
  pool: 'forks' as const,
  fileParallelism: false,
  testTimeout: 5 * 60_000,
  hookTimeout: 10 * 60_000,
};

/**
 * `unit` (pure TypeScript logic, seconds) and the lab projects (real QEMU guests,
 * one lab per suite file, files one after another: the host has 2 cores). The
 * lab projects run the suites on each kernel variant and single-CPU boot, one
 * project after another (groupOrder). Kernels are built before vitest starts
 * (`make test` does), so a suite's boot never waits for a kernel build.
 * All report to the console, JUnit XML (reports/junit.xml) and Allure (allure-results/).
 */
export default defineConfig({
  test: {
    teardownTimeout: 60_000,
    reporters: [
      'default',
      ['junit', { outputFile: 'reports/junit.xml' }],
      ['allure-vitest/reporter', { resultsDir: 'allure-results' }],
      // Last: what failed and why, where a log's tail shows it.
      './harness/report/failure-summary.ts',
    ],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          setupFiles: ['allure-vitest/setup'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        // The default Debian kernel; `m3lab run --kernel V` points it at another.
        test: { ...labTest, name: 'lab', include: ['suites/**/*.test.ts'], exclude: ['suites/verdicts.test.ts', 'suites/fuzz.test.ts', 'suites/perf-verdicts.test.ts'], sequence: { groupOrder: 1 } },
      },
      {
        test: { ...labTest, name: 'lab-debug', include: ['suites/ipc-local.test.ts', 'suites/ipc-remote.test.ts'], env: { M3LAB_KERNEL: 'debug' }, sequence: { groupOrder: 2 } },
      },
      {
        test: { ...labTest, name: 'lab-up', include: ['suites/ipc-local.test.ts'], env: { M3LAB_KERNEL: 'up' }, sequence: { groupOrder: 3 } },
      },
      {
        // Single-CPU boots of a 2-vCPU machine, one lab: a node booted with nosmp, one with maxcpus=1.
        // Booted cold (M3LAB_COLD): every other lab starts from snapshots, so this one keeps boot itself tested,
        // in make test and every night.
        test: { ...labTest, name: 'lab-1cpu', include: ['suites/ipc-local.test.ts'], env: { M3LAB_NODE_APPENDS: 'nosmp|maxcpus=1', M3LAB_COLD: '1' }, sequence: { groupOrder: 4 } },
      },
      {
        // The ioctl fuzzer (kmod/tests/m3fuzz.c), a short run on the debug kernel: any KASAN/lockdep report fails it.
        // The nightly runs it long on the debug and up kernels (M3LAB_FUZZ_KERNEL, M3LAB_FUZZ_SECONDS).
        test: { ...labTest, name: 'lab-fuzz', include: ['suites/fuzz.test.ts'], env: { M3LAB_KERNEL: process.env.M3LAB_FUZZ_KERNEL || 'debug' }, sequence: { groupOrder: 5 } },
      },
      {
        // The nightly's performance verdicts on a real guest: a host busy loop is no regression, a planted sendrec delay is
        // (regressions are called against two reference nights at least; ~45 s under TCG).
        test: { ...labTest, name: 'perf-verdicts', include: ['suites/perf-verdicts.test.ts'], sequence: { groupOrder: 7 } },
      },
      {
        // The lab's own honesty: purpose-made failures judged in nested runs (needs the debug kernel).
        test: { ...labTest, name: 'verdicts', include: ['suites/verdicts.test.ts'], sequence: { groupOrder: 6 } },
      },
    ],
  },
});
