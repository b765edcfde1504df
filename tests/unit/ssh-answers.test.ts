import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sshAnswers } from '../../harness/target/board.ts';

/**
 * sshAnswers, the probe a board's bring-up waits on. QEMU's user network
 * accepts a forwarded port before the guest listens and then closes it with
 * no data and no error: that probe must answer false at once, not hang (the
 * board bring-up stall of 2026-12-07).
 */
describe('sshAnswers', () => {
  const servers: net.Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });
  const serve = (onConn: (c: net.Socket) => void) =>
    new Promise<number>((resolve) => {
      const s = net.createServer(onConn);
      servers.push(s);
      s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port));
    });
  const timed = async (p: Promise<boolean>) => {
    const t0 = Date.now();
    return { answer: await p, ms: Date.now() - t0 };
  };

  it('a port that accepts and closes at once, as a forward with nobody behind it, is "no" at once', async () => {
    const port = await serve((c) => c.end());
    const r = await timed(sshAnswers('127.0.0.1', port, 5000));
    expect(r.answer).toBe(false);
    // Well inside the probe's 5 s idle timeout: the close answered, not the timer.
    expect(r.ms).toBeLessThan(2500);
  });

  it('an SSH banner is "yes"; another banner, silence or a refused port is "no"', async () => {
    const ssh = await serve((c) => c.write('SSH-2.0-dropbear\r\n'));
    expect((await timed(sshAnswers('127.0.0.1', ssh, 2000))).answer).toBe(true);
    const http = await serve((c) => c.write('HTTP/1.1 400 Bad Request\r\n'));
    expect((await timed(sshAnswers('127.0.0.1', http, 2000))).answer).toBe(false);
    const silent = await serve(() => undefined);
    const r = await timed(sshAnswers('127.0.0.1', silent, 200));
    expect({ answer: r.answer, byTimer: r.ms >= 190 }).toEqual({ answer: false, byTimer: true });
    const closed = await serve(() => undefined);
    servers.pop()!.close();
    expect((await timed(sshAnswers('127.0.0.1', closed, 2000))).answer).toBe(false);
  });
});
