// SPDX-License-Identifier: GPL-2.0
/*
 * ipc.c - send, receive, sendrec, notify, rcvrqst, reply, reply_receive.
 *
 * All IPC state lives in the slots of one DC under dc->lock. Messages are
 * copied from user space by the ioctl layer before the lock is taken and
 * back after it is dropped. A sender that cannot deliver at once queues on
 * the destination's caller_q with its message in msg_out; a receiver that
 * finds nothing sleeps with a m3_waiter on its stack, which the delivering
 * process fills in. Invariant: p->waiter != NULL <=> p->state != 0.
 */
#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/errno.h>
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/wait.h>

#include "m3ipc_internal.h"

/*
 * Test only: a planted slowdown of sendrec, the positive control of the
 * nightly's performance verdicts (suites/perf-verdicts.test.ts). Every sendrec
 * busy-waits this many microseconds before it starts, outside any lock.
 * 0 (the default) costs one test of a cold branch. Never set it outside tests.
 */
#define M3_TEST_DELAY_MAX_US 10000
static unsigned int test_sendrec_delay_us;
module_param(test_sendrec_delay_us, uint, 0644);
MODULE_PARM_DESC(test_sendrec_delay_us,
		 "TEST ONLY: busy-wait this many us at the start of every sendrec (0: off, max 10000)");

static int m3_timeout(s32 ms, long *jiffies)
{
	if (ms == M3_TIMEOUT_FOREVER)
		*jiffies = MAX_SCHEDULE_TIMEOUT;
	else if (ms >= 0)
		*jiffies = ms ? max_t(long, msecs_to_jiffies(ms), 1) : 0;
	else
		return -EINVAL;
	return 0;
}

/*
 * dc->lock held: leave every blocked state. A local process waiting for a
 * remote answer withdraws its request frames not yet taken by the sender
 * proxy (timeout, signal, death).
 */
void m3_clear_wait(struct m3_proc *p)
{
	if ((p->state & M3_PST_RMT) && !p->remote)
		m3_rmt_withdraw(p);
	if (p->state & M3_PST_SENDING)
		list_del_init(&p->q_link);
	p->state = 0;
	p->blocked_on = NULL;
	p->getfrom = NULL;
	p->waiter = NULL;
}

/*
 * M3_DCF_WAKE_AFFINE: a sync wakeup tells the scheduler the waker is about
 * to sleep (a sendrec client waits for the reply, a server goes back to
 * receive), so wake_affine() prefers the waker's CPU, where the message is
 * cache-hot, over a busy previous CPU of the woken process. The masks of
 * both are the DC's, so the choice stays within it. No exported call wakes
 * one task with WF_SYNC; a private wait queue with that task on it does.
 */
static void m3_wake_sync(struct task_struct *task)
{
	DECLARE_WAIT_QUEUE_HEAD_ONSTACK(wq);
	struct wait_queue_entry entry;

	init_waitqueue_entry(&entry, task);
	__add_wait_queue(&wq, &entry);
	__wake_up_sync(&wq, TASK_NORMAL);
}

/* dc->lock held: complete @p's blocking call with @result */
void m3_wake(struct m3_proc *p, int result)
{
	struct m3_waiter *w = p->waiter;
	struct task_struct *task;

	if (p->remote) {
		/* a remote process blocked here: answer through its proxy */
		m3_rmt_answer(p, result);
		return;
	}
	task = w->task;

	m3_clear_wait(p);
	w->result = result;
	if (READ_ONCE(w->slept))
		w->woke_ns = local_clock();
	/*
	 * Publish result/msg before done (pairs with smp_load_acquire() in
	 * m3_wait()); the waiter relocks dc->lock before it touches w again.
	 */
	smp_store_release(&w->done, true);
	if (p->dc->flags & M3_DCF_WAKE_AFFINE)
		m3_wake_sync(task);
	else
		wake_up_process(task);
}

/*
 * dc->lock held: the node whose frame can end @c's wait, for the kernel
 * links' pollers (rmt_link_rx.c): a remote answer's node, any node for a
 * receive from ANY, the node of a remote process received from.
 */
static int m3_poll_node(struct m3_proc *c)
{
	if ((c->state & M3_PST_RMT) && c->blocked_on)
		return c->blocked_on->node;
	if (c->state & M3_PST_RECEIVING) {
		if (!c->getfrom)
			return M3_POLL_ANY;
		if (c->getfrom->remote)
			return c->getfrom->node;
	}
	return M3_POLL_NONE;
}

/*
 * dc->lock held, @c->waiter == @w armed. Sleeps without the lock until the
 * call completes, the timeout expires or a signal arrives; returns with the
 * lock held and the call's result.
 */
