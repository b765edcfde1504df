// SPDX-License-Identifier: GPL-2.0
/*
 * rbench - remote sendrec round-trip latency (raw numbers, no judgement).
 *
 *   rbench DC SLOT SERVER_EP SERVER_NODE [-n N] [-w WARMUP]
 *
 * Binds itself at SLOT of DC (level KERNEL), rmtbinds SERVER_EP of
 * SERVER_NODE (an rt_server from kmod/tests), does WARMUP then N sendrecs
 * of a 64-byte message and prints one JSON line:
 *   {"bench":"m3-remote-sendrec","n":N,"errors":E,"min_us":..,"p50_us":..,
 *    "p90_us":..,"p99_us":..,"max_us":..,"mean_us":..,"total_ms":..}
 * Exit status 0 if every sendrec succeeded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/libm3ipc.h"

#define RT_ECHO 1	/* tests/rt_common.h */

static uint64_t ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = 1000, warm = 50, dcid, ep, srv, node, i, c, errors = 0;
	uint64_t *lat, t0, sum = 0, start;
	struct m3_msg m;

	if (argc < 5) {
		fprintf(stderr, "usage: rbench DC SLOT SERVER_EP SERVER_NODE [-n N] [-w WARMUP]\n");
		return 2;
	}
	optind = 5;
	while ((c = getopt(argc, argv, "n:w:")) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 'w')
			warm = atoi(optarg);
		else
			return 2;
	}
	if (n <= 0 || warm < 0)
		return 2;
	dcid = m3_dc_find(argv[1]);
	if (dcid < 0) {
		fprintf(stderr, "rbench: dc %s: %d\n", argv[1], dcid);
		return 1;
	}
	ep = m3_bind(dcid, 0, atoi(argv[2]));
	srv = atoi(argv[3]);
	node = atoi(argv[4]);
	if (ep < 0 || m3_setpriv(dcid, ep, M3_PRIV_KERNEL) < 0 ||
	    m3_rmtbind(dcid, srv, node, "rbench-srv") < 0) {
		fprintf(stderr, "rbench: bind/setpriv/rmtbind failed\n");
		return 1;
	}
	lat = calloc(n, sizeof(*lat));
	if (!lat)
		return 1;
	for (i = 0; i < warm; i++) {
		memset(&m, 0, sizeof(m));
		m.m_type = RT_ECHO;
		m3_sendrec(srv, &m, 10000);
	}
	start = ns();
	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		m.m_type = RT_ECHO;
		t0 = ns();
		if (m3_sendrec(srv, &m, 10000) < 0)
			errors++;
		lat[i] = ns() - t0;
		sum += lat[i];
	}
	t0 = ns() - start;
	qsort(lat, n, sizeof(*lat), cmp);
	printf("{\"bench\":\"m3-remote-sendrec\",\"node\":%d,\"n\":%d,\"errors\":%d,"
	       "\"min_us\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
	       "\"max_us\":%.1f,\"mean_us\":%.1f,\"total_ms\":%.1f}\n",
	       node, n, errors, lat[0] / 1e3, lat[n / 2] / 1e3,
	       lat[n * 9 / 10] / 1e3, lat[n * 99 / 100] / 1e3, lat[n - 1] / 1e3,
	       sum / 1e3 / n, t0 / 1e6);
	return errors ? 1 : 0;
}
