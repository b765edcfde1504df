import type { KernelVariant } from '../image/kernel/variants.ts';

/**
 * What one night runs. Pure data, decided from the command line alone, so the
 * plan is printed (and stored with the night) before anything boots.
 */

/** One vitest invocation: a project of vitest.config.ts and, optionally, some of its files. */
export interface SuiteRun {
  project: string;
  /** Suite files (repository-relative); empty: every file of the project. */
  files: string[];
  /** Kernel variant the project boots (for the environment and the build step). */
  kernel: KernelVariant;
  /** Other kernels some of its nodes boot (M3LAB_NODES): built too. */
  nodeKernels?: KernelVariant[];
  /** Environment of this run only (e.g. the fuzz's length and kernel), on top of the night's. */
  env?: Record<string, string>;
  /** Tells apart two runs of one project (its JUnit file and log line). */
  label?: string;
}

export interface BenchLocalPlan {
  kernels: KernelVariant[];
  cpus: number[];
  repeat: number;
  msgIters: number;
}

export interface BenchRemotePlan {
  kernel: KernelVariant;
  repeat: number;
  iters: number;
}

export interface NightPlan {
  mode: 'quick' | 'full';
  suites: SuiteRun[];
  local: BenchLocalPlan;
  remote?: BenchRemotePlan;
  /** Every kernel variant the night boots: built first when missing. */
  kernels: KernelVariant[];
  /** A ratio that moved this far (fraction) from its reference nights, significantly, is a regression. */
  margin: number;
  /** One-sided Mann–Whitney p-value below which a change beyond the margin is significant. */
  alpha: number;
  /** The rolling window: at most this many earlier nights form a ratio's reference. */
  window: number;
  /** A cell whose calibration moved more than this (fraction) from its start to its end is unreliable (broken). */
  calibrationBound: number;
  /** M3LAB_SEED for every suite: see seedFor(). */
  seed: number;
}

/**
 * The nightly's default seed. History in Allure links results by test name and
 * parameters, and the seeded suites carry their seed in both; one seed night
 * after night keeps every test's history, and keeps the workload the same so a
 * change from one night to the next is the code's. `--seed random` explores
 * (new stress schedules) at the price of the seeded tests' history.
 */
export const NIGHTLY_SEED = 20240601;

