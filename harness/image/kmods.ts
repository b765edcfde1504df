import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { InfraError } from '../errors.ts';

/**
 * Kernel module dependency order without depmod or modprobe (the host has neither):
 * each .ko's `depends=` comes from its .modinfo section, which is a run of
 * NUL-separated key=value strings we can find in the raw file.
 */
export function modinfo(file: string): Map<string, string[]> {
  const raw = readFileSync(file);
  const info = new Map<string, string[]>();
  // .modinfo strings are NUL-separated "key=value"; depends/name always appear there.
  for (const m of raw.toString('latin1').matchAll(/(?<=\0)(depends|name|vermagic)=([^\0]*)\0/g)) {
    const list = info.get(m[1]!) ?? [];
    list.push(m[2]!);
    info.set(m[1]!, list);
  }
  return info;
}

export function indexModules(modulesDir: string): Map<string, string> {
  const index = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ko')) index.set(name.slice(0, -3).replaceAll('-', '_'), full);
    }
  };
  walk(modulesDir);
  return index;
}

/** Returns the .ko files to insmod, dependencies first, each once. */
export function loadOrder(wanted: string[], index: Map<string, string>): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, chain: string[]) => {
    const key = name.replaceAll('-', '_');
    if (seen.has(key)) return;
    const file = index.get(key);
    if (!file) throw new InfraError(`kernel module ${key} (wanted by ${chain.join(' -> ') || 'the recipe'}) is not in the kernel package`);
    seen.add(key);
    const deps = (modinfo(file).get('depends')?.[0] ?? '').split(',').filter(Boolean);
    for (const dep of deps) visit(dep, [...chain, key]);
    order.push(file);
  };
  for (const w of wanted) visit(w, []);
  return order;
}
