import { Lab } from '../lab/lab.ts';
import type { BootPhases } from '../lab/boot-phases.ts';
import { resolveLab, type LabOptions } from '../lab/lab-file.ts';
import { describeTimeScale } from '../verdict/time-scale.ts';
import { summarize, type Summary } from './stats.ts';

/**
 * `m3lab bench lab`: how long a lab takes from QEMU start to ready, booted cold
 * REPEAT times, each node's time split into phases (boot-phases.ts), so a boot
 * regression can be bisected to the phase that grew. Snapshot restores are not
 * built yet; the JSON says so instead of leaving the field out.
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

export async function benchLab(o: LabBenchOptions): Promise<number> {
  const spec = resolveLab({ nodes: o.nodes, kernel: o.kernel }, { accel: o.accel });
  const runs: { lab: number; nodes: (BootPhases & { node: string })[]; timeScale: string }[] = [];
  for (let i = 0; i < o.repeat; i++) {
    const t0 = Date.now();
    const lab = await Lab.boot(spec, { log });
    const labSeconds = (Date.now() - t0) / 1000;
    try {
      const nodes = lab.vms.map((n) => {
        if (!n.record.bootPhases) throw new Error(`${n.name}: no boot phases (its kernel log has no "Run /init" record)`);
        return { node: n.name, ...n.record.bootPhases };
      });
      runs.push({ lab: Math.round(labSeconds * 100) / 100, nodes, timeScale: describeTimeScale(lab.timeScale) });
      log(`bench lab: boot ${i + 1} of ${o.repeat}: lab ready in ${labSeconds.toFixed(1)} s (${nodes.map((n) => `${n.node} ${n.total} s`).join(', ')})`);
    } finally {
      await lab.teardown();
    }
  }
  // The lab is ready when its slowest node is: phases of that node per boot.
  const slowest = runs.map((r) => r.nodes.reduce((a, b) => (b.total > a.total ? b : a)));
  const cold: Record<string, Summary> = {};
  for (const p of PHASES) cold[p] = summarize(slowest.map((n) => n[p]));
  const out = {
    nodes: o.nodes,
    kernel: o.kernel,
    repeat: o.repeat,
    cold: { labSeconds: summarize(runs.map((r) => r.lab)), slowestNode: cold },
    snapshot: { unavailable: 'labs are not restored from snapshots yet (issue 21, point 2)' },
    runs,
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  console.log(`lab boot, ${o.nodes} node(s), ${o.kernel} kernel, ${o.repeat} cold boot(s): seconds (median [min, max]) of the slowest node`);
  for (const p of PHASES) {
    const s = cold[p]!;
    console.log(`  ${p.padEnd(10)} ${s.median.toFixed(2).padStart(6)}  [${s.min.toFixed(2)}, ${s.max.toFixed(2)}]`);
  }
  const l = out.cold.labSeconds;
  console.log(`  lab        ${l.median.toFixed(2).padStart(6)}  [${l.min.toFixed(2)}, ${l.max.toFixed(2)}]  (Lab.boot call: image check, switch, QEMU, boot, agent)`);
  console.log(`  snapshot   unavailable: ${out.snapshot.unavailable}`);
  return 0;
}
