import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './errors.ts';
import { parseWith } from './config/schema.ts';
import { z } from 'zod';

/**
 * Shards: a night (or a run of suites, or a bench matrix) cut into N
 * deterministic slices that run on different hosts and are merged afterwards
 * (`m3lab report merge`). Suites are sliced by vitest's own `--shard=K/N`;
 * bench cells by the same rule, computed here.
 */

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

/** The most shards one run is cut into (a night has fewer work items than this). */
export const MAX_SHARDS = 64;

/** `K/N`, 1 <= K <= N <= 64; a bad value names the flag it came from. */
export function parseShard(v: string, flag = '--shard'): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(v.trim());
  if (!m) throw new ConfigError(flag, `must be K/N (this is slice K of N, e.g. 1/2), got ${JSON.stringify(v)}`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw new ConfigError(flag, `N must be 1..${MAX_SHARDS}, got ${count}`);
  if (index < 1 || index > count) throw new ConfigError(flag, `K must be 1..${count}, got ${index}`);
  return { index, count };
}

export const shardText = (s: Shard) => `${s.index}/${s.count}`;

/**
 * vitest's BaseSequencer.calculateShardRange: items sorted by the SHA-1 of
 * their key, cut into N runs of nearly equal length, the longer runs first.
 */
export function shardRange(total: number, s: Shard): [number, number] {
  const base = Math.floor(total / s.count);
  const rest = total % s.count;
  if (rest >= s.index) return [(base + 1) * (s.index - 1), (base + 1) * s.index];
  const start = rest * (base + 1) + (s.index - rest - 1) * base;
  return [start, start + base];
}

/**
 * The items of shard `s`, cut as vitest cuts test files (`--shard`): sorted
 * by the SHA-1 hex of each key (vitest hashes a file's path from the root,
 * e.g. `/suites/ipc-local.test.ts`), then shardRange(). With `fromEnd`, slice
 * K takes vitest's slice N+1-K: a night with fewer suite files than shards
 * puts them on the first shards (vitest gives the longer runs first), and its
 * bench cells, sliced from the end, then land on the others.
 */
export function shardSlice<T>(items: T[], key: (t: T) => string, s: Shard, o: { fromEnd?: boolean } = {}): T[] {
  const which: Shard = o.fromEnd ? { index: s.count + 1 - s.index, count: s.count } : s;
  const [a, b] = shardRange(items.length, which);
  return items
    .map((item) => ({ item, hash: createHash('sha1').update(key(item)).digest('hex') }))
    .sort((x, y) => (x.hash < y.hash ? -1 : x.hash > y.hash ? 1 : 0))
    .slice(a, b)
    .map((x) => x.item);
}

/** What a shard leaves beside its results (shard.json): enough for the merge to check and describe it. */
export interface ShardRecord {
  /** The run this shard belongs to: shards of one night share it. */
  run: string;
  shard: Shard;
  kind: 'nightly' | 'run' | 'bench';
  host: string;
  started: string;
  finished?: string;
  /** Exit code of the shard's command (absent while it runs). */
  code?: number;
  commit?: string;
  command: string;
}

export const SHARD_FILE = 'shard.json';

export function writeShardRecord(dir: string, r: ShardRecord): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, SHARD_FILE), `${JSON.stringify(r, null, 2)}\n`);
}

const ShardRecordFile = z.object({
  run: z.string().min(1),
  shard: z
    .object({ index: z.number().int(), count: z.number().int() })
    .refine((s) => s.index >= 1 && s.index <= s.count, { message: 'must be {index, count} with 1 <= index <= count' }),
  kind: z.enum(['nightly', 'run', 'bench']),
  host: z.string().min(1),
  started: z.string(),
  finished: z.string().optional(),
  code: z.number().int().optional(),
  commit: z.string().optional(),
  command: z.string().optional(),
});

/** A shard's record, checked by its schema: a broken file names the field that is wrong. */
export function readShardRecord(dir: string): ShardRecord {
  const f = path.join(dir, SHARD_FILE);
  if (!existsSync(f)) throw new ConfigError(f, 'missing: not a shard results directory (written by --shard K/N)');
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(f, 'utf8'));
  } catch (e) {
    throw new ConfigError(f, `not JSON: ${(e as Error).message}`);
  }
  try {
    const r = parseWith(ShardRecordFile, doc);
    return { ...r, command: r.command ?? '' };
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${f}: ${e.field}`, e.message.slice(e.field.length + 2));
    throw e;
  }
}

export const hostName = () => os.hostname();
