// SPDX-License-Identifier: GPL-2.0
/*
 * remote.c - remote IPC: nodes, proxies, remote process descriptors, the
 * frame queues of the sender proxies (get2rmt), the delivery of incoming
 * frames (put2lcl) and remote vcopy.
 *
 * Model (see README "Remote IPC"):
 *  - A remote process is a descriptor in a local slot (p->remote, no task)
 *    whose endpoint carries the remote generation. It is bound by rmtbind
 *    or automatically by the first frame that names it (put2lcl).
 *  - A local caller whose peer is remote queues a frame for the peer's node
 *    and sleeps with M3_PST_RMT set and blocked_on = the descriptor, until
 *    the answer (SEND_ACK, REPLY_MSG, COPYIN_ACK, COPYOUT_DATA) whose ack
 *    equals its request's seq arrives, or the descriptor is unbound (node
 *    down: -EHOSTDOWN).
 *  - A frame from a remote process acts for its descriptor: the descriptor
 *    is queued in the destination's caller_q / waits for its reply exactly
 *    like a local process, but has no waiter: m3_wake() turns into
 *    m3_rmt_answer(), which queues the SEND_ACK for its node.
 *  - Every send ends with a reply or a SEND_ACK, except NOTIFY.
 *
 * Locking: m3_rmt_lock (lock 3 of the order in m3ipc_internal.h) protects
 * m3_nodes[]; it is taken under dc->lock, never the other way round. Frames
 * are kmalloc'ed (small ones with GFP_ATOMIC under dc->lock, data frames
 * with GFP_KERNEL before it), so kfree() is fine anywhere.
 */
#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <linux/wait.h>

#include "m3ipc_internal.h"

struct m3_frame {
	struct list_head link;
	struct m3_rhdr hdr;
	u8 data[];
};

enum { M3_NODE_UNKNOWN, M3_NODE_UP, M3_NODE_DOWN };

/*
 * Frames queued for one sender proxy at most: requests beyond
 * M3_RMT_MAX_QUEUE are refused (-ENOBUFS); answers cannot be refused (a
 * caller waits for each), so a queue that reaches M3_RMT_MAX_FRAMES means
 * the proxy no longer drains it (its peer stopped reading): the node is
 * declared down, which frees the queue and wakes every local waiter. The
 * peer's own callers end by its node timeout: nothing reaches it either.
 */
#define M3_RMT_MAX_QUEUE	4096
#define M3_RMT_MAX_FRAMES	(2 * M3_RMT_MAX_QUEUE)

struct m3_node {
	int id;
	int state;			/* M3_NODE_* */
	struct task_struct *sender;	/* reference held, or NULL */
	struct task_struct *receiver;
	pid_t spid, rpid;
	u32 max_payload;
	struct list_head frames;	/* for the sender proxy, FIFO */
	unsigned int nr_frames;
	wait_queue_head_t wq;		/* get2rmt sleeps here */
	u64 frames_out, bytes_out, frames_in, bytes_in;
	u64 rejected;			/* reported by the receiver (RSTATS) */
	unsigned long last_hb;		/* jiffies of the last frame in */
	struct work_struct down_work;	/* unbinds descriptors after a down */
	unsigned int downs;		/* times marked down (m3_rmt_lock) */
	unsigned int downs_done;	/* ... whose descriptors were unbound
					 * (admin mutex) */
};

static DEFINE_SPINLOCK(m3_rmt_lock);
static struct m3_node m3_nodes[M3_MAX_NODES];
static atomic64_t m3_rmt_seq = ATOMIC64_INIT(0);
atomic_t m3_nr_proxies = ATOMIC_INIT(0);

static bool m3_is_request(unsigned int cmd)
{
	return cmd == M3_CMD_SEND_MSG || cmd == M3_CMD_SNDREC_MSG ||
	       cmd == M3_CMD_NTFY_MSG || cmd == M3_CMD_REPLY_MSG ||
	       cmd == M3_CMD_COPYIN_DATA || cmd == M3_CMD_COPYOUT_RQST;
}

/* what a node owes a caller there: never dropped while the node is up */
static bool m3_is_answer(unsigned int cmd)
{
	return cmd == M3_CMD_SEND_ACK || cmd == M3_CMD_COPYIN_ACK ||
	       cmd == M3_CMD_COPYOUT_DATA || cmd == M3_CMD_REPLY_MSG;
}

/* the answer a request gets when it is refused */
static unsigned int m3_refusal_cmd(unsigned int cmd)
{
	return cmd == M3_CMD_COPYIN_DATA ? M3_CMD_COPYIN_ACK :
	       cmd == M3_CMD_COPYOUT_RQST ? M3_CMD_COPYOUT_DATA :
	       M3_CMD_SEND_ACK;
}

static struct m3_frame *m3_frame_alloc(u32 len, gfp_t gfp)
{
	struct m3_frame *f = kmalloc(sizeof(*f) + len, gfp);

	if (!f)
		return NULL;
	memset(&f->hdr, 0, sizeof(f->hdr));
	INIT_LIST_HEAD(&f->link);
	f->hdr.len = len;
	return f;
}

/* fill the header of a frame sent by @src_ep; assigns its seq */
static void m3_frame_prep(struct m3_frame *f, unsigned int cmd, int dcid,
			  s32 src_ep, int priv, s32 dst_ep, int node)
{
	f->hdr.cmd = cmd;
	f->hdr.dcid = dcid;
	f->hdr.src = src_ep;
	f->hdr.priv = priv;
	f->hdr.dst = dst_ep;
	f->hdr.snode = m3_dvs.node_id;
	f->hdr.dnode = node;
	f->hdr.seq = atomic64_inc_return(&m3_rmt_seq);
	f->hdr.timestamp = ktime_get_real_ns();
}

/*
 * Queue @f for the sender proxy of @node. Any context (takes only
 * m3_rmt_lock). On error @f is freed: -ENOLINK no proxy, -EHOSTDOWN down,
 * -ENOBUFS a request while M3_RMT_MAX_QUEUE frames wait already.
 */
static bool m3_node_mark_down(struct m3_node *n, bool drop_proxies,
			      struct list_head *gone);
static void m3_free_frames(struct list_head *gone);

static int m3_queue(int node, struct m3_frame *f)
{
	struct m3_node *n;
	LIST_HEAD(gone);
	int ret = 0;

	if (node < 0 || node >= M3_MAX_NODES) {
		kfree(f);
		return -EINVAL;
	}
	n = &m3_nodes[node];
	spin_lock(&m3_rmt_lock);
	if (!n->sender)
		ret = -ENOLINK;
	else if (n->state != M3_NODE_UP)
		ret = -EHOSTDOWN;
	else if (n->nr_frames >= M3_RMT_MAX_QUEUE &&
		 m3_is_request(f->hdr.cmd))
		ret = -ENOBUFS;
	else if (n->nr_frames >= M3_RMT_MAX_FRAMES)
		ret = -ENOBUFS;
	else {
		list_add_tail(&f->link, &n->frames);
		n->nr_frames++;
		wake_up(&n->wq);
	}
	if (ret == -ENOBUFS && !m3_is_request(f->hdr.cmd)) {
		/* an answer that cannot wait: the node is not being served */
		m3_node_mark_down(n, false, &gone);
		queue_work(m3_wq, &n->down_work);
		pr_info("m3ipc: node %d down (%u frames its sender proxy does not take)\n",
			node, M3_RMT_MAX_FRAMES);
	}
	spin_unlock(&m3_rmt_lock);
	if (ret)
		kfree(f);
	m3_free_frames(&gone);
	return ret;
}

