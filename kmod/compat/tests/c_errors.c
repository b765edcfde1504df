// SPDX-License-Identifier: GPL-2.0
/*
 * c_errors - the error codes an M3-IPC 1.6 program sees: a destination or
 * source that dies, timeouts, deadlock, stale endpoints, replies nobody
 * waits for, unbound callers, bad endpoints and DCs.
 */
#include "c_tap.h"

static long parent;

static int die_soon(long ep)
{
	usleep(200 * 1000);
	return 0;
}

/* bound, but in no IPC call for a while */
static int busy(long ep)
{
	usleep(300 * 1000);
	return 0;
}

static int idle(long ep)
{
	message m;

	mnx_receive_T(parent, &m, 10000);
	return 0;
}

int main(void)
{
	message m;
	long ep, old;
	int dcid;
	pid_t pid, pid2;

	plan(15);
	dcid = make_dc("cerr", 0, 8, 0);
	parent = mnx_bind(dcid, 0);
	ok(parent == 0, "the parent binds itself (slot 0: endpoint 0)");
	memset(&m, 0, sizeof(m));

	ep = spawn_bound(dcid, 1, die_soon, &pid);
	is(mnx_sendrec_T(ep, &m, 10000), EMOLDSTDIED,
	   "sendrec to a process that exits while the caller waits: EMOLDSTDIED");
	reap(pid);
	is(mnx_send_T(ep, &m, 1000), EMOLDSTDIED, "send to a process that is gone: EMOLDSTDIED");

	ep = spawn_bound(dcid, 2, die_soon, &pid);
	is(mnx_receive_T(ep, &m, 10000), EMOLSRCDIED,
	   "receive from a process that exits while the caller waits: EMOLSRCDIED");
	reap(pid);

	is(mnx_receive_T(ANY, &m, 100), EMOLTIMEDOUT, "receive with a 100 ms timeout: EMOLTIMEDOUT");
	is(mnx_receive_T(ANY, &m, TIMEOUT_NOWAIT), EMOLAGAIN, "receive with TIMEOUT_NOWAIT: EMOLAGAIN");
	ep = spawn_bound(dcid, 3, busy, &pid);
	is(mnx_send_T(ep, &m, TIMEOUT_NOWAIT), EMOLAGAIN,
	   "send with TIMEOUT_NOWAIT to a process not receiving from us: EMOLAGAIN");
	is(mnx_reply(ep, &m), EMOLNOTREADY, "reply to a process not waiting for our reply: EMOLNOTREADY");
	reap(pid);

	is(mnx_send(parent, &m), EMOLLOCKED, "send to oneself: EMOLLOCKED");
	is(mnx_send(SELF, &m), EMOLLOCKED, "send to SELF: EMOLLOCKED");

	old = spawn_bound(dcid, 4, die_soon, &pid);
	reap(pid);
	ep = spawn_bound(dcid, 4, idle, &pid2);
	ok(ep > 0 && ep != old && _ENDPOINT_P(ep) == _ENDPOINT_P(old),
	   "slot 4 bound again gets a new endpoint");
	is(mnx_send_T(old, &m, 1000), EMOLENDPOINT, "send to the slot's old endpoint: EMOLENDPOINT");
	mnx_send_T(ep, &m, 1000);
	reap(pid2);

	is(mnx_send_T(_ENDPOINT(1, 500), &m, 1000), EMOLBADPROC,
	   "an endpoint beyond the DC's slots: EMOLBADPROC");
	is(mnx_bind(4242, 0), EMOLBADDCID, "bind to no such DC: EMOLBADDCID");

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(mnx_send_T(parent, &m, 100) == EMOLNOTBIND ? 0 : 1);
	is(reap(pid), 0, "an unbound process's send: EMOLNOTBIND");
	mnx_dc_end(dcid);
	return tap_failed;
}
