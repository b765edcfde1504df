import { readdirSync } from 'node:fs';
import path from 'node:path';
import * as allure from 'allure-js-commons';
import { IPC_PERF_EVENTS } from '../../agent/protocol.ts';
import { kmodDir } from '../../harness/kmod/build.ts';
import { REMOTE_KMOD_DIR, type RemoteKmod } from '../../harness/kmod/deploy.ts';
import { nodeCpus, type AnyLabNode } from '../../harness/lab/lab.ts';
import { parseTap, tapProblems } from '../../harness/tap.ts';

// One C program per concern, each printing TAP; the stress programs run on their own,
// t_affinity (two CPUs, CPU hotplug) in suites/affinity.test.ts.
export const STRESS_PROGRAMS = ['t_stress', 't_pairs'];
const ELSEWHERE = ['t_affinity'];

/** The module's one-node TAP programs (kmod/tests/t_*.c) but the stress ones. */
export const LOCAL_PROGRAMS = readdirSync(path.join(kmodDir, 'tests'))
  .filter((f) => /^t_.*\.c$/.test(f))
  .map((f) => f.slice(0, -2))
  .filter((p) => !STRESS_PROGRAMS.includes(p) && !ELSEWHERE.includes(p))
  .sort();

/** Runs one TAP program on a node under perf stat; output and counters attached. */
export async function runTapProgram(n: AnyLabNode, remote: RemoteKmod, program: string, args: string[] = []) {
  const res = await n.rpc.call(
    'perfStat',
    { cmd: '/bin/sh', args: ['-c', `PATH=${REMOTE_KMOD_DIR}:$PATH ${remote.tests[program]!} ${args.join(' ')}`], events: IPC_PERF_EVENTS, timeoutMs: 240_000 },
    250_000,
  );
  const what = n.target.kind === 'board' ? `board, ${nodeCpus(n)} CPU` : `${nodeCpus(n)} vCPU`;
  await allure.attachment(`${program} on ${n.name} (${what})`, `${res.stdout}\n--- stderr ---\n${res.stderr}`, { contentType: 'text/plain' });
  await allure.attachment(`perf ${program} on ${n.name}`, JSON.stringify(res.counters, null, 2), { contentType: 'application/json' });
  return { node: n.name, res, problems: tapProblems(parseTap(res.stdout)) };
}
