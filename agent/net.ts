import net from 'node:net';
import type { RoundTrips } from './protocol.ts';

const servers = new Map<number, net.Server>();

export function echoStart(port: number, host = '0.0.0.0'): Promise<{ port: number }> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer((sock) => {
      sock.setNoDelay(true);
      sock.on('error', () => {});
      sock.pipe(sock);
    });
    srv.on('error', reject);
    srv.listen(port, host, () => {
      const bound = (srv.address() as net.AddressInfo).port;
      servers.set(bound, srv);
      resolve({ port: bound });
    });
  });
}

export function echoStop(port: number): { stopped: boolean } {
  const srv = servers.get(port);
  if (!srv) return { stopped: false };
  srv.close();
  servers.delete(port);
  return { stopped: true };
}

export function tcpRoundTrips(host: string, port: number, count: number, bytes = 1, timeoutMs = 20000): Promise<RoundTrips> {
  return new Promise((resolve, reject) => {
    const warmup = Math.min(10, count);
    const samples: number[] = [];
    const payload = Buffer.alloc(bytes, 0x5a);
    let got = 0;
    let sentAt = 0n;
    let done = 0;
    const sock = net.createConnection({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`round trips to ${host}:${port}: ${done}/${count} in ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setNoDelay(true);
    const send = () => {
      got = 0;
      sentAt = process.hrtime.bigint();
      sock.write(payload);
    };
    sock.on('connect', send);
    sock.on('data', (d: Buffer) => {
      got += d.length;
      if (got < bytes) return;
      const us = Number(process.hrtime.bigint() - sentAt) / 1000;
      done++;
      if (done > warmup) samples.push(us);
      if (done < count + warmup) {
        send();
        return;
      }
      clearTimeout(timer);
      sock.end();
      samples.sort((a, b) => a - b);
      const q = (f: number) => samples[Math.min(samples.length - 1, Math.floor(f * samples.length))]!;
      resolve({ count: samples.length, medianUs: q(0.5), p90Us: q(0.9), minUs: samples[0]!, maxUs: samples[samples.length - 1]! });
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * Connects, writes raw bytes, and reports how the peer answered: what it sent
 * back and whether it closed the connection within waitMs (probes of a server's
 * input validation).
 */
export function tcpSend(host: string, port: number, data: Buffer, waitMs = 2000): Promise<{ connected: boolean; closedByPeer: boolean; received: string; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    let connected = false;
    let received = Buffer.alloc(0);
    let settled = false;
    const sock = net.createConnection({ host, port });
    const finish = (closedByPeer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ connected, closedByPeer, received: received.toString('base64'), ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    sock.on('connect', () => {
      connected = true;
      sock.write(data);
    });
    sock.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(connected));
    sock.on('error', () => finish(connected));
  });
}
