// Over 400 lines: every subcommand's flags and dispatch in one place, the command line a user sees (docs/cli.md).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BootError, ConfigError, InfraError } from './errors.ts';
import { buildImage } from './image/build.ts';
import { buildKernel } from './image/kernel/build.ts';
import { parseKernelList, type KernelVariant } from './image/kernel/variants.ts';
import { qemuVersionOnce } from './report/environment.ts';
import { Lab, currentLabDir, readState, sweepStale } from './lab/lab.ts';
import { loadLabFile, resolveLab, type LabOptions } from './lab/lab-file.ts';
import { labJob, run, suitePath } from './lab-job.ts';
import { parseTable } from './m3/procfs.ts';
import { repoRoot } from './paths.ts';
import { SshTransport, type SshEndpoint } from './transport/ssh.ts';
import { BootPanicError } from './report/verdict.ts';
import { cmdFault, cmdHeal, faultStatusLines } from './cli/fault.ts';
import { readFaults } from './faults/store.ts';

const USAGE = `m3lab — build guest images, run QEMU labs, test M3-IPC

  m3lab image build [--force] [--kernel default,debug,up]
                                    build (or reuse) the guest image and the kernel variants named
  m3lab kmod build [--kernel V]     build m3ipc.ko against that kernel's tree, and the static tools
  m3lab up [--nodes N] [--cpus C] [--maxcpus M] [--sockets S] [--memory MB] [--accel auto|kvm|tcg]
           [--kernel default|debug|up] [--lab FILE] [--append ARGS] [--cold] [--json]
                                    boot a lab and leave it running (from the snapshot of each
                                    node's shape, made on first use; --cold: a real boot)
  m3lab status [--json]             the running lab's nodes
  m3lab ssh NODE [-- CMD...]        a shell or one command on a node
  m3lab down                        stop the running lab
  m3lab bench lab [--nodes N] [--kernel V] [--repeat R] [--json]
                                    seconds from QEMU start to a ready lab, median and spread: cold
                                    boots (firmware, kernel, userspace, agent, setup) and restores
                                    from the snapshot (load, identity, agent, setup)
  m3lab bench fuzz [--seconds S] [--calls N] [--repeat R] [--arms A,B,...] [--json]
                                    the module coverage m3fuzz reaches random and --guided (KCOV,
                                    debug kernel), same seeds and time, R rounds each, compared;
                                    --arms: random, guided, swarm, guided+swarm (the first is the
                                    baseline; default random,guided); --calls: a budget of calls
                                    per run instead of time (S is then its cap)
  m3lab bench seal [--kernel V] [--repeat R] [--json]
                                    what sealing a link frame costs with each crypto API candidate
                                    (the links' HMAC-SHA-512, HMAC-SHA-256, ChaCha20-Poly1305, AES-GCM)
  m3lab bench ipc-remote [--kernel V] [--repeat N] [--iters N] [--json] [--lab FILE]
                                    remote sendrec latency and rate, remote vcopy bandwidth
                                    against raw TCP between the same two guests (with --lab:
                                    the file's first two machines, VMs or boards)
  m3lab bench ipc-local [--kernel default,up,debug] [--cpus 1,2,3,4] [--repeat N] [--iters N] [--json] [--lab FILE]
                                    M3-IPC message rates and vcopy bandwidth against pipe, UNIX
                                    socket, futex, process_vm_readv and memcpy in the same guest;
                                    with --lab on the file's first board, CPUs above each count offline
  m3lab bench ipc-local ... --shard K/N [--results DIR] [--run NAME]
                                    slice K of N of the matrix's cells into DIR (for report merge)
  m3lab bench ipc-local ... --slurm [--shards N] [--max-running M] [--sbatch-arg ARG]... [--submit-only]
                                    the cells as a Slurm job array, merged when it ends
  m3lab run [--kernel V] [--append ARGS] [--cold] [--project P] [--shard K/N] [--results DIR] [--run NAME] [SUITE...]
                                    run vitest suites (on the running lab when it fits, or their own);
                                    --shard: vitest's slice K of N, into a results directory of its own
  m3lab report [--serve] [--port N] Allure HTML report from allure-results/; --serve shows it on 127.0.0.1
  m3lab report merge DIR... [--out DIR] [--history FILE] [--expect N]
                                    the results directories of a run's shards as one report, one
                                    history, each test labelled with the host that ran it
  m3lab bisect GOOD BAD [--repeat N] [--seed S] [--project P] [--repo DIR] -- SUITE [-t TEST]
                                    git bisect run: the module of each commit built and the test run
                                    on a fresh lab N times; prints the first bad commit and its evidence
  m3lab replay BUNDLE [--print]     run a failed test again from its evidence bundle (.m3lab/bundles/...):
                                    same suite, test, seed (M3LAB_SEED), kernel and command line
  m3lab fuzz minimize BUNDLE [--seconds S] [--trials N] [--out FILE] [--any]
                                    cut a failed fuzz test's calls down to a standalone C reproducer
                                    (TAP), tried on a node of the bundle's kernel
  m3lab fuzz coverage COVER_FILE [--kernel V]
                                    the module's line coverage from m3fuzz --cover (debug kernel)
  m3lab fault KIND NODE [--for S]   break the running lab by hand (m3lab fault --help lists kinds)
  m3lab heal [all | KIND NODE]      heal what m3lab fault broke
  m3lab lab [--lab FILE] [--kernel V] [--cold] [SUITE...]
                                    the main job (make lab): image, lab, suites, report, summary
  m3lab nightly [--quick] [--lab FILE] [--margin PCT] [--seed N|random]
                [--shard K/N [--results DIR] [--night NAME] | --slurm [--shards N] [--max-running M] [--sbatch-arg ARG]...]
                                    suites over the kernel variants and the bench matrix, figures
                                    compared with earlier nights, one Allure report with history;
                                    sharded, or as a Slurm job array (m3lab nightly --help)
  m3lab nightly serve [NIGHT] [--port N]
                                    show a night's report (default: the latest) on 127.0.0.1

  Kernel variants: default (Debian cloud kernel), debug (KASAN, KFENCE, UBSAN,
  lockdep, hang detectors), up (CONFIG_SMP=n); see images/kernels/.
`;

