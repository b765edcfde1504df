import type { SshEndpoint } from '../transport/ssh.ts';

/**
 * The three small interfaces every machine in a lab implements, after labgrid:
 * a test talks to a Target and never cares whether a QEMU VM or a real board is
 * behind it.
 */
export interface Power {
  /** Starts the machine; resolves once it is running (not yet booted). */
  on(): Promise<void>;
  /** Asks the machine to stop, then forces it after the grace period. */
  off(graceMs?: number): Promise<void>;
  /** Stops it at once, as pulling the plug would. */
  kill(): Promise<void>;
  isOn(): boolean;
}

export interface ConsoleLog {
  /** Serial log captured from the first byte the machine printed. */
  readonly path: string;
  text(): string;
}

export interface Target {
  readonly name: string;
  readonly kind: 'qemu' | 'board';
  readonly power: Power;
  readonly console: ConsoleLog;
  /** Where the command channel (SSH) reaches the machine. */
  readonly ssh: SshEndpoint;
  /** Address on the private inter-node LAN. */
  readonly lanAddress: string;
  /**
   * Waits until the machine says it booted (console marker for our image, SSH for
   * a board). Throws BootError on a panic or early exit, BootTimeoutError at the deadline.
   */
  waitBooted(deadline: number): Promise<void>;
  /** Resolves when the machine is gone (process exited, board powered off). */
  readonly gone: Promise<string>;
}
