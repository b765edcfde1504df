// SPDX-License-Identifier: GPL-2.0
/*
 * rmt_node.c - remote nodes and their proxies: proxy_bind/unbind, node up and
 * down, the kernel's own node timeout, /proc/m3ipc/nodes and proxies
 * (rmt_internal.h).
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

#include "rmt_internal.h"

DEFINE_SPINLOCK(m3_rmt_lock);
struct m3_node m3_nodes[M3_MAX_NODES];
atomic_t m3_nr_proxies = ATOMIC_INIT(0);

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
bool m3_node_mark_down(struct m3_node *n, bool drop_proxies,
		       bool reset_sender, struct list_head *gone)
{
	bool was_up = n->state == M3_NODE_UP;

	n->downs++;
	n->state = M3_NODE_DOWN;
	if (reset_sender && n->sender && !drop_proxies)
		n->reset_sender = true;
	list_splice_init(&n->frames, gone);
	n->nr_frames = 0;
	n->nr_bytes = 0;
	if (drop_proxies) {
		/* the links live as long as the proxies that handed them over */
		m3_link_detach_locked(&n->tx_link);
		m3_link_detach_locked(&n->rx_link);
	}
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

/* admin mutex held */
static void m3_node_down_sync(int node, bool drop_proxies, bool reset_sender,
			      const char *why)
{
	struct m3_node *n = &m3_nodes[node];
	LIST_HEAD(gone);
	bool was_up;

	unsigned int downs;

	spin_lock(&m3_rmt_lock);
	was_up = m3_node_mark_down(n, drop_proxies, reset_sender, &gone);
	downs = n->downs;
	spin_unlock(&m3_rmt_lock);
	m3_free_frames(&gone);
	m3_node_unbind_all(node, -EHOSTDOWN);
	n->downs_done = downs;
	if (was_up)
		pr_info("m3ipc: node %d down (%s)\n", node, why);
}

/*
 * A link of @node closed (rmt_link.c): the node goes down as its proxy
 * would have taken it down, @reset_sender when the peer must learn it.
 */
void m3_node_link_down(int node, bool reset_sender, const char *why)
{
	mutex_lock(&m3_admin_mutex);
	m3_node_down_sync(node, false, reset_sender, why);
	mutex_unlock(&m3_admin_mutex);
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
			m3_node_down_sync(i, false, true,
					  "silent for node_timeout_ms");
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
	atomic_inc(&m3_nr_proxies);
	smp_mb__after_atomic();	/* the count before PF_EXITING: the exit hook */
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
	n->nr_bytes = 0;
	n->sender = st;
	n->receiver = rt;
	st = rt = NULL;		/* the node keeps the references */
	n->spid = a->sender_pid;
	n->rpid = a->receiver_pid;
	n->rx_payload = a->max_payload;
	n->max_payload = M3_RMT_MIN_PAYLOAD;	/* until a HELLO tells */
	n->frames_out = n->bytes_out = n->frames_in = n->bytes_in = 0;
	n->rejected = 0;
	n->link_rejected = 0;
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

	if (a->flags)
		return -EINVAL;
	mutex_lock(&m3_admin_mutex);
	ret = m3_node_arg(a->node_id);
	if (!ret && !m3_nodes[a->node_id].sender)
		ret = -ENOLINK;
	if (!ret)
		m3_node_down_sync(a->node_id, true, false, "proxy_unbind");
	mutex_unlock(&m3_admin_mutex);
	return ret;
}

int m3_node_down(struct m3_node_ref *a)
{
	bool reset;
	int ret;

	if (a->flags & ~M3_NDF_PEER_RESET)
		return -EINVAL;
	mutex_lock(&m3_admin_mutex);
	ret = m3_node_arg(a->node_id);
	if (!ret) {
		/*
		 * The peer must learn of this down (its sender's connection
		 * is reset) unless it caused it: our sender proxy, whose
		 * connection broke, or the peer's new connection (PEER_RESET).
		 */
		reset = !(a->flags & M3_NDF_PEER_RESET) &&
			READ_ONCE(m3_nodes[a->node_id].sender) != current;
		m3_node_down_sync(a->node_id, false, reset,
				  (a->flags & M3_NDF_PEER_RESET) ?
				  "the peer's sender reconnected" : "node_down");
	}
	mutex_unlock(&m3_admin_mutex);
	return ret;
}

/* the node is reachable again (a proxy saw its peer come back) */
int m3_node_up_locked(struct m3_node *n)	/* m3_rmt_lock held */
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

	if (a->flags)
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
		if (m3_node_mark_down(n, true, false, &gone))
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
			m3_node_mark_down(&m3_nodes[i], true, false, &gone);
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
	unsigned int queued, payload, link, qbytes;
	const char *path;
	unsigned long hb;
	pid_t spid, rpid;
	int i, st;

	seq_puts(m, "node_id sender_pid receiver_pid max_payload frames_out bytes_out frames_in bytes_in last_heartbeat_ms queued state rejected link_payload queued_bytes data_path\n");
	for (i = 0; i < M3_MAX_NODES; i++) {
		struct m3_node *n = &m3_nodes[i];

		spin_lock(&m3_rmt_lock);
		spid = n->sender ? n->spid : 0;
		rpid = n->rpid;
		payload = n->rx_payload;
		link = n->max_payload;
		fo = n->frames_out;
		bo = n->bytes_out;
		fi = n->frames_in;
		bi = n->bytes_in;
		hb = n->last_hb;
		queued = n->nr_frames;
		qbytes = n->nr_bytes;
		st = n->state;
		rej = n->rejected + n->link_rejected;
		path = m3_link_path(n);
		spin_unlock(&m3_rmt_lock);
		if (!spid)
			continue;
		seq_printf(m, "%d %d %d %u %llu %llu %llu %llu %u %u %s %llu %u %u %s\n",
			   i, spid, rpid, payload, fo, bo, fi, bi,
			   jiffies_to_msecs(jiffies - hb), queued,
			   m3_node_state_str(st), rej, link, qbytes, path);
	}
}
