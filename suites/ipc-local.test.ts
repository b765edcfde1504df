import path from 'node:path';
import * as allure from 'allure-js-commons';
import { describe, expect } from 'vitest';
import type { RemoteKmod } from '../harness/kmod/deploy.ts';
import { unloadModule } from '../harness/kmod/deploy.ts';
import { installKmod } from '../harness/kmod/install.ts';
import { isVm, nodeCpus } from '../harness/lab/lab.ts';
import { parseTable } from '../harness/m3/procfs.ts';
import { parseLinkSeal } from '../harness/bench/link-seal.ts';
import { labSuite } from './support/lab-suite.ts';
import { LOCAL_PROGRAMS, runTapProgram } from './support/tap-programs.ts';
import { stuckInD } from './support/stuck.ts';

// One seed drives the stress runs; set M3LAB_SEED to replay a run.
const SEED = Number(process.env.M3LAB_SEED ?? Math.floor(Math.random() * 1e6));

let remote = new Map<string, RemoteKmod>();

/**
 * The nodes the suite runs on, each on its own: a 1-vCPU and a 2-vCPU guest,
 * or the lab-file node entries of M3LAB_NODES (JSON), so that several kernels
 * and command lines share one lab (make test's lab-1cpu: the UP kernel and
 * 2-vCPU guests booted with nosmp and with maxcpus=1).
 */
const NODES = localNodes(process.env.M3LAB_NODES);

function localNodes(v: string | undefined): { cpus?: number; kernel?: string; append?: string }[] {
  if (!v?.trim()) return [{ cpus: 1 }, { cpus: 2 }];
  let nodes: unknown;
  try {
    nodes = JSON.parse(v);
  } catch (e) {
    throw new Error(`M3LAB_NODES: not JSON (${(e as Error).message}): ${v}`);
  }
  // The lab file's own checks name any bad field when the lab is resolved.
  if (!Array.isArray(nodes) || nodes.length === 0) throw new Error(`M3LAB_NODES: a JSON list of lab-file node entries, got ${v}`);
  return nodes as { cpus?: number; kernel?: string; append?: string }[];
}

const describeNode = (n: (typeof NODES)[number]) => `${n.cpus ?? 1}-vCPU${n.kernel ? ` ${n.kernel}-kernel` : ''}${n.append ? ` ${n.append}` : ''}`;

