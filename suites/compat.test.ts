import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as allure from 'allure-js-commons';
import { afterAll, describe, expect, onTestFinished } from 'vitest';
import { origTree } from '../harness/compat/census.ts';
import { buildOriginals, packOriginals, type OriginalsBuild } from '../harness/compat/originals.ts';
import type { RemoteKmod } from '../harness/kmod/deploy.ts';
import { REMOTE_KMOD_DIR, unloadModule } from '../harness/kmod/deploy.ts';
import { kmodDir } from '../harness/kmod/build.ts';
import { installKmod } from '../harness/kmod/install.ts';
import type { LabNode } from '../harness/lab/node.ts';
import { parseTable } from '../harness/m3/procfs.ts';
import { parseTap, tapProblems } from '../harness/tap.ts';
import { scaled } from '../harness/verdict/time-scale.ts';
import { labSuite } from './support/lab-suite.ts';

// Ports of the classic M3-IPC 1.6 programs, built against the compat header only.
// c_rules needs a DC made by an admin and runs on its own below.
const PROGRAMS = readdirSync(path.join(kmodDir, 'compat', 'tests'))
  .filter((f) => /^c_.*\.c$/.test(f) && f !== 'c_rules.c')
  .map((f) => f.slice(0, -2))
  .sort();

let remote = new Map<string, RemoteKmod>();

/**
 * Original M3-IPC 1.6 programs (issue 24), built unchanged from the MOL-IPC tree (test data:
 * M3LAB_ORIG_MOLIPC, else shared/orig/MOL-IPC beside the clone): the benchmark loops and the
 * tests that run on one node by themselves (a parent and its forked child). The build starts
 * when the file is collected, so it overlaps the lab's boot.
 */
const ORIGINAL_LOOPS = ['loops/loop_mol_ipc1.c', 'loops/loop_mol_ipc2.c', 'loops/loop_mol_ipc3.c'];
const ORIGINAL_TESTS = ['tests/test_dc_init.c', 'tests/test_dc_end.c', 'tests/test_getprocinfo.c', 'tests/test_rs.c', 'tests/test_rs2.c', 'tests/test_rs3.c', 'tests/test_sendrec2.c', 'tests/test_notify2.c', 'tests/test_vcopy.c', 'tests/test_vcopy2.c', 'tests/test_vcopy3.c', 'tests/test_receive_T.c', 'tests/test_sendrec.c', 'tests/test_sendrcv.c'];
const originals: Promise<{ build?: OriginalsBuild; archive?: Buffer; error?: Error }> = buildOriginals(origTree(), [...ORIGINAL_LOOPS, ...ORIGINAL_TESTS]).then(
  async (build) => ({ build, archive: await packOriginals(build) }),
  (error: Error) => ({ error }),
);
const ORIG_DIR = `${REMOTE_KMOD_DIR}/orig`;
// Each second of an original's sleep(n) on the guest (tests/fixtures/compat/scaled-sleep.c).
const SLEEP_MS = 50;

afterAll(async () => {
  const o = await originals;
  if (o.build) rmSync(o.build.dir, { recursive: true, force: true });
});

