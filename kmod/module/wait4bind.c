// SPDX-License-Identifier: GPL-2.0
/*
 * wait4bind.c - a process waits until another one binds it (M3-IPC 1.6's
 * WAIT4BIND: the parent forks, binds the child with an admin bind, and the
 * child starts its loop once it has an endpoint).
 *
 * One wait queue for the whole module: binds are rare next to messages,
 * so a waiter woken by someone else's bind simply looks again. Every bind
 * and dvs_end bumps m3_bind_seq before the wake-up; a waiter reads the
 * sequence before it looks at its binding, so a bind between the look and
 * the sleep is never missed. The wait ends at a bind, a timeout, a signal
 * (restarted when no handler ran) or the end of the DVS, never only
 * "forever".
 */
#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/wait.h>

#include "m3ipc_internal.h"

static DECLARE_WAIT_QUEUE_HEAD(m3_bind_wq);
static atomic_t m3_bind_seq = ATOMIC_INIT(0);

/* after a bind or dvs_end: waiters look at their binding again */
void m3_bind_announce(void)
{
	smp_mb__before_atomic();	/* the binding before the sequence */
	atomic_inc(&m3_bind_seq);
	wake_up_all(&m3_bind_wq);
}

/* 0 and the binding, -ENOTCONN while unbound, -ENODEV without a DVS */
static int m3_wait4bind_look(struct m3_wait4bind *a)
{
	struct m3_getep ge = { .pid = 0 };
	int ret;

	if (!READ_ONCE(m3_dvs.initialized))
		return -ENODEV;
	ret = m3_getep(&ge);
	if (ret)
		return ret;
	a->endpoint = ge.endpoint;
	a->dcid = ge.dcid;
	a->p_nr = ge.p_nr;
	return 0;
}

int m3_wait4bind(struct m3_wait4bind *a)
{
	long left = a->timeout_ms < 0 ? MAX_SCHEDULE_TIMEOUT :
		    (long)msecs_to_jiffies(a->timeout_ms);
	int seq, ret;

	if (a->timeout_ms < -1)
		return -EINVAL;
	a->endpoint = M3_NONE;
	a->dcid = -1;
	a->p_nr = 0;
	for (;;) {
		seq = atomic_read(&m3_bind_seq);
		smp_rmb();	/* the sequence before the binding */
		ret = m3_wait4bind_look(a);
		if (ret != -ENOTCONN)
			return ret;
		if (!a->timeout_ms)
			return -EAGAIN;
		if (!left)
			return -ETIMEDOUT;
		left = wait_event_interruptible_timeout(m3_bind_wq,
				atomic_read(&m3_bind_seq) != seq, left);
		if (left < 0)	/* nothing happened: restart like any syscall */
			return a->timeout_ms < 0 ? -ERESTARTSYS : -ERESTARTNOHAND;
		if (!left) {
			/* one last look: a bind may have raced the timer */
			ret = m3_wait4bind_look(a);
			return ret == -ENOTCONN ? -ETIMEDOUT : ret;
		}
	}
}
