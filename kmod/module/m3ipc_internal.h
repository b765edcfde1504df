/* SPDX-License-Identifier: GPL-2.0 */
/*
 * m3ipc_internal.h - data structures shared by the files of m3ipc.ko.
 *
 * LOCK ORDER (outermost first; never take them in another order):
 *
 *   1. m3_admin_mutex  (mutex)   DVS state, the DC table, admin ioctls,
 *                                top-level /proc files, module init/exit.
 *   2. dc->lock        (spinlock) every slot of that DC and all IPC state
 *                                in it. Never two DC locks at once (IPC is
 *                                always inside one DC).
 *   3. m3_rmt_lock     (spinlock) remote nodes: proxies, node state, the
 *                                frame queues of the sender proxies
 *                                (rmt_*.c). Taken under dc->lock when a
 *                                local call queues a frame; dc->lock is
 *                                never taken while it is held.
 *   4. m3_task_lock    (rwlock)  task_struct -> slot hash (m3_task_hash).
 *   5. task_lock(task) (spinlock, leaf; only via get_task_comm()).
 *   6. m3_affinity_lock (spinlock, leaf) the restores queued by unbinds
 *                                (affinity.c); under dc->lock or alone.
 *
 * Outside the chain: a kernel link's tx_mutex (rmt_link*.c) is taken with
 * no lock held and only m3_rmt_lock under it; a socket's sk_callback_lock
 * is taken alone.
 *
 * Locks 2-6 are spinlocks: nothing that can sleep or fault runs under them
 * (copy_{to,from}_user, access_process_vm, set_cpus_allowed_ptr, kmalloc
 * with GFP_KERNEL, proc_mkdir/proc_remove happen with none of them held).
 * A blocked IPC caller sleeps with no lock held (see m3_wait() in ipc.c).
 *
 * The task-exit hook (exit.c) runs with preemption disabled, so the whole
 * unbind path (m3_unbind_locked) only uses locks 2-4, wake_up_process() and
 * put_task_struct(); a DC is freed from a workqueue, never inline.
 *
 * Lifetime: a DC is reference counted (dc->ref). The DC table holds one
 * reference; an IPC call holds one for its duration (taken under
 * m3_task_lock while the caller's slot is still hashed). Slots live inside
 * the DC, so a slot pointer is valid while a DC reference is held; whether
 * the slot is still bound to the same task is re-checked under dc->lock.
 */
#ifndef _M3IPC_INTERNAL_H
#define _M3IPC_INTERNAL_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "../uapi/m3ipc.h"

#define M3_NAME "m3ipc"

/*
 * A remote vcopy reads up to M3_RVC_WINDOW chunks with one COPYOUT_RQST:
 * the other node streams them back without waiting for each to be taken,
 * so the link is not idle for a round trip per chunk.
 */
#define M3_RVC_WINDOW	8

/* COPYOUT_DATA payloads handed over to a waiting caller, in order */
struct m3_rvc_data {
	void *buf[M3_RVC_WINDOW];
	u32 len[M3_RVC_WINDOW];
	u32 nr;
	u32 want;		/* bytes the COPYOUT_RQST asked for */
	u32 got;
};

/* a blocked caller; lives on the caller's kernel stack */
struct m3_waiter {
	struct task_struct *task;
	struct m3_msg msg;	/* message delivered to the waiter */
	int result;
	bool done;		/* set (release) by the waker under dc->lock */
	/*
	 * A remote call with timeout 0 waits for its answer at most
	 * rmt_nowait_ms (@nowait); once the remote node says it took the
	 * request of a sendrec, the reply is waited for without that bound
	 * (@unbounded, set under dc->lock), as for a local sendrec.
	 */
	bool nowait;
	bool unbounded;
	/*
	 * spin.c's measure of a sleep and wakeup: @slept is set before the
	 * waiter sleeps; its waker then stamps @woke_ns (local_clock())
	 * before @done.
	 */
	bool slept;
	u64 woke_ns;
	struct m3_rvc_data rd;	/* remote vcopy: the data received */
};

struct m3_dc;

struct m3_proc {
	struct m3_dc *dc;
	int p_nr;
	u16 gen;		/* generation of the current/last binding */
	s32 endpoint;		/* M3_NONE when the slot is free */
	struct task_struct *task; /* bound task (reference held), or NULL */
	pid_t pid;
	int node;		/* node of the process */
	int priv;
	bool remote;		/* a remote process descriptor (task NULL) */
	char rname[16];		/* remote: name given by rmtbind */
	/* seq of the remote request waited for (local) or answered (remote) */
	u64 rmt_seq;
	/*
	 * remote: its COPYIN window (rmt_inbound.c): the window's id (the
	 * seq of its first chunk), the chunks that landed and the first
	 * failure, so the window's last chunk answers for every chunk
	 */
	u64 rvc_win;
	unsigned int rvc_ok;
	int rvc_err;

