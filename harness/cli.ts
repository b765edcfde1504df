// The command line: every command, its flags and its help, declared with commander; the work is in harness/cli/.
import { Command, CommanderError, Option } from 'commander';
import path from 'node:path';
import { BootError, ConfigError, InfraError } from './errors.ts';
import { buildImage } from './image/build.ts';
import { buildKernel } from './image/kernel/build.ts';
import { parseKernelList } from './image/kernel/variants.ts';
import { NIGHT_FUZZ_SECONDS, NIGHTLY_SEED } from './nightly/plan.ts';
import { nightlyRoot } from './nightly/store.ts';
import { stateRoot } from './paths.ts';
import { BootPanicError } from './verdict/verdict.ts';
import type { BisectFlags } from './bisect.ts';
import { cmdBench, type BenchFlags } from './cli/bench.ts';
import { cmdFault, cmdHeal, FAULT_HELP_TEXT, type FaultFlags } from './cli/fault.ts';
import type { MinimizeFlags } from './cli/fuzz.ts';
import { cmdDown, cmdLab, cmdSsh, cmdStatus, cmdUp, oneKernel, type LabFlags } from './cli/lab-commands.ts';
import { cmdMerge, cmdReplay, cmdReport, cmdRun, type RunFlags } from './cli/tests-and-reports.ts';
import type { NightlyFlags } from './nightly/command.ts';

const log = (l: string) => process.stderr.write(`${l}\n`);

const KERNELS_NOTE = `
Kernel variants: default (Debian cloud kernel), debug (KASAN, KFENCE, UBSAN,
lockdep, hang detectors), up (CONFIG_SMP=n); see images/kernels/.
`;

/** `--sbatch-arg A --sbatch-arg B`: every one, in order; absent when none is given. */
const collect = (v: string, prior?: string[]) => [...(prior ?? []), v];

/** Flag names as the handlers know them (`--max-running` is `max-running`, not commander's `maxRunning`). */
function flags<T>(cmd: Command): T {
  return Object.fromEntries(Object.entries(cmd.opts()).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), v])) as T;
}

/** The flags a lab file's settings take from the command line (up, lab). */
function labFlags(cmd: Command): Command {
  return cmd
    .option('--lab <file>', 'the lab file (labs/*.yaml); the flags below override it')
    .option('--nodes <n>', 'number of VMs')
    .option('--cpus <c>', 'vCPUs of each VM')
    .option('--maxcpus <m>', 'vCPUs each VM can have hot-added')
    .option('--sockets <s>', 'CPU packages the vCPUs are spread over')
    .option('--memory <mb>', 'memory of each VM in MB')
    .option('--accel <accel>', 'auto, kvm or tcg')
    .option('--kernel <variant>', 'default, debug or up')
    .option('--append <args>', 'extra kernel command line')
    .option('--cold', 'a real boot of every node, no snapshot');
}

