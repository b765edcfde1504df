import * as allure from 'allure-js-commons';
import { describe, expect } from 'vitest';
import type { AnyLabNode } from '../harness/lab/lab.ts';
import { macs } from '../harness/qemu/qemu-target.ts';
import { hasSnapshot } from '../harness/qemu/snapshot.ts';
import { ZYGOTE_PORT } from '../harness/agent-client.ts';
import { scaled } from '../harness/verdict/time-scale.ts';
import { labSuite } from './support/lab-suite.ts';

/**
 * Labs restored from snapshots (harness/qemu/snapshot.ts, harness/lab/vm-start.ts):
 * two nodes woken from one saved state must be two machines, each with its own
 * MACs, LAN address, SSH host key, random pool and the host's clock.
 */
describe('snapshot: nodes restored from one saved state are individuals', () => {
  const suite = labSuite({ need: { nodes: 2 }, fresh: 'snapshot' });

  const guestFacts = async (n: AnyLabNode) => {
    const r = await n.sh([
      'hostname',
      'cat /sys/class/net/mgmt0/address /sys/class/net/lan0/address',
      "ip -4 -o addr show dev lan0 | awk '{print $4}'",
      'sha256sum /etc/dropbear/dropbear_ed25519_host_key | cut -d" " -f1',
      'cat /proc/sys/kernel/random/uuid',
      'head -c 32 /dev/urandom | sha256sum | cut -d" " -f1',
      "dmesg | grep -m1 'Run /init as init process' | cut -d']' -f1",
    ].join('; '));
    expect(r.code, r.stderr).toBe(0);
    const [hostname, mgmtMac, lanMac, lanAddr, hostKey, uuid, urandom, initAt] = r.stdout.trim().split('\n');
    return { hostname, mgmtMac, lanMac, lanAddr, hostKey, uuid, urandom, initAt };
  };

  suite.it('both nodes were restored from the same snapshot, which the cache holds', async () => {
    const { lab } = suite.handle();
    const keys = lab.vms.map((n) => n.record.restore?.key);
    expect(keys[0], 'node1 was not restored from a snapshot').toBeTruthy();
    expect(keys[1]).toBe(keys[0]);
    expect(hasSnapshot(keys[0]!)).toBe(true);
    await allure.attachment('restores', JSON.stringify(lab.vms.map((n) => ({ node: n.name, ...n.record.restore })), null, 2), { contentType: 'application/json' });
  });

  suite.it('each has its own name, MACs, LAN address, host key and random pool', async () => {
    const { lab } = suite.handle();
    const [a, b] = lab.vms;
    const fa = await guestFacts(a!);
    const fb = await guestFacts(b!);
    await allure.attachment('facts', JSON.stringify({ [a!.name]: fa, [b!.name]: fb }, null, 2), { contentType: 'application/json' });
    for (const [n, f] of [[a!, fa], [b!, fb]] as const) {
      expect(f.hostname).toBe(n.name);
      expect(f.mgmtMac).toBe(macs(n.record.index).mgmt);
      expect(f.lanMac).toBe(macs(n.record.index).lan);
      expect(f.lanAddr).toBe(`${n.record.lanAddress}/24`);
      expect(f.hostKey).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(fa.mgmtMac).not.toBe(fb.mgmtMac);
    expect(fa.lanMac).not.toBe(fb.lanMac);
    expect(fa.hostKey).not.toBe(fb.hostKey);
    expect(fa.uuid).not.toBe(fb.uuid);
    expect(fa.urandom).not.toBe(fb.urandom);
    // The control: both woke from one saved kernel (their logs time the hand-over to
    // /init to the same microsecond, which two boots never do), so the differences
    // above were made after the restore, not by two boots.
    expect(fa.initAt).toMatch(/^\[\s*\d+\.\d{6}$/);
    expect(fa.initAt).toBe(fb.initAt);
  });

  suite.it("each node's clock is within 1 s of the host's", async () => {
    const { lab } = suite.handle();
    for (const n of lab.vms) {
      const before = Date.now();
      const r = await n.sh("node -e 'process.stdout.write(String(Date.now()))'");
      const after = Date.now();
      expect(r.code, r.stderr).toBe(0);
      const guest = Number(r.stdout.trim());
      allure.logStep(`${n.name}: guest ${guest}, host ${before}..${after} ms`);
      expect(guest).toBeGreaterThanOrEqual(before - 1000);
      expect(guest).toBeLessThanOrEqual(after + 1000);
    }
  });

  suite.it('the LAN carries traffic between the restored nodes, to their new MACs', async () => {
    const { lab } = suite.handle();
    const [a, b] = lab.vms;
    const ping = await a!.sh(`ping -c 2 -W 5 ${b!.record.lanAddress}`, 30_000);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const neigh = await a!.sh(`ip neigh show ${b!.record.lanAddress} dev lan0`);
    expect(neigh.stdout).toContain(macs(b!.record.index).lan);
  });

  suite.it("each restored node's agent is the zygote saved in the snapshot (no node start), used once", async () => {
    const { lab } = suite.handle();
    for (const n of lab.vms) expect({ node: n.name, zygote: n.hello?.zygote }).toEqual({ node: n.name, zygote: true });
    // The zygote took its one connection: nothing listens there any more.
    const used = await lab.vms[0]!.sh(`nc -z -w 2 127.0.0.1 ${ZYGOTE_PORT} && echo open || echo closed`);
    expect(used.stdout.trim()).toBe('closed');
  });

  /** Starts a zygote on @n with @token in its file; its pid. */
  const startZygote = async (n: AnyLabNode, token: string) => {
    const r = await n.sh([
      'rm -f /run/m3lab/zygote.ready',
      `(umask 077 && echo ${token} > /run/m3lab/zygote.token)`,
      '(node /usr/lib/m3lab/zygote.cjs </dev/null >/dev/null 2>&1 &)',
      // up to 30 s (scaled) for node to start, in steps of 0.1 s
      `i=0; while [ ! -e /run/m3lab/zygote.ready ] && [ $i -lt ${Math.ceil(scaled(30_000, suite.handle().lab.timeScale) / 100)} ]; do usleep 100000; i=$((i+1)); done`,
      'cat /run/m3lab/zygote.ready',
    ].join('; '));
    expect(r.code, r.stderr).toBe(0);
    return Number(r.stdout.trim());
  };
  /** What a connection to @n's zygote gets back for @token and @code, until it closes. */
  const askZygote = async (n: AnyLabNode, token: string, code: string) => {
    const ch = await n.ssh!.forward('127.0.0.1', ZYGOTE_PORT);
    return new Promise<string>((resolve) => {
      let out = '';
      const timer = setTimeout(() => ch.close(), scaled(20_000, suite.handle().lab.timeScale));
      ch.on('data', (d: Buffer) => (out += d.toString('utf8')));
      // The far end closing its socket is an EOF here; our side then closes too.
      ch.on('end', () => ch.end());
      ch.on('close', () => {
        clearTimeout(timer);
        resolve(out);
      });
      const body = Buffer.from(code);
      ch.write(`${JSON.stringify({ token, bytes: body.length, argv: [] })}\n`);
      ch.write(body);
    });
  };

  suite.it('a zygote runs code only for the token of its node; a wrong one is refused and ends its listening', async () => {
    const n = suite.handle().lab.vms[0]!;
    const code = "globalThis.m3labLink.write('zygote ran the code\\n'); globalThis.m3labLink.end(); setTimeout(() => process.exit(0), 100);";
    const bad = await startZygote(n, 'a'.repeat(32));
    try {
      expect(await askZygote(n, 'b'.repeat(32), code)).toBe('');
      const after = await n.sh(`nc -z -w 2 127.0.0.1 ${ZYGOTE_PORT} && echo open || echo closed`);
      expect(after.stdout.trim()).toBe('closed');
    } finally {
      await n.sh(`kill ${bad} 2>/dev/null; true`);
    }
    await startZygote(n, 'c'.repeat(32));
    expect(await askZygote(n, 'c'.repeat(32), code)).toBe('zygote ran the code\n');
  });

  suite.it('a restarted node comes back from the snapshot as itself', async () => {
    const { lab } = suite.handle();
    const before = await guestFacts(lab.vms[1]!);
    const again = await lab.restart(lab.vms[1]!.name);
    expect(again.record).toHaveProperty('restore.key', lab.vms[0]!.record.restore?.key);
    const after = await guestFacts(again);
    expect(after.hostname).toBe(again.name);
    expect(after.lanMac).toBe(before.lanMac);
    // A fresh identity each start: new host key and pool, as a reboot gives.
    expect(after.hostKey).not.toBe(before.hostKey);
    expect(after.uuid).not.toBe(before.uuid);
  });
});
