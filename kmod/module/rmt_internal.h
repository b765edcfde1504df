/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rmt_internal.h - what the remote IPC files share: frames, nodes and
 * their lock. The remote side is one concept per file:
 *   rmt_node.c     nodes and proxies: bind, up/down, the node timeout
 *   rmt_frame.c    frames and the sender proxies' queues (get2rmt)
 *   rmt_ipc.c      remote process descriptors and the local callers' calls
 *   rmt_inbound.c  frames from the receiver proxies (put2lcl)
 *   rmt_vcopy.c    remote vcopy, the caller's side
 *   rmt_link.c     the kernel data path: links handed over by the proxies
 *   rmt_link_tx.c  ... frames sealed and sent from the callers' context
 *   rmt_link_rx.c  ... frames read, checked and delivered (data_ready)
 *
 * Model (see kmod/docs/protocol.md, "The model"):
 *  - A remote process is a descriptor in a local slot (p->remote, no task)
 *    whose endpoint carries the remote generation. It is bound by rmtbind
 *    or automatically by the first frame that names it (put2lcl).
 *  - A local caller whose peer is remote queues a frame for the peer's node
 *    and sleeps with M3_PST_RMT set and blocked_on = the descriptor, until
 *    the answer (SEND_ACK, REPLY_MSG, COPYIN_ACK, COPYOUT_DATA) whose ack
 *    equals its request's seq arrives, or the descriptor is unbound (node
 *    down: -EHOSTDOWN).
 *  - A frame from a remote process acts for its descriptor: the descriptor
 *    is queued in the destination's caller_q / waits for its reply exactly
 *    like a local process, but has no waiter: m3_wake() turns into
 *    m3_rmt_answer(), which queues the SEND_ACK for its node.
 *  - Every send ends with a reply or a SEND_ACK, except NOTIFY.
 *
 * Locking: m3_rmt_lock (lock 3 of the order in m3ipc_internal.h) protects
 * m3_nodes[]; it is taken under dc->lock, never the other way round. Frames
 * are kmalloc'ed with GFP_ATOMIC under dc->lock (small ones) or, data
 * frames, kvmalloc'ed with GFP_KERNEL before it (a 64 KiB frame is no
 * order-5 slab then); every frame is freed with kvfree(), fine anywhere.
 */
#ifndef M3_RMT_INTERNAL_H
#define M3_RMT_INTERNAL_H

#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "m3ipc_internal.h"

struct m3_frame {
	struct list_head link;
	struct m3_rhdr hdr;
	u8 data[];
};

enum { M3_NODE_UNKNOWN, M3_NODE_UP, M3_NODE_DOWN };

/*
 * Frames queued for one sender proxy at most: requests beyond
 * M3_RMT_MAX_QUEUE are refused (-ENOBUFS); answers (replies included)
 * cannot be refused (a caller waits for each), so a queue that reaches M3_RMT_MAX_FRAMES means
 * the proxy no longer drains it (its peer stopped reading): the node is
 * declared down, which frees the queue and wakes every local waiter. The
 * peer's own callers end by its node timeout: nothing reaches it either.
 */
#define M3_RMT_MAX_QUEUE	4096
#define M3_RMT_MAX_FRAMES	(2 * M3_RMT_MAX_QUEUE)
/*
 * The same bounds in bytes (headers and payloads), per node (issue 20,
 * point 3): 8192 frames of 64 KiB would be 512 MiB. A request is refused
 * (-ENOBUFS) while M3_RMT_MAX_BYTES are queued; answers that would pass
 * twice that declare the node down, as for frames.
 */
#define M3_RMT_MAX_BYTES	(8U << 20)
#define M3_RMT_MAX_ANSWER_BYTES	(2 * M3_RMT_MAX_BYTES)

struct m3_node {
	int id;
	int state;			/* M3_NODE_* */
	struct task_struct *sender;	/* reference held, or NULL */
	struct task_struct *receiver;
	pid_t spid, rpid;
	/*
	 * Payload limits (issue 20): @rx_payload is what our receiver proxy
	 * accepts (proxy_bind), the bound of frames in; @max_payload is what
	 * the link negotiated, the bound of frames out: the smaller of ours
	 * and the one the peer's HELLO announces (count), the protocol's
	 * minimum from proxy_bind until a HELLO said it.
	 */
	u32 rx_payload;
	u32 max_payload;
	struct list_head frames;	/* for the sender proxy, FIFO */
	unsigned int nr_frames;
	unsigned int nr_bytes;		/* of those frames: m3_frame_bytes() */
	wait_queue_head_t wq;		/* get2rmt sleeps here */
	u64 frames_out, bytes_out, frames_in, bytes_in;
	u64 rejected;			/* reported by the receiver (RSTATS) */
	unsigned long last_hb;		/* jiffies of the last frame in */
	struct work_struct down_work;	/* unbinds descriptors after a down */
	bool reset_sender;		/* next get2rmt: -ECONNRESET (see uapi) */
	unsigned int downs;		/* times marked down (m3_rmt_lock) */
	/* downs whose descriptors were unbound (admin mutex) */
	unsigned int downs_done;
	/* the kernel data path (rmt_link.c): NULL while the proxies carry it */
	struct m3_link *tx_link, *rx_link;
	u64 link_rejected;		/* frames the RX link refused */
};


extern spinlock_t m3_rmt_lock;
extern struct m3_node m3_nodes[M3_MAX_NODES];

/* what a queued frame counts against its node's byte bound */
static inline unsigned int m3_frame_bytes(const struct m3_frame *f)
{
	return sizeof(*f) + f->hdr.len;
}

/* rmt_frame.c */
bool m3_is_request(unsigned int cmd);
unsigned int m3_refusal_cmd(unsigned int cmd);
struct m3_frame *m3_frame_alloc(u32 len, gfp_t gfp);
void m3_frame_prep(struct m3_frame *f, unsigned int cmd, int dcid,
		   s32 src_ep, int priv, s32 dst_ep, int node);
int m3_queue(int node, struct m3_frame *f);
void m3_answer(unsigned int cmd, int dcid, s32 src_ep, s32 dst_ep,
	       int node, u64 ack, int rcode, struct m3_frame *pre);
int m3_ms_to_jiffies(s32 ms, long *j);
void m3_free_frames(struct list_head *gone);
int m3_my_node(bool sender);

/* rmt_link.c */
struct m3_link;
void m3_link_note_frame(struct m3_node *n);
void m3_link_detach_locked(struct m3_link **slot);
const char *m3_link_path(struct m3_node *n);

/* rmt_inbound.c */
int m3_p2l_frame(struct m3_node *n, struct m3_rhdr *h, u32 total,
		 void *kdata, const void __user *upay);

/* rmt_node.c */
void m3_node_link_down(int node, bool reset_sender, const char *why);
bool m3_node_mark_down(struct m3_node *n, bool drop_proxies,
		       bool reset_sender, struct list_head *gone);
int m3_node_up_locked(struct m3_node *n);

/* rmt_ipc.c */
extern unsigned int rmt_nowait_ms;
struct m3_proc *m3_rmt_bind_locked(struct m3_dc *dc, s32 ep, int node,
				   bool admin, const char *name, int *err);
struct m3_dc *m3_dc_get(int dcid);

#endif /* M3_RMT_INTERNAL_H */
