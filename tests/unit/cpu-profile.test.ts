import { describe, expect, it } from 'vitest';
import { formatProfile, parseSnapshot, profileOf } from '../../harness/bench/cpu-profile.ts';

const stat = (user: number, system: number, idle: number, softirq: number) => `cpu  ${user} 0 ${system} ${idle} 0 0 ${softirq} 0 0 0\ncpu0 1 2 3\nctxt 99\n`;
// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
const pid = (p: number, comm: string, ut: number, st: number) => `${p} (${comm}) S 1 1 1 0 -1 0 0 0 0 0 ${ut} ${st} 0 0 20 0 1 0 5 0 0`;

describe('CPU profile from /proc', () => {
  it('reads the node total, every process (comm with spaces and parentheses) and its context switches', () => {
    const s = parseSnapshot(stat(10, 20, 300, 5), [pid(7, 'm3proxy', 3, 4), pid(9, 'a (b) c', 1, 1), 'garbage'].join('\n'), '/proc/7/status:voluntary_ctxt_switches:\t10\n/proc/7/status:nonvoluntary_ctxt_switches:\t2\n/proc/42/status:voluntary_ctxt_switches: 1\n', '/proc/7/io:syscr: 30\n/proc/7/io:syscw: 12\n');
    expect(s.total).toMatchObject({ user: 10, system: 20, idle: 300, softirq: 5 });
    expect(s.procs.get(7)).toEqual({ comm: 'm3proxy', ticks: 7, switches: 12, syscalls: 42 });
    expect(s.procs.get(9)).toEqual({ comm: 'a (b) c', ticks: 2, switches: 0, syscalls: 0 });
    expect(s.procs.size).toBe(2);
  });

  it('divides the difference by the messages, busiest process first, a process born in between counted from zero', () => {
    const before = parseSnapshot(stat(10, 20, 300, 5), pid(7, 'm3proxy', 3, 4), '/proc/7/status:voluntary_ctxt_switches: 10');
    const after = parseSnapshot(stat(30, 60, 400, 15), [pid(7, 'm3proxy', 13, 14), pid(8, 'rbench', 5, 15)].join('\n'), '/proc/7/status:voluntary_ctxt_switches: 210\n/proc/8/status:voluntary_ctxt_switches: 100', '/proc/7/io:syscw: 300');
    const p = profileOf('node1', before, after, 100);
    // 20 user ticks = 200 ms over 100 messages = 2 ms each.
    expect(p.perMessageMs).toMatchObject({ user: 2, system: 4, softirq: 1 });
    expect(p.perMessageMs.idle).toBeUndefined();
    expect(p.top).toEqual([
      { comm: 'm3proxy', pid: 7, msPerMessage: 2, switchesPerMessage: 2, syscallsPerMessage: 3 },
      { comm: 'rbench', pid: 8, msPerMessage: 2, switchesPerMessage: 1, syscallsPerMessage: 0 },
    ]);
    expect(formatProfile(p)).toContain('node1: CPU per message user 2000 us, system 4000 us, softirq 1000 us (100 messages)');
  });
});
