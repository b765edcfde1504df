import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { repoRoot } from '../paths.ts';
import { readBundleTest } from './bundle-file.ts';

/**
 * One command to run a failed test again the way it ran: the suite file, the
 * test, its seed, and the kernel variant and command line of its lab, all read
 * from the evidence bundle the lab kept (.m3lab/bundles/<id>/test.json).
 */
export interface Replay {
  /** Arguments to vitest. */
  args: string[];
  /** Environment the suites read (M3LAB_SEED, M3LAB_KERNEL, M3LAB_APPEND). */
  env: Record<string, string>;
  /** The same as one shell line, for a note or a bug report. */
  line: string;
}

interface BundleFacts {
  test?: unknown;
  file?: unknown;
  seed?: unknown;
  lab?: { spec?: { nodes?: { kernel?: string; append?: string }[] } };
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const quote = (s: string) => (/^[\w./=:-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export function replayOf(facts: BundleFacts, where = 'the bundle'): Replay {
  if (typeof facts.test !== 'string' || !facts.test) throw new ConfigError('test', `${where} names no test`);
  if (typeof facts.file !== 'string' || !facts.file) throw new ConfigError('file', `${where} names no suite file`);
  const file = path.relative(repoRoot, facts.file) || facts.file;
  const node = facts.lab?.spec?.nodes?.[0];
  const env: Record<string, string> = {};
  if (facts.seed !== undefined) {
    if (typeof facts.seed !== 'number' || !Number.isInteger(facts.seed)) throw new ConfigError('seed', `${where} has a seed that is not an integer: ${JSON.stringify(facts.seed)}`);
    env.M3LAB_SEED = `${facts.seed}`;
  }
  if (node?.kernel && node.kernel !== 'default') env.M3LAB_KERNEL = node.kernel;
  if (node?.append) env.M3LAB_APPEND = node.append;
  // The purpose-made failing suites (tests/verdicts, tests/canary) have their own
  // vitest config; every other suite is a file of the lab project.
  const how = /^tests\/(verdicts|canary)\//.test(file) ? ['--config', 'tests/verdicts/vitest.config.ts'] : ['--project', 'lab'];
  // -t takes a pattern: the whole name, anchored, matches that one test.
  const args = ['run', ...how, file, '-t', `${escapeRe(facts.test)}$`];
  const line = [...Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`), 'npx', 'vitest', ...args.map(quote)].join(' ');
  return { args, env, line };
}

export function readBundle(dir: string): Replay {
  const f = path.join(dir, 'test.json');
  if (!existsSync(f)) throw new ConfigError('bundle', `${dir} has no test.json (is it a folder under .m3lab/bundles/?)`);
  let facts: BundleFacts;
  try {
    facts = readBundleTest(f);
  } catch (e) {
    throw new ConfigError('test.json', (e as Error).message);
  }
  return replayOf(facts, f);
}
