// SPDX-License-Identifier: GPL-2.0
/*
 * vcopy.c - copy between the address spaces of two bound processes.
 *
 * Every byte is copied once. The pages of one side (the destination when
 * the caller is the source, else the source) are pinned a batch at a time
 * with pin_user_pages_remote() under that mm's mmap_read_lock, which is
 * dropped before copying; each pinned page is then copied straight to or
 * from the other side: copy_{to,from}_user() when that side is the caller,
 * m3_mm_rw() into the destination's mm when the caller is a third party.
 * No lock is held while copying, so faults on the caller's side are fine.
 * The two tasks are pinned with a task reference taken under dc->lock, and
 * each one's mm is taken once, with the access check (m3_vcopy_mm()): an
 * exec in the middle of a copy cannot send the rest into the new image.
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
 * The mm of @t for a vcopy, taken once with the access check, or an
 * ERR_PTR: @gone when @t has no mm any more (it is exiting: the copy
 * reports the death), -EACCES when the rule below forbids it, -EINTR on a
 * fatal signal. The caller copies into and out of this mm only (m3_mm_rw(),
 * or pages it pins in it) and mmput()s it at the end.
 *
 * Why once: a copy runs batch after batch, window after window, and the
 * target may execve() meanwhile. Copying through the task
 * (access_process_vm()) follows it into its new image, which may be a
 * setuid program the check never saw: the rest of a write lands in a
 * process running as root, the rest of a read leaks from it. Held here,
 * the old mm stays whole until our mmput(); an exec sends the rest of the
 * copy into that dead image.
 *
 * The check is made on this same mm under the task's exec_update_lock, as
 * mm_access() does (neither mm_access() nor access_remote_vm() is exported
 * to modules on 6.1): exec holds that lock for writing from the switch to
 * the new mm until the new image's dumpability and credentials are set,
 * so the mm and the dumpability read here belong to one image. Without it
 * a new mm still carries the old one's dumpability for a moment.
 *
 * The rule: vcopy reaches into another process only where ptrace could: a
 * process that is not dumpable (a setuid or setgid program after its exec,
 * or one that called prctl(PR_SET_DUMPABLE, 0), like ssh-agent) is off
 * limits, whatever its M3 level, unless the caller holds CAP_SYS_PTRACE.
 * That is ptrace_may_access()'s rule for such processes (the function
 * itself is not exported to modules). A caller on another node
 * (@remote_caller) never gets the bypass: its copy runs in the receiver
 * proxy, whose capabilities are not the caller's.
 */
struct mm_struct *m3_vcopy_mm(struct task_struct *t, bool remote_caller,
			      int gone)
{
	struct mm_struct *mm;
	int ret;

	ret = down_read_killable(&t->signal->exec_update_lock);
	if (ret)
		return ERR_PTR(ret);
	mm = get_task_mm(t);
	if (!mm) {
		mm = ERR_PTR(gone);
		goto out_unlock;
	}
	if (t != current && get_dumpable(mm) != SUID_DUMP_USER &&
	    (remote_caller || !capable(CAP_SYS_PTRACE))) {
		mmput(mm);
		mm = ERR_PTR(-EACCES);
	}
out_unlock:
	up_read(&t->signal->exec_update_lock);
	return mm;
}

/* pages pinned per batch: 64 KiB with 4 KiB pages */
#define M3_VCOPY_BATCH	16

/*
 * Copy @len bytes between @buf and @addr in @mm (from m3_vcopy_mm()), in
 * batches of pinned pages: what access_remote_vm() does, which modules
 * cannot call. 0, -EFAULT when a page is not mapped (or, @write, not
 * writable; no FOLL_FORCE), -EINTR on a fatal signal.
 */
int m3_mm_rw(struct mm_struct *mm, u64 addr, void *buf, size_t len,
	     bool write)
{
	struct page *pages[M3_VCOPY_BATCH];
	long got, i;

	while (len) {
		unsigned long off = addr & ~PAGE_MASK;
		unsigned long nr = min_t(u64, M3_VCOPY_BATCH,
					 DIV_ROUND_UP(off + len, PAGE_SIZE));

		if (mmap_read_lock_killable(mm))
			return -EINTR;
		got = pin_user_pages_remote(mm, addr & PAGE_MASK, nr,
					    write ? FOLL_WRITE : 0, pages,
					    NULL, NULL);
		mmap_read_unlock(mm);
		if (got <= 0)
			return -EFAULT;
		for (i = 0; i < got; i++) {
			size_t n = min_t(size_t, PAGE_SIZE - off, len);
			void *k = kmap_local_page(pages[i]);

			if (write)
				memcpy(k + off, buf, n);
			else
				memcpy(buf, k + off, n);
			kunmap_local(k);
			buf += n;
			addr += n;
			len -= n;
			off = 0;
		}
		if (write)
			unpin_user_pages_dirty_lock(pages, got, true);
		else
			unpin_user_pages(pages, got);
	}
	return 0;
}

/*
 * The pages of one side are pinned in @smm or @dmm; the other side is the
 * caller (copy_{to,from}_user()) or, for a third-party caller, @dmm.
 */
static int m3_vcopy_pages(struct m3_vcopy *a, bool src_self, bool dst_self,
			  struct mm_struct *smm, struct mm_struct *dmm,
			  u64 *done)
{
	bool pin_dst = src_self;
	struct mm_struct *mm = pin_dst ? dmm : smm;
	u64 raddr = pin_dst ? a->dst_addr : a->src_addr;
	struct page *pages[M3_VCOPY_BATCH];
	long got, i;
	int ret = 0;

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

			if (pin_dst)
				ret = copy_from_user(k, u64_to_user_ptr(a->src_addr + *done), n) ?
				      -EFAULT : 0;
			else if (dst_self)
				ret = copy_to_user(u64_to_user_ptr(a->dst_addr + *done), k, n) ?
				      -EFAULT : 0;
			else
				ret = m3_mm_rw(dmm, a->dst_addr + *done, k, n,
					       true);
			kunmap_local(k);
			if (!ret)
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
	return ret;
}

int m3_vcopy(struct m3_vcopy *a)
{
	struct task_struct *st, *dt;
	struct mm_struct *smm, *dmm;
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
	/* each side's mm once, checked; an exec cannot redirect the copy */
	smm = m3_vcopy_mm(st, false, -ECONNRESET);
	if (IS_ERR(smm)) {
		ret = PTR_ERR(smm);
		goto out_tasks;
	}
	dmm = m3_vcopy_mm(dt, false, -EPIPE);
	if (IS_ERR(dmm)) {
		ret = PTR_ERR(dmm);
		goto out_smm;
	}
	if (a->len)
		ret = m3_vcopy_pages(a, st == current, dt == current, smm, dmm,
				     &done);
	a->copied = done;
	mmput(dmm);
out_smm:
	mmput(smm);
out_tasks:
	put_task_struct(dt);
	put_task_struct(st);
	return ret;
}
