// SPDX-License-Identifier: GPL-2.0
/*
 * t_vexec - a vcopy whose destination execve()s in the middle of it (issue
 * 20, point 2): the rest of the copy must land in the old, dead image or
 * fail, never in the new one. The destination runs this program again; it
 * is static and not PIE, so its bss buffer has the same address in the new
 * image, which reports how many bytes of that buffer the copy wrote there.
 *
 * Three cases: a third party (the copy within the target, src and dst both
 * in it: before the fix, access_process_vm() on the task wrote into
 * whatever image it had by then); the source itself; and the attack of
 * issue 20: an unprivileged caller (uid 65534, KERNEL level, no
 * CAP_SYS_PTRACE) copying into a target, also uid 65534, that execs a
 * setuid-root copy of this program (not dumpable: the caller may not reach
 * it, and none of the copy may land in it).
 */
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "tap.h"

#define LEN	(32u << 20)
#define TRIES	3

static uint8_t srcbuf[LEN] __attribute__((aligned(4096)));
static uint8_t dstbuf[LEN] __attribute__((aligned(4096)));

static int ready[2], done[2], rep[2], cres[2];
static const char *exec_path = "/proc/self/exe";
static char suid_path[64];
static int as_nobody;	/* the target and the caller run as uid 65534 */

