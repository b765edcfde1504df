import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { excerpt } from '../console/scan.ts';
import { BootTimeoutError, InfraError } from '../errors.ts';
import type { BoardSpec } from './board-spec.ts';
import { findReports } from '../console/kernel-reports.ts';
import { BootPanicError } from '../verdict/verdict.ts';
import type { SshEndpoint } from '../transport/ssh.ts';
import { CaptureConsole } from './capture-console.ts';
import { hostCommand } from './host-command.ts';
import { waitUntil } from '../host/wait.ts';
import type { Power, Target } from './target.ts';

/** Resolves whether an SSH server answers at host:port (its banner, not just a TCP accept). */
export function sshAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('data', (d: Buffer) => done(d.toString().startsWith('SSH-')));
    s.once('error', () => done(false));
    // QEMU's user network accepts a forwarded port before the guest listens, then closes it
    // cleanly: no data, no error, and no idle timeout once closed. Unheard, that probe never
    // answered, and a board's bring-up waited on it past every bound (two make test runs).
    s.once('close', () => done(false));
  });
}

/**
 * A real board as a lab Target. The lab does not start it: power is the host
 * commands of its lab-file entry (each bounded by its timeout), the console is
 * the harness's own capture of the console command's output (so the same
 * report table scans it), the command channel is SSH. "Booted" means its SSH
 * server answers; a panic on the console before that fails the boot.
 */
export class BoardTarget implements Target {
  readonly kind = 'board';
  readonly power: Power & { cycle(): Promise<void> };
  readonly console: CaptureConsole;
  readonly ssh: SshEndpoint;
  gone!: Promise<string>;
  private goneResolve!: (why: string) => void;
  private on = true;
  /** Console length when this power-on began: the boot is judged from here. */
  bootMark = 0;

  constructor(readonly spec: BoardSpec, readonly dir: string, consolePid?: number) {
    this.resetGone();
    this.console = new CaptureConsole(spec.name, path.join(dir, 'console.log'), spec.console, consolePid);
    this.ssh = { host: spec.ssh.host, port: spec.ssh.port, username: spec.ssh.user, privateKey: readKey(spec) };
    const p = spec.power;
    const run = (what: 'on' | 'off' | 'cycle', cmd: string) => hostCommand(cmd, `${spec.name}: power ${what}`, p!.timeoutMs, path.join(dir, 'power.log'));
    const noPower = (what: string) => new InfraError(`${spec.name}: the board has no power commands in the lab file (boards[].power), so the harness cannot ${what}; it can only reboot it through SSH`);
    this.power = {
      on: async () => {
        if (!p) return;
        // Console first: nothing the board prints after power-on is missed.
        await this.console.start();
        this.bootMark = this.console.text().length;
        await run('on', p.on);
        this.resetGone();
        this.on = true;
      },
      off: async () => {
        if (!p) throw noPower('power it off');
        await run('off', p.off);
        this.markOff('powered off');
      },
      kill: async () => {
        if (!p) throw noPower('cut its power');
        await run('off', p.off);
        this.markOff('power cut');
      },
      cycle: async () => {
        if (!p) throw noPower('power-cycle it');
        if (!p.cycle) {
          await this.power.off();
          await this.power.on();
          return;
        }
        await this.console.start();
        this.bootMark = this.console.text().length;
        this.markOff('power-cycled');
        await run('cycle', p.cycle);
        this.resetGone();
        this.on = true;
      },
      isOn: () => this.on,
    };
  }

  get name(): string {
    return this.spec.name;
  }

  get lanAddress(): string {
    return this.spec.lanAddress;
  }

  get hasPower(): boolean {
    return this.spec.power !== undefined;
  }

  private resetGone(): void {
    this.gone = new Promise((r) => (this.goneResolve = r));
  }

  private markOff(why: string): void {
    this.on = false;
    this.goneResolve(why);
  }

  /** Marks the start of a boot the harness did not power (a reboot through SSH). */
  markBoot(): void {
    this.bootMark = this.console.text().length;
  }

  async waitBooted(deadline: number): Promise<void> {
    const { host, port } = this.spec.ssh;
    let text = '';
    await waitUntil(
      async () => {
        text = this.console.text().slice(this.bootMark);
        const found = findReports(text);
        const fatal = found.filter((r) => r.fatal);
        if (fatal.length) throw new BootPanicError(this.name, excerpt(text, fatal[0]!.startLine, 30, 20), found.map((report) => ({ node: this.name, report })));
        return sshAnswers(host, port, 2000);
      },
      { what: `${this.name}'s SSH`, deadline, intervalMs: 300, timeoutError: () => new BootTimeoutError(`${this.name}: SSH at ${host}:${port} did not answer before the boot deadline`, this.name, excerpt(text)) },
    );
  }

  /** Waits until SSH stops answering (a reboot through SSH has begun), up to the deadline. */
  async waitDown(deadline: number): Promise<void> {
    await waitUntil(async () => !(await sshAnswers(this.spec.ssh.host, this.spec.ssh.port, 1000)), {
      what: `${this.name}'s SSH to stop answering`,
      deadline,
      intervalMs: 300,
      timeoutError: () => new InfraError(`${this.name}: still answering SSH after the reboot was asked for`),
    });
  }
}

function readKey(spec: BoardSpec): string {
  try {
    return readFileSync(spec.ssh.keyFile, 'utf8');
  } catch (e) {
    throw new InfraError(`${spec.name}: cannot read its SSH key ${spec.ssh.keyFile} (boards[].ssh.key): ${(e as Error).message}`);
  }
}
