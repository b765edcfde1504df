import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { excerpt } from '../console/scan.ts';
import { findReports } from '../console/kernel-reports.ts';
import { BootPanicError } from '../verdict/verdict.ts';
import { BootError, BootTimeoutError, InfraError } from '../errors.ts';
import { startLongLived } from '../host/long-lived.ts';
import { isAlive, signalIfOurs, stopProcess } from '../host/procs.ts';
import { waitUntil } from '../host/wait.ts';
import type { ConsoleLog, Power, Target } from '../target/target.ts';
import type { SshEndpoint } from '../transport/ssh.ts';
import { cpuModel, type Accel } from './accel.ts';
import { QmpClient } from './qmp.ts';

export interface QemuNodeSpec {
  name: string;
  index: number;
  dir: string;
  kernel: string;
  initrd: string;
  cpus: number;
  maxcpus: number;
  /** CPU packages (absent in labs recorded before it existed: one). */
  sockets?: number;
  memoryMb: number;
  append: string;
  accel: Accel;
  sshPort: number;
  lanSocket?: string;
  lanAddress: string;
  lanPrefix: number;
  privateKey: string;
  /**
   * A second serial port on this Unix socket: a snapshot's template waits on it,
   * and a restored node gets its identity through it (snapshot.ts).
   */
  ctlSocket?: string;
  /** Started to load a snapshot: QEMU waits for migrate-incoming (-incoming defer). */
  incoming?: boolean;
}

export function macs(index: number): { mgmt: string; lan: string } {
  const hex = index.toString(16).padStart(2, '0');
  return { mgmt: `52:54:00:4d:00:${hex}`, lan: `52:54:00:4c:00:${hex}` };
}

export const READY_MARKER = 'M3LAB-READY';

/** Bounds on console silence before a guest is ready (waitBooted). */
export interface BootStallGuard {
  /** Silence at any point of the boot. */
  silentMs: number;
  /** Silence while the last printk timestamp is still below 1 s of uptime. */
  earlyMs: number;
}

/** The uptime of the console's last timestamped kernel line (`[    0.521609] ...`). */
export function lastUptime(text: string): number | undefined {
  const tail = text.slice(-4000);
  let last: number | undefined;
  for (const m of tail.matchAll(/^\[\s*(\d+\.\d+)\]/gm)) last = Number(m[1]);
  return last;
}

/** The full QEMU command line for one node; stored in the lab state so a node can be restarted. */
export function qemuArgs(s: QemuNodeSpec): string[] {
  const mac = macs(s.index);
  const cmdline = [
    'console=ttyS0',
    'loglevel=5',
    'panic=-1',
    'cryptomgr.notests',
    `m3lab.name=${s.name}`,
    `m3lab.mgmtmac=${mac.mgmt}`,
    `m3lab.lanmac=${mac.lan}`,
    `m3lab.lan=${s.lanAddress}/${s.lanPrefix}`,
    s.append,
  ].filter(Boolean).join(' ');
  const sockets = s.sockets ?? 1;
  const smp = [`${s.cpus}`, s.maxcpus > s.cpus ? `maxcpus=${s.maxcpus}` : '', sockets > 1 ? `sockets=${sockets},cores=${s.maxcpus / sockets},threads=1` : ''].filter(Boolean).join(',');
  const args = [
    '-name', `m3lab-${s.name},debug-threads=on`,
    '-accel', s.accel,
    '-cpu', cpuModel(s.accel),
    '-smp', smp,
    '-m', `${s.memoryMb}`,
    '-display', 'none',
    '-nodefaults',
    '-no-reboot',
    // append: a restarted node's console continues the same file, never truncated.
    '-chardev', `file,id=con0,path=${path.join(s.dir, 'console.log')},append=on`,
    '-serial', 'chardev:con0',
    '-qmp', `unix:${path.join(s.dir, 'qmp.sock')},server=on,wait=off`,
    '-pidfile', path.join(s.dir, 'qemu.pid'),
    // A guest panic makes QEMU exit with status 1 at once (pvpanic), so a dead
    // kernel is told apart from a host-side kill without waiting for SSH.
    '-device', 'pvpanic',
    '-action', 'panic=exit-failure',
    '-kernel', s.kernel,
    '-initrd', s.initrd,
    '-append', cmdline,
    // restrict=on: the guest reaches nothing through user networking; only the
    // forwarded SSH port comes in.
    '-netdev', `user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:${s.sshPort}-:22`,
    '-device', `virtio-net-pci,netdev=mgmt,mac=${mac.mgmt},romfile=`,
  ];
  if (s.lanSocket) {
    args.push('-netdev', `vde,id=lan,sock=${s.lanSocket}`, '-device', `virtio-net-pci,netdev=lan,mac=${mac.lan},romfile=`);
  }
  if (s.ctlSocket) args.push('-chardev', `socket,id=ctl,path=${s.ctlSocket},server=on,wait=off`, '-serial', 'chardev:ctl');
  if (s.incoming) args.push('-incoming', 'defer');
  return args;
}

