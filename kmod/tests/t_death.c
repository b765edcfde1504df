// SPDX-License-Identifier: GPL-2.0
/*
 * t_death - death of bound processes: every peer blocked on a process that
 * exits (exit, signal, kill -9) or is unbound wakes with the documented
 * error; slots are freed; stale endpoints; fork and exec.
 */
#include "tap.h"

static int dc, me;


static int fn_idle(void *arg)
{
	for (;;)
		pause();
	return 0;
}

static int fn_exit_soon(void *arg)
{
	msleep(kid_args[1]);
	_exit(0);
}

static int fn_send(void *arg)
{
	struct m3_msg m;

	msg_fill(&m, 1, "x");
	return m3_send(kid_args[0], &m, 10000);
}

static int fn_sendrec(void *arg)
{
	struct m3_msg m;

	msg_fill(&m, 1, "x");
	return m3_sendrec(kid_args[0], &m, 10000);
}

static int fn_receive_from(void *arg)
{
	struct m3_msg m;

	return m3_receive(kid_args[0], &m, 10000);
}

/* take one request and never answer */
static int fn_take_request(void *arg)
{
	struct m3_msg m;

	m3_rcvrqst(M3_ANY, &m, 10000);
	for (;;)
		pause();
	return 0;
}

/* a waiter W blocked on victim V; V dies by @how; W's result */
static int victim_case(kid_fn wfn, unsigned int wstate, int wpriv,
		       kid_fn vfn, int vpriv, int how)
{
	struct kid w, v;

	kid_start(&v, vpriv, vfn, NULL);
	kid_start(&w, wpriv, wfn, NULL);
	kid_go2(&v, w.ep, how == 0 ? 300 : 0);
	kid_go1(&w, v.ep);
	if (wfn == fn_sendrec && vfn == fn_take_request) {
		if (wait_state(dc, w.ep, PST_BLOCKED, M3_PST_REPLY_WAIT))
			return -9001;
	} else if (wait_state(dc, w.ep, PST_BLOCKED, wstate)) {
		return -9000;
	}
	if (how == SIGKILL || how == SIGTERM)
		kid_kill(&v, how);
	else if (how == 0)
		kid_result(&v);		/* exits by itself */
	else if (how == -1)
		m3_unbind(dc, v.ep);	/* admin unbind, v stays alive */
	if (wait_unbound(dc, v.ep))
		return -9002;
	if (how == -1)
		kid_kill(&v, SIGKILL);
	return kid_result(&w);
}

static int fn_getep(void *arg)
{
	return m3_getep(0);
}

