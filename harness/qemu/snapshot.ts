import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { BootTimeoutError, InfraError } from '../errors.ts';
import { waitUntil } from '../host/wait.ts';
import { cacheDir } from '../paths.ts';
import { qemuArgs, type QemuNodeSpec, type QemuTarget } from './qemu-target.ts';

/**
 * Labs restored from snapshots (issue 21). A node of a given shape (image,
 * kernel, vCPUs, memory, command line, accelerator, QEMU) is booted once as a
 * template: its init stops before dropbear at a read on the second serial port
 * (images/init.sh) and prints SNAPSHOT_MARKER; the harness saves the running VM
 * with QEMU's migration to a file in the cache and quits it. Every later node of
 * that shape starts QEMU with -incoming, loads that file and wakes in the read,
 * where the harness hands it its own name, LAN address, MACs, a random seed and
 * the host's clock; then dropbear makes the node's own host key and the ready
 * marker follows as after a cold boot.
 *
 * The cache key holds everything that went into the saved state, so a changed
 * image, kernel, command line or QEMU never restores a stale one.
 */

/** Bump when the saved state's meaning changes for the same inputs (2: lz4-compressed). */
const FORMAT = 2;
/**
 * Snapshots kept in the cache (newest by use). `make test` uses about twenty
 * shapes; each is 80-130 MB (a default guest's 280 MB of state, a debug
 * guest's 370 MB, through lz4 -1, which is 3x smaller and takes ~0.4 s of a
 * core to unpack).
 */
const KEEP = 32;

export const SNAPSHOT_MARKER = 'M3LAB-SNAPSHOT-POINT';

/**
 * The parts of a node that the saved state depends on: its spec without its
 * identity, and the image. `append` is the command line beyond the identity
 * (variant, lab file, --append, TSC rate).
 */
export type SnapshotShape = Pick<QemuNodeSpec, 'kernel' | 'initrd' | 'cpus' | 'maxcpus' | 'sockets' | 'memoryMb' | 'append' | 'accel'> & { imageHash: string };

const fileHashes = new Map<string, string>();

/** sha256 of a file, remembered per path, size and modification time. */
export async function fileSha256(file: string): Promise<string> {
  const st = statSync(file);
  const memo = `${file}\0${st.size}\0${st.mtimeMs}`;
  const hit = fileHashes.get(memo);
  if (hit) return hit;
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  const digest = h.digest('hex');
  fileHashes.set(memo, digest);
  return digest;
}

let qemuVersion: string | undefined;
async function qemuVersionLine(): Promise<string> {
  qemuVersion ??= (await execa('qemu-system-x86_64', ['--version'], { reject: false })).stdout.split('\n')[0] ?? '';
  return qemuVersion;
}

/** Everything a snapshot's key is made of, spelled out (kept beside it as meta.json). */
export async function snapshotInputs(shape: SnapshotShape, qemu?: string): Promise<Record<string, unknown>> {
  // The command line as the code builds it today, with the identity left out:
  // a new device or option in qemuArgs changes the key by itself.
  const argv = qemuArgs({
    name: 'NODE', index: 1, dir: '/DIR', kernel: '/KERNEL', initrd: '/INITRD', cpus: shape.cpus, maxcpus: shape.maxcpus,
    sockets: shape.sockets, memoryMb: shape.memoryMb, append: shape.append, accel: shape.accel, sshPort: 1,
    lanSocket: '/LAN', lanAddress: '0.0.0.0', lanPrefix: 24, privateKey: '', ctlSocket: '/CTL',
  });
  return {
    format: FORMAT,
    qemu: qemu ?? (await qemuVersionLine()),
    image: shape.imageHash,
    kernel: await fileSha256(shape.kernel),
    initrd: await fileSha256(shape.initrd),
    argv: argv.map(tscToMhz),
  };
}

/**
 * The host's TSC rate is measured (host-tsc.ts) and jitters by a few kHz from
 * one measurement to the next: in the key it counts in whole MHz. Keyed by the
 * exact figure, every fresh clone (every CI run) measured anew and made every
 * snapshot again (2596132 against 2596125 kHz, 2026-12-07). A restored node
 * keeps its template's calibration either way; its clock is stepped to the
 * host's at restore.
 */
