// SPDX-License-Identifier: GPL-2.0
/*
 * m3canary - a test-only module with deliberate bugs, so the lab can prove it
 * detects them (suites/verdicts.test.ts). It is never part of m3ipc and never
 * loaded outside that proof.
 *
 * Writing a word to /sys/kernel/debug/m3canary/trigger runs one bug in the
 * writer's context:
 *   uaf          read from a kmalloc'd object after kfree (KASAN)
 *   lockorder    take A then B, later B then A (lockdep: circular dependency)
 *   warn         WARN()
 *   ubsan        shift out of bounds (UBSAN)
 *   atomic-sleep might_sleep() under a spinlock (DEBUG_ATOMIC_SLEEP)
 *   list         list_del() twice (DEBUG_LIST: "list_del corruption", a BUG on 6.1)
 *   panic        panic()
 *   hang         spin forever with interrupts off (the node stops answering)
 *   null         read through a NULL pointer (Oops)
 *   gpf          read through a non-canonical pointer (general protection fault)
 *   bug          BUG()
 *   refcount     decrement a refcount_t below zero
 *   kfence       use-after-free of an object KFENCE sampled
 *   hung         sleep uninterruptibly for 70 s (hung task: the 20 s detector needs two checks)
 *   softlockup   spin 30 s with preemption off (soft lockup, RCU stall)
 */
#include <linux/debugfs.h>
#include <linux/jiffies.h>
#include <linux/kfence.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>

static struct dentry *canary_dir;
static DEFINE_MUTEX(canary_a);
static DEFINE_MUTEX(canary_b);
static DEFINE_SPINLOCK(canary_spin);

static noinline int canary_uaf(void)
{
	char *volatile p = kmalloc(64, GFP_KERNEL);
	char c;

	if (!p)
		return -ENOMEM;
	p[0] = 'x';
	kfree(p);
	c = READ_ONCE(p[8]);
	pr_info("m3canary: read %d after free\n", c);
	return 0;
}

static noinline void canary_ab(void)
{
	mutex_lock(&canary_a);
	mutex_lock(&canary_b);
	mutex_unlock(&canary_b);
	mutex_unlock(&canary_a);
}

static noinline void canary_ba(void)
{
	mutex_lock(&canary_b);
	mutex_lock(&canary_a);
	mutex_unlock(&canary_a);
	mutex_unlock(&canary_b);
}

static noinline int canary_shift(size_t len)
{
	/* len comes from the write: the compiler cannot fold the shift. */
	volatile int shift = 30 + (int)len;

	return 1 << shift;
}

/*
 * might_sleep() under a spinlock reports without really sleeping: a real
 * msleep() here would leave the CPU's preempt count broken and make later
 * tests report too.
 */
static noinline void canary_sleep_atomic(void)
{
	spin_lock(&canary_spin);
	might_sleep();
	spin_unlock(&canary_spin);
}

static noinline void canary_list(void)
{
	struct list_head head, entry;

	INIT_LIST_HEAD(&head);
	list_add(&entry, &head);
	list_del(&entry);
	/* list_del poisoned the pointers: DEBUG_LIST reports the second one. */
	list_del(&entry);
}

static noinline int canary_deref(unsigned long addr)
{
	return READ_ONCE(*(int *)addr);
}

static noinline void canary_refcount(void)
{
	refcount_t r = REFCOUNT_INIT(1);

	refcount_dec(&r);
	refcount_dec(&r);
}

/* KFENCE guards one sampled allocation per interval: allocate until one is. */
static noinline int canary_kfence(void)
{
	unsigned long until = jiffies + 10 * HZ;
	char *volatile p;

	while (time_before(jiffies, until)) {
		p = kmalloc(32, GFP_KERNEL);
		if (!p)
			return -ENOMEM;
		if (is_kfence_address(p)) {
			kfree(p);
			pr_info("m3canary: read %d after free\n", READ_ONCE(p[0]));
			return 0;
		}
		kfree(p);
		msleep(1);
	}
	return -EAGAIN;
}

static noinline void canary_hung(void)
{
	set_current_state(TASK_UNINTERRUPTIBLE);
	schedule_timeout(70 * HZ);
}

static noinline void canary_softlockup(void)
{
	unsigned long until = jiffies + 30 * HZ;

	preempt_disable();
	while (time_before(jiffies, until))
		cpu_relax();
	preempt_enable();
}

static ssize_t canary_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	char word[16];
	size_t n = min(len, sizeof(word) - 1);

	if (copy_from_user(word, ubuf, n))
		return -EFAULT;
	word[n] = '\0';
	strim(word);

	if (!strcmp(word, "uaf")) {
		int ret = canary_uaf();

		if (ret)
			return ret;
	} else if (!strcmp(word, "lockorder")) {
		canary_ab();
		canary_ba();
	} else if (!strcmp(word, "warn")) {
		WARN(1, "m3canary: warn trigger");
	} else if (!strcmp(word, "ubsan")) {
		pr_info("m3canary: shift gave %d\n", canary_shift(len));
	} else if (!strcmp(word, "atomic-sleep")) {
		canary_sleep_atomic();
	} else if (!strcmp(word, "list")) {
		canary_list();
	} else if (!strcmp(word, "panic")) {
		panic("m3canary: panic trigger");
	} else if (!strcmp(word, "null")) {
		pr_info("m3canary: %d\n", canary_deref(0));
	} else if (!strcmp(word, "gpf")) {
		pr_info("m3canary: %d\n", canary_deref(0xdead000000000000UL));
	} else if (!strcmp(word, "bug")) {
		BUG();
	} else if (!strcmp(word, "refcount")) {
		canary_refcount();
	} else if (!strcmp(word, "kfence")) {
		int ret = canary_kfence();

		if (ret)
			return ret;
	} else if (!strcmp(word, "hung")) {
		canary_hung();
	} else if (!strcmp(word, "softlockup")) {
		canary_softlockup();
	} else if (!strcmp(word, "hang")) {
		local_irq_disable();
		for (;;)
			cpu_relax();
	} else {
		return -EINVAL;
	}
	return len;
}

static const struct file_operations canary_fops = {
	.owner = THIS_MODULE,
	.write = canary_write,
	.llseek = noop_llseek,
};

static int __init canary_init(void)
{
	canary_dir = debugfs_create_dir("m3canary", NULL);
	debugfs_create_file("trigger", 0200, canary_dir, NULL, &canary_fops);
	pr_info("m3canary: loaded (test-only module with deliberate bugs)\n");
	return 0;
}

static void __exit canary_exit(void)
{
	debugfs_remove_recursive(canary_dir);
}

module_init(canary_init);
module_exit(canary_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("m3lab test-only canary: deliberate kernel bugs to prove detection");
