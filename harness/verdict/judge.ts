import type { KernelReport, ReportKind } from '../console/kernel-reports.ts';
import { describeWindow, isStarved, type VcpuWindow } from './vcpu-monitor.ts';

/**
 * The lab's one verdict engine, after syzkaller's split between kernel bugs
 * and infrastructure errors. Pure: it gets what was observed of every node
 * around one test and says passed, failed or broken, and why. The suite
 * runner gathers the observations (consoles, dmesg, the vCPU monitor, a
 * probe); table-driven unit tests feed it recorded ones.
 *
 * - failed: the system under test misbehaved: an assertion, a kernel report
 *   (during the test or since the last one), a node that died with a report, a
 *   hang (the guest answers nothing while its vCPUs ran);
 * - broken: the host did not do its part: the guest's vCPUs got no CPU
 *   (stopped or starved), QEMU vanished with no report, the SSH link dropped
 *   while the guest was healthy, a node could not be read, or an earlier
 *   crash left the node gone.
 */
export type Verdict = 'passed' | 'failed' | 'broken';

export type Why =
  | 'ok'
  | 'assertion'
  | 'kernel-report'
  | 'report-between-tests'
  | 'crash'
  | 'hung'
  | 'starved'
  | 'gone'
  | 'link-lost'
  | 'unreadable'
  | 'unreachable'
  | 'earlier-crash';

export interface NodeReport {
  node: string;
  report: KernelReport;
}

export interface NodeObservation {
  node: string;
  /** Reports printed while the test ran (console, and dmesg where it answered). */
  reports: KernelReport[];
  /** Reports printed since the previous test was judged, before this one began. */
  reportsBefore: KernelReport[];
  /** The node's machine went away: why (QEMU's exit, as the target saw it). */
  gone?: string;
  /** What the host gave the node's vCPUs while the test ran (VMs only). */
  vcpu?: VcpuWindow;
  /** A fresh probe after a host-side error: did the guest answer? */
  answered?: boolean;
  /** What the host gave the vCPUs during the probe. */
  probeVcpu?: VcpuWindow;
  /** Its dmesg could not be read although it was not gone. */
  dmesgError?: string;
  /**
   * A board's liveness, looked at during the probe (it has no vCPU threads to
   * watch): does its SSH server still send a banner (the kernel's network
   * stack and sshd run), is its console being captured, and how many bytes it
   * printed while the test ran.
   */
  board?: { sshBanner: boolean; consoleLive: boolean; consoleBytes: number };
}

export interface EarlierCrash {
  node: string;
  title: string;
  test: string;
}

export interface JudgeInput {
  test: string;
  /** What the test body threw, if anything. */
  error?: { message: string; hostSide: boolean };
  nodes: NodeObservation[];
  /** A node that crashed in an earlier test and is still gone. */
  earlierCrash?: EarlierCrash;
  /** The previous test of the suite (reports between tests name it). */
  previousTest?: string;
}

export interface Judgement {
  verdict: Verdict;
  why: Why;
  message: string;
  /** Reports that make the test failed. */
  reports: NodeReport[];
  /** Reports the host's starvation explains: attached, not held against the module. */
  explained: NodeReport[];
}

/** Detectors a guest trips when it is not run for long enough, whatever the module does. */
const STALL_KINDS: ReadonlySet<ReportKind> = new Set(['rcu-stall', 'soft-lockup', 'hard-lockup', 'hung-task']);

const titles = (rs: NodeReport[]) => rs.map((r) => `${r.node}: ${r.report.title}`).join('; ');

function starvedNodes(nodes: NodeObservation[], which: 'vcpu' | 'probeVcpu' | 'either'): NodeObservation[] {
  return nodes.filter((n) => {
    const a = n.vcpu && isStarved(n.vcpu);
    const b = n.probeVcpu && isStarved(n.probeVcpu);
    return which === 'vcpu' ? a : which === 'probeVcpu' ? b : a || b;
  });
}

function starvedMessage(nodes: NodeObservation[]): string {
  return nodes.map((n) => `host starved: ${describeWindow(n.node, (n.vcpu && isStarved(n.vcpu) ? n.vcpu : n.probeVcpu)!)}`).join('\n');
}

