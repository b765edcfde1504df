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

/*
 * Test only (issue 20, point 4): fault injection for the refusal paths.
 * When set to N > 0, the Nth COPYIN_DATA frame put2lcl takes from now on
 * fails as if its data could not be allocated (-ENOMEM); it counts down
 * by one per COPYIN_DATA frame and stops at 0. Never set it outside tests.
 */
static unsigned int test_copyin_enomem;
module_param(test_copyin_enomem, uint, 0644);
MODULE_PARM_DESC(test_copyin_enomem,
		 "TEST ONLY: the Nth COPYIN_DATA frame from now fails with -ENOMEM (0: off)");

static bool m3_test_copyin_enomem(void)
{
	unsigned int n = READ_ONCE(test_copyin_enomem);

	while (n) {
		unsigned int old = cmpxchg(&test_copyin_enomem, n, n - 1);

		if (old == n)
			return n == 1;
		n = old;
	}
	return false;
}

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
		/* count: the chunks of its window (M3_RF_NOACK) */
		return h->count && h->count <= M3_RVC_WINDOW ? 0 : -EPROTO;
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
		/*
		 * timeout 0: its caller waits for our first answer only
		 * rmt_nowait_ms; "taken" (SEND_ACK 0) lifts that bound, the
		 * reply then comes when the server gives it.
		 */
		if (h->flags & M3_RF_NOWAIT) {
			m3_answer(M3_CMD_SEND_ACK, dc->dcid, h->dst, h->src,
				  h->snode, h->seq, 0, *ack);
			*ack = NULL;
		}
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
			if ((dst->state & M3_PST_REQUEST) && !h->rcode) {
				/*
				 * taken: the reply follows, unbounded if the
				 * call had timeout 0 (m3_rmt_send())
				 */
				if (dst->waiter->nowait) {
					WRITE_ONCE(dst->waiter->unbounded, true);
					wake_up_process(dst->waiter->task);
				}
				return 0;
			}
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
			kvfree(err);
	} else {
		kvfree(err);
	}
}

/*
 * A COPYIN_DATA chunk's place in its window (issue 20, point 4): every
 * chunk carries the window's id in @ack (the seq of its first chunk) and
 * the window's number of chunks in @count; the callee keeps, in the
 * caller's descriptor, how many chunks of the window landed and the first
 * failure. A NOACK chunk gets no answer; the window's last chunk answers
 * for all: its own failure, the first one kept, or -EPROTO when fewer
 * chunks than @count landed (one refused before its caller could be
 * found, or lost), so a copy never reports success with a chunk missing.
 * Called for every chunk, refused ones included (@ret the refusal).
 */
static int m3_copyin_window(struct m3_dc *dc, const struct m3_rhdr *h,
			    int ret)
{
	bool last = !(h->flags & M3_RF_NOACK);
	struct m3_proc *src;

	spin_lock(&dc->lock);
	/* m3_resolve_any(): m3_resolve() refuses remote processes (-EREMOTE) */
	if (dc->alive && !m3_resolve_any(dc, NULL, h->src, -EPIPE, &src) &&
	    src->remote && src->node == h->snode) {
		if (src->rvc_win != h->ack || (h->flags & M3_RF_FIRST)) {
			src->rvc_win = h->ack;
			src->rvc_ok = 0;
			src->rvc_err = 0;
		}
		if (!ret)
			src->rvc_ok++;
		else if (!src->rvc_err)
			src->rvc_err = ret;
		if (last) {
			ret = ret ?: src->rvc_err;
			if (!ret && src->rvc_ok != h->count)
				ret = -EPROTO;
			src->rvc_win = 0;
			src->rvc_ok = 0;
			src->rvc_err = 0;
		}
	} else if (last && !ret && h->count > 1) {
		/* the caller's descriptor is gone: its window cannot be told */
		ret = -EPROTO;
	}
	spin_unlock(&dc->lock);
	return ret;
}

