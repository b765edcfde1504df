// `m3lab bench`: the lab's boot, IPC, sealing and fuzz-coverage benchmarks, and ipc-local's matrix as shards or a Slurm job array.
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { parseKernelList } from '../image/kernel/variants.ts';
import type { LabOptions } from '../lab/lab-file.ts';
import { repoRoot } from '../paths.ts';

const log = (l: string) => process.stderr.write(`${l}\n`);

/** The flags of `m3lab bench`, one set for every benchmark: each says which it is for (errors name the flag). */
export interface BenchFlags {
  cpus?: string;
  repeat?: string;
  iters?: string;
  json?: boolean;
  accel?: string;
  kernel?: string;
  lab?: string;
  nodes?: string;
  seconds?: string;
  arms?: string;
  calls?: string;
  shard?: string;
  results?: string;
  run?: string;
  slurm?: boolean;
  shards?: string;
  'max-running'?: string;
  'sbatch-arg'?: string[];
  'submit-only'?: boolean;
}

/** `m3lab bench WHICH`; argv: its words as given, which a shard's record and a Slurm job's shards repeat. */
export async function cmdBench(which: string | undefined, values: BenchFlags, argv: string[]): Promise<number> {
  const sharding = values.shard !== undefined || values.slurm || values.results !== undefined || values.run !== undefined;
  if (sharding && which !== 'ipc-local') throw new ConfigError(values.slurm ? '--slurm' : values.shard !== undefined ? '--shard' : values.results !== undefined ? '--results' : '--run', `only for bench ipc-local (its cells are what shards share out), not ${which}`);
  if (values.slurm) return benchSlurm(argv, values);
  if (values.shards !== undefined || values['max-running'] !== undefined || values['sbatch-arg'] || values['submit-only']) throw new ConfigError(values.shards !== undefined ? '--shards' : values['max-running'] !== undefined ? '--max-running' : values['sbatch-arg'] ? '--sbatch-arg' : '--submit-only', 'only with --slurm');
  // ipc-local sweeps a list of kernels (the matrix); ipc-remote runs one.
  const kernels = values.kernel === undefined ? undefined : parseKernelList(values.kernel);
  if (which === 'ipc-remote' && kernels && kernels.length > 1) throw new ConfigError('--kernel', 'ipc-remote runs on one kernel at a time');
  const kernel = kernels?.[0];
  if (which === 'lab') {
    const { benchLab } = await import('../bench/lab-boot.ts');
    const nodes = Number(values.nodes ?? 3);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 8) throw new ConfigError('--nodes', `must be an integer 1..8, got ${values.nodes}`);
    const rep = Number(values.repeat ?? 3);
    if (!Number.isInteger(rep) || rep < 1) throw new ConfigError('--repeat', `must be a positive integer, got ${values.repeat}`);
    return benchLab({ nodes, repeat: rep, kernel: kernel ?? 'default', json: Boolean(values.json), accel: values.accel as LabOptions['accel'] });
  }
  if (which === 'seal') {
    const { benchSeal } = await import('../bench/link-seal.ts');
    const rep = Number(values.repeat ?? 5);
    if (!Number.isInteger(rep) || rep < 1) throw new ConfigError('--repeat', `must be a positive integer, got ${values.repeat}`);
    return benchSeal({ repeat: rep, json: Boolean(values.json), kernel: kernel as LabOptions['kernel'], accel: values.accel as LabOptions['accel'] });
  }
  if (which === 'fuzz') {
    const { benchFuzzCoverage, FUZZ_ARMS } = await import('../bench/fuzz-coverage.ts');
    type Mode = (typeof FUZZ_ARMS)[number];
    const seconds = Number(values.seconds ?? 60);
    if (!Number.isInteger(seconds) || seconds < 5 || seconds > 3600) throw new ConfigError('--seconds', `must be an integer 5..3600, got ${values.seconds}`);
    const rep = Number(values.repeat ?? 4);
    if (!Number.isInteger(rep) || rep < 1) throw new ConfigError('--repeat', `must be a positive integer, got ${values.repeat}`);
    const arms = (values.arms ?? 'random,guided').split(',');
    const bad = arms.find((a) => !(FUZZ_ARMS as readonly string[]).includes(a));
    if (bad !== undefined || arms.length < 2 || new Set(arms).size !== arms.length) throw new ConfigError('--arms', `must be two or more of ${FUZZ_ARMS.join(', ')}, each once, got ${values.arms}`);
    const calls = values.calls === undefined ? undefined : Number(values.calls);
    if (calls !== undefined && (!Number.isInteger(calls) || calls < 1000)) throw new ConfigError('--calls', `must be an integer of 1000 or more, got ${values.calls}`);
    return benchFuzzCoverage({ seconds, calls, repeat: rep, json: Boolean(values.json), arms: arms as Mode[], accel: values.accel as LabOptions['accel'] });
  }
  if (which !== 'ipc-local' && which !== 'ipc-remote') throw new ConfigError('bench', `unknown benchmark ${JSON.stringify(which)} (have: lab, ipc-local, ipc-remote, fuzz, seal)`);
  // With --lab and a board, the default sweep is every CPU count the board has.
  const cpus = values.cpus === undefined ? (values.lab ? undefined : [1, 2]) : values.cpus.split(',').map((c) => Number(c));
  if (cpus?.some((c) => !Number.isInteger(c) || c < 1 || c > 64)) throw new ConfigError('--cpus', `must be a list of CPU counts 1..64, got ${values.cpus}`);
  const repeat = Number(values.repeat ?? 5);
  if (!Number.isInteger(repeat) || repeat < 1) throw new ConfigError('--repeat', `must be a positive integer, got ${values.repeat}`);
  const msgIters = Number(values.iters ?? (which === 'ipc-remote' ? 1000 : 5000));
  if (!Number.isInteger(msgIters) || msgIters < 100) throw new ConfigError('--iters', `must be an integer >= 100, got ${values.iters}`);
  if (which === 'ipc-remote') {
    const { benchIpcRemote } = await import('../bench/ipc-remote.ts');
    return benchIpcRemote({ repeat, iters: msgIters, json: Boolean(values.json), accel: values.accel as LabOptions['accel'], kernel, labFile: values.lab });
  }
  const { benchIpcLocal } = await import('../bench/ipc-local.ts');
  if (values.shard === undefined && values.results === undefined) return benchIpcLocal({ cpus, repeat, msgIters, json: Boolean(values.json), accel: values.accel as LabOptions['accel'], kernels, labFile: values.lab });
  // A shard of the matrix: its cells into its own results directory, with shard.json for the merge.
  const { hostName, parseShard, writeShardRecord } = await import('../shard.ts');
  const { gitCommit, commitText } = await import('../nightly/facts.ts');
  const shard = values.shard !== undefined ? parseShard(values.shard) : { index: 1, count: 1 };
  const dir = path.resolve(values.results ?? path.join(repoRoot, 'reports', `bench-shard-${shard.index}-of-${shard.count}`));
  const commit = await gitCommit();
  const record = { run: values.run ?? `bench-${commit.short}`, shard, kind: 'bench' as const, host: hostName(), started: new Date().toISOString(), commit: commitText(commit), command: `m3lab bench ${argv.join(' ')}` };
  writeShardRecord(dir, record);
  let code = 1;
  try {
    code = await benchIpcLocal({ cpus, repeat, msgIters, json: Boolean(values.json), accel: values.accel as LabOptions['accel'], kernels, labFile: values.lab, shard, results: dir });
  } finally {
    writeShardRecord(dir, { ...record, finished: new Date().toISOString(), code });
  }
  return code;
}