const log = (l: string) => process.stderr.write(`${l}\n`);

/** --cold: every lab of this command (and of the suites it runs) boots for real, no snapshot. */
function coldIf(cold: boolean | undefined): void {
  if (cold) process.env.M3LAB_COLD = '1';
}

function labOptions(values: Record<string, unknown>): LabOptions {
  const num = (k: string) => {
    const v = values[k];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new ConfigError(`--${k}`, `must be an integer, got ${JSON.stringify(v)}`);
    return n;
  };
  return {
    nodes: num('nodes'),
    cpus: num('cpus'),
    maxcpus: num('maxcpus'),
    sockets: num('sockets'),
    memory: num('memory'),
    append: values.append as string | undefined,
    accel: values.accel as LabOptions['accel'],
    kernel: values.kernel === undefined ? undefined : oneKernel(values.kernel as string),
  };
}

function oneKernel(v: string): KernelVariant {
  const list = parseKernelList(v);
  if (list.length !== 1) throw new ConfigError('--kernel', `names one kernel variant here, got ${v}`);
  return list[0]!;
}

async function cmdUp(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      nodes: { type: 'string' },
      cpus: { type: 'string' },
      maxcpus: { type: 'string' },
      sockets: { type: 'string' },
      memory: { type: 'string' },
      accel: { type: 'string' },
      append: { type: 'string' },
      lab: { type: 'string' },
      kernel: { type: 'string' },
      json: { type: 'boolean' },
      cold: { type: 'boolean' },
    },
  });
  const overrides = labOptions(values);
  coldIf(values.cold);
  const spec = values.lab ? loadLabFile(values.lab, overrides) : resolveLab({}, overrides);
  const lab = await Lab.boot(spec, { detached: true, log });
  const status = lab.status();
  lab.detach();
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ id: lab.state.id, accel: lab.state.accel.accel, image: lab.state.image.hash, nodes: status }, null, 2)}\n`);
  } else {
    console.log(`lab ${lab.state.id} up (${lab.state.accel.accel}, QEMU ${await qemuVersionOnce()})`);
    for (const s of status) console.log(`  ${s.name.padEnd(8)} ${s.kernel.padEnd(8)} ${s.release}  ${s.vcpus} vCPU  ssh 127.0.0.1:${s.sshPort}  lan ${s.lanAddress}  ready in ${s.readySeconds} s`);
  }
  return 0;
}

async function cmdBench(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      cpus: { type: 'string' },
      repeat: { type: 'string' },
      iters: { type: 'string' },
      json: { type: 'boolean' },
      accel: { type: 'string' },
      kernel: { type: 'string' },
      lab: { type: 'string' },
      nodes: { type: 'string' },
      seconds: { type: 'string' },
      arms: { type: 'string' },
      calls: { type: 'string' },
      shard: { type: 'string' },
      results: { type: 'string' },
      run: { type: 'string' },
      slurm: { type: 'boolean' },
      shards: { type: 'string' },
      'max-running': { type: 'string' },
      'sbatch-arg': { type: 'string', multiple: true },
      'submit-only': { type: 'boolean' },
    },
  });
  const which = positionals[0];
  const sharding = values.shard !== undefined || values.slurm || values.results !== undefined || values.run !== undefined;
  if (sharding && which !== 'ipc-local') throw new ConfigError(values.slurm ? '--slurm' : values.shard !== undefined ? '--shard' : values.results !== undefined ? '--results' : '--run', `only for bench ipc-local (its cells are what shards share out), not ${which}`);
  if (values.slurm) return benchSlurm(argv, values);
  if (values.shards !== undefined || values['max-running'] !== undefined || values['sbatch-arg'] || values['submit-only']) throw new ConfigError(values.shards !== undefined ? '--shards' : values['max-running'] !== undefined ? '--max-running' : values['sbatch-arg'] ? '--sbatch-arg' : '--submit-only', 'only with --slurm');
  // ipc-local sweeps a list of kernels (the matrix); ipc-remote runs one.
  const kernels = values.kernel === undefined ? undefined : parseKernelList(values.kernel);
  if (which === 'ipc-remote' && kernels && kernels.length > 1) throw new ConfigError('--kernel', 'ipc-remote runs on one kernel at a time');
  const kernel = kernels?.[0];
  if (which === 'lab') {
    const { benchLab } = await import('./bench/lab-boot.ts');
    const nodes = Number(values.nodes ?? 3);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 8) throw new ConfigError('--nodes', `must be an integer 1..8, got ${values.nodes}`);
    const rep = Number(values.repeat ?? 3);
    if (!Number.isInteger(rep) || rep < 1) throw new ConfigError('--repeat', `must be a positive integer, got ${values.repeat}`);
    return benchLab({ nodes, repeat: rep, kernel: kernel ?? 'default', json: Boolean(values.json), accel: values.accel as LabOptions['accel'] });
  }
  if (which === 'seal') {
    const { benchSeal } = await import('./bench/link-seal.ts');
    const rep = Number(values.repeat ?? 5);
    if (!Number.isInteger(rep) || rep < 1) throw new ConfigError('--repeat', `must be a positive integer, got ${values.repeat}`);
    return benchSeal({ repeat: rep, json: Boolean(values.json), kernel: kernel as LabOptions['kernel'], accel: values.accel as LabOptions['accel'] });
  }
  if (which === 'fuzz') {
    const { benchFuzzCoverage, FUZZ_ARMS } = await import('./bench/fuzz-coverage.ts');
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
    const { benchIpcRemote } = await import('./bench/ipc-remote.ts');
    return benchIpcRemote({ repeat, iters: msgIters, json: Boolean(values.json), accel: values.accel as LabOptions['accel'], kernel, labFile: values.lab });
  }
  const { benchIpcLocal } = await import('./bench/ipc-local.ts');
  if (values.shard === undefined && values.results === undefined) return benchIpcLocal({ cpus, repeat, msgIters, json: Boolean(values.json), accel: values.accel as LabOptions['accel'], kernels, labFile: values.lab });
  // A shard of the matrix: its cells into its own results directory, with shard.json for the merge.
  const { hostName, parseShard, writeShardRecord } = await import('./shard.ts');
  const { gitCommit, commitText } = await import('./nightly/facts.ts');
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
async function benchSlurm(argv: string[], values: { shards?: string; 'max-running'?: string; 'sbatch-arg'?: string[]; 'submit-only'?: boolean; results?: string; run?: string; shard?: string }): Promise<number> {
  if (values.shard !== undefined) throw new ConfigError('--shard', 'not with --slurm: --slurm submits every shard itself (--shards N)');
  const { parseShardCount, shardArgv, shardDir, submitArray, TASK } = await import('./slurm.ts');
  const { gitCommit } = await import('./nightly/facts.ts');
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

/** Module and proxy state of one node, read over SSH from /proc/m3ipc. */
async function m3State(name: string, endpoint: SshEndpoint) {
  const ssh = new SshTransport(name, endpoint);
  try {
    await ssh.connect(Date.now() + 5000);
    const sep = '@@m3lab@@';
    const out = await ssh.exec(`for f in info nodes proxies; do cat /proc/m3ipc/$f 2>/dev/null; echo ${sep}; done`, { timeoutMs: 5000 });
    const [info, nodes, proxies] = out.stdout.split(`${sep}\n`).map((t) => parseTable(t));
    return { loaded: (info ?? []).length > 0, info: info?.[0], nodes: nodes ?? [], proxies: proxies ?? [] };
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    ssh.close();
  }
}

async function cmdStatus(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' } } });
  sweepStale();
  if (!readState(currentLabDir())) {
    if (values.json) console.log(JSON.stringify({ up: false, nodes: [] }));
    else console.log('no lab is up');
    return 0;
  }
  const lab = await Lab.attach(currentLabDir(), { connect: false });
  const status = await Promise.all(
    lab.status().map(async (s) => ({ ...s, m3: s.state === 'gone' ? undefined : await m3State(s.name, lab.node(s.name).target.ssh) })),
  );
  if (values.json) console.log(JSON.stringify({ up: true, id: lab.state.id, accel: lab.state.accel.accel, nodes: status, faults: readFaults(lab.dir) }, null, 2));
  else {
    console.log(`lab ${lab.state.id} (${lab.state.accel.accel}, QEMU ${await qemuVersionOnce()}, image ${lab.state.image.hash})`);
    for (const s of status) {
      const ep = lab.node(s.name).target.ssh;
      const what = s.kind === 'board' ? `board, kernel ${s.release}  ${s.vcpus} CPU` : `kernel ${s.kernel} (${s.release})  ${s.vcpus} vCPU  pid ${s.pid ?? '-'}`;
      console.log(`  ${s.name.padEnd(8)} ${s.state.padEnd(7)} ${what}  ssh ${ep.host}:${ep.port}  lan ${s.lanAddress}`);
      const m3 = s.m3;
      if (!m3) continue;
      if ('error' in m3) console.log(`           m3ipc: unknown (${m3.error})`);
      else if (!m3.loaded) console.log('           m3ipc: not loaded');
      else {
        console.log(`           m3ipc: ${Object.entries(m3.info ?? {}).map(([k, v]) => `${k}=${v}`).join(' ')}`);
        for (const p of m3.proxies) console.log(`           proxy ${Object.entries(p).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      }
    }
    for (const l of faultStatusLines(lab.dir)) console.log(l);
  }
  return 0;
}