/*
 * COPYIN_DATA / COPYOUT_RQST: copy to/from a local process (sleeps). @ack
 * is the request's preallocated answer: taken (*@ack = NULL) once the
 * request is answered here; an error returned before that is answered by
 * put2lcl (m3_p2l_refuse()).
 */
static int m3_p2l_copy(struct m3_dc *dc, const struct m3_rhdr *h, void *data,
		       u32 maxp, struct m3_frame **ack)
{
	bool in = h->cmd == M3_CMD_COPYIN_DATA;
	u32 n = in ? h->len : h->count;
	struct task_struct *t = NULL;
	struct mm_struct *mm = NULL;
	struct m3_proc *dst, *src = NULL;
	struct m3_frame *f, *err = NULL;
	int ret;

	if (in) {
		f = *ack;
	} else {
		/*
		 * At most M3_RVC_WINDOW pieces, however the two ends' view of
		 * the link's payload may differ for a moment: the caller asked
		 * for at most M3_RVC_WINDOW of its chunks, which its receiver
		 * proxy takes.
		 */
		maxp = max(maxp, DIV_ROUND_UP(n, M3_RVC_WINDOW));
		/* the first piece's frame; @ack carries a failure after it */
		f = m3_frame_alloc(min(n, maxp), GFP_KERNEL);
		if (!f)
			return -ENOMEM;
		err = *ack;
	}
	*ack = NULL;
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
			kvfree(f);	/* the window's last chunk answers */
			goto out;
		}
		m3_copy_answer(dc, h, M3_CMD_COPYIN_ACK, f, 0, ret);
	} else if (ret) {
		m3_copy_answer(dc, h, M3_CMD_COPYOUT_DATA, f, 0, ret);
		kvfree(err);
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

/* a reference to DC @dcid, or NULL */
static struct m3_dc *m3_p2l_dc(int dcid)
{
	struct m3_dc *dc;

	mutex_lock(&m3_admin_mutex);
	dc = m3_dvs.initialized ? m3_dc_get(dcid) : NULL;
	mutex_unlock(&m3_admin_mutex);
	return dc;
}

/*
 * Frame @h is refused with @ret (a bad header, no memory, its DC gone...):
 * every refusal ends the call it belongs to (issue 20, points 4 and 5).
 * A request is answered with the error (@ack, preallocated, or a new
 * frame); a COPYIN_DATA chunk fails its window (its last chunk answers);
 * an answer ends the local caller waiting for it. NOTIFY and HELLO have
 * nobody to tell. *@dc may be NULL (then looked up, and kept for the put).
 */
static void m3_p2l_refuse(const struct m3_rhdr *h, int ret,
			  struct m3_frame **ack, struct m3_dc **dc)
{
	struct m3_proc *p;

	if (h->cmd < M3_CMD_SEND_MSG || h->cmd > M3_CMD_COPYOUT_DATA ||
	    h->cmd == M3_CMD_NTFY_MSG)
		return;
	if (!*dc)
		*dc = m3_p2l_dc(h->dcid);
	if (h->cmd == M3_CMD_COPYIN_DATA) {
		if (*dc)
			ret = m3_copyin_window(*dc, h, ret);
		if (h->flags & M3_RF_NOACK)
			return;	/* the window's last chunk answers */
	}
	if (m3_is_request(h->cmd)) {
		m3_answer(m3_refusal_cmd(h->cmd), h->dcid, h->dst, h->src,
			  h->snode, h->seq, ret, *ack);
		*ack = NULL;
	}
	if (h->cmd == M3_CMD_REPLY_MSG || !m3_is_request(h->cmd)) {
		/* an answer (a reply is one too): its local caller ends */
		if (!*dc)
			return;
		spin_lock(&(*dc)->lock);
		p = (*dc)->alive ? m3_answer_waiter(*dc, h) : NULL;
		if (p)
			m3_wake(p, ret);
		spin_unlock(&(*dc)->lock);
	}
}

/*
 * One frame from node @n, @total bytes (header and payload): from its
 * receiver proxy (put2lcl: the payload is still at @upay) or from the
 * module's own RX link (rmt_link.c: the payload is @kdata, kvmalloc'ed,
 * owned from here on). @h was read but not checked. Process context.
 */
int m3_p2l_frame(struct m3_node *n, struct m3_rhdr *h, u32 total,
		 void *kdata, const void __user *upay)
{
	struct m3_frame *ack = NULL;
	struct m3_dc *dc = NULL;
	void *data = NULL;
	u32 rx_payload, max_payload;
	int ret;

	spin_lock(&m3_rmt_lock);
	rx_payload = n->rx_payload;
	ret = m3_hdr_check(h, total, rx_payload);
	if (!ret && h->cmd == M3_CMD_HELLO && h->count &&
	    h->count < M3_RMT_MIN_PAYLOAD)
		ret = -EPROTO;
	if (!ret) {
		n->frames_in++;
		n->bytes_in += total;
		n->last_hb = jiffies;
		if (h->cmd == M3_CMD_HELLO) {
			/*
			 * The peer's sender announces its max payload in each
			 * HELLO (count; 0: not said): the link takes the
			 * smaller of that and ours (issue 20, point 5).
			 */
			if (h->count)
				n->max_payload = min(h->count, rx_payload);
			ret = m3_node_up_locked(n);
		}
	}
	max_payload = n->max_payload;
	spin_unlock(&m3_rmt_lock);
	if (h->cmd == M3_CMD_HELLO) {
		kvfree(kdata);
		return ret;
	}

	/*
	 * The answer first (small; never fails: a request must be answered,
	 * or its caller waits for nothing): from here on every failure
	 * answers the request, a malformed header included.
	 */
	if (m3_is_request(h->cmd) && h->cmd != M3_CMD_NTFY_MSG)
		ack = m3_frame_alloc(0, GFP_KERNEL | __GFP_NOFAIL);
	if (ret)
		goto out;
	if (h->len) {
		if (h->cmd == M3_CMD_COPYIN_DATA && m3_test_copyin_enomem())
			data = NULL;
		else if (kdata)
			swap(data, kdata);
		else
			data = kvmalloc(h->len, GFP_KERNEL);
		if (!data) {
			ret = -ENOMEM;
			goto out;
		}
		if (upay && copy_from_user(data, upay, h->len)) {
			ret = -EFAULT;
			goto out;
		}
	}

	dc = m3_p2l_dc(h->dcid);
	if (!dc) {
		ret = -ENXIO;
		goto out;
	}

	if (h->cmd == M3_CMD_COPYIN_DATA || h->cmd == M3_CMD_COPYOUT_RQST) {
		ret = m3_p2l_copy(dc, h, data, max_payload, &ack);
		goto out;
	}
	spin_lock(&dc->lock);
	if (!dc->alive) {
		ret = -ENXIO;
	} else if (h->cmd == M3_CMD_SEND_MSG || h->cmd == M3_CMD_SNDREC_MSG) {
		m3_p2l_request(dc, h, data, &ack);
		ret = 0;
	} else {
		ret = m3_p2l_other(dc, h, &data, &ack);
	}
	spin_unlock(&dc->lock);
out:
	/* a refused frame ends its call: answered, or its window failed */
	if (ret)
		m3_p2l_refuse(h, ret, &ack, &dc);
	if (dc)
		m3_dc_put(dc);
	kvfree(ack);
	kvfree(data);
	kvfree(kdata);
	return ret;
}

int m3_put2lcl(struct m3_put2lcl *a)
{
	struct m3_rhdr h;
	struct m3_node *n;
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
	spin_unlock(&m3_rmt_lock);
	return m3_p2l_frame(n, &h, a->len, NULL,
			    u64_to_user_ptr(a->buf) + sizeof(h));
}