/** `m3lab bench ipc-local --slurm [--shards N]`: the matrix's cells as a Slurm job array, merged after it. */
async function benchSlurm(argv: string[], values: BenchFlags): Promise<number> {
  if (values.shard !== undefined) throw new ConfigError('--shard', 'not with --slurm: --slurm submits every shard itself (--shards N)');
  const { parseShardCount, shardArgv, shardDir, submitArray, TASK } = await import('../slurm.ts');
  const { gitCommit } = await import('../nightly/facts.ts');
  const count = parseShardCount(values.shards);
  const maxRunning = values['max-running'] === undefined ? undefined : parseShardCount(values['max-running'], 1, '--max-running');
  const commit = await gitCommit();
  const name = values.run ?? `bench-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${commit.short}`;
  const base = path.resolve(values.results ?? path.join(repoRoot, 'reports', name));
  const rest = shardArgv(argv, { flags: ['--slurm', '--submit-only'], valued: ['--shards', '--max-running', '--sbatch-arg', '--results', '--run'] });
  return submitArray({
    name,
    base,
    out: path.join(base, 'merged'),
    shards: count,
    maxRunning,
    shardArgs: ['bench', ...rest, '--shard', `${TASK}/${count}`, '--run', name, '--results', shardDir(base, TASK, count)],
    mergeArgs: ['--out', path.join(base, 'merged')],
    sbatchArgs: values['sbatch-arg'] ?? [],
    submitOnly: Boolean(values['submit-only']),
    env: {},
    log,
  });
}
