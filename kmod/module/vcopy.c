// SPDX-License-Identifier: GPL-2.0
/*
 * vcopy.c - copy between the address spaces of two bound processes.
 *
 * The data goes through a one-page bounce buffer, one chunk at a time:
 * copy_{from,to}_user for the caller's own memory, access_process_vm()
 * for another process (it pins the pages itself and may fault/sleep). No
 * spinlock is held while copying; the two tasks are pinned with a task
 * reference taken under dc->lock.
 */
#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/uaccess.h>

#include "m3ipc_internal.h"

static int m3_vread(struct task_struct *t, u64 addr, void *buf, size_t n)
{
	if (t == current)
		return copy_from_user(buf, u64_to_user_ptr(addr), n) ?
		       -EFAULT : 0;
	return access_process_vm(t, addr, buf, n, 0) == n ? 0 : -EFAULT;
}

static int m3_vwrite(struct task_struct *t, u64 addr, void *buf, size_t n)
{
	if (t == current)
		return copy_to_user(u64_to_user_ptr(addr), buf, n) ?
		       -EFAULT : 0;
	return access_process_vm(t, addr, buf, n, FOLL_WRITE) == n ?
	       0 : -EFAULT;
}

int m3_vcopy(struct m3_vcopy *a)
{
	struct task_struct *st, *dt;
	struct m3_proc *c, *src, *dst;
	u64 left = a->len, done = 0;
	struct m3_dc *dc;
	void *buf;
	int ret;

	a->copied = 0;
	c = m3_current_proc(&dc);
	if (IS_ERR(c))
		return PTR_ERR(c);
	ret = m3_priv_vcopy(c);
	if (!ret)
		ret = m3_resolve(dc, c, a->src_ep, -ECONNRESET, &src);
	if (!ret)
		ret = m3_resolve(dc, c, a->dst_ep, -EPIPE, &dst);
	if (ret) {
		m3_current_put(dc);
		return ret;
	}
	st = src->task;
	dt = dst->task;
	get_task_struct(st);
	get_task_struct(dt);
	m3_current_put(dc);

	if (a->src_addr + a->len < a->src_addr ||
	    a->dst_addr + a->len < a->dst_addr) {
		ret = -EFAULT;
		goto out_tasks;
	}
	if (!left)
		goto out_tasks;
	buf = (void *)__get_free_page(GFP_KERNEL);
	if (!buf) {
		ret = -ENOMEM;
		goto out_tasks;
	}
	while (left) {
		size_t n = min_t(u64, left, PAGE_SIZE);

		ret = m3_vread(st, a->src_addr + done, buf, n);
		if (ret)
			break;
		ret = m3_vwrite(dt, a->dst_addr + done, buf, n);
		if (ret)
			break;
		done += n;
		left -= n;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	a->copied = done;
	free_page((unsigned long)buf);
out_tasks:
	put_task_struct(dt);
	put_task_struct(st);
	return ret;
}