/* any context: a SEND_ACK (or another answer without payload) */
static void m3_answer(unsigned int cmd, int dcid, s32 src_ep, s32 dst_ep,
		      int node, u64 ack, int rcode, struct m3_frame *pre)
{
	struct m3_frame *f = pre ?: m3_frame_alloc(0, GFP_ATOMIC);

	if (!f)
		return;	/* the remote waiter ends with node down / timeout */
	f->hdr.len = 0;
	m3_frame_prep(f, cmd, dcid, src_ep, M3_PRIV_USER, dst_ep, node);
	f->hdr.ack = ack;
	f->hdr.rcode = rcode;
	m3_queue(node, f);
}

static int m3_ms_to_jiffies(s32 ms, long *j)
{
	if (ms == M3_TIMEOUT_FOREVER)
		*j = MAX_SCHEDULE_TIMEOUT;
	else if (ms >= 0)
		*j = ms ? max_t(long, msecs_to_jiffies(ms), 1) : 0;
	else
		return -EINVAL;
	return 0;
}

/* ---- local callers, dc->lock held ---- */

int m3_rmt_send(struct m3_dc *dc, struct m3_proc *c, struct m3_proc *dst,
		struct m3_ipc *a, bool request, long timeout)
{
	struct m3_frame *f;
	struct m3_waiter w;
	struct m3_msg *m;
	u64 seq;
	int ret;

	/* the rules that depend on dst are checked on dst's node */
	if (!request && (c->priv < M3_PRIV_KERNEL || c->priv > M3_PRIV_SERVER))
		return -EACCES;
	f = m3_frame_alloc(sizeof(*m), GFP_ATOMIC);
	if (!f)
		return -ENOMEM;
	m3_frame_prep(f, request ? M3_CMD_SNDREC_MSG : M3_CMD_SEND_MSG,
		      dc->dcid, c->endpoint, c->priv, dst->endpoint, dst->node);
	if (!timeout)
		f->hdr.flags |= M3_RF_NOWAIT;
	m = (struct m3_msg *)f->data;
	*m = a->msg;
	m->m_source = c->endpoint;
	seq = f->hdr.seq;
	ret = m3_queue(dst->node, f);
	if (ret)
		return ret;

	m3_arm(c, &w);
	c->state = M3_PST_SENDING | M3_PST_RMT |
		   (request ? M3_PST_REQUEST : 0);
	c->blocked_on = dst;
	c->rmt_seq = seq;
	/* timeout 0: the remote side answers -EAGAIN at once if it must */
	ret = m3_wait(dc, c, &w, timeout ?: MAX_SCHEDULE_TIMEOUT);
	if (!ret) {
		c->msgs_sent++;
		if (request)
			a->msg = w.msg;
	}
	return ret;
}

int m3_rmt_notify(struct m3_proc *c, struct m3_proc *dst)
{
	struct m3_frame *f;
	int ret;

	if (c->priv > M3_PRIV_KERNEL)
		return -EACCES;
	f = m3_frame_alloc(0, GFP_ATOMIC);
	if (!f)
		return -ENOMEM;
	m3_frame_prep(f, M3_CMD_NTFY_MSG, c->dc->dcid, c->endpoint, c->priv,
		      dst->endpoint, dst->node);
	ret = m3_queue(dst->node, f);
	if (!ret)
		c->msgs_sent++;
	return ret;
}

/* @dst (remote) waits for @c's reply */
int m3_rmt_reply(struct m3_proc *c, struct m3_proc *dst,
		 const struct m3_msg *msg)
{
	struct m3_frame *f;
	struct m3_msg *m;
	int ret;

	f = m3_frame_alloc(sizeof(*m), GFP_ATOMIC);
	if (!f)
		return -ENOMEM;
	m3_frame_prep(f, M3_CMD_REPLY_MSG, c->dc->dcid, c->endpoint, c->priv,
		      dst->endpoint, dst->node);
	f->hdr.ack = dst->rmt_seq;
	m = (struct m3_msg *)f->data;
	*m = *msg;
	m->m_source = c->endpoint;
	ret = m3_queue(dst->node, f);
	if (ret)
		return ret;
	m3_clear_wait(dst);
	c->msgs_sent++;
	dst->msgs_rcvd++;
	return 0;
}

/*
 * @p is a remote descriptor blocked here (sending, or waiting for a reply)
 * and its call ends with @result: clear it and tell its node. A sendrec
 * that succeeded is answered by the REPLY_MSG, not here.
 */
void m3_rmt_answer(struct m3_proc *p, int result)
{
	unsigned int st = p->state;
	struct m3_proc *peer = p->blocked_on;
	u64 seq = p->rmt_seq;

	m3_clear_wait(p);
	if (!(st & (M3_PST_SENDING | M3_PST_REPLY_WAIT)))
		return;
	if ((st & (M3_PST_REQUEST | M3_PST_REPLY_WAIT)) && !result)
		return;
	m3_answer(M3_CMD_SEND_ACK, p->dc->dcid,
		  peer ? peer->endpoint : M3_NONE, p->endpoint, p->node, seq,
		  result, NULL);
}

/*
 * Remove frames of @node matching (dcid, src or dst, seq); kfree outside.
 * By destination only requests go: an answer to a remote caller (its ACK,
 * its reply, its vcopy data) is owed whatever happens to its descriptor
 * here, or that caller would wait forever on its node.
 */
static void m3_purge(int node, int dcid, s32 src, s32 dst, u64 seq)
{
	struct m3_frame *f, *tmp;
	struct m3_node *n;
	LIST_HEAD(gone);

	if (node < 0 || node >= M3_MAX_NODES)
		return;
	n = &m3_nodes[node];
	spin_lock(&m3_rmt_lock);
	list_for_each_entry_safe(f, tmp, &n->frames, link) {
		if (f->hdr.dcid != dcid)
			continue;
		if (src != M3_NONE && (f->hdr.src != src || f->hdr.seq != seq ||
				       !m3_is_request(f->hdr.cmd)))
			continue;
		if (dst != M3_NONE &&
		    (f->hdr.dst != dst || m3_is_answer(f->hdr.cmd)))
			continue;
		list_move(&f->link, &gone);
		n->nr_frames--;
	}
	spin_unlock(&m3_rmt_lock);
	list_for_each_entry_safe(f, tmp, &gone, link)
		kfree(f);
}

