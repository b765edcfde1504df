import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';

/**
 * Facts about the host that hold until it reboots (whether KVM works, the TSC
 * rate), measured once and kept in a JSON file with the host's boot id.
 */
function hostBootId(): string {
  return existsSync('/proc/sys/kernel/random/boot_id') ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : 'unknown';
}

/**
 * What `file` holds for this host boot, as SCHEMA reads it, or undefined (none
 * yet, another boot, unreadable, or not what SCHEMA says: then it is measured
 * again, as for a new boot).
 */
export function readThisBoot<S extends z.ZodType<object>>(file: string, schema: S): z.output<S> | undefined {
  try {
    const { bootId, ...value } = JSON.parse(readFileSync(file, 'utf8')) as { bootId?: unknown };
    if (bootId !== hostBootId()) return undefined;
    const r = schema.safeParse(value);
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps `value` in `file` until the host reboots. */
export function keepThisBoot(file: string, value: object): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...value, bootId: hostBootId() }));
}