export function seedFor(arg: string | undefined, random: () => number = Math.random): number {
  if (arg === undefined) return NIGHTLY_SEED;
  if (arg === 'random') return Math.floor(random() * 1e6);
  const n = Number(arg);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--seed: must be a non-negative integer or "random", got ${JSON.stringify(arg)}`);
  return n;
}

/** `--margin 10` or `--margin 10%`: percent; 0..100. */
export function parseMargin(arg: string | undefined): number {
  if (arg === undefined) return 0.1;
  const n = Number(arg.replace(/%$/, ''));
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new Error(`--margin: must be a percentage 0..100, got ${JSON.stringify(arg)}`);
  return n / 100;
}

/** Significance of a ratio's change: one-sided Mann–Whitney p below this. */
export const RATIO_ALPHA = 0.05;
/** Reference nights of a ratio: the newest this many that measured it (and did not find it regressed). */
export const RATIO_WINDOW = 5;
/** Reference nights a ratio needs before a change of it is called. */
export const RATIO_MIN_NIGHTS = 2;
/** Calibration drift from a cell's start to its end beyond which its figures are unreliable. */
export const CALIBRATION_BOUND = 0.25;

/** The lab projects of vitest.config.ts when it was written; the command reads the real list (labProjects()). */
export const DEFAULT_PROJECTS: { name: string; kernel: KernelVariant; nodeKernels?: KernelVariant[] }[] = [
  { name: 'lab', kernel: 'default' },
  { name: 'lab-debug', kernel: 'debug' },
  { name: 'lab-1cpu', kernel: 'default', nodeKernels: ['up'] },
  { name: 'lab-fuzz', kernel: 'debug' },
];

/** Projects a night does not run: unit tests (no lab), and the lab's tests of itself (its verdicts, the nightly's performance verdicts, its shards, Slurm and bisection). */
export const NOT_NIGHTLY = ['unit', 'verdicts', 'perf-verdicts', 'lab-shards'];

/** The project of the ioctl fuzzer (suites/fuzz.test.ts): a night runs it long, once per kernel of FUZZ_KERNELS. */
export const FUZZ_PROJECT = 'lab-fuzz';
/** Kernels the night fuzzes: KASAN and lockdep see the most; the UP kernel has other locking (no SMP races, preemption only). */
export const FUZZ_KERNELS: KernelVariant[] = ['debug', 'up'];
/** Seconds of fuzzing per kernel in a full night (an hour in all); `--fuzz-seconds` changes it. */
export const NIGHT_FUZZ_SECONDS = 1800;

/**
 * `--quick`: minutes on 2 cores under TCG — ipc-local on the default kernel and
 * one bench cell (default kernel, 1 vCPU, 5 rounds). The full night: every lab
 * project of vitest.config.ts (today: each suite on the default kernel, ipc-local
 * on debug, up, and on nodes booted with nosmp and maxcpus=1), the bench matrix default/up/debug x 1/2 vCPUs
 * and the remote bench. The `verdicts` project is the lab testing itself, not
 * the module: `make test` runs it. `projects`: vitest.config.ts's, in its order.
 */
export function nightPlan(opts: { quick: boolean; margin: number; seed: number; projects?: { name: string; kernel: KernelVariant; nodeKernels?: KernelVariant[] }[]; fuzzSeconds?: number; suites?: string[]; rounds?: number }): NightPlan {
  const rules = { margin: opts.margin, alpha: RATIO_ALPHA, window: RATIO_WINDOW, minNights: RATIO_MIN_NIGHTS, calibrationBound: CALIBRATION_BOUND, seed: opts.seed };
  if (opts.quick) {
    return {
      mode: 'quick',
      // --suite: other default-kernel suites in its place (a smaller night: the Slurm test's).
      suites: [{ project: 'lab', files: opts.suites?.length ? opts.suites : ['suites/ipc-local.test.ts'], kernel: 'default' }],
      // 5 rounds: with one reference night, 5 against 5 rounds can reach p = 1/252; 3 against 3 never gets below 0.05.
      local: { kernels: ['default'], cpus: [1], repeat: opts.rounds ?? 5, msgIters: 5000 },
      kernels: ['default'],
      ...rules,
    };
  }
  const projects = (opts.projects ?? DEFAULT_PROJECTS).filter((p) => !NOT_NIGHTLY.includes(p.name));
  const fuzzSeconds = opts.fuzzSeconds ?? NIGHT_FUZZ_SECONDS;
  // The fuzz project runs where make test runs it, but long, and once per fuzzed kernel.
  const suites: SuiteRun[] = projects.flatMap((p): SuiteRun[] =>
    p.name !== FUZZ_PROJECT
      ? [{ project: p.name, files: [], kernel: p.kernel, ...(p.nodeKernels ? { nodeKernels: p.nodeKernels } : {}) }]
      : FUZZ_KERNELS.map((kernel) => ({ project: p.name, files: [], kernel, label: kernel, env: { M3LAB_FUZZ_KERNEL: kernel, M3LAB_FUZZ_SECONDS: `${fuzzSeconds}` } })),
  );
  const local: BenchLocalPlan = { kernels: ['default', 'up', 'debug'], cpus: [1, 2], repeat: opts.rounds ?? 5, msgIters: 5000 };
  return {
    mode: 'full',
    suites,
    local,
    remote: { kernel: 'default', repeat: opts.rounds ?? 5, iters: 1000 },
    kernels: [...new Set<KernelVariant>([...suites.flatMap((s) => [s.kernel, ...(s.nodeKernels ?? [])]), ...local.kernels])],
    ...rules,
  };
}

/** `--rounds N`: bench rounds per cell, 1..50 (the default 5: see nightPlan). */
export function parseRounds(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error(`--rounds: a whole number of bench rounds from 1 to 50, got ${JSON.stringify(v)}`);
  return n;
}

/** `--fuzz-seconds S`: a whole number of seconds, 10 s to 24 h. */
export function parseFuzzSeconds(v: string | undefined): number {
  if (v === undefined) return NIGHT_FUZZ_SECONDS;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 10 || n > 86400) throw new Error(`--fuzz-seconds: a whole number of seconds from 10 to 86400, got ${JSON.stringify(v)}`);
  return n;
}

/** The plan in a few lines, printed first and kept in the night's record. */
export function describePlan(p: NightPlan): string[] {
  return [
    `mode       ${p.mode}`,
    ...p.suites.map((s) => `suites     ${Object.entries(s.env ?? {}).map(([k, v]) => `${k}=${v} `).join('')}vitest --project ${s.project}${s.files.length ? ` ${s.files.join(' ')}` : ''}`),
    `bench      ipc-local --kernel ${p.local.kernels.join(',')} --cpus ${p.local.cpus.join(',')} --repeat ${p.local.repeat} --iters ${p.local.msgIters}`,
    ...(p.remote ? [`bench      ipc-remote --kernel ${p.remote.kernel} --repeat ${p.remote.repeat} --iters ${p.remote.iters}`] : []),
    `kernels    ${p.kernels.join(', ')}`,
    `verdicts   ratios to same-run baselines: a change beyond ${(p.margin * 100).toFixed(0)}% with Mann–Whitney p < ${p.alpha} against up to ${p.window} reference nights is a regression; calibration drift beyond ${(p.calibrationBound * 100).toFixed(0)}% in a cell: unreliable (broken)`,
    `seed       ${p.seed}`,
  ];
}
