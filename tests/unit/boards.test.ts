import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/temp-dir.ts';
import { InfraError } from '../../harness/errors.ts';
import { debianVersion, headerPins } from '../../harness/kmod/board-kernel.ts';
import { loadLabFile, resolveLab } from '../../harness/lab/lab-file.ts';
import { isAlive } from '../../harness/host/procs.ts';
import { sleep, waitUntil } from '../../harness/host/wait.ts';
import { CaptureConsole } from '../../harness/target/capture-console.ts';
import { hostCommand } from '../../harness/target/host-command.ts';
import { fieldOf } from './support/field-of.ts';

const tmp = () => tempDir('m3lab-boards-');
const board = (over: Record<string, unknown> = {}) => ({ name: 'b1', ssh: { host: '127.0.0.1', key: 'k' }, lan: '169.254.77.20', ...over });

describe('boards in the lab file', () => {
  it('reads a board with defaults: SSH port 22 as root, key relative to the lab file, no power', () => {
    const dir = tmp();
    const file = path.join(dir, 'lab.yaml');
    writeFileSync(file, 'nodes: 1\nboards:\n  - { name: b1, ssh: { host: 10.0.0.2, key: keys/id }, lan: 169.254.77.20, cpus: 4 }\n');
    const spec = loadLabFile(file);
    expect(spec.boards).toEqual([{ name: 'b1', ssh: { host: '10.0.0.2', port: 22, user: 'root', keyFile: path.join(dir, 'keys/id') }, lanAddress: '169.254.77.20', cpus: 4 }]);
    expect(spec.nodes).toHaveLength(1);
  });

  it('power commands come with a timeout (default 60 s); a console command and a node id are kept', () => {
    const spec = resolveLab({ nodes: 1, boards: [board({ power: { on: 'a', off: 'b', cycle: 'c', timeout: 5 }, console: 'socat - x', node: 7 })], lan: { uplink: '/x/vde.ctl' } });
    expect(spec.boards[0]).toMatchObject({ power: { on: 'a', off: 'b', cycle: 'c', timeoutMs: 5000 }, console: 'socat - x', nodeId: 7 });
    expect(spec.lan).toEqual({ uplink: '/x/vde.ctl' });
    expect(resolveLab({ boards: [board({ power: { on: 'a', off: 'b' } })] }).boards[0]!.power!.timeoutMs).toBe(60_000);
  });

  it('names the field of every mistake', () => {
    expect(fieldOf(() => resolveLab({ boards: [board({ colour: 'red' })] }))).toBe('boards[0].colour');
    expect(fieldOf(() => resolveLab({ boards: [board({ ssh: { host: '127.0.0.1' } })] }))).toBe('boards[0].ssh.key');
    expect(fieldOf(() => resolveLab({ boards: [board({ ssh: { host: 'a b', key: 'k' } })] }))).toBe('boards[0].ssh.host');
    expect(fieldOf(() => resolveLab({ boards: [board({ ssh: { host: 'h', key: 'k', port: 70000 } })] }))).toBe('boards[0].ssh.port');
    expect(fieldOf(() => resolveLab({ boards: [board({ lan: '169.254.77' })] }))).toBe('boards[0].lan');
    expect(fieldOf(() => resolveLab({ boards: [board({ power: { on: 'x' } })] }))).toBe('boards[0].power.off');
    expect(fieldOf(() => resolveLab({ boards: [board({ power: { on: 'x', off: 'y', timeout: 0 } })] }))).toBe('boards[0].power.timeout');
    expect(fieldOf(() => resolveLab({ boards: [board({ console: '' })] }))).toBe('boards[0].console');
    expect(fieldOf(() => resolveLab({ boards: [board({ cpus: 0 })] }))).toBe('boards[0].cpus');
    expect(fieldOf(() => resolveLab({ boards: {} }))).toBe('boards');
    expect(fieldOf(() => resolveLab({ lan: { uplnk: 'x' } }))).toBe('lan.uplnk');
  });

  it('refuses a board named like a VM, twice the same LAN address, or a VM\'s LAN address', () => {
    expect(fieldOf(() => resolveLab({ nodes: 2, boards: [board({ name: 'node2' })] }))).toBe('boards[0].name');
    expect(fieldOf(() => resolveLab({ nodes: 1, boards: [board(), board({ name: 'b2' })] }))).toBe('boards[1].lan');
    expect(fieldOf(() => resolveLab({ nodes: 3, boards: [board({ lan: '169.254.77.3' })] }))).toBe('boards[0].lan');
  });

  it('the shipped board example is valid', () => {
    const spec = loadLabFile(path.join(import.meta.dirname, '..', '..', 'labs', 'board-example.yaml'));
    expect(spec.boards.map((b) => [b.name, b.nodeId, b.cpus, b.power?.timeoutMs])).toEqual([['rpi4', 5, 4, 30_000]]);
    expect(spec.boards[0]!.ssh.keyFile).toBe(path.join(os.homedir(), '.ssh/lab_ed25519'));
  });
});

