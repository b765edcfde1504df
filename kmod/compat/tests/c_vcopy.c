// SPDX-License-Identifier: GPL-2.0
/*
 * c_vcopy - the vcopy loop: a server publishes a buffer's address in a
 * message; the client copies blocks from it (and into it) with mnx_vcopy
 * and checks every byte. Prints the bandwidth per block size.
 *
 *   c_vcopy [-n N]
 */
#include <stdint.h>

#include "c_tap.h"

#define BUF (1 << 20)

static long iters;
static long client;
static unsigned char sbuf[BUF];

static unsigned char pattern(long i)
{
	return (unsigned char)(i * 131 + 7);
}

static int server(long ep)
{
	message m;
	long i;

	for (i = 0; i < BUF; i++)
		sbuf[i] = pattern(i);
	memset(&m, 0, sizeof(m));
	m.m1_p1 = (char *)sbuf;
	m.m1_i1 = BUF;
	if (mnx_send_T(client, &m, 10000) != OK)
		return 1;
	/* the client wrote its inverted pattern to sbuf: check it */
	if (mnx_receive_T(client, &m, 60000) != OK)
		return 2;
	for (i = 0; i < m.m1_i2; i++)
		if (sbuf[i] != (unsigned char)~pattern(i))
			return 3;
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char cbuf[BUF];
	static const int sizes[] = { 1024, 4096, 65536, BUF };
	message m;
	long srv, rc, i, k, bad;
	char *remote;
	double t0, t1;
	unsigned int s;
	int dcid;
	pid_t pid;

	iters = arg_iters(argc, argv, 200);
	plan(10);
	dcid = make_dc("cvcp", 0, 8, 0);
	client = mnx_bind(dcid, 0);
	ok(client == 0, "the client binds itself (slot 0: endpoint 0)");
	srv = spawn_bound(dcid, 1, server, &pid);
	ok(srv > 0, "the server is bound");
	rc = mnx_receive_T(srv, &m, 10000);
	ok(rc == OK && m.m1_i1 == BUF, "the server publishes its buffer's address");
	remote = m.m1_p1;

	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		long n = sizes[s] >= 65536 ? iters / 4 + 1 : iters;

		t0 = now();
		for (k = 0, rc = OK; k < n && rc == OK; k++)
			rc = mnx_vcopy(srv, remote, SELF, cbuf, sizes[s]);
		t1 = now();
		for (i = 0, bad = 0; i < sizes[s]; i++)
			bad += cbuf[i] != pattern(i);
		printf("VCOPY %7d bytes: %ld copies in %.3f s, %.1f MB/s\n", sizes[s],
		       n, t1 - t0, (double)sizes[s] * n / (t1 - t0) / 1e6);
		ok(rc == OK && !bad, "%ld copies of %d bytes from the server, every byte right", n, sizes[s]);
	}

	for (i = 0; i < BUF; i++)
		cbuf[i] = (unsigned char)~pattern(i);
	is(mnx_vcopy(SELF, (long)cbuf, srv, (long)remote, BUF), OK, "1 MiB copied into the server");
	is(mnx_vcopy(srv, (void *)16, SELF, cbuf, 64), EMOLFAULT, "from an unmapped address: EMOLFAULT");
	memset(&m, 0, sizeof(m));
	m.m1_i2 = BUF;
	rc = mnx_send_T(srv, &m, 10000);
	is(reap(pid) + (rc ? 100 : 0), 0, "the server found the client's bytes in its buffer");
	mnx_dc_end(dcid);
	return tap_failed;
}
