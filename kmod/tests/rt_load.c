// SPDX-License-Identifier: GPL-2.0
/*
 * rt_load - one client of the fault suite's workload: calls one remote
 * rt_server for a while, with no timeout of its own (a call must end because
 * the module ends it, never because the caller gave up), and prints one
 * history line per call for the lab's checker (harness/faults/history.ts):
 *
 *   rt_load DC SLOT SERVER_EP SERVER_NODE DURATION_MS [rpc|notify [SEED [STOPFILE]]]
 *
 *   op CLIENT SEQ KIND START_MS DURATION_MS RESULT REPLY
 *
 * rpc (the default) makes sendrecs (KIND e) and remote vcopy rounds (KIND v,
 * one call in four; which ones, SEED decides, with the block's length and the
 * pauses): a block written into this client's region of the
 * server's buffer and read back. It needs KERNEL level on the server's node,
 * which that node's admin gives (RT_GRANT, KIND g), and the buffer's address
 * (RT_GETBUF, KIND b); both are asked again after every failure, since a node
 * that died comes back with neither.
 *
 * notify sends notifications (KIND n, 0-50 ms apart, as SEED decides). They are only delivered
 * with HARDWARE level on the server's node (KIND h asks for it, again after
 * every failure); a level already HARDWARE there refuses that sendrec with
 * -EACCES (HARDWARE may not sendrec a KERNEL server), which says the grant
 * still holds.
 *
 * CLIENT is SLOT; START_MS counts from the program's start (CLOCK_MONOTONIC);
 * RESULT is 0 or a negative errno; REPLY is 1 for a right answer (an echo
 * answers what was sent plus one, and the request carries SLOT and SEQ, so a
 * reply meant for another request or client shows; a vcopy read back what it
 * wrote), else what went wrong, or "-" without an answer. Between two failed
 * calls it waits 50 ms, so a node that is down is not hammered. It stops
 * after DURATION_MS, or before that once STOPFILE exists (the lab stops the
 * load a set time after the heal, however long the heal took), never inside
 * a call. The last line is "done OPS".
 */
#include <stdbool.h>
#include "rt_common.h"

#define VC_LEN		(32 << 10)
/* each client its own region of the server's buffer: slots are DC-wide */
#define VC_REGION	(64 << 10)

static int dcid, srv, snode, slot;
static long t_start;
static int64_t seq;
static uint64_t rng;