describe(`ipc-local: M3-IPC on one node, in ${NODES.map(describeNode).join(', ')} guests (${process.env.M3LAB_KERNEL || 'default'} kernel${process.env.M3LAB_APPEND ? `, ${process.env.M3LAB_APPEND}` : ''})`, () => {
  // Any kernel report on any node while a test runs fails that test (lab-suite.ts).
  const suite = labSuite({
    need: { nodes: NODES },
    seed: SEED,
    setup: async (h) => {
      remote = await installKmod(used(h.lab), NODES.map((_, i) => i + 1));
    },
  });

  /** The suite's nodes (a borrowed lab may have more). */
  const used = <N>(lab: { nodes: N[] }): N[] => lab.nodes.slice(0, NODES.length);

  /** Runs one TAP program on both nodes at once and asserts every line of it. */
  async function tapOnEveryNode(program: string, args: string[] = []): Promise<void> {
    const { lab } = suite.handle();
    // Under perf stat: the counters go into the report beside the TAP output.
    const runs = await Promise.all(used(lab).map((n) => runTapProgram(n, remote.get(n.name)!, program, args)));
    for (const r of runs) {
      expect.soft({ node: r.node, problems: r.problems }).toEqual({ node: r.node, problems: [] });
      expect.soft({ node: r.node, exit: r.res.code, timedOut: r.res.timedOut }).toEqual({ node: r.node, exit: 0, timedOut: false });
    }
  }

  /** Nothing bound in any DC, no m3 test process left, none in uninterruptible sleep. */
  async function expectNoLeftovers(): Promise<void> {
    const { lab } = suite.handle();
    for (const n of used(lab)) {
      // Read from the module itself: a missing /proc/m3ipc must fail, not read as "nothing bound".
      const info = parseTable((await n.rpc.call('readFile', { path: '/proc/m3ipc/info' })).data);
      expect({ node: n.name, rows: info.length, bound: info[0]?.nr_bound }).toEqual({ node: n.name, rows: 1, bound: '0' });
      const ps = await n.sh('ps -o pid,stat,comm');
      expect({ node: n.name, code: ps.code }).toEqual({ node: n.name, code: 0 });
      const rows = parseTable(ps.stdout);
      // The listing really listed something (at least the agent's node and this shell).
      expect(rows.length).toBeGreaterThan(2);
      const left = rows.filter((r) => /^t_/.test(r.COMMAND ?? ''));
      expect({ node: n.name, left }).toEqual({ node: n.name, left: [] });
      expect({ node: n.name, stuckInD: await stuckInD(n) }).toEqual({ node: n.name, stuckInD: [] });
    }
  }

  suite.it('every node runs the kernel and CPU setup the suite asked for', async () => {
    const { lab } = suite.handle();
    for (const [i, n] of used(lab).entries()) {
      // The node's whole extra command line: the suite's (M3LAB_APPEND) and its own (M3LAB_NODES).
      const append = isVm(n) ? n.record.spec.append : '';
      const variant = NODES[i]!.kernel ?? suite.kernel;
      expect({ node: n.name, kernel: n.record.kernel.variant }).toEqual({ node: n.name, kernel: variant });
      expect((await n.sh('uname -r')).stdout.trim()).toBe(n.record.kernel.release);
      if (isVm(n)) {
        // The image holds perf's software events open from boot (images/init.sh), so no static key turns under a test.
        const held = await n.sh("ps -o args | grep -c '^perf stat -e task-clock,context-switches,cpu-migrations,page-faults -p 1$'");
        expect({ node: n.name, perfHolders: held.stdout.trim() }).toEqual({ node: n.name, perfHolders: '1' });
      }
      const cpu = async (f: string) => (await n.rpc.call('readFile', { path: `/sys/devices/system/cpu/${f}` })).data.trim();
      if (variant === 'debug') {
        const dmesg = (await n.sh('dmesg')).stdout;
        expect(dmesg).toContain('KernelAddressSanitizer initialized');
        expect(dmesg).toContain('kfence: initialized');
        expect(dmesg).toContain('Lock dependency validator');
      }
      if (variant === 'up') {
        const cfg = await n.sh('zcat /proc/config.gz');
        expect(cfg.stdout).toContain('# CONFIG_SMP is not set');
        // One possible CPU whatever QEMU offers (node2 has two vCPUs).
        expect({ node: n.name, possible: await cpu('possible') }).toEqual({ node: n.name, possible: '0' });
      } else if (append.includes('nosmp') || append.includes('maxcpus=1')) {
        expect({ node: n.name, online: await cpu('online') }).toEqual({ node: n.name, online: '0' });
        if (nodeCpus(n) > 1) {
          // nosmp leaves one possible CPU; maxcpus=1 leaves the others possible but offline.
          expect({ node: n.name, possible: await cpu('possible') }).toEqual({ node: n.name, possible: append.includes('nosmp') ? '0' : `0-${nodeCpus(n) - 1}` });
        }
      } else {
        expect({ node: n.name, online: await cpu('online') }).toEqual({ node: n.name, online: nodeCpus(n) > 1 ? `0-${nodeCpus(n) - 1}` : '0' });
      }
    }
  });

  suite.it('the programs are deployed as symlinks to one multicall binary, which runs the program its name says and refuses any other', async () => {
    const { lab } = suite.handle();
    for (const n of used(lab)) {
      const r = remote.get(n.name)!;
      // m3ctl and a test program are links into multicall/; t_death re-executes itself, so it goes as its own file.
      const kind = async (f: string) => (await n.sh(`if [ -L ${f} ]; then echo "link $(readlink ${f})"; elif [ -f ${f} ]; then echo file; else echo none; fi`)).stdout.trim();
      expect({ node: n.name, m3ctl: await kind(r.m3ctl), t_ipc: await kind(r.tests.t_ipc!), t_death: await kind(r.tests.t_death!) }).toEqual({ node: n.name, m3ctl: 'link multicall/m3multi', t_ipc: 'link ../multicall/m3multi', t_death: 'file' });
      // Negative control: a name the binary does not hold is refused, with its reason, and runs nothing.
      const other = await n.sh(`ln -sf ${path.posix.dirname(r.m3ctl)}/multicall/m3multi /tmp/not-a-program && /tmp/not-a-program; echo "exit $?"; rm -f /tmp/not-a-program`);
      expect(other.stdout.trim()).toBe('exit 127');
      expect(other.stderr).toContain('m3multi: not-a-program is not one of its programs');
      const usage = await n.sh(`${r.m3ctl} 2>&1; true`);
      expect(usage.stdout).toMatch(/^usage: m3ctl dvs-init NODE/);
    }
  });

  for (const program of LOCAL_PROGRAMS) {
    suite.it(`${program} passes on every node`, async () => {
      await tapOnEveryNode(program);
    });
  }

  suite.it('stress: everything at once, clients killed and replaced (t_stress)', async () => {
    await tapOnEveryNode('t_stress');
    await expectNoLeftovers();
  });

  suite.it(`stress: 8 client/server pairs x 2000 messages, 24 random kills of clients and servers (seed ${SEED})`, async () => {
    await allure.parameter('seed', `${SEED}`);
    await allure.description(`Replay: M3LAB_SEED=${SEED} npx m3lab run ipc-local`);
    await tapOnEveryNode('t_pairs', ['8', '2000', '24', `${SEED}`]);
    await expectNoLeftovers();
  });

  // Issue 22: what sealing a link frame costs with each crypto candidate (m3lab bench seal reads the same file).
  suite.it('/proc/m3ipc/link_seal measures the links\' HMAC and the other candidates (root only)', async () => {
    const { lab } = suite.handle();
    for (const n of used(lab)) {
      const mode = await n.sh('stat -c %a /proc/m3ipc/link_seal');
      expect({ node: n.name, mode: mode.stdout.trim() }).toEqual({ node: n.name, mode: '400' });
      const text = (await n.rpc.call('readFile', { path: '/proc/m3ipc/link_seal' })).data;
      await allure.attachment(`link_seal on ${n.name}`, text, { contentType: 'text/plain' });
      const rows = parseLinkSeal(text);
      const hmac = (await n.rpc.call('readFile', { path: '/sys/module/m3ipc/parameters/link_hmac' })).data.trim();
      // The first candidate is the HMAC the links use, measured at both sizes.
      expect({ node: n.name, first: rows.slice(0, 2).map((r) => [r.candidate, r.bytes, (r.ns ?? 0) > 0]) }).toEqual({
        node: n.name,
        first: [[hmac, 64, true], [hmac, 4096, true]],
      });
      // The image kernel has every candidate (the recipe loads their modules); a kernel of ours may lack some.
      if (n.record.kernel.variant === 'default') expect({ node: n.name, unavailable: rows.filter((r) => r.ns === undefined).map((r) => r.candidate) }).toEqual({ node: n.name, unavailable: [] });
      // Seven candidates (rmt_link_seal.c), each at a message frame and a 4 KiB chunk.
      expect(rows.length).toBe(14);
    }
  });

  suite.it('rmmod m3ipc succeeds on every node and leaves no trace', async () => {
    const { lab } = suite.handle();
    for (const n of used(lab)) {
      const rm = await unloadModule(n);
      expect({ node: n.name, ...rm }).toEqual({ node: n.name, code: 0, stderr: '' });
      const gone = await n.sh('test -e /proc/m3ipc || test -e /dev/m3ipc; echo $?');
      expect(gone.stdout.trim()).toBe('1');
    }
  });
});
