import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CellCalibration } from '../bench/calibrate.ts';
import type { Judged, RatioJudged, StoredNight, TargetCheck } from './history.ts';
import { z } from 'zod';
import { parseJsonWith } from '../config/schema.ts';

/**
 * Where nights accumulate: outside the clone, so a fresh clone (or `git clean`)
 * keeps the history a nightly compares with. One folder per night, named by its
 * start time (UTC, sortable) and commit; `history.jsonl` beside them is Allure's
 * own history file (allurerc `historyPath`), `latest` points at the newest night.
 *
 *   $M3LAB_NIGHTLY_DIR  or  $XDG_STATE_HOME/m3lab/nightly  (~/.local/state/m3lab/nightly)
 *     history.jsonl
 *     latest -> 20250101T020000Z-abc1234
 *     20250101T020000Z-abc1234/
 *       night.json  bench/  allure-results/  allure-report/  allurerc.json  junit-*.xml  state/
 */
export function nightlyRoot(): string {
  if (process.env.M3LAB_NIGHTLY_DIR) return path.resolve(process.env.M3LAB_NIGHTLY_DIR);
  const xdg = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(xdg, 'm3lab', 'nightly');
}

export const historyFile = (root: string) => path.join(root, 'history.jsonl');

/** `20250101T020000Z-abc1234`: sorts by time as a string. */
export function nightName(start: Date, commit: string): string {
  const stamp = start.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${commit.replace(/[^0-9A-Za-z+]/g, '').slice(0, 20) || 'nocommit'}`;
}

const NIGHT_DIR = /^\d{8}T\d{6}Z-/;

/** The record each night leaves (night.json): what it ran, what it found, and every bench figure judged. */
export interface NightRecord {
  name: string;
  mode: 'quick' | 'full';
  started: string;
  finished?: string;
  commit: string;
  seed: number;
  margin: number;
  plan: string[];
  environment: Record<string, string>;
  passed?: boolean;
  suites?: { passed: number; failed: number; broken: number; skipped: number };
  /** Absolute figures: shown with their reference, never a verdict. */
  figures: Judged[];
  /** Ratios to the same-run baselines, judged against the window: the performance verdicts (absent before them). */
  ratios?: RatioJudged[];
  /** Cell key -> the calibration at the cell's start and end (absent before calibration). */
  calibration?: Record<string, CellCalibration>;
  /** What the calibration and baselines say about the host against the reference night. */
  hostFacts?: string[];
  targets: TargetCheck[];
  /** Every failed or broken result, with its category. */
  failures: { category: string; name: string; message: string }[];
  /** Every suite test of the night, with its project and verdict (what a later night's new failures are found against). */
  tests?: NightTest[];
  /** The night was one shard of a sharded night (its folder holds that shard's results only). */
  shard?: { index: number; count: number; host: string };
  /** A merged night: its shards, each with the host that ran it. */
  shards?: { index: number; count: number; host: string; dir: string; passed?: boolean }[];
}

/** One suite test as a night saw it. */
export interface NightTest {
  /** Allure's full name: `m3lab:suites/ipc-local.test.ts#describe test`. */
  fullName: string;
  /** The test's own name (what `-t NAME$` selects). */
  name: string;
  /** Its suite file, repository-relative. */
  file: string;
  project: string;
  /** The run's own environment (a fuzz run's kernel and length): the bisect command sets it too. */
  env?: Record<string, string>;
  status: string;
  host?: string;
}

export function writeNight(dir: string, rec: NightRecord): void {
  mkdirSync(dir, { recursive: true });
  // Written whole then renamed: a night killed mid-write never leaves half a record for the next to read.
  const tmp = path.join(dir, 'night.json.tmp');
  writeFileSync(tmp, `${JSON.stringify(rec, null, 2)}\n`);
  renameSync(tmp, path.join(dir, 'night.json'));
}

/** What a night's record must hold to be compared with, listed or merged; the rest passes through. */
const NightRecordFile = z.looseObject({
  name: z.string(),
  mode: z.enum(['quick', 'full']),
  started: z.string(),
  finished: z.string().optional(),
  commit: z.string(),
  seed: z.number(),
  margin: z.number(),
  plan: z.array(z.string()),
  environment: z.record(z.string(), z.string()),
  figures: z.array(z.looseObject({ key: z.string() })),
  ratios: z.array(z.looseObject({ key: z.string() })).optional(),
  targets: z.array(z.looseObject({})),
  failures: z.array(z.looseObject({ category: z.string(), name: z.string(), message: z.string() })),
});

/**
 * A night's record, or undefined where there is none. A damaged one is said on
 * stderr and left out (one bad night must not stop every later comparison).
 */
export function readNight(dir: string): NightRecord | undefined {
  const f = path.join(dir, 'night.json');
  if (!existsSync(f)) return undefined;
  try {
    return parseJsonWith(f, NightRecordFile, readFileSync(f, 'utf8')) as unknown as NightRecord;
  } catch (e) {
    process.stderr.write(`nightly: left out: ${(e as Error).message}\n`);
    return undefined;
  }
}

/** A night folder's start, as an ISO time: from its name (`20250101T020000Z-…`), else its night.json. */
function nightStart(dir: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(path.basename(dir));
  if (m) return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z`;
  const started = readNight(dir)?.started;
  return started || undefined;
}

/**
 * Night folders under root, newest first (by start time). A night is a folder
 * named by its start (`20250101T020000Z-…`), or one with a night.json under
 * another name (`--night NAME` of a sharded night: a CI pipeline's, a Slurm
 * run's); `shards/` holds shards, not nights.
 */
export function nightDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'shards' && (NIGHT_DIR.test(d.name) || existsSync(path.join(root, d.name, 'night.json'))))
    .map((d) => ({ dir: path.join(root, d.name), start: nightStart(path.join(root, d.name)) ?? '' }))
    .sort((a, b) => (a.start === b.start ? (a.dir < b.dir ? 1 : -1) : a.start < b.start ? 1 : -1))
    .map((x) => x.dir);
}

/**
 * The stored figures of the nights before `except`, newest first. Only nights
 * that finished count: a night killed half-way has no trustworthy figures.
 */
export function storedNights(root: string, except?: string): StoredNight[] {
  return nightDirs(root)
    .filter((d) => path.basename(d) !== except)
    .map((d) => readNight(d))
    .filter((r): r is NightRecord => r !== undefined && r.finished !== undefined)
    .map((r) => ({ name: r.name, figures: r.figures, ratios: r.ratios, calibration: r.calibration }));
}

/** `root/latest` -> the night folder (relative, so the tree can move). */
export function pointLatest(root: string, dir: string): void {
  const link = path.join(root, 'latest');
  rmSync(link, { force: true });
  symlinkSync(path.basename(dir), link);
}

/**
 * Keeps the newest `keep` nights (M3LAB_NIGHTLY_KEEP, default 60): each holds
 * its Allure results with consoles. Allure's history.jsonl is trimmed by Allure
 * itself (historyLimit).
 */
export function pruneNights(root: string, keep: number): string[] {
  const gone = nightDirs(root).slice(keep);
  for (const d of gone) rmSync(d, { recursive: true, force: true });
  return gone;
}

export function keepCount(): number {
  const n = Number(process.env.M3LAB_NIGHTLY_KEEP ?? 60);
  return Number.isInteger(n) && n > 0 ? n : 60;
}
