// SPDX-License-Identifier: GPL-2.0
/*
 * rmt_link.c - the kernel data path (issue 22): a node's TCP links, handed
 * over by its proxies once they connected and authenticated them.
 *
 * The proxies keep the control plane (connecting, the handshake, keys,
 * heartbeat timing, reconnecting); the module carries the frames:
 *  - TX: a frame queued for the node (m3_queue) is sealed and sent from the
 *    queuing process's own system call, before it sleeps or returns
 *    (m3_links_flush), with no other thread woken. A sweep one jiffy later
 *    sends what a context that cannot send (the exit hook) queued.
 *  - RX: the socket's data_ready queues the link's rx work, which reads
 *    frames, checks header, MAC and link sequence before any field is
 *    used, and delivers them as put2lcl would (m3_p2l_frame): one wakeup,
 *    the callee's. HELLOs are answered with HELLO_ACK here.
 * The wire format is wire.h's (version 2); the MAC is HMAC-SHA-512
 * truncated to 256 bits (libsodium's crypto_auth_hmacsha512256) computed
 * with the kernel's hmac(sha512).
 *
 * Lifetime: a node holds one reference to each of its links (n->tx_link,
 * n->rx_link, under m3_rmt_lock); a flusher holds one while it sends. A
 * link that fails (send error, bad frame, end of stream, silence) is
 * killed once (l->dead): its kill work shuts the socket down, unhooks the
 * callbacks and takes the node down as the proxy would have. The node's
 * pointer stays until its proxy closes or replaces the link, or the
 * proxies go (exit hook, proxy_unbind): so the sender proxy never gets a
 * frame from get2rmt that the module meant to send. The last reference
 * frees the link from a work item (fput, crypto), so it may drop anywhere;
 * module exit drains that workqueue (m3_link_exit) before the code goes.
 *
 * Locks: a link's tx_mutex is taken with no spinlock held and is outer to
 * m3_rmt_lock; nothing that holds a tx_mutex takes m3_admin_mutex or a
 * dc->lock (kmod/docs/lock-order.md).
 */
#include <crypto/algapi.h>
#include <crypto/hash.h>
#include <linux/bitmap.h>
#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <linux/workqueue.h>
#include <asm/unaligned.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "rmt_internal.h"

#define M3L_MAGIC	0x4d334950u	/* "M3IP", wire.h */
#define M3L_VERSION	2
#define M3L_HDR_LEN	88
#define M3L_MAC_LEN	32
#define M3L_BATCH	16	/* frames per sendmsg round */
#define M3L_RX_BUDGET	64	/* frames per rx work run, then requeued */
#define M3L_FLUSH_ROUNDS 8	/* a flusher's retries for frames of others */

enum { M3L_DOWN_NONE, M3L_DOWN_PEER, M3L_DOWN_RESET };

struct m3_link {
	struct kref ref;
	int node;
	int dir;			/* M3_LINK_TX / M3_LINK_RX */
	bool secure;
	bool dead;			/* killed: no frame in or out any more */
	int down;			/* M3L_DOWN_*: what the kill does */
	const char *why;
	char why_buf[96];		/* a reason with numbers in it */
	struct socket *sock;		/* its file's reference is ours */
	struct crypto_shash *tx_tfm, *rx_tfm;
	struct mutex tx_mutex;		/* frame order on the socket, tx_lseq */
	u64 tx_lseq, rx_lseq;
	unsigned long timeout;		/* jiffies; RX silence bound */
	unsigned long last_rx;		/* jiffies of the last frame in */
	struct work_struct kill_work;
	struct work_struct free_work;
	/* RX only */
	void (*saved_data_ready)(struct sock *sk);
	void (*saved_state_change)(struct sock *sk);
	struct work_struct rx_work;
	struct delayed_work silence_work;
	u8 hdr[M3L_HDR_LEN];
	u32 hdr_got;
	struct m3_rhdr h;		/* the frame being read, decoded */
	u64 h_lseq;
	u8 *body;			/* its payload, then its MAC */
	u32 body_len, body_got;
};

