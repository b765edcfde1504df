// SPDX-License-Identifier: GPL-2.0
/*
 * bind.c - slots and endpoints: bind, unbind, setpriv, getep, proc info,
 * the task -> slot hash and endpoint resolution.
 */
#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/capability.h>
#include <linux/errno.h>
#include <linux/hashtable.h>
#include <linux/pid.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "m3ipc_internal.h"

static DEFINE_HASHTABLE(m3_task_hash, 8);
static DEFINE_RWLOCK(m3_task_lock);

/* m3_task_lock held */
static struct m3_proc *m3_hash_find(struct task_struct *task)
{
	struct m3_proc *p;

	hash_for_each_possible(m3_task_hash, p, hnode, (unsigned long)task)
		if (p->task == task)
			return p;
	return NULL;
}

/* whether @task is bound in some DC right now */
bool m3_task_bound(struct task_struct *task)
{
	bool bound;

	read_lock(&m3_task_lock);
	bound = m3_hash_find(task);
	read_unlock(&m3_task_lock);
	return bound;
}

/*
 * Binding of @task with a reference on its DC, or NULL. The slot may be
 * unbound at any time after this returns: recheck p->task under dc->lock.
 */
struct m3_proc *m3_task_proc_get(struct task_struct *task, struct m3_dc **dcp)
{
	struct m3_proc *p;

	read_lock(&m3_task_lock);
	p = m3_hash_find(task);
	if (p) {
		*dcp = p->dc;
		kref_get(&p->dc->ref);
	}
	read_unlock(&m3_task_lock);
	return p;
}

/* The caller's slot with its dc->lock held, or ERR_PTR(-ENOTCONN). */
struct m3_proc *m3_current_proc(struct m3_dc **dcp)
{
	struct m3_dc *dc;
	struct m3_proc *p;

	p = m3_task_proc_get(current, &dc);
	if (!p)
		return ERR_PTR(-ENOTCONN);
	spin_lock(&dc->lock);
	if (p->task != current) {
		spin_unlock(&dc->lock);
		m3_dc_put(dc);
		return ERR_PTR(-ENOTCONN);
	}
	*dcp = dc;
	return p;
}

void m3_current_put(struct m3_dc *dc)
{
	spin_unlock(&dc->lock);
	m3_dc_put(dc);
}

/*
 * dc->lock held. Resolve @ep (or M3_SELF = @caller, which may be NULL) to a
 * bound slot. @dead_err is returned when the endpoint names the last
 * binding of a slot that is now free (-EPIPE for a destination,
 * -ECONNRESET for a source, -ENOTCONN for admin calls).
 */
int m3_resolve_any(struct m3_dc *dc, struct m3_proc *caller, s32 ep,
		   int dead_err, struct m3_proc **out)
{
	struct m3_proc *p;
	int gen, slot;

	if (ep == M3_SELF) {
		if (!caller)
			return -ENOTCONN;
		*out = caller;
		return 0;
	}
	gen = M3_EP_GEN(ep);
	slot = M3_EP_SLOT(ep);
	if (ep <= 0 || !gen || slot < -(int)dc->nr_tasks ||
	    slot >= (int)dc->nr_procs)
		return -EBADSLT;
	p = m3_slot(dc, slot);
	if (p->gen != gen)
		return -ESTALE;
	if (!m3_bound(p))
		return dead_err;
	*out = p;
	return 0;
}

/* like m3_resolve_any(), but a remote process descriptor is -EREMOTE */
int m3_resolve(struct m3_dc *dc, struct m3_proc *caller, s32 ep,
	       int dead_err, struct m3_proc **out)
{
	struct m3_proc *p;
	int ret;

	ret = m3_resolve_any(dc, caller, ep, dead_err, &p);
	if (ret)
		return ret;
	if (p->remote)
		return -EREMOTE;
	*out = p;
	return 0;
}

/*
 * dc->lock held; may run in the exit hook (preemption disabled). Wakes the
 * process itself if blocked (-ENOTCONN; a remote process gets it as its
 * answer) and every peer blocked on it: senders, reply waiters and remote
 * vcopy waiters with -EPIPE, receivers from it and vcopy waiters on it as a
 * source with -ECONNRESET; with @err != 0 (node down: -EHOSTDOWN) every peer
 * gets @err instead. Its pending notifications to others are dropped. A
 * remote process's frames still queued for its sender proxy are removed.
 */
