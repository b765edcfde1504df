import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/temp-dir.ts';
import { fieldOf } from './support/field-of.ts';
import { ConfigError } from '../../harness/errors.ts';
import { loadLabFile, resolveLab } from '../../harness/lab/lab-file.ts';
import { checkInsecure } from '../../harness/m3/cluster.ts';
import { qemuArgs } from '../../harness/qemu/qemu-target.ts';

function labFile(text: string): string {
  const dir = tempDir('m3lab-labfile-');
  const file = path.join(dir, 'lab.yaml');
  writeFileSync(file, text);
  return file;
}


describe('lab file validation', () => {
  it('expands defaults to three 1-vCPU nodes', () => {
    const spec = resolveLab({});
    expect(spec.nodes.map((n) => n.name)).toEqual(['node1', 'node2', 'node3']);
    expect(spec.nodes.every((n) => n.cpus === 1 && n.maxcpus === 1)).toBe(true);
    expect(spec.accel).toBe('auto');
  });

  it('reads a YAML lab file with per-node overrides', () => {
    const spec = loadLabFile(labFile('name: smp\ncpus: 2\nmaxcpus: 4\nnodes:\n  - {}\n  - { name: big, cpus: 4, memory: 2048 }\n'));
    expect(spec.name).toBe('smp');
    expect(spec.nodes).toHaveLength(2);
    expect(spec.nodes[0]).toMatchObject({ name: 'node1', cpus: 2, maxcpus: 4 });
    expect(spec.nodes[1]).toMatchObject({ name: 'big', cpus: 4, maxcpus: 4, memoryMb: 2048 });
  });

  it('rejects an unknown field, naming it', () => {
    expect(fieldOf(() => loadLabFile(labFile('nodes: 2\ncpu: 2\n')))).toBe('cpu');
    expect(fieldOf(() => loadLabFile(labFile('nodes:\n  - { name: a, colour: red }\n')))).toBe('nodes[0].colour');
  });

  it('rejects nodes: 0, cpus: 0 and maxcpus below cpus', () => {
    expect(fieldOf(() => loadLabFile(labFile('nodes: 0\n')))).toBe('nodes');
    expect(fieldOf(() => loadLabFile(labFile('cpus: 0\n')))).toBe('cpus');
    expect(fieldOf(() => loadLabFile(labFile('cpus: 2\nmaxcpus: 1\n')))).toBe('maxcpus');
    expect(fieldOf(() => loadLabFile(labFile('nodes:\n  - { cpus: 3, maxcpus: 2 }\n')))).toBe('nodes[0].maxcpus');
  });

  it('spreads a node\'s vCPUs over sockets, which must divide maxcpus; QEMU gets the topology', () => {
    const spec = resolveLab({ nodes: [{ cpus: 2, sockets: 2 }, { cpus: 2, maxcpus: 4 }] });
    expect(spec.nodes.map((n) => n.sockets)).toEqual([2, 1]);
    const args = qemuArgs({ ...spec.nodes[0]!, index: 1, dir: '/x', kernel: 'k', initrd: 'i', accel: 'tcg', sshPort: 1, lanAddress: 'a', lanPrefix: 24, privateKey: 'p' });
    expect(args[args.indexOf('-smp') + 1]).toBe('2,sockets=2,cores=1,threads=1');
    expect(fieldOf(() => resolveLab({ nodes: [{ cpus: 2, maxcpus: 3, sockets: 2 }] }))).toBe('nodes[0].sockets');
    expect(fieldOf(() => resolveLab({ cpus: 3, sockets: 2 }))).toBe('sockets');
  });

  it('says what was wrong in the message', () => {
    expect(() => resolveLab({ cpus: 2, maxcpus: 1 })).toThrow('maxcpus: must be at least 2, got 1');
    expect(() => resolveLab({ nodes: 'three' })).toThrow(/nodes: must be an integer/);
    expect(() => resolveLab({ accel: 'hvf' })).toThrow(/accel: must be one of auto, kvm, tcg/);
  });

  it('rejects duplicate node names and non-mapping documents', () => {
    expect(fieldOf(() => resolveLab({ nodes: [{ name: 'a' }, { name: 'a' }] }))).toBe('nodes[1].name');
    expect(fieldOf(() => loadLabFile(labFile('- 1\n- 2\n')))).toBe('');
  });

  it('the shipped default lab (make lab) is valid: three nodes, the second with two vCPUs', () => {
    const spec = loadLabFile(path.join(import.meta.dirname, '..', '..', 'labs', 'default.yaml'));
    expect(spec.nodes.map((n) => [n.name, n.cpus, n.maxcpus])).toEqual([['node1', 1, 1], ['node2', 2, 2], ['node3', 1, 2]]);
  });

  it('lets command-line flags override the file', () => {
    const spec = loadLabFile(labFile('nodes: 2\ncpus: 1\n'), { cpus: 2, append: 'nosmp' });
    expect(spec.nodes.every((n) => n.cpus === 2 && n.append === 'nosmp')).toBe(true);
  });
});

describe('insecure proxies only when the lab file asks for them (issue 20)', () => {
  it('insecure is false unless the file says insecure: true; anything else is refused, naming the field', () => {
    expect(resolveLab({}).insecure).toBe(false);
    expect(loadLabFile(labFile('nodes: 2\ninsecure: true\n')).insecure).toBe(true);
    expect(loadLabFile(labFile('nodes: 2\ninsecure: false\n')).insecure).toBe(false);
    expect(fieldOf(() => loadLabFile(labFile('insecure: yes-please\n')))).toBe('insecure');
    expect(fieldOf(() => resolveLab({ insecure: 1 }))).toBe('insecure');
  });

  it('a cluster refuses m3proxy --insecure unless its lab file asked for it', () => {
    expect(fieldOf(() => checkInsecure({ insecure: true }))).toBe('insecure');
    expect(fieldOf(() => checkInsecure({ insecure: true, lab: { name: 'lab', insecure: false } }))).toBe('insecure');
    expect(() => checkInsecure({ insecure: true, lab: { name: 'lab', insecure: false } })).toThrow(/refused: lab lab does not ask for it/);
    expect(() => checkInsecure({ insecure: true, lab: { name: 'bench-remote', insecure: true } })).not.toThrow();
    expect(() => checkInsecure({ insecure: false })).not.toThrow();
  });
});
