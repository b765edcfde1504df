/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tap.h - TAP output and helpers shared by the M3-IPC test programs.
 * Header-only: each test program is one .c file, linked statically.
 */
#ifndef M3_TAP_H
#define M3_TAP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/libm3ipc.h"

static int tap_n, tap_failed;

static void tap_vok(int pass, const char *file, int line, const char *fmt,
		    va_list ap)
{
	printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
	vprintf(fmt, ap);
	if (!pass) {
		printf(" # %s:%d", file, line);
		tap_failed++;
	}
	putchar('\n');
	fflush(stdout);
}

static void tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vok(pass, file, line, fmt, ap);
	va_end(ap);
}

static const char *errname(long v)
{
	static char buf[64];

	if (v >= 0) {
		snprintf(buf, sizeof(buf), "%ld", v);
		return buf;
	}
	snprintf(buf, sizeof(buf), "-%s(%ld)", strerrorname_np(-v) ?: "?", v);
	return buf;
}

static void tap_is(long got, long exp, const char *file, int line,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vok(got == exp, file, line, fmt, ap);
	va_end(ap);
	if (got != exp) {
		printf("#   got %s", errname(got));
		printf(", expected %s\n", errname(exp));
	}
}

#define ok(c, ...) tap_ok(!!(c), __FILE__, __LINE__, __VA_ARGS__)
#define is(g, e, ...) tap_is((long)(g), (long)(e), __FILE__, __LINE__, __VA_ARGS__)
#define diag(...) do { printf("# " __VA_ARGS__); putchar('\n'); } while (0)

static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# FAILED %d of %d\n", tap_failed, tap_n);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

static void bail(const char *why, int err)
{
	printf("Bail out! %s: %s\n", why, errname(err));
	fflush(stdout);
	exit(255);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* the DVS must be up; create a fresh DC for this program, on CPUs @cpus (0: all) */
static int setup_dc_cpus(const char *name, int tasks, int procs,
			 unsigned int flags, unsigned long long cpus)
{
	struct m3_dc_spec s;
	int ret;

	ret = m3_dvs_init(0, NULL);
	if (ret < 0 && ret != -EBUSY)
		bail("dvs_init", ret);
	ret = m3_dc_find(name);
	if (ret >= 0)
		m3_dc_end(ret);
	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", name);
	s.dcid = -1;
	s.nr_tasks = tasks;
	s.nr_procs = procs;
	s.flags = flags;
	s.cpumask = cpus;
	ret = m3_dc_init(&s);
	if (ret < 0)
		bail("dc_init", ret);
	return ret;
}

static int setup_dc(const char *name, int tasks, int procs, unsigned int flags)
{
	return setup_dc_cpus(name, tasks, procs, flags, 0);
}

/* bind the caller and give it a privilege level */
static int bind_self(int dc, int priv)
{
	int ep = m3_bind(dc, 0, M3_ANY_SLOT);

	if (ep < 0)
		bail("bind self", ep);
	if (m3_setpriv(dc, ep, priv) < 0)
		bail("setpriv self", -1);
	return ep;
}

static void msg_fill(struct m3_msg *m, int type, const char *text)
{
	memset(m, 0, sizeof(*m));
	m->m_type = type;
	snprintf((char *)m->payload, sizeof(m->payload), "%s", text);
}

/*
 * A forked helper process. The parent binds it, sets its privilege and
 * lets it go; the child runs fn(arg, ep) and reports an int result.
 */
struct kid {
	pid_t pid;
	int ep;
	int go[2];
	int res[2];
};

typedef int (*kid_fn)(void *arg);

static int kid_dc;
static int kid_args[8];	/* in a kid: what the parent passed to kid_go() */

/* start a kid, bound in kid_dc with @priv; it runs fn after kid_go() */
static void kid_start(struct kid *k, int priv, kid_fn fn, void *arg)
{
	if (pipe(k->go) || pipe(k->res))
		bail("pipe", -errno);
	fflush(stdout);
	k->pid = fork();
	if (k->pid < 0)
		bail("fork", -errno);
	if (!k->pid) {
		int r = 0;

		close(k->go[1]);
		close(k->res[0]);
		if (read(k->go[0], kid_args, sizeof(kid_args)) !=
		    sizeof(kid_args))
			_exit(3);
		r = fn(arg);
		if (write(k->res[1], &r, sizeof(r)) != sizeof(r))
			_exit(4);
		_exit(0);
	}
	close(k->go[0]);
	close(k->res[1]);
	k->ep = m3_bind(kid_dc, k->pid, M3_ANY_SLOT);
	if (k->ep < 0)
		bail("bind kid", k->ep);
	if (m3_setpriv(kid_dc, k->ep, priv) < 0)
		bail("setpriv kid", -1);
}

/* let the kid run; a0..a2 land in its kid_args[0..2] */
static void kid_go3(struct kid *k, int a0, int a1, int a2)
{
	int a[8] = { a0, a1, a2 };

	if (write(k->go[1], a, sizeof(a)) != sizeof(a))
		bail("kid_go", -errno);
}

#define kid_go(k) kid_go3(k, 0, 0, 0)
#define kid_go1(k, a) kid_go3(k, a, 0, 0)
#define kid_go2(k, a, b) kid_go3(k, a, b, 0)

/* the kid's result (INT_MIN if it died without reporting); reaps it */
static int kid_result(struct kid *k)
{
	int r, st;

	if (read(k->res[0], &r, sizeof(r)) != sizeof(r))
		r = -100000;
	close(k->res[0]);
	close(k->go[1]);
	waitpid(k->pid, &st, 0);
	return r;
}

static void kid_kill(struct kid *k, int sig)
{
	int st;

	kill(k->pid, sig);
	waitpid(k->pid, &st, 0);
	close(k->res[0]);
	close(k->go[1]);
}

/* the states of a process blocked in an IPC call */
#define PST_BLOCKED (M3_PST_SENDING | M3_PST_RECEIVING | M3_PST_REPLY_WAIT)

/* wait until slot of @ep has (state & mask) == want; 0 or -ETIMEDOUT */
static int wait_state(int dc, int ep, unsigned int mask, unsigned int want)
{
	struct m3_proc_info pi;
	long end = now_ms() + 5000;

	while (now_ms() < end) {
		if (m3_proc_info(dc, M3_EP_SLOT(ep), &pi) == 0 &&
		    pi.endpoint == ep && (pi.state & mask) == want)
			return 0;
		msleep(2);
	}
	return -ETIMEDOUT;
}

static int wait_unbound(int dc, int ep)
{
	struct m3_proc_info pi;
	long end = now_ms() + 5000;

	while (now_ms() < end) {
		if (m3_proc_info(dc, M3_EP_SLOT(ep), &pi) == 0 &&
		    pi.endpoint != ep)
			return 0;
		msleep(2);
	}
	return -ETIMEDOUT;
}

/*
 * The node id the DVS runs with: the lab initializes each node's DVS with its
 * own id, and a test that ends and re-inits the DVS must put that id back.
 * Initializes node 0 when nothing did yet (a bare VM).
 */
static int m3t_node_id(void)
{
	struct m3_dvs_info di;

	if (m3_dvs_info(&di) == 0 && di.initialized)
		return di.node_id;
	m3_dvs_init(0, NULL);
	return 0;
}

#endif