describe('a board\'s kernel headers', () => {
  it('take the Debian version from uname -v', () => {
    expect(debianVersion('#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-10-20)')).toBe('6.1.176-1');
    expect(debianVersion('#1 SMP Fri Jan 1 00:00:00 UTC 2026')).toBeUndefined();
  });

  it('are the headers package plus its common headers and kbuild, at the same version', () => {
    const pins = headerPins('6.1.0-50-cloud-amd64', '6.1.176-1', 'linux-headers-6.1.0-50-common (= 6.1.176-1), linux-kbuild-6.1 (>= 6.1.176-1), linux-compiler-gcc-12-x86');
    expect(pins).toEqual([
      { package: 'linux-headers-6.1.0-50-cloud-amd64', version: '6.1.176-1' },
      { package: 'linux-headers-6.1.0-50-common', version: '6.1.176-1' },
      { package: 'linux-kbuild-6.1', version: '6.1.176-1' },
    ]);
  });
});

describe('board power and console on the host', () => {
  it('a power command that hangs is killed at its timeout, with its process group, and the error names it', async () => {
    const dir = tmp();
    const pidFile = path.join(dir, 'child.pid');
    const started = Date.now();
    const err = await hostCommand(`sleep 30 & echo $! > ${pidFile}; wait`, 'b1: power on', 700, path.join(dir, 'power.log')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InfraError);
    expect((err as Error).message).toMatch(/b1: power on: `sleep 30 .*` did not finish in 0.7 s/);
    expect(Date.now() - started).toBeLessThan(5000);
    await sleep(200);
    expect(isAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
    expect(readFileSync(path.join(dir, 'power.log'), 'utf8')).toContain('-> timed out');
  });

  it('a failing power command reports its exit status and output', async () => {
    await expect(hostCommand('echo relay stuck >&2; exit 3', 'b1: power off', 5000)).rejects.toThrow('b1: power off: `echo relay stuck >&2; exit 3` exited 3: relay stuck');
    await expect(hostCommand('true', 'b1: power on', 5000)).resolves.toBeUndefined();
  });

  it('the console capture appends the command\'s output, is found by its marker and stopped with its children', async () => {
    const dir = tmp();
    const log = path.join(dir, 'console.log');
    const con = new CaptureConsole('b1', log, `echo first; echo second; sleep 30`);
    await con.start();
    try {
      await waitUntil(() => con.text().includes('second'), { what: "the console's second line", timeoutMs: 2500, intervalMs: 50, onTimeout: 'return' });
      expect(con.text()).toBe('first\nsecond\n');
      expect(con.running()).toBe(true);
      // Started again while running: nothing new, no second capture.
      const pid = con.pid;
      await con.start();
      expect(con.pid).toBe(pid);
    } finally {
      await con.stop();
    }
    expect(con.running()).toBe(false);
    expect(existsSync(log)).toBe(true);
    // No console command: the text says so instead of looking empty.
    expect(new CaptureConsole('b2', path.join(dir, 'none.log')).text()).toContain('boards[].console');
  });
});
