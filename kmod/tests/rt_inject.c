// SPDX-License-Identifier: GPL-2.0
/*
 * rt_inject - plays a proxy's sender towards a receiver proxy, to show what
 * the receiver refuses (remote tests; needs no /dev/m3ipc).
 *
 *   rt_inject NODE PEER ADDR PORT KEY MODE [ARGS]
 *
 * Connects to ADDR:PORT (the receiver of PEER for NODE listens on
 * base + NODE) as node NODE. KEY: the cluster key file, or "-" for a
 * random (wrong) link key. With a cluster key the link key is derived
 * (identity.h) from it, the node secret key in $M3_NODE_KEY (default
 * /etc/m3ipc-node.key) and the public keys of NODE and PEER in
 * $M3_CLUSTER_PUB (default /etc/m3ipc-cluster.pub): a node key that is
 * not NODE's is how a member plays another member. Frames carry the source node NODE and are addressed
 * to node PEER. MODE:
 *   v1 DC SRC DST ADDR TEXT    no handshake: a wire-version-1 HELLO and a
 *                              COPYIN_DATA claiming KERNEL (the attack of
 *                              issue 8 against an unauthenticated proxy)
 *   forge DC SRC DST ADDR TEXT handshake with KEY, going on even if the
 *                              receiver's proof does not match it; then a
 *                              HELLO and that COPYIN_DATA
 *   handshake                  the handshake alone, then close (whether
 *                              the receiver takes these keys as NODE)
 *   replay                     with the right key: a HELLO sent twice in one
 *                              connection, then that HELLO sent as the first
 *                              frame of a second connection
 *   vcopy DC SRC DST ADDR TEXT [ADDR2 TEXT2]
 *                              with the right key: HELLO, a COPYIN_DATA of
 *                              TEXT to ADDR in DST claiming KERNEL from SRC
 *                              ("sent 1"); with ADDR2, heartbeats until
 *                              SIGUSR1 (20 s at most), then TEXT2 to ADDR2
 *                              ("sent 2"); heartbeats for 500 ms, exit.
 * Prints one line per step; "closed=1" when the receiver closed the
 * connection. Exit 0 when every step could be carried out, 1 otherwise.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "../proxy/auth.h"
#include "../proxy/identity.h"

static int node, peer;
static uint8_t key[M3A_KEY_LEN];
static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	go = 1;
}

static void msleep_(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR && !go)
		;
}

static int conn(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { 2, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	sa.sin_port = htons(port);
	if (fd < 0 || !inet_aton(addr, &sa.sin_addr) ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("connect=failed %s\n", strerror(errno));
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int put(int fd, const void *p, size_t n)
{
	return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* handshake as the client; 0 ok, -1 the receiver closed or failed */
static int handshake(int fd, struct m3a_link *l, bool ignore_proof)
{
	struct m3a_hs hs = { .cnode = node, .snode = peer };
	uint8_t rec[M3A_HS_LEN], mac[M3A_MAC_LEN];
	const char *why = NULL;
	size_t got = 0;

	m3a_client_hello(&hs, rec);
	if (put(fd, rec, sizeof(rec)))
		return -1;
	while (got < sizeof(rec)) {
		ssize_t r = read(fd, rec + got, sizeof(rec) - got);

		if (r <= 0) {
			printf("handshake=closed\n");
			return -1;
		}
		got += r;
	}
	if (m3a_client_proof(key, &hs, rec, rec, &why)) {
		if (!ignore_proof) {
			printf("handshake=failed %s\n", why);
			return -1;
		}
		printf("handshake=server-proof-mismatch (going on with our proof)\n");
		memcpy(hs.ns, rec + 16, M3A_NONCE_LEN);
		m3a_proof(key, 'C', &hs, mac);
		m3a_hs_put(rec, M3A_CLIENT_PROOF, &hs, NULL, mac);
	} else {
		printf("handshake=ok\n");
	}
	if (put(fd, rec, sizeof(rec)))
		return -1;
	m3a_link_init(l, key, &hs, true);
	return 0;
}

static void hdr(struct m3_rhdr *h, unsigned int cmd, uint64_t seq)
{
	memset(h, 0, sizeof(*h));
	h->cmd = cmd;
	h->dcid = -1;
	h->src = M3_NONE;
	h->dst = M3_NONE;
	h->snode = node;
	h->dnode = peer;
	h->priv = M3_PRIV_KERNEL;	/* the claim the receiver must ignore */
	h->seq = seq;
}

