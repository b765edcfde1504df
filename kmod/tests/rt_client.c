// SPDX-License-Identifier: GPL-2.0
/*
 * rt_client - the client side of the remote tests (TAP on stdout).
 *
 *   rt_client DC SLOT SERVER_EP SERVER_NODE MODE [ARGS]
 *
 * Binds itself at SLOT of DC (level KERNEL), rmtbinds SERVER_EP of
 * SERVER_NODE (an rt_server), then runs MODE. A remote process has on each
 * node the level that node's admin gave its descriptor (never the level in
 * a frame): for basic and vcopy, this client (root) gives the server's
 * descriptor KERNEL here, and asks the server (RT_GRANT, rt_common.h) to
 * give ours KERNEL on its node. MODE:
 *   basic                 every primitive across the nodes, errors
 *   vcopy [MAX]           remote vcopy 1 B .. 4 MiB (or MAX) both ways, byte for byte
 *   load N                N sendrecs, each reply checked
 *   hang ERRNO MAX_MS [ACTION]
 *                         sendrec RT_HANG (the lab kills the server or a
 *                         proxy meanwhile); expects -ERRNO (EPIPE,
 *                         EHOSTDOWN) within MAX_MS of the start; with
 *                         ACTION (a shell command, e.g. killing a local
 *                         proxy or cutting the LAN), ACTION runs here 1 s
 *                         after the call and MAX_MS counts from it
 *   vcopy-stuck BUF TIMEOUT_MS MAX_MS ACTION
 *                         after the grants, ACTION (a shell command that
 *                         stops the link, e.g. SIGSTOP of the proxies),
 *                         then a 64 KiB vcopy from the server's buffer BUF
 *                         with a TIMEOUT_MS bound: -ETIMEDOUT after at
 *                         least TIMEOUT_MS and at most MAX_MS
 *   vcopy-fail LEN ERRNO  a vcopy of LEN bytes to the server's buffer must
 *                         end with -ERRNO (the lab made one of its chunks
 *                         fail on the server's node); the server's buffer
 *                         is then checked, and a second copy must succeed
 *   stale OLD_EP          SERVER_EP is a new server on OLD_EP's slot:
 *                         OLD_EP is refused with -ESTALE, SERVER_EP works
 *   peek OFF LEN          print "nonzero=K": non-zero bytes in the server's
 *                         buffer at [OFF, OFF + LEN) (a plain sendrec)
 *   exit                  tell the server to exit
 */
#include <sys/mman.h>
#include "rt_common.h"

static int dcid, me, srv, snode;

static int echo(int dst, int64_t v, struct m3_msg *r)
{
	memset(r, 0, sizeof(*r));
	r->m_type = RT_ECHO;
	*rt_w(r, 0) = v;
	return m3_sendrec(dst, r, 10000);
}

static int req(int type, int64_t a, int64_t b, struct m3_msg *r)
{
	memset(r, 0, sizeof(*r));
	r->m_type = type;
	*rt_w(r, 0) = a;
	*rt_w(r, 1) = b;
	return m3_sendrec(srv, r, 10000);
}

