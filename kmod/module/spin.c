// SPDX-License-Identifier: GPL-2.0
/*
 * spin.c - adaptive spinning before a blocking call sleeps.
 *
 * A sendrec round trip costs two context switches and, with the peer on
 * another CPU, two cross-CPU wakeups. When the answer is likely to come
 * within a few microseconds (the peer is running on another CPU), spinning
 * on the completion flag for a bounded time lets the call finish without
 * sleeping, and the waker's wake_up_process() finds us running (no IPI).
 * Never on a single online CPU, never past need_resched() or a signal.
 */
#include <linux/cpumask.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/timekeeping.h>

#include "m3ipc_internal.h"

static unsigned int spin_us = 20;
module_param(spin_us, uint, 0644);
MODULE_PARM_DESC(spin_us, "microseconds a blocked call spins before sleeping (0: never)");

void m3_spin_wait(bool *done)
{
	u64 until;

	if (!spin_us || num_online_cpus() < 2)
		return;
	until = ktime_get_ns() + (u64)spin_us * NSEC_PER_USEC;
	/* pairs with smp_store_release() in m3_wake() */
	while (!smp_load_acquire(done)) {
		if (need_resched() || signal_pending(current) ||
		    ktime_get_ns() > until)
			return;
		cpu_relax();
	}
}