/* one sealed frame into buf; its length */
static size_t frame(struct m3a_link *l, const struct m3_rhdr *h,
		    const void *payload, uint8_t *buf)
{
	m3a_seal(l, h, payload, buf, buf + M3W_HDR_LEN + h->len);
	if (h->len)
		memcpy(buf + M3W_HDR_LEN, payload, h->len);
	return M3W_HDR_LEN + h->len + m3a_mac_len(l);
}

static size_t copyin(struct m3a_link *l, int dc, int src, int dst,
		     uint64_t addr, const char *text, uint64_t seq, uint8_t *buf)
{
	struct m3_rhdr h;

	hdr(&h, M3_CMD_COPYIN_DATA, seq);
	/* a window of one chunk (FIRST, count 1, id = its own seq) */
	h.flags = M3_RF_FIRST;
	h.count = 1;
	h.ack = seq;
	h.dcid = dc;
	h.src = src;
	h.dst = dst;
	h.addr = addr;
	h.len = strlen(text);
	return frame(l, &h, text, buf);
}

/* 1 if the receiver closed the connection within @ms (HELLO_ACKs skipped) */
static int closed_within(int fd, int ms)
{
	uint8_t b[512];
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long left;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - ((t.tv_sec - t0.tv_sec) * 1000 +
			     (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, left) <= 0)
			return 0;
		if (read(fd, b, sizeof(b)) <= 0)
			return 1;
	}
}

