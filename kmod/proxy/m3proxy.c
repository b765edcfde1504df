// SPDX-License-Identifier: GPL-2.0
/*
 * m3proxy - the M3-IPC proxies for one remote node.
 *
 *   m3proxy --node LOCAL --peer REMOTE --peer-addr IPv4
 *           (--key FILE --node-key FILE --cluster FILE | --insecure)
 *           [--base-port 900] [--heartbeat-ms 200] [--timeout-ms 1000]
 *           [--max-payload 65536] [--data-path kernel|user]
 *   m3proxy --keygen FILE       a new node key pair: the secret key into
 *                               FILE (mode 0600), the public key on stdout
 *
 * --key FILE: the cluster key (32 bytes, mode 0600; auth.h); --node-key
 * FILE: this node's secret key; --cluster FILE: the nodes' public keys by
 * node id (identity.h). Every connection starts with a mutual
 * challenge-response under a key only the two nodes of the link can
 * derive, and every frame carries a link sequence number and a MAC.
 * Without them the proxy refuses to run unless --insecure is given (then
 * links are not authenticated, as with wire version 1, and it says so
 * loudly).
 *
 * Forks a sender and a receiver process and registers them with
 * proxy_bind(REMOTE, sender, receiver, max payload); the parent stays as a
 * supervisor (if one child dies, it kills the other and exits 1; SIGTERM /
 * SIGINT: proxy_unbind, kill both, exit 0).
 *
 * Ports (the notes: "each proxy listens on BASE_PORT + remote node id"):
 *   the RECEIVER for peer P listens on 0.0.0.0:(base + P) and accepts only
 *   connections from --peer-addr; the SENDER for peer P connects to
 *   peer-addr:(base + LOCAL), where P's receiver for us listens.
 *   The default base, 900, keeps every port (900..963) below 1024, where
 *   only root may bind (net.ipv4.ip_unprivileged_port_start): an ordinary
 *   user of the node cannot take a receiver's port before the proxy does.
 *   A receiver that cannot listen (the port taken, whatever the cause)
 *   says why and tries again with a bounded backoff (100 ms doubling to
 *   2 s) until it can; it never exits for it.
 *
 * Sender: connect, handshake (client), then get2rmt() -> seal (auth.h,
 * wire.h) -> writev; a HELLO every
 * heartbeat; reads HELLO_ACKs on the same connection. No HELLO_ACK for the
 * timeout, a write error or a closed connection: node_down(peer), close,
 * reconnect every heartbeat period; a failed connect also marks the node
 * down (once per failure streak). The node comes up again when the peer's
 * HELLO reaches our receiver.
 * Every HELLO announces the sender's --max-payload (count); the peer's
 * kernel sends us frames of at most the smaller of that and its own, so
 * two ends with different --max-payload work with the smaller one.
 * Receiver: handshake (server), then read -> validate -> MAC and link
 * sequence -> put2lcl(); answers HELLO with HELLO_ACK
 * (HELLO also tells the kernel the node is up and the peer's max payload). A peer silent for the
 * timeout or a closed connection: node_down(peer); a frame that fails
 * validation or authentication closes the connection (reason on stderr).
 * A new connection from the peer replaces the old one once it passed the
 * handshake and its first frame is a valid HELLO; one that fails before
 * is closed alone.
 * Refused handshakes and frames (both processes) are counted in a shared
 * counter; the receiver reports the total to the kernel (put2lcl of a
 * local-only M3_CMD_RSTATS frame), shown as "rejected" in
 * /proc/m3ipc/proxies.
 * One line per connection event on stderr.
 *
 * --data-path kernel (the default; issue 22): once a connection is
 * authenticated (and, sender side, its first HELLO sent; receiver side,
 * the peer's first HELLO answered), the proxy hands the socket, the frame
 * keys and the link sequence numbers to the module (link_set): the module
 * then seals and sends this node's frames from the callers' own system
 * calls and reads, checks and delivers the peer's, answering HELLOs. The
 * sender proxy still times the HELLOs (link_hello) and reads the
 * HELLO_ACKs; both still connect, reconnect and handshake. A module that
 * cannot take a link (no hmac(sha512)) leaves it to the proxy, which says
 * so. --data-path user: the proxies carry every frame, as before.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lib/libm3ipc.h"
#include "wire.h"
#include "auth.h"
#include "identity.h"

static int local_id = -1, peer_id = -1, base_port = 900;
static int hb_ms = 200, tmo_ms = 1000;
/* a remote vcopy chunk: 4x fewer round trips than 16 KiB, twice the rate */
static unsigned int max_payload = 65536;
static struct in_addr peer_addr;
static const char *role = "parent";
/* link keys (identity.h): of our sender's links (we are the client) and of our receiver's */
static uint8_t key_tx[M3A_KEY_LEN], key_rx[M3A_KEY_LEN];
static bool insecure;
/* --data-path: the module carries the frames (issue 22) or this proxy does */
static bool kernel_path = true;
/* refused handshakes and frames of both processes (shared page) */
static uint64_t *nrej;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void vlogm(const char *fmt, va_list ap)
{
	struct timespec ts;
	char buf[512];
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(buf, sizeof(buf), "%ld.%03ld m3proxy[%d] node %d peer %d %s: ",
		     (long)ts.tv_sec, ts.tv_nsec / 1000000, getpid(), local_id,
		     peer_id, role);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, n) < 0)
		return;
}

