import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAB_STATE_VERSION, LabStateError, LabStateVersionError, readState } from '../../harness/lab/state.ts';
import { sweepStale } from '../../harness/lab/sweep.ts';
import { tempDir } from './support/temp-dir.ts';

function labDir(root: string, name: string, state: unknown): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'lab.json'), JSON.stringify(state));
  return dir;
}

/** A lab.json as a one-node lab writes it, with the fields its readers rely on. */
function goodState(id: string, dir: string) {
  const kernel = { variant: 'default', release: '6.1.0-28-amd64', buildDir: '/cache/headers' };
  return {
    version: LAB_STATE_VERSION,
    id,
    dir,
    detached: true,
    ownerPid: 1234,
    createdAt: '2026-12-07T10:00:00.000Z',
    accel: { accel: 'tcg', reason: 'no /dev/kvm' },
    image: { hash: 'abc', release: 'bookworm', kernel: '/k', initrd: '/i' },
    spec: { nodes: 1 },
    vdePid: 99,
    nodes: [{ name: 'node1', index: 0, pid: 100, sshPort: 10022, lanAddress: '10.0.0.1', dir: `${dir}/node1`, spec: { name: 'node1', cpus: 2, maxcpus: 4, lanAddress: '10.0.0.1', memoryMb: 512 }, kernel, readySeconds: 3.2 }],
  };
}

describe('lab state on disk', () => {
  it('reads its own version, and no state as none', () => {
    const root = tempDir('m3lab-state-');
    const dir = path.join(root, 'a');
    labDir(root, 'a', goodState('a', dir));
    const s = readState(dir);
    expect(s?.id).toBe('a');
    // Fields the schema does not name pass through untouched.
    expect(s?.nodes[0]?.spec.memoryMb).toBe(512);
    expect(readState(path.join(root, 'missing'))).toBeUndefined();
  });

  it('refuses a damaged state, naming the file and the field, and the sweep leaves that lab alone', () => {
    const root = tempDir('m3lab-state-');
    const dir = path.join(root, 'run-d');
    const bad = goodState('d', dir);
    (bad.nodes[0] as Record<string, unknown>).sshPort = '10022';
    labDir(root, 'run-d', bad);
    expect(() => readState(dir)).toThrow(LabStateError);
    expect(() => readState(dir)).toThrow(/run-d\/lab\.json: nodes\[0\]\.sshPort: .*expected number, received string/);
    const badPid = goodState('e', path.join(root, 'run-e'));
    badPid.vdePid = -1;
    labDir(root, 'run-e', badPid);
    expect(() => readState(path.join(root, 'run-e'))).toThrow(/lab\.json: vdePid: /);
    const lines: string[] = [];
    expect(sweepStale(root, (l) => lines.push(l))).toBe(0);
    expect(existsSync(dir)).toBe(true);
    expect(lines.join('\n')).toMatch(/left .*run-d alone: .*nodes\[0\]\.sshPort/);
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
