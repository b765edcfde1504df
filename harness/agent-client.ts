import { randomBytes } from 'node:crypto';
import readline from 'node:readline';
import type { ClientChannel } from 'ssh2';
import { HelloLine, ResponseLine, firstIssue } from '../agent/protocol-schema.ts';
import type { AllMethods, HelloResult, Method } from '../agent/protocol.ts';
import { AgentError, InfraError } from './errors.ts';
import type { SshTransport } from './transport/ssh.ts';
import { processTimeScale, scaled } from './verdict/time-scale.ts';

/** Where the agent lives on a node: /tmp exists on our image and on any board. */
export const AGENT_REMOTE_PATH = '/tmp/m3lab/agent.cjs';
/** Where a restored node's zygote listens on its own loopback (images/zygote.cjs's PORT). */
export const ZYGOTE_PORT = 7391;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

/**
 * One long-lived agent per node (a cold `node` start costs ~1 s in a TCG guest).
 * Deployed by plain SSH: copy the bundle with `cat`, then run it on an exec channel;
 * on a node restored from a snapshot, handed to the zygote already running there.
 */
export class AgentClient {
  private ch?: ClientChannel;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private dead?: Error;
  /** Called when the channel closes unasked; the node decides whether that means "gone". */
  onUnexpectedClose: (err: Error) => void = (err) => this.fail(err);

  constructor(readonly node: string, private readonly ssh: SshTransport) {}

  /**
   * Copies the agent and starts it. With a session, a link that drops leaves the
   * agent and its children running for `graceMs`; starting again with the same
   * session reaches that agent (its hello then says what it kept).
   */
  async start(bundle: Buffer, session?: { id: string; graceMs: number }, zygoteToken?: string): Promise<HelloResult> {
    const args = session ? ['--session', session.id, '--grace-ms', `${Math.round(session.graceMs)}`] : [];
    const ch = (zygoteToken && (await this.fromZygote(bundle, args, zygoteToken))) || (await this.fromExec(bundle, args));
    this.ch = ch;
    let stderr = '';
    ch.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-4000)));
    // readline frames the lines (the agent's side does the same) and decodes UTF-8 across chunks.
    readline.createInterface({ input: ch, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
    // A forwarded connection (the zygote's) closed by the agent is an EOF here: close ours so 'close' follows.
    ch.on('end', () => ch.end());
    ch.on('close', () => {
      if (!this.dead) this.onUnexpectedClose(new InfraError(`${this.node}: agent channel closed${stderr ? `: ${stderr.trim()}` : ''}`));
    });
    const nonce = randomBytes(8).toString('hex');
    const hello = await this.call('hello', { nonce }, 30000);
    const checked = HelloLine.safeParse(hello);
    if (!checked.success) throw new InfraError(`${this.node}: the agent's hello is not one: ${firstIssue(checked.error)}`);
    if (hello.nonce !== nonce) throw new InfraError(`${this.node}: agent answered nonce ${hello.nonce}, expected ${nonce}`);
    return hello;
  }

  /** The usual way: copy the bundle with `cat`, start node on an exec channel. */
  private async fromExec(bundle: Buffer, args: string[]): Promise<ClientChannel> {
    const dir = AGENT_REMOTE_PATH.slice(0, AGENT_REMOTE_PATH.lastIndexOf('/'));
    const copy = await this.ssh.exec(`mkdir -p ${dir} && cat > ${AGENT_REMOTE_PATH}.new && mv ${AGENT_REMOTE_PATH}.new ${AGENT_REMOTE_PATH}`, {
      stdin: bundle,
      timeoutMs: scaled(30000, processTimeScale()),
    });
    if (copy.code !== 0) throw new InfraError(`${this.node}: copying the agent failed: ${copy.stderr}`);
    return this.ssh.channel(`exec node ${AGENT_REMOTE_PATH}${args.length ? ` ${args.join(' ')}` : ''}`);
  }

  /**
   * A restored node's zygote (images/zygote.cjs): a node runtime already up on
   * the guest's loopback, reached through this SSH connection, that becomes the
   * agent once it has the node's token, the code and the arguments. Undefined
   * when it does not answer (used, gone, or an image without it): then the
   * usual way.
   */
  private async fromZygote(bundle: Buffer, args: string[], token: string): Promise<ClientChannel | undefined> {
    try {
      const ch = await this.ssh.forward('127.0.0.1', ZYGOTE_PORT);
      ch.write(`${JSON.stringify({ token, bytes: bundle.length, argv: args })}\n`);
      ch.write(bundle);
      return ch;
    } catch {
      return undefined;
    }
  }

  private onLine(line: string): void {
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      return; // not ours: the agent writes only JSON lines
    }
    const msg = ResponseLine.safeParse(doc);
    if (!msg.success) {
      // The agent's own lines broken: nothing more from this link can be trusted.
      this.fail(new InfraError(`${this.node}: agent sent a line that is not an answer: ${firstIssue(msg.error)}`));
      return;
    }
    const m = msg.data;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (p.timer) clearTimeout(p.timer);
    if (m.ok) p.resolve(m.result);
    else p.reject(new AgentError(this.node, m.error.code, m.error.message));
  }

  /** Rejects every pending and future call with this error (node gone, link lost). */
  fail(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  /**
   * One request. Its bounds are base figures: the answer's deadline and a
   * command's own `timeoutMs` (positive values only: 0 and -1 keep their
   * meaning) are scaled by the lab's time scale, so a suite's constants hold
   * on a slower host or kernel.
   */
  call<M extends Method>(method: M, params: AllMethods[M]['params'], baseTimeoutMs = 60000): Promise<AllMethods[M]['result']> {
    const scale = processTimeScale();
    const timeoutMs = baseTimeoutMs > 0 ? scaled(baseTimeoutMs, scale) : baseTimeoutMs;
    const p = params as { timeoutMs?: unknown };
    if (typeof p.timeoutMs === 'number' && p.timeoutMs > 0 && scale.factor !== 1) params = { ...params, timeoutMs: scaled(p.timeoutMs, scale) };
    if (this.dead) return Promise.reject(this.dead);
    if (!this.ch) return Promise.reject(new InfraError(`${this.node}: agent not started`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve: resolve as (v: unknown) => void, reject };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new InfraError(`${this.node}: agent ${method} gave no answer in ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.pending.set(id, p);
      this.ch!.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  /** Ends the session: the agent kills its children now instead of waiting out its grace period. */
  close(): void {
    const live = !this.dead;
    this.fail(new InfraError(`${this.node}: agent closed`));
    if (live) this.ch?.write(`${JSON.stringify({ id: 0, method: 'bye', params: {} })}\n`);
    this.ch?.end();
  }
}