void m3_unbind_err_locked(struct m3_proc *p, int err)
{
	struct m3_dc *dc = p->dc;
	unsigned int i, idx = m3_slot_index(p);
	struct task_struct *task = p->task;

	if (p->state)
		m3_wake(p, -ENOTCONN);

	for (i = 0; i < dc->nr_slots; i++) {
		struct m3_proc *q = &dc->procs[i];

		if (q == p || !m3_bound(q))
			continue;
		if (q->nr_notify && test_bit(idx, q->notify_pending)) {
			clear_bit(idx, q->notify_pending);
			q->nr_notify--;
		}
		if (!q->state)
			continue;
		if ((q->state & (M3_PST_SENDING | M3_PST_REPLY_WAIT |
				 M3_PST_RMT)) && q->blocked_on == p)
			m3_wake(q, err ?: (q->state & M3_PST_RMT_SRC) ?
				   -ECONNRESET : -EPIPE);
		else if ((q->state & M3_PST_RECEIVING) && q->getfrom == p)
			m3_wake(q, err ?: -ECONNRESET);
	}
	WARN_ON_ONCE(!list_empty(&p->caller_q));
	bitmap_zero(p->notify_pending, dc->nr_slots);
	p->nr_notify = 0;

	if (p->remote) {
		m3_rmt_purge_dst(p);
		p->remote = false;
		p->rname[0] = 0;
		p->endpoint = M3_NONE;
		p->node = m3_dvs.node_id;
		p->priv = M3_PRIV_DEFAULT;
		dc->nr_bound--;
		return;
	}

	write_lock(&m3_task_lock);
	hash_del(&p->hnode);
	write_unlock(&m3_task_lock);

	m3_affinity_unbind(p);
	p->task = NULL;
	p->endpoint = M3_NONE;
	p->pid = 0;
	p->priv = M3_PRIV_DEFAULT;
	dc->nr_bound--;
	atomic_dec(&m3_nr_bound);	/* after hash_del: see m3_bind() */
	put_task_struct(task);
}

void m3_unbind_locked(struct m3_proc *p)
{
	m3_unbind_err_locked(p, 0);
}

int m3_bind(struct m3_bind *a)
{
	bool admin = capable(CAP_SYS_ADMIN);
	struct m3_affinity *aff = NULL;
	struct task_struct *task;
	struct m3_proc *p = NULL;
	struct m3_dc *dc;
	bool self;
	int i, ret;

	if (a->pid < 0)
		return -EINVAL;
	self = !a->pid || a->pid == task_pid_vnr(current);
	if (!admin && !self)
		return -EPERM;
	if (self) {
		task = current;
		get_task_struct(task);
	} else {
		rcu_read_lock();
		task = pid_task(find_vpid(a->pid), PIDTYPE_PID);
		if (task)
			get_task_struct(task);
		rcu_read_unlock();
		if (!task)
			return -ESRCH;
	}
	if (task->flags & PF_KTHREAD) {
		ret = -EINVAL;	/* kernel threads have no address space */
		goto out_task;
	}

	mutex_lock(&m3_admin_mutex);
	if (!m3_dvs.initialized) {
		ret = -ENODEV;
		goto out_unlock;
	}
	dc = m3_dc_lookup(a->dcid);
	if (!dc) {
		ret = -ENXIO;
		goto out_unlock;
	}
	if (!admin && !(dc->flags & M3_DCF_SELF_BIND)) {
		ret = -EPERM;
		goto out_unlock;
	}
	aff = m3_affinity_prepare(dc, task);
	if (IS_ERR(aff)) {
		ret = PTR_ERR(aff);
		goto out_unlock;
	}

	spin_lock(&dc->lock);
	if (a->p_nr == M3_ANY_SLOT) {
		for (i = 0; i < (int)dc->nr_procs; i++) {
			if (!m3_bound(m3_slot(dc, i))) {
				p = m3_slot(dc, i);
				break;
			}
		}
		ret = -EBUSY;
		if (!p)
			goto out_dc;
	} else {
		ret = -EBADSLT;
		if (a->p_nr < -(int)dc->nr_tasks || a->p_nr >= (int)dc->nr_procs)
			goto out_dc;
		p = m3_slot(dc, a->p_nr);
		ret = -EBUSY;
		if (m3_bound(p))
			goto out_dc;
	}

	/*
	 * Against the exit hook: it runs after do_exit() set PF_EXITING (and
	 * passed full barriers), then reads m3_nr_bound and the hash. We
	 * raise m3_nr_bound, then read PF_EXITING: either we see the flag,
	 * or the hook sees the count and finds the entry under the lock.
	 */
	write_lock(&m3_task_lock);
	atomic_inc(&m3_nr_bound);
	smp_mb__after_atomic();	/* count before flag: pairs with do_exit */
	if (m3_hash_find(task)) {
		ret = -EBUSY;
	} else if (task->flags & PF_EXITING) {
		/* the exit hook may have run already: never bind a dying task */
		ret = -ESRCH;
	} else {
		get_task_struct(task);	/* the slot's reference */
		p->task = task;
		hash_add(m3_task_hash, &p->hnode, (unsigned long)task);
		ret = 0;
	}
	if (ret)
		atomic_dec(&m3_nr_bound);
	write_unlock(&m3_task_lock);
	if (ret)
		goto out_dc;

	p->gen = p->gen >= M3_GEN_MAX ? 1 : p->gen + 1;
	p->endpoint = M3_ENDPOINT(p->gen, p->p_nr);
	p->pid = task_pid_nr(task);
	p->node = m3_dvs.node_id;
	p->priv = m3_bind_level(dc);
	p->state = 0;
	p->msgs_sent = 0;
	p->msgs_rcvd = 0;
	p->affinity = aff;
	dc->nr_bound++;
	a->endpoint = p->endpoint;
	spin_unlock(&dc->lock);

	/* under the admin mutex: an unbind's restore waits for it */
	m3_affinity_apply(aff);
	m3_bind_announce();
	goto out_unlock;

out_dc:
	spin_unlock(&dc->lock);
	m3_affinity_discard(aff);
out_unlock:
	mutex_unlock(&m3_admin_mutex);
out_task:
	put_task_struct(task);
	return ret;
}

