// SPDX-License-Identifier: GPL-2.0
/*
 * c_notify - the notify loop: a system process (task slot -1) notifies a
 * user process N times, each notification acknowledged with a send. A
 * user process may not notify (the original's only privilege rule);
 * notifications to a busy process coalesce into one.
 *
 *   c_notify [-n N]
 */
#include "c_tap.h"

static long iters;
static long notifier;

static int receiver(long ep)
{
	message m;
	long i, a, b;

	for (i = 0; i < iters; i++) {
		if (mnx_receive_T(ANY, &m, 10000) != OK)
			return 1;
		if (m.m_type != NOTIFY_MESSAGE || m.m_source != notifier)
			return 2;
		if (mnx_send_T(notifier, &m, 10000) != OK)
			return 3;
	}
	/* a user slot (1 >= nr_sysprocs - nr_tasks) may not notify */
	if (mnx_notify(notifier) != EMOLACCES)
		return 4;
	/* notified twice while waiting in sendrec: one notification pending */
	memset(&m, 0, sizeof(m));
	if (mnx_sendrec_T(notifier, &m, 10000) != OK)
		return 5;
	a = mnx_receive_T(ANY, &m, TIMEOUT_NOWAIT);
	if (a != OK || m.m_type != NOTIFY_MESSAGE || m.m_source != notifier)
		return 6;
	b = mnx_receive_T(ANY, &m, TIMEOUT_NOWAIT);
	return b == EMOLAGAIN ? 0 : 7;
}

int main(int argc, char **argv)
{
	message m;
	long child, rc, i;
	double t0, t1;
	int dcid;
	pid_t pid;

	iters = arg_iters(argc, argv, 20000);
	plan(7);
	/* slots -2, -1 and 0 are system processes */
	dcid = make_dc("cntf", 2, 6, 3);
	notifier = mnx_bind(dcid, -1);
	/* as in 1.6, a slot's first endpoint is the slot: -1 here, which is
	 * also EMOLPERM's value, so mnx_getep tells success from failure */
	ok(notifier == -1 && mnx_getep(getpid()) == -1,
	   "the notifier binds at task slot -1, endpoint -1");
	child = spawn_bound(dcid, 1, receiver, &pid);
	ok(child > 0, "the receiver is bound at slot 1 (a user process)");

	t0 = now();
	for (i = 0, rc = OK; i < iters && rc == OK; i++) {
		rc = mnx_notify(child);
		if (rc == OK)
			rc = mnx_receive_T(child, &m, 10000);
	}
	t1 = now();
	is(rc, OK, "%ld notifications, each acknowledged", iters);
	printf("NOTIFY: %ld notify+ack rounds in %.3f s, %.0f msg/s\n", iters,
	       t1 - t0, 2.0 * iters / (t1 - t0));

	rc = mnx_receive_T(child, &m, 10000);
	ok(rc == OK, "the receiver's request arrives");
	ok(mnx_notify(child) == OK && mnx_notify(child) == OK,
	   "two notifications to a process waiting for its reply");
	is(mnx_reply(child, &m), OK, "the request is answered");
	is(reap(pid), 0, "receiver: every notification from the notifier, EMOLACCES for a user's notify, two notifications coalesced into one");
	mnx_dc_end(dcid);
	return tap_failed;
}