class FileConsole implements ConsoleLog {
  constructor(readonly path: string) {}
  text(): string {
    return existsSync(this.path) ? readFileSync(this.path, 'utf8') : '';
  }
}

/** A QEMU x86 VM as a lab Target. */
export class QemuTarget implements Target {
  readonly kind = 'qemu';
  readonly console: FileConsole;
  readonly ssh: SshEndpoint;
  readonly power: Power;
  pid?: number;
  private goneResolve!: (why: string) => void;
  gone!: Promise<string>;
  private poller?: NodeJS.Timeout;
  private exitNote = '';
  /** Console length when this power-on began: the boot is judged from here. */
  bootMark = 0;
  /** Host ms of this power-on's QEMU start, and of its ready marker (boot phases). */
  startedAt?: number;
  bootedAt?: number;

  constructor(readonly spec: QemuNodeSpec, pid?: number) {
    this.console = new FileConsole(path.join(spec.dir, 'console.log'));
    this.ssh = { host: '127.0.0.1', port: spec.sshPort, username: 'root', privateKey: spec.privateKey };
    this.resetGone();
    if (pid !== undefined) {
      this.pid = pid;
      this.watch();
    }
    this.power = {
      on: () => this.start(),
      off: (graceMs = 3000) => this.stop(graceMs),
      kill: () => this.hardKill(),
      isOn: () => this.pid !== undefined && isAlive(this.pid),
    };
  }

  get name(): string {
    return this.spec.name;
  }

  get lanAddress(): string {
    return this.spec.lanAddress;
  }

  get argv(): string[] {
    return qemuArgs(this.spec);
  }

  private resetGone(): void {
    this.gone = new Promise((r) => (this.goneResolve = r));
  }

  private async start(): Promise<void> {
    if (this.power.isOn()) return;
    this.resetGone();
    this.exitNote = '';
    this.bootMark = this.console.text().length;
    this.startedAt = Date.now();
    this.bootedAt = undefined;
    const errPath = path.join(this.spec.dir, 'qemu.stderr');
    const errFd = openSync(errPath, 'w');
    // Detached: a lab from `m3lab up` outlives the command; teardown code and the
    // stale-lab sweep stop it by PID.
    const started = startLongLived('qemu-system-x86_64', this.argv, { detached: true, stdout: errFd, stderr: errFd });
    closeSync(errFd);
    const qemu = await started.catch((e: Error) => {
      throw new InfraError(`${this.name}: cannot start qemu-system-x86_64: ${e.message}`);
    });
    this.pid = qemu.pid;
    qemu.subprocess.once('exit', (code, signal) => {
      this.exitNote = signal ? `QEMU killed by ${signal}` : code === 1 && this.panickedOnConsole() ? 'guest kernel panicked (pvpanic: QEMU exited with status 1)' : `QEMU exited with code ${code}`;
      this.markGone();
    });
    this.watch();
  }

  /** For a lab we attached to (not our child): poll the PID. */
  private watch(): void {
    clearInterval(this.poller);
    this.poller = setInterval(() => {
      if (this.pid !== undefined && !isAlive(this.pid)) {
        // Not our child: no exit status. The console says whether the guest took QEMU down.
        this.exitNote ||= this.panickedOnConsole() ? 'guest kernel panicked (the console shows it; QEMU exited)' : 'QEMU process is gone';
        this.markGone();
      }
    }, 200);
    this.poller.unref();
  }

  private markGone(): void {
    clearInterval(this.poller);
    this.poller = undefined;
    this.goneResolve(this.exitNote);
  }

  stderrText(): string {
    const p = path.join(this.spec.dir, 'qemu.stderr');
    return existsSync(p) ? readFileSync(p, 'utf8').trim() : '';
  }

  /** A panic in the console since this machine's last boot (an attached lab's bootMark is 0). */
  private panickedOnConsole(): boolean {
    const text = this.console.text();
    const lastBoot = Math.max(this.bootMark, text.lastIndexOf('Linux version '));
    return /Kernel panic - not syncing/.test(text.slice(Math.max(0, lastBoot)));
  }

