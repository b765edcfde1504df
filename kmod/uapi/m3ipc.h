/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * m3ipc.h - user-space ABI of the M3-IPC kernel module (/dev/m3ipc).
 *
 * Shared by the module, libm3ipc, the tools, the proxies and (as generated
 * constants) the TypeScript lab. Fixed-width types only; user addresses are
 * carried as __u64, never as pointers. Every struct is 8-byte aligned and has
 * explicit padding, so its layout is the same for 32- and 64-bit callers.
 *
 * ---------------------------------------------------------------------------
 * Endpoints
 * ---------------------------------------------------------------------------
 * A DC has nr_tasks + nr_procs slots; slot numbers (p_nr) run from -nr_tasks
 * to nr_procs - 1 (negative slots are "tasks", as in MINIX). An endpoint is
 *
 *     endpoint = (gen << 16) | (p_nr + M3_SLOT_BIAS)          (always > 0)
 *
 * where gen (1..M3_GEN_MAX) is the slot's generation: it is incremented each
 * time the slot is bound, so an endpoint kept from an earlier binding of the
 * same slot is detected (-ESTALE) and never reaches the new owner.
 * Endpoints with gen 0 are never valid; the special endpoints below use that
 * space. They are only meaningful inside one DC.
 *
 * ---------------------------------------------------------------------------
 * Errno table: each condition maps to exactly one negative errno. Calls return
 * 0 (or a non-negative value such as an endpoint or dcid) on success.
 * ---------------------------------------------------------------------------
 *  condition                                                         errno
 *  destination died: the process the caller sends/sendrecs/notifies/
 *    replies/vcopies to is gone (unbound or exited), before or while
 *    the caller is blocked on it (incl. waiting for its reply)     -EPIPE
 *  source died: the specific process the caller receives from (or
 *    vcopy source) is gone, before or while the caller waits       -ECONNRESET
 *  not bound: the caller is not bound to a DC, or the caller was
 *    unbound (unbind, dc_end, dvs_end, rmmod) while blocked, or an
 *    admin call names a free slot                                  -ENOTCONN
 *  stale endpoint: the slot was re-bound (other generation)        -ESTALE
 *  deadlock: the destination is (transitively) blocked sending to,
 *    or waiting for a reply from, the caller; or send/receive to SELF -EDEADLK
 *  no proxy for the destination's node (remote IPC)                -ENOLINK
 *  node down: the peer's node was declared down (its proxy died, was
 *    unbound, or heartbeats stopped) before or while the caller
 *    waited on a process of that node                              -EHOSTDOWN
 *  remote IPC: the node is not a member of the DC                  -ENONET
 *  remote IPC: the endpoint is a remote process where only a local
 *    one is allowed (a frame addressed to a non-local process)     -EREMOTE
 *  remote IPC: a frame from a proxy is malformed (put2lcl), or a
 *    remote answer carries an impossible result                   -EPROTO
 *  remote IPC: the get2rmt buffer is too small for the next frame  -EMSGSIZE
 *  remote IPC: 4096 frames or 8 MiB already wait for the node's
 *    sender proxy (it does not drain its queue)                    -ENOBUFS
 *  timeout: a timeout > 0 expired                                  -ETIMEDOUT
 *  would block: timeout 0 and the call cannot complete at once     -EAGAIN
 *  permission: an M3 privilege rule forbids the call, or a vcopy
 *    touches a non-dumpable process (ptrace's rule)               -EACCES
 *  admin call without CAP_SYS_ADMIN (or self-bind not allowed)     -EPERM
 *  bad DC: dcid out of range or no such DC                         -ENXIO
 *  DVS not initialized (dvs_init not called)                       -ENODEV
 *  bad endpoint: malformed endpoint, slot out of range, special
 *    endpoint where it is not allowed                              -EBADSLT
 *  busy: slot occupied, task already bound, DVS already
 *    initialized, DC id or name in use                             -EBUSY
 *  reply to a process that is not waiting for the caller's reply   -EBADE
 *  no such pid (bind)                                              -ESRCH
 *  invalid argument (limits, names, flags, priv level, timeout<-1) -EINVAL
 *  bad user pointer / unmapped memory in vcopy                     -EFAULT
 *  unknown ioctl or wrong argument size                            -ENOTTY
 *  interrupted by a signal while blocked, after the call had an
 *    effect or (bounded calls) when a handler ran; else restarted   -EINTR
 *  out of memory                                                   -ENOMEM
 *
 * ---------------------------------------------------------------------------
 * Privilege levels (lower number = more privileged). A newly bound process
 * gets M3_PRIV_USER; an admin raises it with setpriv. A bound process may
 * lower its own privilege (setpriv SELF with a level >= its current one).
 *   NOTIFY : priv(src) in {HARDWARE, KERNEL}, priv(dst) in {KERNEL, TASK}
 *            and priv(src) < priv(dst)
 *   SEND   : priv(src) in {KERNEL, TASK, SERVER} and priv(src) <= priv(dst)
 *   SENDREC: src USER: priv(dst) < USER; otherwise priv(src) >= priv(dst)
 *   RECEIVE/RCVRQST (and the receive half of reply_receive): priv < USER
 *   REPLY  : anyone holding a request of a client that waits for it
 *   VCOPY  : priv(caller) == KERNEL, and neither side a non-dumpable
 *            process (setuid exec, PR_SET_DUMPABLE 0) unless the caller
 *            has CAP_SYS_PTRACE (never a remote caller)
 * Violations return -EACCES.
 *
 * A DC created with M3_DCF_COMPAT keeps the rules of M3-IPC 1.6, whose
 * programs send, receive and vcopy freely: a newly bound process (and a
 * remote descriptor) gets M3_PRIV_KERNEL instead of USER, and NOTIFY follows
 * the original's only rule: the notifier must be a system process, a slot
 * p_nr < nr_sysprocs - nr_tasks (the tasks and the first procs), to any
 * destination. An admin may still change levels with setpriv. A send to a
 * process waiting for the caller's reply (its sendrec) is that reply, as a
 * 1.6 server answers with send.
 * ---------------------------------------------------------------------------
 */
#ifndef _UAPI_M3IPC_H
#define _UAPI_M3IPC_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define M3_DEVICE		"/dev/m3ipc"
#define M3_ABI_VERSION		2	/* 2: dc_spec.nr_sysprocs, WAIT4BIND,
					 * vcopy.timeout_ms, ioctl directions */

/* Limits */
#define M3_MAX_NODES		64	/* node ids 0..63 (64-bit bitmaps) */
#define M3_MAX_DCS		32	/* dcids 0..M3_MAX_DCS-1 */
#define M3_MAX_TASKS		256	/* per DC, slots -nr_tasks..-1 */
#define M3_MAX_PROCS		4096	/* per DC, slots 0..nr_procs-1 */
#define M3_DC_NAME_LEN		16	/* including the NUL; [A-Za-z0-9_.-] */

/* Defaults used when a dvs_init limit is 0 */
#define M3_DEF_DCS		M3_MAX_DCS
#define M3_DEF_TASKS		M3_MAX_TASKS
#define M3_DEF_PROCS		M3_MAX_PROCS

/* Endpoint encoding */
#define M3_SLOT_BIAS		M3_MAX_TASKS
#define M3_GEN_SHIFT		16
#define M3_GEN_MAX		0x7fff
#define M3_ENDPOINT(gen, p_nr) \
	((__s32)(((__u32)(gen) << M3_GEN_SHIFT) | \
		 (__u32)(__u16)((p_nr) + M3_SLOT_BIAS)))
#define M3_EP_GEN(ep)		((int)(((__u32)(ep) >> M3_GEN_SHIFT) & M3_GEN_MAX))
#define M3_EP_SLOT(ep)		((int)((__u32)(ep) & 0xffff) - M3_SLOT_BIAS)

/* Special endpoints (generation 0, never a real endpoint) */
#define M3_ANY			((__s32)0x7ace)	/* receive from anyone */
#define M3_NONE			((__s32)0x6ace)	/* no endpoint */
#define M3_SELF			((__s32)0x8ace)	/* the caller itself */
/* bind: pick the first free slot in 0..nr_procs-1 */
#define M3_ANY_SLOT		((__s32)0x7ace)

/* Privilege levels */
#define M3_PRIV_HARDWARE	0
#define M3_PRIV_KERNEL		1
#define M3_PRIV_TASK		2
#define M3_PRIV_SERVER		3
#define M3_PRIV_USER		4
#define M3_PRIV_DEFAULT		M3_PRIV_USER

/* Timeouts (milliseconds) */
#define M3_TIMEOUT_FOREVER	(-1)
#define M3_TIMEOUT_NOWAIT	0

/* Message */
#define M3_PAYLOAD_LEN		56
struct m3_msg {
	__s32 m_source;		/* set by the kernel: sender's endpoint */
	__s32 m_type;		/* m_type < 0 is reserved for the kernel */
	__u8  payload[M3_PAYLOAD_LEN];
};

/*
 * A notification arrives as a message with m_source = notifier's endpoint,
 * m_type = M3_MTYPE_NOTIFY and a zeroed payload. Notifications from the same
 * notifier coalesce into one pending bit until received. receive() takes
 * pending notifications before queued messages; rcvrqst() never takes them.
 */
#define M3_MTYPE_NOTIFY		(-0x1000)

/* ---- IPC calls (caller must be bound) ---- */

/* send, receive, sendrec, notify, rcvrqst, reply */
struct m3_ipc {
	__s32 ep;		/* dst (send/sendrec/notify/reply) or src|M3_ANY */
	__s32 timeout_ms;	/* -1 forever, 0 no wait, else ms */
				/* (notify and reply never block) */
	__u32 flags;		/* must be 0 */
	__u32 pad;		/* must be 0 */
	struct m3_msg msg;	/* in (send...), out (receive...), in/out sendrec */
};

/* reply to reply_ep (skipped when M3_NONE), then receive from src */
#define M3_RR_RCVRQST		0x1	/* receive half behaves like rcvrqst */
/*
 * The reply half is done: skip it and leave reply_result as it is. The
 * module sets it when a signal stops the receive half after the reply went,
 * so that the call the kernel restarts (SA_RESTART, SIGSTOP/SIGCONT) only
 * receives and never sends the reply twice. After -EINTR the caller's
 * struct still carries it: clear it before using the struct again.
 */
#define M3_RR_REPLIED		0x2
struct m3_reply_rcv {
	__s32 reply_ep;
	__s32 src;		/* M3_ANY or an endpoint */
	__s32 timeout_ms;	/* for the receive half */
	__u32 flags;		/* M3_RR_* */
	__s32 reply_result;	/* out: 0 or the reply's negative errno */
	__u32 pad;
	struct m3_msg reply_msg; /* in */
	struct m3_msg msg;	/* out: the received message */
};

struct m3_vcopy {
	__s32 src_ep;		/* endpoint or M3_SELF */
	__s32 dst_ep;		/* endpoint or M3_SELF */
	__u64 src_addr;
	__u64 dst_addr;
	__u64 len;
	__u64 copied;		/* out: bytes copied (== len on success) */
	__s32 timeout_ms;	/* a copy to/from a remote process: the whole
				 * copy's bound, -1 forever (until the node
				 * goes down), 0 no wait (-EAGAIN), else ms
				 * (-ETIMEDOUT); a local copy never blocks */
	__u32 pad;		/* must be 0 */
};

/* getep: pid 0 = caller; else that task's binding (same DC unless admin) */
struct m3_getep {
	__s32 pid;
	__s32 endpoint;		/* out */
	__s32 dcid;		/* out */
	__s32 p_nr;		/* out */
	__s32 priv;		/* out */
	__s32 node;		/* out */
};

/*
 * wait4bind: the caller sleeps until another process (an admin, typically
 * its parent after fork) binds it, then gets its binding; at once if it is
 * bound already. -EAGAIN with timeout 0, -ETIMEDOUT, -EINTR on a signal,
 * -ENODEV when the DVS is not (or no longer) initialized.
 */
struct m3_wait4bind {
	__s32 timeout_ms;	/* -1 forever, 0 no wait, else ms */
	__s32 endpoint;		/* out */
	__s32 dcid;		/* out */
	__s32 p_nr;		/* out */
};

/* ---- admin calls (CAP_SYS_ADMIN unless noted) ---- */

struct m3_dvs_limits {
	__u32 max_dcs;		/* 1..M3_MAX_DCS, 0 = default */
	__u32 max_tasks;	/* 0..M3_MAX_TASKS per DC, 0 = default */
	__u32 max_procs;	/* 1..M3_MAX_PROCS per DC, 0 = default */
	__u32 flags;		/* must be 0 */
};

struct m3_dvs_init {
	__s32 node_id;		/* 0..M3_MAX_NODES-1 */
	__u32 pad;
	struct m3_dvs_limits limits;	/* in; out: effective limits */
};

/* any caller */
struct m3_dvs_info {
	__u32 abi_version;	/* out: M3_ABI_VERSION */
	__s32 initialized;	/* out: 0/1 */
	__s32 node_id;		/* out */
	__u32 nr_dcs;		/* out */
	struct m3_dvs_limits limits;	/* out */
	__u64 nodes;		/* out: bitmap of known nodes */
	__u64 nr_bound;		/* out: bound slots over all DCs */
};

#define M3_DCF_SELF_BIND	0x1	/* a process may bind itself (no CAP) */
#define M3_DCF_WAKE_AFFINE	0x2	/* woken processes prefer the waker's CPU */
#define M3_DCF_COMPAT		0x4	/* M3-IPC 1.6 rules (see the table above) */
#define M3_DCF_ALL		(M3_DCF_SELF_BIND | M3_DCF_WAKE_AFFINE | \
				 M3_DCF_COMPAT)

