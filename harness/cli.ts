// The command line: every command, its flags and its help, declared with commander; the work is in harness/cli/.
import { Command, CommanderError } from 'commander';
import { BootError, ConfigError, InfraError } from './errors.ts';
import { buildImage } from './image/build.ts';
import { buildKernel } from './image/kernel/build.ts';
import { parseKernelList } from './image/kernel/variants.ts';
import { BootPanicError } from './verdict/verdict.ts';
import { cmdBench, type BenchFlags } from './cli/bench.ts';
import { cmdFault, cmdHeal } from './cli/fault.ts';
import { cmdDown, cmdLab, cmdSsh, cmdStatus, cmdUp, oneKernel, type LabFlags } from './cli/lab-commands.ts';
import { cmdMerge, cmdReplay, cmdReport, cmdRun, type RunFlags } from './cli/tests-and-reports.ts';

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

/**
 * Commands that parse their own flags and print their own help (fault, fuzz,
 * nightly, bisect): their words reach them as given, `--` and all.
 */
function ownParsing(program: Command, name: string, summary: string, run: (argv: string[]) => Promise<number>, done: (code: number) => void): void {
  program
    .command(name)
    .summary(summary)
    .description(`${summary} (m3lab ${name} --help)`)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .argument('[args...]')
    .action(async (args: string[]) => done(await run(args)));
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
    .option('--arms <list>', 'fuzz: random, guided, swarm, guided+swarm (the first is the baseline)')
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

  ownParsing(p, 'bisect', 'git bisect run: the module of each commit built and the test run on a fresh lab', async (a) => (await import('./bisect.ts')).cmdBisect(a), done);
  ownParsing(p, 'fuzz', "a failed fuzz test cut down to a C reproducer, and the module's line coverage", async (a) => (await import('./cli/fuzz.ts')).cmdFuzz(a), done);
  ownParsing(p, 'fault', 'break the running lab by hand', cmdFault, done);
  p.command('heal')
    .description('heal what m3lab fault broke: all of it, or one fault')
    .usage('[all | KIND NODE] [options]')
    .argument('[what...]')
    .option('--process <name>', 'the process of a kill or stop fault')
    .option('--cpu <n>', 'the CPU of a cpu-offline fault')
    .action(async (what: string[], o: { process?: string; cpu?: string }) => done(await cmdHeal(what, o)));
  ownParsing(p, 'nightly', 'suites over the kernel variants and the bench matrix, compared with earlier nights', async (a) => (await import('./nightly/command.ts')).cmdNightly(a), done);
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
    const err = e as Error & { code?: string };
    if (typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`m3lab ${argv[0]}: ${err.message.split('. ')[0]} (m3lab ${argv[0]} --help lists its flags)\n`);
      return 2;
    }
    if (err instanceof BootError || err instanceof BootPanicError) process.stderr.write(`m3lab: boot failed: ${err.message}\n`);
    else if (err instanceof ConfigError) process.stderr.write(`m3lab: invalid configuration: ${err.message}\n`);
    else if (err instanceof InfraError) process.stderr.write(`m3lab: lab error: ${err.message}\n`);
    else process.stderr.write(`m3lab: ${err.stack ?? err.message}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
}
