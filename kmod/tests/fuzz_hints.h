/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hints for m3fuzz --hints, as syzkaller's: a call is made once more with
 * KCOV tracing the module's comparisons instead of its PCs (KCOV_TRACE_CMP,
 * a kernel with CONFIG_KCOV_ENABLE_COMPARISONS), and every operand of a
 * comparison that is found in the call's argument gives a candidate: the
 * argument with that value replaced by the other operand.
 *
 * Why: the module's deeper paths sit behind checks against values that
 * only exist at run time (this node's id, a waiting process's sequence
 * number, an endpoint's generation, a window's next chunk). A generator
 * draws them right only by chance, and a mutation keeps what passed but
 * must still guess the next one; the comparison that refused the argument
 * names the value it wanted, so a candidate passes that check in one step.
 */
#ifndef M3FUZZ_HINTS_H
#define M3FUZZ_HINTS_H

#include <stdint.h>
#include <string.h>

#define KCOV_TRACE_CMP		1
#define KCOV_CMP_CONST		1	/* arg1 is the compiler's constant */
#define KCOV_CMP_BYTES(type)	(1u << (((type) >> 1) & 3))
#define KERNEL_ENOTSUPP		524	/* KCOV_ENABLE's answer to a mode the kernel lacks (no libc name) */
#define HINTS_MAX		16	/* candidates kept per call */
#define HINTS_RECORDS		4096	/* comparisons looked at per call */
#define HINTS_ARGMAX		256	/* the largest argument a hint looks into */

struct hint {
	uint16_t off;
	uint8_t width;
	uint64_t val;
};

/* a reservoir of candidates: every distinct one offered has an equal chance */
struct hints {
	uint32_t n;
	uint32_t seen;
	uint64_t rng;
	struct hint h[HINTS_MAX];
};

static inline uint64_t hints_rnd(struct hints *hs)
{
	uint64_t x = hs->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return hs->rng = x;
}

static inline void hints_offer(struct hints *hs, uint16_t off, uint8_t width, uint64_t val)
{
	uint32_t i;

	for (i = 0; i < hs->n; i++)
		if (hs->h[i].off == off && hs->h[i].width == width && hs->h[i].val == val)
			return;
	if (hs->n < HINTS_MAX) {
		hs->h[hs->n++] = (struct hint){ off, width, val };
	} else {
		i = hints_rnd(hs) % (hs->seen + 1);
		if (i < HINTS_MAX)
			hs->h[i] = (struct hint){ off, width, val };
	}
	hs->seen++;
}

static inline uint64_t hints_mask(unsigned int width)
{
	return width >= 8 ? ~0ULL : (1ULL << (8 * width)) - 1;
}

/* every place of @a where x sits as @width bytes (little-endian) offers y there */
static inline void hints_replace(struct hints *hs, const uint8_t *a, uint32_t len, unsigned int width,
				 uint64_t x, uint64_t y)
{
	unsigned int step = width < 4 ? width : 4;
	uint32_t off;

	for (off = 0; off + width <= len; off += step) {
		uint64_t v = 0;

		memcpy(&v, a + off, width);
		if (v != x)
			continue;
		/* zeros are everywhere: a zero field gets a candidate one time in eight */
		if (!x && hints_rnd(hs) % 8)
			continue;
		hints_offer(hs, (uint16_t)off, (uint8_t)width, y);
	}
}

/* one comparison of c1 (the constant, if @konst) with c2, looked for as @width-byte fields */
static inline void hints_compared(struct hints *hs, const uint8_t *a, uint32_t len, unsigned int width,
				  uint64_t c1, uint64_t c2, int konst)
{
	hints_replace(hs, a, len, width, c2, c1);
	if (!konst)
		hints_replace(hs, a, len, width, c1, c2);
}

/*
 * The candidates for argument @a (@len bytes) from a KCOV_TRACE_CMP
 * buffer: words[0] records of four words (type, arg1, arg2, pc). A
 * constant's comparison offers only the constant; a 64-bit comparison of
 * values that fit 32 bits is looked for as 32-bit fields too (the module
 * widens its u32 fields). @seed makes the zero and reservoir draws.
 */
static inline void hints_from_cmps(struct hints *hs, const uint64_t *words, uint64_t nwords,
				   const uint8_t *a, uint32_t len, uint64_t seed)
{
	uint64_t n = words[0], i;

	hs->n = hs->seen = 0;
	hs->rng = seed | 1;
	if (n > (nwords - 1) / 4)
		n = (nwords - 1) / 4;
	if (n > HINTS_RECORDS)
		n = HINTS_RECORDS;
	for (i = 0; i < n; i++) {
		const uint64_t *rec = &words[1 + 4 * i];
		unsigned int width = KCOV_CMP_BYTES(rec[0]);
		uint64_t m = hints_mask(width), c1 = rec[1] & m, c2 = rec[2] & m;
		int konst = rec[0] & KCOV_CMP_CONST;

		if (c1 == c2)
			continue;
		hints_compared(hs, a, len, width, c1, c2, konst);
		if (width == 8 && c1 <= 0xffffffffULL && c2 <= 0xffffffffULL)
			hints_compared(hs, a, len, 4, c1, c2, konst);
	}
}

/*
 * Candidates that would aim the kernel at the fuzzer's own memory go. @ours
 * says whether an address is in the fuzzer's memory (its image and heap,
 * its mappings and stacks), @safe whether it is one of the scratch regions
 * the generators aim at. Dropped: a candidate that changes an aligned word
 * holding one of our addresses (a pointer field: a 4-byte hint in its low
 * half moves it anywhere in our 4 GiB), and one that leaves a word holding
 * one of our addresses that is not scratch. The kernel writes answers
 * through those pointers, and a fuzzer that corrupts itself reports
 * nonsense (one run here counted 6.5e18 calls). Words of two small fields
 * (an endpoint and a dcid) are not addresses of ours, and stay free.
 */
static inline void hints_drop_pointers(struct hints *hs, const uint8_t *a, uint32_t len,
				       int (*ours)(uint64_t addr), int (*safe)(uint64_t addr))
{
	uint8_t b[HINTS_ARGMAX];
	uint32_t i, k = 0;

	if (len > sizeof(b))
		len = sizeof(b);
	for (i = 0; i < hs->n; i++) {
		const struct hint *h = &hs->h[i];
		uint32_t w, end = h->off + h->width;
		int ok = end <= len;

		memcpy(b, a, len);
		if (ok)
			memcpy(b + h->off, &h->val, h->width);
		for (w = h->off & ~7u; ok && w < end && w + 8 <= len; w += 8) {
			uint64_t old, new;

			memcpy(&old, a + w, 8);
			memcpy(&new, b + w, 8);
			ok = !ours(old) && (!ours(new) || safe(new));
		}
		if (ok)
			hs->h[k++] = *h;
	}
	hs->n = k;
}

/* candidate i applied to a copy of the argument */
static inline void hints_apply(const struct hints *hs, uint32_t i, uint8_t *a)
{
	memcpy(a + hs->h[i].off, &hs->h[i].val, hs->h[i].width);
}

#endif
