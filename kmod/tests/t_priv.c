// SPDX-License-Identifier: GPL-2.0
/*
 * t_priv - every privilege rule over the full 5x5 level matrix.
 *   NOTIFY : src in {HW, KERNEL}, dst in {KERNEL, TASK}, src < dst
 *   SEND   : src in {KERNEL, TASK, SERVER}, src <= dst
 *   SENDREC: src USER -> dst < USER; otherwise src >= dst
 *   RECEIVE: src < USER;  VCOPY: src == KERNEL
 * Calls use timeout 0 against an idle peer: allowed -> -EAGAIN (notify: 0),
 * forbidden -> -EACCES.
 */
#include "tap.h"

static const char *const lv[] = { "HARDWARE", "KERNEL", "TASK", "SERVER", "USER" };

static int fn_idle(void *arg)
{
	for (;;)
		pause();
	return 0;
}

int main(void)
{
	int dc, me, s, d;
	struct kid k;
	struct m3_msg m;
	char c = 1;

	dc = setup_dc("t_priv", 0, 4, 0);
	kid_dc = dc;
	me = bind_self(dc, M3_PRIV_USER);
	is(m3_setpriv(dc, me, M3_PRIV_USER), 0, "setpriv");
	{
		struct m3_getep g = { 0 };

		m3_unbind(dc, me);
		me = m3_bind(dc, 0, M3_ANY_SLOT);
		m3_getep_info(&g);
		is(g.priv, M3_PRIV_USER, "a newly bound process is USER");
	}
	kid_start(&k, M3_PRIV_USER, fn_idle, NULL);
	kid_go(&k);
	msg_fill(&m, 1, "p");

	for (s = 0; s <= 4; s++) {
		for (d = 0; d <= 4; d++) {
			int send_ok = s >= 1 && s <= 3 && s <= d;
			int sr_ok = s == 4 ? d < 4 : s >= d;
			int nt_ok = s <= 1 && d >= 1 && d <= 2 && s < d;

			m3_setpriv(dc, me, s);
			m3_setpriv(dc, k.ep, d);
			is(m3_send(k.ep, &m, 0), send_ok ? -EAGAIN : -EACCES,
			   "SEND %s -> %s %s", lv[s], lv[d],
			   send_ok ? "allowed" : "refused");
			is(m3_sendrec(k.ep, &m, 0), sr_ok ? -EAGAIN : -EACCES,
			   "SENDREC %s -> %s %s", lv[s], lv[d],
			   sr_ok ? "allowed" : "refused");
			is(m3_notify(k.ep), nt_ok ? 0 : -EACCES,
			   "NOTIFY %s -> %s %s", lv[s], lv[d],
			   nt_ok ? "allowed" : "refused");
		}
	}
	for (s = 0; s <= 4; s++) {
		m3_setpriv(dc, me, s);
		is(m3_receive(M3_ANY, &m, 0), s < 4 ? -EAGAIN : -EACCES,
		   "RECEIVE as %s %s", lv[s], s < 4 ? "allowed" : "refused");
		is(m3_rcvrqst(M3_ANY, &m, 0), s < 4 ? -EAGAIN : -EACCES,
		   "RCVRQST as %s %s", lv[s], s < 4 ? "allowed" : "refused");
		is(m3_vcopy(M3_SELF, &c, M3_SELF, &c, 1), s == 1 ? 0 : -EACCES,
		   "VCOPY as %s %s", lv[s], s == 1 ? "allowed" : "refused");
	}
	is(m3_setpriv(dc, me, 5), -EINVAL, "setpriv level 5: -EINVAL");
	is(m3_setpriv(dc, me, -1), -EINVAL, "setpriv level -1: -EINVAL");
	kid_kill(&k, SIGKILL);
	m3_dc_end(dc);
	return tap_done();
}