export function judge(input: JudgeInput): Judgement {
  const { nodes, error } = input;
  const none: NodeReport[] = [];

  if (input.earlierCrash) {
    const c = input.earlierCrash;
    return {
      verdict: 'broken',
      why: 'earlier-crash',
      message: `${c.node} crashed earlier (${c.title}), reported as failed by test "${c.test}"; this test could not run on it`,
      reports: none,
      explained: none,
    };
  }

  // Stall reports on a node the host did not run are the host's doing.
  const starvedDuring = new Set(starvedNodes(nodes, 'either').map((n) => n.node));
  const during: NodeReport[] = [];
  const explained: NodeReport[] = [];
  for (const n of nodes) {
    for (const report of n.reports) {
      const r = { node: n.node, report };
      if (STALL_KINDS.has(report.kind) && starvedDuring.has(n.node)) explained.push(r);
      else during.push(r);
    }
  }
  const before = nodes.flatMap((n) => n.reportsBefore.filter((r) => !(STALL_KINDS.has(r.kind) && starvedDuring.has(n.node))).map((report) => ({ node: n.node, report })));
  const saw = error ? `\n(the test saw: ${error.message})` : '';

  if (before.length) {
    const fatal = before.find((r) => r.report.fatal);
    const where = input.previousTest ? `after test "${input.previousTest}" ended and before this one began` : 'before this test began';
    return {
      verdict: 'failed',
      why: fatal ? 'crash' : 'report-between-tests',
      message: `kernel report ${where}: ${titles(before)}${saw}\n\n${before[0]!.report.text}`,
      reports: [...before, ...during],
      explained,
    };
  }
  if (during.length) {
    return { verdict: 'failed', why: during.some((r) => r.report.fatal) ? 'crash' : 'kernel-report', message: `kernel report while the test ran: ${titles(during)}${saw}\n\n${during[0]!.report.text}`, reports: during, explained };
  }

  const starved = starvedNodes(nodes, 'either');
  // A node gone without a report: QEMU ended for a host-side reason (killed, crashed itself).
  const gone = nodes.filter((n) => n.gone !== undefined);
  if (gone.length) {
    return { verdict: 'broken', why: 'gone', message: `${gone.map((n) => `${n.node} is gone (${n.gone}) and its console shows no kernel report`).join('; ')}${saw}`, reports: none, explained };
  }

  // Whatever a test saw while the host did not run its guest says nothing of the module.
  if (error && starved.length) return { verdict: 'broken', why: 'starved', message: `${starvedMessage(starved)}${saw}`, reports: none, explained };
  if (error?.hostSide) {
    const silent = nodes.filter((n) => n.answered === false);
    // A silent board with no banner and no console: nothing says whether its kernel or the lab's network failed.
    const blind = silent.filter((n) => n.board && !n.board.sshBanner && !n.board.consoleLive);
    if (blind.length) {
      return {
        verdict: 'broken',
        why: 'unreachable',
        message: `${blind.map((n) => n.node).join(', ')} unreachable: no SSH banner and no console captured (boards[].console), so the lab cannot tell a dead kernel from a dead link${saw}`,
        reports: none,
        explained,
      };
    }
    if (silent.length) {
      const vms = silent.filter((n) => !n.board);
      const boards = silent.filter((n) => n.board);
      const parts: string[] = [];
      if (vms.length) {
        const ran = vms.map((n) => (n.probeVcpu ? describeWindow(n.node, n.probeVcpu) : `${n.node}: no vCPU figures`)).join('; ');
        parts.push(`${vms.map((n) => n.node).join(', ')} hung: QEMU runs but the guest answers nothing, though the host ran it (${ran})`);
      }
      for (const n of boards) {
        const b = n.board!;
        const alive = b.sshBanner ? 'its kernel still answers TCP (SSH banner) but no login or command completes' : 'no SSH banner';
        parts.push(`${n.node} hung: the board answers no command; ${alive}; its console is captured and printed ${b.consoleBytes} bytes during the test, no kernel report`);
      }
      return { verdict: 'failed', why: 'hung', message: `${parts.join('; ')}${saw}`, reports: none, explained };
    }
    return { verdict: 'broken', why: 'link-lost', message: `host side: ${error.message} (every node still answers a fresh login)`, reports: none, explained };
  }
  if (error) return { verdict: 'failed', why: 'assertion', message: error.message, reports: none, explained };

  if (explained.length) {
    return { verdict: 'broken', why: 'starved', message: `${starvedMessage(starved)}\nthe guest's own stall detectors fired because of it: ${titles(explained)}`, reports: none, explained };
  }
  const unreadable = nodes.filter((n) => n.dmesgError !== undefined);
  if (unreadable.length) {
    return { verdict: 'broken', why: 'unreadable', message: `kernel log of ${unreadable.map((n) => `${n.node} (${n.dmesgError})`).join(', ')} could not be read: the test cannot be judged`, reports: none, explained };
  }
  return { verdict: 'passed', why: 'ok', message: '', reports: none, explained };
}
