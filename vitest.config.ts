import { defineConfig } from 'vitest/config';

const labTest = {
  setupFiles: ['allure-vitest/setup'],
  pool: 'forks' as const,
  fileParallelism: false,
  testTimeout: 5 * 60_000,
  hookTimeout: 10 * 60_000,
};

/** The lab-1cpu project's nodes (lab-file node entries). */
const ONE_CPU_NODES = [
  { cpus: 1, kernel: 'up' },
  { cpus: 2, kernel: 'up' },
  { cpus: 2, append: 'nosmp' },
  { cpus: 2, append: 'maxcpus=1' },
];

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
          // Some build C with the host's gcc (compat census, reproducers): seconds on a quiet host, more beside a lab.
          testTimeout: 60_000,
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
        // Remote IPC with the proxies carrying every frame (m3proxy --data-path user), the path before issue 22's
        // kernel data path, which every other project uses; a node on either path talks to one on the other.
        test: { ...labTest, name: 'lab-user-path', include: ['suites/ipc-remote.test.ts'], env: { M3LAB_DATA_PATH: 'user' }, sequence: { groupOrder: 3 } },
      },
      {
        // Every single-CPU setup in one lab: the uniprocessor kernel (a 1-vCPU and a 2-vCPU guest: one possible
        // CPU whatever QEMU offers) and 2-vCPU guests of the default kernel booted with nosmp and with maxcpus=1.
        // Booted cold (M3LAB_COLD): every other lab starts from snapshots, so this one keeps boot itself tested,
        // in make test and every night.
        test: { ...labTest, name: 'lab-1cpu', include: ['suites/ipc-local.test.ts'], env: { M3LAB_NODES: JSON.stringify(ONE_CPU_NODES), M3LAB_COLD: '1' }, sequence: { groupOrder: 4 } },
      },
      {
        // The ioctl fuzzer (kmod/tests/m3fuzz.c), a short run on the debug kernel: any KASAN/lockdep report fails it.
        // The nightly runs it long on the debug and up kernels (M3LAB_FUZZ_KERNEL, M3LAB_FUZZ_SECONDS).
        test: { ...labTest, name: 'lab-fuzz', include: ['suites/fuzz.test.ts'], env: { M3LAB_KERNEL: process.env.M3LAB_FUZZ_KERNEL || 'debug' }, sequence: { groupOrder: 5 } },
      },
      {
        // The nightly's performance verdicts on a real guest: a host busy loop is no regression, a planted sendrec delay is
        // (regressions are called against two reference nights at least; ~70 s under TCG).
        test: { ...labTest, name: 'perf-verdicts', include: ['suites/perf-verdicts.test.ts'], sequence: { groupOrder: 7 } },
      },
      {
        // Runs that outgrow one host (docs/shards.md): a 2-shard night through a one-host Slurm cluster the test
        // brings up and stops, and `m3lab bisect` finding a planted regression in a throwaway copy of the module.
        test: { ...labTest, name: 'lab-shards', include: ['tests/lab/**/*.test.ts'], sequence: { groupOrder: 8 } },
      },
      {
        // The lab's own honesty: purpose-made failures judged in nested runs (needs the debug kernel).
        test: { ...labTest, name: 'verdicts', include: ['suites/verdicts.test.ts'], sequence: { groupOrder: 6 } },
      },
    ],
  },
});
