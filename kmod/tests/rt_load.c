// SPDX-License-Identifier: GPL-2.0
/*
 * rt_load - one client of the fault suite's workload: sendrecs to one
 * remote rt_server for a while, with no timeout of its own (a call must
 * end because the module ends it, never because the caller gave up), and
 * one history line per call for the lab's checker (harness/faults/history.ts):
 *
 *   rt_load DC SLOT SERVER_EP SERVER_NODE DURATION_MS
 *
 *   op CLIENT SEQ START_MS DURATION_MS RESULT REPLY
 *
 * CLIENT is SLOT; START_MS counts from the program's start (CLOCK_MONOTONIC);
 * RESULT is 0 or a negative errno; REPLY is what the server answered minus
 * what was sent (1 for a right answer: the request carries SLOT and SEQ, so a
 * reply meant for another request or client shows), or "-" without a reply.
 * Between two failed calls it waits 50 ms, so a node that is down is not
 * hammered. The last line is "done OPS".
 */
#include "rt_common.h"

int main(int argc, char **argv)
{
	long t_start, t_end, t0, dt;
	int dcid, srv, snode, slot, ret;
	int64_t seq, sent;
	struct m3_msg m;

	if (argc != 6) {
		fprintf(stderr, "usage: rt_load DC SLOT SERVER_EP SERVER_NODE DURATION_MS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	slot = atoi(argv[2]);
	rt_bind(argv[1], slot, M3_PRIV_KERNEL, &dcid);
	srv = atoi(argv[3]);
	snode = atoi(argv[4]);
	ret = m3_rmtbind(dcid, srv, snode, "rt_server");
	if (ret)
		bail("rmtbind", ret);
	t_start = now_ms();
	t_end = t_start + atol(argv[5]);
	for (seq = 1; now_ms() < t_end; seq++) {
		memset(&m, 0, sizeof(m));
		m.m_type = RT_ECHO;
		sent = ((int64_t)slot << 32) | seq;
		*rt_w(&m, 0) = sent;
		t0 = now_ms();
		ret = m3_sendrec(srv, &m, M3_TIMEOUT_FOREVER);
		dt = now_ms() - t0;
		if (ret == 0 && m.m_source == srv)
			printf("op %d %lld %ld %ld 0 %lld\n", slot, (long long)seq,
			       t0 - t_start, dt, (long long)(*rt_w(&m, 0) - sent));
		else if (ret == 0)	/* an answer from someone else */
			printf("op %d %lld %ld %ld 0 from%d\n", slot, (long long)seq,
			       t0 - t_start, dt, m.m_source);
		else
			printf("op %d %lld %ld %ld %d -\n", slot, (long long)seq,
			       t0 - t_start, dt, ret);
		if (ret) {
			msleep(50);
			/* a node down drops the server's descriptor: bind it again
			 * (until then a call finds its slot free: -EPIPE) */
			m3_rmtbind(dcid, srv, snode, "rt_server");
		}
	}
	printf("done %lld\n", (long long)seq - 1);
	return 0;
}
