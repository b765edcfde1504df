import * as allure from 'allure-js-commons';
import { describe, expect } from 'vitest';
import { NodeGoneError } from '../harness/errors.ts';
import { lanLinkDown } from '../harness/faults/faults.ts';
import { makeFault } from '../harness/faults/kinds.ts';
import { Nemesis } from '../harness/faults/nemesis.ts';
import { waitUntil } from '../harness/host/wait.ts';
import { scaled } from '../harness/verdict/time-scale.ts';
import { attachConsoles, consoleFindings } from './support/lab-fixture.ts';
import { labSuite } from './support/lab-suite.ts';

const NODES = 3;
const ECHO_PORT = 7000;
describe('lab: a 3-node QEMU lab', () => {
  // node3 may hot-add a second vCPU.
  const suite = labSuite({ need: { nodes: [{}, {}, { maxcpus: 2 }] } });

  suite.it('every node runs the image kernel and reports its CPUs', async () => {
    const { lab } = suite.handle();
    const rows = [];
    for (const node of lab.vms.slice(0, NODES)) {
      const hello = await node.rpc.call('hello', { nonce: 'check' });
      expect(hello.kernelRelease).toBe(node.record.kernel.release);
      expect(hello.image?.hash).toBe(lab.state.image.hash);
      expect(hello.node).toBe(node.name);
      expect(hello.cpusOnline).toHaveLength(node.record.spec.cpus);
      expect(hello.cpusPossible).toHaveLength(node.record.spec.maxcpus);
      const uname = await node.sh('uname -r');
      expect(uname.code).toBe(0);
      expect(uname.stdout.trim()).toBe(node.record.kernel.release);
      const nproc = await node.sh('grep -c ^processor /proc/cpuinfo');
      expect(Number(nproc.stdout.trim())).toBe(node.record.spec.cpus);
      rows.push({ node: node.name, kernel: hello.kernelRelease, cpusOnline: hello.cpusOnline, cpusPossible: hello.cpusPossible, uptime: hello.uptimeSeconds });
    }
    await allure.attachment('nodes', JSON.stringify({ accel: lab.state.accel, nodes: rows }, null, 2), { contentType: 'application/json' });
  });

  suite.it('every node reaches every other over the private LAN', async () => {
    const { lab } = suite.handle();
    const nodes = lab.nodes.slice(0, NODES);
    await Promise.all(nodes.map((n) => n.rpc.call('echoStart', { port: ECHO_PORT })));
    try {
      const table: { from: string; to: string; medianUs: number; p90Us: number }[] = [];
      // One prober per node at a time, all nodes in parallel.
      await Promise.all(
        nodes.map(async (from) => {
          for (const to of nodes) {
            if (to === from) continue;
            const rtt = await from.rpc.call('tcpRoundTrips', { host: to.record.lanAddress, port: ECHO_PORT, count: 50 });
            expect(rtt.count).toBe(50);
            expect(rtt.medianUs).toBeGreaterThan(0);
            table.push({ from: from.name, to: to.name, medianUs: Math.round(rtt.medianUs), p90Us: Math.round(rtt.p90Us) });
          }
        }),
      );
      expect(table).toHaveLength(nodes.length * (nodes.length - 1));
      // The management network must not be a way around the LAN: the LAN address answers only on lan0.
      const route = await nodes[0]!.sh(`ip route get ${nodes[1]!.record.lanAddress}`);
      expect(route.stdout).toContain('dev lan0');
      table.sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
      await allure.attachment('LAN TCP round trips (us)', JSON.stringify(table, null, 2), { contentType: 'application/json' });
      console.log(table.map((r) => `${r.from} -> ${r.to}: median ${r.medianUs} us, p90 ${r.p90Us} us`).join('\n'));
    } finally {
      await Promise.all(nodes.map((n) => n.rpc.call('echoStop', { port: ECHO_PORT }).catch(() => undefined)));
    }
  });

  suite.it('a LAN link fault cuts a node off the LAN but not off the harness, and heals', async () => {
    const { lab } = suite.handle();
    const [a, , c] = lab.nodes;
    const nemesis = new Nemesis();
    await c!.rpc.call('echoStart', { port: ECHO_PORT + 1 });
    try {
      const probe = () => a!.rpc.call('tcpRoundTrips', { host: c!.record.lanAddress, port: ECHO_PORT + 1, count: 5, timeoutMs: 3000 });
      expect((await probe()).count).toBe(5);
      const cut = lanLinkDown(c!);
      await nemesis.inject(cut);
      // The cut node cannot be reached: the probe times out or finds no host.
      await expect(probe()).rejects.toThrow(/round trips to 169\.254\.77\.\d+:\d+: 0\/5 in \d+ ms|EHOSTUNREACH|ENETUNREACH/);
      // The management network (SSH, agent) is untouched.
      expect((await c!.sh('cat /sys/class/net/lan0/carrier')).stdout.trim()).toBe('0');
      await nemesis.heal(cut);
      let ok = false;
      for (let i = 0; i < 20 && !ok; i++) ok = await probe().then((r) => r.count === 5, () => false);
      expect(ok).toBe(true);
    } finally {
      await nemesis.healAll();
      await c!.rpc.call('echoStop', { port: ECHO_PORT + 1 }).catch(() => undefined);
      await allure.attachment('fault timeline', nemesis.timeline.toText(), { contentType: 'text/plain' });
    }
  });

  suite.it('a silent partition (VLAN move on the lab switch) cuts a node off the LAN with its carrier up, SSH unaffected, and heals', async () => {
    const { lab } = suite.handle();
    const [a, b, c] = lab.nodes;
    const nemesis = new Nemesis();
    await b!.rpc.call('echoStart', { port: ECHO_PORT + 2 });
    await c!.rpc.call('echoStart', { port: ECHO_PORT + 2 });
    const probe = (to: typeof b) => a!.rpc.call('tcpRoundTrips', { host: to!.record.lanAddress, port: ECHO_PORT + 2, count: 3, timeoutMs: 3000 });
    try {
      expect((await probe(b)).count).toBe(3);
      const cut = makeFault(lab, { kind: 'partition', node: b!.name });
      await nemesis.inject(cut);
      await expect(probe(b)).rejects.toThrow(/round trips to 169\.254\.77\.\d+:\d+: 0\/3 in \d+ ms|EHOSTUNREACH/);
      // Silent: the cut node still sees its carrier, and the harness still reaches it.
      expect((await b!.sh('cat /sys/class/net/lan0/carrier')).stdout.trim()).toBe('1');
      // Only that node is cut off.
      expect((await probe(c)).count).toBe(3);
      await nemesis.heal(cut);
      let ok = false;
      for (let i = 0; i < 20 && !ok; i++) ok = await probe(b).then((r) => r.count === 3, () => false);
      expect(ok).toBe(true);
    } finally {
      await nemesis.healAll();
      for (const n of [b, c]) await n!.rpc.call('echoStop', { port: ECHO_PORT + 2 }).catch(() => undefined);
      await allure.attachment('fault timeline', nemesis.timeline.toText(), { contentType: 'text/plain' });
    }
  });

  suite.it('perf counts software events and reports uncountable ones as unavailable', async () => {
    const { lab } = suite.handle();
    const node = lab.nodes[0]!;
    const res = await node.rpc.call('perfStat', { cmd: '/bin/sh', args: ['-c', 'i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done'], events: ['task-clock', 'context-switches', 'page-faults', 'cycles', 'instructions'], timeoutMs: 60000 });
    expect(res.code).toBe(0);
    const byEvent = Object.fromEntries(res.counters.map((c) => [c.event, c]));
    expect(byEvent['task-clock']?.value).toBeGreaterThan(0);
    expect(byEvent['page-faults']?.value).toBeGreaterThan(0);
    for (const hw of ['cycles', 'instructions']) {
      const c = byEvent[hw];
      expect(c).toBeDefined();
      // Either a real count or explicitly unavailable: never a silent zero.
      if (c!.value === null) expect(c!.unavailable).toMatch(/not (supported|counted)/);
      else expect(c!.value).toBeGreaterThan(0);
    }
    if (lab.state.accel.accel === 'tcg') expect(byEvent.cycles?.value).toBeNull();
    await allure.attachment('perf counters', JSON.stringify(res.counters, null, 2), { contentType: 'application/json' });
  });

  suite.it('no console shows a panic, Oops, BUG or WARNING; consoles attached', async () => {
    const h = suite.handle();
    await attachConsoles(h);
    for (const n of h.lab.nodes) expect(n.target.console.text()).toContain(`M3LAB-READY ${n.name}`);
    expect(consoleFindings(h)).toEqual([]);
  });

  suite.it('the agent spawns, waits for and kills long-running processes', async () => {
    const { lab } = suite.handle();
    const rpc = lab.nodes[1]!.rpc;
    const done = await rpc.call('spawn', { cmd: '/bin/sh', args: ['-c', 'echo out; echo err >&2; exit 3'] });
    const r = await rpc.call('wait', { id: done.id, timeoutMs: -1 });
    expect(r).toMatchObject({ exited: true, code: 3, stdout: 'out\n', stderr: 'err\n' });
    const sleeper = await rpc.call('spawn', { cmd: 'sleep', args: ['300'] });
    expect((await rpc.call('wait', { id: sleeper.id, timeoutMs: 200 })).exited).toBe(false);
    expect((await rpc.call('procs', {})).find((p) => p.id === sleeper.id)?.running).toBe(true);
    expect(await rpc.call('kill', { id: sleeper.id, signal: 'SIGTERM' })).toEqual({ sent: true });
    expect(await rpc.call('wait', { id: sleeper.id, timeoutMs: 5000 })).toMatchObject({ exited: true, code: null, signal: 'SIGTERM' });
    await expect(rpc.call('wait', { id: 9999 })).rejects.toThrow(/ENOENT: no process with id 9999/);
  });

  suite.it('a vCPU hot-added through QMP can be onlined and offlined in the guest, and hot-removed', async () => {
    const { lab } = suite.handle();
    const node = lab.vms[2]!;
    const cpus = () => node.rpc.call('cpus', {});
    expect((await cpus()).present).toEqual([0]);
    expect((await cpus()).possible).toEqual([0, 1]);
    const id = await node.target.hotplugCpu();
    // Until the guest's CPUs are as wanted (10 s, scaled); then as they are.
    const poll = async (want: (c: Awaited<ReturnType<typeof cpus>>) => boolean) =>
      (await waitUntil(
        async () => {
          const c = await cpus();
          return want(c) ? c : undefined;
        },
        { what: `${node.name}'s CPUs`, timeoutMs: scaled(10_000, lab.timeScale), intervalMs: 100, onTimeout: 'return' },
      )) ?? cpus();
    // The guest learns of the new vCPU but does not online it by itself.
    expect((await poll((c) => c.present.includes(1))).present).toEqual([0, 1]);
    expect((await cpus()).online).toEqual([0]);
    expect((await node.rpc.call('cpuOnline', { cpu: 1, online: true })).online).toEqual([0, 1]);
    const n = await node.sh('grep -c ^processor /proc/cpuinfo');
    expect(n.stdout.trim()).toBe('2');
    expect((await node.rpc.call('cpuOnline', { cpu: 1, online: false })).online).toEqual([0]);
    await node.target.unplugCpu(id);
    expect((await poll((c) => !c.present.includes(1))).present).toEqual([0]);
  });

  suite.it('a node whose QEMU is killed is reported gone promptly, then comes back', async () => {
    const { lab } = suite.handle();
    const victim = lab.nodes[NODES - 1]!;
    const agent = victim.rpc;
    // A call in flight when the machine dies must fail, not hang.
    const inFlight = agent.call('exec', { cmd: 'sleep', args: ['30'] }, 60000).then(
      () => 'answered',
      (e: Error) => e,
    );
    const killedAt = Date.now();
    await victim.target.power.kill();
    const err = await inFlight;
    const detectMs = Date.now() - killedAt;
    expect(err).toBeInstanceOf(NodeGoneError);
    expect(detectMs).toBeLessThan(5000);
    await expect(agent.call('hello', { nonce: 'x' })).rejects.toBeInstanceOf(NodeGoneError);
    expect(lab.status().find((s) => s.name === victim.name)?.state).toBe('gone');
    const others = lab.nodes.filter((n) => n !== victim);
    for (const n of others) expect((await n.sh('true')).code).toBe(0);
    await allure.attachment('gone detection', JSON.stringify({ node: victim.name, detectMs }), { contentType: 'application/json' });

    const back = await lab.restart(victim.name);
    const hello = await back.rpc.call('hello', { nonce: 'again' });
    expect(hello.kernelRelease).toBe(back.record.kernel.release);
    expect(hello.uptimeSeconds).toBeLessThan(120);
    expect(lab.status().find((s) => s.name === victim.name)?.state).toBe('ready');
  });
});
