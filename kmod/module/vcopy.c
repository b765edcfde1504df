// SPDX-License-Identifier: GPL-2.0
/*
 * vcopy.c - copy between the address spaces of two bound processes.
 *
 * Every byte is copied once. The pages of one side (the destination when
 * the caller is the source, else the source) are pinned a batch at a time
 * with pin_user_pages_remote() under that mm's mmap_read_lock, which is
 * dropped before copying; each pinned page is then copied straight to or
 * from the other side: copy_{to,from}_user() when that side is the caller,
 * access_process_vm() when the caller is a third party. No lock is held
 * while copying, so faults on the caller's side are fine. The two tasks are
 * pinned with a task reference taken under dc->lock.
 */
#include <linux/errno.h>
#include <linux/highmem.h>
#include <linux/capability.h>
#include <linux/mm.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/uaccess.h>

#include "m3ipc_internal.h"

/*
 * vcopy reaches into another process only where ptrace could: a process
 * that is not dumpable (a setuid or setgid program after its exec, or one
 * that called prctl(PR_SET_DUMPABLE, 0), like ssh-agent) is off limits,
 * whatever its M3 level, unless the caller holds CAP_SYS_PTRACE. That is
 * ptrace_may_access()'s rule for such processes (the function itself is
 * not exported to modules). A caller on another node never gets the
 * bypass: its copy runs in the receiver proxy, whose capabilities are not
 * the caller's. A task without an mm (exiting) passes: the copy then
 * reports the death.
 */
bool m3_task_copyable(struct task_struct *t, bool remote_caller)
{
	bool ok;

	if (t == current)
		return true;
	task_lock(t);
	ok = !t->mm || get_dumpable(t->mm) == SUID_DUMP_USER;
	task_unlock(t);
	return ok || (!remote_caller && capable(CAP_SYS_PTRACE));
}

/* pages pinned per batch: 64 KiB with 4 KiB pages */
#define M3_VCOPY_BATCH	16

static int m3_vcopy_pages(struct m3_vcopy *a, struct task_struct *st,
			  struct task_struct *dt, u64 *done)
{
	bool pin_dst = st == current;
	struct task_struct *rt = pin_dst ? dt : st;
	u64 raddr = pin_dst ? a->dst_addr : a->src_addr;
	struct page *pages[M3_VCOPY_BATCH];
	struct mm_struct *mm;
	long got, i;
	int ret = 0;

	mm = get_task_mm(rt);
	if (!mm)
		return pin_dst ? -EPIPE : -ECONNRESET;
	while (*done < a->len) {
		u64 pos = raddr + *done;
		unsigned long off = pos & ~PAGE_MASK;
		unsigned long nr = min_t(u64, M3_VCOPY_BATCH,
					 DIV_ROUND_UP(off + (a->len - *done), PAGE_SIZE));

		mmap_read_lock(mm);
		got = pin_user_pages_remote(mm, pos & PAGE_MASK, nr,
					    pin_dst ? FOLL_WRITE : 0, pages,
					    NULL, NULL);
		mmap_read_unlock(mm);
		if (got <= 0) {
			ret = -EFAULT;
			break;
		}
		for (i = 0; i < got && !ret; i++) {
			size_t n = min_t(u64, PAGE_SIZE - off, a->len - *done);
			void *k = kmap_local_page(pages[i]) + off;
			bool fail;

			if (pin_dst)
				fail = copy_from_user(k, u64_to_user_ptr(a->src_addr + *done), n);
			else if (dt == current)
				fail = copy_to_user(u64_to_user_ptr(a->dst_addr + *done), k, n);
			else
				fail = access_process_vm(dt, a->dst_addr + *done, k, n,
							 FOLL_WRITE) != n;
			kunmap_local(k);
			if (fail)
				ret = -EFAULT;
			else
				*done += n;
			off = 0;
		}
		if (pin_dst)
			unpin_user_pages_dirty_lock(pages, got, true);
		else
			unpin_user_pages(pages, got);
		if (ret)
			break;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	mmput(mm);
	return ret;
}

int m3_vcopy(struct m3_vcopy *a)
{
	struct task_struct *st, *dt;
	struct m3_proc *c, *src, *dst;
	u64 done = 0;
	struct m3_dc *dc;
	int ret;

	a->copied = 0;
	if (a->timeout_ms < M3_TIMEOUT_FOREVER || a->pad)
		return -EINVAL;
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
	if (!m3_task_copyable(st, false) || !m3_task_copyable(dt, false)) {
		ret = -EACCES;
		goto out_tasks;
	}
	if (a->len)
		ret = m3_vcopy_pages(a, st, dt, &done);
	a->copied = done;
out_tasks:
	put_task_struct(dt);
	put_task_struct(st);
	return ret;
}
