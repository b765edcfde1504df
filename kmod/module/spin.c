// SPDX-License-Identifier: GPL-2.0
/*
 * spin.c - adaptive spinning before a blocked call sleeps.
 *
 * A sendrec round trip costs two context switches and, with the peer on
 * another CPU, two cross-CPU wakeups. When the answer is likely to come
 * soon, spinning on the completion flag lets the call finish without
 * sleeping, and the waker's wake_up_process() finds us running (no IPI).
 *
 * Spinning pays only while both hold:
 *  - the peer that will complete the call can run now: it is on a CPU, or
 *    woken and queued on another CPU than ours. A peer that sleeps, or
 *    waits for our own CPU, cannot answer while we spin (the check optimistic
 *    mutex spinning makes with owner_on_cpu());
 *  - we have spun less than a sleep and wakeup costs here. Past that,
 *    sleeping at once would have been cheaper; stopping there keeps the
 *    spin within twice the cost of always sleeping (the classic competitive
 *    bound). The cost is measured, per CPU, on every wait that did sleep:
 *    from the waker's m3_wake() to the sleeper running again.
 * spin_us caps the spin (0: never spin). Never on a single online CPU,
 * never past need_resched() or a signal.
 */
#include <linux/cpumask.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sysfs.h>

#include "m3ipc_internal.h"

static unsigned int spin_us = 100;
module_param(spin_us, uint, 0644);
MODULE_PARM_DESC(spin_us, "most microseconds a blocked call spins before sleeping (0: never); the measured cost of a sleep and wakeup bounds it below that");

/* before a CPU measured one: today's fixed spin */
#define M3_WAKE_COST_INIT_NS	20000
/* a sample past this is a preempted waker or a clock step, not a wakeup */
#define M3_WAKE_COST_MAX_NS	(10 * NSEC_PER_MSEC)

/* per CPU: average cost of a sleep and wakeup, 1/8 weight per sample */
static DEFINE_PER_CPU(u32, m3_wake_cost_ns);

/* how spins ended, per CPU (read through spin_stats) */
enum {
	M3_SPIN_DONE, M3_SPIN_PEER, M3_SPIN_BUDGET, M3_SPIN_RESCHED,
	M3_SPIN_NOPEER, M3_SPIN_NR
};
static const char *const m3_spin_end_names[M3_SPIN_NR] = {
	"done", "peer_off_cpu", "budget", "resched", "no_peer" };
static DEFINE_PER_CPU(unsigned long[M3_SPIN_NR], m3_spin_ends);

static void m3_spin_count(int why)
{
	raw_cpu_inc(m3_spin_ends[why]);
}

static int m3_stats_get(char *buf, const struct kernel_param *kp)
{
	int cpu, i, n = 0;

	for (i = 0; i < M3_SPIN_NR; i++) {
		unsigned long sum = 0;

		for_each_possible_cpu(cpu)
			sum += per_cpu(m3_spin_ends[i], cpu);
		n += sysfs_emit_at(buf, n, "%s%s %lu", i ? " " : "",
				   m3_spin_end_names[i], sum);
	}
	return n + sysfs_emit_at(buf, n, "\n");
}

static const struct kernel_param_ops m3_stats_ops = {
	.get = m3_stats_get,
};
module_param_cb(spin_stats, &m3_stats_ops, NULL, 0444);
MODULE_PARM_DESC(spin_stats, "how blocked calls' spins ended since load: done (the answer came), peer_off_cpu, budget, resched (or a signal), no_peer (a remote or unknown peer: no spin)");

static u32 m3_cost_of(int cpu)
{
	u32 c = READ_ONCE(per_cpu(m3_wake_cost_ns, cpu));

	return c ? c : M3_WAKE_COST_INIT_NS;
}

/* never on a single online CPU, and not with spin_us 0 */
static bool m3_spin_enabled(void)
{
	return READ_ONCE(spin_us) && num_online_cpus() > 1;
}

/* the spin budget of @cpu: its measured cost, capped by spin_us */
static u64 m3_budget_of(int cpu)
{
	return min_t(u64, (u64)READ_ONCE(spin_us) * NSEC_PER_USEC,
		     m3_cost_of(cpu));
}