	/* IPC state, all under dc->lock */
	unsigned int state;	/* M3_PST_* */
	struct m3_proc *blocked_on; /* SENDING / REPLY_WAIT peer */
	struct m3_proc *getfrom; /* RECEIVING from (NULL = ANY) */
	/* the last sender to deliver here: whom a receive from ANY spins on */
	struct m3_proc *last_from;
	struct list_head caller_q; /* procs SENDING to this one, FIFO */
	struct list_head q_link; /* our link in blocked_on->caller_q */
	struct m3_msg msg_out;	/* message of a pending send */
	struct m3_waiter *waiter; /* non-NULL iff blocked */
	unsigned long *notify_pending; /* bit i: slot index i notified us */
	unsigned int nr_notify;

	u64 msgs_sent;
	u64 msgs_rcvd;

	struct hlist_node hnode; /* in m3_task_hash while bound */
	struct m3_affinity *affinity; /* local, DC with a CPU mask: restore */
};

struct m3_dc {
	struct kref ref;
	spinlock_t lock;
	int dcid;
	char name[M3_DC_NAME_LEN];
	unsigned int nr_tasks;
	unsigned int nr_procs;
	unsigned int nr_slots;	/* nr_tasks + nr_procs */
	unsigned int nr_sysprocs; /* compat: slots below this index notify */
	unsigned int flags;
	u64 cpumask;
	u64 nodes;
	bool alive;		/* false once dc_end started (under lock) */
	unsigned int nr_bound;	/* under lock */
	struct m3_proc *procs;	/* nr_slots entries, index = p_nr + nr_tasks */
	unsigned long *bitmaps;	/* storage of every notify_pending map */
	struct proc_dir_entry *procdir;
	struct work_struct free_work;
};

struct m3_dvs {
	bool initialized;
	int node_id;
	struct m3_dvs_limits limits;
	u64 nodes;
	unsigned int nr_dcs;
	struct m3_dc *dcs[M3_MAX_DCS];
};

/* a slot is bound to a local task or to a remote process */
static inline bool m3_bound(const struct m3_proc *p)
{
	return p->task || p->remote;
}

/* the level a newly bound process (or remote descriptor) starts with */
static inline int m3_bind_level(const struct m3_dc *dc)
{
	return (dc->flags & M3_DCF_COMPAT) ? M3_PRIV_KERNEL : M3_PRIV_DEFAULT;
}

/* main.c */
extern struct mutex m3_admin_mutex;
extern struct m3_dvs m3_dvs;	/* under m3_admin_mutex */
extern struct workqueue_struct *m3_wq;
extern atomic_t m3_nr_bound;

/* affinity.c */
struct m3_affinity;
int m3_affinity_init(void);
void m3_affinity_exit(void);
struct m3_affinity *m3_affinity_prepare(struct m3_dc *dc,
					struct task_struct *task);
void m3_affinity_discard(struct m3_affinity *a);
void m3_affinity_apply(struct m3_affinity *a);
void m3_affinity_unbind(struct m3_proc *p);

/* dvs.c */
int m3_dvs_init(struct m3_dvs_init *arg);
int m3_dvs_end(void);
void m3_dvs_get_info(struct m3_dvs_info *info);

/* dc.c */
int m3_dc_init(struct m3_dc_spec *spec);
int m3_dc_end(int dcid);
void m3_dc_end_locked(struct m3_dc *dc);
struct m3_dc *m3_dc_lookup(int dcid);		/* admin mutex held */
int m3_dc_get_info(struct m3_dc_info *info);
void m3_dc_put(struct m3_dc *dc);
static inline struct m3_proc *m3_slot(struct m3_dc *dc, int p_nr)
{
	return &dc->procs[p_nr + dc->nr_tasks];
}
static inline unsigned int m3_slot_index(struct m3_proc *p)
{
	return p->p_nr + p->dc->nr_tasks;
}

/* bind.c */
bool m3_task_bound(struct task_struct *task);
int m3_bind(struct m3_bind *arg);
int m3_unbind(struct m3_unbind *arg);
int m3_setpriv(struct m3_setpriv *arg);
int m3_getep(struct m3_getep *arg);

/* wait4bind.c */
void m3_bind_announce(void);
int m3_wait4bind(struct m3_wait4bind *arg);
int m3_proc_info(struct m3_proc_info *info);
void m3_unbind_locked(struct m3_proc *p);
void m3_unbind_err_locked(struct m3_proc *p, int err);
struct m3_proc *m3_current_proc(struct m3_dc **dcp);	/* dc->lock held */
void m3_current_put(struct m3_dc *dc);
struct m3_proc *m3_task_proc_get(struct task_struct *task,
				 struct m3_dc **dcp);
int m3_resolve(struct m3_dc *dc, struct m3_proc *caller, s32 ep,
	       int dead_err, struct m3_proc **out);
int m3_resolve_any(struct m3_dc *dc, struct m3_proc *caller, s32 ep,
		   int dead_err, struct m3_proc **out);

