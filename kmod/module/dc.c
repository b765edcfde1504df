// SPDX-License-Identifier: GPL-2.0
/*
 * dc.c - distributed containers (DCs): creation, teardown, lifetime, info.
 */
#include <linux/bitmap.h>
#include <linux/ctype.h>
#include <linux/cpumask.h>
#include <linux/errno.h>
#include <linux/hashtable.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "m3ipc_internal.h"

/* admin mutex held */
struct m3_dc *m3_dc_lookup(int dcid)
{
	if (!m3_dvs.initialized || dcid < 0 ||
	    dcid >= (int)m3_dvs.limits.max_dcs)
		return NULL;
	return m3_dvs.dcs[dcid];
}

static bool m3_name_ok(const char *name)
{
	size_t i, len = strnlen(name, M3_DC_NAME_LEN);

	if (!len || len == M3_DC_NAME_LEN)
		return false;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && name[i] != '_' && name[i] != '-' &&
		    name[i] != '.')
			return false;
	return true;
}

static bool m3_cpumask_ok(u64 mask)
{
	unsigned int cpu;

	if (!mask)
		return true;
	for_each_online_cpu(cpu)
		if (cpu < 64 && (mask & (1ULL << cpu)))
			return true;
	return false;
}

static void m3_dc_free_work(struct work_struct *work)
{
	struct m3_dc *dc = container_of(work, struct m3_dc, free_work);

	kvfree(dc->bitmaps);
	kvfree(dc->procs);
	kfree(dc);
}

/* may run with preemption disabled (exit hook): defer the kvfree */
static void m3_dc_release(struct kref *ref)
{
	struct m3_dc *dc = container_of(ref, struct m3_dc, ref);

	INIT_WORK(&dc->free_work, m3_dc_free_work);
	queue_work(m3_wq, &dc->free_work);
}

void m3_dc_put(struct m3_dc *dc)
{
	kref_put(&dc->ref, m3_dc_release);
}

static struct m3_dc *m3_dc_alloc(const struct m3_dc_spec *spec)
{
	unsigned int nr_slots = spec->nr_tasks + spec->nr_procs;
	size_t longs = BITS_TO_LONGS(nr_slots);
	struct m3_dc *dc;
	unsigned int i;

	dc = kzalloc(sizeof(*dc), GFP_KERNEL);
	if (!dc)
		return NULL;
	dc->procs = kvcalloc(nr_slots, sizeof(*dc->procs), GFP_KERNEL);
	if (!dc->procs)
		goto err_dc;
	dc->bitmaps = kvcalloc(nr_slots * longs, sizeof(long), GFP_KERNEL);
	if (!dc->bitmaps)
		goto err_procs;

	kref_init(&dc->ref);
	spin_lock_init(&dc->lock);
	memcpy(dc->name, spec->name, M3_DC_NAME_LEN);
	dc->nr_tasks = spec->nr_tasks;
	dc->nr_procs = spec->nr_procs;
	dc->nr_slots = nr_slots;
	dc->flags = spec->flags;
	dc->nr_sysprocs = spec->nr_sysprocs ?: spec->nr_tasks;
	dc->cpumask = spec->cpumask;
	for (i = 0; i < nr_slots; i++) {
		struct m3_proc *p = &dc->procs[i];

		p->dc = dc;
		p->p_nr = (int)i - (int)spec->nr_tasks;
		p->endpoint = M3_NONE;
		p->priv = M3_PRIV_DEFAULT;
		INIT_LIST_HEAD(&p->caller_q);
		INIT_LIST_HEAD(&p->q_link);
		INIT_HLIST_NODE(&p->hnode);
		p->notify_pending = dc->bitmaps + i * longs;
	}
	return dc;

err_procs:
	kvfree(dc->procs);
err_dc:
	kfree(dc);
	return NULL;
}

