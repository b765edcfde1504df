// SPDX-License-Identifier: GPL-2.0
/*
 * rmt_frame.c - frames and the queues of the sender proxies: building, queueing
 * and withdrawing frames, answers, and get2rmt (rmt_internal.h).
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

static atomic64_t m3_rmt_seq = ATOMIC64_INIT(0);

bool m3_is_request(unsigned int cmd)
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
unsigned int m3_refusal_cmd(unsigned int cmd)
{
	return cmd == M3_CMD_COPYIN_DATA ? M3_CMD_COPYIN_ACK :
	       cmd == M3_CMD_COPYOUT_RQST ? M3_CMD_COPYOUT_DATA :
	       M3_CMD_SEND_ACK;
}

/*
 * A frame of @len payload bytes. Where @gfp may sleep, kvmalloc(): a large
 * frame then comes from pages, not a high-order slab (issue 20, point 3).
 * Freed with kvfree().
 */
struct m3_frame *m3_frame_alloc(u32 len, gfp_t gfp)
{
	struct m3_frame *f;

	if (gfpflags_allow_blocking(gfp))
		f = kvmalloc(sizeof(*f) + len, gfp);
	else
		f = kmalloc(sizeof(*f) + len, gfp);

	if (!f)
		return NULL;
	memset(&f->hdr, 0, sizeof(f->hdr));
	INIT_LIST_HEAD(&f->link);
	f->hdr.len = len;
	return f;
}

/* fill the header of a frame sent by @src_ep; assigns its seq */
void m3_frame_prep(struct m3_frame *f, unsigned int cmd, int dcid,
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
int m3_queue(int node, struct m3_frame *f)
{
	struct m3_node *n;
	LIST_HEAD(gone);
	int ret = 0;

	if (node < 0 || node >= M3_MAX_NODES) {
		kvfree(f);
		return -EINVAL;
	}
	n = &m3_nodes[node];
	spin_lock(&m3_rmt_lock);
	if (!n->sender)
		ret = -ENOLINK;
	else if (n->state != M3_NODE_UP)
		ret = -EHOSTDOWN;
	else if ((n->nr_frames >= M3_RMT_MAX_QUEUE ||
		  n->nr_bytes >= M3_RMT_MAX_BYTES) &&
		 !m3_is_answer(f->hdr.cmd))
		ret = -ENOBUFS;
	else if (n->nr_frames >= M3_RMT_MAX_FRAMES ||
		 n->nr_bytes + m3_frame_bytes(f) > M3_RMT_MAX_ANSWER_BYTES)
		ret = -ENOBUFS;
	else {
		list_add_tail(&f->link, &n->frames);
		n->nr_frames++;
		n->nr_bytes += m3_frame_bytes(f);
		if (n->tx_link)
			m3_link_note_frame(n);	/* sent by the module */
		else
			wake_up(&n->wq);
	}
	/*
	 * A reply is owed like an answer: its caller there waits for it (the
	 * replier here would learn of the refusal, the caller never would).
	 */
	if (ret == -ENOBUFS && m3_is_answer(f->hdr.cmd)) {
		/* an answer that cannot wait: the node is not being served */
		pr_info("m3ipc: node %d down (%u frames, %u bytes queued: its sender proxy does not take them)\n",
			node, n->nr_frames, n->nr_bytes);
		m3_node_mark_down(n, false, true, &gone);
		queue_work(m3_wq, &n->down_work);
	} else if (ret == -EHOSTDOWN && m3_is_answer(f->hdr.cmd)) {
		/*
		 * An answer lost because the node is down here while its
		 * frames still come in (it is not down there yet): the caller
		 * there must learn it, or it waits for this answer forever.
		 * Our sender resets its connection; the peer's receiver sees
		 * it close and marks this node down, which ends its callers.
		 */
		n->reset_sender = true;
		wake_up_all(&n->wq);
	}
	spin_unlock(&m3_rmt_lock);
	if (ret)
		kvfree(f);
	m3_free_frames(&gone);
	return ret;
}

/* any context: a SEND_ACK (or another answer without payload) */
void m3_answer(unsigned int cmd, int dcid, s32 src_ep, s32 dst_ep,
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

int m3_ms_to_jiffies(s32 ms, long *j)
{
	if (ms == M3_TIMEOUT_FOREVER)
		*j = MAX_SCHEDULE_TIMEOUT;
	else if (ms >= 0)
		*j = ms ? max_t(long, msecs_to_jiffies(ms), 1) : 0;
	else
		return -EINVAL;
	return 0;
}

/*
 * Remove frames of @node matching (dcid, src or dst, seq); kvfree outside.
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
		n->nr_bytes -= m3_frame_bytes(f);
	}
	spin_unlock(&m3_rmt_lock);
	list_for_each_entry_safe(f, tmp, &gone, link)
		kvfree(f);
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

void m3_free_frames(struct list_head *gone)
{
	struct m3_frame *f, *tmp;

	list_for_each_entry_safe(f, tmp, gone, link)
		kvfree(f);
}

/* ---- sender proxy: get2rmt ---- */

int m3_my_node(bool sender)	/* m3_rmt_lock held */
{
	int i;

	for (i = 0; i < M3_MAX_NODES; i++)
		if ((sender ? m3_nodes[i].sender : m3_nodes[i].receiver) ==
		    current)
			return i;
	return -1;
}

/*
 * With a TX link the module sends the frames itself (rmt_link.c): the
 * sender proxy then only waits here for a reset or the heartbeat's time.
 */
static bool m3_g2r_ready(struct m3_node *n)
{
	return (!READ_ONCE(n->tx_link) && !list_empty_careful(&n->frames)) ||
	       READ_ONCE(n->reset_sender) || READ_ONCE(n->sender) != current;
}

/* m3_rmt_lock held: the node's connection is reset (see get2rmt) */
static int m3_g2r_reset(struct m3_node *n)
{
	n->reset_sender = false;
	m3_link_detach_locked(&n->tx_link);
	return -ECONNRESET;
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
	if (node >= 0 && m3_nodes[node].reset_sender) {
		/* this node marked the peer down: the peer must learn it */
		ret = m3_g2r_reset(&m3_nodes[node]);
	}
	spin_unlock(&m3_rmt_lock);
	if (node < 0)
		return -EPERM;
	if (ret)
		return ret;
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
	} else if (n->reset_sender) {
		/*
		 * Marked down while we slept: not one more frame on the old
		 * connection. A request queued since the node came back would
		 * go out on it, and the peer, seeing that connection close,
		 * drops the answer it owes (its PEER_RESET down) unheard.
		 */
		ret = m3_g2r_reset(n);
	} else if (n->tx_link || list_empty(&n->frames)) {
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
			n->nr_bytes -= m3_frame_bytes(f);
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
	kvfree(f);
	return ret;
}
