// SPDX-License-Identifier: GPL-2.0
/*
 * rmt_vcopy.c - remote vcopy, the caller's side: chunks to and from a remote
 * process through the proxies, bounded by the call's timeout
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

/* ---- remote vcopy (the caller's side) ---- */

static void m3_rvc_free(struct m3_rvc_data *rd)
{
	while (rd->nr)
		kvfree(rd->buf[--rd->nr]);
}

/*
 * One exchange: COPYIN_DATA (@data, @n bytes, one chunk, to @addr of @ep)
 * or COPYOUT_RQST (@n bytes, up to M3_RVC_WINDOW chunks, from @addr of @ep,
 * streamed back into @rd, whose buffers the caller then owns). Waits for
 * the answer (the last piece); the caller is re-found under its dc->lock
 * every time. A COPYIN chunk carries its window: *@win, the window's id
 * (set to the chunk's own seq by the M3_RF_FIRST one), and @count, its
 * number of chunks, so the callee can tell a window with a chunk missing.
 */
static int m3_rvc_chunk(struct m3_dc *dc0, bool in, s32 ep, int node,
			u64 addr, u32 n, const void *data,
			struct m3_rvc_data *rd, long timeout, u16 flags,
			u64 *win, u32 count)
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
		kvfree(f);
		return PTR_ERR(c);
	}
	ret = dc == dc0 ? 0 : -ENOTCONN;
	if (!ret)
		ret = m3_resolve_any(dc, c, ep, in ? -EPIPE : -ECONNRESET, &t);
	if (!ret && (!t->remote || t->node != node))
		ret = -ESTALE;
	if (ret) {
		kvfree(f);
		goto out;
	}
	m3_frame_prep(f, in ? M3_CMD_COPYIN_DATA : M3_CMD_COPYOUT_RQST,
		      dc->dcid, c->endpoint, c->priv, ep, node);
	f->hdr.addr = addr;
	f->hdr.flags = flags;
	if (!in) {
		f->hdr.count = n;
	} else {
		if (flags & M3_RF_FIRST)
			*win = f->hdr.seq;
		f->hdr.ack = *win;
		f->hdr.count = count;
	}
	seq = f->hdr.seq;
	ret = m3_queue(node, f);
	if (ret || (flags & M3_RF_NOACK))
		goto out;	/* a NOACK chunk: the window's last one answers */
	m3_arm(c, &w);
	w.rd.want = in ? 0 : n;
	c->state = M3_PST_RMT | (in ? 0 : M3_PST_RMT_SRC);
	c->blocked_on = t;
	c->rmt_seq = seq;
	ret = m3_wait(dc, c, &w, timeout);
	if (!ret && w.rd.got != w.rd.want)
		ret = -EPROTO;
	if (!ret && !in)
		*rd = w.rd;
	else
		m3_rvc_free(&w.rd);
out:
	m3_current_put(dc);
	return ret;
}

/*
 * The local side of a chunk: the caller's own memory, or @mm, the local
 * process's mm taken once for the whole copy (m3_vcopy_mm(): an exec
 * between two chunks sends the rest into the old image, not the new one).
 */
static int m3_local_rw(struct task_struct *t, struct mm_struct *mm, u64 addr,
		       void *buf, u32 n, bool write)
{
	if (t == current)
		return (write ? copy_to_user(u64_to_user_ptr(addr), buf, n) :
			copy_from_user(buf, u64_to_user_ptr(addr), n)) ?
		       -EFAULT : 0;
	return m3_mm_rw(mm, addr, buf, n, write);
}

/*
 * A window of up to M3_RVC_WINDOW chunks from local @st to remote @a->dst_ep:
 * all but the last go without waiting (NOACK), the last one's COPYIN_ACK
 * answers for the whole window. *@n: the window's length. On failure the
 * window counts as not copied, though its first chunks may have landed.
 */
