import path from 'node:path';
import { nightlyRoot, nightName } from './store.ts';
import { gitCommit } from './facts.ts';
import { parseShardCount, shardArgv, shardDir, submitArray, TASK } from '../slurm.ts';

/**
 * `m3lab nightly --slurm`: the night's N shards as a Slurm job array and the
 * merge after it (harness/slurm.ts). Each shard is `m3lab nightly` with the
 * caller's options, `--shard K/N`, the night's name and its own results
 * directory; the merged night lands in the nightly store like any other, so
 * M3LAB_NIGHTLY_DIR must be a directory every node shares.
 */
export async function submitNight(o: { argv: string[]; shards?: string; maxRunning?: string; sbatchArgs: string[]; submitOnly: boolean; results?: string; night?: string; log: (l: string) => void }): Promise<number> {
  const count = parseShardCount(o.shards);
  const maxRunning = o.maxRunning === undefined ? undefined : parseShardCount(o.maxRunning, 1, '--max-running');
  const commit = await gitCommit();
  const name = o.night ?? nightName(new Date(), `${commit.short}${commit.dirty ? '+dirty' : ''}`);
  const root = nightlyRoot();
  const base = path.resolve(o.results ?? path.join(root, 'shards', name));
  const rest = shardArgv(o.argv, { flags: ['--slurm', '--submit-only'], valued: ['--shards', '--max-running', '--sbatch-arg', '--results', '--night'] });
  return submitArray({
    name,
    base,
    out: path.join(root, name),
    shards: count,
    maxRunning,
    shardArgs: ['nightly', ...rest, '--shard', `${TASK}/${count}`, '--night', name, '--results', shardDir(base, TASK, count)],
    mergeArgs: ['--out', path.join(root, name)],
    sbatchArgs: o.sbatchArgs,
    submitOnly: o.submitOnly,
    env: { M3LAB_NIGHTLY_DIR: root },
    log: o.log,
  });
}
