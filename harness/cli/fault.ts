// `m3lab fault` and `m3lab heal`: faults injected into the running lab by hand, and undone.
import { ConfigError, InfraError } from '../errors.ts';
import { FAULT_HELP, FAULT_KINDS, faultName, isFaultKind, type FaultSpec } from '../faults/kinds.ts';
import { healAllFaults, healFault, injectFault } from '../faults/manual.ts';
import { readFaults, timelineText } from '../faults/store.ts';
import { Lab, currentLabDir, readState } from '../lab/lab.ts';

/** What `m3lab fault --help` says after the flags: how faults end, and every kind. */
export const FAULT_HELP_TEXT = `
Breaks the running lab (\`m3lab up\`) by hand; every step goes on the lab's
fault timeline (\`m3lab status\`). With --for the fault is healed after that
many seconds (and at Ctrl-C); without it, it stays until \`m3lab heal\`,
except the cycles (crash, power-cycle, reboot), which bring the node back at
once unless --for keeps it down.
\`m3lab down\` and the next suite run heal what is left.

kinds (QEMU VM / board):
${FAULT_KINDS.map((k) => `  ${k.padEnd(12)} ${FAULT_HELP[k].qemu ? 'vm' : '--'} ${FAULT_HELP[k].board ? 'board' : '-----'}  ${FAULT_HELP[k].what}; heal: ${FAULT_HELP[k].heal}`).join('\n')}
`;

/** Faults whose heal completes them (the node comes back): healed at once unless --for says how long to stay down. */
const CYCLES: FaultSpec['kind'][] = ['crash', 'power-cycle', 'reboot'];

async function runningLab(): Promise<Lab> {
  if (!readState(currentLabDir())) throw new InfraError('no lab is up; run `m3lab up` first');
  return Lab.attach(currentLabDir());
}

/** The flags of `m3lab fault` (cli.ts declares them); heal takes --process and --cpu. */
export interface FaultFlags {
  for?: string;
  process?: string;
  cpu?: string;
  delay?: string;
  loss?: string;
}

function specFrom(kind: string | undefined, node: string | undefined, values: Omit<FaultFlags, 'for'>): FaultSpec {
  if (!kind || !isFaultKind(kind)) throw new ConfigError('KIND', `unknown fault kind ${JSON.stringify(kind)} (have: ${FAULT_KINDS.join(', ')}; see m3lab fault --help)`);
  if (!node) throw new ConfigError('NODE', `m3lab fault ${kind} needs a node name`);
  const cpu = values.cpu === undefined ? undefined : Number(values.cpu);
  if (cpu !== undefined && (!Number.isInteger(cpu) || cpu < 1)) throw new ConfigError('--cpu', `must be a CPU number >= 1 (CPU 0 stays online), got ${values.cpu}`);
  if ((kind === 'kill' || kind === 'stop') && !values.process) throw new ConfigError('--process', `fault ${kind} needs --process NAME`);
  const delayMs = values.delay === undefined ? undefined : Number(values.delay);
  if (delayMs !== undefined && !(Number.isInteger(delayMs) && delayMs >= 0 && delayMs <= 10_000)) throw new ConfigError('--delay', `must be 0..10000 ms, got ${values.delay}`);
  const lossPct = values.loss === undefined ? undefined : Number(values.loss);
  if (lossPct !== undefined && !(lossPct >= 0 && lossPct <= 100)) throw new ConfigError('--loss', `must be 0..100 (%), got ${values.loss}`);
  if ((delayMs !== undefined || lossPct !== undefined) && kind !== 'netem') throw new ConfigError('--delay/--loss', `only for fault netem, not ${kind}`);
  return { kind, node, process: values.process, cpu, delayMs, lossPct };
}

/** `m3lab fault KIND NODE[,NODE...]`: injected now, healed after --for seconds or by `m3lab heal`. */
export async function cmdFault(kind: string, node: string, values: FaultFlags): Promise<number> {
  const spec = specFrom(kind, node, values);
  const forSeconds = values.for === undefined ? undefined : Number(values.for);
  if (forSeconds !== undefined && !(forSeconds > 0 && forSeconds <= 3600)) throw new ConfigError('--for', `must be 1..3600 seconds, got ${values.for}`);
  const lab = await runningLab();
  for (const n of spec.node.split(',')) lab.node(n);
  try {
    console.log(`${new Date().toISOString()} inject ${faultName(spec)}: ${await injectFault(lab, spec, forSeconds)}`);
    if (forSeconds === undefined && !CYCLES.includes(spec.kind)) return 0;
    if (forSeconds === undefined) {
      console.log(`${new Date().toISOString()} heal ${faultName(spec)}: ${await healFault(lab, spec)}`);
      return 0;
    }
    // Healed when the time is up, or at once on Ctrl-C / SIGTERM.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, forSeconds * 1000);
      const early = () => {
        clearTimeout(timer);
        resolve();
      };
      process.once('SIGINT', early);
      process.once('SIGTERM', early);
    });
    console.log(`${new Date().toISOString()} heal ${faultName(spec)}: ${await healFault(lab, spec)}`);
    return 0;
  } finally {
    lab.detach();
  }
}

/** `m3lab heal [all | KIND NODE] [--process NAME] [--cpu N]`. */
export async function cmdHeal(positionals: string[], values: { process?: string; cpu?: string }): Promise<number> {
  const lab = await runningLab();
  try {
    if (positionals.length === 0 || positionals[0] === 'all') {
      if (readFaults(lab.dir).active.length === 0) console.log('no fault is active');
      const errors = await healAllFaults(lab, (l) => console.log(l));
      return errors.length ? 1 : 0;
    }
    const spec = specFrom(positionals[0], positionals[1], values);
    const active = readFaults(lab.dir).active.find((a) => faultName(a) === faultName(spec) || (a.kind === spec.kind && a.node === spec.node));
    if (!active) throw new ConfigError('KIND NODE', `no active fault ${faultName(spec)} (active: ${readFaults(lab.dir).active.map(faultName).join(', ') || 'none'})`);
    console.log(`heal ${faultName(active)}: ${await healFault(lab, active)}`);
    return 0;
  } finally {
    lab.detach();
  }
}

/** The lines `m3lab status` adds: active faults and the timeline. */
export function faultStatusLines(labDir: string): string[] {
  const s = readFaults(labDir);
  const out: string[] = [];
  if (s.active.length) out.push(`  active faults: ${s.active.map((a) => `${faultName(a)}${a.until ? ` (until ${a.until})` : ''}`).join('; ')}`);
  if (s.timeline.length) out.push('  fault timeline:', ...timelineText(s).split('\n').map((l) => `    ${l}`));
  return out;
}
