// SPDX-License-Identifier: GPL-2.0
/*
 * t_ipc - the IPC primitives: send, receive, sendrec, rcvrqst, reply,
 * reply_receive, notify, timeouts, deadlock detection, signals.
 */
#include "tap.h"

static int dc, me;


static int chk_msg(const struct m3_msg *m, int src, int type, const char *txt)
{
	if (m->m_source != src)
		return -1001;
	if (m->m_type != type)
		return -1002;
	if (txt && strcmp((const char *)m->payload, txt))
		return -1003;
	return 0;
}

static int fn_idle(void *arg)
{
	for (;;)
		pause();
	return 0;
}

/* receive(ANY) and check it is "hello"/42 from the parent */
static int fn_recv_hello(void *arg)
{
	struct m3_msg m;
	int ret = m3_receive(M3_ANY, &m, 5000);

	return ret ? ret : chk_msg(&m, me, 42, "hello");
}

/* wait until the parent is blocked sending, then receive */
static int fn_recv_after_parent_blocks(void *arg)
{
	struct m3_msg m;
	int ret;

	ret = wait_state(dc, me, PST_BLOCKED, M3_PST_SENDING);
	if (ret)
		return -2000;
	ret = m3_receive(M3_ANY, &m, 5000);
	return ret ? ret : chk_msg(&m, me, 43, "late");
}

/* send kid_args[0] as m_type to the parent */
static int fn_send_parent(void *arg)
{
	struct m3_msg m;

	msg_fill(&m, kid_args[0], "from kid");
	m.m_source = 12345;	/* must be overwritten by the kernel */
	return m3_send(me, &m, 5000);
}

/* sendrec "ping"/1 to the parent, expect "pong"/100 */
static int fn_sendrec_ping(void *arg)
{
	struct m3_msg m;
	int ret;

	msg_fill(&m, 1, "ping");
	ret = m3_sendrec(me, &m, kid_args[0] ? kid_args[0] : 5000);
	return ret ? ret : chk_msg(&m, me, 100, "pong");
}

static int fn_reply_to(void *arg)
{
	struct m3_msg m;

	msg_fill(&m, 5, "not yours");
	return m3_reply(kid_args[0], &m);
}

static int fn_notify_parent_twice(void *arg)
{
	int a = m3_notify(me);
	int b = m3_notify(me);

	return a ? a : b;
}

static int fn_recv_notify_from_parent(void *arg)
{
	struct m3_msg m;
	int ret = m3_receive(M3_ANY, &m, 5000);

	return ret ? ret : chk_msg(&m, me, M3_MTYPE_NOTIFY, NULL);
}

/* A: send to kid_args[0] and block until it is received */
static int fn_send_to(void *arg)
{
	struct m3_msg m;

	msg_fill(&m, 9, "chain");
	return m3_send(kid_args[0], &m, 10000);
}

/*
 * wait until kid_args[0] is blocked sending, then send to kid_args[1]
 * (expect kid_args[2]: 0 = it must succeed after blocking, else that
 * errno), then receive once to unblock the one waiting on us.
 */
static int fn_chain(void *arg)
{
	struct m3_msg m;
	int ret, r2;

	if (wait_state(dc, kid_args[0], PST_BLOCKED, M3_PST_SENDING))
		return -2000;
	msg_fill(&m, 9, "chain");
	ret = m3_send(kid_args[1], &m, 10000);
	if (ret != kid_args[2])
		return ret ? ret : -2001;
	r2 = m3_receive(M3_ANY, &m, 5000);
	return r2;
}

/* pending: one notification from the parent and a plain send from
 * kid_args[0]; check the order receive hands them out */