struct m3_dc_spec {
	char  name[M3_DC_NAME_LEN];
	__s32 dcid;		/* in: -1 = first free; out: assigned dcid */
	__u32 nr_tasks;		/* 0..limits.max_tasks */
	__u32 nr_procs;		/* 1..limits.max_procs */
	__u32 flags;		/* M3_DCF_* */
	__u64 cpumask;		/* CPUs of bound processes, 0 = all */
	__u64 nodes;		/* in: ignored (local node added); out: bitmap */
	__u32 nr_sysprocs;	/* M3_DCF_COMPAT only (else 0): slots counted
				 * from -nr_tasks that may notify, nr_tasks..
				 * nr_tasks + nr_procs; 0 = nr_tasks */
	__u32 pad;		/* must be 0 */
};

struct m3_dc_ref {
	__s32 dcid;
	__u32 pad;
};

/* any caller: dcid in; the rest out */
struct m3_dc_info {
	__s32 dcid;
	__u32 nr_bound;
	struct m3_dc_spec spec;
};

/*
 * bind pid (0 = caller) into dcid at p_nr (or M3_ANY_SLOT) -> endpoint.
 * Without CAP_SYS_ADMIN only pid 0 / own pid in a DC with M3_DCF_SELF_BIND.
 */
struct m3_bind {
	__s32 dcid;
	__s32 pid;
	__s32 p_nr;
	__s32 endpoint;		/* out */
};

