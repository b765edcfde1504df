// SPDX-License-Identifier: GPL-2.0
/*
 * rbench - remote M3-IPC figures through the proxies, to set beside
 * tcpbench's raw TCP between the same two guests:
 *
 *   rbench server DC SLOT
 *       bind at SLOT, print "endpoint=EP", answer every sendrec (a GETBUF
 *       request gets the address of a 4 MiB buffer) until the DC ends
 *   rbench rtt DC SLOT SERVER_EP SERVER_NODE ITERS
 *       ITERS sendrecs one after another (after 20 to warm up), against an
 *       rbench or rt_server: round trip median/p90/p99/min/max (us), rate
 *   rbench rate DC SLOT SERVER_EP SERVER_NODE ITERS CLIENTS
 *       CLIENTS processes (slots SLOT..SLOT+CLIENTS-1), ITERS sendrecs each,
 *       all in flight at once: aggregate one-way messages per second
 *   rbench vcopy DC SLOT SERVER_EP SERVER_NODE SIZE ITERS [--await-grant]
 *       vcopy SIZE bytes from the server's buffer into ours ITERS times: B/s.
 *       The server's node trusts no level a frame claims: it lets this
 *       client vcopy only once its admin gave the client's endpoint KERNEL
 *       there (m3ctl rmtbind ... --priv KERNEL). --await-grant prints
 *       "endpoint=EP" once bound and waits (30 s at most) for SIGUSR1, sent
 *       when that is done.
 *
 * Every process is bound at level KERNEL (KERNEL may sendrec to KERNEL and
 * is the only level allowed to vcopy). One JSON line per client command.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/libm3ipc.h"

#define GETBUF	7
#define BUF_SIZE (4 << 20)

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "rbench: %s: %s (%d)\n", what, strerror(err < 0 ? -err : err), err);
	exit(2);
}

static int bind_at(const char *dcname, int slot, int *dcid)
{
	int ep;

	*dcid = m3_dc_find(dcname);
	if (*dcid < 0)
		die("dc_find", *dcid);
	ep = m3_bind(*dcid, 0, slot);
	if (ep < 0)
		die("bind", ep);
	if (m3_setpriv(*dcid, ep, M3_PRIV_KERNEL) < 0)
		die("setpriv", -EPERM);
	return ep;
}

static int server(const char *dcname, int slot)
{
	char *buf = malloc(BUF_SIZE);
	struct m3_msg m;
	int dcid, ret;

	if (!buf)
		die("malloc", -ENOMEM);
	memset(buf, 0x5a, BUF_SIZE);
	printf("endpoint=%d\n", bind_at(dcname, slot, &dcid));
	fflush(stdout);
	for (;;) {
		ret = m3_receive(M3_ANY, &m, M3_TIMEOUT_FOREVER);
		if (ret == -ENOTCONN)
			return 0;
		if (ret < 0)
			continue;	/* a dead client, a node going down: keep serving */
		if (m.m_type == GETBUF) {
			uint64_t addr = (uintptr_t)buf, size = BUF_SIZE;

			memcpy(m.payload, &addr, 8);
			memcpy(m.payload + 8, &size, 8);
		}
		m3_reply(m.m_source, &m);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void client_setup(const char *dcname, int slot, int srv, int node)
{
	int dcid, ret;

	bind_at(dcname, slot, &dcid);
	ret = m3_rmtbind(dcid, srv, node, "rbench");
	if (ret < 0 && ret != -EBUSY)
		die("rmtbind", ret);
}

static int rtt(int srv, long iters)
{
	double *us = calloc(iters, sizeof(double)), t0, start = 0;
	struct m3_msg m;
	long i;
	int ret;

	for (i = 0; i < 20 + iters; i++) {
		memset(&m, 0, sizeof(m));
		m.m_type = 1;
		t0 = now_us();
		if (i == 20)
			start = t0;
		ret = m3_sendrec(srv, &m, 10000);
		if (ret < 0)
			die("sendrec", ret);
		if (i >= 20)
			us[i - 20] = now_us() - t0;
	}
	start = now_us() - start;
	qsort(us, iters, sizeof(double), cmp_double);
	printf("{\"case\":\"m3-rtt\",\"iters\":%ld,\"median_us\":%.1f,\"p90_us\":%.1f,"
	       "\"p99_us\":%.1f,\"min_us\":%.1f,\"max_us\":%.1f,\"rate\":%.1f}\n",
	       iters, us[iters / 2], us[iters * 9 / 10], us[iters * 99 / 100],
	       us[0], us[iters - 1], 2.0 * iters / (start / 1e6));
	return 0;
}

