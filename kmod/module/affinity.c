// SPDX-License-Identifier: GPL-2.0
/*
 * affinity.c - a DC's CPU mask on the processes bound in it.
 *
 * Bind narrows a process to its DC's CPUs; unbind gives back the mask it had
 * before, unless the process set another one itself meanwhile; and a CPU of a
 * DC's mask coming back online gets the DC's processes again, because the
 * scheduler widened the mask of every process whose CPUs had all gone offline
 * (to every possible CPU) and never narrows it back; a mask the process chose
 * itself while bound is left alone there too.
 *
 * set_cpus_allowed_ptr() sleeps, but unbind runs under dc->lock and, from the
 * exit hook, with preemption disabled: there it only queues the restore (its
 * memory taken at bind), which runs from m3_wq under m3_admin_mutex, the lock
 * bind holds while it applies a mask, so the two never interleave. A bind
 * that comes before the restore of the task's last unbind has run takes the
 * task's own mask from that restore, not the DC mask still in force.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "m3ipc_internal.h"

struct m3_affinity {
	struct work_struct work;
	struct list_head pending;	/* on m3_affinity_queued until restored */
	struct task_struct *task;	/* reference held */
	cpumask_var_t saved;		/* the task's own mask before bind */
	cpumask_var_t applied;		/* the DC's CPUs, as bind set them */
};

static enum cpuhp_state m3_cpuhp_state;
/* restores queued by unbinds and not yet run (lock order: leaf) */
static LIST_HEAD(m3_affinity_queued);
static DEFINE_SPINLOCK(m3_affinity_lock);
static void m3_affinity_reapply(struct work_struct *work);
static DECLARE_WORK(m3_reapply_work, m3_affinity_reapply);

static void m3_affinity_free(struct m3_affinity *a)
{
	put_task_struct(a->task);
	free_cpumask_var(a->saved);
	free_cpumask_var(a->applied);
	kfree(a);
}

static void m3_affinity_restore(struct work_struct *work)
{
	struct m3_affinity *a = container_of(work, struct m3_affinity, work);
	struct task_struct *t = a->task;

	mutex_lock(&m3_admin_mutex);
	spin_lock(&m3_affinity_lock);
	list_del(&a->pending);
	spin_unlock(&m3_affinity_lock);
	/*
	 * Not for a dying task, nor one bound again meanwhile (its new DC
	 * set its mask), nor one that chose its own mask since bind.
	 */
	if (!(t->flags & PF_EXITING) && !m3_task_bound(t) &&
	    cpumask_equal(&t->cpus_mask, a->applied))
		set_cpus_allowed_ptr(t, a->saved);
	mutex_unlock(&m3_admin_mutex);
	m3_affinity_free(a);
}

/*
 * Admin mutex held, before the slot is taken: the restore record of a bind
 * of @task into @dc, or NULL when the DC has no mask. ERR_PTR(-ENOMEM).
 */
struct m3_affinity *m3_affinity_prepare(struct m3_dc *dc,
					struct task_struct *task)
{
	struct m3_affinity *a;
	unsigned int cpu;

	if (!dc->cpumask)
		return NULL;
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return ERR_PTR(-ENOMEM);
	if (!zalloc_cpumask_var(&a->saved, GFP_KERNEL))
		goto err_free;
	if (!zalloc_cpumask_var(&a->applied, GFP_KERNEL))
		goto err_saved;
	for (cpu = 0; cpu < 64 && cpu < nr_cpu_ids; cpu++)
		if (dc->cpumask & (1ULL << cpu))
			cpumask_set_cpu(cpu, a->applied);
	INIT_WORK(&a->work, m3_affinity_restore);
	INIT_LIST_HEAD(&a->pending);
	get_task_struct(task);
	a->task = task;
	return a;

err_saved:
	free_cpumask_var(a->saved);
err_free:
	kfree(a);
	return ERR_PTR(-ENOMEM);
}

/* a bind that did not happen */
void m3_affinity_discard(struct m3_affinity *a)
{
	if (!IS_ERR_OR_NULL(a))
		m3_affinity_free(a);
}

/*
 * Admin mutex held, no spinlock, after the slot holds @a: narrow the task.
 * With none of the mask's CPUs online the mask waits for one to come up.
 */
void m3_affinity_apply(struct m3_affinity *a)
{
	struct m3_affinity *q, *last = NULL;

	if (!a)
		return;
	cpumask_copy(a->saved, &a->task->cpus_mask);
	/*
	 * Bound again before the restore of its last unbind ran (that restore
	 * will see it bound and leave it): the mask in force is still the
	 * old DC's, its own is the one that restore kept.
	 */
	spin_lock(&m3_affinity_lock);
	list_for_each_entry(q, &m3_affinity_queued, pending)
		if (q->task == a->task)
			last = q;
	if (last && cpumask_equal(&a->task->cpus_mask, last->applied))
		cpumask_copy(a->saved, last->saved);
	spin_unlock(&m3_affinity_lock);
	if (cpumask_intersects(a->applied, cpu_online_mask))
		set_cpus_allowed_ptr(a->task, a->applied);
}

/* dc->lock held (any context): the slot is unbound; restore later */
void m3_affinity_unbind(struct m3_proc *p)
{
	struct m3_affinity *a = p->affinity;

	if (!a)
		return;
	p->affinity = NULL;
	spin_lock(&m3_affinity_lock);
	list_add_tail(&a->pending, &m3_affinity_queued);
	spin_unlock(&m3_affinity_lock);
	queue_work(m3_wq, &a->work);
}

static void m3_affinity_reapply(struct work_struct *work)
{
	unsigned int i, s;

	/* until the CPU that came up is active: a mask may name only it */
	cpus_read_lock();
	mutex_lock(&m3_admin_mutex);
	for (i = 0; i < M3_MAX_DCS; i++) {
		struct m3_dc *dc = m3_dvs.dcs[i];

		if (!dc || !dc->cpumask)
			continue;
		for (s = 0; s < dc->nr_slots; s++) {
			struct m3_proc *p = &dc->procs[s];
			struct m3_affinity *a;

			/*
			 * a stays valid after the unlock: its restore, queued
			 * by an unbind, waits for the admin mutex we hold.
			 */
			spin_lock(&dc->lock);
			a = p->affinity;
			spin_unlock(&dc->lock);
			/*
			 * Only a mask the scheduler widened (all its CPUs went
			 * offline: it falls back to every possible CPU), not
			 * one the process chose while bound, as unbind does.
			 */
			if (a && cpumask_equal(&a->task->cpus_mask, cpu_possible_mask) &&
			    !cpumask_equal(a->applied, cpu_possible_mask) &&
			    cpumask_intersects(a->applied, cpu_online_mask))
				set_cpus_allowed_ptr(a->task, a->applied);
		}
	}
	mutex_unlock(&m3_admin_mutex);
	cpus_read_unlock();
}

static int m3_affinity_cpu_online(unsigned int cpu)
{
	queue_work(m3_wq, &m3_reapply_work);
	return 0;
}

int m3_affinity_init(void)
{
	int ret;

	ret = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "m3ipc:online",
					m3_affinity_cpu_online, NULL);
	if (ret < 0)
		return ret;
	m3_cpuhp_state = ret;
	return 0;
}

void m3_affinity_exit(void)
{
	cpuhp_remove_state_nocalls(m3_cpuhp_state);
	cancel_work_sync(&m3_reapply_work);
}