function tscToMhz(arg: string): string {
  return arg.replace(/\btsc_early_khz=(\d+)/g, (_, khz: string) => `tsc_early_khz~${Math.round(Number(khz) / 1000)}MHz`);
}

export function keyOf(inputs: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 20);
}

export function snapshotRoot(): string {
  const root = path.join(cacheDir(), 'snapshots');
  // QEMU runs the migration command through /bin/sh with the path in single quotes.
  if (/['\n]/.test(root)) throw new InfraError(`the cache folder ${JSON.stringify(root)} has a quote or newline in its path (M3LAB_CACHE): snapshots cannot be kept there`);
  return root;
}
export const stateFile = (key: string) => path.join(snapshotRoot(), key, 'state.mig');

export function hasSnapshot(key: string): boolean {
  return existsSync(path.join(snapshotRoot(), key, 'meta.json')) && existsSync(stateFile(key));
}

/** Marks a snapshot used (pruning keeps the newest by use). */
function touch(key: string): void {
  const now = new Date();
  try {
    utimesSync(path.join(snapshotRoot(), key), now, now);
  } catch {
    // pruned meanwhile: nothing to mark
  }
}

function prune(): void {
  const root = snapshotRoot();
  if (!existsSync(root)) return;
  const all = readdirSync(root).map((d) => ({ d, t: statSync(path.join(root, d)).mtimeMs }));
  // A save cut short (the run was killed) leaves its temporary folder: gone after an hour.
  for (const { d, t } of all) if (d.includes('.tmp-') && Date.now() - t > 3600_000) rmSync(path.join(root, d), { recursive: true, force: true });
  const dirs = all.filter(({ d }) => !d.includes('.tmp-')).sort((a, b) => b.t - a.t);
  for (const { d } of dirs.slice(KEEP)) rmSync(path.join(root, d), { recursive: true, force: true });
}

/** Drops a snapshot that would not load, so the next lab makes it again. */
export function forgetSnapshot(key: string): void {
  rmSync(path.join(snapshotRoot(), key), { recursive: true, force: true });
}

/** Where a snapshot keeps its template's boot console (the restored nodes' consoles start after it). */
export const templateConsole = (key: string) => path.join(snapshotRoot(), key, 'template-console.log');

async function waitMigration(target: QemuTarget, deadline: number, what: string): Promise<void> {
  const q = await target.qmp();
  try {
    let status: string | undefined;
    await waitUntil(
      async () => {
        const st = await q.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
        status = st.status;
        if (st.status === 'failed' || st.status === 'cancelled') throw new InfraError(`${target.name}: ${what} ${st.status}: ${st['error-desc'] ?? 'QEMU gave no reason'}${stderrOf(target)}`);
        return st.status === 'completed';
      },
      {
        what: `${target.name}'s ${what}`,
        deadline,
        intervalMs: 50,
        // Past the boot deadline is what a slow cold boot would be: a boot timeout, not a bad snapshot.
        timeoutError: () => new BootTimeoutError(`${target.name}: not ready before the boot deadline (${what}: migration status ${status ?? 'none'})`, target.name, target.console.text().slice(-2000)),
      },
    );
  } finally {
    q.close();
  }
}

function stderrOf(target: QemuTarget): string {
  const err = target.stderrText();
  return err ? `; QEMU said: ${err.split('\n').slice(-3).join(' ')}` : '';
}

/**
 * Saves a template VM that printed SNAPSHOT_MARKER (its caller waited for it)
 * into the cache under `key`, then stops it. Written to a temporary folder and
 * renamed, so a reader never sees half a snapshot; two labs making the same one
 * at once keep the first.
 */
export async function saveSnapshot(target: QemuTarget, key: string, inputs: Record<string, unknown>, deadline: number): Promise<{ bytes: number; seconds: number }> {
  const started = Date.now();
  const root = snapshotRoot();
  const tmp = path.join(root, `${key}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const file = path.join(tmp, 'state.mig');
    const q = await target.qmp();
    try {
      // The default 128 MiB/s cap only slows a local file down.
      await q.execute('migrate-set-parameters', { 'max-bandwidth': 8 * 1024 ** 3 });
      await q.execute('migrate', { uri: `exec:lz4 -1 -q > '${file}'` });
    } finally {
      q.close();
    }
    await waitMigration(target, deadline, 'saving the snapshot');
    await target.power.off(2000);
    writeFileSync(path.join(tmp, 'template-console.log'), target.console.text().slice(target.bootMark));
    const bytes = statSync(file).size;
    const seconds = (Date.now() - started) / 1000;
    writeFileSync(path.join(tmp, 'meta.json'), `${JSON.stringify({ key, inputs, bytes, seconds, savedAt: new Date().toISOString(), template: target.name }, null, 2)}\n`);
    // A folder is renamed onto a name only when none is there: a lab that made the
    // same snapshot at the same time keeps its own, and this copy goes.
    if (hasSnapshot(key)) {
      // already made by another lab meanwhile
    } else {
      if (existsSync(path.join(root, key))) rmSync(path.join(root, key), { recursive: true, force: true }); // a half one
      try {
        renameSync(tmp, path.join(root, key));
      } catch {
        // another lab's rename won
      }
    }
    prune();
    return { bytes, seconds };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Loads the snapshot into a QEMU started with `-incoming defer`, and lets the guest run. */
export async function restoreSnapshot(target: QemuTarget, key: string, deadline: number): Promise<void> {
  const file = stateFile(key);
  if (!existsSync(file)) throw new InfraError(`${target.name}: snapshot ${key} is gone from the cache`);
  touch(key);
  const q = await target.qmp();
  try {
    await q.execute('migrate-incoming', { uri: `exec:lz4 -d -c -q '${file}'` });
  } finally {
    q.close();
  }
  await waitMigration(target, deadline, 'restoring the snapshot');
  const q2 = await target.qmp();
  try {
    const st = await q2.execute<{ status: string }>('query-status');
    if (st.status !== 'running') await q2.execute('cont');
  } finally {
    q2.close();
  }
}

/** What makes a restored node itself; handed to its init over the second serial port. */
export interface NodeIdentity {
  name: string;
  lan: string;
  mgmtMac: string;
  lanMac: string;
  /** What the agent's zygote asks of the harness (images/zygote.cjs), hex. */
  agentToken: string;
}

/**
 * The identity line images/init.sh reads: name, LAN address, MACs, a seed, the
 * host's clock and the zygote's token.
 */
export function identityLine(id: NodeIdentity, seed = randomBytes(32), nowMs = Date.now()): string {
  for (const [field, v] of Object.entries(id)) {
    if (!/^[\w.:/-]+$/.test(v)) throw new InfraError(`node identity field ${field} has characters the guest's read cannot take: ${JSON.stringify(v)}`);
  }
  return `${id.name} ${id.lan} ${id.mgmtMac} ${id.lanMac} ${seed.toString('hex')} ${nowMs} ${id.agentToken}\n`;
}

/** Writes the identity line to the node's control serial port (a Unix socket QEMU listens on). */
export async function sendIdentity(target: QemuTarget, id: NodeIdentity, deadline: number): Promise<void> {
  const sock = target.spec.ctlSocket;
  if (!sock) throw new InfraError(`${target.name}: no control serial port to hand the identity over`);
  let last: Error | undefined;
  await waitUntil(
    async () => {
      try {
        await new Promise<void>((resolve, reject) => {
          const c = net.createConnection(sock);
          c.once('error', reject);
          c.once('connect', () => {
            // The clock is read at the last moment: it is the guest's new time.
            c.end(identityLine(id), () => resolve());
          });
        });
        return true;
      } catch (e) {
        last = e as Error;
        return false;
      }
    },
    { what: `${target.name}'s control serial port`, deadline, intervalMs: 50, timeoutError: () => new InfraError(`${target.name}: cannot reach the control serial port ${sock}: ${last?.message}`) },
  );
}

/** The saved state's description, for logs and the time table. */
export function snapshotMeta(key: string): { bytes: number; seconds: number; savedAt: string } | undefined {
  try {
    return JSON.parse(readFileSync(path.join(snapshotRoot(), key, 'meta.json'), 'utf8'));
  } catch {
    return undefined;
  }
}