static int rate(const char *dcname, int slot, int srv, int node, long iters, int clients)
{
	int go[2], done[2], i, st, bad = 0;
	double t0;
	char c;

	if (pipe(go) || pipe(done))
		die("pipe", -errno);
	for (i = 0; i < clients; i++) {
		if (!fork()) {
			struct m3_msg m;
			long k;

			client_setup(dcname, slot + i, srv, node);
			if (write(done[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
				_exit(3);
			for (k = 0; k < iters; k++) {
				memset(&m, 0, sizeof(m));
				m.m_type = 1;
				if (m3_sendrec(srv, &m, 10000) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (i = 0; i < clients; i++)	/* every client bound and ready */
		if (read(done[0], &c, 1) != 1)
			die("client setup", -EPIPE);
	t0 = now_us();
	for (i = 0; i < clients; i++)
		if (write(go[1], "g", 1) != 1)
			die("go", -errno);
	for (i = 0; i < clients; i++) {
		wait(&st);
		bad += !WIFEXITED(st) || WEXITSTATUS(st);
	}
	t0 = now_us() - t0;
	if (bad)
		die("clients failed", -EIO);
	printf("{\"case\":\"m3-rate\",\"iters\":%ld,\"clients\":%d,\"rate\":%.1f}\n",
	       iters, clients, 2.0 * iters * clients / (t0 / 1e6));
	return 0;
}

static int vcopy(int me, int srv, long size, long iters)
{
	char *dst = malloc(size);
	uint64_t addr, rsize;
	struct m3_msg m;
	double t0;
	long i;
	int ret;

	if (!dst || size > BUF_SIZE)
		die("size", -EINVAL);
	memset(&m, 0, sizeof(m));
	m.m_type = GETBUF;
	ret = m3_sendrec(srv, &m, 10000);
	if (ret < 0)
		die("getbuf", ret);
	memcpy(&addr, m.payload, 8);
	memcpy(&rsize, m.payload + 8, 8);
	memset(dst, 0, size);
	t0 = now_us();
	for (i = 0; i < iters; i++) {
		ret = m3_vcopy(srv, (void *)(uintptr_t)addr, me, dst, size);
		if (ret < 0)
			die("vcopy", ret);
	}
	t0 = now_us() - t0;
	if (dst[0] != 0x5a || dst[size - 1] != 0x5a)
		die("copied bytes differ", -EIO);
	printf("{\"case\":\"m3-vcopy\",\"size\":%ld,\"iters\":%ld,\"value\":%.1f}\n",
	       size, iters, (double)size * iters / (t0 / 1e6));
	return 0;
}

/* until the harness says the server's node granted us (SIGUSR1) */
static void await_grant(void)
{
	struct timespec limit = { 30, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	printf("endpoint=%d\n", m3_getep(0));
	fflush(stdout);
	if (sigtimedwait(&set, NULL, &limit) != SIGUSR1)
		die("no grant within 30 s", -ETIMEDOUT);
}

int main(int argc, char **argv)
{
	int srv, node, slot;
	sigset_t usr1;

	/* blocked from the start, so an early SIGUSR1 waits for sigtimedwait() */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "server"))
		return server(argv[2], atoi(argv[3]));
	if (argc < 7)
		goto usage;
	slot = atoi(argv[3]);
	srv = atoi(argv[4]);
	node = atoi(argv[5]);
	if (!strcmp(argv[1], "rate") && argc == 8)
		return rate(argv[2], slot, srv, node, atol(argv[6]), atoi(argv[7]));
	client_setup(argv[2], slot, srv, node);
	if (!strcmp(argv[1], "rtt") && argc == 7)
		return rtt(srv, atol(argv[6]));
	if (!strcmp(argv[1], "vcopy") && (argc == 8 ||
	    (argc == 9 && !strcmp(argv[8], "--await-grant")))) {
		if (argc == 9)
			await_grant();
		return vcopy(m3_getep(0), srv, atol(argv[6]), atol(argv[7]));
	}
usage:
	fprintf(stderr, "usage: rbench server DC SLOT | rtt DC SLOT EP NODE ITERS |\n"
		"       rate DC SLOT EP NODE ITERS CLIENTS |\n"
		"       vcopy DC SLOT EP NODE SIZE ITERS [--await-grant]\n");
	return 2;
}