/* unbind endpoint (admin), or M3_SELF / own endpoint (any bound caller) */
struct m3_unbind {
	__s32 dcid;
	__s32 endpoint;
};

struct m3_setpriv {
	__s32 dcid;
	__s32 endpoint;		/* or M3_SELF */
	__s32 priv;		/* M3_PRIV_* */
	__u32 pad;
};

/* proc state bits in m3_proc_info.state (and /proc .../procs "state") */
#define M3_PST_SENDING		0x1	/* blocked sending to send_to */
#define M3_PST_RECEIVING	0x2	/* blocked receiving from getfrom */
#define M3_PST_REPLY_WAIT	0x4	/* sendrec: waiting for send_to's reply */
#define M3_PST_REQUEST		0x8	/* the pending send is a sendrec */
#define M3_PST_RQST_ONLY	0x10	/* receiving with rcvrqst semantics */
#define M3_PST_RMT		0x20	/* waiting for a remote answer (ACK,
					   reply, vcopy data) from send_to */
#define M3_PST_RMT_SRC		0x40	/* ... send_to is the vcopy source */

/* any caller: dcid and p_nr in; the rest out (endpoint M3_NONE = free) */
struct m3_proc_info {
	__s32 dcid;
	__s32 p_nr;
	__s32 endpoint;
	__s32 pid;
	__s32 priv;
	__s32 node;
	__u32 state;		/* M3_PST_* */
	__s32 send_to;		/* endpoint or M3_NONE */
	__s32 getfrom;		/* endpoint, M3_ANY or M3_NONE */
	__u32 notify_pending;	/* number of pending notifications */
	__u64 msgs_sent;
	__u64 msgs_rcvd;
	char  comm[16];
};

