// SPDX-License-Identifier: GPL-2.0
/*
 * t_rr - reply_receive (M3_IOC_REPLY_RCV): one call replies to the last
 * caller and waits for the next request. It must keep the rules of reply
 * and of receive taken apart: the same errors for the same faults, the
 * reply's failure reported beside a receive that still runs, a signal that
 * never sends the reply twice, and no wait left when a peer dies between
 * the reply and the next request.
 */
#include "tap.h"

static int dc, me;

/* the raw call, so that flags and padding can be wrong */
static int rr_raw(int reply_ep, const struct m3_msg *reply, int src,
		  struct m3_msg *m, int timeout_ms, unsigned int flags,
		  unsigned int pad, int *reply_result)
{
	struct m3_reply_rcv a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.reply_ep = reply_ep;
	a.src = src;
	a.timeout_ms = timeout_ms;
	a.flags = flags;
	a.pad = pad;
	if (reply)
		a.reply_msg = *reply;
	a.reply_result = 12345;
	ret = m3_ioctl(M3_IOC_REPLY_RCV, &a);
	if (reply_result)
		*reply_result = a.reply_result;
	if (!ret && m)
		*m = a.msg;
	return ret;
}

/* one sendrec of type kid_args[1] to kid_args[0]; the reply's type, or -errno */
static int fn_sendrec_once(void *arg)
{
	struct m3_msg m;
	int ret;

	msg_fill(&m, kid_args[1], "request");
	ret = m3_sendrec(kid_args[0], &m, 10000);
	return ret < 0 ? ret : m.m_type;
}

/* a plain send (not a request) of type kid_args[1] to kid_args[0] */
static int fn_send_once(void *arg)
{
	struct m3_msg m;

	msg_fill(&m, kid_args[1], "plain");
	return m3_send(kid_args[0], &m, 10000);
}

/* what reply_receive and receive each say (unbound, or not allowed to receive) */
static int fn_unbound(void *arg)
{
	struct m3_msg m;
	int rr, a = rr_raw(M3_NONE, NULL, M3_ANY, &m, 0, 0, 0, &rr);
	int b = m3_receive(M3_ANY, &m, 0);

	return a == b ? a : -9000;
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	got_usr1 = 1;
}

/*
 * A server in a kid: replies to kid_args[0] (M3_NONE: nobody) and waits for
 * a request with no bound, with a SA_RESTART handler for SIGUSR1; returns
 * the call's result, or the type of the request it then got.
 */
static int fn_rr_restart(void *arg)
{
	struct sigaction sa;
	struct m3_msg m;
	int ret, rr;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	msg_fill(&m, 77, "reply");
	ret = m3_reply_receive(kid_args[0], &m, M3_ANY, &m,
			       M3_TIMEOUT_FOREVER, 0, &rr);
	if (ret < 0)
		return ret;
	if (rr)
		return -8000 + rr;
	return got_usr1 ? m.m_type : -8100;
}

/*
 * A server kid: takes one request, then replies to it and waits for the
 * next in one call with no bound. Its SIGUSR1 handler has SA_RESTART when
 * kid_args[0] is 0, none when 2 (1: no handler, the parent stops and
 * continues it). Returns the call's error, or the next message's type.
 */
static int fn_rr_after_reply(void *arg)
{
	struct sigaction sa;
	struct m3_msg m;
	int ret, rr, src;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = kid_args[0] == 0 ? SA_RESTART : 0;
	if (kid_args[0] != 1)
		sigaction(SIGUSR1, &sa, NULL);
	ret = m3_receive(M3_ANY, &m, 10000);
	if (ret < 0)
		return -7000 + ret;
	src = m.m_source;
	msg_fill(&m, 77, "reply");
	ret = m3_reply_receive(src, &m, M3_ANY, &m,
			       M3_TIMEOUT_FOREVER, 0, &rr);
	if (rr)
		return -8000 + rr;
	return ret < 0 ? ret : m.m_type;
}