static int fn_notify_order(void *arg)
{
	struct m3_msg m;
	int ret;

	if (m3_rcvrqst(M3_ANY, &m, 0) != -EAGAIN)
		return -4001;
	ret = m3_receive(M3_ANY, &m, 0);
	if (ret)
		return ret;
	if (chk_msg(&m, me, M3_MTYPE_NOTIFY, NULL))
		return -4002;
	ret = m3_receive(M3_ANY, &m, 0);
	if (ret)
		return ret;
	if (chk_msg(&m, kid_args[0], 9, "chain"))
		return -4003;
	if (m3_receive(M3_ANY, &m, 0) != -EAGAIN)
		return -4004;
	return 0;
}

static int fn_eintr(void *arg)
{
	struct m3_msg m;

	return m3_receive(M3_ANY, &m, 10000);
}

static void on_usr1(int sig)
{
}

/* N sendrecs, each carrying a counter the server increments */
static int fn_client_loop(void *arg)
{
	struct m3_msg m;
	int i, ret, n = kid_args[0];

	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		m.m_type = 7;
		memcpy(m.payload, &i, sizeof(i));
		ret = m3_sendrec(me, &m, 10000);
		if (ret)
			return ret;
		if (m.m_type != 8 || memcmp(m.payload, &(int){ i + 1 }, 4))
			return -3000 - i;
	}
	return 0;
}

