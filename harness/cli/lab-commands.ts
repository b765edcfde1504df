// The commands that bring a lab up, show it, reach into it and take it down (up, status, ssh, down, lab).
import { existsSync } from 'node:fs';
import { ConfigError, InfraError } from '../errors.ts';
import { readFaults } from '../faults/store.ts';
import { parseKernelList, type KernelVariant } from '../image/kernel/variants.ts';
import { Lab, currentLabDir, readState, sweepStale } from '../lab/lab.ts';
import { loadLabFile, resolveLab, type LabOptions } from '../lab/lab-file.ts';
import { labJob } from '../lab-job.ts';
import { parseTable } from '../m3/procfs.ts';
import { qemuVersionOnce } from '../report/environment.ts';
import { SshTransport, type SshEndpoint } from '../transport/ssh.ts';
import { faultStatusLines } from './fault.ts';

const log = (l: string) => process.stderr.write(`${l}\n`);

/** --cold: every lab of this command (and of the suites it runs) boots for real, no snapshot. */
export function coldIf(cold: boolean | undefined): void {
  if (cold) process.env.M3LAB_COLD = '1';
}

/** The flags of `m3lab up` (and, but for --json, of `m3lab lab`): the lab file's overrides. */
export interface LabFlags {
  nodes?: string;
  cpus?: string;
  maxcpus?: string;
  sockets?: string;
  memory?: string;
  accel?: string;
  append?: string;
  lab?: string;
  kernel?: string;
  cold?: boolean;
}

/** The lab file's overrides from the flags, each checked (errors name the flag). */
export function labOptions(values: LabFlags): LabOptions {
  const num = (k: string) => {
    const v = values[k as keyof LabFlags];
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
    append: values.append,
    accel: values.accel as LabOptions['accel'],
    kernel: values.kernel === undefined ? undefined : oneKernel(values.kernel),
  };
}

export function oneKernel(v: string): KernelVariant {
  const list = parseKernelList(v);
  if (list.length !== 1) throw new ConfigError('--kernel', `names one kernel variant here, got ${v}`);
  return list[0]!;
}

export async function cmdUp(values: LabFlags & { json?: boolean }): Promise<number> {
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

export async function cmdStatus(values: { json?: boolean }): Promise<number> {
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

export async function cmdSsh(name: string | undefined, rest: string[]): Promise<number> {
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

export async function cmdDown(): Promise<number> {
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

/** `m3lab lab`: the main job (make lab) on the default lab or the one that is up. */
export async function cmdLab(values: LabFlags, suites: string[]): Promise<number> {
  coldIf(values.cold);
  return labJob({ labFile: values.lab, overrides: labOptions(values), suites });
}
