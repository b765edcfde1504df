import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FaultSpec } from './kinds.ts';
import type { TimelineEvent } from './timeline.ts';

/**
 * The faults of a running lab, kept beside its state (faults.json) so that a
 * fault injected by one command is healed by another, `m3lab status` shows the
 * timeline, and a lab left half-faulted is healed at the next start.
 */
export interface FaultState {
  active: (FaultSpec & { injectedAt: string; until?: string })[];
  timeline: (TimelineEvent & { node: string })[];
}

const file = (labDir: string) => path.join(labDir, 'faults.json');

export function readFaults(labDir: string): FaultState {
  try {
    return JSON.parse(readFileSync(file(labDir), 'utf8')) as FaultState;
  } catch {
    return { active: [], timeline: [] };
  }
}

export function writeFaults(labDir: string, s: FaultState): void {
  if (!existsSync(labDir)) return;
  writeFileSync(`${file(labDir)}.tmp`, `${JSON.stringify(s, null, 2)}\n`);
  renameSync(`${file(labDir)}.tmp`, file(labDir));
}

export function timelineText(s: FaultState): string {
  return s.timeline.map((e) => `${e.at} ${e.kind.padEnd(6)} ${e.fault}${e.detail ? `: ${e.detail}` : ''}`).join('\n');
}
