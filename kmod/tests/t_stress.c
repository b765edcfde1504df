// SPDX-License-Identifier: GPL-2.0
/*
 * t_stress - everything at once for a few seconds: 2 servers on
 * reply_receive, 6 sendrec clients with random timeouts (kill -9'd and
 * replaced every 100 ms), two TASK processes sending to / receiving from
 * each other (deadlock races), a KERNEL notifier. Every call must return
 * one of the errors its situation allows, replies must match requests,
 * nothing may hang, and nothing may stay bound at the end.
 */
#include "tap.h"

#define DUR 3000

static int dc;
static const int tmos[] = { 0, 1, 5, 50, 1000 };

static int fn_server(void *arg)
{
	long end = now_ms() + kid_args[2];
	struct m3_msg m, r;
	int ret, rr, served = 0;

	ret = m3_rcvrqst(M3_ANY, &m, 50);
	while (now_ms() < end) {
		if (!ret) {
			served++;
			r = m;
			r.m_type = m.m_type + 1;
			ret = m3_reply_receive(m.m_source, &r, M3_ANY, &m, 50,
					       M3_RR_RCVRQST, &rr);
			if (rr && rr != -EPIPE && rr != -ESTALE && rr != -EBADE)
				return -7000 + rr;
		} else if (ret == -ETIMEDOUT) {
			ret = m3_rcvrqst(M3_ANY, &m, 50);
		} else {
			return -7100 + ret;
		}
	}
	return served;
}

static int fn_client(void *arg)
{
	long end = now_ms() + kid_args[2];
	unsigned int seed = getpid();
	int ret, s, n = 0, good = 0;
	struct m3_msg m;

	while (now_ms() < end) {
		s = kid_args[rand_r(&seed) & 1];
		memset(&m, 0, sizeof(m));
		m.m_type = ++n;
		ret = m3_sendrec(s, &m, tmos[rand_r(&seed) % 5]);
		if (!ret) {
			if (m.m_type != n + 1 || m.m_source != s)
				return -7200;
			good++;
		} else if (ret != -ETIMEDOUT && ret != -EAGAIN && ret != -EPIPE) {
			return -7300 + ret;
		}
	}
	return good;
}

static int fn_peer(void *arg)
{
	long end = now_ms() + kid_args[2];
	unsigned int seed = getpid();
	int ret, n = 0;
	struct m3_msg m;

	while (now_ms() < end) {
		memset(&m, 0, sizeof(m));
		if (rand_r(&seed) & 1) {
			ret = m3_send(kid_args[0], &m, tmos[rand_r(&seed) % 4]);
			if (ret && ret != -ETIMEDOUT && ret != -EAGAIN &&
			    ret != -EDEADLK && ret != -EPIPE)
				return -7400 + ret;
		} else {
			ret = m3_receive(M3_ANY, &m, tmos[rand_r(&seed) % 4]);
			if (ret && ret != -ETIMEDOUT && ret != -EAGAIN)
				return -7500 + ret;
			if (!ret && m.m_source != kid_args[0] &&
			    !(m.m_source == kid_args[1] &&
			      m.m_type == M3_MTYPE_NOTIFY))
				return -7600;
		}
		n += !ret;
	}
	return n;
}

static int fn_notifier(void *arg)
{
	long end = now_ms() + kid_args[2];
	int ret, n = 0;

	while (now_ms() < end) {
		ret = m3_notify(kid_args[n & 1]);
		if (ret && ret != -EPIPE)
			return -7700 + ret;
		if (!(++n % 64))
			msleep(1);
	}
	return n;
}

int main(void)
{
	struct kid srv[2], cl[6], pa, pb, nt;
	struct m3_dc_info ci;
	unsigned int seed = 1;
	long end;
	int i, r, kills = 0, bad;

	alarm(DUR / 1000 + 60);
	dc = setup_dc("t_stress", 4, 32, 0);
	kid_dc = dc;
	for (i = 0; i < 2; i++)
		kid_start(&srv[i], M3_PRIV_SERVER, fn_server, NULL);
	for (i = 0; i < 6; i++)
		kid_start(&cl[i], M3_PRIV_USER, fn_client, NULL);
	kid_start(&pa, M3_PRIV_TASK, fn_peer, NULL);
	kid_start(&pb, M3_PRIV_TASK, fn_peer, NULL);
	kid_start(&nt, M3_PRIV_KERNEL, fn_notifier, NULL);

	for (i = 0; i < 2; i++)
		kid_go3(&srv[i], 0, 0, DUR + 300);
	for (i = 0; i < 6; i++)
		kid_go3(&cl[i], srv[0].ep, srv[1].ep, DUR);
	kid_go3(&pa, pb.ep, nt.ep, DUR);
	kid_go3(&pb, pa.ep, nt.ep, DUR);
	kid_go3(&nt, pa.ep, pb.ep, DUR);

	end = now_ms() + DUR - 500;
	while (now_ms() < end) {
		msleep(100);
		i = rand_r(&seed) % 6;
		kid_kill(&cl[i], SIGKILL);
		kills++;
		kid_start(&cl[i], M3_PRIV_USER, fn_client, NULL);
		kid_go3(&cl[i], srv[0].ep, srv[1].ep, 400);
	}
	diag("killed and replaced %d clients", kills);

	bad = 0;
	for (i = 0; i < 6; i++) {
		r = kid_result(&cl[i]);
		if (r < 0) {
			bad++;
			diag("client %d: %s", i, errname(r));
		}
	}
	is(bad, 0, "every client saw only allowed results and matching replies");
	for (i = 0; i < 2; i++) {
		r = kid_result(&srv[i]);
		ok(r > 0, "server %d served %d requests without unexpected errors", i, r);
	}
	r = kid_result(&pa);
	ok(r >= 0, "peer A: only allowed results (%d messages)", r);
	r = kid_result(&pb);
	ok(r >= 0, "peer B: only allowed results (%d messages)", r);
	r = kid_result(&nt);
	ok(r > 0, "notifier: %d notifications, never blocked", r);
	for (i = 0; i < 100; i++) {
		m3_dc_info(dc, &ci);
		if (!ci.nr_bound)
			break;
		msleep(10);
	}
	is(ci.nr_bound, 0, "nothing left bound after everyone exited");
	m3_dc_end(dc);
	return tap_done();
}