int main(int argc, char **argv)
{
	static uint8_t buf[2][M3W_HDR_LEN + 4096 + M3A_MAC_LEN];
	struct m3a_link l;
	struct m3_rhdr h;
	const char *why, *mode;
	size_t n;
	int fd, port;

	if (argc < 7) {
		fprintf(stderr, "usage: rt_inject NODE PEER ADDR PORT KEY MODE [ARGS]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sodium_init() < 0)
		return 1;
	node = atoi(argv[1]);
	peer = atoi(argv[2]);
	port = atoi(argv[4]);
	mode = argv[6];
	if (!strcmp(argv[5], "-")) {
		randombytes_buf(key, sizeof(key));
		printf("key=random\n");
	} else if (m3a_load_key(argv[5], key, &why)) {
		printf("key=unusable %s\n", why);
		return 1;
	} else {
		const char *skf = getenv("M3_NODE_KEY"), *pubf = getenv("M3_CLUSTER_PUB");
		uint8_t sk[M3I_SK_LEN], pkn[M3I_PK_LEN], pkp[M3I_PK_LEN];

		skf = skf ? skf : "/etc/m3ipc-node.key";
		pubf = pubf ? pubf : "/etc/m3ipc-cluster.pub";
		if (m3a_load_key(skf, sk, &why) ||
		    m3i_cluster_pk(pubf, node, pkn, &why) ||
		    m3i_cluster_pk(pubf, peer, pkp, &why) ||
		    m3i_link_key(key, sk, pkn, pkp, true, key)) {
			printf("key=unusable %s\n", why);
			return 1;
		}
		printf("key=%s\nidentity=node %d %s\n", argv[5], node,
		       m3i_key_matches(sk, pkn) ? "(its own key)" :
		       "(another node's key)");
	}

	if (!strcmp(mode, "v1") && argc == 12) {
		/* version 1: an 80-byte header, no handshake, no MAC */
		uint8_t *p = buf[0];

		fd = conn(argv[3], port);
		hdr(&h, M3_CMD_HELLO, 1);
		m3w_encode(&h, 0, p);
		m3w_put16(p + 4, 1);
		n = 80;
		hdr(&h, M3_CMD_COPYIN_DATA, 2);
		h.dcid = atoi(argv[7]);
		h.src = atoi(argv[8]);
		h.dst = atoi(argv[9]);
		h.addr = strtoull(argv[10], NULL, 0);
		h.len = strlen(argv[11]);
		m3w_encode(&h, 0, p + n);
		m3w_put16(p + n + 4, 1);
		memcpy(p + n + 80, argv[11], h.len);
		n += 80 + h.len;
		printf("sent=%s\n", put(fd, p, n) ? "failed" : "v1 HELLO + COPYIN_DATA");
		printf("closed=%d\n", closed_within(fd, 2000));
		return 0;
	}
	if (!strcmp(mode, "forge") && argc == 12) {
		fd = conn(argv[3], port);
		if (handshake(fd, &l, true)) {
			printf("closed=1\n");
			return 0;
		}
		hdr(&h, M3_CMD_HELLO, 1);
		n = frame(&l, &h, NULL, buf[0]);
		n += copyin(&l, atoi(argv[7]), atoi(argv[8]), atoi(argv[9]),
			    strtoull(argv[10], NULL, 0), argv[11], 2, buf[0] + n);
		printf("sent=%s\n", put(fd, buf[0], n) ? "failed" : "HELLO + COPYIN_DATA");
		printf("closed=%d\n", closed_within(fd, 2000));
		return 0;
	}
	if (!strcmp(mode, "handshake") && argc == 7) {
		fd = conn(argv[3], port);
		if (handshake(fd, &l, false))
			return 1;
		close(fd);
		return 0;
	}
	if (!strcmp(mode, "replay") && argc == 7) {
		size_t n0;

		fd = conn(argv[3], port);
		if (handshake(fd, &l, false))
			return 1;
		hdr(&h, M3_CMD_HELLO, 1);
		n0 = frame(&l, &h, NULL, buf[0]);
		if (put(fd, buf[0], n0) || closed_within(fd, 300)) {
			printf("first HELLO refused\n");
			return 1;
		}
		printf("sent=HELLO lseq 0 (accepted)\n");
		if (put(fd, buf[0], n0))
			return 1;
		printf("sent=the same HELLO again\n");
		printf("closed=%d\n", closed_within(fd, 2000));
		close(fd);
		fd = conn(argv[3], port);
		if (handshake(fd, &l, false))
			return 1;
		if (put(fd, buf[0], n0))
			return 1;
		printf("sent=that HELLO into a new connection\n");
		printf("closed=%d\n", closed_within(fd, 2000));
		return 0;
	}
	if (!strcmp(mode, "alter") && argc == 7) {
		/* an established link (on the kernel path: the module's by
		 * now), then a frame changed after its MAC was computed */
		fd = conn(argv[3], port);
		if (handshake(fd, &l, false))
			return 1;
		hdr(&h, M3_CMD_HELLO, 1);
		n = frame(&l, &h, NULL, buf[0]);
		if (put(fd, buf[0], n) || closed_within(fd, 300)) {
			printf("first HELLO refused\n");
			return 1;
		}
		printf("sent=HELLO lseq 0 (accepted)\n");
		hdr(&h, M3_CMD_HELLO, 2);
		n = frame(&l, &h, NULL, buf[0]);
		buf[0][43] ^= 1;	/* its count, low byte */
		if (put(fd, buf[0], n))
			return 1;
		printf("sent=a HELLO altered after its MAC\n");
		printf("closed=%d\n", closed_within(fd, 2000));
		return 0;
	}
	if (!strcmp(mode, "vcopy") && (argc == 12 || argc == 14)) {
		uint64_t seq = 1;
		int i;

		signal(SIGUSR1, on_usr1);
		fd = conn(argv[3], port);
		if (handshake(fd, &l, false))
			return 1;
		hdr(&h, M3_CMD_HELLO, seq++);
		n = frame(&l, &h, NULL, buf[0]);
		n += copyin(&l, atoi(argv[7]), atoi(argv[8]), atoi(argv[9]),
			    strtoull(argv[10], NULL, 0), argv[11], seq++,
			    buf[0] + n);
		if (put(fd, buf[0], n))
			return 1;
		printf("sent 1\n");
		for (i = 0; argc == 14 && !go && i < 200; i++) {
			hdr(&h, M3_CMD_HELLO, seq++);
			n = frame(&l, &h, NULL, buf[1]);
			if (put(fd, buf[1], n) || closed_within(fd, 100)) {
				printf("closed=1\n");
				return 1;
			}
		}
		if (argc == 14) {
			if (!go) {
				printf("no SIGUSR1\n");
				return 1;
			}
			n = copyin(&l, atoi(argv[7]), atoi(argv[8]),
				   atoi(argv[9]), strtoull(argv[12], NULL, 0),
				   argv[13], seq++, buf[0]);
			if (put(fd, buf[0], n))
				return 1;
			printf("sent 2\n");
		}
		for (i = 0; i < 5; i++) {
			hdr(&h, M3_CMD_HELLO, seq++);
			n = frame(&l, &h, NULL, buf[1]);
			if (put(fd, buf[1], n))
				break;
			msleep_(100);
		}
		printf("closed=%d\n", closed_within(fd, 0));
		return 0;
	}
	fprintf(stderr, "rt_inject: bad mode or arguments\n");
	return 2;
}
