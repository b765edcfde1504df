import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/temp-dir.ts';
import { QmpClient, QmpFramer, encodeCommand } from '../../harness/qemu/qmp.ts';

describe('QMP framing', () => {
  it('joins a frame split across reads and splits frames sharing one read', () => {
    const f = new QmpFramer();
    expect(f.push('{"QMP": {"version"')).toEqual([]);
    expect(f.push(': 1}}\r\n{"return": {}, "id": 1}\r\n{"event": "STOP"')).toEqual([{ QMP: { version: 1 } }, { return: {}, id: 1 }]);
    expect(f.pending).toBe('{"event": "STOP"');
    expect(f.push(', "data": {}}\r\n\r\n')).toEqual([{ event: 'STOP', data: {} }]);
    expect(f.pending).toBe('');
  });

  it('refuses a line that is not JSON', () => {
    expect(() => new QmpFramer().push('oops\n')).toThrow(/not JSON: oops/);
  });

  it('encodes commands with and without arguments, one per line', () => {
    expect(encodeCommand('query-status', undefined, 3)).toBe('{"execute":"query-status","id":3}\n');
    expect(encodeCommand('human-monitor-command', { 'command-line': 'info cpus' }, 4)).toBe(
      '{"execute":"human-monitor-command","id":4,"arguments":{"command-line":"info cpus"}}\n',
    );
  });

  it('gives up on a monitor that never comes, naming the socket', async () => {
    const sock = path.join(tempDir('m3lab-qmp-'), 'absent.sock');
    await expect(new QmpClient(sock).connect(200)).rejects.toThrow(/absent\.sock: connect ENOENT/);
  });

  it('talks to a real QEMU monitor: greeting, commands, errors, quit', async () => {
    const dir = tempDir('m3lab-qmp-');
    const sock = path.join(dir, 'qmp.sock');
    // -machine none: a QEMU process with a monitor and no guest, up in milliseconds.
    const qemu = spawn('qemu-system-x86_64', ['-machine', 'none', '-nodefaults', '-display', 'none', '-qmp', `unix:${sock},server=on,wait=off`], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => qemu.on('exit', (code) => r(code)));
    try {
      // No wait for the socket file: connect() itself rides out a monitor still starting.
      const qmp = new QmpClient(sock);
      const greeting = (await qmp.connect(10000)) as { version: { qemu: { major: number } } };
      expect(greeting.version.qemu.major).toBeGreaterThanOrEqual(7);
      const status = await qmp.execute<{ status: string }>('query-status');
      expect(status.status).toMatch(/running|prelaunch/);
      await expect(qmp.execute('no-such-command')).rejects.toThrow(/CommandNotFound/);
      expect(await qmp.hmp('info version')).toMatch(/^\d+\.\d+/);
      await qmp.execute('quit').catch(() => undefined);
      expect(await exited).toBe(0);
    } finally {
      qemu.kill('SIGKILL');
    }
  });
});