static void mode_basic(void)
{
	struct m3_proc_info pi;
	struct m3_msg m, r;
	char line[256];
	int ret, found;
	FILE *f;

	is(m3_rmtbind(dcid, srv, snode, "rt_server"), 0, "rmtbind again: idempotent");
	is(m3_proc_info(dcid, M3_EP_SLOT(srv), &pi), 0, "proc_info of the remote slot");
	ok(pi.endpoint == srv && pi.node == snode && pi.pid == 0,
	   "remote descriptor: endpoint %d node %d pid 0", pi.endpoint, pi.node);

	ret = echo(srv, 41, &r);
	is(ret, 0, "sendrec to the remote server");
	ok(r.m_type == RT_ECHO_R && *rt_w(&r, 0) == 42 && r.m_source == srv,
	   "reply type %d value %lld from %d", r.m_type, (long long)*rt_w(&r, 0), r.m_source);

	is(req(RT_ECHO, 1, 0, &r) == 0 ? 0 : -1, 0, "sendrec again");
	{
		int64_t before = *rt_w(&r, 1);

		memset(&m, 0, sizeof(m));
		m.m_type = RT_SEND;
		*rt_w(&m, 0) = 4711;
		is(m3_send(srv, &m, 5000), 0, "send to the remote server (acked)");
		is(echo(srv, 0, &r), 0, "sendrec after send");
		is(*rt_w(&r, 1), before + 1, "the server counted the send");
		is(*rt_w(&r, 3), 4711, "... with its payload");
	}
	{
		int64_t before = *rt_w(&r, 2);

		/* the frame says HARDWARE; the server's node uses the level
		 * its admin gave us there (KERNEL): KERNEL -> KERNEL */
		m3_setpriv(dcid, M3_SELF, M3_PRIV_HARDWARE);
		is(m3_notify(srv), 0, "notify claiming HARDWARE: accepted locally (no answer for NOTIFY)");
		m3_setpriv(dcid, M3_SELF, M3_PRIV_KERNEL);
		is(echo(srv, 0, &r), 0, "sendrec after notify");
		is(*rt_w(&r, 2), before, "... dropped there: our level on the server's node is KERNEL, whatever the frame claims");
		is(req(RT_NTFYGRANT, 0, 0, &r), 0, "the server's node gives us HARDWARE for one notification");
		is(*rt_w(&r, 0), 0, "... setpriv there succeeded");
		is(m3_notify(srv), 0, "notify the remote server (HARDWARE -> KERNEL there)");
		ret = m3_receive(srv, &m, 5000);
		ok(!ret && m.m_type == RT_BACK && *rt_w(&m, 0) == 1,
		   "the server received it (%s, type %d, w0 %lld)", errname(ret),
		   m.m_type, (long long)*rt_w(&m, 0));
		is(echo(srv, 0, &r), 0, "sendrec after notify (our level there back to KERNEL)");
		is(*rt_w(&r, 2), before + 1, "the server received exactly one notification");
	}
	is(req(RT_RECVFROM, me, 0, &r), 0, "ask the server to receive from us");
	memset(&m, 0, sizeof(m));
	m.m_type = RT_SEND;
	*rt_w(&m, 0) = 9999;
	is(m3_send(srv, &m, 5000), 0, "send to a server in receive(our endpoint)");
	is(echo(srv, 0, &r), 0, "sendrec after it");
	is(*rt_w(&r, 3), 9999, "remote receive(src) got our message");

	is(req(RT_SENDBACK, 0, 0, &r), 0, "ask the server to send to us");
	ret = m3_receive(srv, &m, 5000);
	is(ret, 0, "receive from the remote endpoint");
	ok(!ret && m.m_type == RT_BACK && *rt_w(&m, 0) == 77 && m.m_source == srv,
	   "message from the remote server (type %d source %d)", m.m_type, m.m_source);

	/* the server notifies as HARDWARE; here its level is ours to give */
	is(m3_setpriv(dcid, srv, M3_PRIV_HARDWARE), 0, "setpriv the server's descriptor here to HARDWARE");
	is(req(RT_NOTIFYBACK, 0, 0, &r), 0, "ask the server to notify us");
	ret = m3_receive(M3_ANY, &m, 5000);
	ok(!ret && m.m_type == M3_MTYPE_NOTIFY && m.m_source == srv,
	   "receive(ANY) gets the remote notification (%s, source %d)", errname(ret), m.m_source);
	is(m3_setpriv(dcid, srv, M3_PRIV_KERNEL), 0, "the server's descriptor back to KERNEL");

	is(req(RT_RQ, 0, 0, &r), 0, "ask the server to rcvrqst");
	memset(&m, 0, sizeof(m));
	m.m_type = RT_SEND;
	is(m3_send(srv, &m, 500), -ETIMEDOUT, "plain send to a server in rcvrqst: -ETIMEDOUT");
	ret = echo(srv, 5, &r);
	ok(!ret && r.m_type == RT_RQ_R && *rt_w(&r, 0) == RT_ECHO,
	   "rcvrqst took the sendrec, not the stale send (%s, type %d)", errname(ret), r.m_type);
	is(echo(srv, 6, &r), 0, "the server is back in its loop");

	r.m_type = RT_ECHO;
	*rt_w(&r, 0) = 1;
	is(m3_sendrec(srv, &r, 0), 0, "sendrec with timeout 0 to a receiving remote server");

	is(req(RT_GRANT, M3_PRIV_SERVER, 0, &r), 0, "the server's node lowers our level there to SERVER");
	is(m3_send(srv, &m, 5000), -EACCES, "send (SERVER there) -> KERNEL refused on the remote node: -EACCES");
	is(req(RT_GRANT, M3_PRIV_KERNEL, 0, &r), 0, "... and gives us KERNEL again");
	m3_setpriv(dcid, M3_SELF, M3_PRIV_USER);
	is(m3_send(srv, &m, 5000), -EACCES, "send as USER: -EACCES (local check)");
	is(echo(srv, 1, &r), 0, "sendrec USER -> KERNEL allowed");
	m3_setpriv(dcid, M3_SELF, M3_PRIV_KERNEL);

	{
		int ghost = M3_ENDPOINT(1, 60);	/* slot 60: unused by the lab script */

		is(m3_rmtbind(dcid, ghost, snode, "ghost"), 0, "rmtbind a slot nobody holds there");
		ret = echo(ghost, 0, &r);
		ok(ret == -ESTALE || ret == -EPIPE,
		   "sendrec to it: refused by the remote node (%s: -ESTALE if the slot never had that generation, else -EPIPE)",
		   errname(ret));
		is(m3_unbind(dcid, ghost), 0, "unbind the remote descriptor");
		is(echo(ghost, 0, &r), -EPIPE, "after unbind: -EPIPE locally");
		is(m3_rmtbind(dcid, me, snode, "x"), -EBUSY, "rmtbind over a local process: -EBUSY");
	}
	{
		int nop = M3_ENDPOINT(1, 61);

		is(m3_add_node(dcid, 63), 0, "add node 63 (no proxy) to the DC");
		is(m3_rmtbind(dcid, nop, 63, "noproxy"), 0, "rmtbind a process of node 63");
		is(echo(nop, 0, &r), -ENOLINK, "sendrec to a node without proxy: -ENOLINK");
		is(m3_del_node(dcid, 63), 0, "del node 63 unbinds it");
		is(echo(nop, 0, &r), -EPIPE, "then: -EPIPE");
	}
	found = 0;
	f = fopen("/proc/m3ipc/proxies", "r");
	while (f && fgets(line, sizeof(line), f)) {
		int node;

		if (sscanf(line, "%d ", &node) == 1 && node == snode &&
		    strstr(line, " up"))
			found = 1;
	}
	if (f)
		fclose(f);
	ok(found, "/proc/m3ipc/proxies: node %d up", snode);
}

