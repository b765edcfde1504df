/* SPDX-License-Identifier: GPL-2.0 */
/*
 * c_tap.h - TAP output and the classic start of an M3-IPC 1.6 test for the
 * compat programs, which see nothing but m3ipc_compat.h and libc.
 *
 * The classic start: the parent creates a compat DC, forks, binds the
 * child with mnx_lclbind and the child, blocked in mnx_wait4bind, starts
 * its loop with the endpoint it got.
 */
#ifndef C_TAP_H
#define C_TAP_H

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <m3ipc_compat.h>

static int tap_n;
static int tap_failed;

static void plan(int n)
{
	printf("1..%d\n", n);
	fflush(stdout);
}

static int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed = 1;
	return cond;
}

/* a call's result against the expected code, both named on failure */
#define is(got, want, ...) do {						\
	long g_ = (got), w_ = (want);					\
	if (!ok(g_ == w_, __VA_ARGS__))					\
		printf("#   got %ld (%s), want %ld (%s)\n", g_,	\
		       mnx_errname(g_), w_, mnx_errname(w_));		\
} while (0)

static __attribute__((unused)) double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* a compat DC named after the program and its pid, or exits */
static __attribute__((unused)) int make_dc(const char *prog, int tasks, int procs, int sysprocs)
{
	dc_usr_t dc;
	long rc;

	memset(&dc, 0, sizeof(dc));
	snprintf(dc.dc_name, sizeof(dc.dc_name), "%.8s%d", prog,
		 (int)getpid() % 100000);
	dc.dc_dcid = ANY;
	dc.dc_nr_tasks = tasks;
	dc.dc_nr_procs = procs;
	dc.dc_nr_sysprocs = sysprocs;
	dc.dc_warn2proc = NONE;
	rc = mnx_dc_init(&dc);	/* the node id, as in 1.6 */
	if (rc < 0) {
		printf("Bail out! mnx_dc_init: %s (%ld)\n", mnx_errname(rc), rc);
		exit(1);
	}
	return dc.dc_dcid;
}

/*
 * Forks a child that waits to be bound and then runs body(its endpoint);
 * the parent binds it at p_nr. Returns the child's endpoint; *pid its pid.
 */
static __attribute__((unused)) long spawn_bound(int dcid, int p_nr, int (*body)(long ep), pid_t *pid)
{
	long ep;

	fflush(stdout);
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		ep = mnx_wait4bind_T(10000);
		_exit(ep < 0 ? 100 : body(ep));
	}
	ep = mnx_lclbind(dcid, *pid, p_nr);
	if (ep < 0)
		kill(*pid, SIGKILL);
	return ep;
}

/* the child's exit status (128 + signal when it was killed) */
static __attribute__((unused)) int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static __attribute__((unused)) long arg_iters(int argc, char **argv, long dflt)
{
	int i;

	for (i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "-n"))
			return atol(argv[i + 1]);
	return dflt;
}

#endif
