import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { BootTimeoutError, InfraError } from '../errors.ts';
import type { SshEndpoint } from '../transport/ssh.ts';
import type { ConsoleLog, Power, Target } from './target.ts';

export interface BoardSpec {
  name: string;
  ssh: SshEndpoint;
  lanAddress: string;
  /** Host commands that switch the board (a PDU, a relay, `ipmitool ...`); optional. */
  powerOn?: string;
  powerOff?: string;
  /** A file a serial logger on the host writes the board's console into; optional. */
  consoleLog?: string;
}

function hostCommand(cmd: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new InfraError(`${what} (${cmd}) exited ${code}: ${err.trim()}`))));
  });
}

function sshPortOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    // An SSH server speaks first: wait for its banner, not just the TCP accept.
    s.once('data', (d: Buffer) => done(d.toString().startsWith('SSH-')));
    s.once('error', () => done(false));
  });
}

/**
 * A real board as a lab Target: reached by SSH only, powered by optional host
 * commands, its console optional. "Booted" means its SSH server answers.
 */
export class BoardTarget implements Target {
  readonly kind = 'board';
  readonly power: Power;
  readonly console: ConsoleLog;
  gone: Promise<string>;
  private goneResolve!: (why: string) => void;
  private on = true;

  constructor(readonly spec: BoardSpec) {
    this.gone = new Promise((r) => (this.goneResolve = r));
    const path = spec.consoleLog ?? '';
    this.console = { path, text: () => (path && existsSync(path) ? readFileSync(path, 'utf8') : '') };
    this.power = {
      on: async () => {
        if (spec.powerOn) await hostCommand(spec.powerOn, `${spec.name}: power on`);
        this.gone = new Promise((r) => (this.goneResolve = r));
        this.on = true;
      },
      off: async () => {
        if (spec.powerOff) await hostCommand(spec.powerOff, `${spec.name}: power off`);
        this.on = false;
        this.goneResolve('powered off');
      },
      kill: async () => {
        if (!spec.powerOff) throw new InfraError(`${spec.name}: no powerOff command, cannot cut power`);
        await hostCommand(spec.powerOff, `${spec.name}: power off`);
        this.on = false;
        this.goneResolve('power cut');
      },
      isOn: () => this.on,
    };
  }

  get name(): string {
    return this.spec.name;
  }

  get ssh(): SshEndpoint {
    return this.spec.ssh;
  }

  get lanAddress(): string {
    return this.spec.lanAddress;
  }

  async waitBooted(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      if (await sshPortOpen(this.spec.ssh.host, this.spec.ssh.port, 2000)) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new BootTimeoutError(`${this.name}: SSH did not answer before the deadline`, this.name, this.console.text().slice(-4000));
  }
}
