import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../../harness/paths.ts';

/**
 * The CI files that run a sharded night (docs/shards.md), checked for their
 * wiring: every shard runs `--shard K/N` into its own directory, and the last
 * job merges exactly N of them whatever the shards did. Not checked against
 * the engines' published JSON Schemas: no npm package ships them as files,
 * and this project may not commit a copy taken from elsewhere (docs/shards.md).
 */
const yamlOf = (f: string) => parse(readFileSync(path.join(repoRoot, f), 'utf8')) as Record<string, any>;

describe('CI files: GitLab', () => {
  const doc = yamlOf('.gitlab-ci.yml');

  it('runs `parallel` shards, each its own slice, and merges exactly that many in a job that always runs', () => {
    const shard = doc['nightly-shard'];
    const merge = doc['nightly-merge'];
    const n = shard.parallel as number;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(shard.script.join('\n')).toMatch(/m3lab\.js nightly --shard "\$CI_NODE_INDEX\/\$CI_NODE_TOTAL" --night "\$M3LAB_NIGHT" --results "shards\/shard-\$CI_NODE_INDEX-of-\$CI_NODE_TOTAL"/);
    expect(shard.artifacts).toMatchObject({ when: 'always', paths: ['shards/'] });
    expect(merge.when).toBe('always');
    expect(merge.needs).toEqual([{ job: 'nightly-shard', artifacts: true }]);
    expect(merge.script.join('\n')).toContain(`report merge shards/shard-*-of-* --expect ${n} `);
    expect(doc.stages.indexOf(merge.stage)).toBeGreaterThan(doc.stages.indexOf(shard.stage));
  });
});

describe('CI files: GitHub Actions', () => {
  const doc = yamlOf('.github/workflows/nightly.yml');

  it('runs one job per matrix shard, each its own slice, and merges exactly that many after all of them, whatever they did', () => {
    const shard = doc.jobs.shard;
    const merge = doc.jobs.merge;
    const shards = shard.strategy.matrix.shard as number[];
    expect(shards).toEqual(Array.from({ length: shards.length }, (_, i) => i + 1));
    expect(shard.strategy['fail-fast']).toBe(false);
    const run = shard.steps.map((s: { run?: string }) => s.run ?? '').join('\n');
    expect(run).toContain('nightly --shard "${{ matrix.shard }}/${{ strategy.job-total }}" --night "$M3LAB_NIGHT" --results "shards/shard-${{ matrix.shard }}-of-${{ strategy.job-total }}"');
    expect(merge.needs).toBe('shard');
    expect(merge.if).toBe('always()');
    const mergeRun = merge.steps.map((s: { run?: string }) => s.run ?? '').join('\n');
    expect(mergeRun).toContain(`report merge shards/shard-*-of-* --expect ${shards.length} `);
    const download = merge.steps.find((s: { uses?: string }) => s.uses?.startsWith('actions/download-artifact'));
    expect(download.with).toMatchObject({ pattern: 'shard-*', path: 'shards', 'merge-multiple': true });
  });
});