async function cmdSsh(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) throw new ConfigError('NODE', 'm3lab ssh needs a node name');
  const command = rest[0] === '--' ? rest.slice(1) : rest;
  if (!readState(currentLabDir())) throw new InfraError('no lab is up; run `m3lab up` first');
  const lab = await Lab.attach(currentLabDir(), { connect: false });
  if (!lab.nodes.some((n) => n.name === name)) throw new ConfigError('NODE', `no node ${name} (nodes: ${lab.nodes.map((n) => n.name).join(', ')})`);
  // A VM's forwarded port or a board's own SSH endpoint: the lab knows which.
  const ssh = new SshTransport(name, lab.node(name).target.ssh);
  await ssh.connect(Date.now() + 15000);
  try {
    return await streamed(ssh, command.length > 0 ? command.join(' ') : 'exec /bin/sh -i');
  } finally {
    ssh.close();
  }
}

/** Runs a command with this process's stdin, stdout and stderr wired to it. */
async function streamed(ssh: SshTransport, command: string): Promise<number> {
  const ch = await ssh.channel(command);
  const stdin = process.stdin;
  // A terminal stays attached for an interactive shell; a pipe or file is forwarded to EOF.
  if (stdin.isTTY && command !== 'exec /bin/sh -i') ch.end();
  else stdin.pipe(ch);
  ch.pipe(process.stdout);
  ch.stderr.pipe(process.stderr);
  return new Promise((resolve) => {
    let code = 0;
    ch.on('exit', (c: number | null) => (code = c ?? 255));
    ch.on('close', () => {
      stdin.unpipe(ch);
      stdin.pause();
      resolve(code);
    });
  });
}

