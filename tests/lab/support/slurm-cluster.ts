import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from '../../../harness/host/procs.ts';
import { waitUntil } from '../../../harness/host/wait.ts';
import { hostFactor, scaled } from '../../../harness/verdict/time-scale.ts';

/**
 * A one-host Slurm cluster from Debian's packages (slurmctld, slurmd, munge),
 * all of it under a temp dir: munged with its own key, socket, pid and log;
 * a generated slurm.conf on 127.0.0.1 with ports picked free now, state and
 * spool folders of its own, no accounting. Nothing of the system's (no
 * /etc/munge, /etc/slurm, no systemd, no default ports) is used or touched.
 *
 * stop() cancels every job left, waits for their steps to end, then stops
 * slurmd, slurmctld and munged by the PIDs this process started; it also runs
 * on SIGINT, SIGTERM and exit, so no daemon outlives the test.
 */
export interface SlurmCluster {
  dir: string;
  conf: string;
  /** Environment for the Slurm clients (sbatch, squeue, scontrol): SLURM_CONF. */
  env: Record<string, string>;
  node: string;
  daemons: { name: string; pid: number }[];
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 now (the kernel's pick). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const started: { name: string; child: ChildProcess }[] = [];
let hooked = false;

/** Synchronous: what a signal or exit may still do. */
function killAll(sig: NodeJS.Signals): void {
  for (const d of started) if (d.child.pid && isAlive(d.child.pid)) d.child.kill(sig);
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => killAll('SIGKILL'));
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll('SIGTERM');
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Probes every 250 ms until it answers true; at the bound, an error with the tail of each log. */
function waitFor(what: string, deadlineMs: number, probe: () => Promise<true | undefined>, logs: string[]): Promise<true> {
  return waitUntil(probe, {
    what: `slurm cluster: ${what}`,
    timeoutMs: deadlineMs,
    intervalMs: 250,
    timeoutError: () => new Error(`slurm cluster: ${what} not within ${Math.round(deadlineMs / 1000)} s\n${logs.filter((f) => existsSync(f)).map((f) => `--- ${f} ---\n${readFileSync(f, 'utf8').split('\n').slice(-15).join('\n')}`).join('\n')}`),
  });
}

/** Daemon binaries as Debian installs them (slurmctld, slurmd: /usr/sbin; munged: /usr/sbin). */
function daemon(name: string, args: string[], env: Record<string, string>, log: string): ChildProcess {
  const out = openSync(log, 'a');
  const child = spawn(name, args, { env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
  started.push({ name, child });
  return child;
}

export async function startSlurmCluster(o: { cpus?: number; log?: (l: string) => void } = {}): Promise<SlurmCluster> {
  hook();
  const log = o.log ?? (() => {});
  // Bounds of the bring-up are base figures on an idle host, scaled like the lab's.
  const scale = hostFactor();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'm3lab-slurm-'));
  chmodSync(dir, 0o755);
  for (const d of ['munge', 'state', 'spool', 'log']) mkdirSync(path.join(dir, d), { mode: 0o700 });
  const f = (...p: string[]) => path.join(dir, ...p);
  const mine = started.length;

  // munge: its own key and socket (munged refuses a key or folder others can write).
  const key = f('munge', 'munge.key');
  const mk = await execa('mungekey', ['--create', `--keyfile=${key}`, '--bits=1024'], { reject: false, all: true });
  if (mk.exitCode !== 0) throw new Error(`mungekey: ${mk.all}`);
  chmodSync(key, 0o600);
  const socket = f('munge', 'munge.socket');
  const mungeArgs = ['--foreground', '--force', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${f('munge', 'munged.pid')}`, `--log-file=${f('log', 'munged.log')}`, `--seed-file=${f('munge', 'munged.seed')}`, '--num-threads=2'];
  const munged = daemon('munged', mungeArgs, {}, f('log', 'munged.out'));
  await waitFor('munged socket', scaled(10_000, scale), async () => (existsSync(socket) ? true : undefined), [f('log', 'munged.log'), f('log', 'munged.out')]);

  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const host = os.hostname().split('.')[0]!;
  const node = 'm3labnode';
  const cpus = o.cpus ?? os.cpus().length;
  const memMb = Math.floor(os.totalmem() / 2 ** 20 / 2);
  const conf = f('slurm.conf');
  writeFileSync(
    conf,
    [
      '# A one-host test cluster (tests/lab/support/slurm-cluster.ts): loopback, private ports and folders.',
      'ClusterName=m3labtest',
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${f('state')}`,
      `SlurmdSpoolDir=${f('spool')}`,
      `SlurmctldPidFile=${f('slurmctld.pid')}`,
      `SlurmdPidFile=${f('slurmd.pid')}`,
      `SlurmctldLogFile=${f('log', 'slurmctld.log')}`,
      `SlurmdLogFile=${f('log', 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      'SchedulerType=sched/backfill',
      'MpiDefault=none',
      'ReturnToService=2',
      // Bind to the NodeAddr/SlurmctldHost address (127.0.0.1), not to every interface of the host.
      'CommunicationParameters=NoInAddrAny',
      // Jobs stay known to scontrol for a while after they end (no accounting here).
      'MinJobAge=600',
      'KillWait=30',
      `NodeName=${node} NodeHostname=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${memMb} State=UNKNOWN`,
      `PartitionName=m3lab Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const env = { SLURM_CONF: conf };
  const ctld = daemon('slurmctld', ['-D', '-i', '-f', conf], env, f('log', 'slurmctld.out'));
  const slurmd = daemon('slurmd', ['-D', '-N', node, '-f', conf], env, f('log', 'slurmd.out'));
  const logs = [f('log', 'slurmctld.log'), f('log', 'slurmd.log'), f('log', 'slurmctld.out'), f('log', 'slurmd.out')];
  const cluster: SlurmCluster = {
    dir,
    conf,
    env,
    node,
    daemons: [
      { name: 'munged', pid: munged.pid! },
      { name: 'slurmctld', pid: ctld.pid! },
      { name: 'slurmd', pid: slurmd.pid! },
    ],
    stop: async () => {
      // Jobs first: a job step (slurmstepd and the job's processes) outlives a stopped slurmd.
      if (isAlive(ctld.pid!)) {
        await execa('scancel', ['--full', '--partition=m3lab'], { env: { ...process.env, ...env }, reject: false });
        // Bounded: at the bound the daemons are stopped all the same.
        await waitUntil(
          async () => {
            const q = await execa('squeue', ['-h', '-o', '%i'], { env: { ...process.env, ...env }, reject: false });
            return q.exitCode !== 0 || !q.stdout.trim();
          },
          { what: 'the cancelled jobs to leave the queue', timeoutMs: scaled(60_000, scale), intervalMs: 500, onTimeout: 'return' },
        );
      }
      // Then the daemons, newest first, by the PIDs started here.
      for (const d of started.splice(mine).reverse()) {
        const pid = d.child.pid;
        if (!pid || !isAlive(pid)) continue;
        d.child.kill('SIGTERM');
        await waitUntil(() => !isAlive(pid), { what: `${d.name} (${pid}) to end after SIGTERM`, timeoutMs: scaled(10_000, scale), intervalMs: 100, onTimeout: 'return' });
        if (isAlive(pid)) d.child.kill('SIGKILL');
        // No bound: SIGKILL ends it.
        await waitUntil(() => !isAlive(pid), { what: `${d.name} (${pid}) to end after SIGKILL`, deadline: Infinity, intervalMs: 50 });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(`node ${node} idle`, scaled(30_000, scale), async () => {
      const r = await execa('sinfo', ['-h', '-N', '-o', '%N %T'], { env: { ...process.env, ...env }, reject: false });
      return r.exitCode === 0 && new RegExp(`^${node} idle`, 'm').test(r.stdout) ? true : undefined;
    }, logs);
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  log(`slurm: cluster up in ${dir}: slurmctld :${ctldPort}, slurmd :${slurmdPort} (127.0.0.1), munged ${socket}; node ${node} with ${cpus} CPU(s)`);
  return cluster;
}

/** slurmstepd processes of this cluster (its SLURM_CONF is in their environment): none may be left. */
export function clusterSteps(conf: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const comm = readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      if (!comm.startsWith('slurmstepd')) continue;
      if (readFileSync(`/proc/${p}/environ`, 'utf8').includes(conf) && isAlive(Number(p))) out.push(Number(p));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}