int main(int argc, char **argv)
{
	struct m3_proc_info pi;
	struct kid k, w, v;
	struct m3_msg m;
	int ep1, ep2, ret, st, node;
	pid_t pid;

	if (argc == 3 && !strcmp(argv[1], "--exec-child")) {
		/* after exec: still bound with the same endpoint? */
		ret = m3_getep(0);
		return ret == atoi(argv[2]) ? 0 : 1;
	}

	dc = setup_dc("t_death", 4, 16, 0);
	kid_dc = dc;
	me = bind_self(dc, M3_PRIV_TASK);

	is(victim_case(fn_send, M3_PST_SENDING, M3_PRIV_TASK, fn_idle,
		       M3_PRIV_TASK, SIGKILL), -EPIPE,
	   "kill -9 destination while blocked in send: -EPIPE");
	is(victim_case(fn_send, M3_PST_SENDING, M3_PRIV_TASK, fn_idle,
		       M3_PRIV_TASK, SIGTERM), -EPIPE,
	   "SIGTERM destination while blocked in send: -EPIPE");
	is(victim_case(fn_send, M3_PST_SENDING, M3_PRIV_TASK, fn_exit_soon,
		       M3_PRIV_TASK, 0), -EPIPE,
	   "destination exits normally while blocked in send: -EPIPE");
	is(victim_case(fn_receive_from, M3_PST_RECEIVING, M3_PRIV_TASK,
		       fn_idle, M3_PRIV_TASK, SIGKILL), -ECONNRESET,
	   "kill -9 source while blocked in receive(src): -ECONNRESET");
	is(victim_case(fn_receive_from, M3_PST_RECEIVING, M3_PRIV_TASK,
		       fn_exit_soon, M3_PRIV_TASK, 0), -ECONNRESET,
	   "source exits while blocked in receive(src): -ECONNRESET");
	is(victim_case(fn_sendrec, M3_PST_SENDING, M3_PRIV_USER, fn_idle,
		       M3_PRIV_SERVER, SIGKILL), -EPIPE,
	   "kill -9 server before it took the sendrec: -EPIPE");
	is(victim_case(fn_sendrec, M3_PST_REPLY_WAIT, M3_PRIV_USER,
		       fn_take_request, M3_PRIV_SERVER, SIGKILL), -EPIPE,
	   "kill -9 server while client waits for the reply: -EPIPE");
	is(victim_case(fn_send, M3_PST_SENDING, M3_PRIV_TASK, fn_idle,
		       M3_PRIV_TASK, -1), -EPIPE,
	   "admin unbind of the destination while blocked in send: -EPIPE");
	is(victim_case(fn_receive_from, M3_PST_RECEIVING, M3_PRIV_TASK,
		       fn_idle, M3_PRIV_TASK, -1), -ECONNRESET,
	   "admin unbind of the source while blocked in receive: -ECONNRESET");

	/* a receive(ANY) is not disturbed by an unrelated death */
	kid_start(&w, M3_PRIV_TASK, fn_receive_from, NULL);
	kid_start(&v, M3_PRIV_TASK, fn_idle, NULL);
	kid_go1(&w, M3_ANY);
	kid_go(&v);
	wait_state(dc, w.ep, PST_BLOCKED, M3_PST_RECEIVING);
	kid_kill(&v, SIGKILL);
	wait_unbound(dc, v.ep);
	is(wait_state(dc, w.ep, PST_BLOCKED, M3_PST_RECEIVING), 0,
	   "receive(ANY) keeps waiting when an unrelated process dies");
	msg_fill(&m, 3, "still here");
	is(m3_send(w.ep, &m, 1000), 0, "... and still gets a message");
	is(kid_result(&w), 0, "... with result 0");

	/* the waiter itself unbound by the admin */
	kid_start(&w, M3_PRIV_TASK, fn_receive_from, NULL);
	kid_go1(&w, M3_ANY);
	wait_state(dc, w.ep, PST_BLOCKED, M3_PST_RECEIVING);
	is(m3_unbind(dc, w.ep), 0, "admin unbinds a blocked receiver");
	is(kid_result(&w), -ENOTCONN, "the blocked receiver wakes with -ENOTCONN");

	/* a queued sender that dies is dequeued */
	kid_start(&v, M3_PRIV_TASK, fn_send, NULL);
	kid_go1(&v, me);
	wait_state(dc, v.ep, PST_BLOCKED, M3_PST_SENDING);
	kid_kill(&v, SIGKILL);
	wait_unbound(dc, v.ep);
	is(m3_receive(M3_ANY, &m, 0), -EAGAIN,
	   "a dead sender's queued message is gone");

	/* slot freed, dead and stale endpoints */
	kid_start(&v, M3_PRIV_TASK, fn_idle, NULL);
	kid_go(&v);
	ep1 = v.ep;
	kid_kill(&v, SIGKILL);
	is(wait_unbound(dc, ep1), 0, "kill -9 unbinds the slot");
	m3_proc_info(dc, M3_EP_SLOT(ep1), &pi);
	is(pi.endpoint, M3_NONE, "the slot is free");
	msg_fill(&m, 1, "x");
	is(m3_send(ep1, &m, 0), -EPIPE, "send to a dead endpoint: -EPIPE");
	is(m3_receive(ep1, &m, 0), -ECONNRESET,
	   "receive from a dead endpoint: -ECONNRESET");
	kid_start(&v, M3_PRIV_TASK, fn_idle, NULL);
	ep2 = m3_bind(dc, getpid(), M3_EP_SLOT(ep1));	/* we are bound */
	is(ep2, -EBUSY, "binding an already bound process: -EBUSY");
	m3_unbind(dc, v.ep);
	ep2 = m3_bind(dc, v.pid, M3_EP_SLOT(ep1));
	ok(ep2 > 0 && M3_EP_SLOT(ep2) == M3_EP_SLOT(ep1) && ep2 != ep1,
	   "re-bind in the same slot gives a new generation");
	v.ep = ep2;
	is(m3_send(ep1, &m, 0), -ESTALE, "old endpoint of a re-bound slot: -ESTALE");
	is(m3_notify(ep1), -ESTALE, "notify to a stale endpoint: -ESTALE");
	is(m3_unbind(dc, ep1), -ESTALE, "admin unbind of a stale endpoint: -ESTALE");
	is(m3_send(ep2, &m, 0), -EAGAIN, "the new endpoint works");
	kid_kill(&v, SIGKILL);

	/* fork: the child is not bound; exec keeps the binding */
	fflush(stdout);
	pid = fork();
	if (!pid)
		_exit(m3_getep(0) == -ENOTCONN ? 0 : 1);
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "a child after fork is not bound (-ENOTCONN)");
	is(m3_getep(0), me, "the parent is still bound after fork");

	kid_start(&k, M3_PRIV_TASK, fn_getep, NULL);
	kid_go(&k);
	is(kid_result(&k), k.ep, "a bound kid sees its endpoint");

	fflush(stdout);
	pid = fork();
	if (!pid) {
		char buf[32];

		/* wait to be bound, then exec ourselves */
		while (m3_getep(0) < 0)
			msleep(2);
		snprintf(buf, sizeof(buf), "%d", m3_getep(0));
		execl("/proc/self/exe", "t_death_exec", "--exec-child", buf,
		      (char *)NULL);
		_exit(2);
	}
	ep1 = m3_bind(dc, pid, M3_ANY_SLOT);
	ok(ep1 > 0, "bind a child that will exec");
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "after exec the process keeps its endpoint");
	is(wait_unbound(dc, ep1), 0, "and is unbound when it exits");

	/* dc_end wakes a blocked process */
	kid_start(&w, M3_PRIV_TASK, fn_receive_from, NULL);
	kid_go1(&w, M3_ANY);
	wait_state(dc, w.ep, PST_BLOCKED, M3_PST_RECEIVING);
	is(m3_dc_end(dc), 0, "dc_end with a blocked receiver");
	is(kid_result(&w), -ENOTCONN, "the receiver wakes with -ENOTCONN");
	is(m3_getep(0), -ENOTCONN, "dc_end unbound us too");

	/* dvs_end wakes a blocked process in every DC, then re-init */
	node = m3t_node_id();
	dc = setup_dc("t_death2", 0, 4, 0);
	kid_dc = dc;
	me = bind_self(dc, M3_PRIV_TASK);
	kid_start(&w, M3_PRIV_TASK, fn_sendrec, NULL);
	kid_go1(&w, me);
	wait_state(dc, w.ep, PST_BLOCKED, M3_PST_SENDING);
	is(m3_dvs_end(), 0, "dvs_end with a blocked sendrec client");
	is(kid_result(&w), -ENOTCONN, "the client wakes with -ENOTCONN");
	is(m3_dc_info(dc, &(struct m3_dc_info){ 0 }), -ENODEV,
	   "after dvs_end: -ENODEV");
	is(m3_dvs_init(node, NULL), 0, "dvs_init again");

	/* many deaths at once: 8 senders blocked on a victim */
	{
		struct kid s[8];
		int i, good = 0;

		dc = setup_dc("t_death3", 0, 16, 0);
		kid_dc = dc;
		kid_start(&v, M3_PRIV_TASK, fn_idle, NULL);
		kid_go(&v);
		for (i = 0; i < 8; i++) {
			kid_start(&s[i], M3_PRIV_TASK, i & 1 ? fn_send : fn_receive_from, NULL);
			kid_go1(&s[i], v.ep);
		}
		for (i = 0; i < 8; i++)
			wait_state(dc, s[i].ep, PST_BLOCKED,
				   i & 1 ? M3_PST_SENDING : M3_PST_RECEIVING);
		kid_kill(&v, SIGKILL);
		for (i = 0; i < 8; i++)
			good += kid_result(&s[i]) == (i & 1 ? -EPIPE : -ECONNRESET);
		is(good, 8, "8 peers blocked on one victim all woke with the right error");
		m3_dc_end(dc);
	}
	return tap_done();
}