/* the workload's own choices: splitmix64, so one SEED gives one mix */
static uint64_t next_rand(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void record(char kind, long t0, int ret, const char *reply)
{
	printf("op %d %lld %c %ld %ld %d %s\n", slot, (long long)seq, kind,
	       t0 - t_start, now_ms() - t0, ret, ret ? "-" : reply);
	seq++;
}

/* a sendrec of type TYPE with w0 = ARG; the answer in *r */
static int call(int type, int64_t arg, struct m3_msg *r)
{
	memset(r, 0, sizeof(*r));
	r->m_type = type;
	*rt_w(r, 0) = arg;
	return m3_sendrec(srv, r, M3_TIMEOUT_FOREVER);
}

static int echo(void)
{
	int64_t sent = ((int64_t)slot << 32) | seq;
	long t0 = now_ms();
	struct m3_msg m;
	char reply[32];
	int ret;

	ret = call(RT_ECHO, sent, &m);
	if (m.m_source != srv)	/* an answer from someone else */
		snprintf(reply, sizeof(reply), "from%d", m.m_source);
	else
		snprintf(reply, sizeof(reply), "%lld",
			 (long long)(*rt_w(&m, 0) - sent));
	record('e', t0, ret, reply);
	return ret;
}

/* the admin of the server's node gives us LEVEL there (KIND g or h) */
static int grant(char kind, int level)
{
	long t0 = now_ms();
	struct m3_msg m;
	char reply[32];
	int ret;

	ret = call(RT_GRANT, level, &m);
	snprintf(reply, sizeof(reply), *rt_w(&m, 0) ? "setpriv%lld" : "1",
		 (long long)*rt_w(&m, 0));
	record(kind, t0, ret, reply);
	return ret ? ret : (int)*rt_w(&m, 0);
}

static int getbuf(uint64_t *addr)
{
	long t0 = now_ms();
	struct m3_msg m;
	int ret;

	ret = call(RT_GETBUF, 0, &m);
	if (!ret)
		*addr = (uint64_t)*rt_w(&m, 0) + (uint64_t)slot * VC_REGION;
	record('b', t0, ret, *rt_w(&m, 1) >= (int64_t)(slot + 1) * VC_REGION ?
	       "1" : "small");
	return ret;
}

static int vcopy_round(uint64_t addr, uint8_t *out, uint8_t *back)
{
	int len = 1 + (int)(next_rand() % VC_LEN);
	long t0 = now_ms();
	char reply[32] = "1";
	int ret, bad, i;

	for (i = 0; i < len; i++)
		out[i] = rt_pat(((uint64_t)slot << 32) | seq, i);
	memset(back, 0, len);
	ret = m3_vcopy_T(M3_SELF, out, srv, (void *)(uintptr_t)addr, len,
			 M3_TIMEOUT_FOREVER);
	if (!ret)
		ret = m3_vcopy_T(srv, (void *)(uintptr_t)addr, M3_SELF, back,
				 len, M3_TIMEOUT_FOREVER);
	for (bad = 0, i = 0; i < len; i++)
		bad += out[i] != back[i];
	if (bad)
		snprintf(reply, sizeof(reply), "mismatch%d", bad);
	record('v', t0, ret, reply);
	return ret;
}

static int notify(void)
{
	long t0 = now_ms();
	int ret;

	ret = m3_notify(srv);
	record('n', t0, ret, "1");
	return ret;
}

int main(int argc, char **argv)
{
	static uint8_t out[VC_LEN], back[VC_LEN];
	bool notifier, ready = false;
	const char *stopfile;
	uint64_t addr = 0;
	long t_end;
	int ret;

	if (argc < 6 || argc > 9 ||
	    (argc >= 7 && strcmp(argv[6], "rpc") && strcmp(argv[6], "notify"))) {
		fprintf(stderr, "usage: rt_load DC SLOT SERVER_EP SERVER_NODE DURATION_MS [rpc|notify [SEED [STOPFILE]]]\n");
		return 2;
	}
	notifier = argc >= 7 && !strcmp(argv[6], "notify");
	rng = argc >= 8 ? strtoull(argv[7], NULL, 0) : 1;
	stopfile = argc == 9 ? argv[8] : NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	slot = atoi(argv[2]);
	if ((slot + 1) * VC_REGION > RT_BUF_SIZE) {
		fprintf(stderr, "rt_load: slot %d has no region in the server's buffer\n", slot);
		return 2;
	}
	rt_bind(argv[1], slot, M3_PRIV_KERNEL, &dcid);
	srv = atoi(argv[3]);
	snode = atoi(argv[4]);
	ret = m3_rmtbind(dcid, srv, snode, "rt_server");
	if (ret)
		bail("rmtbind", ret);
	t_start = now_ms();
	t_end = t_start + atol(argv[5]);
	for (seq = 1; now_ms() < t_end && !(stopfile && !access(stopfile, F_OK));) {
		if (!ready && notifier) {
			ret = grant('h', M3_PRIV_HARDWARE);
			if (ret == -EACCES)	/* still HARDWARE there */
				ret = 0;
			ready = !ret;
		} else if (!ready) {
			ret = grant('g', M3_PRIV_KERNEL);
			if (!ret && now_ms() < t_end)
				ret = getbuf(&addr);
			ready = !ret;
		} else if (notifier) {
			ret = notify();
			if (!ret)
				msleep((long)(next_rand() % 51));
		} else if (next_rand() % 4 == 0) {
			ret = vcopy_round(addr, out, back);
		} else {
			ret = echo();
		}
		if (ret) {
			ready = false;
			msleep(50);
			/* a node down drops the server's descriptor: bind it again
			 * (until then a call finds its slot free: -EPIPE) */
			m3_rmtbind(dcid, srv, snode, "rt_server");
		}
	}
	printf("done %lld\n", (long long)seq - 1);
	return 0;
}