static void logm(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogm(fmt, ap);
	va_end(ap);
}

/*
 * The lines of a connection that is not (yet) the link: accepted, refused,
 * closed before its handshake and HELLO. Anyone who can reach the port can
 * make one per connect, so they are rate-limited (a token bucket): bursts
 * of LOGC_BURST lines, then one per LOGC_MS; the lines left out are
 * counted and the count is logged before the next line that goes out.
 * Refusals are still counted in "rejected" (/proc/m3ipc/proxies).
 */
#define LOGC_BURST	30
#define LOGC_MS		500

static void logc(const char *fmt, ...)
{
	static unsigned int tokens = LOGC_BURST;
	static unsigned long dropped;
	static uint64_t refill;
	uint64_t t = now_ms();
	va_list ap;

	while (tokens < LOGC_BURST && t - refill >= LOGC_MS) {
		tokens++;
		refill += LOGC_MS;
	}
	/* full: the next token is earned from now, not from the last one */
	if (tokens == LOGC_BURST)
		refill = t;
	if (!tokens) {
		dropped++;
		return;
	}
	tokens--;
	if (dropped) {
		logm("%lu connection log line(s) left out (at most %d at once, then one per %d ms)",
		     dropped, LOGC_BURST, LOGC_MS);
		dropped = 0;
	}
	va_start(ap, fmt);
	vlogm(fmt, ap);
	va_end(ap);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static void node_down(const char *why)
{
	int ret = m3_node_down(peer_id);

	logm("node %d marked down (%s)%s", peer_id, why,
	     ret < 0 ? " [node_down failed]" : "");
}

static unsigned long long count_rejected(void)
{
	return __atomic_add_fetch(nrej, 1, __ATOMIC_RELAXED);
}

/* a handshake or frame failed authentication or validation */
static void rejected(const char *what, const char *why)
{
	logm("REFUSED %s: %s (rejected %llu)", what, why, count_rejected());
}

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* header, payload and MAC of one frame in one writev */
static int write_frame(int fd, struct m3a_link *l, const struct m3_rhdr *h,
		       const uint8_t *payload)
{
	uint8_t hdr[M3W_HDR_LEN], mac[M3A_MAC_LEN];
	struct iovec iov[3] = {
		{ hdr, sizeof(hdr) }, { (void *)payload, h->len },
		{ mac, m3a_mac_len(l) },
	};
	int i = 0;

	m3a_seal(l, h, payload, hdr, mac);
	while (i < 3) {
		ssize_t n = writev(fd, iov + i, 3 - i);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		while (i < 3 && (size_t)n >= iov[i].iov_len) {
			n -= iov[i].iov_len;
			i++;
		}
		if (i < 3) {
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + n;
			iov[i].iov_len -= n;
		}
	}
	return 0;
}

/*
 * Frames waiting in the kernel go out together: after the one get2rmt
 * waited for, the sender takes whatever else is queued (get2rmt without
 * waiting) into one buffer of sealed frames and writes it at once, so a
 * burst costs one write and fewer TCP segments, not one of each per frame.
 */
#define OUT_CAP		(256 << 10)

struct outbuf {
	uint8_t *p;
	size_t len;
};

/* does one more frame of up to max_payload bytes fit? */
static bool out_room(const struct outbuf *o)
{
	return o->len + M3W_HDR_LEN + max_payload + M3A_MAC_LEN <= OUT_CAP;
}

/* a frame as get2rmt gave it (struct m3_rhdr + payload), sealed at the end */
static void out_append(struct outbuf *o, struct m3a_link *l,
		       const uint8_t *frame)
{
	uint8_t *w = o->p + o->len;
	struct m3_rhdr h;

	memcpy(&h, frame, sizeof(h));
	memcpy(w + M3W_HDR_LEN, frame + sizeof(h), h.len);
	m3a_seal(l, &h, w + M3W_HDR_LEN, w, w + M3W_HDR_LEN + h.len);
	o->len += M3W_HDR_LEN + h.len + m3a_mac_len(l);
}

static void hello_hdr(struct m3_rhdr *h, unsigned int cmd, uint64_t seq,
		      uint64_t ack)
{
	memset(h, 0, sizeof(*h));
	h->cmd = cmd;
	h->dcid = -1;
	h->src = M3_NONE;
	h->dst = M3_NONE;
	h->snode = local_id;
	h->dnode = peer_id;
	h->priv = M3_PRIV_USER;
	h->seq = seq;
	h->ack = ack;
	h->timestamp = real_ns();
}

/* ---------------- the kernel data path ---------------- */

/*
 * Hand a connected, authenticated link to the module (uapi link_set): its
 * frames are then sealed, sent, read and checked there. 0, or -errno (the
 * proxy then carries this connection itself, as with --data-path user).
 */
static int link_handover(int fd, unsigned int dir, const struct m3a_link *l)
{
	struct m3_link_set ls;
	int ret;

	memset(&ls, 0, sizeof(ls));
	ls.node_id = peer_id;
	ls.fd = fd;
	ls.dir = dir;
	ls.flags = l->secure ? M3_LINKF_SECURE : 0;
	ls.timeout_ms = tmo_ms;
	ls.tx_lseq = l->tx;
	ls.rx_lseq = l->rx;
	memcpy(ls.ktx, l->ktx, sizeof(ls.ktx));
	memcpy(ls.krx, l->krx, sizeof(ls.krx));
	ret = m3_link_set(&ls);
	sodium_memzero(&ls, sizeof(ls));
	return ret;
}

/* the module lets go of our link in @dir (before the proxy closes it) */
static void link_release(unsigned int dir)
{
	struct m3_link_set ls;

	memset(&ls, 0, sizeof(ls));
	ls.node_id = peer_id;
	ls.fd = -1;
	ls.dir = dir;
	m3_link_set(&ls);
}

/* ---------------- sender ---------------- */

/* connected and authenticated, or -1 (*why: NULL = could not connect) */
static int sender_connect(struct m3a_link *l, const char **why)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = tmo_ms / 1000,
			      .tv_usec = (tmo_ms % 1000) * 1000 };
	struct m3a_hs hs = { .cnode = local_id, .snode = peer_id };
	uint8_t rec[M3A_HS_LEN];
	int fd, one = 1;

	*why = NULL;
	sa.sin_addr = peer_addr;
	sa.sin_port = htons(base_port + local_id);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	if (insecure) {
		m3a_link_insecure(l);
		return fd;
	}
	m3a_client_hello(&hs, rec);
	if (write_all(fd, rec, sizeof(rec)) < 0 ||
	    read_full(fd, rec, sizeof(rec)) < 0) {
		*why = "handshake: connection closed or timed out";
		close(fd);
		return -1;
	}
	if (m3a_client_proof(key_tx, &hs, rec, rec, why)) {
		rejected("the peer's handshake", *why);
		close(fd);
		return -1;
	}
	if (write_all(fd, rec, sizeof(rec)) < 0) {
		*why = "handshake: write error";
		close(fd);
		return -1;
	}
	m3a_link_init(l, key_tx, &hs, true);
	sodium_memzero(&hs, sizeof(hs));
	return fd;
}

