import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fieldOf } from './support/field-of.ts';
import { ConfigError } from '../../harness/errors.ts';
import { configMismatches, fragmentWants, kernelsDir, loadVariants, parseKernelList, parseVariants } from '../../harness/image/kernel/variants.ts';
import { resolveLab } from '../../harness/lab/lab-file.ts';


describe('kernel variants', () => {
  it('the shipped variants file names existing fragments for debug and up', () => {
    const v = loadVariants();
    expect(v.variants.map((x) => x.name).sort()).toEqual(['debug', 'up']);
    for (const x of v.variants) for (const f of x.fragments) expect(existsSync(path.join(kernelsDir, f))).toBe(true);
  });

  it('the debug fragment asks for every checker the lab promises, and up for no SMP', () => {
    const debug = fragmentWants(readFileSync(path.join(kernelsDir, 'debug.config'), 'utf8'));
    for (const sym of ['CONFIG_KASAN', 'CONFIG_KASAN_GENERIC', 'CONFIG_KASAN_INLINE', 'CONFIG_KFENCE', 'CONFIG_UBSAN', 'CONFIG_PROVE_LOCKING', 'CONFIG_DEBUG_ATOMIC_SLEEP', 'CONFIG_DEBUG_LIST', 'CONFIG_DETECT_HUNG_TASK', 'CONFIG_SOFTLOCKUP_DETECTOR']) {
      expect({ sym, want: debug.get(sym) }).toEqual({ sym, want: 'y' });
    }
    expect(debug.get('CONFIG_PANIC_ON_OOPS')).toBe('n');
    expect(fragmentWants(readFileSync(path.join(kernelsDir, 'up.config'), 'utf8')).get('CONFIG_SMP')).toBe('n');
  });

  it('the debug variant boots with preempt=full and every KASAN report; a bad boot parameter is refused by field', () => {
    const debug = loadVariants().variants.find((x) => x.name === 'debug')!;
    // preempt=full: under voluntary preemption this kernel can deadlock in its RCU-tasks self-test at boot.
    expect(debug.append.split(' ').sort()).toEqual(['kasan_multi_shot', 'preempt=full']);
    expect(loadVariants().variants.find((x) => x.name === 'up')!.append).toBe('');
    const bad = 'source: { package: linux-source-6.1, version: "1" }\nvariants:\n  debug: { fragments: [base.config], append: "a;reboot" }\n';
    expect(fieldOf(() => parseVariants(bad))).toBe('variants.debug.append');
  });

  it('finds symbols olddefconfig dropped, and accepts "not set" for =n', () => {
    const wants = fragmentWants('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=n\nCONFIG_D="x"\n# a comment\n');
    expect([...wants]).toEqual([['CONFIG_A', 'y'], ['CONFIG_B', 'n'], ['CONFIG_C', 'n'], ['CONFIG_D', '"x"']]);
    const final = 'CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\nCONFIG_D="y"\n';
    expect(configMismatches(wants, final)).toEqual([
      ['CONFIG_B', 'n', 'y'],
      ['CONFIG_D', '"x"', '"y"'],
    ]);
    expect(configMismatches(fragmentWants('CONFIG_E=y\n'), '')).toEqual([['CONFIG_E', 'y', 'n']]);
  });

  it('parses --kernel lists and names the flag on a bad one', () => {
    expect(parseKernelList('default,debug, up')).toEqual(['default', 'debug', 'up']);
    expect(() => parseKernelList('debug,smp')).toThrow('--kernel: unknown kernel variant "smp" (have: default, debug, up)');
    expect(fieldOf(() => parseKernelList(''))).toBe('--kernel');
  });

  it('a variants file with an unknown variant or a bad fragment name is refused by field', () => {
    expect(fieldOf(() => parseVariants('source: { package: linux-source-6.1, version: "1" }\nvariants: { smp: { fragments: [] } }\n'))).toBe('variants.smp');
    expect(fieldOf(() => parseVariants('source: { package: linux-source-6.1, version: "1" }\nvariants: { up: { fragments: ["../etc/passwd"] } }\n'))).toBe('variants.up.fragments[0]');
  });

  it('the lab file chooses a kernel per lab and per node; --kernel wins', () => {
    const spec = resolveLab({ kernel: 'debug', nodes: [{}, { kernel: 'up' }] });
    expect(spec.nodes.map((n) => n.kernel)).toEqual(['debug', 'up']);
    expect(resolveLab({ nodes: 2 }).nodes.map((n) => n.kernel)).toEqual(['default', 'default']);
    expect(resolveLab({ nodes: [{ kernel: 'up' }] }, { kernel: 'debug' }).nodes[0]!.kernel).toBe('debug');
    expect(fieldOf(() => resolveLab({ nodes: [{}, { kernel: 'kasan' }] }))).toBe('nodes[1].kernel');
    expect(fieldOf(() => resolveLab({ kernel: 'smp' }))).toBe('kernel');
  });
});