static int drop_to_nobody(void)
{
	/* a credential change makes a process non-dumpable: undo that */
	return setgroups(0, NULL) || setgid(65534) || setuid(65534) ||
	       prctl(PR_SET_DUMPABLE, 1);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void fill(uint8_t *p)
{
	size_t i;

	for (i = 0; i < LEN; i++)
		p[i] = i % 251 + 1;	/* never 0 */
}

/*
 * The new image: says when it started, waits until the copy returned in
 * the parent, then counts the bytes of its buffer that are not 0 (all of
 * it is fresh bss; nothing here writes to it).
 */
static int after_exec(int done_fd, int rep_fd)
{
	int64_t v[2] = { now_ns(), 0 };
	char c;
	size_t i;

	if (write(rep_fd, &v[0], sizeof(v[0])) != sizeof(v[0]))
		return 2;
	if (read(done_fd, &c, 1) != 1)
		return 3;
	for (i = 0; i < LEN; i++)
		v[1] += dstbuf[i] != 0;
	if (write(rep_fd, &v[1], sizeof(v[1])) != sizeof(v[1]))
		return 4;
	return 0;
}

/*
 * The target: fills its source buffer (for the third-party copy), says it
 * is ready, and execs itself as soon as the first byte of its destination
 * buffer changes, i.e. once the copy has started.
 */
static int fn_target(void *arg)
{
	char a1[16], a2[16];
	long end;

	if (as_nobody && drop_to_nobody())
		return -6003;
	close(ready[0]);
	close(done[1]);
	close(rep[0]);
	fill(srcbuf);
	if (write(ready[1], "r", 1) != 1)
		return -6000;
	end = now_ms() + 30000;
	while (!__atomic_load_n(dstbuf, __ATOMIC_RELAXED) &&
	       now_ms() < end)
		;
	if (!dstbuf[0])
		return -6001;
	snprintf(a1, sizeof(a1), "%d", done[0]);
	snprintf(a2, sizeof(a2), "%d", rep[1]);
	execl(exec_path, "t_vexec", "--after-exec", a1, a2, NULL);
	return -6002;
}

static long vcopy_raw(int s, uint64_t sa, int d, uint64_t da, uint64_t len,
		      uint64_t *copied)
{
	struct m3_vcopy v = { .src_ep = s, .dst_ep = d, .src_addr = sa,
			      .dst_addr = da, .len = len };
	int fd = m3_open();
	long r = ioctl(fd, M3_IOC_VCOPY, &v);

	*copied = v.copied;
	return r < 0 ? -errno : r;
}

struct result {
	long ret;
	uint64_t copied;
	int64_t t_ret;		/* when the copy returned */
	int64_t written;	/* bytes the new image found written; -1: none */
	int raced;		/* the new image ran before the copy returned */
};

/*
 * The unprivileged caller: the third-party copy within the target
 * (kid_args[0]), then tells the new image and the parent.
 */
static int fn_caller(void *arg)
{
	struct result r = { 0 };
	char c;

	close(ready[1]);
	if (drop_to_nobody())
		return -6100;
	if (read(ready[0], &c, 1) != 1)
		return -6101;
	r.ret = vcopy_raw(kid_args[0], (uintptr_t)srcbuf, kid_args[0],
			  (uintptr_t)dstbuf, LEN, &r.copied);
	r.t_ret = now_ns();
	if (write(done[1], "d", 1) != 1 ||
	    write(cres[1], &r, sizeof(r)) != sizeof(r))
		return -6102;
	return 0;
}

/*
 * One copy into a target that execs during it. @mode 0: from our own
 * buffer; 1: within the target, by us; 2: within the target, by an
 * unprivileged caller, the target execing a setuid-root program.
 */
static void one(int mode, struct result *res)
{
	int64_t started = 0;
	struct kid k, cl;
	char c;
	int st, r;

	res->written = -1;
	res->raced = 0;
	if (pipe(ready) || pipe(done) || pipe(rep) || pipe2(cres, O_CLOEXEC))
		bail("pipe", -errno);
	as_nobody = mode == 2;
	exec_path = mode == 2 ? suid_path : "/proc/self/exe";
	kid_start(&k, M3_PRIV_USER, fn_target, NULL);
	if (mode == 2) {
		kid_start(&cl, M3_PRIV_KERNEL, fn_caller, NULL);
		close(ready[0]);
		close(done[1]);
		close(cres[1]);
	}
	close(ready[1]);
	close(done[0]);
	close(rep[1]);
	kid_go(&k);
	if (mode == 2) {
		kid_go1(&cl, k.ep);
		if (read(cres[0], res, sizeof(*res)) != sizeof(*res))
			res->ret = -100000;
		r = kid_result(&cl);
		if (r)
			diag("the caller failed: %d", r);
	} else {
		if (read(ready[0], &c, 1) != 1)
			bail("target not ready", -EPIPE);
		res->ret = vcopy_raw(mode ? k.ep : M3_SELF, (uintptr_t)srcbuf,
				     k.ep, (uintptr_t)dstbuf, LEN,
				     &res->copied);
		res->t_ret = now_ns();
		if (write(done[1], "d", 1) != 1)
			diag("the new image is gone");
		close(ready[0]);
		close(done[1]);
	}
	res->written = -1;
	res->raced = 0;
	if (read(rep[0], &started, sizeof(started)) == sizeof(started)) {
		res->raced = started < res->t_ret;
		if (read(rep[0], &res->written, sizeof(res->written)) !=
		    sizeof(res->written))
			res->written = -1;
	}
	waitpid(k.pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		diag("target ended with status 0x%x", st);
	close(k.res[0]);
	close(k.go[1]);
	close(rep[0]);
	close(cres[0]);
}

/* a root-owned setuid copy of this program, for the target to exec */
static int make_suid_copy(void)
{
	static char buf[1 << 16];
	int in, out;
	ssize_t n;

	snprintf(suid_path, sizeof(suid_path), "/tmp/t_vexec-suid.%d",
		 (int)getpid());
	in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	out = open(suid_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	if (in < 0 || out < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			return -EIO;
	close(in);
	if (n < 0 || fchown(out, 0, 0) || fchmod(out, 04755))
		return -errno;
	return close(out) ? -errno : 0;
}

static void run(int mode, const char *what)
{
	struct result r;
	int i;

	for (i = 0; i < TRIES; i++) {
		one(mode, &r);
		diag("%s, try %d: vcopy %s, copied %llu, new image ran %s the copy returned, %lld bytes written in it",
		     what, i + 1, errname(r.ret), (unsigned long long)r.copied,
		     r.raced ? "before" : "after", (long long)r.written);
		if (r.raced)
			break;
	}
	ok(r.raced, "%s: the target's exec finished while the copy ran (%d tries)",
	   what, i + 1 > TRIES ? TRIES : i + 1);
	ok((!r.ret && r.copied == LEN) || r.ret < 0,
	   "%s: the copy completed into the old image or failed (%s, %llu)",
	   what, errname(r.ret), (unsigned long long)r.copied);
	is(r.written, 0, "%s: nothing of it landed in the new image", what);
}

int main(int argc, char **argv)
{
	int dc, ret;

	if (argc == 4 && !strcmp(argv[1], "--after-exec"))
		return after_exec(atoi(argv[2]), atoi(argv[3]));

	dc = setup_dc("t_vexec", 2, 8, 0);
	kid_dc = dc;
	bind_self(dc, M3_PRIV_KERNEL);
	run(1, "third-party vcopy within the target");
	fill(srcbuf);
	run(0, "vcopy from the caller");
	ret = make_suid_copy();
	is(ret, 0, "a setuid-root copy of this program in /tmp");
	if (!ret)
		run(2, "unprivileged caller, target execs a setuid-root program");
	unlink(suid_path);
	m3_dc_end(dc);
	return tap_done();
}
