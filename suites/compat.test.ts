import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as allure from 'allure-js-commons';
import { describe, expect, onTestFinished } from 'vitest';
import type { RemoteKmod } from '../harness/kmod/deploy.ts';
import { REMOTE_KMOD_DIR, unloadModule } from '../harness/kmod/deploy.ts';
import { kmodDir } from '../harness/kmod/build.ts';
import { installKmod } from '../harness/kmod/install.ts';
import type { LabNode } from '../harness/lab/node.ts';
import { parseTable } from '../harness/m3/procfs.ts';
import { parseTap, tapProblems } from '../harness/tap.ts';
import { labSuite } from './support/lab-suite.ts';

// Ports of the classic M3-IPC 1.6 programs, built against the compat header only.
// c_rules needs a DC made by an admin and runs on its own below.
const PROGRAMS = readdirSync(path.join(kmodDir, 'compat', 'tests'))
  .filter((f) => /^c_.*\.c$/.test(f) && f !== 'c_rules.c')
  .map((f) => f.slice(0, -2))
  .sort();

let remote = new Map<string, RemoteKmod>();

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

  suite.it('nothing is left bound or running, and rmmod m3ipc succeeds', async () => {
    const n = node();
    const info = parseTable((await n.rpc.call('readFile', { path: '/proc/m3ipc/info' })).data);
    expect({ rows: info.length, bound: info[0]?.nr_bound, dcs: info[0]?.nr_dcs }).toEqual({ rows: 1, bound: '0', dcs: '0' });
    const ps = parseTable((await n.sh('ps -o pid,stat,comm')).stdout);
    expect(ps.length).toBeGreaterThan(2);
    expect(ps.filter((r) => /^(c_|installed)/.test(r.COMMAND ?? '') || /^D/.test(r.STAT ?? ''))).toEqual([]);
    const rm = await unloadModule(n);
    expect(rm).toEqual({ code: 0, stderr: '' });
  });
});
