import { execa } from 'execa';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { cmdline } from '../host/procs.ts';
import { repoRoot } from '../paths.ts';

/** What the night ran from: the commit, and whether the work tree differed from it. */
export interface Commit {
  sha: string;
  short: string;
  subject: string;
  /** Uncommitted changes in the work tree: the night did not test exactly `sha`. */
  dirty: boolean;
}

export async function gitCommit(): Promise<Commit> {
  const git = (args: string[]) => execa('git', args, { cwd: repoRoot, reject: false }).then((r) => (r.exitCode === 0 ? r.stdout.trim() : ''));
  const [sha, subject, status] = await Promise.all([git(['rev-parse', 'HEAD']), git(['log', '-1', '--format=%s']), git(['status', '--porcelain', '--untracked-files=no'])]);
  return { sha: sha || 'unknown', short: sha.slice(0, 10) || 'unknown', subject, dirty: status.length > 0 };
}

export function commitText(c: Commit): string {
  const subject = c.subject.length > 72 ? `${c.subject.slice(0, 71)}…` : c.subject;
  return `${c.sha}${c.dirty ? ' + uncommitted changes' : ''} (${subject})`;
}

/** The host a night ran on: its figures mean nothing without it. */
export function hostPairs(): [string, string][] {
  const cpus = os.cpus();
  return [
    ['host', os.hostname()],
    ['host.cpus', `${cpus.length} x ${cpus[0]?.model ?? 'unknown'}`],
    ['host.memory', `${Math.round(os.totalmem() / 2 ** 30)} GiB`],
    ['host.kernel', `${os.type()} ${os.release()}`],
    ['host.node', process.version],
  ];
}

/** QEMU processes on the host that are not this night's (their command line lacks `marker`). */
export function foreignQemus(marker: string): number {
  let n = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const cl = cmdline(Number(d));
    if (cl?.startsWith('qemu-system') && !cl.includes(marker)) n++;
  }
  return n;
}

/**
 * Samples foreignQemus() every `everyMs` until stopped: other labs on a 2-core
 * host take CPU from the bench's guest, and a figure that "regressed" while
 * they ran says more about the host than the module. Reported with the night.
 */
export function watchForeignQemus(marker: string, everyMs = 5000): { stop(): { samples: number; max: number; busy: number } } {
  const seen: number[] = [foreignQemus(marker)];
  const timer = setInterval(() => seen.push(foreignQemus(marker)), everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return { samples: seen.length, max: Math.max(...seen), busy: seen.filter((x) => x > 0).length };
    },
  };
}
