// SPDX-License-Identifier: GPL-2.0
/*
 * c_sendrecv - the classic send/receive loop: the parent sends N messages
 * to a child bound with mnx_lclbind, which receives them from ANY and
 * checks each; then every MINIX message layout goes there and back
 * unchanged. Prints messages per second in the original's style.
 *
 *   c_sendrecv [-n N]
 */
#include <limits.h>

#include "c_tap.h"

static long iters;
static long parent_ep;

static int receiver(long ep)
{
	message m;
	long i, rc;

	for (i = 0; i < iters; i++) {
		rc = mnx_receive(ANY, (long)&m);
		if (rc != OK || m.m_source != parent_ep || m.m_type != i ||
		    m.m1_i1 != (int)(i * 3) || m.m1_i3 != -1) {
			printf("# receive %ld: rc %ld source %d type %d\n", i, rc,
			       m.m_source, m.m_type);
			return 1;
		}
	}
	/* echo the layout messages back as they came */
	for (i = 0; i < 9; i++) {
		if (mnx_receive(parent_ep, &m) != OK)
			return 2;
		if (mnx_send(parent_ep, &m) != OK)
			return 3;
	}
	return 0;
}

static void fill(message *m, int layout)
{
	struct timespec ts = { .tv_sec = 1700000000, .tv_nsec = 999999999 };

	memset(m, 0, sizeof(*m));
	m->m_type = 100 + layout;
	switch (layout) {
	case 1: m->m1_i1 = INT_MIN; m->m1_i2 = 2; m->m1_i3 = INT_MAX;
		m->m1_p1 = (char *)m; m->m1_p2 = NULL; m->m1_p3 = (char *)-1L; break;
	case 2: m->m2_i1 = 1; m->m2_i2 = 2; m->m2_i3 = 3; m->m2_l1 = LONG_MAX;
		m->m2_l2 = LONG_MIN; m->m2_p1 = (char *)0x1234; break;
	case 3: m->m3_i1 = 7; m->m3_i2 = -7; m->m3_p1 = (char *)m;
		strcpy(m->m3_ca1, "thirteen char"); break;
	case 4: m->m4_l1 = 1; m->m4_l2 = -2; m->m4_l3 = 3; m->m4_l4 = -4;
		m->m4_l5 = LONG_MAX; break;
	case 5: m->m5_c1 = SHRT_MIN; m->m5_c2 = SHRT_MAX; m->m5_i1 = 5;
		m->m5_i2 = -5; m->m5_l1 = 1; m->m5_l2 = 2; m->m5_l3 = LONG_MIN; break;
	case 6: memset(m->m6_ca1, 0x5a, sizeof(m->m6_ca1)); break;
	case 7: m->m7_i1 = 1; m->m7_i2 = 2; m->m7_i3 = 3; m->m7_i4 = 4;
		m->m7_p1 = (char *)m; m->m7_p2 = (char *)&ts; break;
	case 8: m->m8_i1 = 8; m->m8_i2 = 88; m->m8_p1 = (char *)1; m->m8_p2 = (char *)2;
		m->m8_p3 = (char *)3; m->m8_p4 = (char *)4; break;
	default: m->m9_i1 = 9; m->m9_l1 = -9; m->m9_t1 = ts; break;
	}
}

int main(int argc, char **argv)
{
	message m, back;
	long rc, child_ep, i;
	double t0, t1;
	int dcid, layout, same;
	pid_t pid;

	iters = arg_iters(argc, argv, 20000);
	plan(8);
	ok(sizeof(message) == 48 && sizeof(m.m_u) == 40,
	   "message is 48 bytes, its union 40 (x86_64)");

	dcid = make_dc("csr", 0, 8, 0);
	parent_ep = mnx_bind(dcid, 0);
	ok(parent_ep == 0, "the parent binds itself at slot 0 (endpoint 0)");
	child_ep = spawn_bound(dcid, 1, receiver, &pid);
	ok(child_ep > 0, "the receiver is bound with mnx_lclbind");

	memset(&m, 0, sizeof(m));
	t0 = now();
	for (i = 0, rc = OK; i < iters && rc == OK; i++) {
		m.m_type = (int)i;
		m.m1_i1 = (int)(i * 3);
		m.m1_i3 = -1;
		rc = mnx_send(child_ep, (long)&m);
	}
	t1 = now();
	is(rc, OK, "%ld sends to the receiver", iters);
	printf("SEND/RECEIVE: %ld messages in %.3f s, %.0f msg/s\n", iters,
	       t1 - t0, iters / (t1 - t0));

	for (layout = 1, same = 1; layout <= 9; layout++) {
		fill(&m, layout);
		back = m;
		if (mnx_send(child_ep, &m) != OK || mnx_receive(child_ep, &back) != OK)
			same = 0;
		else if (back.m_type != m.m_type || back.m_source != child_ep ||
			 memcmp(&back.m_u, &m.m_u, sizeof(m.m_u)))
			same = 0;
	}
	ok(same, "messages of layouts mess_1 .. mess_9 come back unchanged");
	is(reap(pid), 0, "the receiver got every message in order from the parent");
	is(mnx_unbind(dcid, parent_ep), OK, "the parent unbinds");
	is(mnx_dc_end(dcid), OK, "the DC ends");
	return tap_failed;
}
