// SPDX-License-Identifier: GPL-2.0
/*
 * rmt_inbound.c - frames from the receiver proxies: put2lcl checks a frame, binds
 * its remote sender, delivers it and answers every request it refuses
 * (rmt_internal.h).
 */
#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <linux/wait.h>

#include "rmt_internal.h"

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
		return !h->len && h->count &&
		       h->count <= M3_RVC_WINDOW * max_payload ? 0 : -EPROTO;
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
		/*
		 * A replier never waits for its reply's fate, so a delivered
		 * reply is not acknowledged (a sendrec is one frame each way);
		 * a refused one is, for the record of the replier's node.
		 */
		if (ret) {
			m3_answer(M3_CMD_SEND_ACK, dc->dcid, h->dst, h->src,
				  h->snode, h->seq, ret, *ack);
			*ack = NULL;
		}
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
			struct m3_rvc_data *rd = &dst->waiter->rd;

			/* more pieces or bytes than asked for: a broken peer */
			if (!h->len || rd->nr == M3_RVC_WINDOW ||
			    h->len > rd->want - rd->got) {
				m3_wake(dst, -EPROTO);
				return 0;
			}
			rd->buf[rd->nr] = *data;
			rd->len[rd->nr++] = h->len;
			rd->got += h->len;
			*data = NULL;
			if (rd->got < rd->want)
				return 0;	/* the rest of the window follows */
		}
		m3_wake(dst, m3_rcode(h->rcode));
		return 0;
	}
	return -EPROTO;
}

/*
 * The answer @cmd (COPYIN_ACK or COPYOUT_DATA) to copy request @h: @len
 * bytes already in @f (0 with an error)
 */
static void m3_copy_answer(struct m3_dc *dc, const struct m3_rhdr *h,
			   unsigned int cmd, struct m3_frame *f, u32 len,
			   int ret)
{
	f->hdr.len = len;
	m3_frame_prep(f, cmd, dc->dcid, h->dst, M3_PRIV_KERNEL, h->src,
		      h->snode);
	f->hdr.ack = h->seq;
	f->hdr.rcode = ret;
	m3_queue(h->snode, f);
}

/*
 * COPYOUT_RQST for up to M3_RVC_WINDOW pieces of @maxp bytes: each piece
 * goes back as its own COPYOUT_DATA, one after another without waiting;
 * the first failure ends the stream with an answer carrying it. Every
 * piece comes from @mm, the target's mm taken once (m3_vcopy_mm()), so an
 * exec in the middle cannot make the stream read the new image. @f, for
 * the first piece, and @err, for a failure after it, were allocated before
 * anything could fail, so the caller always gets its answer.
 */
static void m3_copyout_stream(struct m3_dc *dc, const struct m3_rhdr *h,
			      struct mm_struct *mm, u32 maxp,
			      struct m3_frame *f, struct m3_frame *err)
{
	u32 off = 0, k;
	int ret = 0;

	while (off < h->count) {
		k = min(h->count - off, maxp);
		if (!f)
			f = m3_frame_alloc(k, GFP_KERNEL);
		if (!f) {
			ret = -ENOMEM;
			break;
		}
		ret = m3_mm_rw(mm, h->addr + off, f->data, k, false);
		if (ret)
			break;
		m3_copy_answer(dc, h, M3_CMD_COPYOUT_DATA, f, k, 0);
		f = NULL;
		off += k;
	}
	if (ret) {
		m3_copy_answer(dc, h, M3_CMD_COPYOUT_DATA, f ?: err, 0, ret);
		if (f)
			kfree(err);
	} else {
		kfree(err);
	}
}

/*
 * A COPYIN_DATA chunk's place in its window (M3_RF_FIRST / M3_RF_NOACK):
 * a NOACK chunk's failure is kept in the caller's descriptor here; the
 * window's last chunk returns the first one kept, or its own result.
 * Chunks come in order (one receiver proxy per node), so the last one's
 * answer covers the whole window.
 */
static int m3_copyin_window(struct m3_dc *dc, const struct m3_rhdr *h,
			    int ret)
{
	struct m3_proc *src;

	spin_lock(&dc->lock);
	if (dc->alive && !m3_resolve(dc, NULL, h->src, -EPIPE, &src) &&
	    src->remote && src->node == h->snode) {
		if (h->flags & M3_RF_FIRST)
			src->rvc_err = 0;
		if (h->flags & M3_RF_NOACK) {
			if (ret && !src->rvc_err)
				src->rvc_err = ret;
		} else {
			ret = ret ?: src->rvc_err;
			src->rvc_err = 0;
		}
	}
	spin_unlock(&dc->lock);
	return ret;
}

/* COPYIN_DATA / COPYOUT_RQST: copy to/from a local process (sleeps) */
static int m3_p2l_copy(struct m3_dc *dc, const struct m3_rhdr *h, void *data,
		       u32 maxp)
{
	bool in = h->cmd == M3_CMD_COPYIN_DATA;
	u32 n = in ? h->len : h->count;
	struct task_struct *t = NULL;
	struct mm_struct *mm = NULL;
	struct m3_proc *dst, *src = NULL;
	struct m3_frame *f, *err = NULL;
	int ret;

	f = m3_frame_alloc(in ? 0 : min(n, maxp), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	if (!in) {
		err = m3_frame_alloc(0, GFP_KERNEL);
		if (!err) {
			kfree(f);
			return -ENOMEM;
		}
	}
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
	/* the target's mm, checked with it: copy into that mm only */
	if (!ret) {
		mm = m3_vcopy_mm(t, true, in ? -EPIPE : -ECONNRESET);
		if (IS_ERR(mm)) {
			ret = PTR_ERR(mm);
			mm = NULL;
		}
	}
	if (in) {
		if (!ret)
			ret = m3_mm_rw(mm, h->addr, data, n, true);
		ret = m3_copyin_window(dc, h, ret);
		if (h->flags & M3_RF_NOACK) {
			kfree(f);	/* the window's last chunk answers */
			goto out;
		}
		m3_copy_answer(dc, h, M3_CMD_COPYIN_ACK, f, 0, ret);
	} else if (ret) {
		m3_copy_answer(dc, h, M3_CMD_COPYOUT_DATA, f, 0, ret);
		kfree(err);
	} else {
		m3_copyout_stream(dc, h, mm, maxp, f, err);
	}
out:
	if (mm)
		mmput(mm);
	if (t)
		put_task_struct(t);
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
		ret = m3_p2l_copy(dc, &h, data, max_payload);
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
