/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KCOV for m3fuzz: per-thread PC traces of the module, a set of the PCs seen
 * by every fuzzing process (shared memory), and a set of the edges (pairs of
 * consecutive PCs) that steers the coverage-guided mode (fuzz_prog.h).
 *
 * The lab's debug kernel has CONFIG_KCOV with only the module instrumented
 * (kmod/module/Kbuild), so every PC in a trace is the module's and no filter
 * is needed. On a kernel without KCOV the coverage is "unavailable", never 0.
 */
#ifndef M3FUZZ_KCOV_H
#define M3FUZZ_KCOV_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define KCOV_PATH		"/sys/kernel/debug/kcov"
#define KCOV_INIT_TRACE		_IOR('c', 1, unsigned long)
#define KCOV_ENABLE		_IO('c', 100)
#define KCOV_DISABLE		_IO('c', 101)
#define KCOV_TRACE_PC		0
#define KCOV_WORDS		(64 * 1024)	/* per thread and call: PCs past it are lost, counted */

#define PCSET_BITS		17		/* 131072 slots; the module has some 10^4 PCs */
#define PCSET_SIZE		(1u << PCSET_BITS)

/* one PC set for all processes (MAP_SHARED before fork), open addressing */
struct pcset {
	uint64_t slot[PCSET_SIZE];
	uint64_t count;		/* distinct PCs */
	uint64_t full;		/* inserts lost to a full table */
	uint64_t overflow;	/* calls whose trace filled the buffer */
};

/* 1: pc was new to the set */
static inline int pcset_add(struct pcset *s, uint64_t pc)
{
	uint64_t h = (pc * 0x9e3779b97f4a7c15ULL) >> (64 - PCSET_BITS);
	uint32_t i;

	for (i = 0; i < 64; i++, h = (h + 1) & (PCSET_SIZE - 1)) {
		uint64_t cur = __atomic_load_n(&s->slot[h], __ATOMIC_RELAXED);

		if (cur == pc)
			return 0;
		if (cur)
			continue;
		if (__atomic_compare_exchange_n(&s->slot[h], &cur, pc, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			__atomic_fetch_add(&s->count, 1, __ATOMIC_RELAXED);
			return 1;
		}
		if (cur == pc)
			return 0;
	}
	__atomic_fetch_add(&s->full, 1, __ATOMIC_RELAXED);
	return 0;
}

/* a thread's trace buffer; words[0] is the count the kernel keeps */
struct kcov_thread {
	int fd;
	uint64_t *words;
};

/* opened before a process drops its privileges: debugfs kcov is root's */
static inline int kcov_open(struct kcov_thread *k)
{
	k->words = NULL;
	k->fd = open(KCOV_PATH, O_RDWR);
	if (k->fd < 0)
		return -errno;
	if (ioctl(k->fd, KCOV_INIT_TRACE, (unsigned long)KCOV_WORDS))
		goto fail;
	k->words = mmap(NULL, KCOV_WORDS * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, 0);
	if (k->words == MAP_FAILED)
		goto fail;
	return 0;
fail:
	{
		int e = -errno;

		close(k->fd);
		k->fd = -1;
		k->words = NULL;
		return e;
	}
}

/* in the thread that is traced; mode KCOV_TRACE_PC, or KCOV_TRACE_CMP (fuzz_hints.h) */
static inline int kcov_enable_mode(struct kcov_thread *k, unsigned long mode)
{
	if (k->fd < 0)
		return -EBADF;
	return ioctl(k->fd, KCOV_ENABLE, mode) ? -errno : 0;
}

static inline int kcov_enable(struct kcov_thread *k)
{
	return kcov_enable_mode(k, KCOV_TRACE_PC);
}

/* a task traces into one buffer at a time: the other is enabled after this */
static inline int kcov_disable(struct kcov_thread *k)
{
	return ioctl(k->fd, KCOV_DISABLE, 0) ? -errno : 0;
}

static inline void kcov_reset(struct kcov_thread *k)
{
	if (k->words)
		__atomic_store_n(&k->words[0], 0, __ATOMIC_RELAXED);
}

/*
 * The PCs of the call since kcov_reset into the set; returns how many were
 * new. With edges, the call's pairs of consecutive PCs go there too (the
 * guided mode's signal: a known block reached from a new place counts), and
 * *new_edges says how many were new.
 */
static inline int kcov_collect(struct kcov_thread *k, struct pcset *s, struct pcset *edges, int *new_edges)
{
	uint64_t n, i, prev = 0;
	int fresh = 0;

	if (new_edges)
		*new_edges = 0;
	if (!k->words)
		return 0;
	n = __atomic_load_n(&k->words[0], __ATOMIC_RELAXED);
	if (n >= KCOV_WORDS - 1) {
		__atomic_fetch_add(&s->overflow, 1, __ATOMIC_RELAXED);
		n = KCOV_WORDS - 1;
	}
	for (i = 0; i < n; i++) {
		uint64_t pc = k->words[i + 1];

		fresh += pcset_add(s, pc);
		if (edges) {
			/* never 0, the set's empty slot */
			*new_edges += pcset_add(edges, ((prev * 0x9e3779b97f4a7c15ULL) ^ pc) | 1);
			prev = pc;
		}
	}
	return fresh;
}

#endif