async function cmdDown(): Promise<number> {
  sweepStale();
  if (!existsSync(currentLabDir())) {
    console.log('no lab is up');
    return 0;
  }
  const lab = await Lab.attach(currentLabDir(), { connect: false });
  // Faults that need the machines (a SIGSTOPped process) go with them; the
  // switch and the QEMUs are torn down anyway.
  await lab.teardown();
  console.log(`lab ${lab.state.id} down`);
  return 0;
}

async function cmdRun(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { kernel: { type: 'string' }, append: { type: 'string' }, cold: { type: 'boolean' }, shard: { type: 'string' }, results: { type: 'string' }, run: { type: 'string' }, project: { type: 'string' } } });
  coldIf(values.cold);
  // Suites read the kernel and command line of the labs they boot from the environment.
  if (values.kernel !== undefined) process.env.M3LAB_KERNEL = oneKernel(values.kernel);
  if (values.append !== undefined) process.env.M3LAB_APPEND = values.append;
  const suites = positionals.map(suitePath);
  const vitest = path.join(repoRoot, 'node_modules', '.bin', 'vitest');
  const project = values.project ?? 'lab';
  if (!/^[\w.:-]+$/.test(project)) throw new ConfigError('--project', `not a project name: ${JSON.stringify(project)}`);
  if (values.shard === undefined && values.results === undefined) {
    if (values.run !== undefined) throw new ConfigError('--run', 'only with --shard K/N or --results DIR');
    return run(vitest, ['run', '--project', project, ...suites]);
  }
  return runShard({ shard: values.shard, results: values.results, run: values.run, project, suites, argv });
}