int m3_dc_init(struct m3_dc_spec *spec)
{
	struct m3_dc *dc;
	int i, dcid, ret;

	if (!m3_name_ok(spec->name) || (spec->flags & ~M3_DCF_ALL) ||
	    spec->nr_tasks > M3_MAX_TASKS || !spec->nr_procs ||
	    spec->nr_procs > M3_MAX_PROCS || !m3_cpumask_ok(spec->cpumask) ||
	    spec->pad)
		return -EINVAL;
	/* system processes only mean something under the compat rules */
	if (spec->nr_sysprocs &&
	    (!(spec->flags & M3_DCF_COMPAT) ||
	     spec->nr_sysprocs < spec->nr_tasks ||
	     spec->nr_sysprocs > spec->nr_tasks + spec->nr_procs))
		return -EINVAL;
	if (spec->dcid < -1 || spec->dcid >= M3_MAX_DCS)
		return -ENXIO;

	dc = m3_dc_alloc(spec);
	if (!dc)
		return -ENOMEM;

	mutex_lock(&m3_admin_mutex);
	if (!m3_dvs.initialized) {
		ret = -ENODEV;
		goto err_unlock;
	}
	if (spec->nr_tasks > m3_dvs.limits.max_tasks ||
	    spec->nr_procs > m3_dvs.limits.max_procs) {
		ret = -EINVAL;
		goto err_unlock;
	}
	if (spec->dcid >= (int)m3_dvs.limits.max_dcs) {
		ret = -ENXIO;
		goto err_unlock;
	}
	dcid = -1;
	for (i = 0; i < (int)m3_dvs.limits.max_dcs; i++) {
		struct m3_dc *o = m3_dvs.dcs[i];

		if (o && !strcmp(o->name, spec->name)) {
			ret = -EBUSY;
			goto err_unlock;
		}
		if (!o && dcid < 0 && (spec->dcid < 0 || spec->dcid == i))
			dcid = i;
	}
	if (dcid < 0) {
		ret = -EBUSY;
		goto err_unlock;
	}
	dc->dcid = dcid;
	dc->nodes = 1ULL << m3_dvs.node_id;
	dc->alive = true;
	ret = m3_procfs_dc_add(dc);
	if (ret)
		goto err_unlock;
	m3_dvs.dcs[dcid] = dc;
	m3_dvs.nr_dcs++;
	/*
	 * The DC table holds the only reference: once the mutex is dropped,
	 * another admin may end the DC and free it at once (dc_end by dcid),
	 * so everything answered or logged is read from it before the unlock.
	 */
	spec->dcid = dcid;
	spec->nodes = dc->nodes;
	pr_info("m3ipc: DC %d '%s' up (%u tasks, %u procs)\n", dcid, dc->name,
		dc->nr_tasks, dc->nr_procs);
	mutex_unlock(&m3_admin_mutex);
	return dcid;

err_unlock:
	mutex_unlock(&m3_admin_mutex);
	m3_dc_free_work(&dc->free_work);
	return ret;
}

/*
 * admin mutex held. Every blocked process of the DC wakes with -ENOTCONN
 * (its binding goes away), then every slot is unbound. The memory goes
 * when the last in-flight IPC call drops its reference.
 */
void m3_dc_end_locked(struct m3_dc *dc)
{
	unsigned int i;

	m3_dvs.dcs[dc->dcid] = NULL;
	m3_dvs.nr_dcs--;
	m3_procfs_dc_remove(dc);

	spin_lock(&dc->lock);
	dc->alive = false;
	/* a remote process blocked here gets -EPIPE: its peer is gone */
	for (i = 0; i < dc->nr_slots; i++)
		if (dc->procs[i].state)
			m3_wake(&dc->procs[i], dc->procs[i].remote ?
				-EPIPE : -ENOTCONN);
	for (i = 0; i < dc->nr_slots; i++)
		if (m3_bound(&dc->procs[i]))
			m3_unbind_locked(&dc->procs[i]);
	spin_unlock(&dc->lock);

	pr_info("m3ipc: DC %d '%s' down\n", dc->dcid, dc->name);
	m3_dc_put(dc);
}

int m3_dc_end(int dcid)
{
	struct m3_dc *dc;
	int ret = 0;

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
	m3_dc_end_locked(dc);
out:
	mutex_unlock(&m3_admin_mutex);
	return ret;
}

int m3_dc_get_info(struct m3_dc_info *info)
{
	int dcid = info->dcid;
	struct m3_dc *dc;
	int ret = 0;

	memset(info, 0, sizeof(*info));
	info->dcid = dcid;
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
	memcpy(info->spec.name, dc->name, M3_DC_NAME_LEN);
	info->spec.dcid = dc->dcid;
	info->spec.nr_tasks = dc->nr_tasks;
	info->spec.nr_procs = dc->nr_procs;
	info->spec.flags = dc->flags;
	info->spec.nr_sysprocs = (dc->flags & M3_DCF_COMPAT) ? dc->nr_sysprocs : 0;
	info->spec.cpumask = dc->cpumask;
	info->spec.nodes = dc->nodes;
	spin_lock(&dc->lock);
	info->nr_bound = dc->nr_bound;
	spin_unlock(&dc->lock);
out:
	mutex_unlock(&m3_admin_mutex);
	return ret;
}
