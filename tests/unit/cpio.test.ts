import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/temp-dir.ts';
import { readCpio, writeCpio } from '../../harness/image/cpio.ts';

describe('initramfs cpio writer', () => {
  const archive = writeCpio([
    { kind: 'file', path: '/etc/motd', data: Buffer.from('hello\n'), mode: 0o644 },
    { kind: 'dir', path: '/etc' },
    { kind: 'symlink', path: '/bin/sh', target: 'busybox' },
    { kind: 'chardev', path: '/dev/console', major: 5, minor: 1 },
    { kind: 'file', path: '/odd', data: Buffer.from('abc'), mode: 0o755 },
  ]);

  it('writes sorted newc records that read back the same', () => {
    const entries = readCpio(archive);
    expect(entries.map((e) => e.path)).toEqual(['bin/sh', 'dev/console', 'etc', 'etc/motd', 'odd']);
    const motd = entries.find((e) => e.path === 'etc/motd')!;
    expect(motd.data.toString()).toBe('hello\n');
    expect(motd.mode).toBe(0o100644);
    expect(entries.find((e) => e.path === 'dev/console')!.rdev).toEqual([5, 1]);
    expect(entries.find((e) => e.path === 'bin/sh')!.data.toString()).toBe('busybox');
    expect(archive.length % 4).toBe(0);
  });

  it('is byte-for-byte reproducible', () => {
    const again = writeCpio([
      { kind: 'file', path: '/odd', data: Buffer.from('abc'), mode: 0o755 },
      { kind: 'chardev', path: '/dev/console', major: 5, minor: 1 },
      { kind: 'symlink', path: '/bin/sh', target: 'busybox' },
      { kind: 'dir', path: '/etc' },
      { kind: 'file', path: '/etc/motd', data: Buffer.from('hello\n'), mode: 0o644 },
    ]);
    expect(again.equals(archive)).toBe(true);
  });

  it('is read by GNU cpio as the kernel would unpack it', () => {
    const file = path.join(tempDir('m3lab-cpio-'), 'a.cpio');
    writeFileSync(file, archive);
    const listing = execFileSync('cpio', ['-itv', '--quiet', '-F', file], { encoding: 'utf8' });
    expect(listing).toMatch(/^crw-------.* 5,\s+1 .*dev\/console$/m);
    expect(listing).toMatch(/^lrwxrwxrwx.*bin\/sh -> busybox$/m);
    expect(listing).toMatch(/^-rwxr-xr-x.* 3 .*odd$/m);
  });
});