/* ipc.c */
int m3_ipc_send(struct m3_ipc *a);
int m3_ipc_receive(struct m3_ipc *a, bool rqst_only);
int m3_ipc_sendrec(struct m3_ipc *a);
int m3_ipc_notify(struct m3_ipc *a);
int m3_ipc_reply(struct m3_ipc *a);
int m3_ipc_reply_rcv(struct m3_reply_rcv *a);
void m3_wake(struct m3_proc *p, int result);
/* spin.c */
struct task_struct *m3_spin_peer(struct m3_proc *c);		/* dc->lock */
void m3_spin_wait(bool *done, struct task_struct *peer);
void m3_spin_account(u64 woke_ns);
void m3_clear_wait(struct m3_proc *p);
void m3_arm(struct m3_proc *c, struct m3_waiter *w);
int m3_wait(struct m3_dc *dc, struct m3_proc *c, struct m3_waiter *w,
	    long timeout);
bool m3_accepts(struct m3_proc *dst, struct m3_proc *src, bool request);
void m3_deliver(struct m3_proc *dst, struct m3_proc *src,
		const struct m3_msg *m);
void m3_notify_msg(struct m3_msg *m, struct m3_proc *src);
int m3_deadlock(struct m3_dc *dc, struct m3_proc *c, struct m3_proc *dst);

/* rmt_*.c (dc->lock held where noted) */
extern atomic_t m3_nr_proxies;
int m3_rmt_send(struct m3_dc *dc, struct m3_proc *c, struct m3_proc *dst,
		struct m3_ipc *a, bool request, long timeout); /* dc->lock */
int m3_rmt_notify(struct m3_proc *c, struct m3_proc *dst);	/* dc->lock */
int m3_rmt_reply(struct m3_proc *c, struct m3_proc *dst,
		 const struct m3_msg *m);			/* dc->lock */
void m3_rmt_answer(struct m3_proc *p, int result);		/* dc->lock */
void m3_rmt_withdraw(struct m3_proc *p);			/* dc->lock */
void m3_rmt_purge_dst(struct m3_proc *p);			/* dc->lock */
int m3_rvcopy(struct m3_vcopy *a);
int m3_proxy_bind(struct m3_proxy_bind *a);
int m3_proxy_unbind(struct m3_node_ref *a);
int m3_node_down(struct m3_node_ref *a);
int m3_node_up(struct m3_node_ref *a);
int m3_add_node(struct m3_dc_node *a);
int m3_del_node(struct m3_dc_node *a);
int m3_rmtbind(struct m3_rmtbind *a);
int m3_get2rmt(struct m3_get2rmt *a);
int m3_put2lcl(struct m3_put2lcl *a);
int m3_link_set(struct m3_link_set *a);
int m3_link_hello(struct m3_link_hello *a);
void m3_links_flush(void);		/* no lock held */

/*
 * A process asleep in m3_wait() that a kernel link may wake to read its
 * frames itself (rmt_link_rx.c, "Pollers"): @node is the node whose frame
 * ends its wait, M3_POLL_ANY any node's, M3_POLL_NONE none (local waits).
 */
#define M3_POLL_ANY	(-1)
#define M3_POLL_NONE	(-2)
struct m3_link;
struct m3_poller {
	struct list_head link;
	struct task_struct *task;
	int node;
	bool armed;		/* listed since it last looked (its own field) */
	unsigned int reads;	/* links it read before sleeping, this call */
	struct m3_link *kick;	/* the link it was woken for (a reference) */
};
bool m3_poll_arm(struct m3_poller *p);
void m3_poll_serve(struct m3_poller *p);
int m3_link_init(void);
void m3_link_exit(void);
void m3_rmt_task_exit(struct task_struct *task);	/* exit hook */
void m3_rmt_dvs_end(void);		/* admin mutex held */
void m3_rmt_init(void);
void m3_rmt_stop(void);
void m3_rmt_exit(void);			/* module exit */
void m3_rmt_show_nodes(struct seq_file *m);	/* admin mutex held */
void m3_rmt_show_proxies(struct seq_file *m);
int m3_link_seal_show(struct seq_file *m, void *v);	/* rmt_link_seal.c */

/* vcopy.c */
struct mm_struct *m3_vcopy_mm(struct task_struct *t, bool remote_caller,
			      int gone);
int m3_mm_rw(struct mm_struct *mm, u64 addr, void *buf, size_t len,
	     bool write);
int m3_vcopy(struct m3_vcopy *a);

/* priv.c */
int m3_priv_send(struct m3_proc *src, struct m3_proc *dst);
int m3_priv_sendrec(struct m3_proc *src, struct m3_proc *dst);
int m3_priv_notify(struct m3_proc *src, struct m3_proc *dst);
int m3_priv_receive(struct m3_proc *caller);
int m3_priv_vcopy(struct m3_proc *caller);

/* procfs.c */
int m3_procfs_init(void);
void m3_procfs_exit(void);
int m3_procfs_dc_add(struct m3_dc *dc);
void m3_procfs_dc_remove(struct m3_dc *dc);

/* exit.c */
int m3_exit_hook_init(void);
void m3_exit_hook_exit(void);

#endif /* _M3IPC_INTERNAL_H */