/* ---- remote IPC (all admin) ---- */

/*
 * proxy_bind: register the sender (loops on get2rmt) and receiver (calls
 * put2lcl) proxy processes of a remote node; the node goes up.
 * max_payload: largest frame payload, M3_RMT_MIN_PAYLOAD..M3_RMT_MAX_PAYLOAD.
 */
#define M3_RMT_MIN_PAYLOAD	4096
#define M3_RMT_MAX_PAYLOAD	65536
struct m3_proxy_bind {
	__s32 node_id;
	__s32 sender_pid;
	__s32 receiver_pid;
	__u32 max_payload;
};

/* proxy_unbind, node_down, node_up: a node id */
struct m3_node_ref {
	__s32 node_id;
	__u32 flags;		/* node_down: M3_NDF_*; else must be 0 */
};

/*
 * A node down on one side drops what was queued for the other, answers its
 * callers wait for included, so the other side must go down too: a node
 * down that the sender proxy did not cause itself makes its next get2rmt
 * return -ECONNRESET (reset the connection, no node_down); the peer's
 * receiver proxy, seeing the sender connect anew, calls node_down with
 * M3_NDF_PEER_RESET (which resets nothing in turn) before the peer's HELLO
 * brings it up again. So no caller waits for a frame that was dropped.
 */
