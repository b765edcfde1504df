// SPDX-License-Identifier: GPL-2.0
/*
 * dvs.c - the node's DVS state: dvs_init / dvs_end / info.
 */
#include <linux/atomic.h>
#include <linux/errno.h>

#include "m3ipc_internal.h"

static int m3_limits_check(struct m3_dvs_limits *l)
{
	if (l->flags)
		return -EINVAL;
	if (!l->max_dcs)
		l->max_dcs = M3_DEF_DCS;
	if (!l->max_tasks)
		l->max_tasks = M3_DEF_TASKS;
	if (!l->max_procs)
		l->max_procs = M3_DEF_PROCS;
	if (l->max_dcs > M3_MAX_DCS || l->max_tasks > M3_MAX_TASKS ||
	    l->max_procs > M3_MAX_PROCS)
		return -EINVAL;
	return 0;
}

int m3_dvs_init(struct m3_dvs_init *a)
{
	int ret;

	if (a->pad || a->node_id < 0 || a->node_id >= M3_MAX_NODES)
		return -EINVAL;
	ret = m3_limits_check(&a->limits);
	if (ret)
		return ret;

	mutex_lock(&m3_admin_mutex);
	if (m3_dvs.initialized) {
		ret = -EBUSY;
		goto out;
	}
	m3_dvs.node_id = a->node_id;
	m3_dvs.limits = a->limits;
	m3_dvs.nodes = 1ULL << a->node_id;
	m3_dvs.nr_dcs = 0;
	m3_dvs.initialized = true;
	pr_info("m3ipc: DVS initialized, node %d\n", a->node_id);
out:
	mutex_unlock(&m3_admin_mutex);
	return ret;
}

/* tears down every DC; waiters wake with -ENOTCONN */
int m3_dvs_end(void)
{
	int i, ret = 0;

	mutex_lock(&m3_admin_mutex);
	if (!m3_dvs.initialized) {
		ret = -ENODEV;
		goto out;
	}
	for (i = 0; i < M3_MAX_DCS; i++)
		if (m3_dvs.dcs[i])
			m3_dc_end_locked(m3_dvs.dcs[i]);
	m3_rmt_dvs_end();	/* proxies unbound, queued frames dropped */
	m3_dvs.initialized = false;
	m3_dvs.nodes = 0;
	m3_bind_announce();	/* wait4bind callers learn the DVS is gone */
	pr_info("m3ipc: DVS ended\n");
out:
	mutex_unlock(&m3_admin_mutex);
	return ret;
}

void m3_dvs_get_info(struct m3_dvs_info *info)
{
	memset(info, 0, sizeof(*info));
	info->abi_version = M3_ABI_VERSION;
	mutex_lock(&m3_admin_mutex);
	info->initialized = m3_dvs.initialized;
	info->node_id = m3_dvs.initialized ? m3_dvs.node_id : -1;
	info->nr_dcs = m3_dvs.nr_dcs;
	if (m3_dvs.initialized)
		info->limits = m3_dvs.limits;
	info->nodes = m3_dvs.nodes;
	info->nr_bound = atomic_read(&m3_nr_bound);
	mutex_unlock(&m3_admin_mutex);
}