/** The program; `done` receives the exit code of the command that ran, `argv` is the whole command line. */
function program(argv: string[], done: (code: number) => void): Command {
  const p = new Command('m3lab')
    .description('build guest images, run QEMU labs, test M3-IPC')
    .enablePositionalOptions()
    .exitOverride()
    .addHelpText('after', KERNELS_NOTE);

  const image = p.command('image').summary('the guest image and kernel variants');
  image
    .command('build')
    .description('build (or reuse) the guest image and the kernel variants named')
    .option('--force', 'rebuild even when cached')
    .option('--kernel <variants>', 'comma-separated variants (default,debug,up)')
    .action(async (o: { force?: boolean; kernel?: string }) => {
      const img = await buildImage({ force: o.force, log });
      console.log(`image ${img.name} ${img.hash}: kernel ${img.release}, initrd ${(img.initrdBytes / 1e6).toFixed(1)} MB in ${img.dir}`);
      for (const v of parseKernelList(o.kernel ?? 'default')) {
        if (v === 'default') continue;
        const k = await buildKernel(v, { log, force: o.force });
        console.log(`kernel ${v}: ${k.release} in ${k.kernel} (built in ${k.buildSeconds} s on ${k.builtAt})`);
      }
      done(0);
    });

  const kmod = p.command('kmod').summary('the m3ipc module and its programs');
  kmod
    .command('build')
    .description("build m3ipc.ko against that kernel's tree, and the static tools")
    .option('--kernel <variant>', 'default, debug or up')
    .action(async (o: { kernel?: string }) => {
      const { buildKmod } = await import('./kmod/build.ts');
      const { resolveKernel } = await import('./image/kernel/resolve.ts');
      const a = await buildKmod(await resolveKernel(oneKernel(o.kernel ?? 'default'), log), log);
      console.log(`kmod: ${a.module} (${a.vermagic}); tools ${a.tools.length}, tests ${a.tests.length}, bench ${a.bench.length}`);
      done(0);
    });

  labFlags(p.command('up'))
    .summary('boot a lab and leave it running')
    .description("boot a lab and leave it running (from the snapshot of each node's shape, made on first use; --cold: a real boot)")
    .option('--json', 'the lab and its nodes as JSON')
    .action(async (_o, cmd: Command) => done(await cmdUp(flags<LabFlags & { json?: boolean }>(cmd))));

  p.command('status')
    .description("the running lab's nodes")
    .option('--json', 'as JSON')
    .action(async (o: { json?: boolean }) => done(await cmdStatus(o)));

  p.command('ssh')
    .description('a shell or one command on a node (stdin is forwarded)')
    .usage('NODE [-- CMD...]')
    .argument('<node>')
    .argument('[command...]')
    .allowUnknownOption()
    .action(async (node: string, command: string[]) => done(await cmdSsh(node, command)));

  p.command('down')
    .description('stop the running lab')
    .action(async () => done(await cmdDown()));

  p.command('bench')
    .summary('benchmarks: lab, ipc-local, ipc-remote, fuzz, seal')
    .description(
      [
        'lab: seconds from QEMU start to a ready lab, median and spread (cold boots and restores)',
        'ipc-local: M3-IPC message rates and vcopy bandwidth against pipe, UNIX socket, futex, process_vm_readv and memcpy in one guest',
        'ipc-remote: remote sendrec latency and rate, remote vcopy bandwidth, against raw TCP between two guests',
        'fuzz: the module coverage m3fuzz reaches random and guided (debug kernel), compared',
        "seal: what sealing a link frame costs with each crypto API candidate",
      ].join('\n'),
    )
    .argument('[which]', 'lab, ipc-local, ipc-remote, fuzz or seal')
    .option('--kernel <variants>', 'kernel variant (ipc-local: a list)')
    .option('--cpus <list>', 'ipc-local: vCPU counts, e.g. 1,2,3,4')
    .option('--repeat <n>', 'rounds')
    .option('--iters <n>', 'ipc-local, ipc-remote: messages per round')
    .option('--json', 'results as JSON')
    .option('--accel <accel>', 'auto, kvm or tcg')
    .option('--lab <file>', "ipc-local, ipc-remote: a lab file's machines (VMs or boards)")
    .option('--nodes <n>', 'lab: nodes to boot')
    .option('--seconds <s>', 'fuzz: seconds per run (with --calls: its cap)')
    .option('--arms <list>', 'fuzz: random, guided, swarm, guided+swarm, hints, guided+hints, guided+swarm+hints (the first is the baseline)')
    .option('--calls <n>', 'fuzz: a budget of calls per run instead of time')
    .option('--shard <k/n>', "ipc-local: slice K of N of the matrix's cells")
    .option('--results <dir>', "ipc-local: a shard's results directory")
    .option('--run <name>', 'ipc-local: the run its shards share')
    .option('--slurm', 'ipc-local: the cells as a Slurm job array, merged when it ends')
    .option('--shards <n>', 'with --slurm: how many')
    .option('--max-running <m>', 'with --slurm: at most this many at once')
    .option('--sbatch-arg <arg>', 'with --slurm: an sbatch argument (repeatable)', collect)
    .option('--submit-only', 'with --slurm: submit and return')
    .action(async (which: string | undefined, _o, cmd: Command) => done(await cmdBench(which, flags<BenchFlags>(cmd), argv.slice(1))));

  p.command('run')
    .summary('run vitest suites')
    .description('run vitest suites (on the running lab when it fits, or their own); --shard: vitest\'s slice K of N, into a results directory of its own')
    .argument('[suites...]', '`lab`, or a path')
    .option('--kernel <variant>', 'the kernel of the labs the suites boot')
    .option('--append <args>', 'extra kernel command line')
    .option('--cold', 'every lab boots for real, no snapshot')
    .option('--project <p>', 'the vitest project (default lab)')
    .option('--shard <k/n>', "vitest's slice K of N")
    .option('--results <dir>', "a shard's results directory")
    .option('--run <name>', 'the run its shards share')
    .action(async (suites: string[], o: RunFlags) => done(await cmdRun(o, suites, argv.slice(1))));

  const report = p
    .command('report')
    .summary('the Allure HTML report; report merge: shards as one')
    .description('Allure HTML report from allure-results/; --serve shows it on 127.0.0.1')
    .enablePositionalOptions()
    .option('--serve', 'serve it on 127.0.0.1')
    .option('--port <n>', 'the port to serve on')
    .action(async (o: { serve?: boolean; port?: string }) => done(await cmdReport(o)));
  report
    .command('merge')
    .description("the results directories of a run's shards as one report, one history, each test labelled with the host that ran it")
    .argument('[dirs...]')
    .option('--out <dir>', 'where the merged results and report go')
    .option('--history <file>', 'the history file')
    .option('--expect <n>', 'how many shards there must be')
    .action(async (dirs: string[], o: { out?: string; history?: string; expect?: string }) => done(await cmdMerge(dirs, o)));

  p.command('replay')
    .description('run a failed test again from its evidence bundle (.m3lab/bundles/...): same suite, test, seed, kernel and command line')
    .argument('[bundle...]')
    .option('--print', 'print the command line only')
    .action(async (bundle: string[], o: { print?: boolean }) => done(await cmdReplay(bundle, o)));

  labFlags(p.command('lab'))
    .summary('the main job (make lab): image, lab, suites, report, summary')
    .argument('[suites...]')
    .action(async (suites: string[], _o, cmd: Command) => done(await cmdLab(flags<LabFlags>(cmd), suites)));

  p.command('bisect')
    .summary('git bisect run: the module of each commit built and the test run on a fresh lab')
    .description(
      "git bisect run between GOOD (the test passed) and BAD (it failed): at each commit the module is built against the cached kernels and the test runs on a fresh lab N times with the seed; any failed run marks the commit bad, N passes good, a module that does not build or a broken run skips it. The suites and harness are this clone's. Prints the first bad commit with its evidence bundle. " +
        `Work folder: ${path.join(stateRoot(), 'bisect')}/`,
    )
    .usage('GOOD BAD [options] -- SUITE [-t TEST]')
    .argument('[good]', 'a commit where the test passed')
    .argument('[bad]', 'a commit where it failed')
    .argument('[vitest...]', "after --: the suite, and vitest's -t TEST")
    .option('--repeat <n>', 'runs of the test at each commit, 1..20 (default 3)')
    .option('--seed <s>', `the seed of every run (default ${NIGHTLY_SEED}, the nights' seed)`)
    .option('--project <p>', 'the vitest project whose kernel and setup the test runs with (default lab)')
    .option('--repo <dir>', 'the repository whose history is bisected (default this clone)')
    .option('--kmod <path>', "the module's tree in that repository (default kmod)")
    .option('--keep', "keep the bisection's worktree")
    // The step script git bisect run calls at each commit.
    .addOption(new Option('--step <work>').hideHelp())
    .action(async (good: string | undefined, bad: string | undefined, vitest: string[], o: BisectFlags & { step?: string }) => {
      const { bisectStep, cmdBisect } = await import('./bisect.ts');
      done(o.step !== undefined ? await bisectStep(o.step) : await cmdBisect(good, bad, vitest, o));
    });

  const fuzz = p.command('fuzz').summary("a failed fuzz test cut down to a C reproducer, and the module's line coverage");
  fuzz
    .command('minimize')
    .summary("a failed fuzz test's calls cut down to a C reproducer")
    .description(
      "cut the calls of a failed fuzz test (its evidence bundle) down to a small reproducer: a standalone C program with TAP output (cc -static -pthread -I kmod), tried on a lab node of the bundle's kernel; it must print the bundle's kernel report (--any: any report)",
    )
    .argument('<bundle>', "a fuzz test's evidence bundle (.m3lab/bundles/...)")
    .option('--seconds <s>', 'seconds a trial, 1..600 (default 10)')
    .option('--trials <n>', 'at most this many trials (default 80)')
    .option('--out <file>', 'where the reproducer goes (default BUNDLE/repro.c)')
    .option('--name <text>', "the reproducer's title")
    .option('--any', "any kernel report will do, not only the bundle's")
    .action(async (bundle: string, o: MinimizeFlags) => done(await (await import('./cli/fuzz.ts')).cmdMinimize(bundle, o)));
  fuzz
    .command('coverage')
    .description("the module's line and block coverage from m3fuzz --cover FILE")
    .argument('<cover-file>', 'what m3fuzz --cover wrote')
    .option('--kernel <variant>', 'the kernel the module was built for (default debug)')
    .option('--json', 'as JSON')
    .option('--missed', 'list the lines no run reached')
    .action(async (file: string, o: { kernel?: string; json?: boolean; missed?: boolean }) => done(await (await import('./cli/fuzz.ts')).cmdCoverage(file, o)));

  p.command('fault')
    .summary('break the running lab by hand')
    .description('break the running lab by hand: one fault on one node or several')
    .usage('KIND NODE[,NODE...] [options]')
    .argument('<kind>', 'the fault (kinds below)')
    .argument('<node>', 'a node, or several: node1,node2')
    .option('--for <seconds>', 'heal it after this many seconds, 1..3600 (and at Ctrl-C)')
    .option('--process <name>', 'the process of a kill or stop fault')
    .option('--cpu <n>', 'the CPU of a cpu-offline fault (1 or more)')
    .option('--delay <ms>', 'netem: the delay, 0..10000 ms')
    .option('--loss <pct>', 'netem: the loss, 0..100 %')
    .addHelpText('after', FAULT_HELP_TEXT)
    .action(async (kind: string, node: string, o: FaultFlags) => done(await cmdFault(kind, node, o)));
  p.command('heal')
    .description('heal what m3lab fault broke: all of it, or one fault')
    .usage('[all | KIND NODE] [options]')
    .argument('[what...]')
    .option('--process <name>', 'the process of a kill or stop fault')
    .option('--cpu <n>', 'the CPU of a cpu-offline fault')
    .action(async (what: string[], o: { process?: string; cpu?: string }) => done(await cmdHeal(what, o)));
  const nightly = p
    .command('nightly')
    .summary('suites over the kernel variants and the bench matrix, compared with earlier nights')
    .description(
      `build what is missing, run the suites over the kernel variants and the bench matrix, compare the figures with earlier nights, write one Allure report with history; exit 0 only when the night passed. Results: ${nightlyRoot()} (M3LAB_NIGHTLY_DIR).\n\n` +
        '--shard K/N: only slice K of N (vitest --shard for the suites, the same cut over the bench cells), into a self-contained results directory; merge the N with m3lab report merge. --slurm: the N shards as a Slurm job array, merged by a job that runs when the array ends; waits for it unless --submit-only. See docs/shards.md.',
    )
    .enablePositionalOptions()
    .option('--quick', 'a short night: ipc-local on the default kernel, one bench cell, no fuzzing')
    .option('--suite <file>', 'with --quick: a suite to run instead of ipc-local (repeatable)', collect)
    .option('--lab <file>', 'the lab file the default-kernel suites run on')
    .option('--margin <pct>', 'how far a ratio may move before it is a regression, 0..100 % (default 10)')
    .option('--seed <n>', `the seed of every suite, or random (default ${NIGHTLY_SEED})`)
    .option('--fuzz-seconds <s>', `a full night's seconds of fuzzing on each of the debug and up kernels (default ${NIGHT_FUZZ_SECONDS})`)
    .option('--rounds <n>', 'bench rounds per cell, 1..50 (default 5)')
    .option('--shard <k/n>', 'only slice K of N')
    .option('--results <dir>', `a shard's results directory (default ${path.join(nightlyRoot(), 'shards', 'NIGHT', 'shard-K-of-N')})`)
    .option('--night <name>', 'the name of the night its shards share')
    .option('--slurm', 'the shards as a Slurm job array, merged when it ends')
    .option('--shards <n>', 'with --slurm: how many (default 2)')
    .option('--max-running <m>', 'with --slurm: at most this many at once')
    .option('--sbatch-arg <arg>', 'with --slurm: an sbatch argument (repeatable)', collect)
    .option('--submit-only', 'with --slurm: submit and return')
    .action(async (_o, cmd: Command) => done(await (await import('./nightly/command.ts')).cmdNightly(flags<NightlyFlags>(cmd), argv.slice(1))));
  nightly
    .command('serve')
    .description("a night's report (default: the latest) on http://127.0.0.1:PORT/")
    .argument('[night]', 'the night, by name')
    .option('--port <n>', 'the port to serve on')
    .action(async (night: string | undefined, o: { port?: string }) => done(await (await import('./nightly/command.ts')).serveNight(night, o)));
  errorsNamed(p, 'm3lab');
  return p;
}

