import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { BootTimeoutError, InfraError } from '../errors.ts';
import { writeFileSync } from 'node:fs';
import { SNAPSHOT_MARKER, forgetSnapshot, hasSnapshot, keyOf, restoreSnapshot, saveSnapshot, sendIdentity, snapshotInputs, snapshotMeta, templateConsole, type SnapshotShape } from '../qemu/snapshot.ts';
import { QemuTarget, macs, type QemuNodeSpec } from '../qemu/qemu-target.ts';
import { LabNode, type NodeRecordBase } from './node.ts';
import { bootGuarded } from './guarded-boot.ts';
import { powerOnWithFreshPort, writeBack, type VmRecord } from './power-on.ts';

export { powerOnWithFreshPort, type VmRecord } from './power-on.ts';

/** QEMU would not load a saved state (the node never ran from it). */
export class SnapshotLoadError extends InfraError {}

/** What a restored node's record keeps of its start (the lab state and `m3lab up --json`). */
export interface RestoreInfo {
  /** The snapshot's cache key. */
  key: string;
  /** This node booted the template and saved it (a cold boot plus the save). */
  made?: { bootSeconds: number; saveSeconds: number; bytes: number };
  /** Seconds: QEMU start to the saved state loaded and running. */
  load?: number;
  /** Seconds: identity handed over to the ready marker. */
  identity?: number;
  /** Seconds: ready marker to the agent's hello (SSH, agent copy and start). */
  agent?: number;
  /** Seconds: hello to ready (guest detectors scaled). */
  setup?: number;
  /** Seconds: this restore's QEMU start to ready. */
  total?: number;
}

/** The shape a node's saved state depends on (its identity left out). */
export function shapeOf(spec: QemuNodeSpec, imageHash: string): SnapshotShape {
  return {
    imageHash,
    kernel: spec.kernel,
    initrd: spec.initrd,
    cpus: spec.cpus,
    maxcpus: spec.maxcpus,
    sockets: spec.sockets,
    memoryMb: spec.memoryMb,
    append: spec.append,
    accel: spec.accel,
  };
}

/** One template per key and process: nodes of one shape wait for the first to save it. */
const making = new Map<string, Promise<void>>();

export interface SnapshotStart {
  imageHash: string;
  /** Boot deadline of a cold boot of this node (the template's first boot). */
  deadline: number;
  /** A cold boot's whole deadline in ms: a power-cycled template and a restore after a template get it afresh. */
  bootMs: number;
  /** Power-cycle a template boot that stalls (debug kernels under TCG; guarded-boot.ts). */
  guard: boolean;
  log: (line: string) => void;
  /** Called whenever the node's PID or port changed (the lab writes its state). */
  changed: () => void;
}

/**
 * Brings node i up from the snapshot of its shape, making the snapshot first
 * when the cache has none: the node itself boots as the template (with its own
 * identity, so a boot error names it and its console keeps the boot), is saved
 * and stopped, and is then restored like any other. Ends at the ready marker.
 */
export async function startFromSnapshot<R extends VmRecord>(nodes: LabNode<QemuTarget, R>[], i: number, o: SnapshotStart): Promise<void> {
  const base = nodes[i]!.target.spec;
  const spec: QemuNodeSpec = { ...base, ctlSocket: path.join(base.dir, 'ctl.sock'), incoming: false };
  const inputs = await snapshotInputs(shapeOf(spec, o.imageHash));
  const key = keyOf(inputs);
  const record = nodes[i]!.record;
  record.restore = { key };
  if (!hasSnapshot(key)) {
    let mine = making.get(key);
    if (!mine) {
      mine = makeTemplate(nodes, i, spec, key, inputs, o);
      making.set(key, mine);
      mine.finally(() => making.delete(key)).catch(() => undefined);
      await mine;
    } else {
      await mine;
    }
  }
  try {
    await restoreInto(nodes, i, { ...spec, incoming: true }, key, o);
  } catch (e) {
    // A saved state this QEMU will not load (a truncated file, a host change the key
    // cannot see) would break every later lab: dropped, made again once, here.
    if (!(e instanceof SnapshotLoadError) || record.restore?.made || making.has(key)) throw e;
    o.log(`lab: ${spec.name}: snapshot ${key} would not load (${(e as Error).message.split('\n')[0]}); dropping it and making it again`);
    await nodes[i]!.target.power.off(1000);
    forgetSnapshot(key);
    if (!making.has(key)) {
      const again = makeTemplate(nodes, i, spec, key, inputs, o);
      making.set(key, again);
      again.finally(() => making.delete(key)).catch(() => undefined);
    }
    await making.get(key);
    await restoreInto(nodes, i, { ...spec, incoming: true }, key, o);
  }
}

