// SPDX-License-Identifier: GPL-2.0
/*
 * c_sendrec - the classic client/server loop: a client sendrecs N
 * requests; the server answers with receive + send (the 1.6 style), then
 * with rcvrqst + reply. Prints messages per second as the original did.
 *
 *   c_sendrec [-n N]
 */
#include "c_tap.h"

static long iters;

/* 1.6 style: receive from ANY, answer with a plain send */
static int server_send(long ep)
{
	message m;
	long i;

	for (i = 0; i < iters; i++) {
		if (mnx_receive(ANY, (long)&m) != OK)
			return 1;
		m.m2_l1 = m.m2_l1 * 2;
		m.m_type = OK;
		if (mnx_send(m.m_source, (long)&m) != OK)
			return 2;
	}
	return 0;
}

static int server_reply(long ep)
{
	message m;
	long i;

	for (i = 0; i < iters; i++) {
		if (mnx_rcvrqst_T(&m, 10000) != OK)
			return 1;
		m.m2_l1 = m.m2_l1 + 1;
		if (mnx_reply_T(m.m_source, &m, 1000) != OK)
			return 2;
	}
	return 0;
}

static long client_loop(long server, long (*next)(long), const char *name)
{
	message m;
	double t0, t1;
	long i, rc = OK;

	t0 = now();
	for (i = 0; i < iters && rc == OK; i++) {
		memset(&m, 0, sizeof(m));
		m.m_type = 7;
		m.m2_l1 = i;
		rc = mnx_sendrec_T(server, (long)&m, 10000);
		if (rc == OK && (m.m_source != server || m.m2_l1 != next(i)))
			rc = -1000 - i;
	}
	t1 = now();
	printf("%s: %ld sendrec in %.3f s, %.0f msg/s\n", name, iters,
	       t1 - t0, 2.0 * iters / (t1 - t0));
	return rc;
}

static long twice(long i)
{
	return i * 2;
}

static long plus_one(long i)
{
	return i + 1;
}

int main(int argc, char **argv)
{
	long client, server;
	proc_usr_t proc;
	int dcid;
	pid_t pid;

	iters = arg_iters(argc, argv, 20000);
	plan(9);
	dcid = make_dc("csrq", 0, 8, 0);
	client = mnx_bind(dcid, 0);
	ok(client == 0, "the client binds itself (slot 0: endpoint 0)");

	server = spawn_bound(dcid, 1, server_send, &pid);
	ok(server > 0, "server bound (receive + send)");
	is(client_loop(server, twice, "SENDREC/SEND"), OK,
	   "%ld requests answered with a plain send, each with its own answer", iters);
	is(reap(pid), 0, "the server saw every request");
	ok(mnx_getprocinfo(dcid, 1, &proc) == OK && proc.p_rts_flags == SLOT_FREE,
	   "the server's slot is free once it exited");

	server = spawn_bound(dcid, 2, server_reply, &pid);
	ok(server > 0, "server bound (rcvrqst + reply)");
	is(client_loop(server, plus_one, "SENDREC/REPLY"), OK,
	   "%ld requests answered with reply", iters);
	is(reap(pid), 0, "the server saw every request");
	is(mnx_dc_end(dcid), OK, "the DC ends");
	return tap_failed;
}
