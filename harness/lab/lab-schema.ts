import { z } from 'zod';
import { parseWith } from '../config/schema.ts';
import { KERNEL_VARIANTS } from '../image/kernel/variants.ts';

/**
 * The lab file's shape, declared once with zod: the first check of every lab
 * file and flag set (resolveLab), and the source of `labs/lab.schema.json`, the
 * JSON Schema an editor's YAML language server completes and checks lab files
 * with (docs/lab-file.md). Rules between fields (maxcpus at least cpus, sockets
 * dividing maxcpus, unique names and LAN addresses) stay in resolveLab, which
 * also fills in the defaults.
 */
export const LIMITS = { nodes: 16, cpus: 8, memoryMin: 384, memoryMax: 8192 };
const NAME = /^[a-z][a-z0-9-]{0,30}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

const int = (min: number, max: number, description: string) => z.number().int().min(min).max(max).describe(description);
const name = (description: string) => z.string().regex(NAME).describe(description);
const text = (description: string) => z.string().min(1).describe(description);
const kernel = z.enum(KERNEL_VARIANTS).describe('kernel variant (images/kernels/variants.yaml)');

/** What a node sets, and the lab for every node (WHOSE says which, in the editor's hover text). */
const machineFields = (whose: string) => ({
  cpus: int(1, LIMITS.cpus, `vCPUs at boot of ${whose}`).optional(),
  maxcpus: int(1, LIMITS.cpus, `hot-pluggable vCPUs of ${whose} (at least cpus)`).optional(),
  sockets: int(1, LIMITS.cpus, `CPU packages the vCPUs of ${whose} are spread over (divides maxcpus)`).optional(),
  memory: int(LIMITS.memoryMin, LIMITS.memoryMax, `MiB of ${whose}`).optional(),
  append: z.string().describe(`extra kernel command-line arguments of ${whose}`).optional(),
  kernel: kernel.optional(),
});

const node = z
  .strictObject({ name: name('node name, [a-z][a-z0-9-]*').optional(), ...machineFields('this node') })
  .describe('one node and what it sets differently from the lab');

const board = z
  .strictObject({
    name: name('board name, [a-z][a-z0-9-]*'),
    ssh: z.strictObject({
      host: z.string().regex(HOST).describe('address or host name of its SSH server'),
      port: int(1, 65535, 'SSH port (22)').optional(),
      user: z.string().regex(/^[a-z_][a-z0-9_-]*$/).describe('login (root)').optional(),
      key: text('private key file, relative to the lab file or ~/'),
    }),
    power: z
      .strictObject({
        on: text('host command that powers it on'),
        off: text('host command that powers it off'),
        cycle: text('host command that power-cycles it (off then on without it)').optional(),
        timeout: int(1, 3600, 'seconds each power command may take (60)').optional(),
      })
      .optional(),
    console: text('host command whose standard output is its serial console').optional(),
    lan: z.string().regex(IPV4).describe('its IPv4 address on the lab LAN'),
    node: int(1, 255, 'its M3-IPC node id').optional(),
    cpus: int(1, 1024, 'CPUs it must have online').optional(),
  })
  .describe('a real machine the lab reaches but does not start');

export const labFileSchema = z
  .strictObject({
    name: name('lab name, [a-z][a-z0-9-]*').optional(),
    accel: z.enum(['auto', 'kvm', 'tcg']).describe('accelerator: auto probes KVM and falls back to TCG').optional(),
    nodes: z
      .union([int(1, LIMITS.nodes, 'how many nodes'), z.array(node).min(1).max(LIMITS.nodes)], { error: `must be an integer count (1..${LIMITS.nodes}) or a list of 1 to ${LIMITS.nodes} nodes` })
      .optional(),
    ...machineFields('every node'),
    boards: z.array(board).describe('real machines the lab reaches but does not start').optional(),
    lan: z.strictObject({ uplink: text("an existing VDE switch's control folder the lab's LAN is cabled to").optional() }).optional(),
    insecure: z.boolean().describe('true: M3-IPC proxies may run with --insecure (unauthenticated links)').optional(),
  })
  .describe('An m3lab lab file (docs/lab-file.md)');

/** The JSON Schema of lab files, for editors (labs/lab.schema.json is this, written out). */
export function labFileJsonSchema(): Record<string, unknown> {
  return { ...z.toJSONSchema(labFileSchema, { io: 'input' }), $id: 'https://m3lab.invalid/lab.schema.json', title: 'm3lab lab file' };
}

export type LabFile = z.output<typeof labFileSchema>;
export type BoardFile = NonNullable<LabFile['boards']>[number];
export type NodeFile = z.output<typeof node>;

/** A parsed lab file (or flags) checked against the schema; the first problem is a ConfigError naming its field. */
export function checkLabFile(doc: unknown): LabFile {
  return parseWith(labFileSchema, doc ?? {});
}
