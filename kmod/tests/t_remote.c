// SPDX-License-Identifier: GPL-2.0
/*
 * t_remote - the kernel side of remote IPC on one node, with fake proxies:
 * a forked "sender proxy" forwards every get2rmt frame through a pipe and
 * the test itself is the "receiver proxy" (put2lcl). Covers proxy_bind
 * checks, garbage frames (errno, never an oops), a remote sendrec and its
 * reply, an incoming send with auto remote-bind and its SEND_ACK, stale
 * entry replacement, node_down and proxy death waking waiters with
 * -EHOSTDOWN, -ENOLINK without a proxy, proxy_unbind.
 * The network part (m3proxy, rt_*) is tested by suites/ipc-remote and faults.
 */
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include "tap.h"

static int dc, node, rnode, mypid;
static int fpipe[2];
/* shared with the fake sender proxy: how often get2rmt told it to reset */
static int *resets;
static pid_t spid;

static void sender_proxy(void)
{
	static uint8_t buf[sizeof(struct m3_rhdr) + 16384];
	int n;

	close(fpipe[0]);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		n = m3_get2rmt(buf, sizeof(buf), 200);
		if (n == -ECONNRESET)
			__atomic_add_fetch(resets, 1, __ATOMIC_SEQ_CST);
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

/*
 * SIGSTOP takes effect only once the sender runs again: until then a frame
 * queued meanwhile could still be taken by the get2rmt it wakes from.
 */
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

static pid_t start_sender(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!pid)
		sender_proxy();
	return pid;
}

/* next frame the sender proxy got, or -ETIMEDOUT */
static int next_frame(struct m3_rhdr *h, void *payload, int tmo)
{
	static uint8_t buf[sizeof(struct m3_rhdr) + 16384];
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

/* a refused request is answered (issue 20): the next frame is that answer */
static void refused_answered(int cmd)
{
	struct m3_rhdr o;
	int ret = next_frame(&o, NULL, 2000);

	ok(!ret && o.cmd == cmd && o.ack == 1000 && o.rcode == -EPROTO &&
	   o.dnode == rnode, "... and answered -EPROTO (%s, cmd %u, rcode %d)",
	   errname(ret), ret ? 0 : o.cmd, ret ? 0 : o.rcode);
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

static int fn_sendrec(void *arg)
{
	struct m3_msg m;
	int ret;

	msg_fill(&m, 5, "ping");
	ret = m3_sendrec(kid_args[0], &m, kid_args[1] ? kid_args[1] : -1);
	if (ret)
		return ret;
	return m.m_type == 77 && m.m_source == kid_args[0] ? 1 : 2;
}

static int fn_receive(void *arg)
{
	struct m3_msg m;
	int ret = m3_receive(M3_ANY, &m, 5000);

	if (ret)
		return ret;
	return m.m_type == 42 && m.m_source == kid_args[0] ? 1 : 2;
}

/* frames queued for the sender proxy of rnode (/proc/m3ipc/proxies) */
static int queued(void)
{
	char line[256];
	FILE *f = fopen("/proc/m3ipc/proxies", "r");
	int n = -1, nd, q;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %*d %*d %*u %*u %*u %*u %*u %*u %d", &nd, &q) == 2 &&
		    nd == rnode)
			n = q;
	if (f)
		fclose(f);
	return n;
}

static int grep_file(const char *path, const char *s)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, s) != NULL;
}

/*
 * This test is a hand-driven proxy pair: it sends a HELLO only when a step
 * needs one, so the kernel's own node timeout is off while it runs (the
 * timeout has its own test in suites/ipc-remote.test.ts).
 */
#define NODE_TIMEOUT "/sys/module/m3ipc/parameters/node_timeout_ms"
static char saved_timeout[32];

static void set_node_timeout(const char *v)
{
	FILE *f = fopen(NODE_TIMEOUT, "w");

	if (!f || fputs(v, f) < 0 || fclose(f))
		bail("write " NODE_TIMEOUT, -errno);
}

static void restore_node_timeout(void)
{
	if (saved_timeout[0])
		set_node_timeout(saved_timeout);
}

