import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KERNEL_TEXT_BASE, formatCoverage, mapPcs, moduleCoverage, parseCoverFile, parseSites, sourceName } from '../../harness/fuzz/coverage.ts';

// A real relocatable object instrumented the way kbuild instruments the module
// (gcc -fsanitize-coverage=trace-pc -g -c), read with the real objdump and addr2line.
let dir = '';
let obj = '';
const SRC = ['int pick(int a)', '{', '\tif (a > 3)', '\t\treturn a * 2;', '\tif (a < -3)', '\t\treturn -a;', '\treturn 0;', '}', ''].join('\n');

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'm3-cover-'));
  writeFileSync(path.join(dir, 'pick.c'), SRC);
  obj = path.join(dir, 'pick.o');
  execFileSync('gcc', ['-O2', '-g', '-fsanitize-coverage=trace-pc', '-c', '-o', obj, path.join(dir, 'pick.c')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sites(): Map<string, number[]> {
  return parseSites(execFileSync('objdump', ['-r', obj]).toString());
}

describe('module coverage from KCOV PCs', () => {
  it('finds every instrumented block of a compiled object, as return addresses', () => {
    const s = sites();
    const text = s.get('.text') ?? [];
    // Three returns: at least one block each, and the entry.
    expect(text.length).toBeGreaterThanOrEqual(3);
    expect(text.every((o) => o >= 5)).toBe(true);
  });

  it('maps PCs through the KASLR offset and the section address; a PC off the sites is counted, not dropped', () => {
    const s = sites();
    const text = s.get('.text')!;
    const base = 0xffffffffc0200000n;
    const kaslr = 0x1e000000n;
    // KCOV stored PC = real address - KASLR offset.
    const pcs = [text[0]!, text[1]!].map((o) => base + BigInt(o) - kaslr);
    const file = [
      '# m3fuzz coverage: seed 1, random, 3 PCs',
      `kernel _text 0x${(KERNEL_TEXT_BASE + kaslr).toString(16)}`,
      `section .text 0x${base.toString(16)}`,
      ...pcs.map((p) => `pc 0x${p.toString(16)}`),
      `pc 0x${(base + 1n - kaslr).toString(16)}`,
    ].join('\n');
    const cover = parseCoverFile(file);
    expect(cover.pcs.length).toBe(3);
    const m = mapPcs(cover, s);
    expect([...(m.covered.get('.text') ?? [])].sort((a, b) => a - b)).toEqual([text[0], text[1]]);
    expect(m.unmatched).toBe(1);
    // Without the _text line the offset is unknown: nothing maps (a negative control of the arithmetic).
    const noKaslr = parseCoverFile(file.split('\n').filter((l) => !l.startsWith('kernel')).join('\n'));
    expect(mapPcs(noKaslr, s).unmatched).toBe(3);
  });

  it('line coverage: covered lines are lines of the source, and all sites covered is every line', async () => {
    const s = sites();
    const text = s.get('.text')!;
    const base = 0xffffffffc0200000n;
    const one = ['section .text 0x' + base.toString(16), `pc 0x${(base + BigInt(text[0]!)).toString(16)}`].join('\n');
    const part = await moduleCoverage(obj, one);
    expect(part.sites).toEqual({ covered: 1, total: text.length + [...s].filter(([n]) => n !== '.text').reduce((n, [, l]) => n + l.length, 0) });
    expect(part.lines.covered).toBe(1);
    expect(part.lines.total).toBeGreaterThanOrEqual(3);
    expect(part.files.map((f) => path.basename(f.file))).toEqual(['pick.c']);
    const all = await moduleCoverage(obj, ['section .text 0x' + base.toString(16), ...text.map((o) => `pc 0x${(base + BigInt(o)).toString(16)}`)].join('\n'));
    expect(all.lines.covered).toBe(all.lines.total);
    expect(formatCoverage(all)).toMatch(/module coverage: (\d+)\/\1 lines \(100\.0%\)/);
  });

  it('source names: the module files as kmod/, kernel headers apart', () => {
    expect(sourceName('/work/x/kmod/build/kernels/6.1.176-m3lab-debug/module/ipc.c')).toBe('kmod/module/ipc.c');
    expect(sourceName('affinity.c')).toBe('kmod/module/affinity.c');
    expect(sourceName('/root/.cache/m3lab/kernels/src/linux-source-6.1=6.1.176-1/linux-source-6.1/include/linux/list.h')).toBe('<kernel>/include/linux/list.h');
  });

  it('a broken coverage file names its line', () => {
    expect(() => parseCoverFile('# x\nsection .text 0x10\npc zz\n')).toThrow(/line 3/);
  });

  it('an object without KCOV sites is said to be one', async () => {
    const plain = path.join(dir, 'plain.o');
    execFileSync('gcc', ['-O2', '-g', '-c', '-o', plain, path.join(dir, 'pick.c')]);
    await expect(moduleCoverage(plain, 'pc 0x1\n')).rejects.toThrow(/no KCOV call sites/);
  });
});

describe('coverage --missed: lines as ranges', () => {
  it('runs of consecutive lines become ranges', async () => {
    const { lineRanges } = await import('../../harness/fuzz/coverage.ts');
    expect(lineRanges([3, 4, 5, 9, 11, 12])).toBe('3-5,9,11-12');
    expect(lineRanges([])).toBe('');
  });
});