int m3_wait(struct m3_dc *dc, struct m3_proc *c, struct m3_waiter *w,
		   long timeout)
	__must_hold(&dc->lock)
{
	bool forever = timeout == MAX_SCHEDULE_TIMEOUT;
	struct task_struct *peer = m3_spin_peer(c);
	struct m3_poller poll = {
		.link = LIST_HEAD_INIT(poll.link),
		.task = current,
		.node = m3_poll_node(c),
	};
	bool timed_out = false;

	spin_unlock(&dc->lock);
	/* a request to a node with a kernel link goes before we wait */
	m3_links_flush();
	m3_spin_wait(&w->done, peer);
	if (peer)
		put_task_struct(peer);
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		/* pairs with smp_store_release() in m3_wake() */
		if (smp_load_acquire(&w->done))
			break;
		/* a remote sendrec with timeout 0 whose request was taken */
		if (READ_ONCE(w->unbounded))
			timeout = MAX_SCHEDULE_TIMEOUT;
		if (!timeout) {
			timed_out = true;
			break;
		}
		if (signal_pending(current))
			break;
		if (!m3_poll_arm(&poll))
			continue;	/* it read a link: its call may be done */
		WRITE_ONCE(w->slept, true);
		timeout = schedule_timeout(timeout);
		/* woken for a link: its frames first (maybe our own answer) */
		m3_poll_serve(&poll);
	}
	__set_current_state(TASK_RUNNING);
	m3_poll_serve(&poll);
	if (w->done && w->slept)
		m3_spin_account(w->woke_ns);
	spin_lock(&dc->lock);
	if (!w->done) {
		/*
		 * A signal before anything happened restarts the call, so
		 * SIGSTOP/SIGCONT and SA_RESTART handlers behave as for any
		 * syscall; a bounded wait only when no handler ran (else its
		 * full timeout would start again). Once the request is out
		 * (delivered, or on its way to another node) the call cannot
		 * be repeated: -EINTR.
		 */
		int intr = forever ? -ERESTARTSYS : -ERESTARTNOHAND;

		if (c->state & (M3_PST_REPLY_WAIT | M3_PST_RMT))
			intr = -EINTR;
		/* still armed, so c is still our slot: cancel */
		m3_clear_wait(c);
		w->result = timed_out ? -ETIMEDOUT : intr;
		w->done = true;
	}
	return w->result;
}

void m3_arm(struct m3_proc *c, struct m3_waiter *w)
{
	w->task = current;
	w->done = false;
	w->result = 0;
	w->nowait = false;
	w->unbounded = false;
	w->slept = false;
	w->woke_ns = 0;
	w->rd.nr = 0;
	w->rd.want = 0;
	w->rd.got = 0;
	c->waiter = w;
}

bool m3_accepts(struct m3_proc *dst, struct m3_proc *src, bool request)
{
	if (!(dst->state & M3_PST_RECEIVING))
		return false;
	if (dst->getfrom && dst->getfrom != src)
		return false;
	if ((dst->state & M3_PST_RQST_ONLY) && !request)
		return false;
	return true;
}

/* dc->lock held, @dst is receiving and accepts @src */
void m3_deliver(struct m3_proc *dst, struct m3_proc *src,
		       const struct m3_msg *m)
{
	dst->waiter->msg = *m;
	dst->waiter->msg.m_source = src->endpoint;
	src->msgs_sent++;
	dst->msgs_rcvd++;
	dst->last_from = src;
	m3_wake(dst, 0);
}

void m3_notify_msg(struct m3_msg *m, struct m3_proc *src)
{
	memset(m, 0, sizeof(*m));
	m->m_source = src->endpoint;
	m->m_type = M3_MTYPE_NOTIFY;
}

/*
 * Would @c blocking on @dst close a cycle? Follow the chain of processes
 * blocked sending to / waiting for a reply from the next one.
 */
int m3_deadlock(struct m3_dc *dc, struct m3_proc *c,
		       struct m3_proc *dst)
{
	struct m3_proc *x = dst;
	unsigned int n;

	for (n = 0; n < dc->nr_slots; n++) {
		if (!(x->state & (M3_PST_SENDING | M3_PST_REPLY_WAIT)))
			return 0;
		x = x->blocked_on;
		if (x == c)
			return -EDEADLK;
	}
	return 0;
}

/*
 * What every blocking call checks first: its flags and padding, its
 * timeout; then the caller's slot with dc->lock held.
 */
static struct m3_proc *m3_ipc_begin(const struct m3_ipc *a, long *timeout,
				    struct m3_dc **dcp)
{
	int ret;

	if (a->flags || a->pad)
		return ERR_PTR(-EINVAL);
	ret = m3_timeout(a->timeout_ms, timeout);
	if (ret)
		return ERR_PTR(ret);
	return m3_current_proc(dcp);
}