/* sizes up to @max bytes (0: all, up to 4 MiB) */
static void mode_vcopy(size_t max)
{
	static const size_t sizes[] = { 1, 2, 100, 4095, 4096, 4097, 16383,
					16384, 16385, 65543, (1 << 20) + 3,
					4 << 20 };
	struct m3_msg r;
	uint8_t *lb;
	uint64_t rb;
	size_t i, k, bad;
	long t0;
	int ret;

	lb = malloc(RT_BUF_SIZE + 64);
	if (!lb)
		bail("malloc", -ENOMEM);
	is(req(RT_GETBUF, 0, 0, &r), 0, "server buffer address");
	rb = *rt_w(&r, 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];

		if (max && n > max)
			break;
		for (k = 0; k < n; k++)
			lb[k] = rt_pat(i * 2, k);
		t0 = now_ms();
		ret = m3_vcopy(M3_SELF, lb, srv, (void *)(uintptr_t)rb, n);
		is(ret, 0, "vcopy %zu B local -> remote (%ld ms)", n, now_ms() - t0);
		req(RT_CHECK, i * 2, n, &r);
		is(*rt_w(&r, 0), 0, "remote buffer matches byte for byte (%zu B)", n);

		req(RT_FILL, i * 2 + 1, n, &r);
		memset(lb, 0, n + 16);
		t0 = now_ms();
		ret = m3_vcopy(srv, (void *)(uintptr_t)rb, M3_SELF, lb, n);
		is(ret, 0, "vcopy %zu B remote -> local (%ld ms)", n, now_ms() - t0);
		for (bad = 0, k = 0; k < n; k++)
			bad += lb[k] != rt_pat(i * 2 + 1, k);
		for (k = n; k < n + 16; k++)
			bad += lb[k] != 0;
		is(bad, 0, "local buffer matches, neighbours untouched (%zu B)", n);
	}
	ret = m3_vcopy(M3_SELF, lb, srv, (void *)8, 100);
	is(ret, -EFAULT, "vcopy to an unmapped remote address: -EFAULT");
	/* a window of 8 chunks asked for at once, failing at its first */
	ret = m3_vcopy(srv, (void *)8, M3_SELF, lb, 1 << 20);
	is(ret, -EFAULT, "vcopy of 1 MiB from an unmapped remote address: -EFAULT");
	/* windows sent without waiting: the failure of an unanswered chunk
	 * comes back with the window's last one, and is not kept after it */
	ret = m3_vcopy(M3_SELF, lb, srv, (void *)8, 1 << 20);
	is(ret, -EFAULT, "vcopy of 1 MiB to an unmapped remote address: -EFAULT");
	ret = m3_vcopy(M3_SELF, lb, srv, (void *)(uintptr_t)rb, 4096);
	is(ret, 0, "... and the next vcopy to the remote process succeeds");
	{
		uint8_t *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ret = m3_vcopy(srv, (void *)(uintptr_t)rb, M3_SELF, ro, 100);
		is(ret, -EFAULT, "vcopy from remote into read-only local memory: -EFAULT");
	}
	m3_setpriv(dcid, M3_SELF, M3_PRIV_TASK);
	is(m3_vcopy(M3_SELF, lb, srv, (void *)(uintptr_t)rb, 10), -EACCES,
	   "vcopy as TASK: -EACCES");
	m3_setpriv(dcid, M3_SELF, M3_PRIV_KERNEL);
	free(lb);
}