/* local @p stops waiting for a remote answer: withdraw its request */
void m3_rmt_withdraw(struct m3_proc *p)
{
	if (p->blocked_on)
		m3_purge(p->blocked_on->node, p->dc->dcid, p->endpoint,
			 M3_NONE, p->rmt_seq);
}

/* remote @p is being unbound: requests still queued for it go */
void m3_rmt_purge_dst(struct m3_proc *p)
{
	m3_purge(p->node, p->dc->dcid, M3_NONE, p->endpoint, 0);
}

/* serial-number order of generations (1..M3_GEN_MAX, wrapping): a > b */
static bool m3_gen_newer(int a, int b)
{
	int d = (a - b + M3_GEN_MAX) % M3_GEN_MAX;

	return d && d < M3_GEN_MAX / 2;
}

/*
 * dc->lock held. The descriptor of remote @ep of @node: bound if the slot
 * is free (level m3_bind_level(): privilege never comes from a frame), the
 * existing one if it is the same, or a replacement of a stale remote entry:
 * only a newer generation of the same node replaces it (an older one:
 * -ESTALE, a late frame of an earlier incarnation); another node's entry
 * only by an admin (@admin, rmtbind), never by a frame (-EBUSY).
 */
static struct m3_proc *m3_rmt_bind_locked(struct m3_dc *dc, s32 ep, int node,
					  bool admin, const char *name, int *err)
{
	int gen = M3_EP_GEN(ep), slot = M3_EP_SLOT(ep);
	struct m3_proc *p;

	if (ep <= 0 || !gen || slot < -(int)dc->nr_tasks ||
	    slot >= (int)dc->nr_procs) {
		*err = -EBADSLT;
		return NULL;
	}
	if (node < 0 || node >= M3_MAX_NODES || node == m3_dvs.node_id) {
		*err = -EINVAL;
		return NULL;
	}
	if (!(dc->nodes & (1ULL << node))) {
		*err = -ENONET;
		return NULL;
	}
	p = m3_slot(dc, slot);
	if (p->task) {
		*err = -EBUSY;
		return NULL;
	}
	if (p->remote) {
		if (p->endpoint == ep && p->node == node) {
			if (name && name[0])
				strscpy(p->rname, name, sizeof(p->rname));
			return p;
		}
		if (p->node == node && !m3_gen_newer(gen, p->gen)) {
			*err = -ESTALE;
			return NULL;
		}
		if (p->node != node && !admin) {
			*err = -EBUSY;
			return NULL;
		}
		/* stale: the remote slot was re-bound or moved */
		m3_unbind_locked(p);
	}
	p->remote = true;
	p->gen = gen;
	p->endpoint = ep;
	p->node = node;
	p->pid = 0;
	p->priv = m3_bind_level(dc);
	p->state = 0;
	p->msgs_sent = 0;
	p->msgs_rcvd = 0;
	strscpy(p->rname, name && name[0] ? name : "remote", sizeof(p->rname));
	dc->nr_bound++;
	return p;
}

/* ---- admin ioctls ---- */

static struct m3_dc *m3_dc_get(int dcid)	/* admin mutex held */
{
	struct m3_dc *dc = m3_dc_lookup(dcid);

	if (dc)
		kref_get(&dc->ref);
	return dc;
}

int m3_add_node(struct m3_dc_node *a)
{
	struct m3_dc *dc;
	int ret = 0;

	if (a->node_id < 0 || a->node_id >= M3_MAX_NODES)
		return -EINVAL;
	mutex_lock(&m3_admin_mutex);
	if (!m3_dvs.initialized) {
		ret = -ENODEV;
		goto out;
	}
	dc = m3_dc_lookup(a->dcid);
	if (!dc) {
		ret = -ENXIO;
		goto out;
	}
	spin_lock(&dc->lock);
	dc->nodes |= 1ULL << a->node_id;
	spin_unlock(&dc->lock);
	m3_dvs.nodes |= 1ULL << a->node_id;
out:
	mutex_unlock(&m3_admin_mutex);
	return ret;
}

int m3_del_node(struct m3_dc_node *a)
{
	struct m3_dc *dc;
	unsigned int i;
	int ret = 0;

	if (a->node_id < 0 || a->node_id >= M3_MAX_NODES)
		return -EINVAL;
	mutex_lock(&m3_admin_mutex);
	if (!m3_dvs.initialized) {
		ret = -ENODEV;
		goto out;
	}
	dc = m3_dc_lookup(a->dcid);
	if (!dc) {
		ret = -ENXIO;
		goto out;
	}
	if (a->node_id == m3_dvs.node_id) {
		ret = -EINVAL;
		goto out;
	}
	spin_lock(&dc->lock);
	dc->nodes &= ~(1ULL << a->node_id);
	for (i = 0; i < dc->nr_slots; i++)
		if (dc->procs[i].remote && dc->procs[i].node == a->node_id)
			m3_unbind_locked(&dc->procs[i]);
	spin_unlock(&dc->lock);
out:
	mutex_unlock(&m3_admin_mutex);
	return ret;
}

int m3_rmtbind(struct m3_rmtbind *a)
{
	struct m3_proc *p;
	struct m3_dc *dc;
	int ret = 0;

	if (a->pad)
		return -EINVAL;
	a->name[sizeof(a->name) - 1] = 0;
	mutex_lock(&m3_admin_mutex);
	if (!m3_dvs.initialized) {
		ret = -ENODEV;
		goto out;
	}
	dc = m3_dc_lookup(a->dcid);
	if (!dc) {
		ret = -ENXIO;
		goto out;
	}
	spin_lock(&dc->lock);
	p = m3_rmt_bind_locked(dc, a->endpoint, a->node_id, true, a->name,
			       &ret);
	spin_unlock(&dc->lock);
out:
	mutex_unlock(&m3_admin_mutex);
	return ret;
}

/* admin mutex held: unbind every descriptor of @node, waking with @err */
static void m3_node_unbind_all(int node, int err)
{
	unsigned int i, d;

	if (!m3_dvs.initialized)
		return;
	for (d = 0; d < M3_MAX_DCS; d++) {
		struct m3_dc *dc = m3_dvs.dcs[d];

		if (!dc)
			continue;
		spin_lock(&dc->lock);
		for (i = 0; i < dc->nr_slots; i++)
			if (dc->procs[i].remote && dc->procs[i].node == node)
				m3_unbind_err_locked(&dc->procs[i], err);
		spin_unlock(&dc->lock);
	}
}

/*
 * m3_rmt_lock held: mark @n down, move its frames to @gone, optionally drop
 * its proxies. Returns whether the node was up.
 */
static bool m3_node_mark_down(struct m3_node *n, bool drop_proxies,
			      struct list_head *gone)
{
	bool was_up = n->state == M3_NODE_UP;

	n->downs++;
	n->state = M3_NODE_DOWN;
	list_splice_init(&n->frames, gone);
	n->nr_frames = 0;
	if (drop_proxies && n->sender) {
		put_task_struct(n->sender);
		put_task_struct(n->receiver);
		n->sender = NULL;
		n->receiver = NULL;
		n->spid = 0;
		n->rpid = 0;
		atomic_dec(&m3_nr_proxies);
	}
	wake_up_all(&n->wq);	/* a get2rmt sleeper rechecks */
	return was_up;
}

