// SPDX-License-Identifier: GPL-2.0
/*
 * t_pairs - N client/server pairs x M sendrec messages, with clients and
 * servers killed (SIGKILL) at random and replaced while they talk:
 *
 *   t_pairs [PAIRS [MSGS [KILLS [SEED]]]]        (default 8 2000 24 1)
 *
 * A client whose server is killed must wake with -EPIPE (destination died);
 * a server whose client is killed must see its reply refused (-EPIPE) or
 * the request vanish, never a wrong delivery. Every reply must answer the
 * request it was sent for. At the end dc_end wakes every server, every
 * process is reaped within the deadline (nothing stuck) and the DC holds
 * nothing bound. Odd pairs' servers answer with reply_receive (one call
 * replies and waits for the next request), even pairs' with receive and
 * reply, so both server loops meet the kills.
 */
#include "tap.h"

#define DEADLINE_S 120

static int npairs = 8, nmsgs = 2000, nkills = 24;
static unsigned int seed = 1;

/* server: receive + reply until unbound by dc_end */
static int fn_server(void *arg)
{
	struct m3_msg m;
	int ret, served = 0;

	for (;;) {
		ret = m3_receive(M3_ANY, &m, M3_TIMEOUT_FOREVER);
		if (ret == -ENOTCONN)
			return served;		/* dc_end: the normal way out */
		if (ret < 0)
			return -1000 + ret;
		m.m_type += 1;
		ret = m3_reply(m.m_source, &m);
		/* the client may have been killed since it sent the request */
		if (ret < 0 && ret != -EPIPE && ret != -ESTALE && ret != -EBADE)
			return -2000 + ret;
		served++;
	}
}

/* server: reply to the last request and receive the next in one call */
static int fn_server_rr(void *arg)
{
	int ret, rr = 0, served = 0, src = M3_NONE;
	struct m3_msg m;

	memset(&m, 0, sizeof(m));
	for (;;) {
		ret = m3_reply_receive(src, &m, M3_ANY, &m, M3_TIMEOUT_FOREVER,
				       0, &rr);
		if (ret == -ENOTCONN)
			return served;		/* dc_end: the normal way out */
		/* the client may have been killed since it sent the request */
		if (src != M3_NONE && rr < 0 && rr != -EPIPE && rr != -ESTALE &&
		    rr != -EBADE)
			return -2000 + rr;
		if (ret < 0)
			return -1000 + ret;
		m.m_type += 1;
		src = m.m_source;
		served++;
	}
}

/*
 * client: M sendrecs to kid_args[0]; returns messages done (> 0 when all
 * M completed), or -EPIPE when the server died under it (allowed).
 */
static int fn_client(void *arg)
{
	struct m3_msg m;
	int i, ret;

	for (i = 0; i < kid_args[1]; i++) {
		memset(&m, 0, sizeof(m));
		m.m_type = 2 * i;
		memcpy(m.payload, &i, sizeof(i));
		ret = m3_sendrec(kid_args[0], &m, M3_TIMEOUT_FOREVER);
		if (ret == -EPIPE || ret == -ESTALE)
			return -EPIPE;
		if (ret < 0)
			return -3000 + ret;
		if (m.m_type != 2 * i + 1 || m.m_source != kid_args[0] ||
		    memcmp(m.payload, &i, sizeof(i)))
			return -4000;		/* a reply to another request */
	}
	return i;
}

struct pair {
	struct kid srv, cl;
	int cl_alive, srv_alive;
	int rr;			/* the server uses reply_receive */
};

static void start_server(struct pair *p)
{
	kid_start(&p->srv, M3_PRIV_SERVER, p->rr ? fn_server_rr : fn_server, NULL);
	kid_go(&p->srv);
	p->srv_alive = 1;
}

static void start_client(struct pair *p)
{
	kid_start(&p->cl, M3_PRIV_USER, fn_client, NULL);
	kid_go2(&p->cl, p->srv.ep, nmsgs);
	p->cl_alive = 1;
}

int main(int argc, char **argv)
{
	int i, r, dc, kills_srv = 0, kills_cl = 0, done = 0, cut = 0, bad = 0;
	int alive, stuck = 0;
	struct m3_dc_info ci;
	struct pair *pairs;
	long t0;

	if (argc > 1)
		npairs = atoi(argv[1]);
	if (argc > 2)
		nmsgs = atoi(argv[2]);
	if (argc > 3)
		nkills = atoi(argv[3]);
	if (argc > 4)
		seed = atoi(argv[4]);
	if (npairs < 1 || npairs > 64 || nmsgs < 1 || nkills < 0)
		bail("usage: t_pairs [PAIRS 1..64 [MSGS [KILLS [SEED]]]]", -EINVAL);
	alarm(DEADLINE_S);
	pairs = calloc(npairs, sizeof(*pairs));
	dc = setup_dc("t_pairs", 0, 4 * npairs + 8, 0);
	kid_dc = dc;
	diag("%d pairs x %d messages, %d kills, seed %u", npairs, nmsgs, nkills, seed);
	t0 = now_ms();
	for (i = 0; i < npairs; i++) {
		pairs[i].rr = i & 1;
		start_server(&pairs[i]);
		start_client(&pairs[i]);
	}

	/* kill at random moments while the pairs talk */
	for (int k = 0; k < nkills; k++) {
		struct pair *p = &pairs[rand_r(&seed) % npairs];

		msleep(5 + rand_r(&seed) % 40);
		if (rand_r(&seed) & 1) {
			kid_kill(&p->srv, SIGKILL);
			kills_srv++;
			/* its client must wake with EPIPE: collect it */
			r = kid_result(&p->cl);
			if (r != -EPIPE && r != nmsgs) {
				bad++;
				diag("client of a killed server: %s", errname(r));
			}
			cut += r == -EPIPE;
			done += r == nmsgs;
			start_server(p);
		} else {
			kid_kill(&p->cl, SIGKILL);
			kills_cl++;
		}
		start_client(p);
	}

	/* let every surviving client finish */
	for (i = 0; i < npairs; i++) {
		r = kid_result(&pairs[i].cl);
		if (r == nmsgs)
			done++;
		else {
			bad++;
			diag("client %d: %s", i, errname(r));
		}
	}
	diag("killed %d servers and %d clients; %d clients completed %d messages, %d cut by a server's death, in %ld ms",
	     kills_srv, kills_cl, done, nmsgs, cut, now_ms() - t0);
	is(bad, 0, "every client completed or woke with -EPIPE when its server died; every reply matched its request");
	ok(done >= npairs, "%d clients completed all %d messages", done, nmsgs);

	/* dc_end wakes every server blocked in receive */
	is(m3_dc_end(dc), 0, "dc_end with %d servers blocked in receive", npairs);
	alive = 0;
	for (i = 0; i < npairs; i++) {
		r = kid_result(&pairs[i].srv);
		if (r == -100000)
			stuck++;
		else if (r < 0) {
			bad++;
			diag("server %d: %s", i, errname(r));
		}
		alive += r >= 0;
	}
	is(stuck, 0, "every server woke and exited (none stuck)");
	is(alive, npairs, "every server saw only allowed results");
	is(m3_dc_info(dc, &ci), -ENXIO, "the DC is gone after dc_end");
	free(pairs);
	return tap_done();
}
