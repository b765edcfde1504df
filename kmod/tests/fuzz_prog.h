/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Programs for m3fuzz --guided: short call sequences kept because their last
 * call reached new coverage, as syzkaller keeps programs rather than calls.
 *
 * Most of the module's deeper paths need state that several calls build (a
 * DC made, a process bound in it, a peer waiting): a single call that found
 * new PCs, replayed alone, rarely finds that state again. So each thread
 * keeps its last PROG_LEN calls (its history), and when a call reaches new
 * PCs or new edges the history up to it joins a corpus shared by the
 * processes. A guided thread then replays corpus programs, one call of each
 * mutated, and programs that reach further join the corpus in turn.
 *
 * The caller defines ARGMAX (the largest argument) before including this.
 */
#ifndef M3FUZZ_PROG_H
#define M3FUZZ_PROG_H

#include <stdint.h>
#include <string.h>

#define PROG_LEN	6	/* calls per program: the call and up to 5 before it */
#define PROG_CORPUS	2048	/* programs kept (the last ones added) */

/* one call of a program; fresh: draw a new call in its place */
struct pcall {
	uint16_t op;
	uint8_t pk;
	uint8_t fresh;
	uint16_t alen;
	uint8_t arg[ARGMAX];	/* a put2lcl frame's header too */
};

struct prog {
	uint32_t n;
	struct pcall c[PROG_LEN];
};

/* shared by all processes (MAP_SHARED before fork) */
struct progs {
	uint32_t n;		/* programs added; the last PROG_CORPUS are kept */
	struct prog e[PROG_CORPUS];
};

/* a thread's last calls, oldest first from (n - len) */
struct phist {
	uint32_t n;
	struct pcall c[PROG_LEN];
};

static inline void phist_push(struct phist *h, int op, int pk, int fresh, const void *arg, uint32_t alen)
{
	struct pcall *c = &h->c[h->n++ % PROG_LEN];

	c->op = op;
	c->pk = pk;
	c->fresh = fresh;
	c->alen = alen > ARGMAX ? ARGMAX : alen;
	if (arg)
		memcpy(c->arg, arg, ARGMAX);
}

/*
 * The history joins the corpus. A concurrent reader may see a program half
 * written: it then replays a mix of two programs, which is a mutation too.
 */
static inline void progs_add(struct progs *p, const struct phist *h)
{
	uint32_t len = h->n < PROG_LEN ? h->n : PROG_LEN, i;
	struct prog *e = &p->e[__atomic_fetch_add(&p->n, 1, __ATOMIC_RELAXED) % PROG_CORPUS];

	for (i = 0; i < len; i++)
		e->c[i] = h->c[(h->n - len + i) % PROG_LEN];
	__atomic_store_n(&e->n, len, __ATOMIC_RELAXED);
}

/* programs kept so far */
static inline uint32_t progs_count(const struct progs *p)
{
	uint32_t n = __atomic_load_n(&p->n, __ATOMIC_RELAXED);

	return n < PROG_CORPUS ? n : PROG_CORPUS;
}

/* the call at i goes; the rest move up */
static inline void prog_remove(struct prog *p, uint32_t i)
{
	if (i >= p->n)
		return;
	memmove(&p->c[i], &p->c[i + 1], (p->n - i - 1) * sizeof(p->c[0]));
	p->n--;
}

/* a fresh call is drawn at i when the program comes to it */
static inline void prog_insert_fresh(struct prog *p, uint32_t i)
{
	if (p->n >= PROG_LEN || i > p->n)
		return;
	memmove(&p->c[i + 1], &p->c[i], (p->n - i) * sizeof(p->c[0]));
	memset(&p->c[i], 0, sizeof(p->c[i]));
	p->c[i].fresh = 1;
	p->n++;
}

#endif
