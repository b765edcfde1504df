/**
 * The fault timeline (after Jepsen's nemesis history): every fault injected or
 * healed, with its time since the run began, so a report shows what the system
 * was going through when a check failed.
 */
export interface TimelineEvent {
  /** Milliseconds since the timeline began. */
  t: number;
  at: string;
  kind: 'inject' | 'heal' | 'note' | 'error';
  fault: string;
  detail?: string;
}

export class Timeline {
  readonly started = Date.now();
  readonly events: TimelineEvent[] = [];

  record(kind: TimelineEvent['kind'], fault: string, detail?: string): TimelineEvent {
    const now = Date.now();
    const e: TimelineEvent = { t: now - this.started, at: new Date(now).toISOString(), kind, fault, detail };
    this.events.push(e);
    return e;
  }

  toText(): string {
    return this.events.map((e) => `${(e.t / 1000).toFixed(3).padStart(9)}s ${e.kind.padEnd(6)} ${e.fault}${e.detail ? `: ${e.detail}` : ''}`).join('\n');
  }
}
