import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findReports, type KernelReport } from '../../harness/console/kernel-reports.ts';
import { judge, type JudgeInput, type NodeObservation, type Verdict, type Why } from '../../harness/verdict/judge.ts';
import { isStarved, summarize, type VcpuSample } from '../../harness/verdict/vcpu-monitor.ts';
import { computeTimeScale, guestDetectors } from '../../harness/verdict/time-scale.ts';

/**
 * The verdict engine over recorded consoles (captured from this lab) and vCPU
 * timelines, table-driven like syzkaller's pkg/report tests: the same
 * observation must always give the same verdict, whatever the host was doing.
 */
const fixture = (f: string) => readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'captured', f), 'utf8');
const panic = findReports(fixture('default-6.1-sysrq-panic.console.log'));
const kasan = findReports(fixture('debug-6.1-canary.console.log')).filter((r) => r.kind === 'kasan');
const hungTask = findReports(fixture('debug-6.1-hung-task.console.log')).filter((r) => r.kind === 'hung-task');
const softLockup: KernelReport = findReports('watchdog: BUG: soft lockup - CPU#0 stuck for 57s! [sh:201]\nCPU: 0 PID: 201 Comm: sh Not tainted 6.1.0 #1\nCall Trace:\n <TASK>\n do_idle+0x1/0x2\n </TASK>\n')[0]!;

/** A timeline of samples every 500 ms: `kind` per stretch. */
function timeline(stretches: { ms: number; kind: 'busy' | 'idle' | 'stopped' | 'waiting' }[], vcpus = 1): VcpuSample[] {
  const out: VcpuSample[] = [{ t: 0, state: 'S', runNs: 0, waitNs: 0, vcpus }];
  let t = 0;
  let run = 0;
  let wait = 0;
  for (const s of stretches) {
    for (let i = 0; i < s.ms / 500; i++) {
      t += 500;
      if (s.kind === 'busy') run += 480e6 * vcpus;
      if (s.kind === 'idle') run += 5e6;
      if (s.kind === 'waiting') {
        run += 50e6;
        wait += 440e6 * vcpus;
      }
      out.push({ t, state: s.kind === 'stopped' ? 'T' : s.kind === 'busy' ? 'R' : 'S', runNs: run, waitNs: wait, vcpus });
    }
  }
  return out;
}

const win = (stretches: Parameters<typeof timeline>[0]) => {
  const tl = timeline(stretches);
  return summarize(tl, 0, tl.at(-1)!.t);
};

const node = (o: Partial<NodeObservation> & { node?: string } = {}): NodeObservation => ({ node: 'node1', reports: [], reportsBefore: [], ...o });

