import { Ajv2020 } from 'ajv/dist/2020.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadLabFile } from '../../harness/lab/lab-file.ts';
import { labFileJsonSchema } from '../../harness/lab/lab-schema.ts';
import { repoRoot } from '../../harness/paths.ts';

/**
 * labs/lab.schema.json, the JSON Schema editors check lab files with, is the
 * lab-schema.ts one written out (`npm run lab-schema`), and a real JSON Schema
 * validator (ajv, draft 2020-12) accepts every lab file the project ships and
 * refuses broken twins of them. A lab file the harness refuses names the field
 * and the type it wants.
 */
const schemaFile = path.join(repoRoot, 'labs', 'lab.schema.json');
const labFiles = readdirSync(path.join(repoRoot, 'labs')).filter((f) => f.endsWith('.yaml'));
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(readFileSync(schemaFile, 'utf8')));
const errorsOf = (doc: unknown) => (validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`));

describe('lab file JSON Schema', () => {
  it('labs/lab.schema.json is what lab-schema.ts says (npm run lab-schema writes it)', () => {
    expect(JSON.parse(readFileSync(schemaFile, 'utf8'))).toEqual(labFileJsonSchema());
  });

  it.each(labFiles)('validates labs/%s, and refuses a broken twin of it', (f) => {
    const doc = parse(readFileSync(path.join(repoRoot, 'labs', f), 'utf8')) as Record<string, unknown>;
    expect(errorsOf(doc)).toEqual([]);
    expect(errorsOf({ ...doc, cpus: 'two' })).toContain('/cpus must be integer');
    expect(errorsOf({ ...doc, nodez: 3 })).toContain('/ must NOT have additional properties');
    expect(errorsOf({ ...doc, memory: 64 })).toContain('/memory must be >= 384');
  });

  it('a lab file the harness refuses names the field and the type it wants', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'm3lab-lab-schema-'));
    try {
      const bad = (body: string) => {
        const f = path.join(dir, 'bad.yaml');
        writeFileSync(f, body);
        return () => loadLabFile(f);
      };
      expect(bad('nodes:\n  - { name: a }\n  - { name: b, cpus: two }\n')).toThrow('nodes[1].cpus: must be an integer, got string "two"');
      expect(bad('boards:\n  - { name: b1, ssh: { host: h, key: k, port: "22" }, lan: 169.254.77.30 }\n')).toThrow('boards[0].ssh.port: must be an integer, got string "22"');
      expect(bad('insecure: yes please\n')).toThrow('insecure: must be true or false, got string "yes please"');
      expect(bad('nodes: [{ name: a, cpu: 2 }]\n')).toThrow('nodes[0].cpu: unknown field');
      expect(bad('kernel: 5.10\n')).toThrow(/^kernel: must be one of default, debug, up, got number 5.1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
