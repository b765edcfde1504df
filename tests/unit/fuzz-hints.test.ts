import { describe, expect, it } from 'vitest';
import { runCDriver } from './support/c-driver.ts';

/**
 * m3fuzz --hints (kmod/tests/fuzz_hints.h): candidates from the module's
 * comparisons, compiled on the host with the kmod build's warnings and
 * driven by tests/fixtures/fuzz/hints-driver.c over hand-made KCOV_TRACE_CMP
 * buffers.
 */
describe('m3fuzz hints (fuzz_hints.h)', () => {
  const out = () => runCDriver('tests/fixtures/fuzz/hints-driver.c');

  it('an operand found in the argument is replaced by the other one, a constant only offered', () => {
    const o = out();
    // 3 at offset 8 was compared with 7: the candidate writes 7 there; 7 is nowhere to replace.
    expect(o.both).toBe('8:4:7');
    // const 5 vs 9: 9 becomes 5. const 11 vs 12: the argument's 11 is not replaced by 12.
    expect(o.const).toBe('4:4:5');
    // A 64-bit comparison of small values finds the 32-bit field.
    expect(o.widened).toBe('16:4:1000');
  });

  it('equal operands and values the argument does not hold give no candidate', () => {
    // Only the 2-byte comparison matches (the low half of 0x01020304 at offset 12).
    expect(out()['none-but-short']).toBe('12:2:1286');
  });

  it('never changes a pointer field, and writes a user address only where the fuzzer allows one', () => {
    // Kept: the plain field, the allowed address, the kernel address, and two small fields that only look like an
    // address. Dropped: the pointer's half, and the fuzzer's own .bss, whether by an 8-byte or a 4-byte hint.
    expect(out().pointers).toBe('8:4:7 16:8:139637976735744 24:8:18446744071578845184 8:8:8590009157');
  });

  it('keeps at most HINTS_MAX distinct candidates, whatever the trace holds, and applies one in place', () => {
    const o = out();
    expect(o.reservoir).toBe('16 seen 1312 dup 0');
    expect(o.bounded).toBe('1');
    expect(o.applied).toBe('9 7 16909060');
  });
});
