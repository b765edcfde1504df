import { execa, type ResultPromise } from 'execa';

/** Where a long-lived process's output goes: an open file descriptor (the caller closes its own copy), nowhere, or a pipe to read. */
export type Sink = number | 'ignore' | 'pipe';

export interface LongLivedOptions {
  /** Its own process group: stopped as a group, and out of reach of the terminal's Ctrl-C to this process. */
  detached: boolean;
  stdout: Sink;
  stderr: Sink;
}

/**
 * execa's types list file descriptors 3-9 only; at run time any number goes to
 * spawn() as it is (execa's "native" stdio). That is what a process outliving
 * this one needs: the file itself, never a pipe through this process (which
 * execa's `{ file }` would be).
 */
const asStdio = (s: Sink) => s as 'pipe';

/** A started long-lived process. Not the execa subprocess itself: that is a thenable, and awaiting it waits for the exit. */
export interface LongLived {
  pid: number;
  /** Its `exit` event and, when piped, its output streams. */
  subprocess: ResultPromise;
}

/**
 * Starts a process that outlives the call starting it (a VM's QEMU, a board's
 * console capture, the LAN's cable), resolved once it runs, rejected when it
 * cannot start. Its end is the caller's to watch (the `exit` event, or its PID
 * on /proc): execa's result is never awaited, so it never rejects, nor buffers
 * output. execa's cleanup is off: in a lab left up (`m3lab up`) these processes
 * outlive this one, and the lab stops them itself, by PID (lab/cleanup.ts, the
 * stale sweep). unref'd: this process may exit while they run.
 */
export async function startLongLived(file: string, args: string[], o: LongLivedOptions): Promise<LongLived> {
  const subprocess = execa(file, args, { detached: o.detached, stdin: 'ignore', stdout: asStdio(o.stdout), stderr: asStdio(o.stderr), cleanup: false, reject: false, buffer: false });
  subprocess.unref();
  await new Promise<void>((resolve, reject) => {
    subprocess.once('spawn', () => resolve());
    subprocess.once('error', reject);
  });
  return { pid: subprocess.pid!, subprocess };
}
