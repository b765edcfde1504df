import { readFileSync } from 'node:fs';
import nodePath from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '../errors.ts';
import type { AccelChoice } from '../qemu/accel.ts';
import { boolean, integer, join, list, object, oneOf, string } from '../config/validate.ts';
import { KERNEL_VARIANTS, type KernelVariant } from '../image/kernel/variants.ts';
import { resolveBoards, resolveLan, type BoardSpec } from './board-spec.ts';
import { checkLabFile, LIMITS } from './lab-schema.ts';

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

const TOP_FIELDS = ['name', 'nodes', 'cpus', 'maxcpus', 'sockets', 'memory', 'append', 'accel', 'kernel', 'boards', 'lan', 'insecure'] as const;
const NODE_FIELDS = ['name', 'cpus', 'maxcpus', 'sockets', 'memory', 'append', 'kernel'] as const;
const NAME = /^[a-z][a-z0-9-]{0,30}$/;

/**
 * Validates a lab description (parsed YAML or flags) and expands it to one spec per
 * node. Every error names the field, e.g. `nodes[1].maxcpus: must be at least 2`.
 * `nodes` is a count, or a list of per-node overrides.
 */
export function resolveLab(input: unknown, overrides: LabOptions = {}, baseDir = process.cwd()): LabSpec {
  const doc = object(input ?? {}, '', TOP_FIELDS);
  const merged: Record<string, unknown> = { ...doc };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) merged[k] = v;
  // The shape first (lab-schema.ts, also the editors' JSON Schema); the rules between fields below.
  checkLabFile(merged);

  const name = merged.name === undefined ? 'lab' : string(merged.name, 'name', NAME);
  const accel = oneOf(merged.accel ?? 'auto', 'accel', ['auto', 'kvm', 'tcg'] as const);
  const cpus = integer(merged.cpus ?? 1, 'cpus', { min: 1, max: LIMITS.cpus });
  const maxcpus = integer(merged.maxcpus ?? cpus, 'maxcpus', { min: cpus, max: LIMITS.cpus });
  const sockets = integer(merged.sockets ?? 1, 'sockets', { min: 1, max: LIMITS.cpus });
  const memory = integer(merged.memory ?? 1024, 'memory', { min: LIMITS.memoryMin, max: LIMITS.memoryMax });
  const kernel = oneOf(merged.kernel ?? 'default', 'kernel', KERNEL_VARIANTS);
  const append = merged.append === undefined ? '' : typeof merged.append === 'string' ? merged.append : string(merged.append, 'append');

  let entries: Record<string, unknown>[];
  if (Array.isArray(merged.nodes)) {
    const l = list(merged.nodes, 'nodes');
    if (l.length === 0) throw new ConfigError('nodes', 'must list at least one node');
    if (l.length > LIMITS.nodes) throw new ConfigError('nodes', `at most ${LIMITS.nodes} nodes, got ${l.length}`);
    entries = l.map((n, i) => object(n ?? {}, join('nodes', i), NODE_FIELDS));
  } else {
    const count = integer(merged.nodes ?? 3, 'nodes', { min: 1, max: LIMITS.nodes });
    entries = Array.from({ length: count }, () => ({}));
  }

  const nodes = entries.map((e, i): NodeSpec => {
    const f = (k: string) => join(Array.isArray(merged.nodes) ? join('nodes', i) : '', k) || k;
    const nCpus = e.cpus === undefined ? cpus : integer(e.cpus, f('cpus'), { min: 1, max: LIMITS.cpus });
    const nMax = e.maxcpus === undefined ? Math.max(maxcpus, nCpus) : integer(e.maxcpus, f('maxcpus'), { min: nCpus, max: LIMITS.cpus });
    const nSockets = e.sockets === undefined ? sockets : integer(e.sockets, f('sockets'), { min: 1, max: LIMITS.cpus });
    // QEMU needs sockets x cores = maxcpus.
    if (nMax % nSockets !== 0) throw new ConfigError(e.sockets === undefined ? 'sockets' : f('sockets'), `must divide maxcpus (${nMax}), got ${nSockets}`);
    return {
      name: e.name === undefined ? `node${i + 1}` : string(e.name, f('name'), NAME),
      cpus: nCpus,
      maxcpus: nMax,
      sockets: nSockets,
      memoryMb: e.memory === undefined ? memory : integer(e.memory, f('memory'), { min: LIMITS.memoryMin, max: LIMITS.memoryMax }),
      append: [append, e.append === undefined ? '' : string(e.append, f('append'))].filter(Boolean).join(' '),
      // A --kernel on the command line wins over per-node choices, as other flags do.
      kernel: overrides.kernel ?? (e.kernel === undefined ? kernel : oneOf(e.kernel, f('kernel'), KERNEL_VARIANTS)),
    };
  });
  const seen = new Set<string>();
  nodes.forEach((n, i) => {
    if (seen.has(n.name)) throw new ConfigError(join('nodes', i) + '.name', `duplicate node name ${n.name}`);
    seen.add(n.name);
  });
  const boards = resolveBoards(merged.boards, NAME, baseDir);
  const lanAddresses = new Set<string>();
  boards.forEach((b, i) => {
    if (seen.has(b.name)) throw new ConfigError(join('boards', i) + '.name', `duplicate node name ${b.name}`);
    seen.add(b.name);
    // VMs take 169.254.77.<position>; a board must not answer for one of them.
    if (/^169\.254\.77\.(\d+)$/.test(b.lanAddress) && Number(b.lanAddress.split('.')[3]) <= nodes.length) throw new ConfigError(join('boards', i) + '.lan', `${b.lanAddress} is a VM's LAN address in this lab (169.254.77.1-${nodes.length})`);
    if (lanAddresses.has(b.lanAddress)) throw new ConfigError(join('boards', i) + '.lan', `duplicate LAN address ${b.lanAddress}`);
    lanAddresses.add(b.lanAddress);
  });
  // From the file only: a flag must not turn authentication off behind the file's back.
  const insecure = doc.insecure === undefined ? false : boolean(doc.insecure, 'insecure');
  return { name, accel, nodes, boards, lan: resolveLan(merged.lan, baseDir), insecure };
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
