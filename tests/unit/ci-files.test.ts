import { validateWorkflow, type ValidationError } from '@action-validator/core';
import { Ajv } from 'ajv';
import { schema as gitlabCiSchema } from 'gitlab-ci-local/src/schema/schema.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { repoRoot } from '../../harness/paths.ts';

/**
 * The CI files that run a sharded night (docs/shards.md): valid for their
 * engine, by the engine's published JSON Schema, and wired right (every shard
 * runs `--shard K/N` into its own directory, and the last job merges exactly N
 * of them whatever the shards did).
 *
 * The schemas come from npm packages that ship them, never from a copy kept
 * here: GitLab's CI schema as gitlab-ci-local ships it (GitLab's ci.json less
 * its regex `pattern`s, which that tool drops) validated with ajv as that tool
 * does; SchemaStore's GitHub workflow schema inside action-validator's WASM
 * build. Each valid file has a broken twin beside it that must be refused, so
 * a validator that accepts anything fails here.
 */
const textOf = (f: string) => readFileSync(path.join(repoRoot, f), 'utf8');
const yamlOf = (f: string) => parse(textOf(f)) as Record<string, any>;

// Formats (uri, date-time) are not what these files could get wrong; ajv would only warn that it cannot check them.
const gitlabValidate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(gitlabCiSchema);
const gitlabErrors = (doc: unknown) => (gitlabValidate(doc) ? [] : (gitlabValidate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`));

/** Every leaf error of action-validator's answer, as "path detail". */
function githubErrors(src: string): string[] {
  const leaves = (errs: ValidationError[]): string[] =>
    errs.flatMap((e) => ('states' in e && e.states?.length ? e.states.flatMap((s) => leaves(s.errors)) : [`${'path' in e ? e.path : ''} ${e.detail ?? e.title}`]));
  return leaves(validateWorkflow(src).errors);
}

describe('CI files against the engines\' published JSON Schemas', () => {
  it('.gitlab-ci.yml is valid for GitLab\'s CI schema, and a broken twin of it is not', () => {
    const doc = yamlOf('.gitlab-ci.yml');
    expect(gitlabErrors(doc)).toEqual([]);
    const broken = structuredClone(doc);
    broken['nightly-shard'].parallel = 'two';
    broken['nightly-merge'].whenn = 'always';
    const errors = gitlabErrors(broken);
    expect(errors).toContain('/nightly-shard/parallel must be integer');
    expect(errors).toContain('/nightly-merge must NOT have additional properties');
  });

  it('.github/workflows/nightly.yml is valid for SchemaStore\'s workflow schema, and a broken twin of it is not', () => {
    expect(githubErrors(textOf('.github/workflows/nightly.yml'))).toEqual([]);
    const broken = yamlOf('.github/workflows/nightly.yml');
    broken.jobs.shard['runs-onn'] = broken.jobs.shard['runs-on'];
    delete broken.jobs.shard['runs-on'];
    broken.jobs.merge.needs = 7;
    const errors = githubErrors(stringify(broken)).join('\n');
    expect(errors).toMatch(/runs-onn/);
    expect(errors).toMatch(/\/jobs\/merge\/needs/);
  });
});

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