/*
 * Read-only: the largest budget of any online CPU in ns, what the benches
 * give a spinning futex so that both spin as long (the fair baseline).
 */
static int m3_budget_get(char *buf, const struct kernel_param *kp)
{
	u64 best = 0;
	int cpu;

	if (!m3_spin_enabled())
		return sysfs_emit(buf, "0\n");
	for_each_online_cpu(cpu)
		best = max_t(u64, best, m3_budget_of(cpu));
	return sysfs_emit(buf, "%llu\n", best);
}

static const struct kernel_param_ops m3_budget_ops = {
	.get = m3_budget_get,
};
module_param_cb(spin_budget_ns, &m3_budget_ops, NULL, 0444);
MODULE_PARM_DESC(spin_budget_ns, "how long a blocked call spins now (largest of the CPUs' measured sleep and wakeup costs, capped by spin_us)");

/* a wait that slept: the time from its waker's stamp to now is a sample */
void m3_spin_account(u64 woke_ns)
{
	u64 now = local_clock();
	u32 *cost, old;
	s64 d;

	if (!woke_ns || now <= woke_ns || now - woke_ns > M3_WAKE_COST_MAX_NS)
		return;
	d = now - woke_ns;
	cost = raw_cpu_ptr(&m3_wake_cost_ns);
	old = READ_ONCE(*cost);
	WRITE_ONCE(*cost, old ? old + (s32)((d - (s64)old) / 8) : (u32)d);
}

/*
 * dc->lock held: the task that will end @c's wait, referenced, or NULL
 * when none is known or it is remote (its answer comes through a proxy,
 * far later than any spin), or when nothing spins (no reference taken on
 * a path that would only drop it).
 */
struct task_struct *m3_spin_peer(struct m3_proc *c)
{
	struct m3_proc *p = NULL;

	if (!m3_spin_enabled())
		return NULL;
	if (c->state & (M3_PST_SENDING | M3_PST_REPLY_WAIT))
		p = c->blocked_on;
	else if (c->state & M3_PST_RECEIVING)
		p = c->getfrom ? c->getfrom : c->last_from;
	if (!p || p->remote || !p->task)
		return NULL;
	get_task_struct(p->task);
	return p->task;
}

#ifdef CONFIG_SMP
/* can @peer answer while we spin on this CPU? */
static bool m3_peer_can_run(struct task_struct *peer)
{
	unsigned int state;

	if (owner_on_cpu(peer))
		return true;
	if (task_cpu(peer) == raw_smp_processor_id())
		return false;
	/*
	 * Woken and queued on another CPU, or still on its way there: a
	 * wakeup sent to an idle CPU stays TASK_WAKING, off every run queue,
	 * until that CPU takes it from its wake list (an IPI away).
	 */
	state = READ_ONCE(peer->__state);
	return state == TASK_WAKING ||
	       (state == TASK_RUNNING && READ_ONCE(peer->on_rq));
}
#else
/* one CPU: whoever answers needs the CPU the spinner holds */
static bool m3_peer_can_run(struct task_struct *peer)
{
	return false;
}
#endif

void m3_spin_wait(bool *done, struct task_struct *peer)
{
	unsigned int n;
	u64 until;

	if (!m3_spin_enabled())
		return;
	if (!peer) {
		m3_spin_count(M3_SPIN_NOPEER);
		return;
	}
	until = local_clock() + m3_budget_of(raw_smp_processor_id());
	/*
	 * pairs with smp_store_release() in m3_wake(). The clock is read
	 * every 16 turns: each read would delay seeing @done.
	 */
	for (n = 0; !smp_load_acquire(done); n++) {
		if (need_resched() || signal_pending(current)) {
			m3_spin_count(M3_SPIN_RESCHED);
			return;
		}
		if (!m3_peer_can_run(peer)) {
			m3_spin_count(M3_SPIN_PEER);
			return;
		}
		if (!(n & 15) && local_clock() > until) {
			m3_spin_count(M3_SPIN_BUDGET);
			return;
		}
		cpu_relax();
	}
	m3_spin_count(M3_SPIN_DONE);
}
