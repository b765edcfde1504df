import { EventEmitter } from 'node:events';
import net from 'node:net';
import { InfraError } from '../errors.ts';
import { waitUntil } from '../host/wait.ts';

/**
 * QMP framing: QEMU writes one JSON object per line (\r\n). A frame can arrive split
 * across reads or several in one read; this splitter handles both.
 */
export class QmpFramer {
  private buf = '';
  push(chunk: string): unknown[] {
    this.buf += chunk;
    const out: unknown[] = [];
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line === '') continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        throw new InfraError(`QMP sent a line that is not JSON: ${line.slice(0, 200)}`);
      }
    }
    return out;
  }
  get pending(): string {
    return this.buf;
  }
}

export function encodeCommand(execute: string, args: Record<string, unknown> | undefined, id: number): string {
  const msg: Record<string, unknown> = { execute, id };
  if (args !== undefined) msg.arguments = args;
  return `${JSON.stringify(msg)}\n`;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  execute: string;
}

/** A minimal QMP client: greeting, capabilities negotiation, commands, events. */
export class QmpClient extends EventEmitter {
  private sock?: net.Socket;
  private framer = new QmpFramer();
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private closed = false;

  constructor(private readonly socketPath: string) {
    super();
  }

  async connect(timeoutMs = 5000): Promise<unknown> {
    const sock = await this.openSocket(Date.now() + timeoutMs);
    this.sock = sock;
    sock.setEncoding('utf8');
    const greeting = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new InfraError(`QMP ${this.socketPath}: no greeting in ${timeoutMs} ms`)), timeoutMs);
      this.once('greeting', (g) => {
        clearTimeout(timer);
        resolve(g);
      });
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(new InfraError(`QMP ${this.socketPath}: ${e.message}`));
      });
    });
    sock.on('data', (chunk: string) => {
      let msgs: unknown[];
      try {
        msgs = this.framer.push(chunk);
      } catch (e) {
        this.fail(e as Error);
        return;
      }
      for (const m of msgs) this.dispatch(m as Record<string, unknown>);
    });
    sock.on('close', () => this.fail(new InfraError(`QMP ${this.socketPath}: connection closed`)));
    sock.on('error', () => {});
    const g = await greeting;
    await this.execute('qmp_capabilities');
    return g;
  }

  /**
   * QEMU creates the socket file at bind() and accepts only after listen(), so a
   * monitor that is still starting refuses or is absent for a moment: retry those
   * two answers until the deadline, give up on anything else.
   */
  private openSocket(deadline: number): Promise<net.Socket> {
    let last: Error | undefined;
    return waitUntil(
      async () => {
        const sock = net.createConnection(this.socketPath);
        const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
          sock.once('connect', () => resolve(undefined));
          sock.once('error', (e) => resolve(e));
        });
        if (!err) return sock;
        sock.destroy();
        if (err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT') throw new InfraError(`QMP ${this.socketPath}: ${err.message}`);
        last = err;
        return undefined;
      },
      { what: `QMP ${this.socketPath}`, deadline, intervalMs: 25, timeoutError: () => new InfraError(`QMP ${this.socketPath}: ${last?.message}`) },
    );
  }

  private dispatch(m: Record<string, unknown>): void {
    if ('QMP' in m) this.emit('greeting', m.QMP);
    else if ('event' in m) this.emit('event', m);
    else if (typeof m.id === 'number' && this.pending.has(m.id)) {
      const p = this.pending.get(m.id)!;
      this.pending.delete(m.id);
      if ('error' in m) {
        const e = m.error as { class?: string; desc?: string };
        p.reject(new InfraError(`QMP ${p.execute}: ${e.class ?? 'Error'}: ${e.desc ?? ''}`));
      } else p.resolve(m.return);
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.emit('close', err);
  }

  execute<T = unknown>(execute: string, args?: Record<string, unknown>, timeoutMs = 10000): Promise<T> {
    if (!this.sock || this.closed) return Promise.reject(new InfraError(`QMP ${this.socketPath}: not connected`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new InfraError(`QMP ${execute}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        execute,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.sock!.write(encodeCommand(execute, args, id));
    });
  }

  /** Human monitor commands (set_link, info ...) that have no QMP equivalent. */
  hmp(command: string): Promise<string> {
    return this.execute<string>('human-monitor-command', { 'command-line': command });
  }

  close(): void {
    this.closed = true;
    this.sock?.destroy();
  }
}