static void m3_free_frames(struct list_head *gone)
{
	struct m3_frame *f, *tmp;

	list_for_each_entry_safe(f, tmp, gone, link)
		kfree(f);
}

/* admin mutex held */
static void m3_node_down_sync(int node, bool drop_proxies, const char *why)
{
	struct m3_node *n = &m3_nodes[node];
	LIST_HEAD(gone);
	bool was_up;

	unsigned int downs;

	spin_lock(&m3_rmt_lock);
	was_up = m3_node_mark_down(n, drop_proxies, &gone);
	downs = n->downs;
	spin_unlock(&m3_rmt_lock);
	m3_free_frames(&gone);
	m3_node_unbind_all(node, -EHOSTDOWN);
	n->downs_done = downs;
	if (was_up)
		pr_info("m3ipc: node %d down (%s)\n", node, why);
}

static void m3_node_down_work(struct work_struct *work)
{
	struct m3_node *n = container_of(work, struct m3_node, down_work);
	unsigned int downs;

	/*
	 * By the count of downs, not the state: the node may be up again
	 * already (a new proxy bound, a HELLO), but the frames of the callers
	 * waiting then were dropped, so they must still be woken.
	 */
	mutex_lock(&m3_admin_mutex);
	spin_lock(&m3_rmt_lock);
	downs = n->downs;
	spin_unlock(&m3_rmt_lock);
	if (downs != n->downs_done) {
		m3_node_unbind_all(n->id, -EHOSTDOWN);
		n->downs_done = downs;
	}
	mutex_unlock(&m3_admin_mutex);
}

/*
 * The kernel's own heartbeat check. A node whose receiver proxy delivered
 * nothing, not even a HELLO, for node_timeout_ms is declared down here, as
 * if an admin had said node_down: a proxy pair that is stopped or wedged
 * (not dead, so the exit hook never fires) must not leave callers blocked
 * on that node. The next frame from the node (its proxies' HELLO) brings
 * it back up. Runs every M3_WATCHDOG_MS while any node has proxies.
 */
static unsigned int node_timeout_ms = 3000;
module_param(node_timeout_ms, uint, 0644);
MODULE_PARM_DESC(node_timeout_ms,
		 "declare a node down after this many ms without a frame from it (0: never)");

#define M3_WATCHDOG_MS	250

static void m3_watchdog_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(m3_watchdog, m3_watchdog_fn);

/* m3_rmt_lock held */
static bool m3_node_silent(struct m3_node *n, unsigned int ms)
{
	return ms && n->sender && n->state == M3_NODE_UP &&
	       time_after(jiffies, n->last_hb + msecs_to_jiffies(ms));
}

static void m3_watchdog_fn(struct work_struct *work)
{
	unsigned int ms = READ_ONCE(node_timeout_ms);
	bool silent, any = false;
	int i;

	for (i = 0; i < M3_MAX_NODES; i++) {
		struct m3_node *n = &m3_nodes[i];

		spin_lock(&m3_rmt_lock);
		any |= !!n->sender;
		silent = m3_node_silent(n, ms);
		spin_unlock(&m3_rmt_lock);
		if (!silent)
			continue;
		/* synchronous, so no waiter outlives the frames dropped */
		mutex_lock(&m3_admin_mutex);
		spin_lock(&m3_rmt_lock);
		silent = m3_node_silent(n, ms);
		spin_unlock(&m3_rmt_lock);
		if (silent)
			m3_node_down_sync(i, false, "silent for node_timeout_ms");
		mutex_unlock(&m3_admin_mutex);
	}
	if (any)
		queue_delayed_work(m3_wq, &m3_watchdog,
				   msecs_to_jiffies(M3_WATCHDOG_MS));
}

static int m3_node_arg(int node)
{
	if (node < 0 || node >= M3_MAX_NODES)
		return -EINVAL;
	if (!m3_dvs.initialized)
		return -ENODEV;
	if (node == m3_dvs.node_id)
		return -EINVAL;
	return 0;
}

static struct task_struct *m3_get_task(pid_t pid)
{
	struct task_struct *t;

	rcu_read_lock();
	t = pid_task(find_vpid(pid), PIDTYPE_PID);
	if (t)
		get_task_struct(t);
	rcu_read_unlock();
	return t;
}

static bool m3_is_proxy_locked(struct task_struct *t)
{
	int i;

	for (i = 0; i < M3_MAX_NODES; i++)
		if (m3_nodes[i].sender == t || m3_nodes[i].receiver == t)
			return true;
	return false;
}

int m3_proxy_bind(struct m3_proxy_bind *a)
{
	struct task_struct *st = NULL, *rt = NULL;
	struct m3_node *n;
	LIST_HEAD(gone);
	int ret;

	if (a->max_payload < M3_RMT_MIN_PAYLOAD ||
	    a->max_payload > M3_RMT_MAX_PAYLOAD || a->node_id < 0 ||
	    a->node_id >= M3_MAX_NODES || a->sender_pid <= 0 ||
	    a->receiver_pid <= 0)
		return -EINVAL;
	st = m3_get_task(a->sender_pid);
	rt = m3_get_task(a->receiver_pid);
	ret = -ESRCH;
	if (!st || !rt)
		goto out_tasks;
	ret = -EINVAL;
	if ((st->flags & PF_KTHREAD) || (rt->flags & PF_KTHREAD))
		goto out_tasks;

	mutex_lock(&m3_admin_mutex);
	ret = m3_node_arg(a->node_id);
	if (ret)
		goto out_unlock;
	n = &m3_nodes[a->node_id];
	spin_lock(&m3_rmt_lock);
	/* against the exit hook: count first, then look at PF_EXITING */
	atomic_inc(&m3_nr_proxies);
	smp_mb__after_atomic();
	if (n->sender || m3_is_proxy_locked(st) || m3_is_proxy_locked(rt))
		ret = -EBUSY;
	else if ((st->flags & PF_EXITING) || (rt->flags & PF_EXITING))
		ret = -ESRCH;
	if (ret) {
		atomic_dec(&m3_nr_proxies);
		spin_unlock(&m3_rmt_lock);
		goto out_unlock;
	}
	list_splice_init(&n->frames, &gone);
	n->nr_frames = 0;
	n->sender = st;
	n->receiver = rt;
	st = rt = NULL;		/* the node keeps the references */
	n->spid = a->sender_pid;
	n->rpid = a->receiver_pid;
	n->max_payload = a->max_payload;
	n->frames_out = n->bytes_out = n->frames_in = n->bytes_in = 0;
	n->rejected = 0;
	n->last_hb = jiffies;
	n->state = M3_NODE_UP;
	spin_unlock(&m3_rmt_lock);
	m3_dvs.nodes |= 1ULL << a->node_id;
	pr_info("m3ipc: node %d proxies bound (sender %d, receiver %d, max payload %u)\n",
		a->node_id, a->sender_pid, a->receiver_pid, a->max_payload);
	queue_delayed_work(m3_wq, &m3_watchdog, msecs_to_jiffies(M3_WATCHDOG_MS));
out_unlock:
	mutex_unlock(&m3_admin_mutex);
	m3_free_frames(&gone);
out_tasks:
	if (st)
		put_task_struct(st);
	if (rt)
		put_task_struct(rt);
	return ret;
}