/*
 * Our HELLO (with our max payload: the link takes the smaller one) written
 * by this proxy. A write error closes the connection (*fd = -1) and takes
 * the node down: -1.
 */
static int hello_out(int *fd, struct m3a_link *l, uint64_t seq)
{
	struct m3_rhdr h;

	hello_hdr(&h, M3_CMD_HELLO, seq, 0);
	h.count = max_payload;
	if (write_frame(*fd, l, &h, NULL) == 0)
		return 0;
	logm("closing connection: write error: %s", strerror(errno));
	close(*fd);
	*fd = -1;
	node_down("write error");
	return -1;
}

static void run_sender(void)
{
	size_t buflen = sizeof(struct m3_rhdr) + max_payload;
	uint8_t *buf = malloc(buflen), in[4 * (M3W_HDR_LEN + M3A_MAC_LEN)];
	struct outbuf out = { .p = malloc(OUT_CAP) };
	unsigned int batched;
	uint64_t last_ack = 0, last_hello = 0, hello_seq = 0, last_try = 0;
	size_t inlen = 0;
	bool failing = false;
	struct m3a_link link;
	struct m3_rhdr h;
	int fd = -1, n;
	bool kpath = false;	/* the module sends on this connection */

	if (!buf || !out.p)
		exit(1);
	for (;;) {
		uint64_t t = now_ms();

		if (fd < 0) {
			const char *cwhy;

			if (t - last_try < (uint64_t)hb_ms) {
				usleep(20000);
				continue;
			}
			last_try = t;
			fd = sender_connect(&link, &cwhy);
			if (fd < 0) {
				/* the peer is unreachable: callers must not
				 * wait for it (once per failure streak) */
				if (!failing) {
					logm("connect to %s:%d failed: %s",
					     inet_ntoa(peer_addr),
					     base_port + local_id,
					     cwhy ?: strerror(errno));
					node_down(cwhy ? "handshake failed" :
						  "cannot connect");
				}
				failing = true;
				continue;
			}
			failing = false;
			last_ack = t;
			last_hello = 0;
			inlen = 0;
			kpath = false;
			if (kernel_path) {
				/*
				 * The peer's receiver wants a HELLO first; the
				 * module's frames follow it on the link.
				 */
				if (hello_out(&fd, &link, ++hello_seq) < 0)
					continue;
				last_hello = t;
				n = link_handover(fd, M3_LINK_TX, &link);
				if (n < 0)
					logm("the module cannot take the link (%s): this proxy carries it",
					     strerror(-n));
				kpath = n == 0;
			}
			logm("connected to %s:%d%s, %s data path",
			     inet_ntoa(peer_addr), base_port + local_id,
			     insecure ? " (INSECURE: not authenticated)" :
			     " (authenticated)", kpath ? "kernel" : "user");
		}
		/* HELLO_ACKs coming back */
		for (;;) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			const char *why = NULL;
			ssize_t r;

			if (poll(&pfd, 1, 0) <= 0)
				break;
			r = read(fd, in + inlen, sizeof(in) - inlen);
			if (r <= 0) {
				why = r ? "read error" : "connection closed by peer";
			} else {
				inlen += r;
				while (inlen >= M3W_HDR_LEN + m3a_mac_len(&link) &&
				       !why) {
					size_t fl = M3W_HDR_LEN + m3a_mac_len(&link);
					struct m3_rhdr ah;
					uint64_t lseq;

					if (m3w_decode(in, &ah, &lseq, peer_id,
						       local_id, 0, &why) == 0 &&
					    ah.cmd != M3_CMD_HELLO_ACK)
						why = "unexpected command from the receiver";
					if (!why)
						m3a_open(&link, in, lseq, NULL, 0,
							 in + M3W_HDR_LEN, &why);
					if (why) {
						rejected("a frame from the receiver", why);
						break;
					}
					memmove(in, in + fl, inlen - fl);
					inlen -= fl;
					last_ack = now_ms();
				}
			}
			if (why) {
				logm("closing connection: %s", why);
				if (kpath)
					link_release(M3_LINK_TX);
				close(fd);
				fd = -1;
				node_down(why);
				break;
			}
		}
		if (fd < 0)
			continue;
		t = now_ms();
		if (t - last_ack > (uint64_t)tmo_ms) {
			logm("closing connection: no HELLO_ACK for %d ms", tmo_ms);
			if (kpath)
				link_release(M3_LINK_TX);
			close(fd);
			fd = -1;
			node_down("heartbeat timeout");
			continue;
		}
		if (t - last_hello >= (uint64_t)hb_ms) {
			++hello_seq;
			if (kpath) {
				/* in order with the module's frames */
				n = m3_link_hello(peer_id, hello_seq, max_payload);
				if (n < 0) {
					/* the module closed the link (and
					 * took the node down) or reset it */
					logm("closing connection: the module's link: %s",
					     strerror(-n));
					link_release(M3_LINK_TX);
					close(fd);
					fd = -1;
					continue;
				}
			} else if (hello_out(&fd, &link, hello_seq) < 0) {
				continue;
			}
			last_hello = t;
		}
		n = m3_get2rmt(buf, buflen, hb_ms / 2 ?: 1);
		if (n == -ETIMEDOUT || n == -EAGAIN || n == -EINTR)
			continue;
		if (n >= 0 && kpath) {
			/* the module let go of the link: not ours to go on */
			logm("closing connection: the module gave a frame back (%s)",
			     m3w_cmd_name(((struct m3_rhdr *)buf)->cmd));
			link_release(M3_LINK_TX);
			close(fd);
			fd = -1;
			node_down("link lost");
			continue;
		}
		out.len = 0;
		batched = 0;
		/* a frame, then whatever else is queued; an error stops the
		 * batch and is handled below once the batch is written */
		while (n >= 0) {
			out_append(&out, &link, buf);
			memcpy(&h, buf, sizeof(h));
			batched++;
			if (!out_room(&out))
				break;
			n = m3_get2rmt(buf, buflen, 0);
			if (n == -EAGAIN || n == -ETIMEDOUT || n == -EINTR)
				break;
		}
		if (out.len && write_all(fd, out.p, out.len) < 0) {
			logm("closing connection: write error (%u frame(s) lost, the last %s): %s",
			     batched, m3w_cmd_name(h.cmd), strerror(errno));
			close(fd);
			fd = -1;
			node_down("write error");
			continue;
		}
		if (n >= 0 || n == -EAGAIN || n == -ETIMEDOUT || n == -EINTR)
			continue;
		if (n == -ECONNRESET) {
			/* this node marked the peer down (and dropped what it
			 * had queued for it): a new connection tells the peer,
			 * whose receiver then marks this node down in turn */
			logm("resetting the connection: this node marked node %d down",
			     peer_id);
			if (kpath)
				link_release(M3_LINK_TX);
			close(fd);
			fd = -1;
			continue;
		}
		logm("get2rmt: %s: exiting", strerror(-n));
		exit(1);
	}
}