  /**
   * Until the guest printed its ready marker. With a `stall` guard, a console
   * that printed nothing for `silentMs`, or for `earlyMs` while the kernel's
   * own clock has not passed its first second, also ends the wait
   * (BootTimeoutError): a guest halted in boot need not wait out the whole
   * deadline. The early bound is the tighter one because a healthy kernel
   * leaves its first second of uptime within seconds of wall time (its printk
   * clock runs on the host's), while later in a debug boot the console is
   * normally silent for half a minute.
   */
  async waitBooted(deadline: number, stall?: BootStallGuard, marker = `${READY_MARKER} ${this.name}`): Promise<void> {
    let exited: string | undefined;
    let bytes = this.consoleBytes();
    let grew = Date.now();
    void this.gone.then((why) => (exited = why));
    let text = '';
    let found: ReturnType<typeof findReports> = [];
    // A report storm can keep a kernel from ever getting ready: judged once ready, and at the deadline too.
    const storm = () => new BootPanicError(this.name, excerpt(text, found[0]!.startLine, 5, 60), found.map((report) => ({ node: this.name, report })), 'kernel report during boot');
    await waitUntil(
      () => {
        text = this.console.text().slice(this.bootMark);
        found = findReports(text);
        const fatal = found.filter((r) => r.fatal);
        if (fatal.length) {
          // Every report before the panic explains it; all are attached.
          throw new BootPanicError(this.name, excerpt(text, fatal[0]!.startLine, 30, 20), found.map((report) => ({ node: this.name, report })));
        }
        const ready = text.includes(marker);
        if (found.length && ready) throw storm();
        if (ready) {
          this.bootedAt ??= Date.now();
          return true;
        }
        if (exited !== undefined) {
          const err = this.stderrText();
          throw new BootError(`${this.name}: ${exited} before the guest was ready${err ? `: ${err}` : ''}`, this.name, excerpt(text));
        }
        // Past the deadline the wait's own end says why (below), before any stall does.
        if (Date.now() > deadline) return false;
        const now = this.consoleBytes();
        if (now !== bytes) {
          bytes = now;
          grew = Date.now();
        } else if (stall) {
          const silent = Date.now() - grew;
          if (silent > stall.silentMs) {
            throw new BootTimeoutError(`${this.name}: console silent for ${Math.round(silent / 1000)} s before the guest was ready`, this.name, excerpt(text));
          }
          const uptime = silent > stall.earlyMs ? lastUptime(text) : undefined;
          if (uptime !== undefined && uptime < 1) {
            throw new BootTimeoutError(`${this.name}: kernel stalled in its first second of uptime (console silent at [${uptime.toFixed(6)}] for ${Math.round(silent / 1000)} s)`, this.name, excerpt(text));
          }
        }
        return false;
      },
      { what: `${this.name}'s ready marker`, deadline, intervalMs: 100, timeoutError: () => (found.length ? storm() : new BootTimeoutError(`${this.name}: not ready before the boot deadline`, this.name, excerpt(text))) },
    );
  }

  private async stop(graceMs: number): Promise<void> {
    if (this.pid === undefined) return;
    await stopProcess(this.pid, this.spec.dir, graceMs);
    this.markGone();
  }

  private async hardKill(): Promise<void> {
    if (this.pid === undefined) return;
    signalIfOurs(this.pid, this.spec.dir, 'SIGKILL');
  }

  /** A QMP session to this VM (CPU hotplug, link up/down, quit). */
  async qmp(): Promise<QmpClient> {
    const q = new QmpClient(path.join(this.spec.dir, 'qmp.sock'));
    await q.connect();
    return q;
  }

  /**
   * Hot-adds the next free vCPU (QMP device_add with the slot QEMU offers); the
   * guest sees it present but offline until something onlines it. Returns its id.
   */
  async hotplugCpu(): Promise<string> {
    const q = await this.qmp();
    try {
      const slots = await q.execute<{ type: string; props: Record<string, number>; 'qom-path'?: string }[]>('query-hotpluggable-cpus');
      const free = slots.filter((x) => !x['qom-path']).sort((a, b) => (a.props['core-id'] ?? 0) - (b.props['core-id'] ?? 0) || (a.props['socket-id'] ?? 0) - (b.props['socket-id'] ?? 0))[0];
      if (!free) throw new InfraError(`${this.name}: no free vCPU slot (maxcpus ${this.spec.maxcpus})`);
      const id = `hcpu${free.props['socket-id'] ?? 0}-${free.props['core-id'] ?? 0}-${free.props['thread-id'] ?? 0}`;
      await q.execute('device_add', { driver: free.type, id, ...free.props });
      return id;
    } finally {
      q.close();
    }
  }

  /** Hot-removes a vCPU added by hotplugCpu; waits for QEMU's DEVICE_DELETED (the guest must let it go). */
  async unplugCpu(id: string, timeoutMs = 15000): Promise<void> {
    const q = await this.qmp();
    try {
      const deleted = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new InfraError(`${this.name}: vCPU ${id} not released in ${timeoutMs} ms`)), timeoutMs);
        // QEMU 7.2 reports the vCPU's removal by its path (its lapic child first).
        q.on('event', (e: { event: string; data?: { device?: string; path?: string } }) => {
          if (e.event === 'DEVICE_DELETED' && (e.data?.device === id || e.data?.path?.startsWith(`/machine/peripheral/${id}`))) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      await q.execute('device_del', { id });
      await deleted;
    } finally {
      q.close();
    }
  }

  consoleBytes(): number {
    return existsSync(this.console.path) ? statSync(this.console.path).size : 0;
  }

  dispose(): void {
    clearInterval(this.poller);
  }
}