#define M3_NDF_PEER_RESET	0x1

/* add_node / del_node: the DC's node bitmap */
struct m3_dc_node {
	__s32 dcid;
	__s32 node_id;
};

/*
 * rmtbind: a descriptor of the remote process @endpoint of node @node_id in
 * the local slot M3_EP_SLOT(endpoint) of @dcid (same generation). A free
 * slot is bound; a slot holding another remote generation/node is replaced;
 * a slot bound to a local process: -EBUSY; the same binding again: 0.
 */
struct m3_rmtbind {
	__s32 dcid;
	__s32 endpoint;
	__s32 node_id;
	__u32 pad;
	char  name[16];		/* shown in /proc .../procs (may be empty) */
};

/*
 * Frame header between the kernel and the proxies (host byte order; the
 * proxies convert it to the wire format of kmod/proxy/wire.h, which adds
 * magic and version). Followed by hdr.len bytes of payload.
 */
enum m3_rcmd {
	M3_CMD_SEND_MSG = 1,	/* payload: struct m3_msg; answer SEND_ACK */
	M3_CMD_NTFY_MSG,	/* no payload, no answer */
	M3_CMD_SNDREC_MSG,	/* payload: m3_msg; answer REPLY_MSG (or SEND_ACK on error) */
	M3_CMD_REPLY_MSG,	/* payload: m3_msg; ack = SNDREC seq; answer SEND_ACK */
	M3_CMD_COPYIN_DATA,	/* payload: data for dst at addr; answer COPYIN_ACK */
	M3_CMD_COPYOUT_RQST,	/* count bytes of dst at addr; answer COPYOUT_DATA */
	M3_CMD_SEND_ACK,	/* rcode; ack = seq of the request */
	M3_CMD_COPYIN_ACK,	/* rcode; ack = seq of COPYIN_DATA */
	M3_CMD_COPYOUT_DATA,	/* rcode, payload: data; ack = seq of COPYOUT_RQST */
	M3_CMD_HELLO,		/* heartbeat (proxy to proxy; put2lcl notes it) */
	M3_CMD_HELLO_ACK,	/* heartbeat answer (proxy to proxy only) */
	M3_CMD_MAX = M3_CMD_HELLO_ACK,
	/*
	 * Receiver proxy -> its own kernel only (put2lcl; never on the wire):
	 * seq = how many handshakes and frames the proxies of that node
	 * refused so far (authentication or validation), shown as "rejected"
	 * in /proc/m3ipc/proxies. snode = the proxy's node, no payload.
	 */
	M3_CMD_RSTATS = 12,
};

