import * as allure from 'allure-js-commons';
import { scanConsole, type Finding } from '../../harness/console/scan.ts';
import { InfraError } from '../../harness/errors.ts';
import { healAllFaults } from '../../harness/faults/manual.ts';
import { Lab, currentLabDir, readState } from '../../harness/lab/lab.ts';
import { resolveLab, type LabOptions, type LabSpec } from '../../harness/lab/lab-file.ts';
import type { LabState } from '../../harness/lab/lab.ts';

export interface LabHandle {
  lab: Lab;
  /** True when this suite booted the lab (and so tears it down). */
  owned: boolean;
  /** Console length per node when the suite started: findings are judged from here on. */
  consoleStart: Map<string, number>;
}

const log = (l: string) => process.stderr.write(`${l}\n`);

/**
 * A lab for one suite file: the running lab from `m3lab up` when it has what the
 * suite needs (unless M3LAB_OWN_LAB=1), otherwise one booted for this file alone.
 * `fresh`: always its own lab, restored from snapshots or booted cold whatever
 * M3LAB_COLD says (a suite about how labs start).
 * Boot and connection failures surface as InfraError, i.e. Allure "broken".
 */
export async function useLab(need: Record<string, unknown>, fresh?: 'snapshot' | 'cold'): Promise<LabHandle> {
  const accel = (process.env.M3LAB_ACCEL as LabOptions['accel']) ?? undefined;
  const spec = resolveLab(need, { accel });
  const state = process.env.M3LAB_OWN_LAB === '1' || fresh ? undefined : readState(currentLabDir());
  let lab: Lab | undefined;
  let owned = false;
  if (state && fits(state, need, spec)) {
    try {
      lab = await Lab.attach(currentLabDir());
      log(`suite: using the running lab ${state.id}`);
      // A lab left half-faulted by hand (`m3lab fault`) is healed before any test runs on it.
      const errors = await healAllFaults(lab, log);
      if (errors.length) throw new InfraError(`the running lab has faults that do not heal: ${errors.map((e) => e.message).join('; ')}`);
    } catch (e) {
      log(`suite: running lab ${state.id} unusable (${(e as Error).message}); booting a new one`);
    }
  }
  if (!lab) {
    lab = await Lab.boot(spec, { log, ...(fresh ? { cold: fresh === 'cold' } : {}) });
    owned = true;
  }
  const consoleStart = new Map(lab.nodes.map((n) => [n.name, n.target.console.text().length]));
  return { lab, owned, consoleStart };
}

/**
 * A running lab serves a suite when it has enough nodes and its first nodes have
 * the vCPUs the suite asks for (only where the suite names a count).
 */
function fits(state: LabState, need: Record<string, unknown>, spec: LabSpec): boolean {
  if (state.nodes.length < spec.nodes.length) return false;
  // Boards are machines a suite brings along: such a suite boots its own lab.
  if (spec.boards.length > 0) return false;
  const asked = (i: number): { cpus?: unknown; maxcpus?: unknown; sockets?: unknown } =>
    Array.isArray(need.nodes) ? ((need.nodes[i] as object | undefined) ?? {}) : { cpus: need.cpus, maxcpus: need.maxcpus };
  return spec.nodes.every((n, i) => {
    const a = asked(i);
    const rec = state.nodes[i]!;
    const have = rec.spec;
    // The kernel and the extra command line always count: a suite on the debug
    // kernel or with nosmp must never run on a lab without them.
    const sameKernel = (rec.kernel?.variant ?? 'default') === n.kernel;
    const sameAppend = n.append === '' || have.append.split(' ').includes(n.append);
    const sameSockets = a.sockets === undefined || (have.sockets ?? 1) === n.sockets;
    return sameKernel && sameAppend && sameSockets && (a.cpus === undefined || have.cpus === n.cpus) && (a.maxcpus === undefined || have.maxcpus >= n.maxcpus);
  });
}

/**
 * Tears down a lab the suite booted, or hands a borrowed one back. With
 * keepEvidence (a test failed or broke), the consoles are kept after teardown;
 * a borrowed lab is marked so that its own teardown keeps them.
 */
export async function releaseLab(h: LabHandle | undefined, opts: { keepEvidence?: boolean } = {}): Promise<void> {
  if (!h) return;
  if (opts.keepEvidence) h.lab.markEvidence();
  if (h.owned) await h.lab.teardown();
  else h.lab.detach();
}

/** Attaches every node's console log to the current Allure test. */
export async function attachConsoles(h: LabHandle): Promise<void> {
  for (const n of h.lab.nodes) {
    await allure.attachment(`console ${n.name}`, n.target.console.text(), { contentType: 'text/plain' });
  }
}

/** Kernel trouble (panic, Oops, BUG, WARNING, hung task, lockdep) printed since the suite began. */
export function consoleFindings(h: LabHandle): { node: string; finding: Finding }[] {
  const out: { node: string; finding: Finding }[] = [];
  for (const n of h.lab.nodes) {
    const text = n.target.console.text().slice(h.consoleStart.get(n.name) ?? 0);
    for (const f of scanConsole(text)) out.push({ node: n.name, finding: f });
  }
  return out;
}

export function requireLab(h: LabHandle | undefined): LabHandle {
  if (!h) throw new InfraError('the lab did not come up (see the beforeAll error)');
  return h;
}
