import { mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import type { DetachedAnswer } from './protocol.ts';

/**
 * The agent's channels to the harness. A harness link is an SSH exec channel;
 * a host stall or a dropped TCP connection closes it while the guest is
 * healthy. Without a session the agent ends with its channel, as before. With
 * one (`--session ID --grace-ms N`), the first process for that session is the
 * agent and listens on a Unix socket; when its channel drops while children
 * still run (proxies, servers, commands in flight) it keeps them for the grace
 * period. The harness's next link starts the same command, which finds the
 * socket and only bridges its stdin/stdout to the waiting agent, so the spawned
 * processes, their ids and their output survive the stall. No new link within
 * the grace period: the children are killed, as with no session at all.
 */

export interface Channel {
  /** 1 for the first link, then one more for each link that took over. */
  readonly seq: number;
  readonly write: (line: string) => void;
  live: boolean;
}

export interface SessionOptions {
  session?: string;
  graceMs: number;
  onLine: (ch: Channel, line: string) => void;
  /** Children still running: with none, a dropped link ends the agent at once. */
  busy: () => number;
  /** Kills every child; called once before the agent exits. */
  endAll: () => void;
}

const SOCKET_DIR = '/tmp/m3lab';
const MAX_DETACHED = 200;

export const socketPath = (session: string) => path.join(SOCKET_DIR, `agent-${session}.sock`);

let current: Channel | undefined;
let nextSeq = 1;
let detachedSince: number | undefined;
let graceTimer: NodeJS.Timeout | undefined;
const detached: DetachedAnswer[] = [];
let ending = false;

/** The channel answers go to now (undefined while detached). */
export function currentChannel(): Channel | undefined {
  return current;
}

/** An answer whose link is gone: kept to be reported to the next link. */
export function noteDetached(a: DetachedAnswer): void {
  detached.push(a);
  if (detached.length > MAX_DETACHED) detached.shift();
}

/** What happened while no link was attached; taken (and forgotten) by the next hello. */
export function takeDetached(): { detachedMs: number; answers: DetachedAnswer[] } | undefined {
  if (current && current.seq === 1) return undefined;
  const out = { detachedMs: detachedSince === undefined ? 0 : Date.now() - detachedSince, answers: detached.splice(0) };
  detachedSince = undefined;
  return out;
}

export function endAgent(code = 0): never {
  if (!ending) {
    ending = true;
    opts?.endAll();
  }
  process.exit(code);
}

let opts: SessionOptions | undefined;

function attach(write: (line: string) => void, lines: NodeJS.ReadableStream, onReplaced: () => void): Channel {
  const ch: Channel = { seq: nextSeq++, write, live: true };
  if (current) current.live = false;
  const previous = replaceHook;
  replaceHook = onReplaced;
  previous?.();
  current = ch;
  if (graceTimer) clearTimeout(graceTimer);
  graceTimer = undefined;
  const rl = readline.createInterface({ input: lines });
  rl.on('line', (line) => {
    if (ch.live && line.trim() !== '') opts!.onLine(ch, line);
  });
  rl.on('close', () => detach(ch));
  return ch;
}
let replaceHook: (() => void) | undefined;

function detach(ch: Channel): void {
  if (current !== ch) return; // an old link, already replaced
  ch.live = false;
  current = undefined;
  if (!opts!.session || opts!.busy() === 0) endAgent(0);
  detachedSince = Date.now();
  graceTimer = setTimeout(() => endAgent(0), opts!.graceMs);
}

/** Bridges this process's stdio to a waiting agent of the session; false when there is none. */
function bridge(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(sock);
    s.once('error', () => resolve(false));
    s.once('connect', () => {
      s.removeAllListeners('error');
      s.on('error', () => process.exit(0));
      s.on('close', () => process.exit(0));
      process.stdin.pipe(s);
      s.pipe(process.stdout);
      process.stdin.on('end', () => s.end());
      resolve(true);
    });
  });
}

/**
 * The first link when the image's zygote (images/zygote.cjs) became this agent:
 * the harness's connection to it, in place of stdio.
 */
interface HandedLink {
  input: NodeJS.ReadableStream;
  write: (line: string) => void;
}

const handed = (): HandedLink | undefined => (globalThis as { m3labLink?: HandedLink }).m3labLink;

/** Serves the first link on stdio (or the zygote's connection) and, with a session, later links on the socket. */
export async function runSession(o: SessionOptions): Promise<void> {
  opts = o;
  process.on('SIGTERM', () => endAgent(0));
  const zygote = handed();
  const first = zygote ?? { input: process.stdin, write: (l: string) => process.stdout.write(l) };
  if (!o.session) {
    attach(first.write, first.input, () => {});
    return;
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(o.session)) throw new Error(`bad session id ${o.session}`);
  const sock = socketPath(o.session);
  // A zygote's agent is the node's first (a fresh restore): no agent to bridge to.
  if (!zygote && (await bridge(sock))) return;
  // A dead agent's socket file (the guest's agent was killed): take its place.
  try {
    unlinkSync(sock);
  } catch {
    // none
  }
  mkdirSync(SOCKET_DIR, { recursive: true });
  // SSH closing the link must not end the agent by a signal before it can choose.
  process.on('SIGHUP', () => {});
  process.on('SIGPIPE', () => {});
  process.stdout.on('error', () => {});
  attach(first.write, first.input, () => {});
  const server = net.createServer((s) => {
    s.on('error', () => {});
    attach(
      (l) => s.write(l),
      s,
      () => s.destroy(),
    );
  });
  const old = process.umask(0o077);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sock, () => resolve());
  });
  process.umask(old);
  process.on('exit', () => {
    try {
      unlinkSync(sock);
    } catch {
      // gone already
    }
  });
}