static int m3_do_send(struct m3_ipc *a, bool request)
{
	struct m3_proc *c, *dst;
	struct m3_waiter w;
	struct m3_dc *dc;
	long timeout;
	int ret;

	c = m3_ipc_begin(a, &timeout, &dc);
	if (IS_ERR(c))
		return PTR_ERR(c);

	ret = m3_resolve_any(dc, c, a->ep, -EPIPE, &dst);
	if (ret)
		goto out;
	if (dst == c) {
		ret = -EDEADLK;
		goto out;
	}
	/* M3-IPC 1.6 servers answer a sendrec with a plain send */
	if (!request && (dc->flags & M3_DCF_COMPAT) &&
	    (dst->state & M3_PST_REPLY_WAIT) && dst->blocked_on == c) {
		if (dst->remote)
			ret = m3_rmt_reply(c, dst, &a->msg);
		else
			m3_deliver(dst, c, &a->msg);
		goto out;
	}
	if (dst->remote) {
		ret = m3_rmt_send(dc, c, dst, a, request, timeout);
		goto out;
	}
	ret = request ? m3_priv_sendrec(c, dst) : m3_priv_send(c, dst);
	if (ret)
		goto out;
	ret = m3_deadlock(dc, c, dst);
	if (ret)
		goto out;

	if (m3_accepts(dst, c, request)) {
		m3_deliver(dst, c, &a->msg);
		if (!request)
			goto out;
		/* the request is in: wait for the reply (timeout 0: forever) */
		m3_arm(c, &w);
		c->state = M3_PST_REPLY_WAIT;
		c->blocked_on = dst;
		if (!timeout)
			timeout = MAX_SCHEDULE_TIMEOUT;
	} else {
		if (!timeout) {
			ret = -EAGAIN;
			goto out;
		}
		m3_arm(c, &w);
		c->msg_out = a->msg;
		c->state = M3_PST_SENDING | (request ? M3_PST_REQUEST : 0);
		c->blocked_on = dst;
		list_add_tail(&c->q_link, &dst->caller_q);
	}
	ret = m3_wait(dc, c, &w, timeout);
	if (!ret && request)
		a->msg = w.msg;
out:
	m3_current_put(dc);
	return ret;
}

int m3_ipc_send(struct m3_ipc *a)
{
	return m3_do_send(a, false);
}

int m3_ipc_sendrec(struct m3_ipc *a)
{
	unsigned int delay = READ_ONCE(test_sendrec_delay_us);

	if (unlikely(delay))
		udelay(min_t(unsigned int, delay, M3_TEST_DELAY_MAX_US));
	return m3_do_send(a, true);
}

/*
 * dc->lock held, @c the caller's slot: receive into a->msg. Returns with the
 * lock held (m3_wait() drops it while sleeping).
 */
static int m3_receive_locked(struct m3_dc *dc, struct m3_proc *c,
			     struct m3_ipc *a, bool rqst_only, long timeout)
	__must_hold(&dc->lock)
{
	struct m3_proc *src = NULL, *x;
	struct m3_waiter w;
	unsigned int idx;
	int ret;

	ret = m3_priv_receive(c);
	if (ret)
		goto out;
	if (a->ep != M3_ANY) {
		ret = m3_resolve_any(dc, c, a->ep, -ECONNRESET, &src);
		if (ret)
			goto out;
		if (src == c) {
			ret = -EDEADLK;
			goto out;
		}
	}

	/* pending notifications first (never for rcvrqst) */
	if (!rqst_only && c->nr_notify) {
		if (src)
			idx = test_bit(m3_slot_index(src), c->notify_pending) ?
			      m3_slot_index(src) : dc->nr_slots;
		else
			idx = find_first_bit(c->notify_pending, dc->nr_slots);
		if (idx < dc->nr_slots) {
			clear_bit(idx, c->notify_pending);
			c->nr_notify--;
			m3_notify_msg(&a->msg, &dc->procs[idx]);
			c->msgs_rcvd++;
			goto out;
		}
	}

	/* then queued senders, oldest first */
	list_for_each_entry(x, &c->caller_q, q_link) {
		if (src && x != src)
			continue;
		if (rqst_only && !(x->state & M3_PST_REQUEST))
			continue;
		a->msg = x->msg_out;
		a->msg.m_source = x->endpoint;
		x->msgs_sent++;
		c->msgs_rcvd++;
		c->last_from = x;
		if (x->state & M3_PST_REQUEST) {
			/* sendrec: keep x blocked, now waiting for our reply */
			list_del_init(&x->q_link);
			x->state = M3_PST_REPLY_WAIT;
		} else {
			m3_wake(x, 0);
		}
		goto out;
	}

	if (!timeout) {
		ret = -EAGAIN;
		goto out;
	}
	m3_arm(c, &w);
	c->state = M3_PST_RECEIVING | (rqst_only ? M3_PST_RQST_ONLY : 0);
	c->getfrom = src;
	ret = m3_wait(dc, c, &w, timeout);
	if (!ret)
		a->msg = w.msg;
out:
	return ret;
}

