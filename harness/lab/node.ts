import { randomBytes } from 'node:crypto';
import type { HelloResult } from '../../agent/protocol.ts';
import { AgentClient } from '../agent-client.ts';
import { InfraError, NodeGoneError } from '../errors.ts';
import type { Target } from '../target/target.ts';
import { SshTransport } from '../transport/ssh.ts';
import { processTimeScale, scaled } from '../verdict/time-scale.ts';

/** booting: not yet ready; ready: agent handshake done; running: up, not connected from here; gone. */
export type NodeState = 'booting' | 'ready' | 'running' | 'gone';

/** What a lab remembers of any node, VM or board. */
export interface NodeRecordBase {
  name: string;
  lanAddress: string;
  readySeconds?: number;
  /** The M3-IPC node id the lab file gave it (boards[].node); absent: its position in a cluster. */
  nodeId?: number;
  /** The kernel the node runs and the tree its modules build against. */
  kernel: { variant: string; release: string; buildDir: string };
}

/** One machine of a lab: its target, command channel and agent. */
export class LabNode<T extends Target = Target, R extends NodeRecordBase = NodeRecordBase> {
  state: NodeState = 'booting';
  ssh?: SshTransport;
  agent?: AgentClient;
  hello?: HelloResult;
  goneReason?: string;
  /** The guest's stall detectors as the lab set them (time-scale.ts). */
  detectors?: Partial<import('../verdict/time-scale.ts').GuestDetectors>;
  /**
   * A restored node's token for its agent zygote (images/zygote.cjs), handed
   * over with its identity; used by the first connect only.
   */
  zygoteToken?: string;

  constructor(readonly record: R, readonly target: T) {
    void target.gone.then((why) => this.markGone(why));
  }

  get name(): string {
    return this.record.name;
  }

  markGone(why: string): void {
    if (this.state === 'gone') return;
    this.state = 'gone';
    this.goneReason = why;
    this.agent?.fail(new NodeGoneError(this.name, why));
    this.ssh?.close();
  }

  private bundle?: Buffer;
  private reconnecting?: Promise<void>;
  /** Links lost while the guest lived and made again (reported with the node's facts). */
  reconnects = 0;
  /** What the agent kept through each of those gaps (its processes, answers with no link). */
  readonly resumes: NonNullable<HelloResult['resumed']>[] = [];
  /** One agent session per node and process: a new link reaches the agent the old one left. */
  private readonly session = `${randomBytes(6).toString('hex')}`;

  /** SSH, agent deploy and the nonce handshake. */
  async connect(deadline: number, bundle: Buffer): Promise<void> {
    this.bundle = bundle;
    const ssh = new SshTransport(this.name, this.target.ssh);
    this.ssh = ssh;
    await Promise.race([ssh.connect(deadline), this.goneError()]);
    const agent = new AgentClient(this.name, ssh);
    this.agent = agent;
    // Only the current link counts: a late close of one already replaced says nothing.
    agent.onUnexpectedClose = (e) => {
      if (this.agent === agent) void this.linkDown(e);
    };
    ssh.on('lost', (e: Error) => {
      if (this.ssh === ssh) void this.linkDown(e);
    });
    const graceMs = scaled(120_000, processTimeScale());
    const token = this.zygoteToken;
    this.zygoteToken = undefined;
    // Bounded by the same deadline as the connect: an SSH channel the far side never opens has no timeout of its own.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new InfraError(`${this.name}: the agent did not start before the deadline (SSH connected, no hello)`)), Math.max(0, deadline - Date.now()));
    });
    try {
      this.hello = await Promise.race([agent.start(bundle, { id: this.session, graceMs }, token), this.goneError(), late]);
    } finally {
      clearTimeout(timer);
    }
    if (this.hello.resumed) this.resumes.push(this.hello.resumed);
    this.state = 'ready';
  }

  /**
   * The SSH link or agent channel closed. When the machine itself died, the closed
   * socket often arrives before the process exit is seen: give the target a moment
   * to say so, so a dead node is reported as gone, not as a lost link.
   */
  private async linkDown(err: Error): Promise<void> {
    const why = await Promise.race([this.target.gone, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1500))]);
    if (why !== undefined) {
      this.markGone(why);
      return;
    }
    this.agent?.fail(err);
    void this.reconnect();
  }

  /** Resolves once a reconnect under way (if any) has ended, either way. */
  linkSettled(): Promise<void> {
    return this.reconnecting ?? Promise.resolve();
  }

  /**
   * The link dropped but the machine lives: make a new one (fresh SSH, to the
   * same agent session: its spawned processes and their ids live on), once,
   * within the lab's scaled bound. Calls in flight have already failed with the
   * lost link; later ones go over the new one. A
   * guest that does not take the new link is left as it is for the verdict
   * engine to judge.
   */
  private reconnect(): Promise<void> {
    if (this.reconnecting || !this.bundle || this.state === 'gone') return this.reconnecting ?? Promise.resolve();
    const bundle = this.bundle;
    this.reconnecting = (async () => {
      try {
        this.ssh?.close();
        await this.connect(Date.now() + scaled(60_000, processTimeScale()), bundle);
        this.reconnects++;
      } catch {
        // judged later: the node answers nothing
      } finally {
        this.reconnecting = undefined;
      }
    })();
    return this.reconnecting;
  }

  private goneError(): Promise<never> {
    return this.target.gone.then((why) => {
      throw new NodeGoneError(this.name, why);
    });
  }

  /** The node's agent, or an error saying why there is none. */
  get rpc(): AgentClient {
    if (this.state === 'gone') throw new NodeGoneError(this.name, this.goneReason ?? 'gone');
    if (!this.agent) throw new InfraError(`${this.name}: not connected`);
    return this.agent;
  }

  /** Runs a command through the agent; sh -c keeps pipelines simple for tests. */
  async sh(script: string, timeoutMs = 60000) {
    return this.rpc.call('exec', { cmd: '/bin/sh', args: ['-c', script], timeoutMs }, timeoutMs + 10000);
  }

  disconnect(): void {
    this.agent?.close();
    this.ssh?.close();
    (this.target as { dispose?: () => void }).dispose?.();
  }
}
