import { describe, expect, it } from 'vitest';
import { bootPhases, initSeconds } from '../../harness/lab/boot-phases.ts';

describe('boot phases', () => {
  it('split a node ready time from host clocks and the guest uptime; they add up to the total', () => {
    // QEMU at 1000; the guest's kernel started at 2200 (uptime 3.0 s at hello, 5200); /init at 1.5 s;
    // marker seen at 4400; hello at 5200; ready at 5300.
    const p = bootPhases({ startedAt: 1000, bootedAt: 4400, helloAt: 5200, readyAt: 5300, uptimeAtHello: 3.0, initSeconds: 1.5 })!;
    expect(p).toEqual({ firmware: 1.2, kernel: 1.5, userspace: 0.7, agent: 0.8, setup: 0.1, total: 4.3 });
    expect(p.firmware + p.kernel + p.userspace + p.agent + p.setup).toBeCloseTo(p.total, 5);
  });

  it('no /init record in the kernel log: no phases rather than made-up ones', () => {
    expect(bootPhases({ startedAt: 0, bootedAt: 1, helloAt: 2, readyAt: 3, uptimeAtHello: 1 })).toBeUndefined();
  });

  it('finds the hand-over to user space in kernel log records', () => {
    const recs = [
      { usec: 1_200_000, text: 'Freeing unused kernel image (initmem) memory: 2000K' },
      { usec: 1_234_567, text: 'Run /init as init process' },
    ];
    expect(initSeconds(recs)).toBe(1.234567);
    expect(initSeconds(recs.slice(0, 1))).toBeUndefined();
  });
});
