import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isVm, nodeCpus, type Lab } from '../lab/lab.ts';

let qemuVersion: Promise<string> | undefined;

/** `qemu-system-x86_64 --version`, first line's version number, asked once per process. */
export function qemuVersionOnce(): Promise<string> {
  qemuVersion ??= execa('qemu-system-x86_64', ['--version'], { reject: false }).then((r) => /version (\S+)/.exec(r.stdout ?? '')?.[1] ?? 'unknown');
  return qemuVersion;
}

export interface NodeFacts {
  node: string;
  kernel: string;
  release: string;
  vcpus: number;
  maxcpus: number;
  sockets: number;
  accel: string;
  qemu: string;
  /** Boots power-cycled because the guest went silent. */
  bootRetries: number;
}

/** What a reader of a result must know about every node it ran on. */
export async function labFacts(lab: Lab): Promise<NodeFacts[]> {
  const qemu = await qemuVersionOnce();
  return lab.nodes.map((n) => ({
    node: n.name,
    kernel: n.record.kernel.variant,
    release: n.record.kernel.release,
    vcpus: nodeCpus(n),
    maxcpus: isVm(n) ? n.record.spec.maxcpus : nodeCpus(n),
    sockets: isVm(n) ? n.record.spec.sockets ?? 1 : 1,
    // A board is not a VM: no accelerator, no QEMU.
    accel: isVm(n) ? lab.state.accel.accel : 'board',
    qemu: isVm(n) ? qemu : 'none (board)',
    bootRetries: isVm(n) ? n.record.bootRetries ?? 0 : 0,
  }));
}

/** `node1.kernel` → `debug (6.1.176-m3lab-debug)` and so on, for JUnit properties and Allure. */
export function factPairs(facts: NodeFacts[]): [string, string][] {
  return facts.flatMap((f) => [
    [`${f.node}.kernel`, `${f.kernel} (${f.release})`],
    [`${f.node}.vcpus`, `${f.vcpus}${f.maxcpus > f.vcpus ? ` (max ${f.maxcpus})` : ''}${f.sockets > 1 ? ` on ${f.sockets} sockets` : ''}`],
    [`${f.node}.accel`, f.accel],
    [`${f.node}.qemu`, f.qemu],
    ...(f.bootRetries ? ([[`${f.node}.bootRetries`, `${f.bootRetries}`]] as [string, string][]) : []),
  ]);
}

/**
 * Merges lab facts into allure-results/environment.properties (Allure's
 * Environment section); each suite's lab adds its own keys under its lab name.
 */
export function writeAllureEnvironment(resultsDir: string, prefix: string, pairs: [string, string][]): void {
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, 'environment.properties');
  const have = new Map<string, string>();
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) have.set(line.slice(0, i), line.slice(i + 1));
    }
  }
  for (const [k, v] of pairs) have.set(`${prefix}${k}`, v.replace(/\n/g, ' '));
  writeFileSync(file, [...have].map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
}
