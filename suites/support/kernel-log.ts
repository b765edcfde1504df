import * as allure from 'allure-js-commons';
import { scanConsole, type Finding } from '../../harness/console/scan.ts';
import type { LabNode } from '../../harness/lab/node.ts';

/**
 * Reads each node's kernel log (through the agent's /dev/kmsg reader) since a mark,
 * so a test is judged on what the kernel printed while it ran: an Oops, BUG,
 * WARNING, hung task or lockdep report fails it.
 */
export class KernelLogWatch {
  private marks = new Map<string, number>();

  constructor(private readonly nodes: () => LabNode[]) {}

  async mark(): Promise<void> {
    await Promise.all(
      this.nodes().map(async (n) => {
        this.marks.set(n.name, (await n.rpc.call('dmesgMark', {})).seq);
      }),
    );
  }

  /** Findings since the mark, with the log attached to the Allure test when there is any. */
  async findings(): Promise<{ node: string; finding: Finding }[]> {
    const out: { node: string; finding: Finding }[] = [];
    for (const n of this.nodes()) {
      const { records } = await n.rpc.call('dmesg', { since: this.marks.get(n.name) ?? -1 });
      if (records.length === 0) continue;
      const text = records.map((r) => `[${(r.usec / 1e6).toFixed(6)}] ${r.text}`).join('\n');
      await allure.attachment(`dmesg ${n.name}`, text, { contentType: 'text/plain' });
      for (const f of scanConsole(text)) out.push({ node: n.name, finding: f });
    }
    return out;
  }
}