/* ---------------- receiver ---------------- */

static int receiver_listen_once(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	sa.sin_port = htons(base_port + peer_id);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* the lowest port an unprivileged process may bind, or -1 if unknown */
static int unprivileged_port_start(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/*
 * The listening socket. The port may be taken (by another process, by a
 * squatter if the port is not privileged, by an old proxy's socket):
 * retry, 100 ms doubling to at most 2 s, until it is free. One line for
 * the first failure (with the cause and who may hold it), one when the
 * cause changes, one a minute while it lasts, one when it works.
 */
static int receiver_listen(void)
{
	int port = base_port + peer_id, unpriv = unprivileged_port_start();
	uint64_t first = now_ms(), last_log = 0;
	unsigned int delay = 100, tries = 0;
	int fd, last_err = 0;

	if (unpriv >= 0 && port >= unpriv)
		logm("WARNING: port %d is not privileged (ip_unprivileged_port_start %d): any local user can take it before this proxy",
		     port, unpriv);
	for (;;) {
		uint64_t t;

		fd = receiver_listen_once();
		tries++;
		if (fd >= 0)
			break;
		t = now_ms();
		if (errno != last_err || t - last_log >= 60000) {
			logm("cannot listen on port %d: %s%s; retrying every %u ms at most (attempt %u, %llu s so far)",
			     port, strerror(errno),
			     errno == EADDRINUSE ? " (another socket holds it)" : "",
			     2000, tries,
			     (unsigned long long)(t - first) / 1000);
			last_err = errno;
			last_log = t;
		}
		usleep(delay * 1000);
		delay = delay * 2 > 2000 ? 2000 : delay * 2;
	}
	if (tries > 1)
		logm("port %d free after %u attempts (%llu ms)", port, tries,
		     (unsigned long long)(now_ms() - first));
	return fd;
}

/*
 * A new connection stays "pending" until it passed the handshake (server
 * side of auth.h) and its first frame is a valid HELLO from the peer; only
 * then it replaces the active one. So a stray, unauthenticated or
 * malformed connection is closed on its own and never disturbs the
 * working link (nor marks the node down).
 */
enum { PC_HELLO, PC_PROOF, PC_FRAME };

struct pending {
	int fd;
	int stage;			/* PC_* */
	uint8_t buf[M3W_HDR_LEN + M3A_MAC_LEN];	/* >= M3A_HS_LEN */
	size_t len;
	uint64_t since;
	struct m3a_hs hs;
	struct m3a_link link;
};

static void pending_close(struct pending *pc, const char *why, bool refused)
{
	if (refused)
		logc("REFUSED a new connection: %s (rejected %llu)", why,
		     count_rejected());
	logc("closing new connection: %s", why);
	close(pc->fd);
	pc->fd = -1;
	sodium_memzero(&pc->hs, sizeof(pc->hs));
}

static size_t pending_need(const struct pending *pc)
{
	if (pc->stage != PC_FRAME)
		return M3A_HS_LEN;
	return M3W_HDR_LEN + m3a_mac_len(&pc->link);	/* a HELLO: no payload */
}

/* a complete record of the current stage is in pc->buf: 1 = link ready */
static int pending_step(struct pending *pc)
{
	const char *why = NULL;
	struct m3a_link probe;
	struct m3_rhdr h;
	uint64_t lseq;

	switch (pc->stage) {
	case PC_HELLO:
		if (m3a_server_proof(key_rx, &pc->hs, pc->buf, pc->buf, &why)) {
			pending_close(pc, why, true);
			return 0;
		}
		if (write_all(pc->fd, pc->buf, M3A_HS_LEN) < 0) {
			pending_close(pc, "handshake: write error", false);
			return 0;
		}
		pc->stage = PC_PROOF;
		pc->len = 0;
		return 0;
	case PC_PROOF:
		if (m3a_server_check(key_rx, &pc->hs, pc->buf, &why)) {
			pending_close(pc, why, true);
			return 0;
		}
		m3a_link_init(&pc->link, key_rx, &pc->hs, false);
		sodium_memzero(&pc->hs, sizeof(pc->hs));
		pc->stage = PC_FRAME;
		pc->len = 0;
		return 0;
	default:
		if (m3w_decode(pc->buf, &h, &lseq, peer_id, local_id,
			       max_payload, &why) == 0 &&
		    (h.cmd != M3_CMD_HELLO || h.len))
			why = "first frame is not a HELLO";
		/* checked on a copy: the main loop opens it again */
		probe = pc->link;
		if (!why)
			m3a_open(&probe, pc->buf, lseq, NULL, 0,
				 pc->buf + M3W_HDR_LEN, &why);
		if (why) {
			pending_close(pc, why, true);
			return 0;
		}
		return 1;
	}
}

/* the kernel's "rejected" column: the running total, when it changed */
static void report_rejected(uint64_t *reported)
{
	uint64_t n = __atomic_load_n(nrej, __ATOMIC_RELAXED);
	struct m3_rhdr h;
	int ret;

	if (n == *reported)
		return;
	memset(&h, 0, sizeof(h));
	h.cmd = M3_CMD_RSTATS;
	h.dcid = -1;
	h.src = M3_NONE;
	h.dst = M3_NONE;
	h.snode = peer_id;
	h.dnode = local_id;
	h.priv = M3_PRIV_USER;
	h.seq = n;
	ret = m3_put2lcl(&h, sizeof(h));
	if (ret < 0)
		logm("put2lcl RSTATS: %s", strerror(-ret));
	else
		*reported = n;
}

/* the current link goes: the module's (it lets go) or ours */
static void rx_close(int *fd, bool *kernel_link)
{
	if (*kernel_link)
		link_release(M3_LINK_RX);
	*kernel_link = false;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * The first HELLO of a new connection (checked in pending_step) is taken
 * here: the kernel notes it, the peer gets its HELLO_ACK, and the link
 * goes to the module, which reads every frame after it. 0, or -1: this
 * proxy reads the link (the HELLO still in pc->buf).
 */
static int rx_handover(struct pending *pc)
{
	struct m3a_link l = pc->link;
	const char *why = NULL;
	uint8_t frame[sizeof(struct m3_rhdr)];
	struct m3_rhdr h, ah;
	uint64_t lseq;
	int ret;

	if (m3w_decode(pc->buf, &h, &lseq, peer_id, local_id, max_payload,
		       &why) ||
	    m3a_open(&l, pc->buf, lseq, NULL, 0, pc->buf + M3W_HDR_LEN, &why))
		return -1;	/* checked in pending_step: cannot happen */
	hello_hdr(&ah, M3_CMD_HELLO_ACK, h.seq, h.seq);
	if (write_frame(pc->fd, &l, &ah, NULL) < 0)
		return -1;
	memcpy(frame, &h, sizeof(h));
	ret = m3_put2lcl(frame, sizeof(h));
	if (ret < 0)
		logm("put2lcl HELLO: %s", strerror(-ret));
	ret = link_handover(pc->fd, M3_LINK_RX, &l);
	sodium_memzero(&l, sizeof(l));
	if (ret < 0) {
		logm("the module cannot take the link (%s): this proxy reads it",
		     strerror(-ret));
		/* the HELLO was answered: the stream is past it now */
		pc->link.rx++;
		pc->link.tx++;
		pc->len = 0;
		return 1;
	}
	logm("kernel data path: the module reads the link");
	return 0;
}

static void run_receiver(void)
{
	size_t cap = M3W_HDR_LEN + max_payload + M3A_MAC_LEN;
	uint8_t *in = malloc(cap);
	uint8_t *frame = malloc(sizeof(struct m3_rhdr) + max_payload);
	struct pending pc = { .fd = -1 };
	uint64_t last_rx = 0, reported = 0;
	struct m3a_link link;
	int lfd, fd = -1, ret;
	bool had_link = false;	/* a connection from the peer was up before */
	bool kernel_link = false;	/* the module reads the current one */
	size_t inlen = 0, off;

	if (!in || !frame)
		exit(1);
	lfd = receiver_listen();	/* retries until it can */
	logm("listening on port %d%s", base_port + peer_id,
	     insecure ? " (INSECURE: connections are not authenticated)" : "");
	for (;;) {
		struct pollfd pfd[3] = { { .fd = lfd, .events = POLLIN },
					 { .fd = fd, .events = POLLIN },
					 { .fd = pc.fd, .events = POLLIN } };
		const char *why = NULL;
		bool closed_by_peer = false;
		struct m3_rhdr h;

		report_rejected(&reported);
		ret = poll(pfd, 3, hb_ms / 2 ?: 1);	/* fd -1 is ignored */
		if (ret < 0 && errno != EINTR) {
			logm("poll: %s", strerror(errno));
			exit(1);
		}
		if (pfd[0].revents & POLLIN) {
			struct sockaddr_in sa;
			socklen_t sl = sizeof(sa);
			int nfd = accept4(lfd, (struct sockaddr *)&sa, &sl,
					  SOCK_CLOEXEC);
			int one = 1;

			if (nfd >= 0 && sa.sin_addr.s_addr != peer_addr.s_addr) {
				logc("refused connection from %s (not the peer)",
				     inet_ntoa(sa.sin_addr));
				close(nfd);
			} else if (nfd >= 0) {
				if (pc.fd >= 0)
					pending_close(&pc, "superseded by a newer one",
						      false);
				logc("accepted connection from %s (waiting for its %s)",
				     inet_ntoa(sa.sin_addr),
				     insecure ? "HELLO" : "handshake");
				setsockopt(nfd, IPPROTO_TCP, TCP_NODELAY, &one,
					   sizeof(one));
				pc.fd = nfd;
				pc.len = 0;
				pc.since = now_ms();
				pc.hs.cnode = peer_id;
				pc.hs.snode = local_id;
				pc.stage = insecure ? PC_FRAME : PC_HELLO;
				m3a_link_insecure(&pc.link);
			}
		}
		if (pc.fd >= 0 && pfd[2].fd == pc.fd &&
		    (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(pc.fd, pc.buf + pc.len,
					 pending_need(&pc) - pc.len);

			if (r <= 0)
				pending_close(&pc, r ? "read error" :
					      "closed before its HELLO", false);
			else if ((pc.len += r) == pending_need(&pc) &&
				 pending_step(&pc)) {
				/* authenticated, a valid HELLO: the link now */
				if (fd >= 0 || kernel_link) {
					logm("new connection replaces the old one");
				} else {
					logm("connection from the peer is up%s",
					     insecure ? " (INSECURE)" : " (authenticated)");
				}
				/*
				 * The peer's sender only connects anew after
				 * the peer marked this node down, dropping what
				 * it had queued for us (answers our callers wait
				 * for): our callers must not wait for them. Its
				 * HELLO, next, brings the node up again.
				 */
				if (had_link) {
					ret = m3_node_reset(peer_id);
					logm("node %d marked down (its sender reconnected)%s",
					     peer_id, ret < 0 ? " [node_down failed]" : "");
				}
				had_link = true;
				if (fd >= 0 || kernel_link)
					/* the old one goes before the new */
					rx_close(&fd, &kernel_link);
				if (kernel_path && rx_handover(&pc) == 0) {
					/* the module reads this link now */
					kernel_link = true;
					close(pc.fd);
					pc.fd = -1;
					inlen = 0;
					continue;
				}
				fd = pc.fd;
				pc.fd = -1;
				link = pc.link;
				memcpy(in, pc.buf, pc.len);
				inlen = pc.len;
				last_rx = now_ms();
			}
		}
		if (pc.fd >= 0 && now_ms() - pc.since > (uint64_t)tmo_ms)
			pending_close(&pc, "no handshake and HELLO within the timeout",
				      false);
		if (fd < 0)
			continue;
		if (pfd[1].fd == fd && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t r = read(fd, in + inlen, cap - inlen);

			if (r <= 0) {
				why = r ? "read error" : "connection closed by peer";
				closed_by_peer = true;
			} else {
				inlen += r;
				last_rx = now_ms();
			}
		}
		/* the frames read, in order; what is left of a frame moves
		 * to the front once, not after every frame */
		for (off = 0; !why && inlen - off >= M3W_HDR_LEN;) {
			const uint8_t *f = in + off;
			size_t fl;
			uint64_t lseq;

			if (m3w_decode(f, &h, &lseq, peer_id, local_id,
				       max_payload, &why)) {
				rejected("a frame", why);
				break;
			}
			fl = M3W_HDR_LEN + h.len + m3a_mac_len(&link);
			if (inlen - off < fl)
				break;
			if (m3a_open(&link, f, lseq, f + M3W_HDR_LEN, h.len,
				     f + M3W_HDR_LEN + h.len, &why)) {
				rejected("a frame", why);
				break;
			}
			if (h.cmd == M3_CMD_HELLO_ACK) {
				why = "HELLO_ACK on a receiver connection";
				rejected("a frame", why);
				break;
			}
			memcpy(frame, &h, sizeof(h));
			memcpy(frame + sizeof(h), f + M3W_HDR_LEN, h.len);
			off += fl;
			ret = m3_put2lcl(frame, sizeof(h) + h.len);
			/* refusals a remote caller already got as its answer
			 * (or NOTIFY, which has none) are not connection events */
			if (ret < 0 && ret != -ENXIO && ret != -EACCES &&
			    ret != -EPIPE && ret != -ESTALE && ret != -EBADSLT &&
			    ret != -EREMOTE && ret != -ENONET)
				logm("put2lcl %s dc %d %d->%d: %s",
				     m3w_cmd_name(h.cmd), h.dcid, h.src, h.dst,
				     strerror(-ret));
			if (ret == -EPERM || ret == -ENOLINK) {
				logm("not the receiver proxy any more: exiting");
				exit(1);
			}
			if (h.cmd == M3_CMD_HELLO) {
				struct m3_rhdr ah;

				hello_hdr(&ah, M3_CMD_HELLO_ACK, h.seq, h.seq);
				if (write_frame(fd, &link, &ah, NULL) < 0)
					why = "write error (HELLO_ACK)";
			}
		}
		if (off) {
			memmove(in, in + off, inlen - off);
			inlen -= off;
		}
		if (!why && now_ms() - last_rx > (uint64_t)tmo_ms)
			why = "peer silent for the timeout";
		if (why) {
			logm("closing connection: %s", why);
			close(fd);
			fd = -1;
			inlen = 0;
			/*
			 * A connection the peer's sender closed: the peer knows
			 * (it marked this node down first), so ours is no news
			 * to send back; anything else (silence, a bad frame)
			 * the peer must learn from our sender's reset.
			 */
			if (closed_by_peer) {
				ret = m3_node_reset(peer_id);
				logm("node %d marked down (%s)%s", peer_id, why,
				     ret < 0 ? " [node_down failed]" : "");
			} else {
				node_down(why);
			}
		}
	}
}

/* ---------------- parent ---------------- */

static pid_t kids[2];
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = sig;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: m3proxy --node LOCAL --peer REMOTE --peer-addr IPv4\n"
		"               (--key FILE --node-key FILE --cluster FILE | --insecure)\n"
		"               [--base-port 900] [--heartbeat-ms 200] [--timeout-ms 1000]\n"
		"               [--max-payload 65536] [--data-path kernel|user]\n"
		"       m3proxy --keygen FILE\n");
	exit(2);
}

/* --keygen: a node key pair (identity.h); the secret key never leaves FILE */
static int keygen(const char *path)
{
	uint8_t pk[M3I_PK_LEN], sk[M3I_SK_LEN];
	char hex[2 * M3I_PK_LEN + 1];
	int fd;

	if (sodium_init() < 0)
		return 1;
	crypto_kx_keypair(pk, sk);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		fprintf(stderr, "m3proxy: %s: %s (an existing key is never overwritten)\n",
			path, strerror(errno));
		return 1;
	}
	if (write(fd, sk, sizeof(sk)) != (ssize_t)sizeof(sk) || fsync(fd)) {
		fprintf(stderr, "m3proxy: %s: %s\n", path, strerror(errno));
		close(fd);
		unlink(path);
		return 1;
	}
	close(fd);
	sodium_memzero(sk, sizeof(sk));
	printf("%s\n", sodium_bin2hex(hex, sizeof(hex), pk, sizeof(pk)));
	return 0;
}

/*
 * The cluster key, this node's secret key and both ends' public keys, into
 * the link keys of our two roles; 0, or an exit status with the file and
 * the cause logged.
 */
static int load_link_keys(const char *keyfile, const char *nodekeyfile,
			  const char *clusterfile)
{
	uint8_t cluster[M3A_KEY_LEN], sk[M3I_SK_LEN];
	uint8_t pk_self[M3I_PK_LEN], pk_peer[M3I_PK_LEN];
	const char *why;
	int ret = 1;

	if (m3a_load_key(keyfile, cluster, &why)) {
		logm("%s: %s", keyfile, why);
		goto out;
	}
	if (m3a_load_key(nodekeyfile, sk, &why)) {
		logm("%s: %s", nodekeyfile, why);
		goto out;
	}
	if (m3i_cluster_pk(clusterfile, local_id, pk_self, &why) ||
	    m3i_cluster_pk(clusterfile, peer_id, pk_peer, &why)) {
		logm("%s: %s", clusterfile, why);
		goto out;
	}
	if (!m3i_key_matches(sk, pk_self)) {
		logm("%s is not the secret key of node %d's public key in %s",
		     nodekeyfile, local_id, clusterfile);
		goto out;
	}
	if (m3i_link_key(cluster, sk, pk_self, pk_peer, true, key_tx) ||
	    m3i_link_key(cluster, sk, pk_self, pk_peer, false, key_rx)) {
		logm("%s: node %d's public key is unusable", clusterfile,
		     peer_id);
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(cluster, sizeof(cluster));
	sodium_memzero(sk, sizeof(sk));
	return ret;
}

static pid_t spawn(void (*fn)(void), const char *name, int gate)
{
	pid_t pid = fork();
	char c;

	if (pid)
		return pid;
	role = name;
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	/* wait until the parent has registered us (proxy_bind) */
	if (read(gate, &c, 1) != 1)
		_exit(1);
	fn();
	_exit(1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", 1, NULL, 'n' }, { "peer", 1, NULL, 'p' },
		{ "peer-addr", 1, NULL, 'a' }, { "base-port", 1, NULL, 'b' },
		{ "heartbeat-ms", 1, NULL, 'h' }, { "timeout-ms", 1, NULL, 't' },
		{ "max-payload", 1, NULL, 'm' }, { "key", 1, NULL, 'k' },
		{ "node-key", 1, NULL, 'K' }, { "cluster", 1, NULL, 'c' },
		{ "keygen", 1, NULL, 'g' }, { "data-path", 1, NULL, 'd' },
		{ "insecure", 0, NULL, 'i' }, { NULL, 0, NULL, 0 },
	};
	const char *keyfile = NULL, *nodekeyfile = NULL, *clusterfile = NULL;
	struct m3_dvs_info di;
	int c, ret, gate[2], status;
	pid_t dead;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': local_id = atoi(optarg); break;
		case 'p': peer_id = atoi(optarg); break;
		case 'a':
			if (!inet_aton(optarg, &peer_addr))
				usage();
			break;
		case 'b': base_port = atoi(optarg); break;
		case 'h': hb_ms = atoi(optarg); break;
		case 't': tmo_ms = atoi(optarg); break;
		case 'm': max_payload = strtoul(optarg, NULL, 0); break;
		case 'k': keyfile = optarg; break;
		case 'K': nodekeyfile = optarg; break;
		case 'c': clusterfile = optarg; break;
		case 'g':
			if (optind != argc || argc != 3)
				usage();
			return keygen(optarg);
		case 'i': insecure = true; break;
		case 'd':
			if (!strcmp(optarg, "kernel"))
				kernel_path = true;
			else if (!strcmp(optarg, "user"))
				kernel_path = false;
			else
				usage();
			break;
		default: usage();
		}
	}
	if (optind != argc || local_id < 0 || local_id >= M3_MAX_NODES ||
	    peer_id < 0 || peer_id >= M3_MAX_NODES || peer_id == local_id ||
	    !peer_addr.s_addr || hb_ms <= 0 || tmo_ms <= hb_ms ||
	    base_port <= 0 || base_port + M3_MAX_NODES > 65535)
		usage();
	if (sodium_init() < 0) {
		logm("libsodium cannot be initialized");
		return 1;
	}
	if ((keyfile || nodekeyfile || clusterfile) && insecure) {
		logm("--key, --node-key and --cluster exclude --insecure");
		return 2;
	}
	if (!insecure && (!keyfile || !nodekeyfile || !clusterfile)) {
		logm("refusing to run without --key FILE (the cluster key), --node-key FILE (this node's secret key) and --cluster FILE (the nodes' public keys); --insecure runs unauthenticated links");
		return 2;
	}
	if (!insecure) {
		ret = load_link_keys(keyfile, nodekeyfile, clusterfile);
		if (ret)
			return ret;
	}
	if (insecure)
		logm("WARNING: --insecure: links to node %d are NOT authenticated; anyone who can reach port %d from %s can inject frames",
		     peer_id, base_port + peer_id, inet_ntoa(peer_addr));
	nrej = mmap(NULL, sizeof(*nrej), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (nrej == MAP_FAILED)
		return 1;
	*nrej = 0;
	ret = m3_open();
	if (ret < 0) {
		logm("%s: %s", M3_DEVICE, strerror(-ret));
		return 1;
	}
	ret = m3_dvs_info(&di);
	if (ret < 0 || !di.initialized || di.node_id != local_id) {
		logm("the DVS is not initialized as node %d", local_id);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (pipe(gate) < 0)
		return 1;
	kids[0] = spawn(run_sender, "sender", gate[0]);
	kids[1] = spawn(run_receiver, "receiver", gate[0]);
	close(gate[0]);
	ret = m3_proxy_bind(peer_id, kids[0], kids[1], max_payload);
	if (ret < 0) {
		logm("proxy_bind: %s", strerror(-ret));
		kill(kids[0], SIGKILL);
		kill(kids[1], SIGKILL);
		while (wait(NULL) > 0)
			;
		return 1;
	}
	logm("proxies bound: sender %d receiver %d max payload %u, %s", kids[0],
	     kids[1], max_payload,
	     insecure ? "INSECURE links" : "authenticated links (wire v2, node identity)");
	if (write(gate[1], "gg", 2) != 2)
		return 1;
	close(gate[1]);

	/*
	 * sigaction without SA_RESTART: signal() would restart waitpid() after
	 * the handler, and the supervisor would never see the stop request.
	 */
	{
		struct sigaction sa = { .sa_handler = on_term };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	for (;;) {
		dead = waitpid(-1, &status, 0);
		if (dead < 0 && errno == EINTR && !stop)
			continue;
		if (stop) {
			logm("signal %d: unbinding the proxies", (int)stop);
			m3_proxy_unbind(peer_id);
			kill(kids[0], SIGKILL);
			kill(kids[1], SIGKILL);
			while (wait(NULL) > 0)
				;
			return 0;
		}
		if (dead < 0)
			return 1;
		logm("%s %d exited (status 0x%x): stopping the other",
		     dead == kids[0] ? "sender" : "receiver", dead, status);
		kill(dead == kids[0] ? kids[1] : kids[0], SIGKILL);
		while (wait(NULL) > 0)
			;
		return 1;
	}
}
