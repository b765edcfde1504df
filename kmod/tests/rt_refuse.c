// SPDX-License-Identifier: GPL-2.0
/*
 * rt_refuse - every refused remote frame ends the call it belongs to, and
 * every remote wait has a bound (issue 20, points 4 and 5), checked on one
 * node with a fake proxy pair for a fake peer node, as t_remote does: a
 * forked "sender proxy" forwards every get2rmt frame through a pipe, the
 * test itself is the "receiver proxy" (put2lcl) and plays the peer.
 *
 *  - the link's max payload: the smaller of ours and the one the peer's
 *    HELLO announces (4096 until one did); chunks of a remote vcopy and
 *    COPYIN windows (count, window id) follow it;
 *  - a request whose header fails the kernel's check is answered (-EPROTO);
 *    a malformed answer ends the local caller waiting for it (-EPROTO);
 *  - a COPYIN window with a chunk refused (-ENOMEM, by the test-only module
 *    parameter test_copyin_enomem) or missing is answered with a failure,
 *    never with success;
 *  - a remote sendrec with timeout 0 waits at most rmt_nowait_ms for the
 *    remote node's answer; "taken" (SEND_ACK 0) lifts that bound;
 *  - the queue for a sender proxy is bounded in bytes (point 3): requests
 *    refused (-ENOBUFS) past 8 MiB, the node declared down past 16 MiB.
 *
 * Run by suites/ipc-remote.test.ts on a node of the cluster (its DC, proxies
 * and node ids are not touched: a DC of its own, a node id no lab uses).
 * Sets node_timeout_ms to 0 and rmt_nowait_ms to 300 while it runs.
 */
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include "tap.h"

static int dc, node, rnode, mypid;
static int fpipe[2];
static pid_t spid;
/* the kid's vcopy target: the same address in the kid after fork */
static uint8_t target[8 * 16384];

static void sender_proxy(void)
{
	static uint8_t buf[sizeof(struct m3_rhdr) + 65536];
	int n;

	close(fpipe[0]);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		n = m3_get2rmt(buf, sizeof(buf), 200);
		if (n == -EPERM || n == -ETIMEDOUT || n == -ENOLINK || n == -EINTR ||
		    n == -ECONNRESET) {
			if (n == -EPERM)
				msleep(5);
			continue;
		}
		if (n < 0)
			_exit(1);
		if (write(fpipe[1], &n, sizeof(n)) != sizeof(n) ||
		    write(fpipe[1], buf, n) != n)
			_exit(2);
	}
}

/* SIGSTOP takes effect once the sender runs again (t_remote.c) */
static void stop_sender(pid_t pid)
{
	char path[64], st = 0;
	FILE *f;
	int i;

	kill(pid, SIGSTOP);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (i = 0; i < 500 && st != 'T'; i++) {
		f = fopen(path, "r");
		if (!f || fscanf(f, "%*d (%*[^)]) %c", &st) != 1)
			st = 0;
		if (f)
			fclose(f);
		if (st != 'T')
			msleep(10);
	}
}

static int next_frame(struct m3_rhdr *h, void *payload, int tmo)
{
	static uint8_t buf[sizeof(struct m3_rhdr) + 65536];
	struct pollfd p = { .fd = fpipe[0], .events = POLLIN };
	int n;

	if (poll(&p, 1, tmo) <= 0)
		return -ETIMEDOUT;
	if (read(fpipe[0], &n, sizeof(n)) != sizeof(n) || n > (int)sizeof(buf))
		return -EIO;
	if (read(fpipe[0], buf, n) != n)
		return -EIO;
	memcpy(h, buf, sizeof(*h));
	if (payload)
		memcpy(payload, buf + sizeof(*h), h->len);
	return 0;
}

static void hdr(struct m3_rhdr *h, int cmd, int src, int dst, int len)
{
	memset(h, 0, sizeof(*h));
	h->cmd = cmd;
	h->dcid = dc;
	h->src = src;
	h->dst = dst;
	h->snode = rnode;
	h->dnode = node;
	h->len = len;
	h->priv = M3_PRIV_KERNEL;
	h->seq = 1000;
}

