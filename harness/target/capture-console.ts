import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { InfraError } from '../errors.ts';
import { startLongLived } from '../host/long-lived.ts';
import { isOurs, stopProcess } from '../host/procs.ts';
import type { ConsoleLog } from './target.ts';

/**
 * A board's serial console as the harness's own capture: the lab file's console
 * command (socat, picocom, a TCP serial server client) runs detached with its
 * standard output appended to console.log, so a lab left up keeps capturing
 * after the command that booted it exits. It is started before power-on and
 * again whenever it has exited (a console whose source closed with the board).
 * The shell running it carries the log path in its command line, which is how
 * teardown and the stale-lab sweep know it is ours; it leads its own process
 * group, which they stop as a whole.
 */
export class CaptureConsole implements ConsoleLog {
  constructor(readonly board: string, readonly path: string, readonly command?: string, public pid?: number) {}

  get marker(): string {
    return `m3lab-console:${this.path}`;
  }

  text(): string {
    if (!this.command) return `(${this.board} has no console command in the lab file: boards[].console)\n`;
    return existsSync(this.path) ? readFileSync(this.path, 'utf8') : '';
  }

  running(): boolean {
    return this.pid !== undefined && isOurs(this.pid, this.marker);
  }

  async start(): Promise<void> {
    if (!this.command || this.running()) return;
    const out = openSync(this.path, 'a');
    const err = openSync(`${this.path}.stderr`, 'a');
    // `exit $?` keeps the shell (and the marker in its command line) alive beside the command.
    const started = startLongLived('/bin/sh', ['-c', `${this.command}\nexit $?`, this.marker], { detached: true, stdout: out, stderr: err });
    closeSync(out);
    closeSync(err);
    const capture = await started.catch((e: Error) => {
      throw new InfraError(`${this.board}: cannot start the console command: ${e.message}`);
    });
    this.pid = capture.pid;
  }

  async stop(): Promise<void> {
    if (this.pid !== undefined) await stopProcess(this.pid, this.marker, 1000);
  }
}
