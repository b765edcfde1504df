// SPDX-License-Identifier: GPL-2.0
/*
 * t_signals - blocking calls and signals, as for any Linux syscall: a
 * signal before anything happened restarts the call (SIGSTOP/SIGCONT, or a
 * handler with SA_RESTART on an unbounded call); a bounded call interrupted
 * by a handler returns -EINTR (restarting would start its whole timeout
 * again); a sendrec whose request was delivered is never repeated (-EINTR).
 * No kernel-internal errno (512..) ever reaches user space.
 */
#include <signal.h>

#include "tap.h"

static int dc, me;
static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	handled++;
}

static void restart_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
}

/* 0 when the message from the parent arrived, else the errno; kid_args[0]: timeout */
static int fn_receive(void *arg)
{
	struct m3_msg m;
	int ret;

	if (arg)
		restart_handler();
	ret = m3_receive(me, &m, kid_args[0]);
	if (ret)
		return ret;
	return m.m_type == 7 ? (arg ? 1000 + handled : 0) : -EPROTO;
}

static int fn_sendrec(void *arg)
{
	struct m3_msg m;

	restart_handler();
	msg_fill(&m, 9, "once");
	return m3_sendrec(me, &m, M3_TIMEOUT_FOREVER);
}

/* the process state letter of @pid ('S' sleeping, 'T' stopped) */
static char proc_state(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' ? p[2] : '?';
}

static int wait_proc_state(pid_t pid, char want)
{
	long end = now_ms() + 5000;

	while (now_ms() < end) {
		if (proc_state(pid) == want)
			return 0;
		msleep(2);
	}
	return -ETIMEDOUT;
}

/* stop and continue a kid blocked in receive; then send it the message */
static void stop_cont(const char *what, int timeout)
{
	struct m3_msg m;
	struct kid k;

	kid_start(&k, M3_PRIV_TASK, fn_receive, NULL);
	kid_go1(&k, timeout);
	is(wait_state(dc, k.ep, PST_BLOCKED, M3_PST_RECEIVING), 0, "%s: the kid blocks in receive", what);
	kill(k.pid, SIGSTOP);
	is(wait_proc_state(k.pid, 'T'), 0, "%s: SIGSTOP stops it", what);
	kill(k.pid, SIGCONT);
	is(wait_state(dc, k.ep, PST_BLOCKED, M3_PST_RECEIVING), 0,
	   "%s: after SIGCONT it is back in receive (restarted)", what);
	msg_fill(&m, 7, "after");
	is(m3_send(k.ep, &m, 5000), 0, "%s: the message is delivered", what);
	is(kid_result(&k), 0, "%s: its receive returns the message, not -EINTR", what);
}

int main(void)
{
	struct m3_msg m;
	struct kid k;

	dc = setup_dc("t_signals", 0, 16, 0);
	kid_dc = dc;
	me = bind_self(dc, M3_PRIV_TASK);

	stop_cont("receive(forever)", M3_TIMEOUT_FOREVER);
	stop_cont("receive(10 s)", 10000);

	/* a handler with SA_RESTART: the unbounded receive goes on */
	kid_start(&k, M3_PRIV_TASK, fn_receive, (void *)1);
	kid_go1(&k, M3_TIMEOUT_FOREVER);
	is(wait_state(dc, k.ep, PST_BLOCKED, M3_PST_RECEIVING), 0, "SA_RESTART: the kid blocks in receive(forever)");
	kill(k.pid, SIGUSR1);
	msleep(100);
	is(wait_state(dc, k.ep, PST_BLOCKED, M3_PST_RECEIVING), 0, "SA_RESTART: after the handler it is back in receive");
	msg_fill(&m, 7, "after");
	is(m3_send(k.ep, &m, 5000), 0, "SA_RESTART: the message is delivered");
	is(kid_result(&k), 1001, "SA_RESTART: the handler ran once and the receive got the message");

	/* ... but a bounded receive is interrupted: its timeout would start over */
	kid_start(&k, M3_PRIV_TASK, fn_receive, (void *)1);
	kid_go1(&k, 10000);
	is(wait_state(dc, k.ep, PST_BLOCKED, M3_PST_RECEIVING), 0, "SA_RESTART: the kid blocks in receive(10 s)");
	kill(k.pid, SIGUSR1);
	is(kid_result(&k), -EINTR, "SA_RESTART: a bounded receive returns -EINTR");

	/* a sendrec whose request was taken is never sent twice */
	kid_start(&k, M3_PRIV_SERVER, fn_sendrec, NULL);
	kid_go(&k);
	is(m3_rcvrqst(M3_ANY, &m, 5000), 0, "the kid's request arrives");
	is(wait_state(dc, k.ep, PST_BLOCKED, M3_PST_REPLY_WAIT), 0, "the kid waits for the reply");
	kill(k.pid, SIGUSR1);
	is(kid_result(&k), -EINTR, "a signal in the reply wait: -EINTR, even with SA_RESTART");
	is(m3_receive(M3_ANY, &m, 0), -EAGAIN, "... and the request did not come again");
	return tap_done();
}