int m3_proxy_unbind(struct m3_node_ref *a)
{
	int ret;

	if (a->pad)
		return -EINVAL;
	mutex_lock(&m3_admin_mutex);
	ret = m3_node_arg(a->node_id);
	if (!ret && !m3_nodes[a->node_id].sender)
		ret = -ENOLINK;
	if (!ret)
		m3_node_down_sync(a->node_id, true, "proxy_unbind");
	mutex_unlock(&m3_admin_mutex);
	return ret;
}

int m3_node_down(struct m3_node_ref *a)
{
	int ret;

	if (a->pad)
		return -EINVAL;
	mutex_lock(&m3_admin_mutex);
	ret = m3_node_arg(a->node_id);
	if (!ret)
		m3_node_down_sync(a->node_id, false, "node_down");
	mutex_unlock(&m3_admin_mutex);
	return ret;
}

/* the node is reachable again (a proxy saw its peer come back) */
static int m3_node_up_locked(struct m3_node *n)	/* m3_rmt_lock held */
{
	if (!n->sender)
		return -ENOLINK;
	n->last_hb = jiffies;
	if (n->state != M3_NODE_UP) {
		n->state = M3_NODE_UP;
		pr_info("m3ipc: node %d up\n", n->id);
	}
	return 0;
}

int m3_node_up(struct m3_node_ref *a)
{
	int ret;

	if (a->pad)
		return -EINVAL;
	mutex_lock(&m3_admin_mutex);
	ret = m3_node_arg(a->node_id);
	if (!ret) {
		spin_lock(&m3_rmt_lock);
		ret = m3_node_up_locked(&m3_nodes[a->node_id]);
		spin_unlock(&m3_rmt_lock);
	}
	mutex_unlock(&m3_admin_mutex);
	return ret;
}

/* exit hook (preemption disabled): a proxy died -> its node goes down */
void m3_rmt_task_exit(struct task_struct *task)
{
	LIST_HEAD(gone);
	int i;

	spin_lock(&m3_rmt_lock);
	for (i = 0; i < M3_MAX_NODES; i++) {
		struct m3_node *n = &m3_nodes[i];

		if (n->sender != task && n->receiver != task)
			continue;
		if (m3_node_mark_down(n, true, &gone))
			pr_info("m3ipc: node %d down (proxy %d exited)\n", i,
				task_pid_nr(task));
		queue_work(m3_wq, &n->down_work);
	}
	spin_unlock(&m3_rmt_lock);
	m3_free_frames(&gone);
}

/* admin mutex held: dvs_end / rmmod; the DCs are gone already */
void m3_rmt_dvs_end(void)
{
	LIST_HEAD(gone);
	int i;

	spin_lock(&m3_rmt_lock);
	for (i = 0; i < M3_MAX_NODES; i++)
		if (m3_nodes[i].sender || m3_nodes[i].state != M3_NODE_UNKNOWN) {
			m3_node_mark_down(&m3_nodes[i], true, &gone);
			m3_nodes[i].state = M3_NODE_UNKNOWN;
		}
	spin_unlock(&m3_rmt_lock);
	m3_free_frames(&gone);
}

void m3_rmt_init(void)
{
	int i;

	for (i = 0; i < M3_MAX_NODES; i++) {
		m3_nodes[i].id = i;
		INIT_LIST_HEAD(&m3_nodes[i].frames);
		init_waitqueue_head(&m3_nodes[i].wq);
		INIT_WORK(&m3_nodes[i].down_work, m3_node_down_work);
	}
}

/* module exit, before the workqueue goes: no proxy is left to watch */
void m3_rmt_stop(void)
{
	cancel_delayed_work_sync(&m3_watchdog);
}

/* module exit, after the workqueue was flushed: drop what is left */
void m3_rmt_exit(void)
{
	mutex_lock(&m3_admin_mutex);
	m3_rmt_dvs_end();
	mutex_unlock(&m3_admin_mutex);
}

/* ---- sender proxy: get2rmt ---- */

static int m3_my_node(bool sender)	/* m3_rmt_lock held */
{
	int i;

	for (i = 0; i < M3_MAX_NODES; i++)
		if ((sender ? m3_nodes[i].sender : m3_nodes[i].receiver) ==
		    current)
			return i;
	return -1;
}

static bool m3_g2r_ready(struct m3_node *n)
{
	return !list_empty_careful(&n->frames) || READ_ONCE(n->sender) != current;
}

int m3_get2rmt(struct m3_get2rmt *a)
{
	struct m3_frame *f = NULL;
	struct m3_node *n;
	long tmo, left;
	u32 total;
	int node, ret = 0;

	if (a->buflen < sizeof(struct m3_rhdr))
		return -EINVAL;
	ret = m3_ms_to_jiffies(a->timeout_ms, &tmo);
	if (ret)
		return ret;
	spin_lock(&m3_rmt_lock);
	node = m3_my_node(true);
	spin_unlock(&m3_rmt_lock);
	if (node < 0)
		return -EPERM;
	n = &m3_nodes[node];

	if (tmo == MAX_SCHEDULE_TIMEOUT)
		left = wait_event_interruptible(n->wq, m3_g2r_ready(n)) ?: 1;
	else if (tmo)
		left = wait_event_interruptible_timeout(n->wq,
							m3_g2r_ready(n), tmo);
	else
		left = 1;
	if (left < 0)
		return -ERESTARTSYS;	/* restarted or -EINTR, by SA_RESTART */

	spin_lock(&m3_rmt_lock);
	if (n->sender != current) {
		ret = -ENOLINK;
	} else if (list_empty(&n->frames)) {
		ret = tmo ? -ETIMEDOUT : -EAGAIN;
	} else {
		f = list_first_entry(&n->frames, struct m3_frame, link);
		total = sizeof(f->hdr) + f->hdr.len;
		if (a->buflen < total) {
			ret = -EMSGSIZE;
			f = NULL;
		} else {
			list_del(&f->link);
			n->nr_frames--;
			n->frames_out++;
			n->bytes_out += total;
		}
	}
	spin_unlock(&m3_rmt_lock);
	if (!f)
		return ret;

	if (copy_to_user(u64_to_user_ptr(a->buf), &f->hdr, sizeof(f->hdr)) ||
	    copy_to_user(u64_to_user_ptr(a->buf) + sizeof(f->hdr), f->data,
			 f->hdr.len))
		ret = -EFAULT;	/* the frame is lost: its waiter times out */
	a->len = total;
	a->node_id = node;
	kfree(f);
	return ret;
}

/* ---- receiver proxy: put2lcl ---- */

