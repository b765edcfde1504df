import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { kmodBuildDir } from '../kmod/build.ts';
import { isVm, machineNote, type Lab } from '../lab/lab.ts';
import { stateRoot } from '../paths.ts';
import { labFacts } from './environment.ts';
import type { KernelReport } from '../console/kernel-reports.ts';
import type { Verdict } from '../verdict/verdict.ts';

/** Folder that holds one evidence bundle per failed or broken test (M3LAB_BUNDLES: a shard's or a bisect step's results). */
export const bundlesRoot = () => (process.env.M3LAB_BUNDLES ? path.resolve(process.env.M3LAB_BUNDLES) : path.join(stateRoot(), 'bundles'));

/** Bundles kept (newest first); older ones are pruned by count, never at random. */
export function bundlesToKeep(): number {
  const n = Number(process.env.M3LAB_KEEP_BUNDLES);
  return Number.isInteger(n) && n > 0 ? n : 40;
}

export interface TestEvidence {
  test: string;
  file: string;
  verdict: Verdict;
  error: string;
  seed?: number;
  startedAt: string;
  endedAt: string;
  reports: { node: string; report: KernelReport }[];
  /** Per node, the console text printed while the test ran. */
  consoleSince: Map<string, number>;
  /** dmesg of every node that still answers, whole, read after the test. */
  dmesg: Map<string, string>;
  extra?: Record<string, string>;
  /** Suite-specific files (proxy logs, histories): name -> text. */
  files?: Record<string, string>;
}

function sha256(file: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(file)).digest('hex');
  } catch {
    return undefined;
  }
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);

/**
 * Writes everything a developer needs to understand a failure without the lab:
 * every node's console (whole, and the part the test produced), dmesg, the QEMU
 * command lines and stderr, image/kernel/module hashes, the seed, the error and
 * the kernel reports. Returns the folder.
 */
export async function saveTestBundle(lab: Lab, ev: TestEvidence): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = path.join(bundlesRoot(), `${stamp}-${slug(ev.test)}`);
  mkdirSync(dir, { recursive: true });
  const facts = await labFacts(lab);
  const hashes: Record<string, string | undefined> = { image: lab.state.image.hash, initrd: sha256(lab.state.image.initrd) };
  for (const n of lab.nodes) {
    if (isVm(n)) hashes[`${n.name}.kernel`] = sha256(n.target.spec.kernel);
    hashes[`${n.name}.m3ipc.ko`] = sha256(path.join(kmodBuildDir, 'kernels', n.record.kernel.release, 'module', 'm3ipc.ko'));
  }
  writeFileSync(
    path.join(dir, 'test.json'),
    `${JSON.stringify(
      {
        test: ev.test,
        file: ev.file,
        verdict: ev.verdict,
        seed: ev.seed,
        startedAt: ev.startedAt,
        endedAt: ev.endedAt,
        lab: { id: lab.state.id, name: lab.state.spec.name, accel: lab.state.accel, spec: lab.state.spec },
        nodes: facts,
        hashes,
        reports: ev.reports.map((r) => ({ node: r.node, kind: r.report.kind, title: r.report.title })),
        ...ev.extra,
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(path.join(dir, 'error.txt'), `${ev.error}\n`);
  if (ev.reports.length) {
    writeFileSync(path.join(dir, 'reports.txt'), ev.reports.map((r) => `=== ${r.node}: ${r.report.title} ===\n${r.report.text}\n`).join('\n'));
  }
  for (const n of lab.nodes) {
    const text = n.target.console.text();
    writeFileSync(path.join(dir, `${n.name}.console.log`), text);
    writeFileSync(path.join(dir, `${n.name}.console-test.log`), text.slice(ev.consoleSince.get(n.name) ?? 0));
    const note = machineNote(n);
    writeFileSync(path.join(dir, note.file), note.text);
    const d = ev.dmesg.get(n.name);
    if (d !== undefined) writeFileSync(path.join(dir, `${n.name}.dmesg.log`), d);
  }
  for (const [name, text] of Object.entries(ev.files ?? {})) writeFileSync(path.join(dir, name.replace(/[^A-Za-z0-9._-]+/g, '_')), text);
  pruneBundles();
  return dir;
}

/** Keeps the newest bundles (by name, which starts with an ISO time stamp). */
export function pruneBundles(keep = bundlesToKeep()): void {
  const root = bundlesRoot();
  if (!existsSync(root)) return;
  const all = readdirSync(root)
    .filter((d) => statSync(path.join(root, d)).isDirectory())
    .sort()
    .reverse();
  for (const old of all.slice(keep)) rmSync(path.join(root, old), { recursive: true, force: true });
}
