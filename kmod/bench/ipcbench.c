// SPDX-License-Identifier: GPL-2.0
/*
 * ipcbench - M3-IPC message rates and vcopy bandwidth, and the baselines a
 * user would pick instead, measured the same way in the same guest:
 *
 *   ipcbench [-n ITERS] CASE [SIZE]
 *
 * message cases (two processes ping-pong a 64-byte message ITERS times;
 * the figure is one-way messages per second = 2 * ITERS / elapsed; for
 * m3-notify a round is notify + an acknowledging sendrec, 3 messages):
 *   pipe unix futex futex-spin shm-ring
 *   m3-send m3-sendrec m3-sendrec-rr m3-rcvrqst m3-notify
 *   m3-sendrec-affine (m3-sendrec in a DC with M3_DCF_WAKE_AFFINE)
 * (futex-spin spins like m3ipc's spin_us before sleeping; shm-ring polls a
 * shared page with no syscall: the bound without a kernel)
 * bandwidth cases (bytes per second copying SIZE bytes from another
 * process into this one, ITERS times):
 *   vcopy pvm memcpy
 * calibration (no IPC: how fast this guest runs plain code right now; the
 * nightly runs it at the start and end of each bench cell):
 *   cpu-loop (ITERS rounds of a fixed integer loop, in loop iterations per second)
 *
 * Prints one JSON line (m3-sendrec and m3-sendrec-affine add sameCpuShare:
 * the share of round trips whose server ran on the client's CPU; the
 * ping-pong cases add rttP50Ns and rttP99Ns, the round trip's latency
 * distribution, timed with the TSC so the timing adds no system call).
 * Exit status 0 only when every operation succeeded.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <x86intrin.h>
#include <unistd.h>

#include "../lib/libm3ipc.h"

#define MSG_BYTES 64

static long iters = 20000;
static unsigned int dc_flags;	/* M3_DCF_* of the benchmark's DC */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, long err)
{
	fprintf(stderr, "ipcbench: %s: %s (%ld)\n", what,
		strerror(err < 0 ? -err : err), err);
	exit(2);
}

/* m3-sendrec cases: the share of round trips whose server ran on the client's CPU */
static double same_cpu_share = -1;

/*
 * Round-trip latencies, in TSC ticks, of the ping-pong cases. The TSC, not
 * clock_gettime(): a guest whose clocksource is the HPET (TCG guests with
 * more than one vCPU) makes every clock_gettime() a system call and a device
 * read, which would weigh on the very round trip it times.
 */
static double tsc_per_ns;
static uint32_t *rtt;
static long rtt_n;

static void tsc_calibrate(void)
{
	double t0 = now(), t1;
	uint64_t c0 = __rdtsc(), c1;

	do
		t1 = now();
	while (t1 - t0 < 0.02);
	c1 = __rdtsc();
	tsc_per_ns = (double)(c1 - c0) / ((t1 - t0) * 1e9);
	if (tsc_per_ns <= 0)
		die("tsc calibration", -EIO);
}

static void rtt_alloc(void)
{
	rtt = calloc(iters, sizeof(*rtt));
	if (!rtt)
		die("malloc", -ENOMEM);
	rtt_n = 0;
}

