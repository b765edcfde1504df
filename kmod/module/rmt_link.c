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
 * with the kernel's hmac(sha512), the faster implementation here.
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
#include <crypto/hash.h>
#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "rmt_link.h"

struct workqueue_struct *m3_link_wq;
unsigned long m3_tx_pending[BITS_TO_LONGS(M3_MAX_NODES)];
DECLARE_DELAYED_WORK(m3_link_sweep, m3_link_sweep_fn);

static void m3_link_free_fn(struct work_struct *work)
{
	struct m3_link *l = container_of(work, struct m3_link, free_work);

	if (l->sock)
		sockfd_put(l->sock);
	if (l->tx_tfm)
		crypto_free_shash(l->tx_tfm);
	if (l->rx_tfm)
		crypto_free_shash(l->rx_tfm);
	kvfree(l->rbuf);
	kfree_sensitive(l);
}

static void m3_link_release(struct kref *ref)
{
	struct m3_link *l = container_of(ref, struct m3_link, ref);

	queue_work(m3_link_wq, &l->free_work);
}

void m3_link_put(struct m3_link *l)
{
	kref_put(&l->ref, m3_link_release);
}

/* a reference to the link a node holds in @slot (tx_link, rx_link), or NULL */
struct m3_link *m3_link_get(struct m3_link **slot)
{
	struct m3_link *l;

	spin_lock(&m3_rmt_lock);
	l = *slot;
	if (l)
		kref_get(&l->ref);
	spin_unlock(&m3_rmt_lock);
	return l;
}

/*
 * Kill @l once, from any context: its kill work closes it and takes the
 * node down as @down says (the reason @why is logged).
 */
void m3_link_kill(struct m3_link *l, int down, const char *why)
{
	if (xchg(&l->dead, true))
		return;
	l->down = down;
	l->why = why;
	kref_get(&l->ref);		/* the kill work's */
	queue_work(m3_link_wq, &l->kill_work);
}

void m3_link_unhook(struct m3_link *l)
{
	struct sock *sk = l->sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	if (sk->sk_user_data == l) {
		sk->sk_user_data = NULL;
		sk->sk_data_ready = l->saved_data_ready;
		sk->sk_state_change = l->saved_state_change;
	}
	write_unlock_bh(&sk->sk_callback_lock);
	m3_link_rx_unhooked(l);
}

