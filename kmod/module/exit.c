// SPDX-License-Identifier: GPL-2.0
/*
 * exit.c - notice the death of bound processes.
 *
 * A probe on the sched_process_exit tracepoint runs in do_exit() of every
 * task (any cause: exit, signal, kill -9), found with the exported
 * for_each_kernel_tracepoint() and attached with tracepoint_probe_register()
 * (no syscall hooks, no kallsyms). The binding is keyed on the task, so it
 * does not depend on who holds /dev/m3ipc open; a child after fork is a new
 * task and not bound; exec keeps the task and so the binding.
 *
 * The probe runs with preemption disabled: it only takes spinlocks, wakes
 * peers and drops references (m3_unbind_locked).
 */
#include <linux/atomic.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "m3ipc_internal.h"

static struct tracepoint *m3_tp_exit;

static void m3_find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_exit"))
		*(struct tracepoint **)priv = tp;
}

static void m3_exit_probe(void *data, struct task_struct *task)
{
	struct m3_proc *p;
	struct m3_dc *dc;

	if (atomic_read(&m3_nr_proxies))
		m3_rmt_task_exit(task);	/* a proxy: its node goes down */
	if (!atomic_read(&m3_nr_bound))
		return;
	p = m3_task_proc_get(task, &dc);
	if (!p)
		return;
	spin_lock(&dc->lock);
	if (p->task == task)
		m3_unbind_locked(p);
	spin_unlock(&dc->lock);
	m3_dc_put(dc);
}

int m3_exit_hook_init(void)
{
	int ret;

	for_each_kernel_tracepoint(m3_find_tp, &m3_tp_exit);
	if (!m3_tp_exit) {
		pr_err("m3ipc: tracepoint sched_process_exit not found\n");
		return -ENOENT;
	}
	ret = tracepoint_probe_register(m3_tp_exit, (void *)m3_exit_probe,
					NULL);
	if (ret)
		pr_err("m3ipc: cannot attach the exit probe: %d\n", ret);
	return ret;
}

void m3_exit_hook_exit(void)
{
	tracepoint_probe_unregister(m3_tp_exit, (void *)m3_exit_probe, NULL);
	tracepoint_synchronize_unregister();
}
