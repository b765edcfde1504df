import { describe, expect, it } from 'vitest';
import { FAULT_HELP, FAULT_KINDS, faultName, isFaultKind } from '../../harness/faults/kinds.ts';
import { FAULT_HELP_TEXT } from '../../harness/cli/fault.ts';

describe('fault kinds', () => {
  it('every kind says what it does, how it heals and which targets can do it, and the help lists it', () => {
    for (const k of FAULT_KINDS) {
      expect(FAULT_HELP[k].what.length).toBeGreaterThan(10);
      expect(FAULT_HELP[k].heal.length).toBeGreaterThan(3);
      expect(FAULT_HELP[k].qemu || FAULT_HELP[k].board).toBe(true);
      expect(FAULT_HELP_TEXT).toContain(`  ${k.padEnd(12)} `);
    }
  });

  it('names a fault by kind, node and options, so a heal finds the one it undoes', () => {
    expect(faultName({ kind: 'stop', node: 'node2', process: 'm3proxy' })).toBe('stop node2 m3proxy');
    expect(faultName({ kind: 'cpu-offline', node: 'node1', cpu: 1 })).toBe('cpu-offline node1 cpu1');
    expect(faultName({ kind: 'partition', node: 'node3' })).toBe('partition node3');
    expect(faultName({ kind: 'netem', node: 'node1' })).toBe('netem node1 delay 100ms loss 5%');
    expect(faultName({ kind: 'netem', node: 'node1', delayMs: 20, lossPct: 0 })).toBe('netem node1 delay 20ms loss 0%');
    expect(faultName({ kind: 'one-way', node: 'node2' })).toBe('one-way node2');
    expect(isFaultKind('partition')).toBe(true);
    expect(faultName({ kind: 'split', node: 'node1,node2' })).toBe('split node1,node2');
    expect(isFaultKind('split')).toBe(true);
    expect(isFaultKind('meteor')).toBe(false);
  });
});