static void m3_link_kill_fn(struct work_struct *work)
{
	struct m3_link *l = container_of(work, struct m3_link, kill_work);

	if (l->dir == M3_LINK_RX) {
		m3_link_unhook(l);
		cancel_delayed_work_sync(&l->rx_work);
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

/*
 * Which HMAC-SHA-512 the links use: the faster here of the crypto API's
 * own pick (by priority: sha512-avx2 on these CPUs) and the plain C one,
 * measured at load (m3_link_pick_hmac). Under TCG every AVX2 instruction
 * is emulated, and the C code may well win; on hardware the vector code.
 */
static char link_hmac[CRYPTO_MAX_ALG_NAME] = "";
module_param_string(link_hmac, link_hmac, sizeof(link_hmac), 0444);
MODULE_PARM_DESC(link_hmac,
		 "the HMAC-SHA-512 the kernel links use (the fastest here, measured at load; empty: none)");
static char link_hmac_ns[128] = "";
module_param_string(link_hmac_ns, link_hmac_ns, sizeof(link_hmac_ns), 0444);
MODULE_PARM_DESC(link_hmac_ns,
		 "what each candidate cost at load: driver and ns per MAC of a message frame");

#define M3L_PICK_TURNS	4	/* alternating, so both pay TCG's warm-up alike */
#define M3L_PICK_ROUNDS	16

static void m3_link_pick_hmac(void)
{
	static const char *const cand[] = {
		"hmac(sha512)", "hmac(sha512-generic)",
	};
	struct crypto_shash *tfm[ARRAY_SIZE(cand)];
	u8 key[M3_LINK_KEY_LEN] = { 0 }, frame[M3L_HDR_LEN + 64] = { 0 };
	u64 ns[ARRAY_SIZE(cand)], best = U64_MAX, t0;
	u8 mac[M3L_MAC_LEN];
	unsigned int i, r, t;
	size_t used = 0;

	for (i = 0; i < ARRAY_SIZE(cand); i++) {
		ns[i] = U64_MAX;
		tfm[i] = crypto_alloc_shash(cand[i], 0, 0);
		if (IS_ERR(tfm[i]))
			continue;
		if (crypto_shash_setkey(tfm[i], key, sizeof(key)) ||
		    m3_link_mac(tfm[i], frame, frame + M3L_HDR_LEN, 64, mac)) {
			crypto_free_shash(tfm[i]);
			tfm[i] = ERR_PTR(-EINVAL);
		}
	}
	/* the best of several turns each: a turn may share the CPU */
	for (t = 0; t < M3L_PICK_TURNS; t++) {
		for (i = 0; i < ARRAY_SIZE(cand); i++) {
			if (IS_ERR(tfm[i]))
				continue;
			t0 = ktime_get_ns();
			for (r = 0; r < M3L_PICK_ROUNDS; r++)
				m3_link_mac(tfm[i], frame, frame + M3L_HDR_LEN,
					    64, mac);
			ns[i] = min(ns[i], div_u64(ktime_get_ns() - t0,
						   M3L_PICK_ROUNDS));
		}
	}
	for (i = 0; i < ARRAY_SIZE(cand); i++) {
		if (IS_ERR(tfm[i]))
			continue;
		used += scnprintf(link_hmac_ns + used,
				  sizeof(link_hmac_ns) - used, "%s%s %llu",
				  used ? " " : "",
				  crypto_shash_driver_name(tfm[i]), ns[i]);
		if (ns[i] < best) {
			best = ns[i];
			strscpy(link_hmac, cand[i], sizeof(link_hmac));
		}
		crypto_free_shash(tfm[i]);
	}
	if (!link_hmac[0])
		pr_info("m3ipc: no hmac(sha512) in this kernel: links stay with the proxies\n");
}

/* the HMAC the links use ("" when none), for rmt_link_seal.c */
const char *m3_link_hmac_name(void)
{
	return link_hmac;
}

static struct crypto_shash *m3_link_tfm(const u8 *key)
{
	struct crypto_shash *tfm;

	if (!link_hmac[0])
		return ERR_PTR(-ENOENT);
	tfm = crypto_alloc_shash(link_hmac, 0, 0);

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
	mutex_init(&l->rx_mutex);
	INIT_WORK(&l->kill_work, m3_link_kill_fn);
	INIT_WORK(&l->free_work, m3_link_free_fn);
	INIT_DELAYED_WORK(&l->rx_work, m3_link_rx_fn);
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
	if (a->dir == M3_LINK_RX) {
		l->rbuf = kvmalloc(M3L_RBUF_LEN, GFP_KERNEL);
		ret = -ENOMEM;
		if (!l->rbuf)
			goto fail;
	}
	l->sock = sock;
	return l;
fail:
	m3_link_free_fn(&l->free_work);
	return ERR_PTR(ret);
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
		/* ours too: the node may let go of it once the lock is free */
		kref_get(&l->ref);
		if (a->dir == M3_LINK_TX && !list_empty(&n->frames))
			set_bit(n->id, m3_tx_pending);
	}
	spin_unlock(&m3_rmt_lock);
	if (!l)
		return 0;
	if (a->dir == M3_LINK_RX)
		m3_link_hook(l);
	else
		m3_link_flush_node(a->node_id, true);
	m3_link_put(l);
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
	if (!m3_link_wq)
		return -ENOMEM;
	m3_link_pick_hmac();
	return 0;
}

/* module exit: every node let go of its links (m3_rmt_exit) */
void m3_link_exit(void)
{
	cancel_delayed_work_sync(&m3_link_sweep);
	/* kill works, then the frees they queue */
	flush_workqueue(m3_link_wq);
	destroy_workqueue(m3_link_wq);
}