describe(`compat: programs written for the M3-IPC 1.6 API run on m3ipc (${process.env.M3LAB_KERNEL || 'default'} kernel)`, () => {
  const suite = labSuite({
    need: { nodes: [{ cpus: 2 }] },
    setup: async (h) => {
      remote = await installKmod([h.lab.nodes[0]!], [1]);
    },
  });

  function node(): LabNode {
    return suite.handle().lab.nodes[0]!;
  }

  async function runTap(label: string, cmd: string): Promise<void> {
    const n = node();
    const res = await n.rpc.call('exec', { cmd: '/bin/sh', args: ['-c', cmd], timeoutMs: 240_000 }, 250_000);
    await allure.attachment(`${label} on ${n.name}`, `${res.stdout}\n--- stderr ---\n${res.stderr}`, { contentType: 'text/plain' });
    expect.soft({ problems: tapProblems(parseTap(res.stdout)) }).toEqual({ problems: [] });
    expect.soft({ exit: res.code, timedOut: res.timedOut }).toEqual({ exit: 0, timedOut: false });
  }

  async function m3ctl(args: string): Promise<string> {
    const res = await node().sh(`${remote.get(node().name)!.m3ctl} ${args}`);
    expect({ args, code: res.code, stderr: res.stderr.trim() }).toEqual({ args, code: 0, stderr: '' });
    return res.stdout.trim();
  }

  // The message loops run fewer rounds on the debug kernel: KASAN under TCG is slow, and the
  // loops are there to show the calls work and print a rate, not to stress.
  const loopArgs = (program: string) => (['c_sendrec', 'c_sendrecv', 'c_notify'].includes(program) ? ` -n ${suite.kernel === 'debug' ? 2000 : 10000}` : '');

  for (const program of PROGRAMS) {
    suite.it(`${program} passes`, async () => {
      await runTap(program, `${remote.get(node().name)!.tests[program]!}${loopArgs(program)}`);
    });
  }

  suite.it('a DC made with m3ctl dc-init --compat has the 1.6 rules; an ordinary DC keeps today\'s (c_rules)', async () => {
    const compat = await m3ctl('dc-init compatdc --compat --tasks 2 --procs 8 --sysprocs 3');
    const ordinary = await m3ctl('dc-init plaindc --procs 8');
    const dump = JSON.parse(await m3ctl('dump')) as { dcs: { name: string; flags: number; nr_sysprocs?: number }[] };
    const byName = (name: string) => dump.dcs.find((d) => d.name === name);
    expect({ flags: byName('compatdc')?.flags, sysprocs: byName('compatdc')?.nr_sysprocs }).toEqual({ flags: 4, sysprocs: 3 });
    expect({ flags: byName('plaindc')?.flags, sysprocs: byName('plaindc')?.nr_sysprocs }).toEqual({ flags: 0, sysprocs: 0 });
    await runTap('c_rules compat', `${remote.get(node().name)!.tests.c_rules} ${compat}`);
    await runTap('c_rules ordinary', `${remote.get(node().name)!.tests.c_rules} ${ordinary}`);
    // sysprocs belong to compat DCs only, and must cover the tasks
    expect((await node().sh(`${remote.get(node().name)!.m3ctl} dc-init bad --tasks 4 --sysprocs 2 --compat`)).code).toBe(1);
    expect((await node().sh(`${remote.get(node().name)!.m3ctl} dc-init bad --sysprocs 2`)).code).toBe(1);
    await m3ctl('dc-end compatdc');
    await m3ctl('dc-end plaindc');
  });

  suite.it('an original program builds with `cc -static prog.c -lm3ipc_compat` from the installed header and library, and runs', async () => {
    // Install as a user would (make install-compat), then build with nothing but
    // the compiler's own search paths pointing at that prefix.
    const prefix = mkdtempSync(path.join(os.tmpdir(), 'm3compat-'));
    onTestFinished(() => rmSync(prefix, { recursive: true, force: true }));
    execFileSync('make', ['-C', kmodDir, '-s', 'install-compat', `PREFIX=${prefix}`], { stdio: 'pipe' });
    const prog = path.join(kmodDir, 'compat', 'tests', 'c_sendrec.c');
    const out = path.join(prefix, 'c_sendrec');
    // c_sendrec.c includes "c_tap.h" from its own folder, as a program would its own headers.
    execFileSync('cc', ['-static', prog, '-o', out, '-lm3ipc_compat'], {
      cwd: path.dirname(prog),
      env: { ...process.env, CPATH: path.join(prefix, 'include'), LIBRARY_PATH: path.join(prefix, 'lib') },
      stdio: 'pipe',
    });
    const n = node();
    const copy = await n.ssh!.exec(`cat > ${REMOTE_KMOD_DIR}/installed-c_sendrec && chmod +x ${REMOTE_KMOD_DIR}/installed-c_sendrec`, { stdin: readFileSync(out), timeoutMs: 60_000 });
    expect(copy.code).toBe(0);
    await runTap('installed c_sendrec', `${REMOTE_KMOD_DIR}/installed-c_sendrec -n 2000`);
  });

  // --- the original programs (issue 24) ---

  // What a notification's m_type reads through the compat header.
  const notifyDef = /#define\s+NOTIFY_MESSAGE\s+\(?(-?)(0x[0-9a-fA-F]+)\)?/.exec(readFileSync(path.join(kmodDir, 'compat', 'm3ipc_compat.h'), 'utf8'))!;
  const NOTIFY_MESSAGE = (notifyDef[1] === '-' ? -1 : 1) * Number(notifyDef[2]);
  // The node id installKmod gave the node (dvs-init 1): the original's mnx_dc_init returns it.
  const NODE_ID = 1;

  /** Runs an original program (a command line in ORIG_DIR) within a bound; its output is attached. */
  async function runOriginal(cmdline: string, boundMs: number): Promise<{ out: string; code: number | null; timedOut: boolean }> {
    const n = node();
    const bound = scaled(boundMs, suite.handle().lab.timeScale);
    const res = await n.rpc.call('exec', { cmd: '/bin/sh', args: ['-c', `cd ${ORIG_DIR} || exit 1; export M3COMPAT_SLEEP_MS=${SLEEP_MS}; ./${cmdline}`], timeoutMs: bound }, bound + 10_000);
    await allure.attachment(`${cmdline} on ${n.name}`, `${res.stdout}\n--- stderr ---\n${res.stderr}\n--- exit ${res.code} signal ${res.signal} in ${res.ms} ms`, { contentType: 'text/plain' });
    return { out: res.stdout, code: res.code, timedOut: res.timedOut };
  }

  /** The number a program printed after `label=` on a line matching `line` (an endpoint it was given). */
  function printed(out: string, line: RegExp, label: string): number {
    const m = new RegExp(`${line.source}.*\\b${label}=(-?\\d+)`, 'm').exec(out);
    expect(m, `no "${label}=" on a line like ${line} in:\n${out}`).not.toBeNull();
    return Number(m![1]);
  }

  suite.it('the original programs build unchanged from the MOL-IPC tree, and its test_dc_init makes DC0 in compat mode', async (h, ctx) => {
    const o = await originals;
    if (o.error) throw o.error;
    const build = o.build!;
    // Which sources these are: a run's evidence says so.
    process.stderr.write(`compat: original programs from ${build.source}\n`);
    await ctx.annotate(build.source, 'original sources');
    expect([...build.binaries.keys()].sort()).toEqual([...ORIGINAL_LOOPS, ...ORIGINAL_TESTS].map((f) => path.basename(f, '.c')).sort());
    const copy = await node().ssh!.exec(`mkdir -p ${ORIG_DIR} && unxz | tar -x -C ${ORIG_DIR}`, { stdin: o.archive!, timeoutMs: scaled(60_000, h.lab.timeScale) });
    expect({ code: copy.code, stderr: copy.stderr }).toEqual({ code: 0, stderr: '' });

    // Its defaults: DC0, NR_PROCS/NR_TASKS/NR_SYS_PROCS of 1.6. It prints the node it got.
    const init = await runOriginal('test_dc_init', 30_000);
    expect({ code: init.code, timedOut: init.timedOut }).toEqual({ code: 0, timedOut: false });
    expect(init.out).toMatch(new RegExp(`^DC0 has been initialized on node ${NODE_ID}$`, 'm'));
    const dump = JSON.parse(await m3ctl('dump')) as { dcs: { dcid: number; name: string; flags: number; nr_procs: number; nr_tasks: number; nr_sysprocs: number }[] };
    const dc0 = dump.dcs.find((d) => d.dcid === 0);
    expect(dc0).toMatchObject({ name: 'DC0', flags: 4, nr_procs: 221, nr_tasks: 35, nr_sysprocs: 64 });
    const info = await runOriginal('test_getprocinfo 0 20', 30_000);
    expect(info.out).not.toMatch(/error/i);
    expect(info.out).toMatch(/^p_nr=20 p_endpoint=-?\d+ p_dcid=0 /m);
  });

  // _ENDPOINT_GENERATION_SIZE of m3ipc_compat.h and the original: NR_TASKS + SELF + 1.
  const GEN = 35 + 0x8ace + 1;
  // The thesis's benchmark loops: a parent and its forked child, slots 2 and 1 of DC0.
  // Bounded: a contended 2-core host has shown 2 ms a round (the figures are not the point here).
  const LOOPS = suite.kernel === 'debug' ? 200 : 1000;
  const loopChecks: Record<string, { what: string; last: (src: number) => RegExp }> = {
    // the parent's last message is the child's send: m1_i1 = 0x1234 (loop 2 leaves it 0)
    loop_mol_ipc1: { what: 'SEND-RECEIVE', last: (src) => new RegExp(`^RECEIVE \\d+: m_source=${src} m_type=255 m1_i1=4660 m1_i2=2 m1_i3=3 `, 'm') },
    loop_mol_ipc2: { what: 'SENDREC/SEND-RECEIVE', last: (src) => new RegExp(`^RECEIVE \\d+: m_source=${src} m_type=255 m1_i1=0 m1_i2=2 m1_i3=3 `, 'm') },
    loop_mol_ipc3: { what: 'NOTIFY/RECEIVE', last: (src) => new RegExp(`^RECEIVE \\d+: m_source=${src} m_type=${NOTIFY_MESSAGE} `, 'm') },
  };
  for (const [loop, check] of Object.entries(loopChecks)) {
    suite.it(`the original ${loop} runs to its own success output in the compat DC (${LOOPS} loops)`, async (_h, ctx) => {
      const r = await runOriginal(`${loop} ${LOOPS}`, 60_000);
      expect({ code: r.code, timedOut: r.timedOut }).toEqual({ code: 0, timedOut: false });
      expect(r.out).not.toMatch(/ERROR/);
      const dst = printed(r.out, /^BIND DESTINATION dcid=0 .*dst_nr=2/, 'dst_ep');
      const src = printed(r.out, /^BIND SOURCE dcid=0 .*src_nr=1/, 'src_ep');
      // The original's numbering in a compat DC: generation g of slot p is g * GEN + p, the
      // first one the slot itself; each loop binds slots 1 and 2 of DC0 once more (the first
      // loop run in a fresh DC0 gets 2 and 1).
      const g = Math.floor(dst / GEN);
      expect({ dst, src }).toEqual({ dst: g * GEN + 2, src: g * GEN + 1 });
      expect(r.out).toMatch(check.last(src));
      expect(r.out).toMatch(new RegExp(`^Loops = ${LOOPS}$`, 'm'));
      const rate = Number(new RegExp(`^Throuhput = ([\\d.]+) \\[${check.what.replace(/[/]/g, '\\/')}/s\\]$`, 'm').exec(r.out)?.[1]);
      expect(rate).toBeGreaterThan(0);
      // parent and child both reach their end (the child's last printf has no newline)
      expect(r.out.match(/exit \n/g)?.length).toBe(2);
      await ctx.annotate(`${loop}: ${rate.toFixed(0)} ${check.what}/s (${LOOPS} loops, TCG)`, 'figure');
    });
  }

  suite.it('the original test programs run to their own success output in the compat DC, each on its own slots', async () => {
    const msg = (src: number, type: number) => new RegExp(`m_source=${src}, m_type=${type}, m1_i1=1, m1_i2=2, m1_i3=3$`, 'm');
    const parentFor = 'THIS MESSAGE IS FOR PARENT AND CLIENT';
    // Each: its arguments (DC0 and two slots of its own, so all run at once) and what it prints
    // when it works, read from its source.
    const cases: [string, string, (out: string) => void][] = [
      ...['test_rs', 'test_rs2', 'test_rs3'].map((p, i): [string, string, (out: string) => void] => [p, `0 ${3 + 2 * i} ${4 + 2 * i}`, (out) => {
        const src = printed(out, /^BIND SOURCE dcid=0 /, 'src_ep');
        // first generation: the endpoint is the slot number, as the original's
        expect({ p, src }).toEqual({ p, src: 3 + 2 * i });
        expect(out).toMatch(new RegExp(`^RECEIVE msg: ${msg(src, 255).source}`, 'm'));
        expect(out).toMatch(/^UNBIND SOURCE /m);
        expect(out).toMatch(/^UNBIND DESTINATION /m);
      }]),
      ['test_sendrec2', '0 9 10', (out) => {
        const svr = printed(out, /^BIND SERVER dcid=0 /, 'svr_ep');
        const clt = printed(out, /^BIND CLIENT dcid=0 /, 'clt_ep');
        expect(out).toMatch(new RegExp(`^RECEIVE msg: ${msg(clt, 15).source}`, 'm'));
        expect(out).toMatch(new RegExp(`^REPLY msg: ${msg(svr, 240).source}`, 'm'));
      }],
      // slot 11 may notify: a system process of DC0 (slot < NR_SYS_PROCS - NR_TASKS)
      ['test_notify2', '0 11 12', (out) => {
        const src = printed(out, /^BIND SOURCE dcid=0 /, 'src_ep');
        expect(out).toMatch(new RegExp(`^RECEIVE msg: m_source=${src}, m_type=${NOTIFY_MESSAGE},`, 'm'));
      }],
      ['test_vcopy', '0 13 14', (out) => {
        const svr = printed(out, /^BIND SERVER dcid=0 /, 'svr_ep');
        // the server copied its digits over the client's letters before answering
        expect(out).toMatch(/^CLIENT BEFORE COPY buf\[(ABCDEFGHIJ){5}\]$/m);
        expect(out).toMatch(/^CLIENT AFTER COPY buf\[(0123456789){5}\]$/m);
        expect(out).toMatch(new RegExp(`^REPLY msg: ${msg(svr, 240).source}`, 'm'));
      }],
      ['test_vcopy2', '0 15 16', (out) => {
        expect(out).toMatch(/^CLIENT BUFFER:THIS IS A MESSAGE FROM SERVER TO CLIENT$/m);
      }],
      // the server pulls strlen(its own text) bytes of the client's text over its own
      ['test_vcopy3', '0 17 18', (out) => {
        expect(out).toMatch(new RegExp(`^SERVER BUFFER:${'THIS IS A MESSAGE FROM CLIENT TO SERVER'.slice(0, parentFor.length)}$`, 'm'));
      }],
    ];
    const results = await Promise.all(cases.map(async ([p, args]) => runOriginal(`${p} ${args}`, 30_000)));
    cases.forEach(([p, args, check], i) => {
      const r = results[i]!;
      expect({ p, code: r.code, timedOut: r.timedOut }).toEqual({ p, code: 0, timedOut: false });
      // a failed call prints "... ERROR <code>" or "<CALL> ret=<code>"
      expect({ p, failures: r.out.split('\n').filter((l) => /ERROR|ret=/.test(l)) }).toEqual({ p, failures: [] });
      check(r.out);
    });
  });

  // Issue 24, difference 1: these clients take their server's slot number as its endpoint
  // (svr_ep = svr_nr), which holds for a slot's first binding in a compat DC.
  suite.it('the original clients reach a server by its slot number (test_sendrec, test_sendrcv against test_receive_T)', async () => {
    for (const [client, svr, clt] of [['test_sendrec', 21, 22], ['test_sendrcv', 23, 24]] as const) {
      // The server (one receive with a 10 s timeout, then a send back to m_source) runs in the
      // background; the client starts once the original test_getprocinfo shows the server bound.
      const r = await runOriginal(
        `test_receive_T 0 ${svr} 10 > srv${svr}.out 2>&1 & ` +
          `i=0; until ./test_getprocinfo 0 ${svr} | grep -q '^p_nr=${svr} p_endpoint=${svr} '; do i=$((i+1)); [ $i -gt 200 ] && break; sleep 0.05; done; ` +
          `./${client} 0 ${clt} ${svr}; wait; echo '--- server'; cat srv${svr}.out; rm -f srv${svr}.out`,
        30_000,
      );
      expect({ client, timedOut: r.timedOut }).toEqual({ client, timedOut: false });
      const [cltOut, srvOut = ''] = r.out.split('--- server\n');
      expect({ client, failures: r.out.split('\n').filter((l) => /ERROR|ret=/.test(l)) }).toEqual({ client, failures: [] });
      // the server got the client's message from the client's first endpoint, and answered
      expect(srvOut).toMatch(new RegExp(`^Process endpoint=${svr}$`, 'm'));
      expect(srvOut).toMatch(new RegExp(`^RECEIVE msg: m_source=${clt}, m_type=(1|15), m1_i1=1, m1_i2=2, m1_i3=3$`, 'm'));
      // the client's answer: m1_i* + 1, from the server's slot number
      expect(cltOut).toMatch(new RegExp(`^(REPLY|RECEIVE) msg: m_source=${svr}, m_type=(1|15), m1_i1=2, m1_i2=3, m1_i3=4$`, 'm'));
    }
  });

  suite.it('the original test_dc_end ends DC0', async () => {
    const end = await runOriginal('test_dc_end 0', 30_000);
    expect({ code: end.code, timedOut: end.timedOut }).toEqual({ code: 0, timedOut: false });
    expect(end.out).toMatch(/^Ending virtual machine 0\.\.\. $/m);
    expect(end.out).not.toMatch(/ERROR/);
    const dump = JSON.parse(await m3ctl('dump')) as { dcs: { dcid: number }[] };
    expect(dump.dcs.map((d) => d.dcid)).not.toContain(0);
  });

  suite.it('nothing is left bound or running, and rmmod m3ipc succeeds', async () => {
    const n = node();
    const info = parseTable((await n.rpc.call('readFile', { path: '/proc/m3ipc/info' })).data);
    expect({ rows: info.length, bound: info[0]?.nr_bound, dcs: info[0]?.nr_dcs }).toEqual({ rows: 1, bound: '0', dcs: '0' });
    const ps = parseTable((await n.sh('ps -o pid,stat,comm')).stdout);
    expect(ps.length).toBeGreaterThan(2);
    expect(ps.filter((r) => /^(c_|installed|test_|loop_mol)/.test(r.COMMAND ?? '') || /^D/.test(r.STAT ?? ''))).toEqual([]);
    const rm = await unloadModule(n);
    expect(rm).toEqual({ code: 0, stderr: '' });
  });
});
