// SPDX-License-Identifier: GPL-2.0
/*
 * procfs.c - /proc/m3ipc: info, nodes, proxies, dc/<name>/{info,procs}.
 *
 * Every file is line oriented: a header line naming the columns, then one
 * record per line, fields separated by one space. Top-level files take the
 * admin mutex; DC files only take dc->lock (dc_end removes them with the
 * admin mutex held and waits for readers).
 */
#include <linux/atomic.h>
#include <linux/ctype.h>
#include <linux/proc_fs.h>
#include <linux/sched.h>
#include <linux/seq_file.h>

#include "m3ipc_internal.h"

static struct proc_dir_entry *m3_proc_root;
static struct proc_dir_entry *m3_proc_dcs;

static int m3_info_show(struct seq_file *m, void *v)
{
	mutex_lock(&m3_admin_mutex);
	seq_puts(m, "abi initialized node_id max_dcs max_tasks max_procs nr_dcs nr_bound\n");
	seq_printf(m, "%d %d %d %u %u %u %u %d\n", M3_ABI_VERSION,
		   m3_dvs.initialized, m3_dvs.initialized ? m3_dvs.node_id : -1,
		   m3_dvs.limits.max_dcs, m3_dvs.limits.max_tasks,
		   m3_dvs.limits.max_procs, m3_dvs.nr_dcs,
		   atomic_read(&m3_nr_bound));
	mutex_unlock(&m3_admin_mutex);
	return 0;
}

static int m3_nodes_show(struct seq_file *m, void *v)
{
	mutex_lock(&m3_admin_mutex);
	m3_rmt_show_nodes(m);
	mutex_unlock(&m3_admin_mutex);
	return 0;
}

static int m3_proxies_show(struct seq_file *m, void *v)
{
	m3_rmt_show_proxies(m);
	return 0;
}

static int m3_dc_info_show(struct seq_file *m, void *v)
{
	struct m3_dc *dc = m->private;

	seq_puts(m, "dcid name nr_tasks nr_procs flags cpumask nodes nr_bound\n");
	spin_lock(&dc->lock);
	seq_printf(m, "%d %s %u %u 0x%x 0x%llx 0x%llx %u\n", dc->dcid,
		   dc->name, dc->nr_tasks, dc->nr_procs, dc->flags,
		   dc->cpumask, dc->nodes, dc->nr_bound);
	spin_unlock(&dc->lock);
	return 0;
}

static const char *m3_state_str(unsigned int st)
{
	if (st & M3_PST_SENDING)
		return st & M3_PST_REQUEST ? "sendrec" : "sending";
	if (st & M3_PST_RMT)
		return "rmt_vcopy";
	if (st & M3_PST_REPLY_WAIT)
		return "reply_wait";
	if (st & M3_PST_RECEIVING)
		return st & M3_PST_RQST_ONLY ? "rcvrqst" : "receiving";
	return "idle";
}

/*
 * state: idle|sending|sendrec|reply_wait|receiving|rcvrqst; comm has no
 * white space (replaced by '_')
 */
static int m3_dc_procs_show(struct seq_file *m, void *v)
{
	struct m3_dc *dc = m->private;
	char comm[TASK_COMM_LEN];
	unsigned int i, j;

	seq_puts(m, "p_nr endpoint gen pid node priv state peer notify_pending msgs_sent msgs_rcvd comm\n");
	spin_lock(&dc->lock);
	for (i = 0; i < dc->nr_slots; i++) {
		struct m3_proc *p = &dc->procs[i];
		s32 peer = M3_NONE;

		if (!m3_bound(p))
			continue;
		if (p->blocked_on)
			peer = p->blocked_on->endpoint;
		else if (p->state & M3_PST_RECEIVING)
			peer = p->getfrom ? p->getfrom->endpoint : M3_ANY;
		if (p->task)
			get_task_comm(comm, p->task);
		else
			strscpy(comm, p->rname[0] ? p->rname : "remote",
				sizeof(comm));
		for (j = 0; comm[j]; j++)
			if (isspace(comm[j]) || !isprint(comm[j]))
				comm[j] = '_';
		seq_printf(m, "%d %d %u %d %d %d %s %d %u %llu %llu %s\n",
			   p->p_nr, p->endpoint, p->gen, p->pid, p->node,
			   p->priv, m3_state_str(p->state), peer, p->nr_notify,
			   p->msgs_sent, p->msgs_rcvd, comm[0] ? comm : "_");
	}
	spin_unlock(&dc->lock);
	return 0;
}

int m3_procfs_dc_add(struct m3_dc *dc)
{
	dc->procdir = proc_mkdir(dc->name, m3_proc_dcs);
	if (!dc->procdir)
		return -ENOMEM;
	if (!proc_create_single_data("info", 0444, dc->procdir,
				     m3_dc_info_show, dc) ||
	    !proc_create_single_data("procs", 0444, dc->procdir,
				     m3_dc_procs_show, dc)) {
		proc_remove(dc->procdir);
		dc->procdir = NULL;
		return -ENOMEM;
	}
	return 0;
}

void m3_procfs_dc_remove(struct m3_dc *dc)
{
	proc_remove(dc->procdir);
	dc->procdir = NULL;
}

int m3_procfs_init(void)
{
	m3_proc_root = proc_mkdir(M3_NAME, NULL);
	if (!m3_proc_root)
		return -ENOMEM;
	if (!proc_create_single("info", 0444, m3_proc_root, m3_info_show) ||
	    !proc_create_single("nodes", 0444, m3_proc_root, m3_nodes_show) ||
	    !proc_create_single("proxies", 0444, m3_proc_root,
				m3_proxies_show) ||
	    /* root only: each read measures, for tens of milliseconds */
	    !proc_create_single("link_seal", 0400, m3_proc_root,
				m3_link_seal_show))
		goto err;
	m3_proc_dcs = proc_mkdir("dc", m3_proc_root);
	if (!m3_proc_dcs)
		goto err;
	return 0;
err:
	proc_remove(m3_proc_root);
	return -ENOMEM;
}

void m3_procfs_exit(void)
{
	proc_remove(m3_proc_root);
}