/**
 * Whether a node's template runs the agent's zygote (images/zygote.cjs). Not
 * for debug kernels: restored debug guests with it lost their management
 * network in 4 of 9 restores (the host's SYNs to port 22 unanswered; 0 of 9
 * without it, 2026-12-06), for a reason not yet found.
 */
const withZygote = (n: LabNode<QemuTarget, VmRecord>) => n.record.kernel.variant !== 'debug';

async function makeTemplate<R extends VmRecord>(nodes: LabNode<QemuTarget, R>[], i: number, spec: QemuNodeSpec, key: string, inputs: Record<string, unknown>, o: SnapshotStart): Promise<void> {
  const started = Date.now();
  const tspec = { ...spec, append: [spec.append, 'm3lab.template=1', withZygote(nodes[i]!) ? 'm3lab.zygote=1' : ''].filter(Boolean).join(' ') };
  nodes[i] = new LabNode(nodes[i]!.record, new QemuTarget(tspec));
  o.log(`lab: ${tspec.name}: no snapshot of its shape yet (${key}); booting it as the template`);
  await bootGuarded(nodes, i, { bootMs: o.bootMs, firstDeadline: o.deadline, guard: o.guard, marker: `${SNAPSHOT_MARKER} ${tspec.name}`, log: o.log, changed: o.changed });
  const t = nodes[i]!.target;
  const bootSeconds = (Date.now() - started) / 1000;
  const saved = await saveSnapshot(t, key, inputs, Math.max(o.deadline, Date.now() + 120_000));
  nodes[i]!.record.restore = { key, made: { bootSeconds: Math.round(bootSeconds * 10) / 10, saveSeconds: Math.round(saved.seconds * 10) / 10, bytes: saved.bytes } };
  o.log(`lab: snapshot ${key} saved from ${t.name}: booted in ${bootSeconds.toFixed(1)} s, saved in ${saved.seconds.toFixed(1)} s, ${(saved.bytes / 1e6).toFixed(0)} MB`);
}

async function restoreInto<R extends VmRecord>(nodes: LabNode<QemuTarget, R>[], i: number, spec: QemuNodeSpec, key: string, o: SnapshotStart): Promise<void> {
  const record = nodes[i]!.record;
  const info: RestoreInfo = { ...(record.restore ?? { key }), key };
  nodes[i] = new LabNode(record, new QemuTarget(spec));
  writeBack(nodes[i]!, spec);
  // The console starts after the boot: it says where that boot's console is kept.
  const meta = snapshotMeta(key);
  writeFileSync(nodes[i]!.target.console.path, `m3lab: ${spec.name} restored from snapshot ${key} (saved ${meta?.savedAt ?? '?'}); its template's boot console: ${templateConsole(key)}\n`, { flag: 'a' });
  await powerOnWithFreshPort(nodes, i);
  o.changed();
  const t = nodes[i]!.target;
  const started = t.startedAt ?? Date.now();
  // A template boot (this node's or a sibling's) may have used up the lab's first deadline.
  const deadline = Math.max(o.deadline, Date.now() + o.bootMs);
  let stop = false;
  const gone = t.gone.then((why) => {
    if (!stop) throw new InfraError(`${t.name}: ${why} while restoring snapshot ${key}${t.stderrText() ? `: ${t.stderrText()}` : ''}`);
  });
  gone.catch(() => undefined);
  try {
    await Promise.race([restoreSnapshot(t, key, deadline), gone]);
  } catch (e) {
    throw e instanceof BootTimeoutError ? e : new SnapshotLoadError((e as Error).message);
  } finally {
    stop = true;
  }
  info.load = Math.round((Date.now() - started) / 10) / 100;
  const handed = Date.now();
  const m = macs(spec.index);
  const agentToken = randomBytes(16).toString('hex');
  await sendIdentity(t, { name: spec.name, lan: `${spec.lanAddress}/${spec.lanPrefix}`, mgmtMac: m.mgmt, lanMac: m.lan, agentToken }, deadline);
  if (withZygote(nodes[i]!)) nodes[i]!.zygoteToken = agentToken;
  await t.waitBooted(deadline);
  info.identity = Math.round((Date.now() - handed) / 10) / 100;
  record.restore = info;
}
