/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rmt_link.h - the link object the kernel data path's files share
 * (rmt_link.c: lifetime, link_set, link_hello; rmt_link_tx.c: sealing and
 * sending; rmt_link_rx.c: reading, checking and delivering). See
 * rmt_link.c for the model, the lifetime rules and the locks.
 */
#ifndef M3_RMT_LINK_H
#define M3_RMT_LINK_H

#include <crypto/hash.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/workqueue.h>

#include "rmt_internal.h"

#define M3L_MAGIC	0x4d334950u	/* "M3IP", wire.h */
#define M3L_VERSION	2
#define M3L_HDR_LEN	88
#define M3L_MAC_LEN	32
#define M3L_BATCH	16	/* frames per sendmsg round */
/* an RX link's read buffer: the largest frame fits */
#define M3L_RBUF_LEN	(M3L_HDR_LEN + M3_RMT_MAX_PAYLOAD + M3L_MAC_LEN)
#define M3L_RX_BUDGET	64	/* frames per rx work run, then requeued */
/*
 * With no process waiting for the node's frames, the rx work reads them
 * this late: a busy receiver reads them itself at its next wait first,
 * in a batch, instead of being preempted by the work for each frame.
 */
#define M3L_RX_DEFER	1	/* jiffies */
#define M3L_SERVE_ROUNDS 4	/* a waiter's reads before it sleeps */
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
	struct delayed_work rx_work;	/* the reader when no process is */
	struct delayed_work silence_work;
	struct mutex rx_mutex;		/* one reader of the socket at a time */
	unsigned long rx_more;		/* bit 0: data came since a reader looked */
	bool hooked;
	u8 *rbuf;			/* M3L_RBUF_LEN bytes read from the socket */
	u32 roff, rlen;			/* not used yet: rbuf[roff, roff + rlen) */
	bool decoded;			/* the header at roff is in h, h_lseq */
	struct m3_rhdr h;
	u64 h_lseq;
};

extern struct workqueue_struct *m3_link_wq;
extern unsigned long m3_tx_pending[BITS_TO_LONGS(M3_MAX_NODES)];
extern struct delayed_work m3_link_sweep;

/* rmt_link.c */
void m3_link_put(struct m3_link *l);
struct m3_link *m3_link_get(struct m3_link **slot);
void m3_link_kill(struct m3_link *l, int down, const char *why);
void m3_link_unhook(struct m3_link *l);
const char *m3_link_hmac_name(void);

/* rmt_link_tx.c */
void m3_link_encode(const struct m3_rhdr *h, u64 lseq, u8 out[M3L_HDR_LEN]);
int m3_link_mac(struct crypto_shash *tfm, const u8 *hdr, const void *payload,
		u32 len, u8 mac[M3L_MAC_LEN]);
int m3_link_send(struct m3_link *l, const struct m3_rhdr *h,
		 const void *payload, bool more);
void m3_link_flush_node(int node, bool wait);
void m3_link_sweep_fn(struct work_struct *work);

/* rmt_link_rx.c */
void m3_link_hook(struct m3_link *l);
void m3_link_rx_unhooked(struct m3_link *l);
void m3_link_rx_fn(struct work_struct *work);
void m3_link_silence_fn(struct work_struct *work);

#endif /* M3_RMT_LINK_H */
