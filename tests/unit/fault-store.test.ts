import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFaults, writeFaults } from '../../harness/faults/store.ts';
import { tempDir } from './support/temp-dir.ts';

describe("a lab's faults on disk (faults.json)", () => {
  it('none without the file; what was written is read back', () => {
    const dir = tempDir('m3lab-faults-');
    expect(readFaults(dir)).toEqual({ active: [], timeline: [] });
    const state = {
      active: [{ kind: 'partition' as const, node: 'node2', injectedAt: '2026-12-07T10:00:00Z' }],
      timeline: [{ t: 0, at: '2026-12-07T10:00:00Z', kind: 'inject' as const, fault: 'partition node2', node: 'node2' }],
    };
    writeFaults(dir, state);
    expect(readFaults(dir)).toEqual(state);
  });

  it('a damaged file is an error naming the field, never "no faults" (a partitioned lab taken for a healed one)', () => {
    const dir = tempDir('m3lab-faults-');
    writeFileSync(path.join(dir, 'faults.json'), JSON.stringify({ active: [{ kind: 'partiton', node: 'node2', injectedAt: 'x' }], timeline: [] }));
    expect(() => readFaults(dir)).toThrow(/faults\.json: active\[0\]\.kind: /);
    writeFileSync(path.join(dir, 'faults.json'), '{"active": [');
    expect(() => readFaults(dir)).toThrow(/faults\.json: not JSON/);
  });
});
