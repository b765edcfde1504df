// SPDX-License-Identifier: GPL-2.0
/*
 * tcpbench - the raw TCP baselines for remote M3-IPC, run between the same
 * two guests over the same LAN as the proxies:
 *
 *   tcpbench server PORT                    serve clients until killed
 *   tcpbench rtt HOST PORT ITERS [SIZE]     SIZE-byte ping-pong (default 1)
 *   tcpbench pipeline HOST PORT ITERS SIZE WINDOW
 *                                           WINDOW requests in flight
 *   tcpbench stream HOST PORT BYTES         one-way bulk transfer
 *
 * Each client prints one JSON line: rtt gives the median and p90 round trip
 * in microseconds and the one-way message rate; pipeline the message rate;
 * stream the bandwidth in bytes per second (acknowledged by the server
 * after the last byte, so it counts delivered data).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MODE_ECHO = 'E', MODE_STREAM = 'S' };

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
	fprintf(stderr, "tcpbench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int readn(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t r = read(fd, p, len);

		if (r <= 0)
			return -1;
		p += r;
		len -= r;
	}
	return 0;
}

static int writen(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t r = write(fd, p, len);

		if (r <= 0)
			return -1;
		p += r;
		len -= r;
	}
	return 0;
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A connection starts with a mode byte and, for echo, the message size. */
static void serve(int fd)
{
	static char buf[1 << 16];
	uint32_t size;
	uint64_t total = 0;
	char mode;
	ssize_t r;

	nodelay(fd);
	if (readn(fd, &mode, 1))
		return;
	if (mode == MODE_ECHO) {
		if (readn(fd, &size, sizeof(size)) || size == 0 || size > sizeof(buf))
			return;
		while (!readn(fd, buf, size))
			if (writen(fd, buf, size))
				return;
	} else if (mode == MODE_STREAM) {
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			total += r;
		writen(fd, &total, sizeof(total));
	}
}

static int server(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 16))
		die("bind/listen");
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int c = accept(s, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		if (!fork()) {
			close(s);
			serve(c);
			_exit(0);
		}
		close(c);
	}
}

static int connect_to(const char *host, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1)
		die("address");
	if (connect(s, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	nodelay(s);
	return s;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int echo_start(const char *host, int port, uint32_t size)
{
	int s = connect_to(host, port);
	char mode = MODE_ECHO;

	if (writen(s, &mode, 1) || writen(s, &size, sizeof(size)))
		die("handshake");
	return s;
}

static int rtt(const char *host, int port, long iters, uint32_t size)
{
	int s = echo_start(host, port, size);
	double *us = calloc(iters, sizeof(double)), t0, start;
	char *buf = calloc(1, size);
	long i;

	for (i = 0; i < 20; i++)	/* warm-up */
		if (writen(s, buf, size) || readn(s, buf, size))
			die("warm-up");
	start = now_us();
	for (i = 0; i < iters; i++) {
		t0 = now_us();
		if (writen(s, buf, size) || readn(s, buf, size))
			die("ping-pong");
		us[i] = now_us() - t0;
	}
	start = now_us() - start;
	qsort(us, iters, sizeof(double), cmp_double);
	printf("{\"case\":\"tcp-rtt\",\"size\":%u,\"iters\":%ld,\"median_us\":%.1f,"
	       "\"p90_us\":%.1f,\"min_us\":%.1f,\"rate\":%.1f}\n", size, iters,
	       us[iters / 2], us[iters * 9 / 10], us[0], 2.0 * iters / (start / 1e6));
	return 0;
}

static int pipeline(const char *host, int port, long iters, uint32_t size, long window)
{
	int s = echo_start(host, port, size);
	char *buf = calloc(1, size);
	long sent = 0, got = 0;
	double t0 = now_us();

	while (got < iters) {
		while (sent < iters && sent - got < window) {
			if (writen(s, buf, size))
				die("write");
			sent++;
		}
		if (readn(s, buf, size))
			die("read");
		got++;
	}
	t0 = now_us() - t0;
	printf("{\"case\":\"tcp-pipeline\",\"size\":%u,\"iters\":%ld,\"window\":%ld,"
	       "\"rate\":%.1f}\n", size, iters, window, 2.0 * iters / (t0 / 1e6));
	return 0;
}

static int stream(const char *host, int port, uint64_t bytes)
{
	int s = connect_to(host, port);
	static char buf[1 << 16];
	uint64_t left = bytes, total;
	char mode = MODE_STREAM;
	double t0 = now_us();

	if (writen(s, &mode, 1))
		die("handshake");
	while (left) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);

		if (writen(s, buf, n))
			die("write");
		left -= n;
	}
	shutdown(s, SHUT_WR);
	if (readn(s, &total, sizeof(total)) || total != bytes)
		die("server's count");
	t0 = now_us() - t0;
	printf("{\"case\":\"tcp-stream\",\"bytes\":%llu,\"value\":%.1f}\n",
	       (unsigned long long)bytes, bytes / (t0 / 1e6));
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]));
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "rtt"))
		return rtt(argv[2], atoi(argv[3]), atol(argv[4]), argc == 6 ? atoi(argv[5]) : 1);
	if (argc == 7 && !strcmp(argv[1], "pipeline"))
		return pipeline(argv[2], atoi(argv[3]), atol(argv[4]), atoi(argv[5]), atol(argv[6]));
	if (argc == 5 && !strcmp(argv[1], "stream"))
		return stream(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 0));
	fprintf(stderr, "usage: tcpbench server PORT | rtt HOST PORT ITERS [SIZE] |\n"
		"       pipeline HOST PORT ITERS SIZE WINDOW | stream HOST PORT BYTES\n");
	return 2;
}
