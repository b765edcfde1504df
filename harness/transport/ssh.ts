import { EventEmitter } from 'node:events';
import { Client, type ClientChannel } from 'ssh2';
import { InfraError } from '../errors.ts';
import { waitUntil } from '../host/wait.ts';
import { processTimeScale, scaled } from '../verdict/time-scale.ts';

export interface SshEndpoint {
  host: string;
  port: number;
  username: string;
  privateKey: string;
}

export interface ExecOutput {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

const KEEPALIVE_MS = 5000;
const KEEPALIVE_BUDGET_MS = 120_000;

/**
 * The command channel to a node: one ssh2 connection, many exec channels. Keepalives
 * notice a dead link; 'lost' fires once when the connection ends unasked.
 */
export class SshTransport extends EventEmitter {
  private client?: Client;
  private ending = false;

  constructor(readonly label: string, private readonly endpoint: SshEndpoint) {
    super();
  }

  /** Connects, retrying refused or reset attempts until the deadline. */
  async connect(deadline: number): Promise<void> {
    let lastErr: Error | undefined;
    await waitUntil(
      async () => {
        try {
          await this.connectOnce(Math.max(1000, deadline - Date.now()));
          return true;
        } catch (e) {
          lastErr = e as Error;
          return false;
        }
      },
      { what: `${this.label}'s SSH`, deadline, intervalMs: 200, timeoutError: () => new InfraError(`${this.label}: SSH to ${this.endpoint.host}:${this.endpoint.port} failed: ${lastErr?.message ?? 'deadline passed'}`) },
    );
  }

  private connectOnce(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const c = new Client();
      let ready = false;
      c.on('ready', () => {
        ready = true;
        this.client = c;
        resolve();
      });
      c.on('error', (e) => {
        if (!ready) reject(e);
      });
      c.on('close', () => {
        if (!ready) reject(new Error('connection closed during handshake'));
        else if (!this.ending) this.emit('lost', new InfraError(`${this.label}: SSH link lost`));
      });
      c.connect({
        host: this.endpoint.host,
        port: this.endpoint.port,
        username: this.endpoint.username,
        privateKey: this.endpoint.privateKey,
        readyTimeout: timeoutMs,
        // ssh2 puts AES first when the host has AES-NI, but the far side runs
        // the cipher in software (dropbear's own AES; a TCG guest emulates it
        // slowly): ChaCha20-Poly1305 moved 26 MB into a TCG guest in 1.7 s,
        // AES-128-CTR in 2.9 s (2026-12-06). The others stay for a far side without it.
        algorithms: { cipher: ['chacha20-poly1305@openssh.com', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'] },
        // A link is given up only after the lab's scaled budget (120 s on the
        // reference host) without an answer: a guest the host stopped or
        // starved for a minute keeps its link, and a hung one is found by the
        // test's own bounds long before.
        keepaliveInterval: KEEPALIVE_MS,
        keepaliveCountMax: Math.ceil(scaled(KEEPALIVE_BUDGET_MS, processTimeScale()) / KEEPALIVE_MS),
      });
    });
  }

  /** A TCP connection from the node to host:port on its side (a direct-tcpip channel). */
  forward(host: string, port: number): Promise<ClientChannel> {
    const c = this.client;
    if (!c) return Promise.reject(new InfraError(`${this.label}: not connected`));
    return new Promise((resolve, reject) => {
      c.forwardOut('127.0.0.1', 0, host, port, (err, ch) => (err ? reject(new InfraError(`${this.label}: forward to ${host}:${port}: ${err.message}`)) : resolve(ch)));
    });
  }

  channel(command: string): Promise<ClientChannel> {
    const c = this.client;
    if (!c) return Promise.reject(new InfraError(`${this.label}: not connected`));
    return new Promise((resolve, reject) => {
      c.exec(command, (err, ch) => (err ? reject(new InfraError(`${this.label}: exec ${command}: ${err.message}`)) : resolve(ch)));
    });
  }

  /** Runs a shell command on the node; stdin is written and closed. */
  async exec(command: string, opts: { stdin?: string | Buffer; timeoutMs?: number } = {}): Promise<ExecOutput> {
    const ch = await this.channel(command);
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      let signal: string | null = null;
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            ch.close();
            reject(new InfraError(`${this.label}: ${command}: no answer in ${opts.timeoutMs} ms`));
          }, opts.timeoutMs)
        : undefined;
      ch.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
      ch.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      ch.on('exit', (c: number | null, s?: string) => {
        code = c;
        signal = s ?? null;
      });
      ch.on('close', () => {
        if (timer) clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
      ch.end(opts.stdin ?? '');
    });
  }

  close(): void {
    this.ending = true;
    this.client?.end();
    this.client = undefined;
  }
}