int main(void)
{
	struct kid k, a, b, c, x;
	struct m3_msg m, r;
	struct sigaction sa;
	long t0, dt;
	int ret, i, rr;

	dc = setup_dc("t_ipc", 8, 32, 0);
	kid_dc = dc;
	me = bind_self(dc, M3_PRIV_TASK);
	is(m3_getep(0), me, "getep returns the caller's endpoint");

	/* send to a waiting receiver */
	kid_start(&k, M3_PRIV_TASK, fn_recv_hello, NULL);
	kid_go(&k);
	is(wait_state(dc, k.ep, PST_BLOCKED, M3_PST_RECEIVING), 0,
	   "receiver blocks in receive(ANY)");
	msg_fill(&m, 42, "hello");
	is(m3_send(k.ep, &m, 1000), 0, "send to a waiting receiver");
	is(kid_result(&k), 0, "receiver got the message, m_source stamped");

	/* send blocks until the receiver comes */
	kid_start(&k, M3_PRIV_TASK, fn_recv_after_parent_blocks, NULL);
	kid_go(&k);
	msg_fill(&m, 43, "late");
	is(m3_send(k.ep, &m, 5000), 0, "send blocks until received");
	is(kid_result(&k), 0, "late receiver got the queued message");

	/* queued sender, then receive with timeout 0 */
	kid_start(&k, M3_PRIV_TASK, fn_send_parent, NULL);
	kid_go1(&k, 7);
	is(wait_state(dc, k.ep, PST_BLOCKED, M3_PST_SENDING), 0,
	   "sender blocks while we are not receiving");
	ret = m3_receive(M3_ANY, &r, 0);
	is(ret, 0, "receive(ANY, no wait) takes the queued message");
	is(chk_msg(&r, k.ep, 7, "from kid"), 0,
	   "m_source is the sender's endpoint (not spoofable)");
	is(kid_result(&k), 0, "sender released with 0");

	/* receive(src) picks that sender; the rest FIFO */
	kid_start(&a, M3_PRIV_TASK, fn_send_parent, NULL);
	kid_go1(&a, 1);
	wait_state(dc, a.ep, PST_BLOCKED, M3_PST_SENDING);
	kid_start(&b, M3_PRIV_TASK, fn_send_parent, NULL);
	kid_go1(&b, 2);
	wait_state(dc, b.ep, PST_BLOCKED, M3_PST_SENDING);
	kid_start(&c, M3_PRIV_TASK, fn_send_parent, NULL);
	kid_go1(&c, 3);
	wait_state(dc, c.ep, PST_BLOCKED, M3_PST_SENDING);
	ret = m3_receive(c.ep, &r, 0);
	ok(!ret && r.m_source == c.ep && r.m_type == 3,
	   "receive(src) takes that source first");
	ret = m3_receive(M3_ANY, &r, 0);
	ok(!ret && r.m_source == a.ep && r.m_type == 1,
	   "then receive(ANY) is FIFO: first sender");
	ret = m3_receive(M3_ANY, &r, 0);
	ok(!ret && r.m_source == b.ep && r.m_type == 2,
	   "then the second sender");
	ok(!kid_result(&a) && !kid_result(&b) && !kid_result(&c),
	   "all three senders released");

	/* timeouts */
	is(m3_receive(M3_ANY, &r, 0), -EAGAIN, "receive no-wait: -EAGAIN");
	t0 = now_ms();
	ret = m3_receive(M3_ANY, &r, 200);
	dt = now_ms() - t0;
	is(ret, -ETIMEDOUT, "receive 200 ms: -ETIMEDOUT");
	/*
	 * schedule_timeout() sleeps at least n - 1 whole ticks: a 200 ms wait
	 * may end one jiffy (10 ms at HZ=100) early, and the user-space clock
	 * read around it adds its own millisecond (CI saw 189 ms).
	 */
	ok(dt >= 180 && dt < 3000, "... after about 200 ms (%ld ms)", dt);
	kid_start(&k, M3_PRIV_TASK, fn_idle, NULL);
	kid_go(&k);
	msg_fill(&m, 1, "x");
	is(m3_send(k.ep, &m, 0), -EAGAIN, "send no-wait to a non-receiver: -EAGAIN");
	t0 = now_ms();
	ret = m3_send(k.ep, &m, 150);
	dt = now_ms() - t0;
	is(ret, -ETIMEDOUT, "send 150 ms to a non-receiver: -ETIMEDOUT");
	ok(dt >= 140 && dt < 3000, "... after about 150 ms (%ld ms)", dt);
	is(wait_state(dc, me, PST_BLOCKED, 0), 0,
	   "after the timeout the sender is no longer blocked");

	/* reply never blocks and needs a waiting client */
	t0 = now_ms();
	is(m3_reply(k.ep, &m), -EBADE, "reply to a non-waiting process: -EBADE");
	ok(now_ms() - t0 < 100, "... without blocking");
	kid_kill(&k, SIGKILL);

	/* sendrec / rcvrqst / reply */
	kid_start(&c, M3_PRIV_USER, fn_sendrec_ping, NULL);
	kid_go(&c);
	ret = m3_rcvrqst(M3_ANY, &r, 5000);
	ok(!ret && !chk_msg(&r, c.ep, 1, "ping"), "rcvrqst gets the request");
	is(wait_state(dc, c.ep, PST_BLOCKED, M3_PST_REPLY_WAIT), 0,
	   "client waits for the reply");
	msg_fill(&m, 100, "pong");
	is(m3_reply(c.ep, &m), 0, "reply to the waiting client");
	is(kid_result(&c), 0, "client got the reply");
	is(m3_reply(c.ep, &m), -EPIPE, "reply to a client that has exited: -EPIPE");

	/* rcvrqst only takes sendrec requests */
	kid_start(&a, M3_PRIV_TASK, fn_send_parent, NULL);
	kid_go1(&a, 11);
	wait_state(dc, a.ep, PST_BLOCKED, M3_PST_SENDING);
	is(m3_rcvrqst(M3_ANY, &r, 0), -EAGAIN,
	   "rcvrqst ignores a plain send (no-wait: -EAGAIN)");
	kid_start(&b, M3_PRIV_USER, fn_sendrec_ping, NULL);
	kid_go(&b);
	wait_state(dc, b.ep, PST_BLOCKED, M3_PST_SENDING);
	ret = m3_rcvrqst(M3_ANY, &r, 0);
	ok(!ret && r.m_source == b.ep, "rcvrqst takes the sendrec behind the plain send");
	ret = m3_receive(M3_ANY, &r, 0);
	ok(!ret && r.m_source == a.ep && r.m_type == 11,
	   "receive still gets the plain send");
	msg_fill(&m, 100, "pong");
	is(m3_reply(b.ep, &m), 0, "reply to the sendrec client");
	ok(!kid_result(&a) && !kid_result(&b), "both released");

	/* reply only by the server the client waits for */
	kid_start(&c, M3_PRIV_USER, fn_sendrec_ping, NULL);
	kid_go(&c);
	msg_fill(&m, 100, "pong");
	wait_state(dc, c.ep, PST_BLOCKED, M3_PST_SENDING);
	is(m3_reply(c.ep, &m), -EBADE,
	   "reply before the request was received: -EBADE");
	m3_rcvrqst(M3_ANY, &r, 5000);
	kid_start(&x, M3_PRIV_TASK, fn_reply_to, NULL);
	kid_go1(&x, c.ep);
	is(kid_result(&x), -EBADE, "reply by a third process: -EBADE");
	is(m3_reply(c.ep, &m), 0, "the right server can still reply");
	is(kid_result(&c), 0, "client got the right reply");

	/* sendrec timeout while waiting for the reply */
	kid_start(&c, M3_PRIV_USER, fn_sendrec_ping, NULL);
	kid_go1(&c, 300);
	ret = m3_rcvrqst(M3_ANY, &r, 5000);
	ok(!ret && r.m_source == c.ep, "request received, not answered");
	is(kid_result(&c), -ETIMEDOUT, "sendrec times out waiting for the reply");
	is(m3_reply(c.ep, &m), -EPIPE, "late reply after the client left: -EPIPE");

	/* notify: never blocks, coalesces, is dropped when the notifier dies */
	kid_start(&k, M3_PRIV_KERNEL, fn_notify_parent_twice, NULL);
	kid_go(&k);
	is(kid_result(&k), 0, "notify twice to a non-receiver returns at once");
	is(m3_receive(M3_ANY, &r, 0), -EAGAIN,
	   "a dead notifier's pending notification is dropped");

	/* the parent (KERNEL) notifies TASK-level kids */
	m3_setpriv(dc, me, M3_PRIV_KERNEL);
	kid_start(&k, M3_PRIV_TASK, fn_recv_notify_from_parent, NULL);
	kid_go(&k);
	wait_state(dc, k.ep, PST_BLOCKED, M3_PST_RECEIVING);
	is(m3_notify(k.ep), 0, "notify a waiting receiver");
	is(kid_result(&k), 0, "receiver got NOTIFY with m_source = notifier");

	kid_start(&k, M3_PRIV_TASK, fn_notify_order, NULL);
	kid_start(&a, M3_PRIV_TASK, fn_send_to, NULL);
	kid_go1(&a, k.ep);
	wait_state(dc, a.ep, PST_BLOCKED, M3_PST_SENDING);
	t0 = now_ms();
	is(m3_notify(k.ep), 0, "notify a busy process: pending");
	is(m3_notify(k.ep), 0, "notify again: coalesced");
	ok(now_ms() - t0 < 100, "notify never blocks");
	{
		struct m3_proc_info pi;

		m3_proc_info(dc, M3_EP_SLOT(k.ep), &pi);
		is(pi.notify_pending, 1, "one pending notification");
	}
	kid_go1(&k, a.ep);
	is(kid_result(&k), 0,
	   "rcvrqst skips notifications; receive takes the notification first, once, then the message");
	is(kid_result(&a), 0, "queued sender released");
	m3_setpriv(dc, me, M3_PRIV_TASK);

	/* deadlock: A -> B while B -> A */
	kid_start(&a, M3_PRIV_TASK, fn_send_to, NULL);
	kid_start(&b, M3_PRIV_TASK, fn_chain, NULL);
	kid_go1(&a, b.ep);
	kid_go3(&b, a.ep, a.ep, -EDEADLK);
	is(kid_result(&b), 0, "B sending to A while A sends to B: -EDEADLK");
	is(kid_result(&a), 0, "A's send completed once B received");

	/* 3-cycle: A -> B -> C -> A */
	kid_start(&a, M3_PRIV_TASK, fn_send_to, NULL);
	kid_start(&b, M3_PRIV_TASK, fn_chain, NULL);
	kid_start(&c, M3_PRIV_TASK, fn_chain, NULL);
	kid_go1(&a, b.ep);
	kid_go3(&b, a.ep, c.ep, 0);
	kid_go3(&c, b.ep, a.ep, -EDEADLK);
	is(kid_result(&c), 0, "C -> A closing A -> B -> C: -EDEADLK");
	is(kid_result(&b), 0, "B's send to C completed");
	is(kid_result(&a), 0, "A's send to B completed");

	msg_fill(&m, 1, "me");
	is(m3_send(me, &m, 0), -EDEADLK, "send to own endpoint: -EDEADLK");
	is(m3_send(M3_SELF, &m, 0), -EDEADLK, "send to SELF: -EDEADLK");
	is(m3_receive(me, &r, 0), -EDEADLK, "receive from self: -EDEADLK");

	/* sendrec edge: client waits for our reply, we send to it */
	kid_start(&c, M3_PRIV_USER, fn_sendrec_ping, NULL);
	kid_go(&c);
	m3_rcvrqst(M3_ANY, &r, 5000);
	wait_state(dc, c.ep, PST_BLOCKED, M3_PST_REPLY_WAIT);
	is(m3_send(c.ep, &m, 1000), -EDEADLK,
	   "send to a client waiting for our reply: -EDEADLK");
	msg_fill(&m, 100, "pong");
	m3_reply(c.ep, &m);
	is(kid_result(&c), 0, "client still gets its reply");

	/* EINTR */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	kid_start(&k, M3_PRIV_TASK, fn_eintr, NULL);
	kid_go(&k);
	wait_state(dc, k.ep, PST_BLOCKED, M3_PST_RECEIVING);
	kill(k.pid, SIGUSR1);
	is(kid_result(&k), -EINTR, "a signal interrupts receive: -EINTR");

	/* reply_receive server loop: 4 clients x 50 sendrecs */
	{
		struct kid cl[4];
		int served = 0, bad = 0, rrbad = 0;

		for (i = 0; i < 4; i++) {
			kid_start(&cl[i], M3_PRIV_USER, fn_client_loop, NULL);
			kid_go1(&cl[i], 50);
		}
		ret = m3_rcvrqst(M3_ANY, &r, 5000);
		while (!ret) {
			int v;

			memcpy(&v, r.payload, sizeof(v));
			if (r.m_type != 7)
				bad++;
			served++;
			m.m_type = 8;
			v++;
			memcpy(m.payload, &v, sizeof(v));
			ret = m3_reply_receive(r.m_source, &m, M3_ANY, &r,
					       served < 200 ? 5000 : 300,
					       M3_RR_RCVRQST, &rr);
			if (rr)
				rrbad++;
		}
		is(ret, -ETIMEDOUT, "reply_receive loop ends when clients stop");
		is(served, 200, "served 200 requests with reply_receive");
		ok(!bad && !rrbad, "all requests well formed, all replies accepted");
		for (i = 0; i < 4; i++)
			is(kid_result(&cl[i]), 0, "client %d got 50 correct replies", i);
	}
	ret = m3_reply_receive(M3_NONE, NULL, M3_ANY, &r, 0, 0, &rr);
	ok(ret == -EAGAIN && rr == 0, "reply_receive with NONE: only receives");
	ret = m3_reply_receive(me + 1, &m, M3_ANY, &r, 0, 0, &rr);
	ok(ret == -EAGAIN && rr != 0,
	   "reply_receive: failed reply reported in reply_result (%d)", rr);

	m3_dc_end(dc);
	return tap_done();
}
