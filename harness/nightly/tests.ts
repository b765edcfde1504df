import { existsSync } from 'node:fs';
import path from 'node:path';
import type { NightRecord, NightTest } from './store.ts';
import { readAllureResult } from '../report/allure-result.ts';


/**
 * The suite tests of a vitest run's result files (allure-vitest's: full name
 * `m3lab:FILE#describe test`), each with the project that ran it.
 */
export function suiteTests(resultsDir: string, files: string[], project: string, env?: Record<string, string>): NightTest[] {
  const out: NightTest[] = [];
  for (const f of files) {
    const p = path.join(resultsDir, f);
    if (!existsSync(p)) continue;
    const r = readAllureResult(p);
    const m = /^[^:]*:([^#]+)#/.exec(r.fullName ?? '');
    if (!m) continue;
    out.push({ fullName: r.fullName!, name: r.name, file: m[1]!, project, ...(env && Object.keys(env).length ? { env } : {}), status: r.status ?? 'unknown', host: r.labels?.find((l) => l.name === 'host')?.value });
  }
  return out;
}

/** The commit a night ran from, when it was a clean checkout of it (night.json's `commit`: `SHA[ + uncommitted changes] (subject)`). */
export function nightSha(rec: Pick<NightRecord, 'commit'>): { sha: string; dirty: boolean } | undefined {
  const m = /^([0-9a-f]{7,40})(\s\+ uncommitted changes)?/.exec(rec.commit);
  return m ? { sha: m[1]!, dirty: Boolean(m[2]) } : undefined;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const quote = (s: string) => (/^[\w./=:-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export interface NewFailure {
  test: NightTest;
  /** The newest earlier night in which the test passed. */
  goodNight: string;
  good: string;
  bad: string;
  /** The exact command that bisects it. */
  command: string;
}

/**
 * Tonight's failed suite tests that the newest earlier night which ran them
 * passed: each with the `m3lab bisect` command between that night's commit and
 * tonight's, on the test's project and with tonight's seed. A test failing
 * since before (or never seen passing) has nothing to bisect against.
 */
export function newFailures(tonight: NightRecord, earlier: NightRecord[]): NewFailure[] {
  const bad = nightSha(tonight);
  if (!bad) return [];
  const out: NewFailure[] = [];
  for (const t of tonight.tests ?? []) {
    if (t.status !== 'failed') continue;
    const same = (x: NightTest) => x.fullName === t.fullName && x.project === t.project && JSON.stringify(x.env ?? {}) === JSON.stringify(t.env ?? {});
    const before = earlier.find((n) => n.name !== tonight.name && (n.tests ?? []).some(same));
    const was = before?.tests?.find(same);
    const good = before ? nightSha(before) : undefined;
    if (!before || was?.status !== 'passed' || !good || good.dirty || good.sha === bad.sha) continue;
    const command = [...Object.entries(t.env ?? {}).map(([k, v]) => `${k}=${v}`), 'npx', 'm3lab', 'bisect', good.sha, bad.sha, '--project', t.project, '--seed', `${tonight.seed}`, '--', t.file, '-t', `${escapeRe(t.name)}$`].map(quote).join(' ');
    out.push({ test: t, goodNight: before.name, good: good.sha, bad: bad.sha, command });
  }
  return out;
}
