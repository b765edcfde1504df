import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { origTree } from '../../harness/compat/census.ts';
import { kmodDir } from '../../harness/kmod/build.ts';

// The compat header's error names and values, read from the header itself.
const header = readFileSync(path.join(kmodDir, 'compat', 'm3ipc_compat.h'), 'utf8');
const table = [...header.matchAll(/^#define\s+(EMOL\w+)\s+\((-\d+)\)/gm)].map((m) => ({ name: m[1]!, value: Number(m[2]!) }));
// The library's errno -> name table (compat_errors.c): what a program sees for each module errno.
const library = readFileSync(path.join(kmodDir, 'compat', 'lib', 'compat_errors.c'), 'utf8');
const mapping = [...library.matchAll(/^\s*\{\s*(E[A-Z0-9]+),\s*(EMOL\w+)\s*\},/gm)].map((m) => ({ errno: m[1]!, name: m[2]! }));

// Every errno the module can hand back: the negative E-constants in its sources.
const moduleErrnos = new Set(
  readdirSync(path.join(kmodDir, 'module'))
    .filter((f) => f.endsWith('.c'))
    .flatMap((f) => [...readFileSync(path.join(kmodDir, 'module', f), 'utf8').matchAll(/-(E[A-Z0-9]+)\b/g)].map((m) => m[1]!)),
);
// Codes no compat program sees: kernel-internal ones (the syscall layer turns them into a restart or
// EINTR), insmod's (the exit tracepoint missing), and those only link_set returns, a call of the proxies
// alone (issue 22): a bad fd, a socket that is not TCP, no hmac(sha512) in the kernel.
const internal = new Set(['ERESTARTSYS', 'ERESTARTNOHAND', 'ENOENT', 'EBADF', 'EPROTOTYPE']);

describe('compat error table (kmod/compat/m3ipc_compat.h, compat_errors.c)', () => {
  it('reads a table of the original names', () => {
    expect(table.length).toBeGreaterThan(30);
    for (const n of ['EMOLDSTDIED', 'EMOLSRCDIED', 'EMOLDEADSRCDST', 'EMOLLOCKED', 'EMOLTIMEDOUT', 'EMOLNOTREADY', 'EMOLNOTBIND', 'EMOLBADDCID', 'EMOLBADPROC', 'EMOLENDPOINT', 'EMOLNOPROXY', 'EMOLACCES', 'EMOLPERM', 'EMOLINVAL', 'EMOLBUSY', 'EMOLAGAIN', 'EMOLINTR', 'EMOLFAULT', 'EMOLNOSYS']) {
      expect(table.map((t) => t.name)).toContain(n);
    }
  });

  it('maps every errno the module returns to exactly one name', () => {
    expect(moduleErrnos.size).toBeGreaterThan(20);
    const missing: string[] = [];
    for (const e of moduleErrnos) {
      if (internal.has(e)) continue;
      const names = mapping.filter((m) => m.errno === e).map((m) => m.name);
      if (names.length !== 1) missing.push(`${e}: ${names.join(', ') || 'no name'}`);
    }
    expect(missing).toEqual([]);
    // and to a name the header defines, one name per errno
    expect(mapping.filter((m) => !table.some((t) => t.name === m.name))).toEqual([]);
    expect(new Set(mapping.map((m) => m.name)).size).toBe(mapping.length);
  });

  it('gives every name its own value, so switch statements over them compile', () => {
    const values = table.map((t) => t.value);
    expect(new Set(values).size).toBe(values.length);
    expect(values.every((v) => v < 0)).toBe(true);
  });

  // Issue 24, difference 3: a program prints and compares the numbers it saw on 1.6.
  it("gives every name the original's value (its kernel/minix/molerrno.h)", () => {
    const molerrno = path.join(origTree(), 'kernel', 'minix', 'molerrno.h');
    expect(existsSync(molerrno), `no ${molerrno}: set M3LAB_ORIG_MOLIPC to a copy of PabloPessolani/MOL-IPC`).toBe(true);
    const orig = new Map([...readFileSync(molerrno, 'latin1').matchAll(/^#define\s+(EMOL\w+)\s+\(_SIGN\s*(\d+)\)/gm)].map((m): [string, number] => [m[1]!, -Number(m[2]!)]));
    expect(orig.size).toBeGreaterThan(60);
    const differ = table.filter((t) => orig.get(t.name) !== t.value).map((t) => `${t.name}: ${t.value}, original ${orig.get(t.name) ?? 'none'}`);
    expect(differ).toEqual([]);
  });

  it('documents every name in kmod/docs/compat.md', () => {
    const doc = readFileSync(path.join(kmodDir, 'docs', 'compat.md'), 'utf8');
    expect(table.filter((t) => !doc.includes(t.name)).map((t) => t.name)).toEqual([]);
  });
});
