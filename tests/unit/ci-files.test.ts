import { Ajv, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../../harness/paths.ts';

/**
 * The CI files that run a sharded night (docs/shards.md): each checked against
 * its engine's published JSON Schema (vendored: tests/fixtures/ci-schemas/),
 * then for what the schema cannot know: every shard runs `--shard K/N` into its
 * own directory, and the last job merges exactly N of them whatever the shards did.
 */
const schema = (f: string) => JSON.parse(readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'ci-schemas', f), 'utf8')) as object;
const yamlOf = (f: string) => parse(readFileSync(path.join(repoRoot, f), 'utf8')) as Record<string, any>;

function validator(file: string): ValidateFunction {
  // Both are draft-07 with editor keywords (markdownDescription); formats are not what is checked here.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(schema(file));
}

const errorsOf = (v: ValidateFunction) => (v.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);

describe('CI files: GitLab', () => {
  const validate = validator('gitlab-ci.json');
  const doc = yamlOf('.gitlab-ci.yml');

  it('.gitlab-ci.yml is valid against GitLab\'s CI schema', () => {
    const ok = validate(doc);
    expect(errorsOf(validate)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check is real: a wrong `parallel` and an unknown job key are refused', () => {
    expect(validate({ ...doc, 'nightly-shard': { ...doc['nightly-shard'], parallel: 'two' } })).toBe(false);
    expect(validate({ ...doc, 'nightly-merge': { ...doc['nightly-merge'], dependson: ['x'] } })).toBe(false);
  });

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
  const validate = validator('github-workflow.json');
  const doc = yamlOf('.github/workflows/nightly.yml');

  it('.github/workflows/nightly.yml is valid against the published workflow schema', () => {
    const ok = validate(doc);
    expect(errorsOf(validate)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check is real: a job without runs-on and a bad timeout are refused', () => {
    const { 'runs-on': _, ...noRunner } = doc.jobs.merge;
    expect(validate({ ...doc, jobs: { ...doc.jobs, merge: noRunner } })).toBe(false);
    expect(validate({ ...doc, jobs: { ...doc.jobs, shard: { ...doc.jobs.shard, 'timeout-minutes': 'long' } } })).toBe(false);
  });

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