static int m3_rvc_put_window(struct m3_dc *dc, struct task_struct *st,
			     struct mm_struct *smm, struct m3_vcopy *a, u64 done, s32 d_ep,
			     int d_node, void *buf, u32 chunk, long left,
			     u32 *n)
{
	u32 off, k, count;
	u64 win = 0;
	int ret = 0;

	*n = min_t(u64, (u64)chunk * M3_RVC_WINDOW, a->len - done);
	count = DIV_ROUND_UP(*n, chunk);
	for (off = 0; off < *n && !ret; off += k) {
		k = min(chunk, *n - off);
		ret = m3_local_rw(st, smm, a->src_addr + done + off, buf, k,
				  false);
		if (!ret)
			ret = m3_rvc_chunk(dc, true, d_ep, d_node,
					   a->dst_addr + done + off, k, buf,
					   NULL, left,
					   (off ? 0 : M3_RF_FIRST) |
					   (off + k < *n ? M3_RF_NOACK : 0),
					   &win, count);
	}
	return ret;
}

int m3_rvcopy(struct m3_vcopy *a)
{
	struct task_struct *st = NULL, *dt = NULL;
	struct mm_struct *smm = NULL, *dmm = NULL;
	struct m3_proc *c, *src, *dst;
	s32 s_ep, d_ep;
	int s_node = -1, d_node = -1;
	bool s_rmt, d_rmt;
	u32 chunk = M3_RMT_MAX_PAYLOAD;
	void *buf = NULL;
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
	/* the local side's mm once, checked (m3_vcopy_mm()) */
	if (st) {
		smm = m3_vcopy_mm(st, false, -ECONNRESET);
		if (IS_ERR(smm)) {
			ret = PTR_ERR(smm);
			smm = NULL;
			goto out;
		}
	}
	if (dt) {
		dmm = m3_vcopy_mm(dt, false, -EPIPE);
		if (IS_ERR(dmm)) {
			ret = PTR_ERR(dmm);
			dmm = NULL;
			goto out;
		}
	}
	if (!s_rmt) {
		buf = kvmalloc(chunk, GFP_KERNEL);
		if (!buf) {
			ret = -ENOMEM;
			goto out;
		}
	}
	while (done < a->len) {
		/*
		 * Windows of chunks: a remote source streams them into a local
		 * destination (COPYOUT), a local source sends them to a remote
		 * destination without waiting (COPYIN, NOACK); between two
		 * remote processes, one chunk at a time.
		 */
		u64 most = s_rmt && !d_rmt ? (u64)chunk * M3_RVC_WINDOW : chunk;
		u32 n = min_t(u64, most, a->len - done);
		long left = MAX_SCHEDULE_TIMEOUT;
		struct m3_rvc_data rd = { .nr = 0 };
		u32 i, off = 0;

		if (timeout != MAX_SCHEDULE_TIMEOUT) {
			left = (long)(deadline - jiffies);
			if (left <= 0) {
				ret = -ETIMEDOUT;
				break;
			}
		}
		if (!s_rmt) {
			/* a local source: both local went to m3_vcopy() above */
			ret = m3_rvc_put_window(dc, st, smm, a, done, d_ep,
						d_node, buf, chunk, left, &n);
		} else {
			u64 win = 0;

			ret = m3_rvc_chunk(dc, false, s_ep, s_node,
					   a->src_addr + done, n, NULL, &rd,
					   left, M3_RF_FIRST, &win, 0);
			if (!ret && d_rmt && rd.nr != 1)
				ret = -EPROTO;	/* the source node cut it otherwise */
			if (!ret && d_rmt)
				ret = m3_rvc_chunk(dc, true, d_ep, d_node,
						   a->dst_addr + done, n,
						   rd.buf[0], NULL, left,
						   M3_RF_FIRST, &win, 1);
			for (i = 0; !ret && !d_rmt && i < rd.nr; i++) {
				ret = m3_local_rw(dt, dmm,
						  a->dst_addr + done + off,
						  rd.buf[i], rd.len[i], true);
				if (!ret)
					off += rd.len[i];
			}
			m3_rvc_free(&rd);
		}
		if (ret) {
			/*
			 * The pieces written before the fault; of a window
			 * sent to a remote process, none is confirmed.
			 */
			done += off;
			break;
		}
		done += n;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
out:
	a->copied = done;
	kvfree(buf);
	if (dmm)
		mmput(dmm);
	if (smm)
		mmput(smm);
	m3_dc_put(dc);
	if (st)
		put_task_struct(st);
	if (dt)
		put_task_struct(dt);
	return ret;
}
