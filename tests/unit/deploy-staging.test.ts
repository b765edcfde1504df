import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stripped } from '../../harness/kmod/deploy.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function program(): string {
  dir = mkdtempSync(path.join(os.tmpdir(), 'm3-stage-'));
  // A real ELF with a symbol table: cc's own output, not a fixture.
  const src = path.join(dir, 'p.c');
  execFileSync('sh', ['-c', `printf 'int main(void){return 0;}\\n' > ${src}`]);
  execFileSync('cc', ['-g', '-o', path.join(dir, 'prog'), src]);
  return 'prog';
}

describe('staging stripped programs for deploy', () => {
  it('three nodes staging the same program at once all get it, stripped, with no temporary left (the CI ENOENT)', async () => {
    const f = program();
    const outs = await Promise.all([stripped(dir, [f]), stripped(dir, [f]), stripped(dir, [f])]);
    const staged = path.join(outs[0], f);
    expect(new Set(outs).size).toBe(1);
    expect(statSync(staged).size).toBeLessThan(statSync(path.join(dir, f)).size);
    // readelf (binutils, which `make` installs): the original has a symbol table and debug info, the staged copy neither.
    const sections = (p: string) => execFileSync('readelf', ['-S', '-W', p]).toString();
    expect(sections(path.join(dir, f))).toMatch(/\.symtab/);
    expect(sections(path.join(dir, f))).toMatch(/\.debug_info/);
    expect(sections(staged)).not.toMatch(/\.symtab|\.debug_info/);
    expect(readdirSync(outs[0]).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('stages again when the program is newer than its staged copy, not otherwise', async () => {
    const f = program();
    const staged = path.join(await stripped(dir, [f]), f);
    const first = statSync(staged).mtimeMs;
    await stripped(dir, [f]);
    expect(statSync(staged).mtimeMs).toBe(first);
    const later = new Date(Date.now() + 5000);
    utimesSync(path.join(dir, f), later, later);
    await stripped(dir, [f]);
    expect(statSync(staged).mtimeMs).toBeGreaterThan(first);
  });

  it('a program strip cannot read is a clear error naming it', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'm3-stage-'));
    copyFileSync('/etc/hostname', path.join(dir, 'notelf'));
    await expect(stripped(dir, ['notelf'])).rejects.toThrow(/strip .*notelf failed/);
    expect(readdirSync(path.join(dir, '.deploy')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
