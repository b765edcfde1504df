import { appendFileSync } from 'node:fs';
import { execa } from 'execa';
import { InfraError } from '../errors.ts';

/**
 * Runs a host command from a lab file (a board's power switch) with a bound: at
 * the timeout its whole process group is killed and the error names the
 * command. Its output goes to `logFile`, so a failing switch leaves evidence.
 * Completion is the command's exit, not the end of its output: a power-on
 * script may leave a daemon holding the pipe.
 */
export function hostCommand(cmd: string, what: string, timeoutMs: number, logFile?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    // Its exit, not execa's result, ends the wait (the result waits for the output's end): nothing buffered, never rejected.
    const child = execa('/bin/sh', ['-c', cmd], { detached: true, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false });
    let out = '';
    const keep = (d: Buffer) => {
      if (out.length < 64 * 1024) out += d.toString();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const log = (status: string) => {
      if (logFile) appendFileSync(logFile, `${new Date().toISOString()} ${what}: ${cmd}\n${out}${out.endsWith('\n') || !out ? '' : '\n'}-> ${status} after ${Date.now() - started} ms\n`);
    };
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      log('timed out');
      reject(new InfraError(`${what}: \`${cmd}\` did not finish in ${timeoutMs / 1000} s (killed)${out.trim() ? `: ${out.trim().slice(-500)}` : ''}`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new InfraError(`${what}: cannot run \`${cmd}\`: ${e.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      log(signal ? `killed by ${signal}` : `exit ${code}`);
      if (code === 0) resolve();
      else reject(new InfraError(`${what}: \`${cmd}\` ${signal ? `killed by ${signal}` : `exited ${code}`}${out.trim() ? `: ${out.trim().slice(-500)}` : ''}`));
    });
  });
}
