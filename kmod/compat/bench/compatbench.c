// SPDX-License-Identifier: GPL-2.0
/*
 * compatbench - the message loops of ipcbench (m3-sendrec, m3-send) written
 * against the M3-IPC 1.6 compat header, so `m3lab bench ipc-local` shows
 * what the compat layer costs beside the native library, in the same run:
 *
 *   compatbench [-n ITERS] compat-sendrec|compat-send
 *
 * Same shape as ipcbench: two processes ping-pong a message ITERS times,
 * the figure is one-way messages per second. The last line is JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <m3ipc_compat.h>

static long iters = 20000;
static long parent;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, long rc)
{
	fprintf(stderr, "compatbench: %s: %s (%ld)\n", what, mnx_errname(rc), rc);
	exit(2);
}

static int serve_reply(void)
{
	message m;
	long i;

	for (i = 0; i < iters; i++) {
		if (mnx_receive(ANY, &m) != OK)
			return 1;
		if (mnx_reply(m.m_source, &m) != OK)
			return 2;
	}
	return 0;
}

static int echo_send(void)
{
	message m;
	long i;

	for (i = 0; i < iters; i++) {
		if (mnx_receive(parent, &m) != OK)
			return 1;
		if (mnx_send(parent, &m) != OK)
			return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int (*body)(void);
	const char *name;
	long child, rc, i;
	double t0, t1;
	dc_usr_t dc;
	message m;
	pid_t pid;
	int opt, st;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			return 2;
		iters = atol(optarg);
	}
	if (optind >= argc)
		return 2;
	name = argv[optind];
	if (!strcmp(name, "compat-sendrec"))
		body = serve_reply;
	else if (!strcmp(name, "compat-send"))
		body = echo_send;
	else
		return 2;

	memset(&dc, 0, sizeof(dc));
	snprintf(dc.dc_name, sizeof(dc.dc_name), "cbench%d", (int)getpid() % 100000);
	dc.dc_dcid = ANY;
	dc.dc_nr_procs = 4;
	dc.dc_warn2proc = NONE;
	rc = mnx_dc_init(&dc);
	if (rc < 0)
		die("mnx_dc_init", rc);
	parent = mnx_bind(dc.dc_dcid, 0);
	if (parent < 0)
		die("mnx_bind", parent);
	pid = fork();
	if (pid == 0) {
		if (mnx_wait4bind_T(10000) < 0)
			_exit(3);
		_exit(body());
	}
	child = mnx_lclbind(dc.dc_dcid, pid, 1);
	if (child < 0)
		die("mnx_lclbind", child);

	memset(&m, 0, sizeof(m));
	m.m_type = 1;
	t0 = now();
	for (i = 0; i < iters; i++) {
		if (body == serve_reply) {
			rc = mnx_sendrec(child, &m);
			if (rc != OK)
				die("mnx_sendrec", rc);
		} else {
			rc = mnx_send(child, &m);
			if (rc != OK)
				die("mnx_send", rc);
			rc = mnx_receive(child, &m);
			if (rc != OK)
				die("mnx_receive", rc);
		}
	}
	t1 = now();
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		die("child", EMOLSRCDIED);
	mnx_dc_end(dc.dc_dcid);
	printf("%s: %ld messages in %.3f s, %.0f msg/s\n", name, 2 * iters,
	       t1 - t0, 2.0 * iters / (t1 - t0));
	printf("{\"case\":\"%s\",\"unit\":\"msg/s\",\"value\":%.1f,\"iters\":%ld,"
	       "\"seconds\":%.6f,\"size\":%d}\n", name, 2.0 * iters / (t1 - t0),
	       iters, t1 - t0, (int)sizeof(message));
	return 0;
}
