import { execa } from 'execa';
import os from 'node:os';
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
  return `${c.sha}${c.dirty ? ' + uncommitted changes' : ''} (${c.subject.slice(0, 80)})`;
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
