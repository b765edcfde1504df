import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as allure from 'allure-js-commons';
import { afterAll, describe, expect } from 'vitest';
import { makeFault } from '../harness/faults/kinds.ts';
import { Nemesis } from '../harness/faults/nemesis.ts';
import { sleep } from '../harness/host/wait.ts';
import { unloadModule, type RemoteKmod } from '../harness/kmod/deploy.ts';
import { installKmod } from '../harness/kmod/install.ts';
import { isBoard, isVm, type AnyLabNode, type BoardLabNode } from '../harness/lab/lab.ts';
import { M3Cluster, type RtServer } from '../harness/m3/cluster.ts';
import { parseTap, tapProblems } from '../harness/tap.ts';
import { SshTransport } from '../harness/transport/ssh.ts';
import { DEFAULT_SIM, disposeSim, prepareSim, simPid } from '../tests/boards/board-sim.ts';
import { labSuite } from './support/lab-suite.ts';
import { LOCAL_PROGRAMS, runTapProgram } from './support/tap-programs.ts';

/*
 * A lab of one QEMU node and one simulated board (tests/boards/board-sim.ts:
 * a QEMU machine the lab does not manage, switched by its own power scripts,
 * its serial port read by socat, on a LAN of its own the lab is cabled to).
 * Everything the harness does with the board goes through the board path:
 * power commands, the console command, SSH, headers found from uname -r.
 */
const simDir = mkdtempSync(path.join(os.tmpdir(), 'm3lab-boardsim-'));
// Whatever ends this process, the simulated board does not outlive it.
process.on('exit', () => disposeSim(simDir));

let kmod = new Map<string, RemoteKmod>();
let cluster: M3Cluster | undefined;
const HEARTBEAT_MS = 200;
const TIMEOUT_MS = 1000;