int main(void)
{
	struct m3_rhdr h, o;
	struct m3_proc_info pi;
	static uint8_t big[20000];
	struct m3_msg m;
	struct kid k;
	char line[128];
	int R, R2, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	{
		FILE *f = fopen(NODE_TIMEOUT, "r");

		if (!f || !fgets(saved_timeout, sizeof(saved_timeout), f))
			bail("read " NODE_TIMEOUT, -errno);
		fclose(f);
		set_node_timeout("0");
		atexit(restore_node_timeout);
	}
	node = m3t_node_id();
	rnode = (node + 9) % M3_MAX_NODES;
	dc = setup_dc("t_remote", 0, 16, 0);
	kid_dc = dc;
	mypid = getpid();
	if (pipe(fpipe))
		bail("pipe", -errno);
	resets = mmap(NULL, sizeof(*resets), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (resets == MAP_FAILED)
		bail("mmap", -errno);
	spid = start_sender();

	is(m3_proxy_bind(rnode, spid, mypid, 100), -EINVAL, "proxy_bind: max payload too small: -EINVAL");
	is(m3_proxy_bind(rnode, spid, 999999, 16384), -ESRCH, "proxy_bind: no such receiver: -ESRCH");
	is(m3_proxy_bind(rnode, spid, mypid, 16384), 0, "proxy_bind (fake sender kid, us as receiver)");
	is(m3_proxy_bind(rnode, spid, mypid, 16384), -EBUSY, "proxy_bind again: -EBUSY");
	snprintf(line, sizeof(line), "\n%d %d %d 16384 ", rnode, spid, mypid);
	ok(grep_file("/proc/m3ipc/proxies", line), "/proc/m3ipc/proxies lists node %d", rnode);
	snprintf(line, sizeof(line), "\n%d up 0\n", rnode);
	ok(grep_file("/proc/m3ipc/nodes", line), "/proc/m3ipc/nodes: node %d up", rnode);
	R = M3_ENDPOINT(3, 5);
	is(m3_rmtbind(dc, R, rnode, "far"), -ENONET, "rmtbind before add_node: -ENONET");
	is(m3_add_node(dc, rnode), 0, "add_node");
	is(m3_rmtbind(dc, R, rnode, "far"), 0, "rmtbind");
	is(m3_rmtbind(dc, R, node, "far"), -EINVAL, "rmtbind on the local node: -EINVAL");

	/* garbage from the receiver proxy */
	hdr(&h, M3_CMD_HELLO, M3_NONE, M3_NONE, 0);
	is(m3_put2lcl(&h, 10), -EINVAL, "put2lcl shorter than a header: -EINVAL");
	is(m3_put2lcl(NULL, sizeof(h)), -EFAULT, "put2lcl NULL: -EFAULT");
	is(put(&h, NULL, 0), 0, "put2lcl HELLO");
	h.cmd = 0;
	is(put(&h, NULL, 0), -EPROTO, "command 0: -EPROTO");
	h.cmd = 99;
	is(put(&h, NULL, 0), -EPROTO, "command 99: -EPROTO");
	h.cmd = M3_CMD_HELLO_ACK;
	is(put(&h, NULL, 0), -EPROTO, "HELLO_ACK never reaches a kernel: -EPROTO");
	hdr(&h, M3_CMD_SEND_MSG, M3_ENDPOINT(1, 7), M3_ENDPOINT(1, 0), 64);
	h.dnode = rnode;
	is(put(&h, &m, 64), -EPROTO, "wrong destination node: -EPROTO");
	refused_answered(M3_CMD_SEND_ACK);
	h.dnode = node;
	h.snode = (rnode + 1) % M3_MAX_NODES;
	is(put(&h, &m, 64), -EPROTO, "source node of another proxy: -EPROTO");
	h.snode = 1000;
	is(put(&h, &m, 64), -EPROTO, "source node out of range: -EPROTO");
	h.snode = rnode;
	is(put(&h, &m, 10), -EPROTO, "length does not match the header: -EPROTO");
	refused_answered(M3_CMD_SEND_ACK);
	h.len = 10;
	is(put(&h, &m, 10), -EPROTO, "SEND_MSG with a 10-byte payload: -EPROTO");
	refused_answered(M3_CMD_SEND_ACK);
	hdr(&h, M3_CMD_COPYIN_DATA, M3_ENDPOINT(1, 7), M3_ENDPOINT(1, 0), 20000);
	is(put(&h, big, 20000), -EPROTO, "payload over the max payload: -EPROTO");
	refused_answered(M3_CMD_COPYIN_ACK);
	hdr(&h, M3_CMD_COPYOUT_RQST, M3_ENDPOINT(1, 7), M3_ENDPOINT(1, 0), 0);
	is(put(&h, NULL, 0), -EPROTO, "COPYOUT_RQST of 0 bytes: -EPROTO");
	refused_answered(M3_CMD_COPYOUT_DATA);
	hdr(&h, M3_CMD_SEND_MSG, M3_ENDPOINT(1, 7), M3_ENDPOINT(1, 0), 64);
	/*
	 * The level in a frame is never read (a remote descriptor has the level
	 * set on this node): a frame claiming level 9 fails only on its DC.
	 */
	h.priv = 9;
	h.dcid = 31;
	is(put(&h, &m, 64), -ENXIO, "privilege level 9 in a frame is not read: the frame fails on its DC (-ENXIO)");
	next_frame(&o, NULL, 2000);	/* its SEND_ACK -ENXIO */
	hdr(&h, M3_CMD_SEND_ACK, M3_ENDPOINT(1, 7), M3_ENDPOINT(1, 0), 0);
	is(put(&h, NULL, 0), 0, "SEND_ACK nobody waits for: dropped");
	hdr(&h, M3_CMD_SEND_MSG, M3_ENDPOINT(1, 7), M3_ENDPOINT(1, 0), 64);
	h.dcid = 31;
	is(put(&h, &m, 64), -ENXIO, "SEND_MSG for a DC that does not exist: -ENXIO");
	ret = next_frame(&o, NULL, 2000);
	ok(!ret && o.cmd == M3_CMD_SEND_ACK && o.rcode == -ENXIO && o.ack == 1000 &&
	   o.dnode == rnode && o.snode == node,
	   "... and the remote sender gets a SEND_ACK -ENXIO (%s)", errname(ret));
	is(m3_get2rmt(line, sizeof(line), 0), -EPERM, "get2rmt by a process that is no sender proxy: -EPERM");

	/* a remote sendrec and its reply */
	kid_start(&k, M3_PRIV_KERNEL, fn_sendrec, NULL);
	kid_go1(&k, R);
	ret = next_frame(&o, &m, 3000);
	ok(!ret && o.cmd == M3_CMD_SNDREC_MSG && o.src == k.ep && o.dst == R &&
	   o.snode == node && o.dnode == rnode && o.len == 64 && m.m_type == 5 &&
	   o.priv == M3_PRIV_KERNEL, "sendrec to a remote endpoint queues SNDREC_MSG for the sender proxy");
	is(wait_state(dc, k.ep, M3_PST_RMT, M3_PST_RMT), 0, "the caller waits (M3_PST_RMT)");
	hdr(&h, M3_CMD_REPLY_MSG, R, k.ep, 64);
	h.ack = o.seq;
	h.seq = 2000;
	msg_fill(&m, 77, "pong");
	is(put(&h, &m, 64), 0, "put2lcl REPLY_MSG");
	is(kid_result(&k), 1, "the caller gets the reply, m_source = remote endpoint");
	is(next_frame(&o, NULL, 300), -ETIMEDOUT,
	   "a delivered reply is not acknowledged (its replier waits for nothing)");
	/* the same reply again: its caller waits for none any more */
	h.seq = 2001;
	is(put(&h, &m, 64), 0, "put2lcl REPLY_MSG for a caller that waits for no reply");
	ret = next_frame(&o, NULL, 2000);
	ok(!ret && o.cmd == M3_CMD_SEND_ACK && o.ack == 2001 && o.rcode == -EBADE,
	   "... is refused, for the record: SEND_ACK -EBADE (%s, rcode %d)",
	   errname(ret), o.rcode);

	/* an incoming send: auto remote-bind, delivery, SEND_ACK */
	R2 = M3_ENDPOINT(2, 6);
	kid_start(&k, M3_PRIV_KERNEL, fn_receive, NULL);
	kid_go1(&k, R2);
	wait_state(dc, k.ep, M3_PST_RECEIVING, M3_PST_RECEIVING);
	hdr(&h, M3_CMD_SEND_MSG, R2, k.ep, 64);
	h.seq = 2999;
	msg_fill(&m, 42, "hi");
	is(put(&h, &m, 64), 0, "put2lcl SEND_MSG from an unknown remote endpoint");
	ret = next_frame(&o, NULL, 2000);
	/* Auto-bound at USER (never the frame's level): a USER may not SEND. */
	ok(!ret && o.cmd == M3_CMD_SEND_ACK && o.ack == 2999 && o.rcode == -EACCES &&
	   o.dst == R2, "auto-bound at USER, its SEND is refused: SEND_ACK -EACCES (%s)",
	   errname(o.rcode));
	ok(!m3_proc_info(dc, 6, &pi) && pi.endpoint == R2 && pi.node == rnode &&
	   pi.priv == M3_PRIV_USER,
	   "the remote sender was bound automatically in slot 6, at USER");
	is(m3_setpriv(dc, R2, M3_PRIV_KERNEL), 0,
	   "an admin of this node raises the remote sender to KERNEL");
	hdr(&h, M3_CMD_SEND_MSG, R2, k.ep, 64);
	h.seq = 3000;
	is(put(&h, &m, 64), 0, "the same SEND again");
	is(kid_result(&k), 1, "delivered to the receiver, m_source = remote endpoint");
	ret = next_frame(&o, NULL, 2000);
	ok(!ret && o.cmd == M3_CMD_SEND_ACK && o.ack == 3000 && o.rcode == 0 &&
	   o.dst == R2, "SEND_ACK 0 to the remote sender");
	hdr(&h, M3_CMD_SEND_MSG, M3_ENDPOINT(3, 6), k.ep, 64);
	h.seq = 3001;
	is(put(&h, &m, 64), 0, "SEND_MSG from a newer generation of slot 6 (to a dead process)");
	ret = next_frame(&o, NULL, 2000);
	ok(!ret && o.cmd == M3_CMD_SEND_ACK && o.ack == 3001 && o.rcode == -EPIPE,
	   "answered -EPIPE (destination gone)");
	ok(!m3_proc_info(dc, 6, &pi) && pi.endpoint == M3_ENDPOINT(3, 6),
	   "the stale entry of slot 6 was replaced");
	kid_start(&k, M3_PRIV_KERNEL, fn_receive, NULL);
	kid_go1(&k, 0);
	wait_state(dc, k.ep, M3_PST_RECEIVING, M3_PST_RECEIVING);
	hdr(&h, M3_CMD_SEND_MSG, M3_ENDPOINT(1, M3_EP_SLOT(k.ep)), k.ep, 64);
	is(put(&h, &m, 64), 0, "SEND_MSG from a remote endpoint in a local process's slot");
	ret = next_frame(&o, NULL, 2000);
	ok(!ret && o.rcode == -EBUSY, "answered -EBUSY (%s)", errname(o.rcode));
	kid_kill(&k, SIGKILL);

	/* unbind of a remote process removes its queued frames */
	stop_sender(spid);
	kid_start(&k, M3_PRIV_KERNEL, fn_sendrec, NULL);
	kid_go1(&k, R);
	wait_state(dc, k.ep, M3_PST_RMT, M3_PST_RMT);
	is(queued(), 1, "sender proxy stopped: the request stays queued");
	is(m3_unbind(dc, R), 0, "unbind the remote process");
	is(kid_result(&k), -EPIPE, "its waiting caller wakes with -EPIPE");
	is(queued(), 0, "its queued frame was removed");
	kill(spid, SIGCONT);
	is(m3_rmtbind(dc, R, rnode, "far"), 0, "rmtbind again");

	/* node_down wakes a waiter with -EHOSTDOWN, HELLO brings the node up */
	kid_start(&k, M3_PRIV_KERNEL, fn_sendrec, NULL);
	kid_go1(&k, R);
	next_frame(&o, NULL, 3000);
	wait_state(dc, k.ep, M3_PST_RMT, M3_PST_RMT);
	is(m3_node_down(rnode), 0, "node_down");
	is(kid_result(&k), -EHOSTDOWN, "the waiting caller wakes with -EHOSTDOWN");
	ok(!m3_proc_info(dc, 5, &pi) && pi.endpoint != R, "remote descriptors of the node unbound");
	snprintf(line, sizeof(line), "\n%d down 0\n", rnode);
	ok(grep_file("/proc/m3ipc/nodes", line), "/proc/m3ipc/nodes: node %d down", rnode);
	is(m3_rmtbind(dc, R, rnode, "far"), 0, "rmtbind again");
	kid_start(&k, M3_PRIV_KERNEL, fn_sendrec, NULL);
	kid_go1(&k, R);
	is(kid_result(&k), -EHOSTDOWN, "sendrec to a node that is down: -EHOSTDOWN");
	hdr(&h, M3_CMD_HELLO, M3_NONE, M3_NONE, 0);
	is(put(&h, NULL, 0), 0, "HELLO from the node");
	snprintf(line, sizeof(line), "\n%d up 0\n", rnode);
	ok(grep_file("/proc/m3ipc/nodes", line), "... brings it up again");

	/* a timed-out send is withdrawn from the queue */
	kid_start(&k, M3_PRIV_KERNEL, fn_sendrec, NULL);
	kid_go2(&k, R, 300);
	is(kid_result(&k), -ETIMEDOUT, "remote sendrec with a 300 ms timeout, no answer: -ETIMEDOUT");
	next_frame(&o, NULL, 500);	/* it may have left before the timeout */

	/* answers are bounded too: a sender proxy that stops taking frames */
	{
		int i, refused = 0, max = 0, q;

		stop_sender(spid);
		hdr(&h, M3_CMD_SEND_MSG, R, M3_ENDPOINT(1, 15), 64);
		for (i = 0; i < 8200; i++) {
			h.seq = 100000 + i;	/* each answered: -EPIPE */
			if (put(&h, &m, 64))
				refused++;
			if ((i & 255) == 0 || i > 8180) {
				q = queued();
				max = q > max ? q : max;
			}
		}
		ok(max <= 8192, "8200 requests answered while the sender proxy takes nothing: at most 8192 answers queued (%d)", max);
		snprintf(line, sizeof(line), "\n%d down 0\n", rnode);
		ok(grep_file("/proc/m3ipc/nodes", line), "... then the node is declared down, its queue freed (%d queued)", queued());
		is(refused, 0, "... and put2lcl itself never failed");
		kill(spid, SIGCONT);
		hdr(&h, M3_CMD_HELLO, M3_NONE, M3_NONE, 0);
		is(put(&h, NULL, 0), 0, "HELLO brings it up");
		is(m3_rmtbind(dc, R, rnode, "far"), 0, "rmtbind again");
	}

	/*
	 * Down here while the node's frames still come in (as after its
	 * sender reconnected): an answer owed to it cannot be queued, and
	 * its caller there would wait for it forever. Our sender proxy is
	 * told to reset its connection, so that node marks us down.
	 */
	{
		int before, i;

		msleep(300);	/* resets from the blocks above are counted */
		before = __atomic_load_n(resets, __ATOMIC_SEQ_CST);
		is(m3_node_reset(rnode), 0, "node marked down as after its sender reconnected (PEER_RESET)");
		msleep(300);
		is(__atomic_load_n(resets, __ATOMIC_SEQ_CST), before,
		   "... which does not reset our sender's connection");
		hdr(&h, M3_CMD_SEND_MSG, R, M3_ENDPOINT(1, 15), 64);
		h.seq = 300000;
		is(put(&h, &m, 64), 0, "a SEND_MSG from the node comes in anyway (answered -EPIPE)");
		for (i = 0; i < 100 && __atomic_load_n(resets, __ATOMIC_SEQ_CST) == before; i++)
			msleep(10);
		ok(__atomic_load_n(resets, __ATOMIC_SEQ_CST) > before,
		   "... its answer, lost to the node being down here, resets our sender's connection (within %d ms)",
		   i * 10);
		hdr(&h, M3_CMD_HELLO, M3_NONE, M3_NONE, 0);
		is(put(&h, NULL, 0), 0, "HELLO brings it up");
		is(m3_rmtbind(dc, R, rnode, "far"), 0, "rmtbind again");
	}

	/* the sender proxy dies while a caller waits */
	kid_start(&k, M3_PRIV_KERNEL, fn_sendrec, NULL);
	kid_go1(&k, R);
	next_frame(&o, NULL, 3000);
	wait_state(dc, k.ep, M3_PST_RMT, M3_PST_RMT);
	kill(spid, SIGKILL);
	waitpid(spid, NULL, 0);
	is(kid_result(&k), -EHOSTDOWN, "sender proxy killed: the caller wakes with -EHOSTDOWN");
	snprintf(line, sizeof(line), "\n%d ", rnode);
	ok(!grep_file("/proc/m3ipc/proxies", line), "the proxies of node %d are gone", rnode);
	is(m3_rmtbind(dc, R, rnode, "far"), 0, "rmtbind again");
	kid_start(&k, M3_PRIV_KERNEL, fn_sendrec, NULL);
	kid_go1(&k, R);
	is(kid_result(&k), -ENOLINK, "sendrec with no proxy: -ENOLINK");
	hdr(&h, M3_CMD_HELLO, M3_NONE, M3_NONE, 0);
	is(put(&h, NULL, 0), -EPERM, "put2lcl by a process that is no receiver proxy: -EPERM");

	/* proxy_unbind */
	spid = start_sender();
	is(m3_proxy_bind(rnode, spid, mypid, 16384), 0, "proxy_bind a new pair");
	is(m3_proxy_unbind(rnode), 0, "proxy_unbind");
	is(m3_proxy_unbind(rnode), -ENOLINK, "proxy_unbind again: -ENOLINK");
	kill(spid, SIGKILL);
	waitpid(spid, NULL, 0);
	is(m3_del_node(dc, rnode), 0, "del_node");
	is(m3_dc_end(dc), 0, "dc_end");
	return tap_done();
}