static int put(const struct m3_rhdr *h, const void *payload, int len)
{
	static uint8_t buf[sizeof(struct m3_rhdr) + 70000];

	memcpy(buf, h, sizeof(*h));
	if (len)
		memcpy(buf + sizeof(*h), payload, len);
	return m3_put2lcl(buf, sizeof(*h) + len);
}

static int hello(unsigned int count)
{
	struct m3_rhdr h;

	hdr(&h, M3_CMD_HELLO, M3_NONE, M3_NONE, 0);
	h.dcid = -1;
	h.count = count;
	return put(&h, NULL, 0);
}

/* a column of /proc/m3ipc/proxies for the fake node, by its header name */
static long proxy_col(const char *name)
{
	char line[512], *tok, *save;
	int col = -1, i;
	long v = -1;
	FILE *f = fopen("/proc/m3ipc/proxies", "r");

	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f))
		for (i = 0, tok = strtok_r(line, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save), i++)
			if (!strcmp(tok, name))
				col = i;
	while (col >= 0 && fgets(line, sizeof(line), f)) {
		tok = strtok_r(line, " \n", &save);
		if (!tok || atoi(tok) != rnode)
			continue;
		for (i = 1; i <= col && tok; i++)
			tok = strtok_r(NULL, " \n", &save);
		if (tok)
			v = atol(tok);
	}
	fclose(f);
	return v;
}

#define ENOMEM_PARAM "/sys/module/m3ipc/parameters/test_copyin_enomem"
static char saved[2][32];
static const char *const params[2] = {
	"/sys/module/m3ipc/parameters/node_timeout_ms",
	"/sys/module/m3ipc/parameters/rmt_nowait_ms",
};

static void set_param(const char *path, const char *v)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(v, f) < 0 || fclose(f))
		bail(path, -errno);
}

/* at exit: no bail() (it would exit again) */
static void put_param(const char *path, const char *v)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(v, f);
		fclose(f);
	}
}

static void restore_params(void)
{
	int i;

	for (i = 0; i < 2; i++)
		if (saved[i][0])
			put_param(params[i], saved[i]);
	put_param(ENOMEM_PARAM, "0");
}

static void on_alarm(int sig)
{
}

/*
 * kid: sendrec (kid_args[2] == 0) or send (1) to kid_args[0] with timeout
 * kid_args[1]; a signal after 5 s ends a wait that has no bound (-EINTR).
 */
static int fn_call(void *arg)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct m3_msg m;
	int ret;

	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART */
	alarm(5);
	msg_fill(&m, 5, "ping");
	if (kid_args[2])
		return m3_send(kid_args[0], &m, kid_args[1]);
	ret = m3_sendrec(kid_args[0], &m, kid_args[1]);
	if (ret)
		return ret;
	return m.m_type == 77 && m.m_source == kid_args[0] ? 1 : 2;
}

/* kid: a remote vcopy of kid_args[1] bytes to kid_args[0]'s buffer at 0x10000 */
static int fn_vcopy(void *arg)
{
	static uint8_t src[20000];

	memset(src, 0x5a, sizeof(src));
	alarm(10);
	return m3_vcopy(M3_SELF, src, kid_args[0], (void *)0x10000,
			kid_args[1]);
}

/* kid: stays bound (a vcopy target) until killed */
static int fn_sleep(void *arg)
{
	struct m3_msg m;

	return m3_receive(M3_ANY, &m, 60000);
}

/* the next frame is @cmd answering seq @ack with @rcode */
static void expect_answer(int cmd, uint64_t ack, int rcode, const char *what)
{
	struct m3_rhdr o;
	int ret = next_frame(&o, NULL, 2000);

	ok(!ret && o.cmd == cmd && o.ack == ack && o.rcode == rcode &&
	   o.dnode == rnode, "%s: answered %s (next frame: %s, cmd %u, ack %llu, rcode %d)",
	   what, errname(rcode), ret ? errname(ret) : "read",
	   ret ? 0 : o.cmd, ret ? 0ULL : (unsigned long long)o.ack,
	   ret ? 0 : o.rcode);
}