/* validate a header from the receiver proxy of @node; 0 or -EPROTO */
static int m3_hdr_check(const struct m3_rhdr *h, u32 len, u32 max_payload)
{
	if (!h->cmd || h->cmd > M3_CMD_MAX || h->cmd == M3_CMD_HELLO_ACK)
		return -EPROTO;
	if (h->len != len - sizeof(*h) || h->len > max_payload)
		return -EPROTO;
	if (h->dnode != m3_dvs.node_id)
		return -EPROTO;
	/* h->priv is not checked: it is never used (see m3_rmt_bind_locked) */
	switch (h->cmd) {
	case M3_CMD_SEND_MSG:
	case M3_CMD_SNDREC_MSG:
	case M3_CMD_REPLY_MSG:
		return h->len == sizeof(struct m3_msg) ? 0 : -EPROTO;
	case M3_CMD_COPYIN_DATA:
	case M3_CMD_COPYOUT_DATA:
		return 0;
	case M3_CMD_COPYOUT_RQST:
		return !h->len && h->count && h->count <= max_payload ?
		       0 : -EPROTO;
	default:
		return h->len ? -EPROTO : 0;
	}
}

/*
 * An errno from another node's frame: user-visible ones only (below 512:
 * the kernel's internal codes, -ERESTARTSYS and friends, must never reach
 * user space through an ioctl that returns without a signal pending).
 */
static int m3_rcode(s32 rc)
{
	return rc <= 0 && rc > -ERESTARTSYS ? rc : -EPROTO;
}

/* dc->lock held: a local process waiting for answer @h, or NULL */
static struct m3_proc *m3_answer_waiter(struct m3_dc *dc,
					const struct m3_rhdr *h)
{
	struct m3_proc *p;

	if (m3_resolve(dc, NULL, h->dst, -EPIPE, &p))
		return NULL;
	if (!(p->state & M3_PST_RMT) || p->rmt_seq != h->ack || !p->waiter)
		return NULL;
	if (!p->blocked_on || p->blocked_on->node != h->snode)
		return NULL;
	return p;
}

/* dc->lock held; @ack is a preallocated SEND_ACK (consumed or kept) */
static void m3_p2l_request(struct m3_dc *dc, const struct m3_rhdr *h,
			   struct m3_msg *m, struct m3_frame **ack)
{
	bool request = h->cmd == M3_CMD_SNDREC_MSG;
	struct m3_proc *src, *dst;
	int ret;

	src = m3_rmt_bind_locked(dc, h->src, h->snode, false, NULL, &ret);
	if (!src)
		goto answer;
	ret = m3_resolve(dc, NULL, h->dst, -EPIPE, &dst);
	if (ret)
		goto answer;
	/* a remote process has one call at a time: a new one supersedes */
	if (src->state)
		m3_clear_wait(src);
	ret = request ? m3_priv_sendrec(src, dst) : m3_priv_send(src, dst);
	if (!ret)
		ret = m3_deadlock(dc, src, dst);
	if (ret)
		goto answer;
	if (m3_accepts(dst, src, request)) {
		m3_deliver(dst, src, m);
		if (!request)
			goto answer;	/* ret 0 */
		src->state = M3_PST_REPLY_WAIT;
		src->blocked_on = dst;
		src->rmt_seq = h->seq;
		return;
	}
	if (h->flags & M3_RF_NOWAIT) {
		ret = -EAGAIN;
		goto answer;
	}
	src->msg_out = *m;
	src->state = M3_PST_SENDING | (request ? M3_PST_REQUEST : 0);
	src->blocked_on = dst;
	src->rmt_seq = h->seq;
	list_add_tail(&src->q_link, &dst->caller_q);
	return;
answer:
	m3_answer(M3_CMD_SEND_ACK, dc->dcid, h->dst, h->src, h->snode, h->seq,
		  ret, *ack);
	*ack = NULL;
}

/* dc->lock held: NTFY_MSG, REPLY_MSG, SEND_ACK, COPYIN_ACK, COPYOUT_DATA */
static int m3_p2l_other(struct m3_dc *dc, const struct m3_rhdr *h,
			void **data, struct m3_frame **ack)
{
	struct m3_proc *src = NULL, *dst;
	struct m3_msg m;
	unsigned int idx;
	int ret = 0;

	/* answers are matched by seq; their source need not be bound */
	if (h->cmd == M3_CMD_NTFY_MSG || h->cmd == M3_CMD_REPLY_MSG) {
		src = m3_rmt_bind_locked(dc, h->src, h->snode, false, NULL,
					 &ret);
		if (!src)
			return ret;
	}
	switch (h->cmd) {
	case M3_CMD_NTFY_MSG:
		ret = m3_resolve(dc, NULL, h->dst, -EPIPE, &dst);
		if (!ret)
			ret = m3_priv_notify(src, dst);
		if (ret)
			return ret;
		if (m3_accepts(dst, src, false)) {
			m3_notify_msg(&m, src);
			m3_deliver(dst, src, &m);
		} else {
			idx = m3_slot_index(src);
			if (!test_bit(idx, dst->notify_pending)) {
				set_bit(idx, dst->notify_pending);
				dst->nr_notify++;
			}
		}
		return 0;
	case M3_CMD_REPLY_MSG:
		dst = m3_answer_waiter(dc, h);
		if (!dst || !(dst->state & M3_PST_REQUEST) ||
		    dst->blocked_on != src) {
			ret = -EBADE;
		} else {
			dst->waiter->msg = *(struct m3_msg *)*data;
			dst->waiter->msg.m_source = src->endpoint;
			src->msgs_sent++;
			dst->msgs_rcvd++;
			m3_wake(dst, 0);
		}
		m3_answer(M3_CMD_SEND_ACK, dc->dcid, h->dst, h->src, h->snode,
			  h->seq, ret, *ack);
		*ack = NULL;
		return 0;
	case M3_CMD_SEND_ACK:
	case M3_CMD_COPYIN_ACK:
	case M3_CMD_COPYOUT_DATA:
		dst = m3_answer_waiter(dc, h);
		if (!dst)
			return 0;	/* nobody waits any more: dropped */
		if (h->cmd == M3_CMD_SEND_ACK) {
			if (!(dst->state & M3_PST_SENDING))
				return 0;
			if ((dst->state & M3_PST_REQUEST) && !h->rcode)
				return 0;	/* the reply follows */
		} else if (dst->state & M3_PST_SENDING) {
			return 0;
		}
		if (h->cmd == M3_CMD_COPYOUT_DATA && !h->rcode) {
			dst->waiter->rbuf = *data;
			dst->waiter->rlen = h->len;
			*data = NULL;
		}
		m3_wake(dst, m3_rcode(h->rcode));
		return 0;
	}
	return -EPROTO;
}

