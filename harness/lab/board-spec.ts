import os from 'node:os';
import path from 'node:path';
import type { BoardFile, LabFile } from './lab-schema.ts';
import type { BoardSpec } from '../target/board-spec.ts';

export type { BoardSpec } from '../target/board-spec.ts';

/**
 * `boards:` of a lab file, already checked by its schema (lab-schema.ts: every
 * error names its field, `boards[0].power.timeout: must be at most 3600`), with
 * the defaults filled in. Relative key files are taken from the lab file's folder.
 */
export function resolveBoards(boards: BoardFile[] | undefined, baseDir: string): BoardSpec[] {
  return (boards ?? []).map((o): BoardSpec => {
    const key = o.ssh.key;
    const spec: BoardSpec = {
      name: o.name,
      ssh: {
        host: o.ssh.host,
        port: o.ssh.port ?? 22,
        user: o.ssh.user ?? 'root',
        keyFile: key.startsWith('~/') ? path.join(os.homedir(), key.slice(2)) : path.resolve(baseDir, key),
      },
      lanAddress: o.lan,
    };
    if (o.power) spec.power = { on: o.power.on, off: o.power.off, cycle: o.power.cycle, timeoutMs: (o.power.timeout ?? 60) * 1000 };
    if (o.console !== undefined) spec.console = o.console;
    if (o.node !== undefined) spec.nodeId = o.node;
    if (o.cpus !== undefined) spec.cpus = o.cpus;
    return spec;
  });
}

/** `lan:` of a lab file: an existing VDE switch the lab's LAN is cabled to (the boards' LAN). */
export function resolveLan(lan: LabFile['lan'], baseDir: string): { uplink?: string } {
  return lan?.uplink === undefined ? {} : { uplink: path.resolve(baseDir, lan.uplink) };
}
