// SPDX-License-Identifier: GPL-2.0
/*
 * rmt_link_rx.c - the kernel data path, in: a node's RX link read from the
 * socket's data_ready in a work item; each frame's header, MAC and link
 * sequence checked before any field is used, then delivered as put2lcl
 * would (rmt_link.c has the model).
 */
#include <crypto/algapi.h>
#include <linux/bitmap.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <asm/unaligned.h>
#include <net/sock.h>

#include "rmt_link.h"

/* nodes whose RX link has data no process was woken for (M3L_RX_DEFER) */
static unsigned long m3_rx_pending[BITS_TO_LONGS(M3_MAX_NODES)];

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

static void m3_link_rx_kick(struct m3_link *l);

static void m3_link_data_ready(struct sock *sk)
{
	struct m3_link *l;

	read_lock_bh(&sk->sk_callback_lock);
	l = sk->sk_user_data;
	if (l && !READ_ONCE(l->dead))
		m3_link_rx_kick(l);
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
			m3_link_rx_kick(l);
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
 * -1 the link was killed. The socket is read in large pieces into the
 * link's buffer (one recvmsg for a burst of frames, as the receiver proxy
 * reads), and the frames are taken from there.
 */
static int m3_link_rx_step(struct m3_link *l)
{
	struct m3_node *n = &m3_nodes[l->node];
	u32 mac_len = l->secure ? M3L_MAC_LEN : 0;
	u8 want[M3L_MAC_LEN];
	const u8 *f;
	const char *why;
	u32 rx_payload, need = M3L_HDR_LEN;
	void *body = NULL;
	int ret;

	if (l->rlen >= M3L_HDR_LEN) {
		if (!l->decoded) {
			spin_lock(&m3_rmt_lock);
			rx_payload = n->rx_payload;
			spin_unlock(&m3_rmt_lock);
			why = m3_link_decode(l->rbuf + l->roff, &l->h,
					     &l->h_lseq, l->node, rx_payload);
			if (why) {
				m3_link_refuse(l, why);
				return -1;
			}
			l->decoded = true;
		}
		need = M3L_HDR_LEN + l->h.len + mac_len;
	}
	if (l->rlen < need) {
		/* the frame must fit from roff: move what is left to the front */
		if (l->roff && l->roff + need > M3L_RBUF_LEN) {
			memmove(l->rbuf, l->rbuf + l->roff, l->rlen);
			l->roff = 0;
		}
		ret = m3_link_recv(l, l->rbuf + l->roff + l->rlen,
				   M3L_RBUF_LEN - l->roff - l->rlen);
		if (ret <= 0)
			goto recv_end;
		l->rlen += ret;
		return 1;
	}
	/* the whole frame: MAC, then sequence, before any field is used */
	f = l->rbuf + l->roff;
	if (l->secure) {
		if (m3_link_mac(l->rx_tfm, f, f + M3L_HDR_LEN, l->h.len, want) ||
		    crypto_memneq(want, f + M3L_HDR_LEN + l->h.len,
				  M3L_MAC_LEN)) {
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
	if (l->h.len) {
		/* the payload is the receiving end's (m3_p2l_frame frees it) */
		body = kvmalloc(l->h.len, GFP_KERNEL);
		if (!body) {
			m3_link_kill(l, M3L_DOWN_RESET, "no memory for a frame");
			return -1;
		}
		memcpy(body, f + M3L_HDR_LEN, l->h.len);
	}
	l->rx_lseq++;
	l->decoded = false;
	l->roff += need;
	l->rlen -= need;
	if (!l->rlen)
		l->roff = 0;
	WRITE_ONCE(l->last_rx, jiffies);
	m3_p2l_frame(n, &l->h, sizeof(l->h) + l->h.len, body, NULL);
	if (l->h.cmd == M3_CMD_HELLO && m3_link_hello_ack(l, &l->h)) {
		m3_link_kill(l, M3L_DOWN_RESET, "write error (HELLO_ACK)");
		return -1;
	}
	return 1;

recv_end:
	if (ret == -EAGAIN)
		return 0;
	/*
	 * The connection ended (closed or reset by the peer's sender): the
	 * peer knows, nothing to send back, as for the receiver proxy.
	 */
	m3_link_kill(l, M3L_DOWN_PEER, ret ? "read error" :
		     "connection closed by peer");
	return -1;
}

/*
 * The rx work goes on at once, if the link is still hooked: the works of a
 * link are armed only under sk_callback_lock while it is hooked, so the
 * kill's unhook (the write lock) comes after, and its cancel sees them.
 */
static void m3_link_rx_later(struct m3_link *l)
{
	struct sock *sk = l->sock->sk;

	read_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data == l)
		mod_delayed_work(m3_link_wq, &l->rx_work, 0);
	read_unlock_bh(&sk->sk_callback_lock);
}

/*
 * Read and deliver what @l has, in the caller's context: a poller's (the
 * process woken for it) or the rx work's. One reader at a time; a reader
 * that finds another leaves it the link, which looks again (rx_more)
 * before it lets go.
 */
static void m3_link_rx_serve(struct m3_link *l)
{
	int budget, ret = 0;

	do {
		if (!mutex_trylock(&l->rx_mutex))
			break;
		clear_bit(l->node, m3_rx_pending);
		clear_bit(0, &l->rx_more);
		/* cleared before reading: data after our last read sets it */
		smp_mb__after_atomic();
		budget = M3L_RX_BUDGET;
		ret = 1;
		while (!READ_ONCE(l->dead) && budget-- > 0) {
			ret = m3_link_rx_step(l);
			if (ret <= 0)
				break;
		}
		mutex_unlock(&l->rx_mutex);
		if (ret > 0 && !READ_ONCE(l->dead)) {
			/* its budget spent: the work goes on, fair to others */
			m3_link_rx_later(l);
			break;
		}
	} while (test_bit(0, &l->rx_more) && !READ_ONCE(l->dead));
	/* the answers the frames made (SEND_ACKs, replies) go out now */
	m3_links_flush();
}

void m3_link_rx_fn(struct work_struct *work)
{
	m3_link_rx_serve(container_of(to_delayed_work(work), struct m3_link,
				      rx_work));
}

/*
 * Pollers (issue 22, point 3: one wakeup per direction). A process that
 * sleeps in m3_wait() for a frame of a node (a remote answer, a receive
 * from ANY or from a remote process) is listed while it sleeps; a link's
 * data_ready wakes one such process instead of the rx work, and that
 * process reads and delivers the link's frames itself, in its own context,
 * before it looks at its own call again: when the frame is its own, that
 * is the only wakeup. With no poller for the link, the rx work reads.
 * m3_poll_lock is taken in softirq (data_ready, under sk_callback_lock),
 * with bottom halves off elsewhere; it is a leaf.
 */
static DEFINE_SPINLOCK(m3_poll_lock);
static LIST_HEAD(m3_pollers);
static atomic_t m3_nr_rx_links = ATOMIC_INIT(0);

/* softirq or process context: someone must read @l */
static void m3_link_rx_kick(struct m3_link *l)
{
	struct m3_poller *p, *any = NULL, *pick = NULL;
	unsigned long flags;

	set_bit(0, &l->rx_more);
	spin_lock_irqsave(&m3_poll_lock, flags);
	list_for_each_entry(p, &m3_pollers, link) {
		if (p->node == l->node) {
			pick = p;
			break;
		}
		if (p->node == M3_POLL_ANY && !any)
			any = p;
	}
	pick = pick ?: any;
	if (pick) {
		list_del_init(&pick->link);
		kref_get(&l->ref);
		pick->kick = l;
		wake_up_process(pick->task);
	}
	spin_unlock_irqrestore(&m3_poll_lock, flags);
	if (!pick) {
		set_bit(l->node, m3_rx_pending);
		queue_delayed_work(m3_link_wq, &l->rx_work, M3L_RX_DEFER);
	}
}

/* does a link of @p's node (of any, for ANY) wait to be read? */
static bool m3_poll_pending(const struct m3_poller *p)
{
	if (p->node == M3_POLL_ANY)
		return !bitmap_empty(m3_rx_pending, M3_MAX_NODES);
	return p->node >= 0 && p->node < M3_MAX_NODES &&
	       test_bit(p->node, m3_rx_pending);
}

/* read what waits on the links @p may be woken for, before it sleeps */
static void m3_poll_read_pending(struct m3_poller *p)
{
	unsigned int node;
	struct m3_link *l;

	for_each_set_bit(node, m3_rx_pending, M3_MAX_NODES) {
		if (p->node != M3_POLL_ANY && p->node != node)
			continue;
		l = m3_link_get(&m3_nodes[node].rx_link);
		if (!l) {
			clear_bit(node, m3_rx_pending);
			continue;
		}
		m3_link_rx_serve(l);
		m3_link_put(l);
	}
}

/*
 * Before the poller sleeps (again): listed, if any link could wake it.
 * False when it must not sleep yet: a link it may be woken for had data
 * nobody read, and it read it (its own call may be done now).
 */
bool m3_poll_arm(struct m3_poller *p)
{
	if (p->node == M3_POLL_NONE || !atomic_read(&m3_nr_rx_links))
		return true;
	if (p->reads < M3L_SERVE_ROUNDS && m3_poll_pending(p)) {
		p->reads++;
		__set_current_state(TASK_RUNNING);
		m3_poll_read_pending(p);
		return false;
	}
	spin_lock_bh(&m3_poll_lock);
	if (list_empty(&p->link) && !p->kick)
		list_add(&p->link, &m3_pollers);
	p->armed = true;
	spin_unlock_bh(&m3_poll_lock);
	return true;
}

/* after it woke, running: off the list; the link it was woken for, read */
void m3_poll_serve(struct m3_poller *p)
{
	struct m3_link *l;

	/* under the lock: a kick in progress finishes before we leave */
	if (!p->armed)
		return;
	spin_lock_bh(&m3_poll_lock);
	list_del_init(&p->link);
	l = p->kick;
	p->kick = NULL;
	p->armed = false;
	spin_unlock_bh(&m3_poll_lock);
	if (!l)
		return;
	m3_link_rx_serve(l);
	m3_link_put(l);
}

/* an RX link that was hooked is not any more: no poller waits for it */
void m3_link_rx_unhooked(struct m3_link *l)
{
	if (xchg(&l->hooked, false))
		atomic_dec(&m3_nr_rx_links);
}

void m3_link_silence_fn(struct work_struct *work)
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

/* RX: frames are read from the socket's callbacks from now on */
void m3_link_hook(struct m3_link *l)
{
	struct sock *sk = l->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	/*
	 * Killed since link_set let go of m3_rmt_lock (its proxies went): its
	 * kill work may have unhooked and cancelled already, so nothing may
	 * be hooked or armed now. Else the kill's unhook waits for this lock,
	 * and its cancel then sees the works armed here.
	 */
	if (READ_ONCE(l->dead)) {
		write_unlock_bh(&sk->sk_callback_lock);
		return;
	}
	l->saved_data_ready = sk->sk_data_ready;
	l->saved_state_change = sk->sk_state_change;
	sk->sk_user_data = l;
	sk->sk_data_ready = m3_link_data_ready;
	sk->sk_state_change = m3_link_state_change;
	l->hooked = true;
	atomic_inc(&m3_nr_rx_links);
	/* what arrived before the hook */
	queue_delayed_work(m3_link_wq, &l->rx_work, 0);
	queue_delayed_work(m3_link_wq, &l->silence_work,
			   max(l->timeout / 4, 1UL));
	write_unlock_bh(&sk->sk_callback_lock);
}

