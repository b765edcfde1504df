import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAB_STATE_VERSION, LabStateVersionError, readState } from '../../harness/lab/state.ts';
import { sweepStale } from '../../harness/lab/sweep.ts';
import { tempDir } from './support/temp-dir.ts';

function labDir(root: string, name: string, state: unknown): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'lab.json'), JSON.stringify(state));
  return dir;
}

describe('lab state on disk', () => {
  it('reads its own version, and no state as none', () => {
    const root = tempDir('m3lab-state-');
    const dir = labDir(root, 'a', { version: LAB_STATE_VERSION, id: 'a', nodes: [] });
    expect(readState(dir)?.id).toBe('a');
    expect(readState(path.join(root, 'missing'))).toBeUndefined();
  });

  it('refuses another version, naming the file and both versions', () => {
    const root = tempDir('m3lab-state-');
    const dir = labDir(root, 'b', { version: 2, id: 'b', nodes: [] });
    expect(() => readState(dir)).toThrow(LabStateVersionError);
    expect(() => readState(dir)).toThrow(/lab\.json: lab state version 2, but this m3lab reads only version 1/);
    const none = labDir(root, 'c', { id: 'c', nodes: [] });
    expect(() => readState(none)).toThrow(/version missing/);
  });

  it('the stale sweep leaves a lab of another version alone and says so', () => {
    const root = tempDir('m3lab-state-');
    const dir = labDir(root, 'run-1', { version: 99, id: 'x', detached: false, ownerPid: 1, nodes: [] });
    const lines: string[] = [];
    expect(sweepStale(root, (l) => lines.push(l))).toBe(0);
    expect(existsSync(dir)).toBe(true);
    expect(lines.join('\n')).toMatch(/left .*run-1 alone: .*version 99/);
  });
});
