// SPDX-License-Identifier: GPL-2.0
/*
 * rmt_link_tx.c - the kernel data path, out: frames sealed (wire.h's
 * header, HMAC-SHA-512/256) and sent on a node's TX link from the context
 * that queued them (rmt_link.c has the model).
 */
#include <crypto/hash.h>
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <asm/unaligned.h>

#include "rmt_link.h"

void m3_link_encode(const struct m3_rhdr *h, u64 lseq,
			   u8 out[M3L_HDR_LEN])
{
	put_unaligned_be32(M3L_MAGIC, out + 0);
	put_unaligned_be16(M3L_VERSION, out + 4);
	put_unaligned_be16(h->cmd, out + 6);
	put_unaligned_be16(h->flags, out + 8);
	put_unaligned_be16((u16)h->priv, out + 10);
	put_unaligned_be32((u32)h->dcid, out + 12);
	put_unaligned_be32((u32)h->src, out + 16);
	put_unaligned_be32((u32)h->dst, out + 20);
	put_unaligned_be32((u32)h->snode, out + 24);
	put_unaligned_be32((u32)h->dnode, out + 28);
	put_unaligned_be32((u32)h->rcode, out + 32);
	put_unaligned_be32(h->len, out + 36);
	put_unaligned_be32(h->count, out + 40);
	put_unaligned_be32(0, out + 44);
	put_unaligned_be64(h->seq, out + 48);
	put_unaligned_be64(h->ack, out + 56);
	put_unaligned_be64(h->timestamp, out + 64);
	put_unaligned_be64(h->addr, out + 72);
	put_unaligned_be64(lseq, out + 80);
}

/* HMAC-SHA-512/256 of header and payload */
int m3_link_mac(struct crypto_shash *tfm, const u8 *hdr,
		       const void *payload, u32 len, u8 mac[M3L_MAC_LEN])
{
	SHASH_DESC_ON_STACK(desc, tfm);
	u8 full[64];
	int ret;

	desc->tfm = tfm;
	ret = crypto_shash_init(desc) ?:
	      crypto_shash_update(desc, hdr, M3L_HDR_LEN) ?:
	      (len ? crypto_shash_update(desc, payload, len) : 0) ?:
	      crypto_shash_final(desc, full);
	shash_desc_zero(desc);
	if (!ret)
		memcpy(mac, full, M3L_MAC_LEN);
	memzero_explicit(full, sizeof(full));
	return ret;
}

/* tx_mutex held: one frame out, sealed; MSG_MORE when @more follow */
int m3_link_send(struct m3_link *l, const struct m3_rhdr *h,
			const void *payload, bool more)
{
	u8 hdr[M3L_HDR_LEN], mac[M3L_MAC_LEN];
	struct kvec iov[3] = {
		{ hdr, sizeof(hdr) }, { (void *)payload, h->len },
		{ mac, l->secure ? M3L_MAC_LEN : 0 },
	};
	struct msghdr msg = {
		.msg_flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0),
	};
	size_t total = iov[0].iov_len + iov[1].iov_len + iov[2].iov_len;
	int ret;

	m3_link_encode(h, l->tx_lseq, hdr);
	if (l->secure) {
		ret = m3_link_mac(l->tx_tfm, hdr, payload, h->len, mac);
		if (ret)
			return ret;
	}
	l->tx_lseq++;
	/* a part sent is a stream out of step: any shortfall kills the link */
	ret = kernel_sendmsg(l->sock, &msg, iov, 3, total);
	if (ret >= 0 && ret != total)
		ret = -EPIPE;
	return ret < 0 ? ret : 0;
}

/*
 * tx_mutex held: send what node @n has queued, in order. The frames leave
 * the queue under m3_rmt_lock, so only this holder of tx_mutex takes them.
 */
static void m3_link_send_queued(struct m3_node *n, struct m3_link *l)
{
	struct m3_frame *f, *tmp;
	int ret = 0;

	for (;;) {
		LIST_HEAD(batch);
		unsigned int nr = 0;
		bool more;

		spin_lock(&m3_rmt_lock);
		if (n->tx_link != l || l->dead || n->reset_sender) {
			/* not one frame more on this connection (get2rmt) */
			spin_unlock(&m3_rmt_lock);
			return;
		}
		while (nr < M3L_BATCH && !list_empty(&n->frames)) {
			f = list_first_entry(&n->frames, struct m3_frame, link);
			list_move_tail(&f->link, &batch);
			n->nr_frames--;
			n->nr_bytes -= m3_frame_bytes(f);
			n->frames_out++;
			n->bytes_out += sizeof(f->hdr) + f->hdr.len;
			nr++;
		}
		more = !list_empty(&n->frames);
		spin_unlock(&m3_rmt_lock);
		if (!nr)
			return;
		list_for_each_entry(f, &batch, link) {
			if (!ret)
				ret = m3_link_send(l, &f->hdr, f->data,
						   more || !list_is_last(&f->link, &batch));
		}
		list_for_each_entry_safe(f, tmp, &batch, link)
			kvfree(f);
		if (ret) {
			/* as the sender proxy on a write error: down, no reset */
			m3_link_kill(l, M3L_DOWN_PEER, ret == -EAGAIN ?
				     "send timed out" : "send error");
			return;
		}
	}
}

void m3_link_flush_node(int node, bool wait)
{
	struct m3_node *n = &m3_nodes[node];
	int rounds = M3L_FLUSH_ROUNDS;
	struct m3_link *l;

	do {
		l = m3_link_get(&n->tx_link);
		if (!l) {
			clear_bit(node, m3_tx_pending);
			return;
		}
		if (wait) {
			mutex_lock(&l->tx_mutex);
		} else if (!mutex_trylock(&l->tx_mutex)) {
			/* its holder looks at the queue again after unlocking */
			m3_link_put(l);
			return;
		}
		clear_bit(node, m3_tx_pending);
		/*
		 * The bit cleared before the queue is read: a frame queued
		 * after our look sets it again, and its flusher or we see it.
		 */
		smp_mb__after_atomic();
		m3_link_send_queued(n, l);
		mutex_unlock(&l->tx_mutex);
		m3_link_put(l);
		wait = false;
	} while (test_bit(node, m3_tx_pending) && --rounds);
	if (test_bit(node, m3_tx_pending))
		queue_delayed_work(m3_link_wq, &m3_link_sweep, 0);
}

/*
 * Send what the callers queued for nodes with a TX link. Called where a
 * process leaves the module or goes to sleep in it, with no lock held.
 */
void m3_links_flush(void)
{
	unsigned int node;

	if (likely(bitmap_empty(m3_tx_pending, M3_MAX_NODES)))
		return;
	for_each_set_bit(node, m3_tx_pending, M3_MAX_NODES)
		m3_link_flush_node(node, false);
}

void m3_link_sweep_fn(struct work_struct *work)
{
	m3_links_flush();
}

/* m3_rmt_lock held: a frame was queued for @n, which has a TX link */
void m3_link_note_frame(struct m3_node *n)
{
	set_bit(n->id, m3_tx_pending);
	/* the net under the flush points: out within a jiffy whatever queued it */
	queue_delayed_work(m3_link_wq, &m3_link_sweep, 1);
}

