/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Swarm configurations for m3fuzz (--swarm, and --guided's feedback on them).
 *
 * Uniform random draws of every operation keep the module's state shallow:
 * the calls that tear state down (dc_end, unbind, proxy_unbind, del_node,
 * reopen, the hot DC's dc_init/dc_end race) come often enough that the
 * states several calls must build (a proxy bound with nodes added, a queue
 * of senders, a peer waiting in a deadlock chain) rarely last. Swarm testing
 * (Groce et al., ISSTA 2012) gives each thread a configuration that leaves
 * out a random half of the operations, so some threads never tear down what
 * they build, and others hammer a few paths hard.
 *
 * --guided steers the configurations by coverage: a configuration whose
 * thread reached new PCs joins a pool shared by the processes, and a new
 * configuration is mostly one of the pool's newest, with a bit or two
 * flipped; the rest are drawn fresh. The pool depends on the scheduling,
 * like the program corpus.
 *
 * The caller defines NOPS (under 63) before including this.
 */
#ifndef M3FUZZ_SWARM_H
#define M3FUZZ_SWARM_H

#include <stdint.h>

#define SWARM_HOT	63	/* bit: the hot-DC admin bias (--admin-bias) is on */
#define SWARM_POOL	64	/* configurations kept (the last ones added) */
#define SWARM_CALLS	1024	/* a thread draws a new configuration this often */
#define SWARM_FRONT	8	/* the newest entries, picked half of the time */

/* shared by all processes (MAP_SHARED before fork) */
struct swarms {
	uint32_t n;		/* configurations added; the last SWARM_POOL are kept */
	uint32_t pad;
	uint64_t mask[SWARM_POOL];
};

static inline uint64_t swarm_all(void)
{
	return ((1ULL << NOPS) - 1) | (1ULL << SWARM_HOT);
}

/* each operation, and the hot bias, in with probability 1/2; never none */
static inline uint64_t swarm_fresh(uint64_t r)
{
	uint64_t m = r & swarm_all();

	return m & ((1ULL << NOPS) - 1) ? m : swarm_all();
}

/* one or two bits of a kept configuration flipped */
static inline uint64_t swarm_mutate(uint64_t m, uint64_t r)
{
	int i, flips = 1 + (int)(r & 1);

	for (i = 0; i < flips; i++) {
		uint32_t b = (uint32_t)((r >> (8 + 8 * i)) % (NOPS + 1));

		m ^= 1ULL << (b == NOPS ? SWARM_HOT : b);
	}
	return m & ((1ULL << NOPS) - 1) ? m : swarm_all();
}

static inline uint32_t swarms_count(const struct swarms *p)
{
	uint32_t n = __atomic_load_n(&p->n, __ATOMIC_RELAXED);

	return n < SWARM_POOL ? n : SWARM_POOL;
}

/* returns the slot, so the thread adds its configuration once */
static inline uint32_t swarms_add(struct swarms *p, uint64_t m)
{
	uint32_t i = __atomic_fetch_add(&p->n, 1, __ATOMIC_RELAXED);

	__atomic_store_n(&p->mask[i % SWARM_POOL], m, __ATOMIC_RELAXED);
	return i;
}

/*
 * The next configuration of a guided thread: from the pool on pool_pct of
 * the draws (half of those among the newest SWARM_FRONT), mutated; else
 * fresh. r1, r2: the thread's random words.
 */
static inline uint64_t swarm_next(const struct swarms *p, int pool_pct, uint64_t r1, uint64_t r2)
{
	uint32_t n = swarms_count(p), added, k;

	if (!n || (int)(r1 % 100) >= pool_pct)
		return swarm_fresh(r2);
	added = __atomic_load_n(&p->n, __ATOMIC_RELAXED);
	if ((r1 >> 8) & 1)
		k = (added - 1 - (uint32_t)((r1 >> 16) % (n < SWARM_FRONT ? n : SWARM_FRONT))) % SWARM_POOL;
	else
		k = (uint32_t)((r1 >> 16) % n);
	return swarm_mutate(__atomic_load_n(&p->mask[k], __ATOMIC_RELAXED), r2);
}

#endif