#define M3_RF_NOWAIT		0x1	/* SEND/SNDREC with timeout 0 */
/*
 * COPYIN_DATA in a window of chunks sent without waiting: NOACK chunks get
 * no COPYIN_ACK (the callee keeps their first failure), the window's last
 * chunk is answered with that failure or its own result; FIRST starts a
 * window (a failure kept from an abandoned one is forgotten).
 */
#define M3_RF_NOACK		0x2
#define M3_RF_FIRST		0x4

struct m3_rhdr {
	__u16 cmd;		/* enum m3_rcmd */
	__u16 flags;		/* M3_RF_* */
	__s32 priv;		/* level of src on the sending node: information
				 * only, never used by the receiving node (a
				 * remote descriptor has the level an admin
				 * gave it there: rmtbind/setpriv, default USER) */
	__s32 dcid;
	__s32 src;		/* source endpoint */
	__s32 dst;		/* destination endpoint */
	__s32 snode;		/* source node */
	__s32 dnode;		/* destination node */
	__s32 rcode;		/* answers: 0 or a negative errno */
	__u32 len;		/* payload bytes */
	__u32 count;		/* COPYOUT_RQST: bytes requested */
	__u64 seq;		/* unique per sending node */
	__u64 ack;		/* answers: seq of the request */
	__u64 timestamp;	/* ns, CLOCK_REALTIME of the sending kernel */
	__u64 addr;		/* COPYIN_DATA/COPYOUT_RQST: address in dst */
};

/* get2rmt (sender proxy): the next frame for its node, hdr then payload */
struct m3_get2rmt {
	__u64 buf;		/* user buffer */
	__u32 buflen;		/* >= sizeof(struct m3_rhdr) + max_payload */
	__s32 timeout_ms;	/* -1 forever, 0 no wait, else ms */
	__u32 len;		/* out: bytes written (hdr + payload) */
	__s32 node_id;		/* out: the node this proxy serves */
};

/* put2lcl (receiver proxy): one frame from its node, hdr then payload */
struct m3_put2lcl {
	__u64 buf;
	__u32 len;		/* sizeof(struct m3_rhdr) + hdr.len */
	__u32 pad;
};

/*
 * link_set (issue 22): the kernel data path. A proxy that connected and
 * authenticated a TCP link (kmod/proxy/auth.h) hands the socket over, with
 * the connection's frame keys and link sequence numbers; from then on the
 * module seals, sends, reads, checks and delivers that link's frames
 * itself (kmod/README.md, "The kernel data path"). Only the node's own
 * proxies may call it: the sender proxy sets the TX link (frames of this
 * node out; the proxy still reads the HELLO_ACKs on its copy of the
 * socket), the receiver proxy the RX link (frames of the peer in; the
 * module answers its HELLOs). fd -1 closes that direction's link.
 * The wire format is wire.h's, version 2: the two paths interoperate.
 */
#define M3_LINK_TX		1
#define M3_LINK_RX		2
#define M3_LINKF_SECURE		0x1	/* frames carry a MAC (not --insecure) */
#define M3_LINK_KEY_LEN		32
struct m3_link_set {
	__s32 node_id;		/* the peer node */
	__s32 fd;		/* a connected TCP socket, or -1: close */
	__u32 dir;		/* M3_LINK_TX or M3_LINK_RX */
	__u32 flags;		/* M3_LINKF_* */
	__u32 timeout_ms;	/* RX: a peer silent this long is down;
				 * both: the bound of a blocked send */
	__u32 pad;		/* 0 */
	__u64 tx_lseq;		/* link sequence of the next frame sent */
	__u64 rx_lseq;		/* link sequence expected next (RX) */
	__u8 ktx[M3_LINK_KEY_LEN];	/* key of the frames sent */
	__u8 krx[M3_LINK_KEY_LEN];	/* key of the frames received (RX) */
};

/*
 * link_hello (sender proxy, TX link up): the module sends a HELLO with
 * this seq and count (the proxy's max payload) on the link, in order with
 * the frames it sends, so the proxy keeps the heartbeat's timing.
 */
struct m3_link_hello {
	__s32 node_id;
	__u32 count;
	__u64 seq;
};