/**
 * `m3lab run --shard K/N [--results DIR]`: vitest's own slice K of the suites,
 * into a self-contained results directory (Allure results with the host's
 * Environment, JUnit, evidence bundles, shard.json) for `m3lab report merge`.
 */
async function runShard(o: { shard?: string; results?: string; run?: string; project: string; suites: string[]; argv: string[] }): Promise<number> {
  const { hostName, parseShard, shardText, writeShardRecord } = await import('./shard.ts');
  const { gitCommit, commitText, hostPairs } = await import('./nightly/facts.ts');
  const { NIGHTLY_VITEST_CONFIG } = await import('./nightly/suites.ts');
  const { writeAllureEnvironment } = await import('./report/environment.ts');
  const shard = o.shard !== undefined ? parseShard(o.shard) : { index: 1, count: 1 };
  if (o.run !== undefined && !/^[\w.+-]{1,80}$/.test(o.run)) throw new ConfigError('--run', `letters, digits and . _ + - only (1..80), got ${JSON.stringify(o.run)}`);
  const dir = path.resolve(o.results ?? path.join(repoRoot, 'reports', `shard-${shard.index}-of-${shard.count}`));
  const results = path.join(dir, 'allure-results');
  if (existsSync(results) && readdirSync(results).length) throw new ConfigError('--results', `${dir} already holds results: give each shard a fresh directory`);
  const commit = await gitCommit();
  const record = { run: o.run ?? `run-${commit.short}`, shard, kind: 'run' as const, host: hostName(), started: new Date().toISOString(), commit: commitText(commit), command: `m3lab run ${o.argv.join(' ')}` };
  writeShardRecord(dir, record);
  writeAllureEnvironment(results, '', [...hostPairs(), ['shard', `${shardText(shard)} on ${hostName()}`], ['commit', commitText(commit)], ...(process.env.M3LAB_SEED ? [['seed', process.env.M3LAB_SEED] as [string, string]] : [])]);
  process.env.M3LAB_ALLURE_RESULTS = results;
  process.env.M3LAB_NIGHTLY_JUNIT = path.join(dir, 'junit.xml');
  process.env.M3LAB_BUNDLES = path.join(dir, 'bundles');
  // M3LAB_VITEST_CONFIG: another config reporting the same way (the unit test's fixture).
  const config = process.env.M3LAB_VITEST_CONFIG ? path.resolve(process.env.M3LAB_VITEST_CONFIG) : NIGHTLY_VITEST_CONFIG;
  const code = await run(path.join(repoRoot, 'node_modules', '.bin', 'vitest'), ['run', '--config', config, '--project', o.project, `--shard=${shardText(shard)}`, '--passWithNoTests', ...o.suites]);
  writeShardRecord(dir, { ...record, finished: new Date().toISOString(), code });
  console.log(`shard ${shardText(shard)} on ${record.host}: exit ${code}; results ${dir} (merge: npx m3lab report merge DIR... --out DIR)`);
  return code;
}

