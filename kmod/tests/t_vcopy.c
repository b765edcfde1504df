// SPDX-License-Identifier: GPL-2.0
/*
 * t_vcopy - vcopy between address spaces: 1 byte to 4 MiB, aligned and
 * unaligned, both directions and within one process, byte-for-byte checks,
 * EFAULT on unmapped / read-only memory, bad and dead endpoints.
 */
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <grp.h>
#include <sys/prctl.h>

#include "tap.h"

#define KBUF	(8u << 20)		/* the kid's buffer */
#define MAXLEN	(4u << 20)

static int dc, me;

struct kid_addrs {
	uint64_t buf, hole, ro;
};

static void pattern(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

/* map a buffer, a hole and a read-only page; hand the addresses to the
 * parent with sendrec; after the reply check the final pattern */
static int fn_holder(void *arg)
{
	size_t pg = sysconf(_SC_PAGESIZE);
	struct kid_addrs a;
	struct m3_msg m;
	uint8_t *buf, *exp, *g, *ro;
	int ret;

	buf = mmap(NULL, KBUF, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	g = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || g == MAP_FAILED || ro == MAP_FAILED)
		return -5000;
	munmap(g + pg, pg);	/* hole between two mapped pages */
	a.buf = (uintptr_t)buf;
	a.hole = (uintptr_t)(g + pg);
	a.ro = (uintptr_t)ro;
	memset(&m, 0, sizeof(m));
	memcpy(m.payload, &a, sizeof(a));
	ret = m3_sendrec(me, &m, 120000);
	if (ret)
		return ret;
	/* the parent wrote pattern(seed m_type) over 4 MiB at offset 3 */
	exp = malloc(MAXLEN);
	pattern(exp, MAXLEN, m.m_type);
	ret = memcmp(buf + 3, exp, MAXLEN) ? -5001 : 0;
	if (!ret && (buf[0] || buf[1] || buf[2]))
		ret = -5002;
	free(exp);
	return ret;
}

/* a process that made itself non-dumpable: hands out a buffer, waits */
static int fn_nodump(void *arg)
{
	static char secret[64] = "not for a process that could not ptrace me";
	struct m3_msg m;
	uint64_t addr = (uintptr_t)secret;

	if (prctl(PR_SET_DUMPABLE, 0))
		return -5100;
	memset(&m, 0, sizeof(m));
	memcpy(m.payload, &addr, sizeof(addr));
	return m3_sendrec(me, &m, 120000);
}

/* KERNEL level, but no CAP_SYS_PTRACE (uid 65534): kid_args = ep, addr */
static int fn_unpriv_copy(void *arg)
{
	uint64_t addr = (uint32_t)kid_args[1] | (uint64_t)(uint32_t)kid_args[2] << 32;
	static char mine[64] = "readable";
	char buf[64];
	int r1, r2;

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return -5200;
	r1 = m3_vcopy(kid_args[0], (void *)(uintptr_t)addr, M3_SELF, buf, 16);
	r2 = m3_vcopy(me, mine, M3_SELF, buf, 8);	/* the dumpable parent */
	return r1 == -EACCES && r2 == 0 ? 0 : r1 * 1000 + r2;
}

static long vcopy_raw(int s, uint64_t sa, int d, uint64_t da, uint64_t len,
		      uint64_t *copied)
{
	struct m3_vcopy v = { .src_ep = s, .dst_ep = d, .src_addr = sa,
			      .dst_addr = da, .len = len };
	int fd = m3_open();
	long r = ioctl(fd, M3_IOC_VCOPY, &v);

	if (copied)
		*copied = v.copied;
	return r < 0 ? -errno : r;
}

int main(void)
{
	static const size_t sizes[] = { 1, 2, 3, 4095, 4096, 4097, 8191,
					65536 + 13, (1u << 20) + 7, MAXLEN };
	static const size_t offs[][2] = { { 0, 0 }, { 1, 3 }, { 4093, 4097 } };
	uint8_t *src, *back;
	struct kid_addrs a;
	struct kid k, dead;
	struct m3_msg r;
	uint64_t copied;
	size_t i, j;
	int ret;

	dc = setup_dc("t_vcopy", 2, 8, 0);
	kid_dc = dc;
	me = bind_self(dc, M3_PRIV_KERNEL);
	src = malloc(MAXLEN + 8192);
	back = malloc(MAXLEN + 8192);

	kid_start(&k, M3_PRIV_USER, fn_holder, NULL);
	kid_go(&k);
	ret = m3_rcvrqst(k.ep, &r, 10000);
	if (ret)
		bail("rcvrqst from holder", ret);
	memcpy(&a, r.payload, sizeof(a));

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (j = 0; j < 3; j++) {
			size_t n = sizes[i], so = offs[j][0], dof = offs[j][1];
			int r1, r2;

			pattern(src + so, n, i * 3 + j + 1);
			memset(back, 0, n + 8192);
			r1 = m3_vcopy(M3_SELF, src + so, k.ep,
				      (void *)(uintptr_t)(a.buf + dof), n);
			r2 = m3_vcopy(k.ep, (void *)(uintptr_t)(a.buf + dof),
				      M3_SELF, back + dof, n);
			ok(!r1 && !r2 && !memcmp(src + so, back + dof, n),
			   "vcopy %zu bytes src+%zu -> kid+%zu and back, byte for byte (%d %d)",
			   n, so, dof, r1, r2);
		}
	}

	/* neighbours are untouched */
	memset(src, 0xaa, 16);
	m3_vcopy(M3_SELF, src, k.ep, (void *)(uintptr_t)a.buf, 16);
	src[0] = 0x55;
	m3_vcopy(M3_SELF, src, k.ep, (void *)(uintptr_t)(a.buf + 5), 1);
	m3_vcopy(k.ep, (void *)(uintptr_t)a.buf, M3_SELF, back, 16);
	ok(back[4] == 0xaa && back[5] == 0x55 && back[6] == 0xaa,
	   "1-byte vcopy leaves its neighbours alone");

	/* within the kid, and within ourselves */
	pattern(src, 1 << 20, 77);
	m3_vcopy(M3_SELF, src, k.ep, (void *)(uintptr_t)(a.buf + 1), 1 << 20);
	is(m3_vcopy(k.ep, (void *)(uintptr_t)(a.buf + 1), k.ep,
		    (void *)(uintptr_t)(a.buf + (5 << 20) + 11), 1 << 20), 0,
	   "vcopy kid -> kid (1 MiB, unaligned)");
	memset(back, 0, 1 << 20);
	m3_vcopy(k.ep, (void *)(uintptr_t)(a.buf + (5 << 20) + 11), me, back,
		 1 << 20);
	ok(!memcmp(src, back, 1 << 20), "... byte for byte");
	memset(back, 0, 100000);
	is(m3_vcopy(M3_SELF, src + 1, me, back + 2, 100000), 0,
	   "vcopy self -> self");
	ok(!memcmp(src + 1, back + 2, 100000), "... byte for byte");
	is(m3_vcopy(M3_SELF, src, k.ep, (void *)(uintptr_t)a.buf, 0), 0,
	   "vcopy of 0 bytes");

	/* faults */
	is(m3_vcopy(M3_SELF, src, k.ep, (void *)(uintptr_t)a.hole, 10), -EFAULT,
	   "destination unmapped: -EFAULT");
	is(m3_vcopy(k.ep, (void *)(uintptr_t)a.hole, M3_SELF, back, 10), -EFAULT,
	   "source unmapped: -EFAULT");
	is(m3_vcopy(M3_SELF, src, k.ep, (void *)(uintptr_t)a.ro, 10), -EFAULT,
	   "destination read-only: -EFAULT");
	ret = vcopy_raw(M3_SELF, (uintptr_t)src, k.ep, a.hole - 4096, 8192,
			&copied);
	ok(ret == -EFAULT && copied == 4096,
	   "running into a hole: -EFAULT after the mapped page (%d, %llu)",
	   ret, (unsigned long long)copied);
	is(m3_vcopy(M3_SELF, NULL, k.ep, (void *)(uintptr_t)a.buf, 10), -EFAULT,
	   "NULL source in the caller: -EFAULT");
	is(m3_vcopy(M3_SELF, src, M3_SELF, (void *)8, 10), -EFAULT,
	   "bad destination in the caller: -EFAULT");
	is(vcopy_raw(M3_SELF, (uintptr_t)src, k.ep, ~0ULL - 10, 100, NULL),
	   -EFAULT, "address range wrapping around: -EFAULT");

	/* endpoints */
	is(m3_vcopy(M3_ANY, src, k.ep, (void *)(uintptr_t)a.buf, 1), -EBADSLT,
	   "source ANY: -EBADSLT");
	is(m3_vcopy(M3_SELF, src, 0x12345678, (void *)(uintptr_t)a.buf, 1),
	   -EBADSLT, "destination out of range: -EBADSLT");
	kid_start(&dead, M3_PRIV_USER, fn_holder, NULL);
	kid_kill(&dead, SIGKILL);
	wait_unbound(dc, dead.ep);
	is(m3_vcopy(M3_SELF, src, dead.ep, back, 1), -EPIPE,
	   "destination dead: -EPIPE");
	is(m3_vcopy(dead.ep, src, M3_SELF, back, 1), -ECONNRESET,
	   "source dead: -ECONNRESET");

	/* a non-dumpable process is off limits to a caller that could not ptrace it */
	{
		struct kid nd, up;
		uint64_t addr;
		char buf[64];

		kid_start(&nd, M3_PRIV_USER, fn_nodump, NULL);
		kid_go(&nd);
		is(m3_rcvrqst(nd.ep, &r, 10000), 0, "a non-dumpable kid hands out a buffer");
		memcpy(&addr, r.payload, sizeof(addr));
		kid_start(&up, M3_PRIV_KERNEL, fn_unpriv_copy, NULL);
		kid_go3(&up, nd.ep, (int)(uint32_t)addr, (int)(uint32_t)(addr >> 32));
		is(kid_result(&up), 0,
		   "a KERNEL-level caller without CAP_SYS_PTRACE: -EACCES from the non-dumpable kid, 0 from a dumpable one");
		memset(buf, 0, sizeof(buf));
		is(m3_vcopy(nd.ep, (void *)(uintptr_t)addr, M3_SELF, buf, 16), 0,
		   "a caller with CAP_SYS_PTRACE may read it");
		ok(!memcmp(buf, "not for a proces", 16), "... and reads the right bytes");
		memset(&r, 0, sizeof(r));
		m3_reply(nd.ep, &r);
		is(kid_result(&nd), 0, "the non-dumpable kid got its reply");
	}

	/* final pattern, checked by the kid itself */
	pattern(src, MAXLEN, 99);
	memset(back, 0, 3);
	m3_vcopy(M3_SELF, back, k.ep, (void *)(uintptr_t)a.buf, 3);
	is(m3_vcopy(M3_SELF, src, k.ep, (void *)(uintptr_t)(a.buf + 3), MAXLEN),
	   0, "vcopy 4 MiB to offset 3 of the kid");
	memset(&r, 0, sizeof(r));
	r.m_type = 99;
	is(m3_reply(k.ep, &r), 0, "reply to the kid");
	is(kid_result(&k), 0, "the kid verified all 4 MiB itself");

	m3_dc_end(dc);
	return tap_done();
}
