import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { identityLine, keyOf, snapshotInputs, type SnapshotShape } from '../../harness/qemu/snapshot.ts';
import { repoRoot } from '../../harness/paths.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'm3lab-snapkey-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function files(kernel = 'kernel-bytes', initrd = 'initrd-bytes') {
  const k = path.join(dir, 'vmlinuz');
  const i = path.join(dir, 'initrd.img');
  writeFileSync(k, kernel);
  writeFileSync(i, initrd);
  return { k, i };
}

const QEMU = 'QEMU emulator version 7.2.22';

async function key(over: Partial<SnapshotShape> = {}, qemu = QEMU): Promise<string> {
  const { k, i } = files();
  const shape: SnapshotShape = { imageHash: 'img-1', kernel: k, initrd: i, cpus: 1, maxcpus: 1, memoryMb: 1024, append: 'tsc_early_khz=2000000', accel: 'tcg', ...over };
  return keyOf(await snapshotInputs(shape, qemu));
}

describe('snapshot cache key', () => {
  it('is the same for the same inputs (a restore finds its snapshot)', async () => {
    expect(await key()).toBe(await key());
  });

  it('changes when the image, the kernel or the initrd changes, so a stale state is never restored', async () => {
    const base = await key();
    expect(await key({ imageHash: 'img-2' })).not.toBe(base);

    const { k, i } = files('kernel-bytes, rebuilt');
    const shape: SnapshotShape = { imageHash: 'img-1', kernel: k, initrd: i, cpus: 1, maxcpus: 1, memoryMb: 1024, append: 'tsc_early_khz=2000000', accel: 'tcg' };
    expect(keyOf(await snapshotInputs(shape, QEMU))).not.toBe(base);

    const f2 = files('kernel-bytes', 'initrd-bytes, rebuilt');
    expect(keyOf(await snapshotInputs({ ...shape, kernel: f2.k, initrd: f2.i }, QEMU))).not.toBe(base);
  });

  it('follows the file content, not its time: the same bytes rewritten keep the key', async () => {
    const base = await key();
    const { k } = files();
    utimesSync(k, new Date(0), new Date(0));
    expect(await key()).toBe(base);
  });

  it('changes with the node shape, the command line, the accelerator and QEMU', async () => {
    const base = await key();
    const others = await Promise.all([
      key({ cpus: 2, maxcpus: 2 }),
      key({ maxcpus: 2 }),
      key({ memoryMb: 512 }),
      key({ append: 'tsc_early_khz=2000000 nosmp' }),
      key({ accel: 'kvm' }),
      key({}, 'QEMU emulator version 8.0.0'),
    ]);
    for (const o of others) expect(o).not.toBe(base);
    expect(new Set(others).size).toBe(others.length);
  });

  it("counts the host's TSC in whole MHz: a measurement's jitter keeps the key, another host's rate changes it", async () => {
    const at = (khz: number) => key({ append: `tsc_early_khz=${khz}` });
    // Two measurements on one host (two clones, 2026-12-07): one key.
    expect(await at(2596132)).toBe(await at(2596125));
    // Negative control: another host's TSC rate, and another command line beside the same rate.
    expect(await at(2400000)).not.toBe(await at(2596132));
    expect(await key({ append: 'tsc_early_khz=2596132 nosmp' })).not.toBe(await at(2596132));
  });
});

describe('identity line', () => {
  it('carries name, LAN address, MACs, a seed, the clock and the zygote token, in the order init.sh reads them', () => {
    const line = identityLine({ name: 'node2', lan: '169.254.77.2/24', mgmtMac: '52:54:00:4d:00:02', lanMac: '52:54:00:4c:00:02', agentToken: 'cd'.repeat(16) }, Buffer.alloc(32, 0xab), 1_700_000_000_123);
    expect(line).toBe(`node2 169.254.77.2/24 52:54:00:4d:00:02 52:54:00:4c:00:02 ${'ab'.repeat(32)} 1700000000123 ${'cd'.repeat(16)}\n`);
    const init = readFileSync(path.join(repoRoot, 'images', 'init.sh'), 'utf8');
    expect(init).toMatch(/read -r W_NAME W_LAN W_MGMTMAC W_LANMAC W_SEED W_EPOCH W_TOKEN < \/dev\/ttyS1/);
  });

  it('refuses a field the guest would split or misread', () => {
    expect(() => identityLine({ name: 'node 2', lan: '169.254.77.2/24', mgmtMac: 'x', lanMac: 'y', agentToken: 'ab' })).toThrow(/field name/);
    expect(() => identityLine({ name: 'n', lan: '1.2.3.4/24; reboot', mgmtMac: 'x', lanMac: 'y', agentToken: 'ab' })).toThrow(/field lan/);
  });
});