/** Runs the test of an evidence bundle again as it ran: its seed, kernel and command line. */
async function cmdReplay(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { print: { type: 'boolean' } } });
  if (positionals.length !== 1) throw new ConfigError('replay', 'usage: m3lab replay BUNDLE_DIR [--print]');
  const { readBundle } = await import('./report/replay.ts');
  const r = readBundle(path.resolve(positionals[0]!));
  console.log(`replay: ${r.line}`);
  if (values.print) return 0;
  Object.assign(process.env, r.env);
  return run(path.join(repoRoot, 'node_modules', '.bin', 'vitest'), r.args);
}

async function cmdReport(argv: string[]): Promise<number> {
  if (argv[0] === 'merge') return cmdMerge(argv.slice(1));
  const { values } = parseArgs({ args: argv, options: { serve: { type: 'boolean' }, port: { type: 'string' } } });
  const results = path.join(repoRoot, 'allure-results');
  if (!existsSync(results)) throw new InfraError('no allure-results/ yet; run `m3lab run` first');
  const allure = path.join(repoRoot, 'node_modules', '.bin', 'allure');
  const out = path.join(repoRoot, 'allure-report');
  const code = await run(allure, ['generate', results, '-o', out]);
  if (code !== 0) return code;
  if (!values.serve) {
    console.log(`report: ${out} (open it with \`m3lab report --serve\`: the page loads its data over HTTP and is blank from a file)`);
    return 0;
  }
  const { serveUntilStopped } = await import('./report/serve.ts');
  await serveUntilStopped(out, values.port, (url) => `report: ${url} (Ctrl-C to stop)`);
  return 0;
}