/*
 * Admin target: the DC @dcid locked and the slot named by @ep, or an error.
 * Admin mutex held on entry; on success dc->lock is held too.
 */
static int m3_admin_target(int dcid, s32 ep, struct m3_dc **dcp,
			   struct m3_proc **pp)
{
	struct m3_proc *self = NULL;
	struct m3_dc *dc;
	int ret;

	if (!m3_dvs.initialized)
		return -ENODEV;
	dc = m3_dc_lookup(dcid);
	if (!dc)
		return -ENXIO;
	spin_lock(&dc->lock);
	if (ep == M3_SELF) {
		read_lock(&m3_task_lock);
		self = m3_hash_find(current);
		read_unlock(&m3_task_lock);
		if (self && self->dc != dc)
			self = NULL;
	}
	ret = m3_resolve_any(dc, self, ep, -ENOTCONN, pp);
	if (ret) {
		spin_unlock(&dc->lock);
		return ret;
	}
	*dcp = dc;
	return 0;
}

/* a bound caller acting on itself: own DC locked, or an error */
static struct m3_proc *m3_self_target(int dcid, s32 ep, struct m3_dc **dcp)
{
	struct m3_proc *p = m3_current_proc(dcp);

	if (IS_ERR(p))
		return ERR_PTR(-EPERM);	/* not bound: only an admin may */
	if ((*dcp)->dcid != dcid || (ep != M3_SELF && ep != p->endpoint)) {
		m3_current_put(*dcp);
		return ERR_PTR(-EPERM);
	}
	return p;
}

int m3_unbind(struct m3_unbind *a)
{
	struct m3_proc *p;
	struct m3_dc *dc;
	int ret;

	if (!capable(CAP_SYS_ADMIN)) {
		p = m3_self_target(a->dcid, a->endpoint, &dc);
		if (IS_ERR(p))
			return PTR_ERR(p);
		m3_unbind_locked(p);
		m3_current_put(dc);
		return 0;
	}
	mutex_lock(&m3_admin_mutex);
	ret = m3_admin_target(a->dcid, a->endpoint, &dc, &p);
	if (!ret) {
		m3_unbind_locked(p);
		spin_unlock(&dc->lock);
	}
	mutex_unlock(&m3_admin_mutex);
	return ret;
}