/*
 * Each number says what the call really does with its argument: _IOW only
 * reads it, _IOR only writes it, _IOWR both (ABI 2; in ABI 1 every call was
 * _IOWR).
 */
#define M3_IOC_MAGIC		'M'
/* admin */
#define M3_IOC_DVS_INIT		_IOWR(M3_IOC_MAGIC, 0x01, struct m3_dvs_init)
#define M3_IOC_DVS_END		_IOW(M3_IOC_MAGIC, 0x02, struct m3_dc_ref)
#define M3_IOC_DVS_INFO		_IOR(M3_IOC_MAGIC, 0x03, struct m3_dvs_info)
#define M3_IOC_DC_INIT		_IOWR(M3_IOC_MAGIC, 0x04, struct m3_dc_spec)
#define M3_IOC_DC_END		_IOW(M3_IOC_MAGIC, 0x05, struct m3_dc_ref)
#define M3_IOC_DC_INFO		_IOWR(M3_IOC_MAGIC, 0x06, struct m3_dc_info)
#define M3_IOC_BIND		_IOWR(M3_IOC_MAGIC, 0x07, struct m3_bind)
#define M3_IOC_UNBIND		_IOW(M3_IOC_MAGIC, 0x08, struct m3_unbind)
#define M3_IOC_SETPRIV		_IOW(M3_IOC_MAGIC, 0x09, struct m3_setpriv)
#define M3_IOC_PROC_INFO	_IOWR(M3_IOC_MAGIC, 0x0a, struct m3_proc_info)
#define M3_IOC_PROXY_BIND	_IOW(M3_IOC_MAGIC, 0x0b, struct m3_proxy_bind)
#define M3_IOC_PROXY_UNBIND	_IOW(M3_IOC_MAGIC, 0x0c, struct m3_node_ref)
#define M3_IOC_ADD_NODE		_IOW(M3_IOC_MAGIC, 0x0d, struct m3_dc_node)
#define M3_IOC_DEL_NODE		_IOW(M3_IOC_MAGIC, 0x0e, struct m3_dc_node)
#define M3_IOC_RMTBIND		_IOW(M3_IOC_MAGIC, 0x0f, struct m3_rmtbind)
#define M3_IOC_NODE_DOWN	_IOW(M3_IOC_MAGIC, 0x10, struct m3_node_ref)
#define M3_IOC_NODE_UP		_IOW(M3_IOC_MAGIC, 0x11, struct m3_node_ref)
#define M3_IOC_GET2RMT		_IOWR(M3_IOC_MAGIC, 0x12, struct m3_get2rmt)
#define M3_IOC_PUT2LCL		_IOW(M3_IOC_MAGIC, 0x13, struct m3_put2lcl)
#define M3_IOC_LINK_SET		_IOW(M3_IOC_MAGIC, 0x14, struct m3_link_set)
#define M3_IOC_LINK_HELLO	_IOW(M3_IOC_MAGIC, 0x15, struct m3_link_hello)
/* IPC */
#define M3_IOC_SEND		_IOW(M3_IOC_MAGIC, 0x20, struct m3_ipc)
#define M3_IOC_RECEIVE		_IOWR(M3_IOC_MAGIC, 0x21, struct m3_ipc)
#define M3_IOC_SENDREC		_IOWR(M3_IOC_MAGIC, 0x22, struct m3_ipc)
#define M3_IOC_NOTIFY		_IOW(M3_IOC_MAGIC, 0x23, struct m3_ipc)
#define M3_IOC_RCVRQST		_IOWR(M3_IOC_MAGIC, 0x24, struct m3_ipc)
#define M3_IOC_REPLY		_IOW(M3_IOC_MAGIC, 0x25, struct m3_ipc)
#define M3_IOC_REPLY_RCV	_IOWR(M3_IOC_MAGIC, 0x26, struct m3_reply_rcv)
#define M3_IOC_VCOPY		_IOWR(M3_IOC_MAGIC, 0x27, struct m3_vcopy)
#define M3_IOC_GETEP		_IOWR(M3_IOC_MAGIC, 0x28, struct m3_getep)
#define M3_IOC_WAIT4BIND	_IOWR(M3_IOC_MAGIC, 0x29, struct m3_wait4bind)

#endif /* _UAPI_M3IPC_H */
