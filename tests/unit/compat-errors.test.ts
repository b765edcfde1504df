import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kmodDir } from '../../harness/kmod/build.ts';

// The compat header's one error table, read from the header itself.
const header = readFileSync(path.join(kmodDir, 'compat', 'm3ipc_compat.h'), 'utf8');
const table = [...header.matchAll(/^#define\s+(EMOL\w+)\s+\((-E\w+|-\d+)\)/gm)].map((m) => ({ name: m[1]!, value: m[2]! }));

// Every errno the module can hand back: the negative E-constants in its sources.
const moduleErrnos = new Set(
  readdirSync(path.join(kmodDir, 'module'))
    .filter((f) => f.endsWith('.c'))
    .flatMap((f) => [...readFileSync(path.join(kmodDir, 'module', f), 'utf8').matchAll(/-(E[A-Z0-9]+)\b/g)].map((m) => m[1]!)),
);
// Codes no call returns: kernel-internal ones (the syscall layer turns them into a restart or
// EINTR), and insmod's (the exit tracepoint missing).
const internal = new Set(['ERESTARTSYS', 'ERESTARTNOHAND', 'ENOENT']);

// Linux's errno numbers, from the kernel's own uapi headers on the host (linux-libc-dev).
const errnoValues = new Map<string, number>(
  ['errno-base.h', 'errno.h'].flatMap((f) =>
    [...readFileSync(path.join('/usr/include/asm-generic', f), 'utf8').matchAll(/^#define\s+(E\w+)\s+(\d+)/gm)].map((m): [string, number] => [m[1]!, Number(m[2])]),
  ),
);

function numeric(v: string): number {
  if (/^-\d+$/.test(v)) return Number(v);
  const errno = errnoValues.get(v.slice(1));
  if (errno === undefined) throw new Error(`unknown errno ${v}`);
  return -errno;
}

describe('compat error table (kmod/compat/m3ipc_compat.h)', () => {
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
      const names = table.filter((t) => t.value === `-${e}`).map((t) => t.name);
      if (names.length !== 1) missing.push(`${e}: ${names.join(', ') || 'no name'}`);
    }
    expect(missing).toEqual([]);
  });

  it('gives every name its own value, so switch statements over them compile', () => {
    const values = table.map((t) => numeric(t.value));
    expect(new Set(values).size).toBe(values.length);
    expect(values.every((v) => v < 0)).toBe(true);
  });

  it('documents every name in kmod/docs/compat.md', () => {
    const doc = readFileSync(path.join(kmodDir, 'docs', 'compat.md'), 'utf8');
    expect(table.filter((t) => !doc.includes(t.name)).map((t) => t.name)).toEqual([]);
  });
});
