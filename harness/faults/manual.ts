import type { Lab } from '../lab/lab.ts';
import { faultName, makeFault, type FaultSpec } from './kinds.ts';
import { readFaults, writeFaults } from './store.ts';

/**
 * Faults injected and healed by hand against a running lab, every step on the
 * lab's persisted timeline.
 */
function record(lab: Lab, kind: 'inject' | 'heal' | 'error', spec: FaultSpec, detail?: string): void {
  const s = readFaults(lab.dir);
  const now = new Date();
  const t0 = s.timeline[0] ? Date.parse(s.timeline[0].at) : now.getTime();
  s.timeline.push({ t: now.getTime() - t0, at: now.toISOString(), kind, fault: faultName(spec), node: spec.node, detail });
  writeFaults(lab.dir, s);
}

export async function injectFault(lab: Lab, spec: FaultSpec, forSeconds?: number): Promise<string> {
  const f = makeFault(lab, spec);
  let detail: string;
  try {
    detail = (await f.inject()) || '';
  } catch (e) {
    record(lab, 'error', spec, `inject failed: ${(e as Error).message}`);
    throw e;
  }
  const s = readFaults(lab.dir);
  s.active.push({ ...spec, injectedAt: new Date().toISOString(), until: forSeconds ? new Date(Date.now() + forSeconds * 1000).toISOString() : undefined });
  writeFaults(lab.dir, s);
  record(lab, 'inject', spec, detail || undefined);
  return detail;
}

export async function healFault(lab: Lab, spec: FaultSpec): Promise<string> {
  const s = readFaults(lab.dir);
  s.active = s.active.filter((a) => faultName(a) !== faultName(spec));
  writeFaults(lab.dir, s);
  try {
    const detail = (await makeFault(lab, spec).heal()) || '';
    record(lab, 'heal', spec, detail || undefined);
    return detail;
  } catch (e) {
    record(lab, 'error', spec, `heal failed: ${(e as Error).message}`);
    throw e;
  }
}

/** Heals every fault still active, newest first; returns the errors instead of stopping at the first. */
export async function healAllFaults(lab: Lab, log: (l: string) => void = () => {}): Promise<Error[]> {
  const errors: Error[] = [];
  for (const spec of [...readFaults(lab.dir).active].reverse()) {
    try {
      log(`heal ${faultName(spec)}: ${await healFault(lab, spec)}`);
    } catch (e) {
      errors.push(e as Error);
      log(`heal ${faultName(spec)} failed: ${(e as Error).message}`);
    }
  }
  return errors;
}
