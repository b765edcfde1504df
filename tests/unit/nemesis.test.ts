import { describe, expect, it } from 'vitest';
import { Nemesis, type Fault } from '../../harness/faults/nemesis.ts';

function fault(name: string, log: string[], opts: { failHeal?: boolean } = {}): Fault {
  return {
    name,
    inject: async () => {
      log.push(`inject ${name}`);
      return `${name} on`;
    },
    heal: async () => {
      log.push(`heal ${name}`);
      if (opts.failHeal) throw new Error(`${name} stuck`);
    },
  };
}

describe('nemesis', () => {
  it('pairs every fault with its heal and puts both on the timeline', async () => {
    const log: string[] = [];
    const n = new Nemesis();
    const a = fault('kill proxy node1->node2', log);
    await n.inject(a);
    expect(n.activeFaults).toEqual(['kill proxy node1->node2']);
    await n.heal(a);
    expect(n.activeFaults).toEqual([]);
    expect(n.timeline.events.map((e) => [e.kind, e.fault, e.detail])).toEqual([
      ['inject', 'kill proxy node1->node2', 'kill proxy node1->node2 on'],
      ['heal', 'kill proxy node1->node2', undefined],
    ]);
    expect(n.timeline.toText()).toMatch(/^\s+\d+\.\d{3}s inject kill proxy node1->node2: kill proxy node1->node2 on$/m);
  });

  it('heal-all heals in reverse order and keeps going past a failed heal', async () => {
    const log: string[] = [];
    const n = new Nemesis();
    await n.inject(fault('a', log));
    await n.inject(fault('b', log, { failHeal: true }));
    await n.inject(fault('c', log));
    const errors = await n.healAll();
    expect(log).toEqual(['inject a', 'inject b', 'inject c', 'heal c', 'heal b', 'heal a']);
    expect(errors.map((e) => e.message)).toEqual(['b stuck']);
    expect(n.activeFaults).toEqual([]);
    expect(n.timeline.events.filter((e) => e.kind === 'error').map((e) => e.detail)).toEqual(['heal failed: b stuck']);
  });
});
