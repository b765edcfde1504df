// SPDX-License-Identifier: GPL-2.0
/*
 * rmt_ipc.c - remote process descriptors (rmtbind, the DC's nodes) and the calls
 * of local processes to remote ones (rmt_internal.h).
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

/*
 * The bound of a remote send/sendrec with timeout 0: how long its caller
 * waits for the remote node's first answer (kmod/docs/protocol.md, Timeouts).
 */
unsigned int rmt_nowait_ms = 2000;
module_param(rmt_nowait_ms, uint, 0644);
MODULE_PARM_DESC(rmt_nowait_ms,
		 "a remote send/sendrec with timeout 0 waits this many ms at most for the remote node's answer (then -ETIMEDOUT)");

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
	/*
	 * timeout 0: the remote node answers at once (delivered, -EAGAIN, or
	 * for a sendrec "taken", after which the reply is waited for without
	 * a bound). That answer is waited for at most rmt_nowait_ms; then
	 * -ETIMEDOUT (the request withdrawn if the sender proxy has not
	 * taken it yet).
	 */
	if (!timeout) {
		w.nowait = true;
		timeout = max_t(long, msecs_to_jiffies(READ_ONCE(rmt_nowait_ms)),
				1);
	}
	ret = m3_wait(dc, c, &w, timeout);
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
struct m3_proc *m3_rmt_bind_locked(struct m3_dc *dc, s32 ep, int node,
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
	p->rvc_win = 0;
	p->rvc_ok = 0;
	p->rvc_err = 0;
	strscpy(p->rname, name && name[0] ? name : "remote", sizeof(p->rname));
	dc->nr_bound++;
	return p;
}

/* ---- admin ioctls ---- */

struct m3_dc *m3_dc_get(int dcid)	/* admin mutex held */
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
