import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { InfraError } from '../errors.ts';
import { startLongLived } from '../host/long-lived.ts';
import { stopProcess } from '../host/procs.ts';
import { waitUntil } from '../host/wait.ts';

/**
 * The private inter-node LAN: one VDE switch per lab. Frames travel over unix
 * sockets only, so the LAN needs no root and can never leak onto a host network.
 */
export class VdeSwitch {
  constructor(readonly dir: string, public pid?: number) {}

  get ctl(): string {
    return path.join(this.dir, 'vde.ctl');
  }

  get mgmt(): string {
    return path.join(this.dir, 'vde.mgmt');
  }

  async start(): Promise<void> {
    const pidFile = path.join(this.dir, 'vde.pid');
    // -d daemonizes and chdirs to /: every path must be absolute.
    const res = await execa('vde_switch', ['-s', this.ctl, '-M', this.mgmt, '-d', '-p', pidFile], { reject: false, all: true });
    if (res.exitCode !== 0) throw new InfraError(`vde_switch failed to start: ${res.all}`);
    await waitUntil(() => existsSync(pidFile) && existsSync(this.mgmt), { what: "vde_switch's pid file and management socket", timeoutMs: 5000, intervalMs: 20, onTimeout: 'return' });
    if (!existsSync(pidFile)) throw new InfraError('vde_switch did not write its pid file');
    this.pid = Number(readFileSync(pidFile, 'utf8').trim());
  }

  /** One management command (e.g. `port/setvlan 3 2`); returns its output lines. */
  command(cmd: string, timeoutMs = 3000): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection(this.mgmt);
      let out = '';
      let sent = false;
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new InfraError(`vde ${cmd}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => {
        out += d;
        if (!sent && out.includes('vde$ ')) {
          sent = true;
          out = '';
          sock.write(`${cmd}\n`);
          return;
        }
        // Commands that print data answer "0000 DATA END WITH '.'", the lines, a
        // lone ".", then the status line (1000 Success, or 1xxx and a reason).
        const m = out.match(/^(1\d{3}) (.*)$/m);
        if (sent && m) {
          clearTimeout(timer);
          sock.end();
          const data = out
            .slice(0, m.index)
            .split('\n')
            .filter((l) => !/^0000 DATA/.test(l) && l.trim() !== '.')
            .join('\n')
            .trim();
          if (m[1] === '1000') resolve(data);
          else reject(new InfraError(`vde ${cmd}: ${m[1]} ${m[2]}`));
        }
      });
      sock.on('error', (e) => {
        clearTimeout(timer);
        reject(new InfraError(`vde ${cmd}: ${e.message}`));
      });
    });
  }

  /**
   * A cable from this switch to another VDE switch (the boards' LAN): dpipe
   * joins two vde_plugs, one on each switch. dpipe makes itself a session
   * leader (so it is not spawned detached: setsid would fail), which outlives
   * this process for a lab left up; the lab stops it and its plugs as a group
   * by PID (its command line names this switch's folder).
   */
  async cableTo(otherCtl: string): Promise<number> {
    if (!existsSync(otherCtl)) throw new InfraError(`lan.uplink: no VDE switch at ${otherCtl}`);
    let cable;
    try {
      cable = await startLongLived('dpipe', ['vde_plug', this.ctl, '=', 'vde_plug', otherCtl], { detached: false, stdout: 'ignore', stderr: 'pipe' });
    } catch {
      throw new InfraError(`cannot cable the lab LAN to ${otherCtl}: dpipe vde_plug exited (-1): `);
    }
    const { subprocess } = cable;
    let err = '';
    subprocess.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = await new Promise<number | null | 'running'>((resolve) => {
      subprocess.once('exit', (code) => resolve(code));
      setTimeout(() => resolve('running'), 500);
    });
    if (exited !== 'running') throw new InfraError(`cannot cable the lab LAN to ${otherCtl}: dpipe vde_plug exited (${exited}): ${err.trim()}`);
    subprocess.stderr!.destroy();
    return cable.pid;
  }

  async stop(): Promise<void> {
    if (this.pid) await stopProcess(this.pid, this.dir, 1000);
  }
}
