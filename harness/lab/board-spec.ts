import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { integer, join, list, object, string } from '../config/validate.ts';
import type { BoardSpec } from '../target/board-spec.ts';

export type { BoardSpec } from '../target/board-spec.ts';

const BOARD_FIELDS = ['name', 'ssh', 'power', 'console', 'lan', 'node', 'cpus'] as const;
const SSH_FIELDS = ['host', 'port', 'user', 'key'] as const;
const POWER_FIELDS = ['on', 'off', 'cycle', 'timeout'] as const;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/;

/**
 * Validates `boards:` of a lab file; every error names its field
 * (`boards[0].power.timeout: must be at least 1, got 0`). Relative key files
 * are taken from the lab file's folder.
 */
export function resolveBoards(value: unknown, names: RegExp, baseDir: string): BoardSpec[] {
  if (value === undefined) return [];
  return list(value, 'boards').map((b, i): BoardSpec => {
    const f = (k: string) => join(join('boards', i), k);
    const o = object(b ?? {}, join('boards', i), BOARD_FIELDS);
    const name = string(o.name, f('name'), names);
    const s = object(o.ssh, f('ssh'), SSH_FIELDS);
    const key = string(s.key, join(f('ssh'), 'key'));
    const spec: BoardSpec = {
      name,
      ssh: {
        host: string(s.host, join(f('ssh'), 'host'), HOST),
        port: s.port === undefined ? 22 : integer(s.port, join(f('ssh'), 'port'), { min: 1, max: 65535 }),
        user: s.user === undefined ? 'root' : string(s.user, join(f('ssh'), 'user'), /^[a-z_][a-z0-9_-]*$/),
        keyFile: key.startsWith('~/') ? path.join(os.homedir(), key.slice(2)) : path.resolve(baseDir, key),
      },
      lanAddress: string(o.lan, f('lan'), IPV4),
    };
    if (o.power !== undefined) {
      const p = object(o.power, f('power'), POWER_FIELDS);
      const pf = (k: string) => join(f('power'), k);
      if (p.on === undefined || p.off === undefined) throw new ConfigError(p.on === undefined ? pf('on') : pf('off'), 'power needs both an on and an off command');
      spec.power = {
        on: string(p.on, pf('on')),
        off: string(p.off, pf('off')),
        cycle: p.cycle === undefined ? undefined : string(p.cycle, pf('cycle')),
        timeoutMs: (p.timeout === undefined ? 60 : integer(p.timeout, pf('timeout'), { min: 1, max: 3600 })) * 1000,
      };
    }
    if (o.console !== undefined) spec.console = string(o.console, f('console'));
    if (o.node !== undefined) spec.nodeId = integer(o.node, f('node'), { min: 1, max: 255 });
    if (o.cpus !== undefined) spec.cpus = integer(o.cpus, f('cpus'), { min: 1, max: 1024 });
    return spec;
  });
}

/** `lan:` of a lab file: an existing VDE switch the lab's LAN is cabled to (the boards' LAN). */
export function resolveLan(value: unknown, baseDir: string): { uplink?: string } {
  if (value === undefined) return {};
  const o = object(value, 'lan', ['uplink']);
  return o.uplink === undefined ? {} : { uplink: path.resolve(baseDir, string(o.uplink, 'lan.uplink')) };
}
