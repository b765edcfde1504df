import { existsSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readJsonWith } from '../config/schema.ts';
import { FAULT_KINDS, type FaultSpec } from './kinds.ts';
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

const FaultStateFile = z.object({
  active: z.array(
    z.looseObject({
      kind: z.enum(FAULT_KINDS),
      node: z.string().min(1),
      process: z.string().optional(),
      cpu: z.number().int().nonnegative().optional(),
      delayMs: z.number().nonnegative().optional(),
      lossPct: z.number().min(0).max(100).optional(),
      injectedAt: z.string(),
      until: z.string().optional(),
    }),
  ),
  timeline: z.array(z.looseObject({ t: z.number(), at: z.string(), kind: z.enum(['inject', 'heal', 'note', 'error']), fault: z.string(), node: z.string() })),
});

/**
 * The lab's faults; none when the file is absent. A damaged file is an error
 * naming its field: read as "no faults", a lab left partitioned would be taken
 * for a healed one.
 */
export function readFaults(labDir: string): FaultState {
  if (!existsSync(file(labDir))) return { active: [], timeline: [] };
  return readJsonWith(file(labDir), FaultStateFile) as FaultState;
}

export function writeFaults(labDir: string, s: FaultState): void {
  if (!existsSync(labDir)) return;
  writeFileSync(`${file(labDir)}.tmp`, `${JSON.stringify(s, null, 2)}\n`);
  renameSync(`${file(labDir)}.tmp`, file(labDir));
}

export function timelineText(s: FaultState): string {
  return s.timeline.map((e) => `${e.at} ${e.kind.padEnd(6)} ${e.fault}${e.detail ? `: ${e.detail}` : ''}`).join('\n');
}
