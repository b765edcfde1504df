import type { QemuTarget } from '../qemu/qemu-target.ts';
import { sleep } from '../host/wait.ts';

/**
 * Before a silent VM is judged hung, ask it what it is doing, as syzkaller's
 * vm/ does: every vCPU's registers from QEMU (where each CPU is stuck, even
 * with interrupts off), then sysrq `l` (backtrace of all active CPUs) and `w`
 * (blocked tasks) typed on its keyboard, and whatever the console printed in
 * answer within waitMs. The console is scanned again for reports afterwards by
 * the caller. Never throws: a diagnosis that fails says why.
 */
export async function diagnoseVm(t: QemuTarget, waitMs: number): Promise<string> {
  const out: string[] = [];
  let q;
  try {
    q = await t.qmp();
  } catch (e) {
    return `QMP unavailable: ${(e as Error).message}`;
  }
  const before = t.console.text().length;
  try {
    const regs = await q.execute<string>('human-monitor-command', { 'command-line': 'info registers -a' });
    out.push('--- info registers -a ---', regs.trim());
    for (const key of ['l', 'w']) {
      await q.execute('send-key', { keys: [{ type: 'qcode', data: 'alt' }, { type: 'qcode', data: 'sysrq' }, { type: 'qcode', data: key }] });
    }
  } catch (e) {
    out.push(`QMP: ${(e as Error).message}`);
  } finally {
    q.close();
  }
  await sleep(waitMs);
  const answer = t.console.text().slice(before);
  out.push(`--- console after sysrq l and w (${answer.length} bytes in ${Math.round(waitMs / 1000)} s) ---`, answer.trim() || '(nothing: the guest did not take the keys)');
  return out.join('\n');
}