static inline void rtt_add(uint64_t start)
{
	uint64_t d = __rdtsc() - start;

	if (rtt && rtt_n < iters)
		rtt[rtt_n++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* the q-quantile of the round trips, in ns */
static double rtt_quantile(double q)
{
	long i = (long)(q * (rtt_n - 1) + 0.5);

	return rtt[i] / tsc_per_ns;
}

static void report(const char *name, const char *unit, double value,
		   long n, double secs, long size)
{
	printf("{\"case\":\"%s\",\"unit\":\"%s\",\"value\":%.1f,\"iters\":%ld,"
	       "\"seconds\":%.6f,\"size\":%ld", name, unit, value, n, secs,
	       size);
	if (same_cpu_share >= 0)
		printf(",\"sameCpuShare\":%.4f", same_cpu_share);
	if (rtt && rtt_n > 0) {
		qsort(rtt, rtt_n, sizeof(*rtt), cmp_u32);
		printf(",\"rttP50Ns\":%.0f,\"rttP99Ns\":%.0f", rtt_quantile(0.5),
		       rtt_quantile(0.99));
	}
	printf("}\n");
}

/* Reads exactly len bytes or dies: setup handshakes between the processes. */
static void xread(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t r = read(fd, p, len);

		if (r <= 0)
			die("handshake read", r < 0 ? -errno : -EPIPE);
		p += r;
		len -= r;
	}
}

static void xwrite(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		die("handshake write", -errno);
}

static int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- baselines: pipe, unix socket, futex ---- */

static void stream_pingpong(const char *name, int a[2], int b[2])
{
	char msg[MSG_BYTES] = { 1 };
	pid_t pid = fork();
	double t0, t1;
	long i;

	if (pid < 0)
		die("fork", -errno);
	if (pid == 0) {
		for (i = 0; i < iters; i++) {
			xread(a[0], msg, sizeof(msg));
			xwrite(b[1], msg, sizeof(msg));
		}
		_exit(0);
	}
	rtt_alloc();
	t0 = now();
	for (i = 0; i < iters; i++) {
		uint64_t c = __rdtsc();

		xwrite(a[1], msg, sizeof(msg));
		xread(b[0], msg, sizeof(msg));
		rtt_add(c);
	}
	t1 = now();
	if (reap(pid))
		die("child", -ECHILD);
	report(name, "msg/s", 2.0 * iters / (t1 - t0), iters, t1 - t0, MSG_BYTES);
}

static void bench_pipe(void)
{
	int a[2], b[2];

	if (pipe(a) || pipe(b))
		die("pipe", -errno);
	stream_pingpong("pipe", a, b);
}

static void bench_unix(void)
{
	int sv[2], a[2], b[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair", -errno);
	/* parent writes a[1]=sv[0], child reads a[0]=sv[1]; and back */
	a[0] = sv[1]; a[1] = sv[0];
	b[0] = sv[0]; b[1] = sv[1];
	stream_pingpong("unix", a, b);
}

struct futex_page {
	_Atomic int turn;	/* 0: parent's turn to read, 1: child's */
	char msg[MSG_BYTES];
};

static void futex_wait(_Atomic int *addr, int val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static long read_param(const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/m3ipc/parameters/%s", name);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/*
 * The fair baseline for M3's adaptive spinning: spin on the flag exactly as
 * long as the module spins now (spin_budget_ns: the sleep and wakeup cost it
 * measured, capped by spin_us; 0 without the module) before sleeping on the
 * futex, and never on a single online CPU, like m3ipc. The spin's clock is
 * the TSC, as cheap as the module's local_clock().
 */
static long spin_ns(void)
{
	long ns = read_param("spin_budget_ns");

	if (ns < 0)
		ns = read_param("spin_us") * 1000;
	return sysconf(_SC_NPROCESSORS_ONLN) < 2 || ns < 0 ? 0 : ns;
}

static void spin_until(_Atomic int *addr, int want, long ns)
{
	uint64_t until = __rdtsc() + (uint64_t)(ns * tsc_per_ns);

	while (ns > 0 && atomic_load(addr) != want && __rdtsc() < until)
		__builtin_ia32_pause();
}

/*
 * How a side waits for its turn on the shared page: sleep on a futex (after
 * spinning `spin` ns: 0 for plain futex), or poll without a syscall (the
 * shared-memory ring: the bound without a kernel; on a single online CPU a
 * poll that never yields would burn its time slice per message, so there it
 * yields).
 */
struct turn_wait {
	long spin;
	bool poll;
	bool yield;
};

static void wait_turn(_Atomic int *turn, int want, const struct turn_wait *w)
{
	spin_until(turn, want, w->spin);
	while (atomic_load(turn) != want) {
		if (!w->poll)
			futex_wait(turn, !want);
		else if (w->yield)
			sched_yield();
		else
			__builtin_ia32_pause();
	}
}

static void give_turn(_Atomic int *turn, int to, const struct turn_wait *w)
{
	atomic_store(turn, to);
	if (!w->poll)
		futex_wake(turn);
}

/* two processes pass a 64-byte message through one shared page */
static void shared_pingpong(const char *name, struct turn_wait w)
{
	struct futex_page *fp = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char msg[MSG_BYTES] = { 1 };
	double t0, t1;
	pid_t pid;
	long i;

	if (fp == MAP_FAILED)
		die("mmap", -errno);
	atomic_store(&fp->turn, 0);
	pid = fork();
	if (pid < 0)
		die("fork", -errno);
	if (pid == 0) {
		for (i = 0; i < iters; i++) {
			wait_turn(&fp->turn, 1, &w);
			memcpy(msg, fp->msg, sizeof(msg));
			memcpy(fp->msg, msg, sizeof(msg));
			give_turn(&fp->turn, 0, &w);
		}
		_exit(0);
	}
	rtt_alloc();
	t0 = now();
	for (i = 0; i < iters; i++) {
		uint64_t c = __rdtsc();

		memcpy(fp->msg, msg, sizeof(msg));
		give_turn(&fp->turn, 1, &w);
		wait_turn(&fp->turn, 0, &w);
		memcpy(msg, fp->msg, sizeof(msg));
		rtt_add(c);
	}
	t1 = now();
	if (reap(pid))
		die("child", -ECHILD);
	report(name, "msg/s", 2.0 * iters / (t1 - t0), iters, t1 - t0, MSG_BYTES);
}

/* ---- M3-IPC: a private DC, this process and one child bound in it ---- */

struct pair {
	int dcid;
	int ep_parent, ep_child;
	pid_t child;
	int to_child[2], to_parent[2];
};

/*
 * Creates the DC, forks, binds both processes and gives them their
 * privileges; the child runs body() and exits with its status.
 */
static void pair_start(struct pair *p, int priv_parent, int priv_child,
		       int (*body)(struct pair *p))
{
	struct m3_dc_spec spec = { .dcid = -1, .nr_tasks = 0, .nr_procs = 4,
				   .flags = dc_flags };
	int rc;

	snprintf(spec.name, sizeof(spec.name), "bench%d", (int)getpid() % 100000);
	rc = m3_dc_init(&spec);
	if (rc < 0)
		die("dc_init", rc);
	p->dcid = rc;
	if (pipe(p->to_child) || pipe(p->to_parent))
		die("pipe", -errno);
	p->child = fork();
	if (p->child < 0)
		die("fork", -errno);
	if (p->child == 0) {
		xread(p->to_child[0], p, sizeof(*p));
		rc = body(p);
		_exit(rc ? 1 : 0);
	}
	p->ep_parent = m3_bind(p->dcid, 0, M3_ANY_SLOT);
	if (p->ep_parent < 0)
		die("bind self", p->ep_parent);
	p->ep_child = m3_bind(p->dcid, p->child, M3_ANY_SLOT);
	if (p->ep_child < 0)
		die("bind child", p->ep_child);
	rc = m3_setpriv(p->dcid, p->ep_parent, priv_parent);
	if (rc < 0)
		die("setpriv parent", rc);
	rc = m3_setpriv(p->dcid, p->ep_child, priv_child);
	if (rc < 0)
		die("setpriv child", rc);
	xwrite(p->to_child[1], p, sizeof(*p));
}

static void pair_end(struct pair *p)
{
	int rc = reap(p->child);

	m3_dc_end(p->dcid);
	if (rc)
		die("child", -ECHILD);
}

static int child_echo_send(struct pair *p)
{
	struct m3_msg m;
	long i;
	int rc;

	for (i = 0; i < iters; i++) {
		rc = m3_receive(p->ep_parent, &m, M3_TIMEOUT_FOREVER);
		if (rc < 0)
			return rc;
		rc = m3_send(p->ep_parent, &m, M3_TIMEOUT_FOREVER);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int child_serve_receive(struct pair *p)
{
	struct m3_msg m;
	long i;
	int rc;

	for (i = 0; i < iters; i++) {
		rc = m3_receive(M3_ANY, &m, M3_TIMEOUT_FOREVER);
		if (rc < 0)
			return rc;
		/* where the server was woken: the client compares it with its own CPU */
		m.m_type = sched_getcpu();
		rc = m3_reply(m.m_source, &m);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int child_serve_rr(struct pair *p)
{
	struct m3_msg m;
	int rc, src = M3_NONE;
	long i;

	/* One call answers the previous request and waits for the next. */
	for (i = 0; i < iters; i++) {
		rc = m3_reply_receive(src, &m, M3_ANY, &m, M3_TIMEOUT_FOREVER,
				      0, NULL);
		if (rc < 0)
			return rc;
		src = m.m_source;
	}
	return m3_reply(src, &m) < 0;
}

static int child_serve_rcvrqst(struct pair *p)
{
	struct m3_msg m;
	long i;
	int rc;

	for (i = 0; i < iters; i++) {
		rc = m3_rcvrqst(M3_ANY, &m, M3_TIMEOUT_FOREVER);
		if (rc < 0)
			return rc;
		rc = m3_reply(m.m_source, &m);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * NOTIFY only goes down the privilege ladder (src < dst), so the child (TASK)
 * acknowledges each notification with a SENDREC up to the parent (KERNEL),
 * which is allowed (src >= dst), and the parent replies.
 */
static int child_notify_ack(struct pair *p)
{
	struct m3_msg m;
	long i;
	int rc;

	for (i = 0; i < iters; i++) {
		rc = m3_receive(p->ep_parent, &m, M3_TIMEOUT_FOREVER);
		if (rc < 0)
			return rc;
		if (m.m_type != M3_MTYPE_NOTIFY)
			return -EPROTO;
		rc = m3_sendrec(p->ep_parent, &m, M3_TIMEOUT_FOREVER);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void bench_m3(const char *name)
{
	struct m3_msg m;
	struct pair p;
	double t0, t1;
	long i;
	int rc;

	memset(&m, 0, sizeof(m));
	m.m_type = 1;
	if (!strcmp(name, "m3-send")) {
		/* send and receive both ways: both must be allowed to receive */
		pair_start(&p, M3_PRIV_SERVER, M3_PRIV_SERVER, child_echo_send);
		rtt_alloc();
		t0 = now();
		for (i = 0; i < iters; i++) {
			uint64_t c = __rdtsc();

			rc = m3_send(p.ep_child, &m, M3_TIMEOUT_FOREVER);
			if (rc < 0)
				die("send", rc);
			rc = m3_receive(p.ep_child, &m, M3_TIMEOUT_FOREVER);
			if (rc < 0)
				die("receive", rc);
			rtt_add(c);
		}
		t1 = now();
	} else if (!strcmp(name, "m3-notify")) {
		/* three messages a round: notification, request, reply */
		pair_start(&p, M3_PRIV_KERNEL, M3_PRIV_TASK, child_notify_ack);
		t0 = now();
		for (i = 0; i < iters; i++) {
			rc = m3_notify(p.ep_child);
			if (rc < 0)
				die("notify", rc);
			rc = m3_receive(p.ep_child, &m, M3_TIMEOUT_FOREVER);
			if (rc < 0)
				die("receive ack", rc);
			rc = m3_reply(p.ep_child, &m);
			if (rc < 0)
				die("reply ack", rc);
		}
		t1 = now();
		pair_end(&p);
		report(name, "msg/s", 3.0 * iters / (t1 - t0), iters, t1 - t0, MSG_BYTES);
		return;
	} else {
		int (*server)(struct pair *p) =
			!strcmp(name, "m3-sendrec") ? child_serve_receive :
			!strcmp(name, "m3-sendrec-affine") ? child_serve_receive :
			!strcmp(name, "m3-sendrec-rr") ? child_serve_rr :
			!strcmp(name, "m3-rcvrqst") ? child_serve_rcvrqst : NULL;

		if (!server) {
			fprintf(stderr, "ipcbench: unknown case %s\n", name);
			exit(2);
		}
		/* a USER client may SENDREC to a lower level: the server */
		long same = 0;
		bool placed = server == child_serve_receive;

		pair_start(&p, M3_PRIV_USER, M3_PRIV_SERVER, server);
		rtt_alloc();
		t0 = now();
		for (i = 0; i < iters; i++) {
			uint64_t c = __rdtsc();

			rc = m3_sendrec(p.ep_child, &m, M3_TIMEOUT_FOREVER);
			if (rc < 0)
				die("sendrec", rc);
			rtt_add(c);
			if (placed && m.m_type == sched_getcpu())
				same++;
		}
		t1 = now();
		if (placed)
			same_cpu_share = (double)same / iters;
	}
	pair_end(&p);
	report(name, "msg/s", 2.0 * iters / (t1 - t0), iters, t1 - t0, MSG_BYTES);
}

/* ---- bandwidth: copy SIZE bytes from the child into this process ---- */

static int child_hold_buffer(struct pair *p)
{
	long size = iters; /* reused field: see bench_copy */
	char *buf = malloc(size);
	uint64_t addr = (uintptr_t)buf;
	char c;

	if (!buf)
		return 1;
	memset(buf, 0x5a, size);
	xwrite(p->to_parent[1], &addr, sizeof(addr));
	xread(p->to_child[0], &c, 1); /* parent is done */
	return 0;
}

static void bench_copy(const char *name, long size)
{
	long n = iters, i;
	char *dst = malloc(size), *src;
	uint64_t child_addr;
	struct pair p;
	double t0, t1;
	char c = 0;
	int rc;

	if (!dst || size <= 0)
		die("malloc", -ENOMEM);
	memset(dst, 0, size);
	if (!strcmp(name, "memcpy")) {
		src = malloc(size);
		if (!src)
			die("malloc", -ENOMEM);
		memset(src, 0x5a, size);
		t0 = now();
		for (i = 0; i < n; i++) {
			memcpy(dst, src, size);
			asm volatile("" : : "r"(dst) : "memory");
		}
		t1 = now();
		report(name, "B/s", (double)size * n / (t1 - t0), n, t1 - t0, size);
		return;
	}
	/* the child learns the buffer size through iters (set before fork) */
	iters = size;
	pair_start(&p, M3_PRIV_KERNEL, M3_PRIV_USER, child_hold_buffer);
	iters = n;
	xread(p.to_parent[0], &child_addr, sizeof(child_addr));
	t0 = now();
	for (i = 0; i < n; i++) {
		if (!strcmp(name, "vcopy")) {
			rc = m3_vcopy(p.ep_child, (void *)(uintptr_t)child_addr,
				      p.ep_parent, dst, size);
			if (rc < 0)
				die("vcopy", rc);
		} else {
			struct iovec local = { dst, size };
			struct iovec remote = { (void *)(uintptr_t)child_addr, size };
			ssize_t r = process_vm_readv(p.child, &local, 1, &remote, 1, 0);

			if (r != size)
				die("process_vm_readv", r < 0 ? -errno : -EIO);
		}
	}
	t1 = now();
	if (dst[0] != 0x5a || dst[size - 1] != 0x5a)
		die("copied bytes differ", -EIO);
	xwrite(p.to_child[1], &c, 1);
	pair_end(&p);
	report(name, "B/s", (double)size * n / (t1 - t0), n, t1 - t0, size);
}

/*
 * A fixed dependent chain of integer operations (xorshift), no memory traffic
 * and no system calls: what the CPU (or TCG's translated code) does per second.
 */
static void bench_cpu_loop(void)
{
	uint64_t x = 88172645463325252ull;
	long n = iters, i;
	double t0, t1;

	t0 = now();
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		asm volatile("" : "+r"(x));
	}
	t1 = now();
	if (!x)
		die("cpu-loop", -EIO);
	report("cpu-loop", "op/s", (double)n / (t1 - t0), n, t1 - t0, 0);
}

int main(int argc, char **argv)
{
	const char *name;
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt == 'n')
			iters = atol(optarg);
		else
			return 2;
	}
	if (optind >= argc || iters <= 0) {
		fprintf(stderr, "usage: ipcbench [-n ITERS] CASE [SIZE]\n");
		return 2;
	}
	name = argv[optind];
	if (!strcmp(name, "m3-sendrec-affine"))
		dc_flags = M3_DCF_WAKE_AFFINE;
	signal(SIGPIPE, SIG_IGN);
	tsc_calibrate();
	if (!strcmp(name, "pipe"))
		bench_pipe();
	else if (!strcmp(name, "unix"))
		bench_unix();
	else if (!strcmp(name, "futex"))
		shared_pingpong(name, (struct turn_wait){ .spin = 0 });
	else if (!strcmp(name, "futex-spin"))
		shared_pingpong(name, (struct turn_wait){ .spin = spin_ns() });
	else if (!strcmp(name, "shm-ring"))
		shared_pingpong(name, (struct turn_wait){
			.poll = true,
			.yield = sysconf(_SC_NPROCESSORS_ONLN) < 2 });
	else if (!strncmp(name, "m3-", 3))
		bench_m3(name);
	else if (!strcmp(name, "cpu-loop"))
		bench_cpu_loop();
	else if (!strcmp(name, "vcopy") || !strcmp(name, "pvm") ||
		 !strcmp(name, "memcpy"))
		bench_copy(name, optind + 1 < argc ? atol(argv[optind + 1]) : 65536);
	else {
		fprintf(stderr, "ipcbench: unknown case %s\n", name);
		return 2;
	}
	return 0;
}