/** `m3lab report merge DIR... --out DIR [--history FILE] [--expect N]`. */
async function cmdMerge(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { out: { type: 'string' }, history: { type: 'string' }, expect: { type: 'string' } } });
  let expect: number | undefined;
  if (values.expect !== undefined) {
    expect = Number(values.expect);
    if (!Number.isInteger(expect) || expect < 1 || expect > 64) throw new ConfigError('--expect', `must be the number of shards, 1..64, got ${JSON.stringify(values.expect)}`);
  }
  const { mergeShards } = await import('./report/merge.ts');
  const m = await mergeShards({ dirs: positionals, out: values.out, history: values.history, expect, log });
  console.log(m.lines.join('\n'));
  return m.code;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  // `m3lab CMD --help`: the usage, not an unknown-option error (fault and nightly have their own; after `--` it is the command's).
  const own = rest.indexOf('--') < 0 ? rest : rest.slice(0, rest.indexOf('--'));
  if (cmd !== 'fault' && cmd !== 'nightly' && cmd !== 'fuzz' && cmd !== 'bisect' && (own.includes('--help') || own.includes('-h'))) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    switch (cmd) {
      case 'replay':
        return await cmdReplay(rest);
      case 'image': {
        if (rest[0] !== 'build') throw new ConfigError('image', 'the only image command is `image build`');
        const { values } = parseArgs({ args: rest.slice(1), options: { force: { type: 'boolean' }, kernel: { type: 'string' } } });
        const img = await buildImage({ force: values.force, log });
        console.log(`image ${img.name} ${img.hash}: kernel ${img.release}, initrd ${(img.initrdBytes / 1e6).toFixed(1)} MB in ${img.dir}`);
        for (const v of parseKernelList(values.kernel ?? 'default')) {
          if (v === 'default') continue;
          const k = await buildKernel(v, { log, force: values.force });
          console.log(`kernel ${v}: ${k.release} in ${k.kernel} (built in ${k.buildSeconds} s on ${k.builtAt})`);
        }
        return 0;
      }
      case 'kmod': {
        if (rest[0] !== 'build') throw new ConfigError('kmod', 'the only kmod command is `kmod build`');
        const { values } = parseArgs({ args: rest.slice(1), options: { kernel: { type: 'string' } } });
        const { buildKmod } = await import('./kmod/build.ts');
        const { resolveKernel } = await import('./image/kernel/resolve.ts');
        const a = await buildKmod(await resolveKernel(oneKernel(values.kernel ?? 'default'), log), log);
        console.log(`kmod: ${a.module} (${a.vermagic}); tools ${a.tools.length}, tests ${a.tests.length}, bench ${a.bench.length}`);
        return 0;
      }
      case 'bench':
        return await cmdBench(rest);
      case 'up':
        return await cmdUp(rest);
      case 'status':
        return await cmdStatus(rest);
      case 'ssh':
        return await cmdSsh(rest);
      case 'down':
        return await cmdDown();
      case 'run':
        return await cmdRun(rest);
      case 'report':
        return await cmdReport(rest);
      case 'bisect':
        return await (await import('./bisect.ts')).cmdBisect(rest);
      case 'fault':
        return await cmdFault(rest);
      case 'fuzz':
        return await (await import('./cli/fuzz.ts')).cmdFuzz(rest);
      case 'heal':
        return await cmdHeal(rest);
      case 'nightly':
        return await (await import('./nightly/command.ts')).cmdNightly(rest);
      case 'lab': {
        const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { lab: { type: 'string' }, nodes: { type: 'string' }, cpus: { type: 'string' }, maxcpus: { type: 'string' }, sockets: { type: 'string' }, memory: { type: 'string' }, accel: { type: 'string' }, append: { type: 'string' }, kernel: { type: 'string' }, cold: { type: 'boolean' } } });
        coldIf(values.cold);
        return await labJob({ labFile: values.lab, overrides: labOptions(values), suites: positionals });
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        process.stderr.write(`m3lab: unknown command ${cmd}\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    const err = e as Error & { code?: string };
    if (typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`m3lab ${cmd}: ${err.message.split('. ')[0]} (m3lab --help lists the options)\n`);
      return 2;
    }
    if (err instanceof BootError || err instanceof BootPanicError) process.stderr.write(`m3lab: boot failed: ${err.message}\n`);
    else if (err instanceof ConfigError) process.stderr.write(`m3lab: invalid configuration: ${err.message}\n`);
    else if (err instanceof InfraError) process.stderr.write(`m3lab: lab error: ${err.message}\n`);
    else process.stderr.write(`m3lab: ${err.stack ?? err.message}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
}
