import { Lab } from '../lab/lab.ts';
import type { RestoreInfo } from '../lab/vm-start.ts';
import type { BootPhases } from '../lab/boot-phases.ts';
import { resolveLab, type LabOptions } from '../lab/lab-file.ts';
import { describeTimeScale } from '../verdict/time-scale.ts';
import { summarize, type Summary } from './stats.ts';

/**
 * `m3lab bench lab`: how long a lab takes from QEMU start to ready, booted cold
 * REPEAT times, each node's time split into phases (boot-phases.ts), so a boot
 * regression can be bisected to the phase that grew; then REPEAT times restored
 * from its snapshot (vm-start.ts), split into load, identity, agent and setup.
 * A snapshot missing from the cache is made by one more, uncounted, lab first.
 */
export interface LabBenchOptions {
  nodes: number;
  repeat: number;
  kernel: string;
  json: boolean;
  accel?: LabOptions['accel'];
}

const PHASES: (keyof BootPhases)[] = ['firmware', 'kernel', 'userspace', 'agent', 'setup', 'total'];
const log = (l: string) => process.stderr.write(`${l}\n`);

const RESTORE_PHASES = ['load', 'identity', 'agent', 'setup', 'total'] as const;
type RestorePhases = Required<Pick<RestoreInfo, (typeof RESTORE_PHASES)[number]>>;

export async function benchLab(o: LabBenchOptions): Promise<number> {
  const spec = resolveLab({ nodes: o.nodes, kernel: o.kernel }, { accel: o.accel });
  const runs: { lab: number; nodes: (BootPhases & { node: string })[]; timeScale: string }[] = [];
  for (let i = 0; i < o.repeat; i++) {
    const t0 = Date.now();
    const lab = await Lab.boot(spec, { log, cold: true });
    const labSeconds = (Date.now() - t0) / 1000;
    try {
      const nodes = lab.vms.map((n) => {
        if (!n.record.bootPhases) throw new Error(`${n.name}: no boot phases (its kernel log has no "Run /init" record)`);
        return { node: n.name, ...n.record.bootPhases };
      });
      runs.push({ lab: Math.round(labSeconds * 100) / 100, nodes, timeScale: describeTimeScale(lab.timeScale) });
      log(`bench lab: cold boot ${i + 1} of ${o.repeat}: lab ready in ${labSeconds.toFixed(1)} s (${nodes.map((n) => `${n.node} ${n.total} s`).join(', ')})`);
    } finally {
      await lab.teardown();
    }
  }
  const restored: { lab: number; nodes: (RestorePhases & { node: string })[]; timeScale: string }[] = [];
  let made: RestoreInfo['made'];
  for (let i = -1; i < o.repeat; i++) {
    const t0 = Date.now();
    const lab = await Lab.boot(spec, { log });
    const labSeconds = (Date.now() - t0) / 1000;
    try {
      const template = lab.vms.find((n) => n.record.restore?.made);
      if (i < 0) {
        // The warm-up: it made the snapshot when the cache had none; not counted.
        made = template?.record.restore?.made;
        continue;
      }
      if (template) throw new Error(`${template.name}: the snapshot was made again on restore ${i + 1} (the cache lost it)`);
      const nodes = lab.vms.map((n) => {
        const r = n.record.restore;
        if (!r || RESTORE_PHASES.some((p) => r[p] === undefined)) throw new Error(`${n.name}: not restored from a snapshot, or its phases are missing`);
        return { node: n.name, ...(r as RestorePhases) };
      });
      restored.push({ lab: Math.round(labSeconds * 100) / 100, nodes, timeScale: describeTimeScale(lab.timeScale) });
      log(`bench lab: restore ${i + 1} of ${o.repeat}: lab ready in ${labSeconds.toFixed(1)} s (${nodes.map((n) => `${n.node} ${n.total} s`).join(', ')})`);
    } finally {
      await lab.teardown();
    }
  }
  // The lab is ready when its slowest node is: phases of that node per boot.
  const slowest = runs.map((r) => r.nodes.reduce((a, b) => (b.total > a.total ? b : a)));
  const cold: Record<string, Summary> = {};
  for (const p of PHASES) cold[p] = summarize(slowest.map((n) => n[p]));
  const slowestRestored = restored.map((r) => r.nodes.reduce((a, b) => (b.total > a.total ? b : a)));
  const snap: Record<string, Summary> = {};
  for (const p of RESTORE_PHASES) snap[p] = summarize(slowestRestored.map((n) => n[p]));
  const out = {
    nodes: o.nodes,
    kernel: o.kernel,
    repeat: o.repeat,
    cold: { labSeconds: summarize(runs.map((r) => r.lab)), slowestNode: cold },
    snapshot: { labSeconds: summarize(restored.map((r) => r.lab)), slowestNode: snap, made: made ?? 'already in the cache' },
    runs,
    restores: restored,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  const row = (name: string, s: Summary, why = '') => console.log(`  ${name.padEnd(10)} ${s.median.toFixed(2).padStart(6)}  [${s.min.toFixed(2)}, ${s.max.toFixed(2)}]${why}`);
  console.log(`lab boot, ${o.nodes} node(s), ${o.kernel} kernel, ${o.repeat} cold boot(s): seconds (median [min, max]) of the slowest node`);
  for (const p of PHASES) row(p, cold[p]!);
  row('lab', out.cold.labSeconds, '  (Lab.boot call: image check, switch, QEMU, boot, agent)');
  console.log(`restored from the snapshot, ${o.repeat} time(s):`);
  for (const p of RESTORE_PHASES) row(p, snap[p]!);
  row('lab', out.snapshot.labSeconds, '  (Lab.boot call)');
  if (made) console.log(`  snapshot made by the warm-up lab: template booted in ${made.bootSeconds} s, saved in ${made.saveSeconds} s, ${(made.bytes / 1e6).toFixed(0)} MB`);
  return 0;
}