static struct workqueue_struct *m3_link_wq;
static unsigned long m3_tx_pending[BITS_TO_LONGS(M3_MAX_NODES)];
static void m3_link_sweep_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(m3_link_sweep, m3_link_sweep_fn);

/* ---- lifetime ---- */

static void m3_link_free_fn(struct work_struct *work)
{
	struct m3_link *l = container_of(work, struct m3_link, free_work);

	if (l->sock)
		sockfd_put(l->sock);
	if (l->tx_tfm)
		crypto_free_shash(l->tx_tfm);
	if (l->rx_tfm)
		crypto_free_shash(l->rx_tfm);
	kvfree(l->body);
	kfree_sensitive(l);
}

static void m3_link_release(struct kref *ref)
{
	struct m3_link *l = container_of(ref, struct m3_link, ref);

	queue_work(m3_link_wq, &l->free_work);
}

static void m3_link_put(struct m3_link *l)
{
	kref_put(&l->ref, m3_link_release);
}

/*
 * Kill @l once, from any context: its kill work closes it and takes the
 * node down as @down says (the reason @why is logged).
 */
static void m3_link_kill(struct m3_link *l, int down, const char *why)
{
	if (xchg(&l->dead, true))
		return;
	l->down = down;
	l->why = why;
	kref_get(&l->ref);		/* the kill work's */
	queue_work(m3_link_wq, &l->kill_work);
}

static void m3_link_unhook(struct m3_link *l)
{
	struct sock *sk = l->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data == l) {
		sk->sk_user_data = NULL;
		sk->sk_data_ready = l->saved_data_ready;
		sk->sk_state_change = l->saved_state_change;
	}
	write_unlock_bh(&sk->sk_callback_lock);
}

static void m3_link_kill_fn(struct work_struct *work)
{
	struct m3_link *l = container_of(work, struct m3_link, kill_work);

	if (l->dir == M3_LINK_RX) {
		m3_link_unhook(l);
		cancel_work_sync(&l->rx_work);
		cancel_delayed_work_sync(&l->silence_work);
	}
	/* the proxy sees the end of its copy of the socket, and reconnects */
	kernel_sock_shutdown(l->sock, SHUT_RDWR);
	if (l->down != M3L_DOWN_NONE) {
		pr_info("m3ipc: node %d: %s link closed: %s\n", l->node,
			l->dir == M3_LINK_TX ? "TX" : "RX", l->why);
		m3_node_link_down(l->node, l->down == M3L_DOWN_RESET, l->why);
	}
	m3_link_put(l);
}

/*
 * m3_rmt_lock held: the node lets go of @l (closed, replaced, proxies
 * gone). Its reference goes with the kill work.
 */
void m3_link_detach_locked(struct m3_link **slot)
{
	struct m3_link *l = *slot;

	if (!l)
		return;
	*slot = NULL;
	m3_link_kill(l, M3L_DOWN_NONE, "closed");
	m3_link_put(l);		/* the kill work holds its own */
}

/* ---- frames on the wire ---- */

