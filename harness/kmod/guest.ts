import type { ExecResult } from '../../agent/protocol.ts';
import type { SshTransport } from '../transport/ssh.ts';
import type { KernelTree } from './build.ts';

/**
 * What installing the module needs of a machine: its name, its kernel tree, an
 * SSH link for the copy and a shell through its agent. A lab node (lab/node.ts)
 * is one; said here so this layer, which the lab uses, never imports the lab.
 */
export interface KmodGuest {
  readonly name: string;
  readonly ssh?: SshTransport;
  readonly record: { readonly kernel: KernelTree };
  sh(script: string, timeoutMs?: number): Promise<ExecResult>;
}
