import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Facts about the host that hold until it reboots (whether KVM works, the TSC
 * rate), measured once and kept in a JSON file with the host's boot id.
 */
function hostBootId(): string {
  return existsSync('/proc/sys/kernel/random/boot_id') ? readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() : 'unknown';
}

/** What `file` holds for this host boot, or undefined (none yet, another boot, unreadable). */
export function readThisBoot<T extends object>(file: string): T | undefined {
  try {
    const { bootId, ...value } = JSON.parse(readFileSync(file, 'utf8')) as T & { bootId: string };
    return bootId === hostBootId() ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps `value` in `file` until the host reboots. */
export function keepThisBoot(file: string, value: object): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...value, bootId: hostBootId() }));
}