/**
 * A usage error names the command and what was wrong with it, and where the
 * right words are: `m3lab up: unknown option '--node' (did you mean --nodes?);
 * m3lab up --help lists its flags`.
 */
function errorsNamed(cmd: Command, name: string): void {
  cmd.configureOutput({
    outputError: (text, write) => {
      const [first, ...more] = text.replace(/^error: /, '').trim().split('\n');
      const hint = more.map((l) => l.replace(/^\((.*)\)$/, '$1')).join(' ');
      write(`${name}: ${first!.replace(/\.$/, '')}${hint ? ` (${hint.charAt(0).toLowerCase()}${hint.slice(1)})` : ''}; ${name} --help lists its ${cmd.commands.length ? 'commands' : 'flags'}\n`);
    },
  });
  for (const c of cmd.commands) errorsNamed(c, `${name} ${c.name()}`);
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const p = program(argv, (c) => (code = c));
  if (argv.length === 0) {
    // No command: the usage, and a usage error's status.
    process.stdout.write(p.helpInformation() + KERNELS_NOTE);
    return 2;
  }
  try {
    await p.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    // Help asked for is success; anything else commander refused (an unknown command or flag, a missing value) is a usage error.
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const err = e as Error;
    if (err instanceof BootError || err instanceof BootPanicError) process.stderr.write(`m3lab: boot failed: ${err.message}\n`);
    else if (err instanceof ConfigError) process.stderr.write(`m3lab: invalid configuration: ${err.message}\n`);
    else if (err instanceof InfraError) process.stderr.write(`m3lab: lab error: ${err.message}\n`);
    else process.stderr.write(`m3lab: ${err.stack ?? err.message}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
}
