import type { LabNode } from '../lab/node.ts';

/**
 * Where the time goes on a node while a bench runs, from /proc alone (no perf,
 * so it works under TCG and on any board): the node's CPU time by kind from
 * /proc/stat, and each process's CPU time and context switches from
 * /proc/PID/stat and /proc/PID/status, taken before and after and divided by
 * the messages the run moved. Clock ticks are USER_HZ (100 on Debian): a
 * figure is as fine as 10 ms over the whole run.
 */
export const USER_HZ = 100;

export interface CpuSnapshot {
  /** /proc/stat's first line: user nice system idle iowait irq softirq steal (ticks). */
  total: Record<string, number>;
  procs: Map<number, { comm: string; ticks: number; switches: number; syscalls: number }>;
}

const STAT_FIELDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'];

/**
 * Parses the listings (pure: unit-tested). `pidIo`: /proc/PID/io's syscr and
 * syscw, the read- and write-family system calls (read, write, writev, ...;
 * not ioctl or poll).
 */
export function parseSnapshot(procStat: string, pidStats: string, pidSwitches: string, pidIo = ''): CpuSnapshot {
  const cpu = procStat.split('\n').find((l) => /^cpu\s/.test(l))?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const total = Object.fromEntries(STAT_FIELDS.map((f, i) => [f, cpu[i] ?? 0]));
  const procs: CpuSnapshot['procs'] = new Map();
  for (const line of pidStats.split('\n')) {
    // pid (comm) state ...: comm may hold spaces and parentheses, so split at the last ')'.
    const m = /^(\d+) \((.*)\) (.*)$/.exec(line.trim());
    if (!m) continue;
    const rest = m[3]!.split(' ');
    // Fields after comm start at 3 (state); utime and stime are fields 14 and 15.
    procs.set(Number(m[1]), { comm: m[2]!, ticks: Number(rest[11]) + Number(rest[12]), switches: 0, syscalls: 0 });
  }
  // `grep -H` lines, "/proc/PID/FILE:FIELD: N": each N added to its process's count.
  const addUp = (listing: string, line: RegExp, field: 'switches' | 'syscalls') => {
    for (const l of listing.split('\n')) {
      const m = line.exec(l.trim());
      const p = m ? procs.get(Number(m[1])) : undefined;
      if (p) p[field] += Number(m![2]);
    }
  };
  addUp(pidSwitches, /^\/proc\/(\d+)\/status:\s*(?:non)?voluntary_ctxt_switches:\s*(\d+)/, 'switches');
  addUp(pidIo, /^\/proc\/(\d+)\/io:\s*sysc[rw]:\s*(\d+)/, 'syscalls');
  return { total, procs };
}

export async function cpuSnapshot(node: LabNode): Promise<CpuSnapshot> {
  // One shell per listing; a process that exits between them is only missing its switches.
  const [stat, pids, sw, io] = await Promise.all([
    node.sh('cat /proc/stat'),
    node.sh('cat /proc/[0-9]*/stat 2>/dev/null; true'),
    node.sh('grep -H ctxt_switches /proc/[0-9]*/status 2>/dev/null; true'),
    node.sh('grep -H -E "^sysc[rw]:" /proc/[0-9]*/io 2>/dev/null; true'),
  ]);
  return parseSnapshot(stat.stdout, pids.stdout, sw.stdout, io.stdout);
}

export interface CpuProfile {
  node: string;
  messages: number;
  /** CPU ms per message by kind (user, system, softirq, ...) over the whole node; idle left out. */
  perMessageMs: Record<string, number>;
  /** The processes that used CPU, most first: ms and context switches per message. */
  top: { comm: string; pid: number; msPerMessage: number; switchesPerMessage: number; syscallsPerMessage: number }[];
}

/** The difference of two snapshots, per message (pure). Processes that started after `before` count from zero. */
export function profileOf(node: string, before: CpuSnapshot, after: CpuSnapshot, messages: number, topN = 8): CpuProfile {
  const ms = (ticks: number) => (ticks * 1000) / USER_HZ / Math.max(1, messages);
  const perMessageMs: Record<string, number> = {};
  for (const f of STAT_FIELDS) if (f !== 'idle') perMessageMs[f] = ms((after.total[f] ?? 0) - (before.total[f] ?? 0));
  const top = [...after.procs.entries()]
    .map(([pid, a]) => {
      const b = before.procs.get(pid);
      return { comm: a.comm, pid, ticks: a.ticks - (b?.ticks ?? 0), switches: a.switches - (b?.switches ?? 0), syscalls: a.syscalls - (b?.syscalls ?? 0) };
    })
    .filter((p) => p.ticks > 0 || p.switches > messages / 10)
    .sort((x, y) => y.ticks - x.ticks || y.switches - x.switches)
    .slice(0, topN)
    .map((p) => ({ comm: p.comm, pid: p.pid, msPerMessage: ms(p.ticks), switchesPerMessage: p.switches / Math.max(1, messages), syscallsPerMessage: p.syscalls / Math.max(1, messages) }));
  return { node, messages, perMessageMs, top };
}

export function formatProfile(p: CpuProfile): string {
  const kinds = Object.entries(p.perMessageMs)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${(v * 1000).toFixed(0)} us`)
    .join(', ');
  const lines = [`${p.node}: CPU per message ${kinds || 'below the 10 ms tick'} (${p.messages} messages)`];
  for (const t of p.top) lines.push(`  ${t.comm.padEnd(16)} pid ${`${t.pid}`.padEnd(6)} ${`${(t.msPerMessage * 1000).toFixed(0)} us`.padStart(8)}/msg  ${t.switchesPerMessage.toFixed(2).padStart(6)} switches/msg  ${t.syscallsPerMessage.toFixed(2).padStart(6)} read/write calls/msg`);
  return lines.join('\n');
}