/* COPYIN_DATA / COPYOUT_RQST: copy to/from a local process (sleeps) */
static int m3_p2l_copy(struct m3_dc *dc, const struct m3_rhdr *h, void *data)
{
	bool in = h->cmd == M3_CMD_COPYIN_DATA;
	u32 n = in ? h->len : h->count;
	struct task_struct *t = NULL;
	struct m3_proc *dst, *src = NULL;
	struct m3_frame *f;
	int ret;

	f = m3_frame_alloc(in ? 0 : n, GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	spin_lock(&dc->lock);
	ret = dc->alive ? 0 : -ENXIO;
	if (!ret)
		src = m3_rmt_bind_locked(dc, h->src, h->snode, false, NULL, &ret);
	/* the level this node's admin gave the caller, not the frame's */
	if (!ret)
		ret = m3_priv_vcopy(src);
	if (!ret)
		ret = m3_resolve(dc, NULL, h->dst, in ? -EPIPE : -ECONNRESET,
				 &dst);
	if (!ret) {
		t = dst->task;
		get_task_struct(t);
	}
	spin_unlock(&dc->lock);

	if (!ret && h->addr + n < h->addr)
		ret = -EFAULT;
	if (!ret && in)
		ret = access_process_vm(t, h->addr, data, n, FOLL_WRITE) == n ?
		      0 : -EFAULT;
	else if (!ret)
		ret = access_process_vm(t, h->addr, f->data, n, 0) == n ?
		      0 : -EFAULT;
	if (t)
		put_task_struct(t);
	f->hdr.len = (!in && !ret) ? n : 0;
	m3_frame_prep(f, in ? M3_CMD_COPYIN_ACK : M3_CMD_COPYOUT_DATA,
		      dc->dcid, h->dst, M3_PRIV_KERNEL, h->src, h->snode);
	f->hdr.ack = h->seq;
	f->hdr.rcode = ret;
	m3_queue(h->snode, f);
	return 0;
}

int m3_put2lcl(struct m3_put2lcl *a)
{
	struct m3_frame *ack = NULL;
	struct m3_dc *dc = NULL;
	struct m3_rhdr h;
	void *data = NULL;
	struct m3_node *n;
	u32 max_payload;
	int ret;

	if (a->pad || a->len < sizeof(h))
		return -EINVAL;
	if (copy_from_user(&h, u64_to_user_ptr(a->buf), sizeof(h)))
		return -EFAULT;
	if (h.snode < 0 || h.snode >= M3_MAX_NODES)
		return -EPROTO;
	n = &m3_nodes[h.snode];
	spin_lock(&m3_rmt_lock);
	if (n->receiver != current) {
		spin_unlock(&m3_rmt_lock);
		return m3_my_node(false) < 0 ? -EPERM : -EPROTO;
	}
	if (h.cmd == M3_CMD_RSTATS) {
		/* from the receiver proxy itself, never from the wire */
		ret = 0;
		if (a->len != sizeof(h) || h.len || h.dnode != m3_dvs.node_id)
			ret = -EPROTO;
		else
			n->rejected = max(n->rejected, h.seq);
		spin_unlock(&m3_rmt_lock);
		return ret;
	}
	max_payload = n->max_payload;
	ret = m3_hdr_check(&h, a->len, max_payload);
	if (!ret) {
		n->frames_in++;
		n->bytes_in += a->len;
		n->last_hb = jiffies;
		if (h.cmd == M3_CMD_HELLO)
			ret = m3_node_up_locked(n);
	}
	spin_unlock(&m3_rmt_lock);
	if (ret || h.cmd == M3_CMD_HELLO)
		return ret;

	/*
	 * The answer first (small, never fails in practice): from here on
	 * every failure answers the request, so its caller never hangs.
	 */
	if (m3_is_request(h.cmd) && h.cmd != M3_CMD_NTFY_MSG) {
		ack = m3_frame_alloc(0, GFP_KERNEL);
		if (!ack)
			return -ENOMEM;
	}
	if (h.len) {
		data = kmalloc(h.len, GFP_KERNEL);
		if (!data) {
			ret = -ENOMEM;
			goto out;
		}
		if (copy_from_user(data, u64_to_user_ptr(a->buf) + sizeof(h),
				   h.len)) {
			ret = -EFAULT;
			goto out;
		}
	}

	mutex_lock(&m3_admin_mutex);
	dc = m3_dvs.initialized ? m3_dc_get(h.dcid) : NULL;
	mutex_unlock(&m3_admin_mutex);
	if (!dc) {
		ret = -ENXIO;
		goto out;
	}

	if (h.cmd == M3_CMD_COPYIN_DATA || h.cmd == M3_CMD_COPYOUT_RQST) {
		ret = m3_p2l_copy(dc, &h, data);
		goto out;
	}
	spin_lock(&dc->lock);
	if (!dc->alive) {
		ret = -ENXIO;
	} else if (h.cmd == M3_CMD_SEND_MSG || h.cmd == M3_CMD_SNDREC_MSG) {
		m3_p2l_request(dc, &h, data, &ack);
		ret = 0;
	} else {
		ret = m3_p2l_other(dc, &h, &data, &ack);
	}
	spin_unlock(&dc->lock);
out:
	/* a request nobody answered (DC gone or dying, no memory): refuse it */
	if (ret && ack) {
		m3_answer(m3_refusal_cmd(h.cmd), h.dcid, h.dst, h.src, h.snode,
			  h.seq, ret, ack);
		ack = NULL;
	}
	if (dc)
		m3_dc_put(dc);
	kfree(ack);
	kfree(data);
	return ret;
}

/* ---- remote vcopy (the caller's side) ---- */

/*
 * One chunk: COPYIN_DATA (@data, @n bytes to @addr of @ep) or COPYOUT_RQST
 * (@n bytes from @addr of @ep into *@rbuf, kmalloc'ed). Waits for the
 * answer; the caller is re-found under its dc->lock every time.
 */
static int m3_rvc_chunk(struct m3_dc *dc0, bool in, s32 ep, int node,
			u64 addr, u32 n, const void *data, void **rbuf,
			long timeout)
{
	struct m3_proc *c, *t;
	struct m3_waiter w;
	struct m3_frame *f;
	struct m3_dc *dc;
	u64 seq;
	int ret;

	f = m3_frame_alloc(in ? n : 0, GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	if (in)
		memcpy(f->data, data, n);
	c = m3_current_proc(&dc);
	if (IS_ERR(c)) {
		kfree(f);
		return PTR_ERR(c);
	}
	ret = dc == dc0 ? 0 : -ENOTCONN;
	if (!ret)
		ret = m3_resolve_any(dc, c, ep, in ? -EPIPE : -ECONNRESET, &t);
	if (!ret && (!t->remote || t->node != node))
		ret = -ESTALE;
	if (ret) {
		kfree(f);
		goto out;
	}
	m3_frame_prep(f, in ? M3_CMD_COPYIN_DATA : M3_CMD_COPYOUT_RQST,
		      dc->dcid, c->endpoint, c->priv, ep, node);
	f->hdr.addr = addr;
	if (!in)
		f->hdr.count = n;
	seq = f->hdr.seq;
	ret = m3_queue(node, f);
	if (ret)
		goto out;
	m3_arm(c, &w);
	c->state = M3_PST_RMT | (in ? 0 : M3_PST_RMT_SRC);
	c->blocked_on = t;
	c->rmt_seq = seq;
	ret = m3_wait(dc, c, &w, timeout);
	if (!ret && !in) {
		if (w.rlen != n) {
			ret = -EPROTO;
			kfree(w.rbuf);
		} else {
			*rbuf = w.rbuf;
		}
	} else {
		kfree(w.rbuf);
	}
out:
	m3_current_put(dc);
	return ret;
}

static int m3_local_rw(struct task_struct *t, u64 addr, void *buf, u32 n,
		       bool write)
{
	if (t == current)
		return (write ? copy_to_user(u64_to_user_ptr(addr), buf, n) :
			copy_from_user(buf, u64_to_user_ptr(addr), n)) ?
		       -EFAULT : 0;
	return access_process_vm(t, addr, buf, n, write ? FOLL_WRITE : 0) == n ?
	       0 : -EFAULT;
}

int m3_rvcopy(struct m3_vcopy *a)
{
	struct task_struct *st = NULL, *dt = NULL;
	struct m3_proc *c, *src, *dst;
	s32 s_ep, d_ep;
	int s_node = -1, d_node = -1;
	bool s_rmt, d_rmt;
	u32 chunk = M3_RMT_MAX_PAYLOAD;
	void *buf = NULL, *rbuf;
	struct m3_dc *dc;
	unsigned long deadline;
	long timeout;
	u64 done = 0;
	int ret;

	a->copied = 0;
	ret = m3_ms_to_jiffies(a->timeout_ms, &timeout);
	if (ret)
		return ret;
	deadline = jiffies + timeout;
	c = m3_current_proc(&dc);
	if (IS_ERR(c))
		return PTR_ERR(c);
	ret = m3_priv_vcopy(c);
	if (!ret && !timeout)
		ret = -EAGAIN;	/* a remote copy always waits */
	if (!ret)
		ret = m3_resolve_any(dc, c, a->src_ep, -ECONNRESET, &src);
	if (!ret)
		ret = m3_resolve_any(dc, c, a->dst_ep, -EPIPE, &dst);
	if (ret) {
		m3_current_put(dc);
		return ret;
	}
	s_rmt = src->remote;
	d_rmt = dst->remote;
	if (!s_rmt && !d_rmt) {
		/* both local now (raced with a bind): the local path */
		m3_current_put(dc);
		return m3_vcopy(a);
	}
	s_ep = src->endpoint;
	d_ep = dst->endpoint;
	if (s_rmt)
		s_node = src->node;
	else
		get_task_struct(st = src->task);
	if (d_rmt)
		d_node = dst->node;
	else
		get_task_struct(dt = dst->task);
	kref_get(&dc->ref);	/* kept across the chunks */
	m3_current_put(dc);

	spin_lock(&m3_rmt_lock);
	if (s_rmt)
		chunk = min(chunk, m3_nodes[s_node].max_payload);
	if (d_rmt)
		chunk = min(chunk, m3_nodes[d_node].max_payload);
	if ((s_rmt && !m3_nodes[s_node].sender) ||
	    (d_rmt && !m3_nodes[d_node].sender))
		ret = -ENOLINK;
	spin_unlock(&m3_rmt_lock);
	if (ret)
		goto out;
	if (a->src_addr + a->len < a->src_addr ||
	    a->dst_addr + a->len < a->dst_addr) {
		ret = -EFAULT;
		goto out;
	}
	if (!s_rmt) {
		buf = kmalloc(chunk, GFP_KERNEL);
		if (!buf) {
			ret = -ENOMEM;
			goto out;
		}
	}
	while (done < a->len) {
		u32 n = min_t(u64, chunk, a->len - done);
		long left = MAX_SCHEDULE_TIMEOUT;
		void *p;

		if (timeout != MAX_SCHEDULE_TIMEOUT) {
			left = (long)(deadline - jiffies);
			if (left <= 0) {
				ret = -ETIMEDOUT;
				break;
			}
		}
		rbuf = NULL;
		if (s_rmt) {
			ret = m3_rvc_chunk(dc, false, s_ep, s_node,
					   a->src_addr + done, n, NULL, &rbuf,
					   left);
			p = rbuf;
		} else {
			ret = m3_local_rw(st, a->src_addr + done, buf, n, false);
			p = buf;
		}
		if (!ret && d_rmt)
			ret = m3_rvc_chunk(dc, true, d_ep, d_node,
					   a->dst_addr + done, n, p, NULL,
					   left);
		else if (!ret)
			ret = m3_local_rw(dt, a->dst_addr + done, p, n, true);
		kfree(rbuf);
		if (ret)
			break;
		done += n;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
out:
	a->copied = done;
	kfree(buf);
	m3_dc_put(dc);
	if (st)
		put_task_struct(st);
	if (dt)
		put_task_struct(dt);
	return ret;
}

/* ---- /proc/m3ipc ---- */

static const char *m3_node_state_str(int st)
{
	return st == M3_NODE_UP ? "up" : st == M3_NODE_DOWN ? "down" : "unknown";
}

/* admin mutex held */
void m3_rmt_show_nodes(struct seq_file *m)
{
	int i;

	seq_puts(m, "node_id state local\n");
	for (i = 0; i < M3_MAX_NODES; i++) {
		bool local = m3_dvs.initialized && i == m3_dvs.node_id;

		if (!(m3_dvs.nodes & (1ULL << i)) && !m3_nodes[i].sender &&
		    m3_nodes[i].state == M3_NODE_UNKNOWN)
			continue;
		seq_printf(m, "%d %s %d\n", i, local ? "up" :
			   m3_node_state_str(READ_ONCE(m3_nodes[i].state)),
			   local);
	}
}

void m3_rmt_show_proxies(struct seq_file *m)
{
	u64 fo, bo, fi, bi, rej;
	unsigned int queued, payload;
	unsigned long hb;
	pid_t spid, rpid;
	int i, st;

	seq_puts(m, "node_id sender_pid receiver_pid max_payload frames_out bytes_out frames_in bytes_in last_heartbeat_ms queued state rejected\n");
	for (i = 0; i < M3_MAX_NODES; i++) {
		struct m3_node *n = &m3_nodes[i];

		spin_lock(&m3_rmt_lock);
		spid = n->sender ? n->spid : 0;
		rpid = n->rpid;
		payload = n->max_payload;
		fo = n->frames_out;
		bo = n->bytes_out;
		fi = n->frames_in;
		bi = n->bytes_in;
		hb = n->last_hb;
		queued = n->nr_frames;
		st = n->state;
		rej = n->rejected;
		spin_unlock(&m3_rmt_lock);
		if (!spid)
			continue;
		seq_printf(m, "%d %d %d %u %llu %llu %llu %llu %u %u %s %llu\n",
			   i, spid, rpid, payload, fo, bo, fi, bi,
			   jiffies_to_msecs(jiffies - hb), queued,
			   m3_node_state_str(st), rej);
	}
}