const cases: { name: string; input: JudgeInput; verdict: Verdict; why: Why; message?: RegExp }[] = [
  { name: 'a quiet test', input: { test: 't', nodes: [node({ vcpu: win([{ ms: 10000, kind: 'busy' }]) })] }, verdict: 'passed', why: 'ok' },
  { name: 'an assertion', input: { test: 't', error: { message: 'expected 1 to be 2', hostSide: false }, nodes: [node()] }, verdict: 'failed', why: 'assertion' },
  {
    name: 'panic during the test, then QEMU exit',
    input: { test: 't', error: { message: 'node node1 is gone: QEMU process is gone', hostSide: true }, nodes: [node({ reports: panic, gone: 'QEMU process is gone' })] },
    verdict: 'failed',
    why: 'crash',
    message: /kernel report while the test ran: node1: .*panic[\s\S]*the test saw: node node1 is gone/i,
  },
  {
    name: 'panic between two tests: the next test reports it',
    input: { test: 't2', previousTest: 't1', error: { message: 'node node1 is gone: QEMU process is gone', hostSide: true }, nodes: [node({ reportsBefore: panic, gone: 'QEMU process is gone' })] },
    verdict: 'failed',
    why: 'crash',
    message: /kernel report after test "t1" ended and before this one began: node1: .*panic/i,
  },
  {
    name: 'a KASAN report between two tests on a live node',
    input: { test: 't2', previousTest: 't1', nodes: [node({ reportsBefore: kasan })] },
    verdict: 'failed',
    why: 'report-between-tests',
    message: /KASAN: use-after-free/,
  },
  {
    name: 'a later test after a crash already reported',
    input: { test: 't3', earlierCrash: { node: 'node1', title: 'kernel panic: sysrq triggered crash', test: 't2' }, nodes: [node({ gone: 'QEMU process is gone' })] },
    verdict: 'broken',
    why: 'earlier-crash',
    message: /node1 crashed earlier \(kernel panic: sysrq triggered crash\), reported as failed by test "t2"/,
  },
  {
    name: 'silence with the vCPUs busy: hung',
    input: { test: 't', error: { message: 'agent exec gave no answer', hostSide: true }, nodes: [node({ vcpu: win([{ ms: 20000, kind: 'busy' }]), answered: false, probeVcpu: win([{ ms: 10000, kind: 'busy' }]) })] },
    verdict: 'failed',
    why: 'hung',
    message: /node1 hung: QEMU runs but the guest answers nothing, though the host ran it/,
  },
  {
    name: 'a silent board whose SSH server still sends its banner: hung',
    input: { test: 't', error: { message: 'agent exec gave no answer', hostSide: true }, nodes: [node({ node: 'board1', answered: false, board: { sshBanner: true, consoleLive: true, consoleBytes: 120 } })] },
    verdict: 'failed',
    why: 'hung',
    message: /board1 hung: the board answers no command; its kernel still answers TCP \(SSH banner\)/,
  },
  {
    name: 'a silent board with a live console and no banner: hung',
    input: { test: 't', error: { message: 'agent exec gave no answer', hostSide: true }, nodes: [node({ node: 'board1', answered: false, board: { sshBanner: false, consoleLive: true, consoleBytes: 0 } })] },
    verdict: 'failed',
    why: 'hung',
    message: /board1 hung: .*no SSH banner; its console is captured and printed 0 bytes/,
  },
  {
    name: 'a silent board with no banner and no console: unreachable, not a module failure',
    input: { test: 't', error: { message: 'agent exec gave no answer', hostSide: true }, nodes: [node({ node: 'board1', answered: false, board: { sshBanner: false, consoleLive: false, consoleBytes: 0 } })] },
    verdict: 'broken',
    why: 'unreachable',
    message: /board1 unreachable: no SSH banner and no console captured/,
  },
  {
    name: 'a board that lost its link but answers a fresh login: link lost',
    input: { test: 't', error: { message: 'board1: SSH link lost', hostSide: true }, nodes: [node({ node: 'board1', answered: true, board: { sshBanner: true, consoleLive: false, consoleBytes: 0 } })] },
    verdict: 'broken',
    why: 'link-lost',
  },
  {
    name: 'silence with the vCPUs asleep (every task blocked): hung',
    input: { test: 't', error: { message: 'agent exec gave no answer', hostSide: true }, nodes: [node({ vcpu: win([{ ms: 20000, kind: 'idle' }]), answered: false, probeVcpu: win([{ ms: 10000, kind: 'idle' }]) })] },
    verdict: 'failed',
    why: 'hung',
  },
  {
    name: 'silence with QEMU stopped (SIGSTOP): starved, broken',
    input: { test: 't', error: { message: 'agent exec gave no answer', hostSide: true }, nodes: [node({ vcpu: win([{ ms: 5000, kind: 'busy' }, { ms: 60000, kind: 'stopped' }]), answered: false, probeVcpu: win([{ ms: 10000, kind: 'stopped' }]) })] },
    verdict: 'broken',
    why: 'starved',
    message: /host starved: node1's vCPU threads ran \d+ ms .* QEMU was stopped for 59\.5 s/,
  },
  {
    name: 'silence with the vCPUs waiting for a CPU: starved, broken',
    input: { test: 't', error: { message: 'agent exec gave no answer', hostSide: true }, nodes: [node({ vcpu: win([{ ms: 30000, kind: 'waiting' }]), answered: false })] },
    verdict: 'broken',
    why: 'starved',
    message: /waited \d+ ms for a CPU/,
  },
  {
    name: 'a soft lockup after QEMU was stopped for 60 s: the host, not the module',
    input: { test: 't', nodes: [node({ reports: [softLockup], vcpu: win([{ ms: 5000, kind: 'busy' }, { ms: 60000, kind: 'stopped' }, { ms: 5000, kind: 'busy' }]) })] },
    verdict: 'broken',
    why: 'starved',
    message: /stall detectors fired because of it: node1: .*soft lockup/i,
  },
  {
    name: 'a soft lockup on a guest the host ran: the module',
    input: { test: 't', nodes: [node({ reports: [softLockup], vcpu: win([{ ms: 65000, kind: 'busy' }]) })] },
    verdict: 'failed',
    why: 'kernel-report',
  },
  {
    name: 'a KASAN report is never excused by starvation',
    input: { test: 't', nodes: [node({ reports: kasan, vcpu: win([{ ms: 60000, kind: 'stopped' }]) })] },
    verdict: 'failed',
    why: 'kernel-report',
  },
  {
    name: 'a hung task on a starved node is explained, the assertion it caused too',
    input: { test: 't', error: { message: 'timed out', hostSide: false }, nodes: [node({ reports: hungTask, vcpu: win([{ ms: 60000, kind: 'stopped' }]) })] },
    verdict: 'broken',
    why: 'starved',
  },
  {
    name: 'SSH lost with a live guest that answers a fresh login',
    input: { test: 't', error: { message: 'node1: SSH link lost', hostSide: true }, nodes: [node({ vcpu: win([{ ms: 10000, kind: 'idle' }]), answered: true })] },
    verdict: 'broken',
    why: 'link-lost',
    message: /every node still answers a fresh login/,
  },
  {
    name: 'QEMU gone without a kernel report',
    input: { test: 't', error: { message: 'node node1 is gone', hostSide: true }, nodes: [node({ gone: 'QEMU killed by SIGKILL' })] },
    verdict: 'broken',
    why: 'gone',
    message: /node1 is gone \(QEMU killed by SIGKILL\) and its console shows no kernel report/,
  },
  {
    name: 'a node whose dmesg cannot be read',
    input: { test: 't', nodes: [node(), node({ node: 'node2', dmesgError: 'agent dmesg gave no answer in 20000 ms' })] },
    verdict: 'broken',
    why: 'unreadable',
    message: /kernel log of node2 \(agent dmesg gave no answer/,
  },
];

describe('the verdict engine', () => {
  it('the fixtures hold what the cases say', () => {
    expect(panic.some((r) => r.fatal)).toBe(true);
    expect(kasan.length).toBe(1);
    expect(hungTask.length).toBeGreaterThan(0);
    expect(softLockup.kind).toBe('soft-lockup');
  });
  for (const c of cases) {
    it(c.name, () => {
      const j = judge(c.input);
      expect({ verdict: j.verdict, why: j.why }).toEqual({ verdict: c.verdict, why: c.why });
      if (c.message) expect(j.message).toMatch(c.message);
      if (j.verdict === 'failed' && (j.why === 'kernel-report' || j.why === 'crash' || j.why === 'report-between-tests')) expect(j.reports.length).toBeGreaterThan(0);
    });
  }
});

describe('vCPU windows', () => {
  it('a busy guest is not starved', () => {
    const w = win([{ ms: 10000, kind: 'busy' }]);
    expect(w.starvedMs).toBe(0);
    expect(w.runMs).toBeGreaterThan(9000);
  });
  it('an idle guest is not starved', () => {
    expect(win([{ ms: 10000, kind: 'idle' }]).starvedMs).toBe(0);
  });
  it('a stopped QEMU is starved for as long as it was stopped', () => {
    const w = win([{ ms: 2000, kind: 'busy' }, { ms: 6000, kind: 'stopped' }, { ms: 2000, kind: 'busy' }]);
    expect(w.stoppedMs).toBe(5500);
    expect(w.longestStarvedMs).toBe(5500);
  });
  it('two vCPUs sharing two host cores with two other vCPUs are not starved (samples of node2 in a clean-clone faults run)', () => {
    // Every 500 ms the two threads ran ~380 ms and waited ~440 ms in all: each ran and waited about half the time.
    const tl: VcpuSample[] = [];
    for (let i = 0; i <= 20; i++) tl.push({ t: i * 500, state: i % 2 ? 'R' : 'S', runNs: i * 380e6, waitNs: i * 440e6, vcpus: 2 });
    expect(summarize(tl, 0, 10000).starvedMs).toBe(0);
    // Negative control: the same waits on one vCPU are most of its time.
    const one = tl.map((x) => ({ ...x, runNs: x.runNs / 4, vcpus: 1 }));
    expect(summarize(one, 0, 10000).longestStarvedMs).toBe(10000);
  });
  it('two vCPUs that each waited nearly the whole stretch are starved', () => {
    const tl = timeline([{ ms: 2000, kind: 'busy' }, { ms: 6000, kind: 'waiting' }], 2);
    expect(isStarved(summarize(tl, 0, tl.at(-1)!.t))).toBe(true);
  });
  it('samples outside the window do not count', () => {
    const tl = timeline([{ ms: 10000, kind: 'stopped' }, { ms: 10000, kind: 'busy' }]);
    expect(summarize(tl, 10000, 20000).starvedMs).toBe(0);
  });
});

describe('the time scale', () => {
  it('is 1 on the host and lab the bounds were tuned on', () => {
    expect(computeTimeScale({ kernels: ['default'], vcpus: 4, hostCores: 2, hostSlowdown: 1 }, undefined).factor).toBe(1);
  });
  it('multiplies the debug kernel, oversubscription and a slow host', () => {
    const s = computeTimeScale({ kernels: ['debug', 'default'], vcpus: 8, hostCores: 2, hostSlowdown: 1.5 }, undefined);
    expect(s).toEqual({ factor: 9, kernel: 3, oversubscription: 2, host: 1.5, source: 'computed' });
  });
  it('never goes below 1 and is bounded', () => {
    expect(computeTimeScale({ kernels: ['default'], vcpus: 1, hostCores: 64, hostSlowdown: 0.5 }, undefined).factor).toBe(1);
    expect(computeTimeScale({ kernels: ['debug'], vcpus: 64, hostCores: 2, hostSlowdown: 5 }, undefined).factor).toBe(20);
  });
  it('M3LAB_TIME_SCALE overrides it, and garbage does not', () => {
    expect(computeTimeScale({ kernels: ['default'], vcpus: 4, hostCores: 2, hostSlowdown: 1 }, '4.5')).toMatchObject({ factor: 4.5, source: 'env' });
    expect(computeTimeScale({ kernels: ['default'], vcpus: 4, hostCores: 2, hostSlowdown: 1 }, 'fast')).toMatchObject({ factor: 1, source: 'computed' });
  });
  it('scales the guest detectors within what the kernel accepts', () => {
    expect(guestDetectors(1)).toEqual({ hungTaskTimeoutSecs: 30, rcuCpuStallTimeout: 21, watchdogThresh: 10 });
    expect(guestDetectors(3)).toEqual({ hungTaskTimeoutSecs: 90, rcuCpuStallTimeout: 63, watchdogThresh: 30 });
    expect(guestDetectors(20)).toEqual({ hungTaskTimeoutSecs: 600, rcuCpuStallTimeout: 300, watchdogThresh: 60 });
  });
});
