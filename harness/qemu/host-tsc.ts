import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { execaSync } from 'execa';
import { keepThisBoot, readThisBoot } from './host-boot-cache.ts';

/**
 * The host's TSC frequency in kHz, handed to TCG guests as `tsc_early_khz=`.
 *
 * Under TCG a guest's RDTSC reads the host's TSC, so its rate is the host's. Left
 * to calibrate it itself, a guest times the TSC against the emulated PIT with
 * interrupts off; on a loaded host the vCPU thread is descheduled in that window,
 * the PIT check fails ("tsc: Unable to calibrate against PIT", 6 of 6 2-vCPU
 * debug boots with a second guest booting beside them) and the kernel settles
 * for an HPET-referenced estimate, or no early TSC at all. Given the rate, every
 * guest keeps time from its first instruction whatever the host's load.
 *
 * Measured (RDTSC against CLOCK_MONOTONIC_RAW over 5 × 40 ms, median) by a tiny
 * C program, cached per host boot; undefined where that cannot be done (not
 * x86, no compiler), and the guest then calibrates as before.
 */
export function hostTscKhz(stateDir: string): number | undefined {
  if (process.arch !== 'x64') return undefined;
  const cacheFile = path.join(stateDir, 'host-tsc.json');
  const cached = readThisBoot(cacheFile, z.object({ khz: z.number().positive() }));
  if (cached && cached.khz > 0) return cached.khz;
  const khz = measure(stateDir);
  if (khz !== undefined) keepThisBoot(cacheFile, { khz });
  return khz;
}

const PROGRAM = `
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC_RAW, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
int main(void) {
	double r[5]; struct timespec d = { 0, 40 * 1000 * 1000 };
	for (int i = 0; i < 5; i++) {
		double t0 = now(); unsigned long long c0 = __rdtsc();
		nanosleep(&d, NULL);
		double t1 = now(); unsigned long long c1 = __rdtsc();
		r[i] = (c1 - c0) / (t1 - t0) / 1000.0;
	}
	qsort(r, 5, sizeof(r[0]), cmp);
	printf("%.0f\\n", r[2]);
	return 0;
}
`;

function measure(stateDir: string): number | undefined {
  const dir = path.join(stateDir, 'host-tsc');
  try {
    mkdirSync(dir, { recursive: true });
    const src = path.join(dir, 'tsc-khz.c');
    const bin = path.join(dir, `tsc-khz-${os.hostname()}`);
    writeFileSync(src, PROGRAM);
    execaSync('gcc', ['-O2', '-o', bin, src], { stdio: 'ignore', timeout: 30_000 });
    const khz = Number(execaSync(bin, [], { timeout: 10_000 }).stdout.trim());
    // A TSC slower than 100 MHz or faster than 10 GHz is a measurement gone wrong.
    return Number.isFinite(khz) && khz > 100_000 && khz < 10_000_000 ? Math.round(khz) : undefined;
  } catch {
    return undefined;
  }
}
