import { describe, expect, it } from 'vitest';
import { runCDriver } from './support/c-driver.ts';

/**
 * The program corpus of m3fuzz --guided (kmod/tests/fuzz_prog.h), compiled on
 * the host with the same warnings the kmod build uses and driven by
 * tests/fixtures/fuzz/prog-driver.c.
 */
describe('m3fuzz programs (fuzz_prog.h)', () => {
  const out = () => runCDriver('tests/fixtures/fuzz/prog-driver.c');

  it('a call that reached new coverage joins with the calls before it, oldest first, at most six, and the corpus keeps the newest', () => {
    const o = out();
    expect(o.short).toBe('1,2');
    // Nine calls made: the program is the last six, in the order they were made.
    expect(o.window).toBe('4,5,6,7,8,9');
    expect(o.kept).toBe('2');
    // Arguments are clamped to the record's size; the corpus wraps, counting every add.
    expect(o.alen).toBe('16');
    expect(o.count).toBe('2048 added 2055');
  });

  it('mutations of a program remove a call or insert a fresh one, and never run past the program', () => {
    const o = out();
    expect(o['removed-first']).toBe('5,6,7,8,9');
    expect(o['fresh-at-2']).toBe('5,6,*,7,8,9');
    // A full program takes no insertion; a removal past its end changes nothing.
    expect(o.full).toBe('5,6,*,7,8,9');
    expect(o['past-end']).toBe('5,6,*,7,8,9');
  });
});
