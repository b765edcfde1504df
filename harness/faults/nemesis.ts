import { Timeline } from './timeline.ts';

/** A fault and the action that undoes it. Heal must be safe to call when already healed. */
export interface Fault {
  readonly name: string;
  inject(): Promise<string | void>;
  heal(): Promise<string | void>;
}

/**
 * Injects faults, remembers which are active and heals them: one at a time, or all
 * at teardown (in reverse order of injection), each step on the timeline. A heal
 * that fails is recorded and the remaining heals still run.
 */
export class Nemesis {
  private active: Fault[] = [];

  constructor(readonly timeline = new Timeline()) {}

  get activeFaults(): string[] {
    return this.active.map((f) => f.name);
  }

  async inject(f: Fault): Promise<void> {
    try {
      const detail = await f.inject();
      this.active.push(f);
      this.timeline.record('inject', f.name, detail || undefined);
    } catch (e) {
      this.timeline.record('error', f.name, `inject failed: ${(e as Error).message}`);
      throw e;
    }
  }

  async heal(f: Fault): Promise<void> {
    this.active = this.active.filter((x) => x !== f);
    try {
      const detail = await f.heal();
      this.timeline.record('heal', f.name, detail || undefined);
    } catch (e) {
      this.timeline.record('error', f.name, `heal failed: ${(e as Error).message}`);
      throw e;
    }
  }

  /** Heals everything still active; returns the errors instead of stopping at the first. */
  async healAll(): Promise<Error[]> {
    const errors: Error[] = [];
    for (const f of [...this.active].reverse()) {
      try {
        await this.heal(f);
      } catch (e) {
        errors.push(e as Error);
      }
    }
    return errors;
  }
}