describe('boards: a QEMU node and a simulated board in one lab', () => {
  const suite = labSuite({
    need: async () => {
      const sim = await prepareSim(simDir);
      return { name: 'boardlab', nodes: [{ name: 'node1', cpus: 1 }], boards: [sim.board], lan: { uplink: sim.uplink } };
    },
    setup: async (h) => {
      kmod = await installKmod(h.lab.nodes, [1, 2]);
    },
    teardown: async () => {
      await cluster?.teardown().catch(() => undefined);
    },
  });
  afterAll(() => disposeSim(simDir));

  const vm = () => suite.handle().lab.nodes.find(isVm)!;
  const board = () => suite.handle().lab.nodes.find(isBoard)! as BoardLabNode;

  suite.it('the board comes up through its own power, console and SSH, with headers for its own kernel', async () => {
    const { lab } = suite.handle();
    expect(lab.nodes.map((n) => `${n.name}:${n.target.kind}`)).toEqual(['node1:qemu', `${DEFAULT_SIM.name}:board`]);
    const b = board();
    // Powered by its on.sh: the simulator's QEMU runs, and the harness logged the command.
    expect(simPid(simDir)).toBeGreaterThan(0);
    expect(readIf(path.join(b.record.dir, 'power.log'))).toContain(`${DEFAULT_SIM.name}: power on: ${path.join(simDir, 'on.sh')}`);
    // SSH as `m3lab ssh` does it: the board's own endpoint from the lab file.
    const ssh = new SshTransport(`${b.name}-test`, b.target.ssh);
    await ssh.connect(Date.now() + 15_000);
    try {
      const uname = await ssh.exec('uname -r', { timeoutMs: 10_000 });
      expect(uname.stdout.trim()).toBe(b.hello!.kernelRelease);
    } finally {
      ssh.close();
    }
    // Its kernel's headers were found from uname -r and unpacked; the module was built against them.
    expect(b.record.kernel.release).toBe(b.hello!.kernelRelease);
    expect(existsSync(path.join(b.record.kernel.buildDir, 'Makefile'))).toBe(true);
    expect((await b.sh('cat /sys/module/m3ipc/initstate')).stdout.trim()).toBe('live');
    expect(b.hello!.cpusOnline).toHaveLength(DEFAULT_SIM.cpus);
    // The console is the harness's capture of socat's output, from before power-on.
    expect(b.target.console.running()).toBe(true);
    const text = b.target.console.text();
    expect(text).toMatch(/^\[\s+\d+\.\d+\]/);
    expect(text).toContain(`M3LAB-READY ${b.name}`);
    await allure.attachment(`console ${b.name}`, text, { contentType: 'text/plain' });
  });

  for (const program of LOCAL_PROGRAMS) {
    suite.it(`${program} passes on the board`, async () => {
      const r = await runTapProgram(board(), kmod.get(board().name)!, program);
      expect({ node: r.node, problems: r.problems, exit: r.res.code, timedOut: r.res.timedOut }).toEqual({ node: r.node, problems: [], exit: 0, timedOut: false });
    });
  }

  /** rt_client on NODE against a server; every TAP line asserted. */
  async function client(node: AnyLabNode, slot: number, s: RtServer, mode: string, ...args: string[]): Promise<void> {
    const c = cluster!;
    const res = await node.rpc.call('exec', { cmd: c.remote.get(node.name)!.tests.rt_client!, args: [c.opts.dc, `${slot}`, `${s.ep}`, `${c.nodeId(s.node)}`, mode, ...args], timeoutMs: 120_000 }, 130_000);
    await allure.attachment(`rt_client ${mode} ${node.name} -> ${s.node.name}`, `${res.stdout}\n--- stderr ---\n${res.stderr}`, { contentType: 'text/plain' });
    expect({ client: `${node.name} ${mode}`, problems: tapProblems(parseTap(res.stdout)), exit: res.code }).toEqual({ client: `${node.name} ${mode}`, problems: [], exit: 0 });
  }

  suite.it('remote sendrec, notify and vcopy between the VM and the board, both ways, through proxies on both', async () => {
    cluster = await M3Cluster.setup([vm(), board()], { heartbeatMs: HEARTBEAT_MS, timeoutMs: TIMEOUT_MS }, (l) => process.stderr.write(`${l}\n`));
    const onBoard = await cluster.startServer(board(), 10);
    const onVm = await cluster.startServer(vm(), 11);
    try {
      await client(vm(), 30, onBoard, 'basic');
      await client(board(), 31, onVm, 'basic');
      await client(vm(), 32, onBoard, 'load', '200');
      await client(board(), 33, onVm, 'vcopy', '65543');
    } finally {
      await cluster.stopServer(onBoard);
      await cluster.stopServer(onVm);
    }
  });

  suite.it('a silent partition of the board (inside it, tc) wakes a VM caller with -EHOSTDOWN within the heartbeat timeout; after the heal the link is back', async () => {
    const c = cluster!;
    const nemesis = new Nemesis();
    const s = await c.startServer(board(), 12);
    try {
      // The call starts, then the board drops every LAN frame in and out: only the heartbeat timeout can end it.
      const waiting = client(vm(), 40, s, 'hang', 'EHOSTDOWN', `${1500 + TIMEOUT_MS + 3000}`);
      await sleep(1500);
      await nemesis.inject(makeFault(suite.handle().lab, { kind: 'partition', node: board().name }));
      await waiting;
      expect(await nemesis.healAll()).toEqual([]);
      await c.waitAllUp();
    } finally {
      await nemesis.healAll();
      await allure.attachment('fault timeline', nemesis.timeline.toText(), { contentType: 'text/plain' });
      await c.stopServer(s);
    }
    const again = await c.startServer(board(), 13);
    try {
      await client(vm(), 41, again, 'load', '20');
    } finally {
      await c.stopServer(again);
    }
  });

  suite.it('power-cycle through the board\'s own power commands: off, on, console captured again, the module back on its kernel', async () => {
    const { lab } = suite.handle();
    await cluster?.teardown();
    cluster = undefined;
    const before = simPid(simDir);
    const boots = (board().target.console.text().match(/M3LAB-READY/g) ?? []).length;
    const nemesis = new Nemesis();
    await nemesis.inject(makeFault(lab, { kind: 'power-cycle', node: board().name }));
    expect(simPid(simDir)).toBeUndefined();
    expect(await nemesis.healAll()).toEqual([]);
    await allure.attachment('fault timeline', nemesis.timeline.toText(), { contentType: 'text/plain' });
    const b = board();
    expect(simPid(simDir)).toBeGreaterThan(0);
    expect(simPid(simDir)).not.toBe(before);
    expect(Number((await b.sh('cut -d. -f1 /proc/uptime')).stdout.trim())).toBeLessThan(120);
    expect((b.target.console.text().match(/M3LAB-READY/g) ?? []).length).toBe(boots + 1);
    const power = readIf(path.join(b.record.dir, 'power.log'));
    expect(power).toContain(`power off: ${path.join(simDir, 'off.sh')}`);
    expect(power.split(`power on: ${path.join(simDir, 'on.sh')}`).length - 1).toBe(2);
    // A fresh kernel: the module is loaded again (the cluster's teardown unloaded it on the VM too) and works.
    kmod = await installKmod([vm(), b], [1, 2]);
    const r = await runTapProgram(b, kmod.get(b.name)!, 't_ipc');
    expect({ problems: r.problems, exit: r.res.code }).toEqual({ problems: [], exit: 0 });
  });

  suite.it('rmmod m3ipc succeeds on the VM and the board', async () => {
    for (const n of suite.handle().lab.nodes) {
      const rm = await unloadModule(n);
      expect({ node: n.name, ...rm }).toEqual({ node: n.name, code: 0, stderr: '' });
    }
  });
});

function readIf(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}