static void mode_load(int n)
{
	struct m3_msg r;
	int i, bad = 0, err = 0;
	long t0 = now_ms();

	for (i = 0; i < n; i++) {
		int ret = echo(srv, i, &r);

		if (ret) {
			if (!err)
				diag("sendrec %d: %s", i, errname(ret));
			err++;
		} else if (*rt_w(&r, 0) != i + 1 || r.m_source != srv) {
			bad++;
		}
	}
	ok(!err && !bad, "%d sendrecs to node %d: %d errors, %d bad replies, %ld ms",
	   n, snode, err, bad, now_ms() - t0);
}

/* KERNEL for the server here (we are root) and for us on its node */
static void grant_kernel(void)
{
	struct m3_msg r;

	is(m3_setpriv(dcid, srv, M3_PRIV_KERNEL), 0,
	   "setpriv KERNEL for the server's descriptor on this node");
	is(req(RT_GRANT, M3_PRIV_KERNEL, 0, &r), 0,
	   "ask the server's node to give our descriptor KERNEL there");
	is(*rt_w(&r, 0), 0, "... setpriv there succeeded");
}

static int errno_arg(const char *s)
{
	if (!strcmp(s, "EPIPE"))
		return -EPIPE;
	if (!strcmp(s, "EHOSTDOWN"))
		return -EHOSTDOWN;
	if (!strcmp(s, "ECONNRESET"))
		return -ECONNRESET;
	if (!strcmp(s, "ENOTCONN"))
		return -ENOTCONN;
	if (!strcmp(s, "ETIMEDOUT"))
		return -ETIMEDOUT;
	if (!strcmp(s, "ENOMEM"))
		return -ENOMEM;
	return -atoi(s);
}