/* one COPYIN_DATA chunk of window @win (@count chunks) from @src to @dst */
static int chunk(int src, int dst, uint64_t seq, uint64_t win, int count,
		 int flags, int off)
{
	static uint8_t data[1000];
	struct m3_rhdr h;

	memset(data, 0x40 + (seq & 0x3f), sizeof(data));
	hdr(&h, M3_CMD_COPYIN_DATA, src, dst, sizeof(data));
	h.seq = seq;
	h.ack = win;
	h.count = count;
	h.flags = flags;
	h.addr = (uintptr_t)target + off;
	return put(&h, data, sizeof(data));
}

int main(void)
{
	struct m3_rhdr h, o;
	struct m3_msg m;
	struct kid k, t;
	int R, ret, i;
	long t0, dt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < 2; i++) {
		FILE *f = fopen(params[i], "r");

		if (f && !fgets(saved[i], sizeof(saved[i]), f))
			saved[i][0] = 0;
		if (f)
			fclose(f);
	}
	atexit(restore_params);
	set_param(params[0], "0");	/* HELLOs only when a step needs them */
	ok(saved[1][0], "module parameter rmt_nowait_ms exists (the bound of timeout 0)");
	put_param(params[1], "300");
	node = m3t_node_id();
	rnode = (node + 20) % M3_MAX_NODES;
	dc = setup_dc("rt_refuse", 0, 16, 0);
	kid_dc = dc;
	mypid = getpid();
	if (pipe(fpipe))
		bail("pipe", -errno);
	fflush(stdout);
	spid = fork();
	if (!spid)
		sender_proxy();
	is(m3_proxy_bind(rnode, spid, mypid, 16384), 0,
	   "proxy_bind for fake node %d, max payload 16384", rnode);
	is(m3_add_node(dc, rnode), 0, "add_node");
	R = M3_ENDPOINT(3, 5);
	is(m3_rmtbind(dc, R, rnode, "far"), 0, "rmtbind the peer's process");
	is(m3_setpriv(dc, R, M3_PRIV_KERNEL), 0, "... KERNEL here (this node's admin)");

	/* ---- point 5: the link's max payload ---- */
	is(proxy_col("max_payload"), 16384, "/proc/m3ipc/proxies max_payload: ours (16384)");
	is(proxy_col("link_payload"), 4096, "link_payload before any HELLO: the minimum, 4096");
	is(hello(0), 0, "HELLO that announces nothing (count 0)");
	is(proxy_col("link_payload"), 4096, "... link_payload still 4096");
	is(hello(8192), 0, "HELLO announcing 8192");
	is(proxy_col("link_payload"), 8192, "... link_payload 8192 (the smaller)");
	is(hello(65536), 0, "HELLO announcing 65536");
	is(proxy_col("link_payload"), 16384, "... link_payload 16384 (ours is smaller)");
	is(hello(100), -EPROTO, "HELLO announcing 100 (below 4096): -EPROTO");
	is(hello(8192), 0, "HELLO announcing 8192 again");

	/* a local -> remote vcopy is cut into chunks of the link's payload */
	kid_start(&k, M3_PRIV_KERNEL, fn_vcopy, NULL);
	kid_go2(&k, R, 20000);
	{
		int sizes[3] = { 0 }, flags[3] = { 0 }, n = 0, good;
		uint64_t seqs[3] = { 0 }, wins[3] = { 0 }, counts[3] = { 0 };

		while (n < 3 && !next_frame(&o, NULL, 3000) &&
		       o.cmd == M3_CMD_COPYIN_DATA) {
			sizes[n] = o.len;
			flags[n] = o.flags;
			seqs[n] = o.seq;
			wins[n] = o.ack;
			counts[n++] = o.count;
		}
		good = n == 3 && sizes[0] == 8192 && sizes[1] == 8192 &&
		       sizes[2] == 20000 - 16384;
		ok(good, "vcopy of 20000 B: COPYIN_DATA chunks of 8192, 8192, 3616 (%d chunks: %d %d %d)",
		   n, sizes[0], sizes[1], sizes[2]);
		ok(n == 3 && flags[0] == (M3_RF_FIRST | M3_RF_NOACK) &&
		   flags[1] == M3_RF_NOACK && flags[2] == 0,
		   "... FIRST|NOACK, NOACK, then the window's last (flags %#x %#x %#x)",
		   flags[0], flags[1], flags[2]);
		ok(n == 3 && wins[0] == seqs[0] && wins[1] == seqs[0] &&
		   wins[2] == seqs[0] && counts[0] == 3 && counts[1] == 3 &&
		   counts[2] == 3,
		   "... each carries its window: id = the first chunk's seq, count 3");
		hdr(&h, M3_CMD_COPYIN_ACK, R, k.ep, 0);
		h.ack = seqs[2];
		h.seq = 1100;
		is(put(&h, NULL, 0), 0, "the window's COPYIN_ACK 0");
		is(kid_result(&k), 0, "... the vcopy returns 0");
	}

	/* ---- point 5: every refused request is answered ---- */
	hdr(&h, M3_CMD_SNDREC_MSG, R, M3_ENDPOINT(1, 7), 8);
	h.seq = 1201;
	is(put(&h, &m, 8), -EPROTO, "SNDREC_MSG with an 8-byte payload: -EPROTO");
	expect_answer(M3_CMD_SEND_ACK, 1201, -EPROTO, "... and its caller");
	hdr(&h, M3_CMD_SEND_MSG, R, M3_ENDPOINT(1, 7), 64);
	h.seq = 1202;
	h.dnode = (node + 1) % M3_MAX_NODES;
	is(put(&h, &m, 64), -EPROTO, "SEND_MSG for another node: -EPROTO");
	expect_answer(M3_CMD_SEND_ACK, 1202, -EPROTO, "... and its caller");
	hdr(&h, M3_CMD_COPYOUT_RQST, R, M3_ENDPOINT(1, 7), 0);
	h.seq = 1203;
	h.count = 8 * 16384 + 1;
	is(put(&h, NULL, 0), -EPROTO, "COPYOUT_RQST of more than 8 x our max payload: -EPROTO");
	expect_answer(M3_CMD_COPYOUT_DATA, 1203, -EPROTO, "... and its caller");
	hdr(&h, M3_CMD_COPYIN_DATA, R, M3_ENDPOINT(1, 7), 64);
	h.seq = 1204;
	h.count = 9;
	is(put(&h, &m, 64), -EPROTO, "COPYIN_DATA in a window of 9 chunks: -EPROTO");
	expect_answer(M3_CMD_COPYIN_ACK, 1204, -EPROTO, "... and its caller");
	hdr(&h, M3_CMD_NTFY_MSG, R, M3_ENDPOINT(1, 7), 8);
	h.seq = 1205;
	is(put(&h, &m, 8), -EPROTO, "NTFY_MSG with a payload: -EPROTO");
	is(next_frame(&o, NULL, 300), -ETIMEDOUT, "... no answer (a notify has none)");

	/* a malformed answer ends the local caller waiting for it */
	kid_start(&k, M3_PRIV_KERNEL, fn_call, NULL);
	t0 = now_ms();
	kid_go2(&k, R, 4000);
	ret = next_frame(&o, NULL, 3000);
	ok(!ret && o.cmd == M3_CMD_SNDREC_MSG, "a sendrec with a 4 s timeout sends SNDREC_MSG");
	hdr(&h, M3_CMD_REPLY_MSG, R, k.ep, 8);
	h.ack = o.seq;
	h.seq = 1301;
	is(put(&h, &m, 8), -EPROTO, "its REPLY_MSG comes with an 8-byte payload: -EPROTO");
	is(kid_result(&k), -EPROTO, "... the caller ends with -EPROTO");
	dt = now_ms() - t0;
	ok(dt < 2000, "... at once, not at its timeout (%ld ms)", dt);
	expect_answer(M3_CMD_SEND_ACK, 1301, -EPROTO, "... and the replier");

	/* ---- point 4: a COPYIN window with a chunk refused or missing ---- */
	kid_start(&t, M3_PRIV_KERNEL, fn_sleep, NULL);
	kid_go(&t);
	wait_state(dc, t.ep, M3_PST_RECEIVING, M3_PST_RECEIVING);
	is(chunk(R, t.ep, 1401, 1401, 3, M3_RF_FIRST | M3_RF_NOACK, 0) |
	   chunk(R, t.ep, 1402, 1401, 3, M3_RF_NOACK, 1000) |
	   chunk(R, t.ep, 1403, 1401, 3, 0, 2000), 0,
	   "a window of 3 COPYIN_DATA chunks into a local process");
	expect_answer(M3_CMD_COPYIN_ACK, 1403, 0, "... the window's last chunk");
	is(next_frame(&o, NULL, 300), -ETIMEDOUT, "... and only it");

	ok(!access(ENOMEM_PARAM, W_OK), "module parameter test_copyin_enomem exists");
	put_param(ENOMEM_PARAM, "2");
	is(chunk(R, t.ep, 1501, 1501, 3, M3_RF_FIRST | M3_RF_NOACK, 0), 0,
	   "window 2, chunk 1");
	is(chunk(R, t.ep, 1502, 1501, 3, M3_RF_NOACK, 1000), -ENOMEM,
	   "chunk 2 refused: no memory (test_copyin_enomem)");
	is(chunk(R, t.ep, 1503, 1501, 3, 0, 2000), 0, "chunk 3 lands");
	expect_answer(M3_CMD_COPYIN_ACK, 1503, -ENOMEM,
		      "the window with its NOACK chunk refused fails");
	is(next_frame(&o, NULL, 300), -ETIMEDOUT,
	   "... no other answer (the refused chunk's own is the window's)");

	is(chunk(R, t.ep, 1601, 1601, 3, M3_RF_FIRST | M3_RF_NOACK, 0) |
	   chunk(R, t.ep, 1603, 1601, 3, 0, 2000), 0,
	   "window 3: chunk 2 never comes (lost)");
	expect_answer(M3_CMD_COPYIN_ACK, 1603, -EPROTO,
		      "the window with a chunk missing fails");

	put_param(ENOMEM_PARAM, "1");
	is(chunk(R, t.ep, 1701, 1701, 2, M3_RF_FIRST | M3_RF_NOACK, 0), -ENOMEM,
	   "window 4: its first chunk refused (no memory)");
	is(chunk(R, t.ep, 1702, 1701, 2, 0, 1000), 0, "... its last lands");
	expect_answer(M3_CMD_COPYIN_ACK, 1702, -ENOMEM,
		      "the window with its first chunk refused fails");

	is(chunk(R, t.ep, 1801, 1801, 2, M3_RF_FIRST | M3_RF_NOACK, 0) |
	   chunk(R, t.ep, 1802, 1801, 2, 0, 1000), 0,
	   "window 5: both chunks land");
	expect_answer(M3_CMD_COPYIN_ACK, 1802, 0, "... success again (nothing kept)");
	kid_kill(&t, SIGKILL);

	/* ---- point 5: a remote call with timeout 0 has a bound ---- */
	kid_start(&k, M3_PRIV_KERNEL, fn_call, NULL);
	t0 = now_ms();
	kid_go2(&k, R, 0);
	ret = next_frame(&o, NULL, 3000);
	ok(!ret && o.cmd == M3_CMD_SNDREC_MSG && (o.flags & M3_RF_NOWAIT),
	   "sendrec with timeout 0: SNDREC_MSG with NOWAIT; the peer never answers");
	ret = kid_result(&k);
	dt = now_ms() - t0;
	is(ret, -ETIMEDOUT, "... -ETIMEDOUT (rmt_nowait_ms 300), not a wait without end");
	ok(dt >= 250 && dt < 2500, "... after %ld ms", dt);

	kid_start(&k, M3_PRIV_KERNEL, fn_call, NULL);
	kid_go2(&k, R, 0);
	ret = next_frame(&o, NULL, 3000);
	ok(!ret && o.cmd == M3_CMD_SNDREC_MSG, "sendrec with timeout 0 again");
	hdr(&h, M3_CMD_SEND_ACK, R, k.ep, 0);
	h.ack = o.seq;
	h.seq = 1901;
	is(put(&h, NULL, 0), 0, "the peer says taken (SEND_ACK 0)");
	msleep(700);
	hdr(&h, M3_CMD_REPLY_MSG, R, k.ep, 64);
	h.ack = o.seq;
	h.seq = 1902;
	msg_fill(&m, 77, "pong");
	is(put(&h, &m, 64), 0, "... and replies 700 ms later");
	is(kid_result(&k), 1, "the caller gets the reply: once taken, the reply has no bound");

	kid_start(&k, M3_PRIV_KERNEL, fn_call, NULL);
	kid_go3(&k, R, 0, 1);
	ret = next_frame(&o, NULL, 3000);
	ok(!ret && o.cmd == M3_CMD_SEND_MSG && (o.flags & M3_RF_NOWAIT),
	   "send with timeout 0: SEND_MSG with NOWAIT");
	hdr(&h, M3_CMD_SEND_ACK, R, k.ep, 0);
	h.ack = o.seq;
	h.seq = 1903;
	h.rcode = -EAGAIN;
	is(put(&h, NULL, 0), 0, "the peer answers -EAGAIN");
	is(kid_result(&k), -EAGAIN, "... the caller gets -EAGAIN");

	/* the other side: a NOWAIT sendrec from the peer that is taken here */
	kid_start(&t, M3_PRIV_KERNEL, fn_sleep, NULL);
	kid_go(&t);
	wait_state(dc, t.ep, M3_PST_RECEIVING, M3_PST_RECEIVING);
	hdr(&h, M3_CMD_SNDREC_MSG, R, t.ep, 64);
	h.seq = 2001;
	h.flags = M3_RF_NOWAIT;
	msg_fill(&m, 9, "q");
	is(put(&h, &m, 64), 0, "the peer's sendrec with timeout 0 to a receiving process");
	expect_answer(M3_CMD_SEND_ACK, 2001, 0, "... taken: SEND_ACK 0 before the reply");
	kid_result(&t);

	/* ---- point 3: the queue for a sender proxy is bounded in bytes ---- */
	{
		long qb, maxqb = 0, maxq = 0, q;
		int enobufs = -1, downs = 0;
		char line[64];
		FILE *f;

		kid_start(&t, M3_PRIV_KERNEL, fn_sleep, NULL);
		kid_go(&t);
		wait_state(dc, t.ep, M3_PST_RECEIVING, M3_PST_RECEIVING);
		is(hello(65536), 0, "HELLO: link payload 16384");
		stop_sender(spid);
		for (i = 0; i < 200; i++) {
			hdr(&h, M3_CMD_COPYOUT_RQST, R, t.ep, 0);
			h.seq = 3000 + i;
			h.count = sizeof(target);
			h.addr = (uintptr_t)target;
			put(&h, NULL, 0);
			qb = proxy_col("queued_bytes");
			q = proxy_col("queued");
			maxqb = qb > maxqb ? qb : maxqb;
			maxq = q > maxq ? q : maxq;
			if (i == 70) {
				struct kid c;

				kid_start(&c, M3_PRIV_KERNEL, fn_call, NULL);
				kid_go2(&c, R, 1000);
				enobufs = kid_result(&c);
				diag("after 71 COPYOUT windows of 128 KiB: %ld frames, %ld bytes queued", q, qb);
			}
		}
		is(enobufs, -ENOBUFS,
		   "a request while 8 MiB of answers wait for a sender proxy that takes nothing: -ENOBUFS");
		ok(maxqb > 0 && maxqb <= 16 << 20,
		   "200 windows of 128 KiB answered (25 MiB) while the sender proxy takes nothing: at most 16 MiB queued (%ld bytes, %ld frames at most)",
		   maxqb, maxq);
		f = fopen("/proc/m3ipc/nodes", "r");
		while (f && fgets(line, sizeof(line), f))
			if (atoi(line) == rnode && strstr(line, " down"))
				downs++;
		if (f)
			fclose(f);
		ok(downs == 1 && maxq < 8192,
		   "... then the node is declared down, far below the 8192-frame bound (%ld frames)",
		   maxq);
		is(proxy_col("queued_bytes"), 0, "... which frees its queue");
		kid_kill(&t, SIGKILL);
		kill(spid, SIGCONT);
	}

	kill(spid, SIGKILL);
	waitpid(spid, NULL, 0);
	m3_proxy_unbind(rnode);
	is(m3_del_node(dc, rnode), 0, "del_node");
	is(m3_dc_end(dc), 0, "dc_end");
	return tap_done();
}
