// SPDX-License-Identifier: GPL-2.0
/*
 * c_rules DCID - the 1.6 calls in a DC an admin made with m3ctl dc-init:
 * with --compat a bound process starts at KERNEL_PRIV and may receive,
 * send and vcopy, and only system processes notify; without it today's
 * rules hold: a process starts at USER_PRIV, which may do none of that.
 */
#include "c_tap.h"

static long parent;
static int compat;
static char word[8] = "1.6 api";

static int user_calls(long ep)
{
	long want = compat ? EMOLTIMEDOUT : EMOLACCES;
	message m;
	char buf[8];

	memset(&m, 0, sizeof(m));
	/* compat: allowed, and nothing arrives or is taken within 100 ms */
	if (mnx_receive_T(ANY, &m, 100) != want)
		return 1;
	if (mnx_send_T(parent, &m, 100) != want)
		return 2;
	memset(buf, 0, sizeof(buf));
	if (mnx_vcopy(parent, word, SELF, buf, sizeof(buf)) != (compat ? OK : EMOLACCES))
		return 3;
	if (compat && memcmp(buf, word, sizeof(buf)))
		return 4;
	/* slot 1 is no system process in either DC */
	if (mnx_notify(parent) != EMOLACCES)
		return 5;
	return 0;
}

int main(int argc, char **argv)
{
	proc_usr_t p;
	dc_usr_t dc;
	long ep;
	int dcid;
	pid_t pid;

	if (argc != 2) {
		fprintf(stderr, "usage: c_rules DCID\n");
		return 2;
	}
	dcid = atoi(argv[1]);
	plan(6);
	ok(mnx_getdcinfo(dcid, &dc) == OK, "DC %d exists", dcid);
	compat = !!(dc.dc_flags & 0x4);
	printf("# DC %d (%s) is %s\n", dcid, dc.dc_name, compat ? "in compat mode" : "ordinary");
	parent = mnx_bind(dcid, 0);
	/* the original's numbering (first endpoint = slot) in a compat DC
	 * only; an ordinary DC keeps the module's (generation << 16) */
	ok(compat ? parent == 0 : parent >= 0x10000,
	   "slot 0's endpoint is %ld: %s", parent,
	   compat ? "the slot number, as in 1.6" : "the module's numbering");
	ok(parent >= 0 && mnx_getprocinfo(dcid, 0, &p) == OK &&
	   p.p_priv == (compat ? KERNEL_PRIV : USER_PRIV),
	   "a process bound there starts at %s", compat ? "KERNEL_PRIV" : "USER_PRIV");
	ep = spawn_bound(dcid, 1, user_calls, &pid);
	ok(ep > 0, "a child is bound with mnx_lclbind");
	is(reap(pid), 0, compat ? "the child receives, sends and vcopies; its notify: EMOLACCES" :
	   "the child's receive, send, vcopy and notify: EMOLACCES");
	is(mnx_unbind(dcid, parent), OK, "the parent unbinds");
	return tap_failed;
}