int main(int argc, char **argv)
{
	const char *mode;
	struct m3_msg r;

	if (argc < 6) {
		fprintf(stderr, "usage: rt_client DC SLOT SERVER_EP SERVER_NODE MODE [ARGS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	me = rt_bind(argv[1], atoi(argv[2]), M3_PRIV_KERNEL, &dcid);
	srv = atoi(argv[3]);
	snode = atoi(argv[4]);
	mode = argv[5];
	is(m3_rmtbind(dcid, srv, snode, "rt_server"), 0, "rmtbind server %d of node %d", srv, snode);

	if (!strcmp(mode, "basic")) {
		grant_kernel();
		mode_basic();
	} else if (!strcmp(mode, "vcopy") && argc <= 7) {
		grant_kernel();
		mode_vcopy(argc == 7 ? strtoul(argv[6], NULL, 0) : 0);
	} else if (!strcmp(mode, "peek") && argc == 8) {
		int ret = req(RT_PEEK, atoll(argv[6]), atoll(argv[7]), &r);

		is(ret, 0, "peek at the server's buffer");
		printf("nonzero=%lld\n", ret ? -1LL : (long long)*rt_w(&r, 0));
	} else if (!strcmp(mode, "load") && argc == 7) {
		mode_load(atoi(argv[6]));
	} else if (!strcmp(mode, "hang") && (argc == 8 || argc == 9)) {
		int exp = errno_arg(argv[6]), ret, pfd[2];
		long t0 = now_ms(), dt;
		pid_t kid = -1;

		/* ACTION: a shell command run 1 s after the call started; the
		 * limit is then measured from the action, on this node */
		if (argc == 9) {
			if (pipe(pfd))
				bail("pipe", -errno);
			fflush(stdout);
			kid = fork();
			if (!kid) {
				long t;

				msleep(1000);
				t = now_ms();
				if (system(argv[8]) != 0)
					t = -1;
				if (write(pfd[1], &t, sizeof(t)) != sizeof(t))
					_exit(1);
				_exit(0);
			}
		}
		memset(&r, 0, sizeof(r));
		r.m_type = RT_HANG;
		ret = m3_sendrec(srv, &r, 30000);
		dt = now_ms() - t0;
		is(ret, exp, "blocked sendrec ends with %s", errname(exp));
		if (kid > 0) {
			long ta = -1;

			if (read(pfd[0], &ta, sizeof(ta)) != sizeof(ta))
				ta = -1;
			waitpid(kid, NULL, 0);
			ok(ta > 0, "action ran: %s", argv[8]);
			dt = now_ms() - ta;
			ok(ta > 0 && dt <= atol(argv[7]),
			   "... %ld ms after the action (limit %s ms)", dt, argv[7]);
		} else {
			ok(dt <= atol(argv[7]), "... after %ld ms (limit %s ms)", dt, argv[7]);
		}
	} else if (!strcmp(mode, "vcopy-stuck") && argc == 10) {
		long tmo = atol(argv[7]), max = atol(argv[8]), t0, dt;
		static char lb[65536];
		int ret;

		grant_kernel();
		fflush(stdout);
		ok(system(argv[9]) == 0, "action ran: %s", argv[9]);
		t0 = now_ms();
		ret = m3_vcopy_T(srv, (void *)(uintptr_t)strtoull(argv[6], NULL, 0),
				 M3_SELF, lb, sizeof(lb), (int)tmo);
		dt = now_ms() - t0;
		is(ret, -ETIMEDOUT, "remote vcopy with a %ld ms bound ends with -ETIMEDOUT", tmo);
		ok(dt >= tmo - 10 && dt <= max, "... after %ld ms (bound %ld, limit %ld ms)", dt, tmo, max);
	} else if (!strcmp(mode, "vcopy-fail") && argc == 8) {
		size_t n = strtoul(argv[6], NULL, 0), k;
		int exp = errno_arg(argv[7]), ret;
		uint8_t *lb = malloc(n);
		uint64_t rb;

		if (!lb)
			bail("malloc", -ENOMEM);
		grant_kernel();
		is(req(RT_GETBUF, 0, 0, &r), 0, "server buffer address");
		rb = *rt_w(&r, 0);
		for (k = 0; k < n; k++)
			lb[k] = rt_pat(7, k);
		ret = m3_vcopy(M3_SELF, lb, srv, (void *)(uintptr_t)rb, n);
		is(ret, exp, "vcopy %zu B local -> remote with a chunk refused there: %s, never success",
		   n, errname(exp));
		req(RT_CHECK, 7, n, &r);
		diag("bytes of the server's buffer that differ from what was sent: %lld",
		     (long long)*rt_w(&r, 0));
		ret = m3_vcopy(M3_SELF, lb, srv, (void *)(uintptr_t)rb, n);
		is(ret, 0, "the same vcopy again succeeds");
		req(RT_CHECK, 7, n, &r);
		is(*rt_w(&r, 0), 0, "... remote buffer matches byte for byte");
		free(lb);
	} else if (!strcmp(mode, "stale") && argc == 7) {
		int old = atoi(argv[6]);

		is(echo(old, 1, &r), -ESTALE, "sendrec to the old endpoint: -ESTALE");
		is(echo(srv, 1, &r), 0, "sendrec to the new server works");
		is(*rt_w(&r, 0), 2, "... and it replies");
	} else if (!strcmp(mode, "exit")) {
		is(req(RT_EXIT, 0, 0, &r), 0, "server told to exit");
	} else {
		fprintf(stderr, "rt_client: bad mode or arguments\n");
		return 2;
	}
	return tap_done();
}