int main(void)
{
	struct kid a, b, k, s;
	struct m3_msg m, r;
	int ret, rr, expect;
	long t0;

	dc = setup_dc("t_rr", 4, 16, 0);
	kid_dc = dc;
	me = bind_self(dc, M3_PRIV_SERVER);
	msg_fill(&m, 5, "reply");

	/* bad arguments: refused before anything is done */
	is(rr_raw(M3_NONE, NULL, M3_ANY, &r, 0, 0x80, 0, &rr), -EINVAL,
	   "an unknown flag: -EINVAL");
	is(rr_raw(M3_NONE, NULL, M3_ANY, &r, 0, 0, 1, &rr), -EINVAL,
	   "padding not zero: -EINVAL");
	is(rr_raw(M3_NONE, NULL, M3_ANY, &r, -2, 0, 0, &rr), -EINVAL,
	   "a timeout below -1: -EINVAL");
	is(m3_ioctl(M3_IOC_REPLY_RCV, (void *)16), -EFAULT,
	   "a bad argument pointer: -EFAULT");

	/* reply to nobody: only the receive half runs */
	ret = rr_raw(M3_NONE, NULL, M3_ANY, &r, 0, 0, 0, &rr);
	ok(ret == -EAGAIN && rr == 0,
	   "reply to M3_NONE, nothing queued, timeout 0: -EAGAIN, reply_result 0 (%d, %d)",
	   ret, rr);

	/* the same refusals as reply and receive on their own */
	expect = m3_reply(me + 1000, &m);
	ret = rr_raw(me + 1000, &m, M3_ANY, &r, 0, 0, 0, &rr);
	ok(ret == -EAGAIN && rr == expect && rr < 0,
	   "reply to a slot out of range: reply_result %s as reply's, receive still runs",
	   errname(rr));
	expect = m3_receive(me + 1000, &r, 0);
	is(rr_raw(M3_NONE, NULL, me + 1000, &r, 0, 0, 0, &rr), expect,
	   "receive from a slot out of range: receive's own error");
	is(rr_raw(M3_NONE, NULL, me, &r, 0, 0, 0, &rr), -EDEADLK,
	   "receive from itself: -EDEADLK");

	kid_start(&k, M3_PRIV_TASK, fn_unbound, NULL);
	/* kid_start bound it: unbind it before it may run, so it calls unbound */
	is(m3_unbind(dc, k.ep), 0, "unbind a kid");
	kid_go(&k);
	ret = kid_result(&k);
	ok(ret == -ENOTCONN || ret == -EPERM,
	   "an unbound caller gets receive's own error (%s)", errname(ret));

	/* reply to a process that waits for no reply from us */
	kid_start(&k, M3_PRIV_TASK, fn_send_once, NULL);
	kid_go2(&k, me, 41);
	is(wait_state(dc, k.ep, PST_BLOCKED, M3_PST_SENDING), 0,
	   "a plain sender blocks in send");
	ret = rr_raw(k.ep, &m, M3_ANY, &r, 1000, M3_RR_RCVRQST, 0, &rr);
	ok(ret == -ETIMEDOUT && rr == -EBADE,
	   "reply to a plain sender: -EBADE; the rcvrqst half skips its send (%s, %s)",
	   errname(rr), errname(ret));
	ret = rr_raw(M3_NONE, NULL, M3_ANY, &r, 1000, 0, 0, &rr);
	ok(ret == 0 && r.m_type == 41 && r.m_source == k.ep,
	   "without RCVRQST the same call takes the plain send");
	is(kid_result(&k), 0, "the plain sender is done");

	/* the normal loop: reply to one caller, get the next request */
	kid_start(&a, M3_PRIV_USER, fn_sendrec_once, NULL);
	kid_start(&b, M3_PRIV_USER, fn_sendrec_once, NULL);
	kid_go2(&a, me, 10);
	is(m3_receive(M3_ANY, &r, 5000), 0, "first request received");
	ok(r.m_source == a.ep && r.m_type == 10, "from the first client");
	kid_go2(&b, me, 20);
	is(wait_state(dc, b.ep, PST_BLOCKED, M3_PST_SENDING), 0,
	   "the second client queues its request");
	msg_fill(&m, 11, "answer a");
	ret = rr_raw(a.ep, &m, M3_ANY, &r, 5000, 0, 0, &rr);
	ok(ret == 0 && rr == 0 && r.m_source == b.ep && r.m_type == 20,
	   "one call replies to the first client and takes the second request");
	is(kid_result(&a), 11, "the first client got its reply");
	msg_fill(&m, 21, "answer b");
	ret = rr_raw(b.ep, &m, M3_ANY, &r, 0, 0, 0, &rr);
	ok(ret == -EAGAIN && rr == 0,
	   "the last reply with a receive of timeout 0: -EAGAIN, the reply went");
	is(kid_result(&b), 21, "the second client got its reply");

	/* the caller dies between its request and our reply */
	kid_start(&a, M3_PRIV_USER, fn_sendrec_once, NULL);
	kid_go2(&a, me, 30);
	is(m3_receive(M3_ANY, &r, 5000), 0, "a request received");
	kid_kill(&a, SIGKILL);
	is(wait_unbound(dc, a.ep), 0, "its caller was killed and unbound");
	expect = m3_reply(a.ep, &m);
	ret = rr_raw(a.ep, &m, M3_ANY, &r, 0, 0, 0, &rr);
	ok(ret == -EAGAIN && rr == expect && rr < 0,
	   "reply to the dead caller: %s as reply's; the receive half still runs",
	   errname(rr));

	/*
	 * The caller dies between our reply and the request we wait for from
	 * it: the wait ends at its death (-ECONNRESET), not at the timeout.
	 */
	kid_start(&a, M3_PRIV_USER, fn_sendrec_once, NULL);
	kid_go2(&a, me, 40);
	is(m3_receive(M3_ANY, &r, 5000), 0, "a request received");
	t0 = now_ms();
	msg_fill(&m, 41, "last answer");
	ret = rr_raw(a.ep, &m, a.ep, &r, 8000, 0, 0, &rr);
	ok(ret == -ECONNRESET && rr == 0 && now_ms() - t0 < 6000,
	   "reply, then wait for the caller that exits: %s after %ld ms",
	   errname(ret), now_ms() - t0);
	is(kid_result(&a), 41, "the caller got the reply before it exited");

	/* a signal while nothing was replied: the call restarts */
	kid_start(&s, M3_PRIV_SERVER, fn_rr_restart, NULL);
	kid_go1(&s, M3_NONE);
	is(wait_state(dc, s.ep, PST_BLOCKED, M3_PST_RECEIVING), 0,
	   "a server waits in reply_receive (reply to nobody)");
	kill(s.pid, SIGUSR1);
	msleep(50);
	is(wait_state(dc, s.ep, PST_BLOCKED, M3_PST_RECEIVING), 0,
	   "after a SA_RESTART signal it waits again");
	msg_fill(&m, 50, "late");
	is(m3_send(s.ep, &m, 2000), 0, "a message reaches the restarted call");
	is(kid_result(&s), 50, "the restarted call returns that message");

	/*
	 * A signal after the reply went: with SA_RESTART, SIGSTOP/SIGCONT or
	 * none the call restarts without replying again; a handler without
	 * SA_RESTART makes it -EINTR. Either way the caller gets one reply.
	 */
	for (int mode = 0; mode < 3; mode++) {
		static const char *const how[] = {
			"a handler with SA_RESTART", "SIGSTOP and SIGCONT",
			"a handler without SA_RESTART" };

		kid_start(&s, M3_PRIV_SERVER, fn_rr_after_reply, NULL);
		kid_start(&a, M3_PRIV_USER, fn_sendrec_once, NULL);
		kid_go1(&s, mode);
		kid_go2(&a, s.ep, 90 + mode);
		is(kid_result(&a), 77, "%s: the caller got its reply", how[mode]);
		is(wait_state(dc, s.ep, PST_BLOCKED, M3_PST_RECEIVING), 0,
		   "%s: the server waits in the receive half", how[mode]);
		if (mode == 1) {
			kill(s.pid, SIGSTOP);
			msleep(20);
			kill(s.pid, SIGCONT);
		} else {
			kill(s.pid, SIGUSR1);
		}
		msleep(50);
		if (mode == 2) {
			is(kid_result(&s), -EINTR,
			   "%s: -EINTR, the reply's result 0", how[mode]);
			continue;
		}
		is(wait_state(dc, s.ep, PST_BLOCKED, M3_PST_RECEIVING), 0,
		   "%s: waits again", how[mode]);
		msg_fill(&m, 95, "next");
		is(m3_send(s.ep, &m, 2000), 0, "%s: a message for it", how[mode]);
		is(kid_result(&s), 95,
		   "%s: the restarted call gets it and did not reply again (reply_result 0, not -EBADE)",
		   how[mode]);
	}

	/* a reply only from the one asked; the receive half still waits */
	kid_start(&a, M3_PRIV_USER, fn_sendrec_once, NULL);
	kid_go2(&a, me, 80);
	is(m3_receive(M3_ANY, &r, 5000), 0, "a request for us");
	kid_start(&s, M3_PRIV_SERVER, fn_rr_restart, NULL);
	kid_go1(&s, a.ep);
	is(wait_state(dc, s.ep, PST_BLOCKED, M3_PST_RECEIVING), 0,
	   "another server's reply to our caller fails, its receive waits");
	msg_fill(&m, 82, "wake");
	is(m3_send(s.ep, &m, 2000), 0, "a message ends its wait");
	is(kid_result(&s), -8000 - EBADE, "its reply_result was -EBADE");
	msg_fill(&m, 81, "answer");
	is(m3_reply(a.ep, &m), 0, "the server asked replies");
	is(kid_result(&a), 81, "the caller got exactly that reply");

	/* receive's privilege rule holds for the receive half */
	kid_start(&k, M3_PRIV_USER, fn_unbound, NULL);
	kid_go(&k);
	is(kid_result(&k), -EACCES, "a USER process may not receive, in reply_receive either");

	/* killed while it waits: nothing stays bound */
	kid_start(&s, M3_PRIV_SERVER, fn_rr_restart, NULL);
	kid_go1(&s, M3_NONE);
	is(wait_state(dc, s.ep, PST_BLOCKED, M3_PST_RECEIVING), 0,
	   "a server waits in reply_receive");
	kid_kill(&s, SIGKILL);
	is(wait_unbound(dc, s.ep), 0, "killed there, it is unbound");

	is(m3_dc_end(dc), 0, "dc_end");
	return tap_done();
}
