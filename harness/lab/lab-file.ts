import { readFileSync } from 'node:fs';
import nodePath from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '../errors.ts';
import type { AccelChoice } from '../qemu/accel.ts';
import { KERNEL_VARIANTS, type KernelVariant } from '../image/kernel/variants.ts';
import { resolveBoards, resolveLan, type BoardSpec } from './board-spec.ts';
import { checkLabFile, type NodeFile } from './lab-schema.ts';

export { LIMITS } from './lab-schema.ts';

export type { BoardSpec } from './board-spec.ts';

export interface NodeSpec {
  name: string;
  cpus: number;
  maxcpus: number;
  /**
   * CPU packages the vCPUs are spread over (each with its own caches): 2 makes
   * a 2-vCPU node a two-socket machine, where the scheduler's wake-affine
   * choice and cache sharing differ from one socket with two cores.
   */
  sockets: number;
  memoryMb: number;
  append: string;
  /** Which kernel the node boots: Debian's (`default`) or one built from linux-source. */
  kernel: KernelVariant;
}

export interface LabSpec {
  name: string;
  accel: AccelChoice;
  nodes: NodeSpec[];
  /** Real machines (or simulated ones) the lab reaches but does not start. */
  boards: BoardSpec[];
  /** The lab's LAN cabled to an existing VDE switch (where the boards are). */
  lan: { uplink?: string };
  /**
   * `insecure: true` in the lab file: M3-IPC proxies may run with `--insecure`
   * (unauthenticated links) in this lab. Only the lab file can ask for it (no
   * command-line flag); without it the harness refuses such proxies (issue 20).
   */
  insecure: boolean;
}

/** Fields a lab file may set; flags on the command line use the same names. */
export interface LabOptions {
  name?: string;
  nodes?: number;
  cpus?: number;
  maxcpus?: number;
  sockets?: number;
  memory?: number;
  append?: string;
  accel?: AccelChoice;
  kernel?: KernelVariant;
}

/** A range rule between fields, worded like the schema's own range errors. */
function atLeast(value: number, min: number, field: string): number {
  if (value < min) throw new ConfigError(field, `must be at least ${min}, got ${value}`);
  return value;
}

/**
 * Validates a lab description (parsed YAML or flags) and expands it to one spec per
 * node. Every error names the field, e.g. `nodes[1].maxcpus: must be at least 2`.
 * `nodes` is a count, or a list of per-node overrides. The schema (lab-schema.ts,
 * also the editors' JSON Schema) checks each field's type and range; this adds
 * the defaults and the rules between fields.
 */
export function resolveLab(input: unknown, overrides: LabOptions = {}, baseDir = process.cwd()): LabSpec {
  // Unknown top-level keys and non-mappings are the schema's to refuse, before flags are merged in.
  const doc = checkLabFile(input);
  const merged: Record<string, unknown> = { ...doc };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) merged[k] = v;
  const f = checkLabFile(merged);

  const name = f.name ?? 'lab';
  const accel = f.accel ?? 'auto';
  const cpus = f.cpus ?? 1;
  const maxcpus = atLeast(f.maxcpus ?? cpus, cpus, 'maxcpus');
  const sockets = f.sockets ?? 1;
  const memory = f.memory ?? 1024;
  const kernel = f.kernel ?? 'default';
  const append = f.append ?? '';

  const listed = Array.isArray(f.nodes);
  const entries: NodeFile[] = Array.isArray(f.nodes) ? f.nodes : Array.from({ length: f.nodes ?? 3 }, () => ({}));

  const nodes = entries.map((e, i): NodeSpec => {
    const at = (k: string) => (listed ? `nodes[${i}].${k}` : k);
    const nCpus = e.cpus ?? cpus;
    const nMax = e.maxcpus === undefined ? Math.max(maxcpus, nCpus) : atLeast(e.maxcpus, nCpus, at('maxcpus'));
    const nSockets = e.sockets ?? sockets;
    // QEMU needs sockets x cores = maxcpus.
    if (nMax % nSockets !== 0) throw new ConfigError(e.sockets === undefined ? 'sockets' : at('sockets'), `must divide maxcpus (${nMax}), got ${nSockets}`);
    return {
      name: e.name ?? `node${i + 1}`,
      cpus: nCpus,
      maxcpus: nMax,
      sockets: nSockets,
      memoryMb: e.memory ?? memory,
      append: [append, e.append ?? ''].filter(Boolean).join(' '),
      // A --kernel on the command line wins over per-node choices, as other flags do.
      kernel: overrides.kernel ?? e.kernel ?? kernel,
    };
  });
  const seen = new Set<string>();
  nodes.forEach((n, i) => {
    if (seen.has(n.name)) throw new ConfigError(`nodes[${i}].name`, `duplicate node name ${n.name}`);
    seen.add(n.name);
  });
  const boards = resolveBoards(f.boards, baseDir);
  const lanAddresses = new Set<string>();
  boards.forEach((b, i) => {
    if (seen.has(b.name)) throw new ConfigError(`boards[${i}].name`, `duplicate node name ${b.name}`);
    seen.add(b.name);
    // VMs take 169.254.77.<position>; a board must not answer for one of them.
    if (/^169\.254\.77\.(\d+)$/.test(b.lanAddress) && Number(b.lanAddress.split('.')[3]) <= nodes.length) throw new ConfigError(`boards[${i}].lan`, `${b.lanAddress} is a VM's LAN address in this lab (169.254.77.1-${nodes.length})`);
    if (lanAddresses.has(b.lanAddress)) throw new ConfigError(`boards[${i}].lan`, `duplicate LAN address ${b.lanAddress}`);
    lanAddresses.add(b.lanAddress);
  });
  // From the file only: a flag must not turn authentication off behind the file's back.
  const insecure = doc.insecure ?? false;
  return { name, accel, nodes, boards, lan: resolveLan(f.lan, baseDir), insecure };
}

export function loadLabFile(path: string, overrides: LabOptions = {}): LabSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('--lab', `cannot read ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new ConfigError(path, `not valid YAML: ${(e as Error).message}`);
  }
  return resolveLab(doc, overrides, nodePath.dirname(nodePath.resolve(path)));
}