int m3_ipc_receive(struct m3_ipc *a, bool rqst_only)
{
	struct m3_proc *c;
	struct m3_dc *dc;
	long timeout;
	int ret;

	c = m3_ipc_begin(a, &timeout, &dc);
	if (IS_ERR(c))
		return PTR_ERR(c);
	ret = m3_receive_locked(dc, c, a, rqst_only, timeout);
	m3_current_put(dc);
	return ret;
}

int m3_ipc_notify(struct m3_ipc *a)
{
	struct m3_proc *c, *dst;
	struct m3_msg m;
	struct m3_dc *dc;
	unsigned int idx;
	int ret;

	if (a->flags || a->pad)
		return -EINVAL;
	c = m3_current_proc(&dc);
	if (IS_ERR(c))
		return PTR_ERR(c);
	ret = m3_resolve_any(dc, c, a->ep, -EPIPE, &dst);
	if (ret)
		goto out;
	if (dst->remote) {
		ret = m3_rmt_notify(c, dst);
		goto out;
	}
	ret = m3_priv_notify(c, dst);
	if (ret)
		goto out;
	if (m3_accepts(dst, c, false)) {
		m3_notify_msg(&m, c);
		m3_deliver(dst, c, &m);
	} else {
		idx = m3_slot_index(c);
		if (!test_bit(idx, dst->notify_pending)) {
			set_bit(idx, dst->notify_pending);
			dst->nr_notify++;
		}
	}
out:
	m3_current_put(dc);
	return ret;
}

/* dc->lock held, @c the caller's slot: reply @m to @ep */
static int m3_reply_locked(struct m3_dc *dc, struct m3_proc *c, s32 ep,
			   const struct m3_msg *m)
	__must_hold(&dc->lock)
{
	struct m3_proc *dst;
	int ret;

	ret = m3_resolve_any(dc, c, ep, -EPIPE, &dst);
	if (ret)
		return ret;
	if (!(dst->state & M3_PST_REPLY_WAIT) || dst->blocked_on != c)
		return -EBADE;
	if (dst->remote)
		return m3_rmt_reply(c, dst, m);
	m3_deliver(dst, c, m);
	return 0;
}

int m3_ipc_reply(struct m3_ipc *a)
{
	struct m3_proc *c;
	struct m3_dc *dc;
	int ret;

	if (a->flags || a->pad)
		return -EINVAL;
	c = m3_current_proc(&dc);
	if (IS_ERR(c))
		return PTR_ERR(c);
	ret = m3_reply_locked(dc, c, a->ep, &a->msg);
	m3_current_put(dc);
	return ret;
}

/*
 * Both halves under one lookup of the caller and one hold of dc->lock:
 * the reply's wakeup is done before the receive looks at the queue.
 */
int m3_ipc_reply_rcv(struct m3_reply_rcv *a)
{
	struct m3_ipc r = { .ep = a->src };
	bool replied = false;
	struct m3_proc *c;
	struct m3_dc *dc;
	long timeout;
	int ret;

	if ((a->flags & ~(M3_RR_RCVRQST | M3_RR_REPLIED)) || a->pad)
		return -EINVAL;
	ret = m3_timeout(a->timeout_ms, &timeout);
	if (ret)
		return ret;
	c = m3_current_proc(&dc);
	if (a->reply_ep == M3_NONE) {
		a->reply_result = 0;
	} else if (!(a->flags & M3_RR_REPLIED)) {
		/* an unbound caller's reply fails as reply alone would */
		a->reply_result = IS_ERR(c) ? PTR_ERR(c) :
				  m3_reply_locked(dc, c, a->reply_ep,
						  &a->reply_msg);
		replied = true;
	}
	if (IS_ERR(c)) {
		ret = PTR_ERR(c);
	} else {
		ret = m3_receive_locked(dc, c, &r, a->flags & M3_RR_RCVRQST,
					timeout);
		m3_current_put(dc);
		a->msg = r.msg;
	}
	/*
	 * A restart repeats the ioctl with the struct copied back (always
	 * out): marked, it only receives, as receive alone would restart.
	 */
	if (ret == -ERESTARTSYS || ret == -ERESTARTNOHAND) {
		if (replied)
			a->flags |= M3_RR_REPLIED;
	} else {
		a->flags &= ~M3_RR_REPLIED;
	}
	return ret;
}
