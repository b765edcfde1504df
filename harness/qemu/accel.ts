import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { execa } from 'execa';
import { keepThisBoot, readThisBoot } from './host-boot-cache.ts';

export type Accel = 'kvm' | 'tcg';
export type AccelChoice = Accel | 'auto';

export interface AccelDecision {
  accel: Accel;
  reason: string;
}

/** The -cpu model that goes with each accelerator (LAB-FACTS: -cpu max has RDRAND under TCG). */
/**
 * Under TCG `max` (it has RDRAND, so the guest's entropy is ready at once) but
 * without 5-level paging: with LA57 the debug kernel's KASAN flags valid
 * direct-map addresses as wild accesses when an interrupt lands while
 * identify_boot_cpu() has the CPU's feature bits cleared (pgtable_l5_enabled()
 * reads them), a window TCG makes wide enough to hit at boot. Real x86 boards
 * rarely have LA57 either.
 */
export function cpuModel(accel: Accel): string {
  return accel === 'kvm' ? 'host' : 'max,la57=off';
}

/**
 * KVM only when a short probe boot proves it: /dev/kvm can exist and still hang a
 * guest at "Booting from ROM". The probe boots the image's kernel with no initrd;
 * a working accelerator reaches the kernel's panic and QEMU exits (-no-reboot).
 * The verdict is cached per host boot.
 */
export async function chooseAccel(choice: AccelChoice, kernel: string, stateDir: string): Promise<AccelDecision> {
  if (choice === 'tcg') return { accel: 'tcg', reason: 'asked for tcg' };
  if (choice === 'kvm') return { accel: 'kvm', reason: 'asked for kvm' };
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: '/dev/kvm is not usable' };
  }
  const cacheFile = path.join(stateDir, 'accel-probe.json');
  const cached = readThisBoot(cacheFile, z.object({ accel: z.enum(['kvm', 'tcg']), reason: z.string() }));
  if (cached) return { accel: cached.accel, reason: `${cached.reason} (probed earlier this host boot)` };
  const decision = await probeKvm(kernel);
  keepThisBoot(cacheFile, decision);
  return decision;
}

async function probeKvm(kernel: string, timeoutMs = 8000): Promise<AccelDecision> {
  const args = ['-accel', 'kvm', '-cpu', 'host', '-smp', '1', '-m', '256', '-display', 'none', '-nodefaults', '-no-reboot',
    '-serial', 'stdio', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1 loglevel=1'];
  const r = await execa('qemu-system-x86_64', args, { stdin: 'ignore', all: true, reject: false, timeout: timeoutMs, killSignal: 'SIGKILL' });
  const out = r.all ?? '';
  if (/Kernel panic/.test(out)) return { accel: 'kvm', reason: 'KVM probe boot reached the kernel' };
  return { accel: 'tcg', reason: `KVM probe boot failed (${r.exitCode === undefined ? `no kernel output in ${timeoutMs} ms` : out.trim().split('\n').pop()})` };
}