int m3_setpriv(struct m3_setpriv *a)
{
	struct m3_proc *p;
	struct m3_dc *dc;
	int ret = 0;

	if (a->pad || a->priv < M3_PRIV_HARDWARE || a->priv > M3_PRIV_USER)
		return -EINVAL;
	if (!capable(CAP_SYS_ADMIN)) {
		/* anyone bound may lower its own privilege */
		p = m3_self_target(a->dcid, a->endpoint, &dc);
		if (IS_ERR(p))
			return PTR_ERR(p);
		if (a->priv < p->priv)
			ret = -EPERM;
		else
			p->priv = a->priv;
		m3_current_put(dc);
		return ret;
	}
	mutex_lock(&m3_admin_mutex);
	ret = m3_admin_target(a->dcid, a->endpoint, &dc, &p);
	if (!ret) {
		p->priv = a->priv;
		spin_unlock(&dc->lock);
	}
	mutex_unlock(&m3_admin_mutex);
	return ret;
}

int m3_getep(struct m3_getep *a)
{
	struct task_struct *task;
	struct m3_dc *dc, *mydc;
	struct m3_proc *p, *me;
	int ret = 0;

	if (a->pid < 0)
		return -EINVAL;
	if (!a->pid) {
		task = current;
		get_task_struct(task);
	} else {
		rcu_read_lock();
		task = pid_task(find_vpid(a->pid), PIDTYPE_PID);
		if (task)
			get_task_struct(task);
		rcu_read_unlock();
		if (!task)
			return -ESRCH;
	}

	p = m3_task_proc_get(task, &dc);
	if (!p) {
		ret = -ENOTCONN;
		goto out_task;
	}
	if (task != current && !capable(CAP_SYS_ADMIN)) {
		/* only processes of the caller's own DC are visible */
		me = m3_task_proc_get(current, &mydc);
		if (!me) {
			ret = -ENOTCONN;
			goto out_dc;
		}
		if (mydc != dc)
			ret = -EACCES;
		m3_dc_put(mydc);
		if (ret)
			goto out_dc;
	}
	spin_lock(&dc->lock);
	if (p->task != task) {
		ret = -ENOTCONN;
	} else {
		a->endpoint = p->endpoint;
		a->dcid = dc->dcid;
		a->p_nr = p->p_nr;
		a->priv = p->priv;
		a->node = p->node;
	}
	spin_unlock(&dc->lock);
out_dc:
	m3_dc_put(dc);
out_task:
	put_task_struct(task);
	return ret;
}

int m3_proc_info(struct m3_proc_info *info)
{
	int dcid = info->dcid, p_nr = info->p_nr;
	struct m3_proc *p;
	struct m3_dc *dc;
	int ret = 0;

	memset(info, 0, sizeof(*info));
	info->dcid = dcid;
	info->p_nr = p_nr;
	mutex_lock(&m3_admin_mutex);
	if (!m3_dvs.initialized) {
		ret = -ENODEV;
		goto out;
	}
	dc = m3_dc_lookup(dcid);
	if (!dc) {
		ret = -ENXIO;
		goto out;
	}
	if (p_nr < -(int)dc->nr_tasks || p_nr >= (int)dc->nr_procs) {
		ret = -EBADSLT;
		goto out;
	}
	spin_lock(&dc->lock);
	p = m3_slot(dc, p_nr);
	info->endpoint = p->endpoint;
	info->send_to = M3_NONE;
	info->getfrom = M3_NONE;
	if (m3_bound(p)) {
		info->pid = p->pid;
		info->priv = p->priv;
		info->node = p->node;
		info->state = p->state;
		if (p->blocked_on)
			info->send_to = p->blocked_on->endpoint;
		if (p->state & M3_PST_RECEIVING)
			info->getfrom = p->getfrom ? p->getfrom->endpoint : M3_ANY;
		info->notify_pending = p->nr_notify;
		info->msgs_sent = p->msgs_sent;
		info->msgs_rcvd = p->msgs_rcvd;
		if (p->task)
			get_task_comm(info->comm, p->task);
		else
			strscpy(info->comm, p->rname, sizeof(info->comm));
	}
	spin_unlock(&dc->lock);
out:
	mutex_unlock(&m3_admin_mutex);
	return ret;
}