static void m3_link_encode(const struct m3_rhdr *h, u64 lseq,
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

/* wire.h's m3w_decode: 0, or a reason to close the link */
static const char *m3_link_decode(const u8 in[M3L_HDR_LEN], struct m3_rhdr *h,
				  u64 *lseq, int peer, u32 max_payload)
{
	memset(h, 0, sizeof(*h));
	if (get_unaligned_be32(in) != M3L_MAGIC)
		return "bad magic";
	if (get_unaligned_be16(in + 4) != M3L_VERSION)
		return "bad version";
	h->cmd = get_unaligned_be16(in + 6);
	h->flags = get_unaligned_be16(in + 8);
	h->priv = (s16)get_unaligned_be16(in + 10);
	h->dcid = (s32)get_unaligned_be32(in + 12);
	h->src = (s32)get_unaligned_be32(in + 16);
	h->dst = (s32)get_unaligned_be32(in + 20);
	h->snode = (s32)get_unaligned_be32(in + 24);
	h->dnode = (s32)get_unaligned_be32(in + 28);
	h->rcode = (s32)get_unaligned_be32(in + 32);
	h->len = get_unaligned_be32(in + 36);
	h->count = get_unaligned_be32(in + 40);
	h->seq = get_unaligned_be64(in + 48);
	h->ack = get_unaligned_be64(in + 56);
	h->timestamp = get_unaligned_be64(in + 64);
	h->addr = get_unaligned_be64(in + 72);
	*lseq = get_unaligned_be64(in + 80);
	if (!h->cmd || h->cmd > M3_CMD_MAX)
		return "bad command";
	if (get_unaligned_be32(in + 44))
		return "reserved field not zero";
	if (h->len > max_payload)
		return "payload too long";
	if (h->snode != peer || h->dnode != m3_dvs.node_id)
		return "wrong node";
	return NULL;
}

/* HMAC-SHA-512/256 of header and payload */
static int m3_link_mac(struct crypto_shash *tfm, const u8 *hdr,
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
static int m3_link_send(struct m3_link *l, const struct m3_rhdr *h,
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

static void m3_link_flush_node(int node, bool wait)
{
	struct m3_node *n = &m3_nodes[node];
	int rounds = M3L_FLUSH_ROUNDS;
	struct m3_link *l;

	do {
		spin_lock(&m3_rmt_lock);
		l = n->tx_link;
		if (l)
			kref_get(&l->ref);
		spin_unlock(&m3_rmt_lock);
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
		/*
		 * Cleared before the queue is read (the barrier orders the two):
		 * a frame queued after our look sets the bit again.
		 */
		clear_bit(node, m3_tx_pending);
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

static void m3_link_sweep_fn(struct work_struct *work)
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

/* ---- RX ---- */

static void m3_link_data_ready(struct sock *sk)
{
	struct m3_link *l;

	read_lock_bh(&sk->sk_callback_lock);
	l = sk->sk_user_data;
	if (l && !READ_ONCE(l->dead))
		queue_work(m3_link_wq, &l->rx_work);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void m3_link_state_change(struct sock *sk)
{
	void (*prev)(struct sock *sk) = NULL;
	struct m3_link *l;

	read_lock_bh(&sk->sk_callback_lock);
	l = sk->sk_user_data;
	if (l) {
		prev = l->saved_state_change;
		if (!READ_ONCE(l->dead))
			queue_work(m3_link_wq, &l->rx_work);
	}
	read_unlock_bh(&sk->sk_callback_lock);
	if (prev)
		prev(sk);
}

/* into @buf up to @len bytes: >0 read, -EAGAIN none yet, 0 end of stream */
static int m3_link_recv(struct m3_link *l, void *buf, size_t len)
{
	struct kvec iov = { buf, len };
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT };

	return kernel_recvmsg(l->sock, &msg, &iov, 1, len, MSG_DONTWAIT);
}

static int m3_link_hello_ack(struct m3_link *l, const struct m3_rhdr *in)
{
	struct m3_rhdr h = {
		.cmd = M3_CMD_HELLO_ACK, .dcid = -1, .src = M3_NONE,
		.dst = M3_NONE, .snode = m3_dvs.node_id, .dnode = l->node,
		.priv = M3_PRIV_USER, .seq = in->seq, .ack = in->seq,
		.timestamp = ktime_get_real_ns(),
	};
	int ret;

	mutex_lock(&l->tx_mutex);
	ret = m3_link_send(l, &h, NULL, false);
	mutex_unlock(&l->tx_mutex);
	return ret;
}

static void m3_link_refuse(struct m3_link *l, const char *why)
{
	struct m3_node *n = &m3_nodes[l->node];

	spin_lock(&m3_rmt_lock);
	n->link_rejected++;
	spin_unlock(&m3_rmt_lock);
	/* as the receiver proxy on a bad frame: down, and the peer told */
	m3_link_kill(l, M3L_DOWN_RESET, why);
}

/*
 * Read on: 1 a frame was handled (or bytes read), 0 nothing to read now,
 * -1 the link was killed.
 */
static int m3_link_rx_step(struct m3_link *l)
{
	struct m3_node *n = &m3_nodes[l->node];
	u32 mac_len = l->secure ? M3L_MAC_LEN : 0;
	u8 want[M3L_MAC_LEN];
	const char *why;
	u32 rx_payload;
	void *body;
	int ret;

	if (l->hdr_got < M3L_HDR_LEN) {
		ret = m3_link_recv(l, l->hdr + l->hdr_got,
				   M3L_HDR_LEN - l->hdr_got);
		if (ret <= 0)
			goto recv_end;
		l->hdr_got += ret;
		if (l->hdr_got < M3L_HDR_LEN)
			return 1;
		spin_lock(&m3_rmt_lock);
		rx_payload = n->rx_payload;
		spin_unlock(&m3_rmt_lock);
		why = m3_link_decode(l->hdr, &l->h, &l->h_lseq, l->node,
				     rx_payload);
		if (why) {
			m3_link_refuse(l, why);
			return -1;
		}
		l->body_len = l->h.len + mac_len;
		l->body_got = 0;
		if (l->body_len) {
			l->body = kvmalloc(l->body_len, GFP_KERNEL);
			if (!l->body) {
				m3_link_kill(l, M3L_DOWN_RESET, "no memory for a frame");
				return -1;
			}
		}
	}
	if (l->body_got < l->body_len) {
		ret = m3_link_recv(l, l->body + l->body_got,
				   l->body_len - l->body_got);
		if (ret <= 0)
			goto recv_end;
		l->body_got += ret;
		if (l->body_got < l->body_len)
			return 1;
	}
	/* the whole frame: MAC, then sequence, before any field is used */
	if (l->secure) {
		if (m3_link_mac(l->rx_tfm, l->hdr, l->body, l->h.len, want) ||
		    crypto_memneq(want, l->body + l->h.len, M3L_MAC_LEN)) {
			m3_link_refuse(l, "authentication failed: bad MAC (injected or altered frame)");
			return -1;
		}
	}
	if (l->h_lseq != l->rx_lseq) {
		snprintf(l->why_buf, sizeof(l->why_buf),
			 "replayed or out-of-order frame: link sequence %llu, expected %llu",
			 l->h_lseq, l->rx_lseq);
		m3_link_refuse(l, l->why_buf);
		return -1;
	}
	if (l->h.cmd == M3_CMD_HELLO_ACK) {
		m3_link_refuse(l, "HELLO_ACK on a receiver connection");
		return -1;
	}
	l->rx_lseq++;
	l->hdr_got = 0;
	WRITE_ONCE(l->last_rx, jiffies);
	body = l->body;
	l->body = NULL;
	m3_p2l_frame(n, &l->h, sizeof(l->h) + l->h.len, body, NULL);
	if (l->h.cmd == M3_CMD_HELLO && m3_link_hello_ack(l, &l->h)) {
		m3_link_kill(l, M3L_DOWN_RESET, "write error (HELLO_ACK)");
		return -1;
	}
	return 1;

recv_end:
	if (ret == -EAGAIN)
		return 0;
	/* the peer's sender closed: it knows, nothing to send back */
	m3_link_kill(l, ret ? M3L_DOWN_RESET : M3L_DOWN_PEER,
		     ret ? "read error" : "connection closed by peer");
	return -1;
}

static void m3_link_rx_fn(struct work_struct *work)
{
	struct m3_link *l = container_of(work, struct m3_link, rx_work);
	int budget = M3L_RX_BUDGET, ret = 1;

	while (!READ_ONCE(l->dead) && budget-- > 0) {
		ret = m3_link_rx_step(l);
		if (ret <= 0)
			break;
	}
	if (ret > 0 && !READ_ONCE(l->dead))
		queue_work(m3_link_wq, &l->rx_work);	/* fair to others */
	/* the answers the frames made (SEND_ACKs, replies) go out now */
	m3_links_flush();
}

static void m3_link_silence_fn(struct work_struct *work)
{
	struct m3_link *l = container_of(to_delayed_work(work), struct m3_link,
					 silence_work);

	if (READ_ONCE(l->dead))
		return;
	if (time_after(jiffies, READ_ONCE(l->last_rx) + l->timeout)) {
		/* as the receiver proxy: down, and the peer told */
		m3_link_kill(l, M3L_DOWN_RESET, "peer silent for the timeout");
		return;
	}
	queue_delayed_work(m3_link_wq, &l->silence_work,
			   max(l->timeout / 4, 1UL));
}

/* ---- link_set, link_hello ---- */

static struct crypto_shash *m3_link_tfm(const u8 *key)
{
	struct crypto_shash *tfm = crypto_alloc_shash("hmac(sha512)", 0, 0);

	if (IS_ERR(tfm))
		return tfm;
	if (crypto_shash_setkey(tfm, key, M3_LINK_KEY_LEN)) {
		crypto_free_shash(tfm);
		return ERR_PTR(-EINVAL);
	}
	return tfm;
}

static struct m3_link *m3_link_new(struct m3_link_set *a, struct socket *sock)
{
	struct m3_link *l = kzalloc(sizeof(*l), GFP_KERNEL);
	int ret;

	if (!l)
		return ERR_PTR(-ENOMEM);
	kref_init(&l->ref);
	mutex_init(&l->tx_mutex);
	INIT_WORK(&l->kill_work, m3_link_kill_fn);
	INIT_WORK(&l->free_work, m3_link_free_fn);
	INIT_WORK(&l->rx_work, m3_link_rx_fn);
	INIT_DELAYED_WORK(&l->silence_work, m3_link_silence_fn);
	l->node = a->node_id;
	l->dir = a->dir;
	l->secure = a->flags & M3_LINKF_SECURE;
	l->tx_lseq = a->tx_lseq;
	l->rx_lseq = a->rx_lseq;
	l->timeout = max(msecs_to_jiffies(a->timeout_ms), 1UL);
	l->last_rx = jiffies;
	if (l->secure) {
		l->tx_tfm = m3_link_tfm(a->ktx);
		if (IS_ERR(l->tx_tfm)) {
			ret = PTR_ERR(l->tx_tfm);
			l->tx_tfm = NULL;
			goto fail;
		}
		if (a->dir == M3_LINK_RX) {
			l->rx_tfm = m3_link_tfm(a->krx);
			if (IS_ERR(l->rx_tfm)) {
				ret = PTR_ERR(l->rx_tfm);
				l->rx_tfm = NULL;
				goto fail;
			}
		}
	}
	l->sock = sock;
	return l;
fail:
	m3_link_free_fn(&l->free_work);
	return ERR_PTR(ret);
}

/* RX: frames are read from the socket's callbacks from now on */
static void m3_link_hook(struct m3_link *l)
{
	struct sock *sk = l->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	l->saved_data_ready = sk->sk_data_ready;
	l->saved_state_change = sk->sk_state_change;
	sk->sk_user_data = l;
	sk->sk_data_ready = m3_link_data_ready;
	sk->sk_state_change = m3_link_state_change;
	write_unlock_bh(&sk->sk_callback_lock);
	/* what arrived before the hook */
	queue_work(m3_link_wq, &l->rx_work);
	queue_delayed_work(m3_link_wq, &l->silence_work,
			   max(l->timeout / 4, 1UL));
}

int m3_link_set(struct m3_link_set *a)
{
	struct m3_link *l = NULL, **slot;
	struct socket *sock = NULL;
	struct m3_node *n;
	int ret;

	if ((a->dir != M3_LINK_TX && a->dir != M3_LINK_RX) || a->pad ||
	    (a->flags & ~M3_LINKF_SECURE) || a->node_id < 0 ||
	    a->node_id >= M3_MAX_NODES || a->node_id == m3_dvs.node_id)
		return -EINVAL;
	if (a->fd >= 0) {
		if (!a->timeout_ms)
			return -EINVAL;
		sock = sockfd_lookup(a->fd, &ret);
		if (!sock)
			return ret;
		ret = -EPROTOTYPE;
		if (sock->type != SOCK_STREAM || !sock->sk ||
		    sock->sk->sk_protocol != IPPROTO_TCP)
			goto out_sock;
		ret = -ENOTCONN;
		if (sock->sk->sk_state != TCP_ESTABLISHED)
			goto out_sock;
		ret = -EBUSY;
		if (sock->sk->sk_user_data)
			goto out_sock;
		l = m3_link_new(a, sock);
		if (IS_ERR(l)) {
			ret = PTR_ERR(l);
			goto out_sock;
		}
		sock = NULL;	/* the link's now */
		/* a send blocked by a peer that stopped reading ends */
		WRITE_ONCE(l->sock->sk->sk_sndtimeo, l->timeout);
	} else if (a->fd != -1) {
		return -EBADF;
	}

	n = &m3_nodes[a->node_id];
	spin_lock(&m3_rmt_lock);
	if ((a->dir == M3_LINK_TX ? n->sender : n->receiver) != current) {
		spin_unlock(&m3_rmt_lock);
		ret = m3_my_node(a->dir == M3_LINK_TX) < 0 ? -EPERM : -EINVAL;
		goto out_link;
	}
	slot = a->dir == M3_LINK_TX ? &n->tx_link : &n->rx_link;
	m3_link_detach_locked(slot);
	if (l) {
		*slot = l;
		if (a->dir == M3_LINK_TX && !list_empty(&n->frames))
			set_bit(n->id, m3_tx_pending);
	}
	spin_unlock(&m3_rmt_lock);
	if (l && a->dir == M3_LINK_RX)
		m3_link_hook(l);
	if (l && a->dir == M3_LINK_TX)
		m3_link_flush_node(a->node_id, true);
	return 0;

out_link:
	if (l && !IS_ERR(l))
		m3_link_put(l);
out_sock:
	if (sock)
		sockfd_put(sock);
	return ret;
}

int m3_link_hello(struct m3_link_hello *a)
{
	struct m3_frame *f;
	struct m3_node *n;
	int ret = 0;

	if (a->node_id < 0 || a->node_id >= M3_MAX_NODES)
		return -EINVAL;
	f = m3_frame_alloc(0, GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	m3_frame_prep(f, M3_CMD_HELLO, -1, M3_NONE, M3_PRIV_USER, M3_NONE,
		      a->node_id);
	f->hdr.seq = a->seq;
	f->hdr.count = a->count;
	n = &m3_nodes[a->node_id];
	spin_lock(&m3_rmt_lock);
	if (n->sender != current)
		ret = m3_my_node(true) < 0 ? -EPERM : -EINVAL;
	else if (!n->tx_link || n->tx_link->dead)
		ret = -ENOTCONN;
	else if (n->reset_sender)
		ret = -ECONNRESET;
	else {
		/* behind what is queued: the heartbeat is in order */
		list_add_tail(&f->link, &n->frames);
		n->nr_frames++;
		n->nr_bytes += m3_frame_bytes(f);
		f = NULL;
	}
	spin_unlock(&m3_rmt_lock);
	kvfree(f);
	if (!ret)
		m3_link_flush_node(a->node_id, true);
	return ret;
}

/* /proc/m3ipc/proxies: which path carries the node's frames */
const char *m3_link_path(struct m3_node *n)
{
	if (n->tx_link || n->rx_link)
		return n->tx_link && n->rx_link ? "kernel" : "mixed";
	return "user";
}

int m3_link_init(void)
{
	m3_link_wq = alloc_workqueue("m3ipc_link", WQ_HIGHPRI, 0);
	return m3_link_wq ? 0 : -ENOMEM;
}

/* module exit: every node let go of its links (m3_rmt_exit) */
void m3_link_exit(void)
{
	cancel_delayed_work_sync(&m3_link_sweep);
	/* kill works, then the frees they queue */
	flush_workqueue(m3_link_wq);
	destroy_workqueue(m3_link_wq);
}
