/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wire.h - the M3-IPC proxy wire format (TCP between the sender proxy of
 * one node and the receiver proxy of another), version 2. Every field is
 * in network byte order (big endian).
 *
 * A connection starts with the handshake of auth.h (three 80-byte records,
 * mutual proof of the cluster key; skipped only when both proxies run with
 * --insecure). Then every frame is an 88-byte header, `len` payload bytes
 * and, on an authenticated link, a 32-byte MAC (HMAC-SHA512-256 with the
 * connection's key for that direction over header and payload; auth.h).
 * The header mirrors struct m3_rhdr of uapi/m3ipc.h (the kernel's
 * host-order form) plus magic, version and the link sequence number.
 *
 *  off len field      meaning
 *    0   4 magic      0x4d334950 ("M3IP")
 *    4   2 version    M3W_VERSION (2); another version closes the connection
 *    6   2 cmd        1 SEND_MSG     payload struct m3_msg (64 B); answer SEND_ACK
 *                     2 NTFY_MSG     no payload, no answer
 *                     3 SNDREC_MSG   payload m3_msg; answer REPLY_MSG (error: SEND_ACK)
 *                     4 REPLY_MSG    payload m3_msg; ack = SNDREC seq; answer SEND_ACK
 *                     5 COPYIN_DATA  payload = data for dst at addr; answer COPYIN_ACK
 *                     6 COPYOUT_RQST count bytes of dst at addr; answer COPYOUT_DATA
 *                     7 SEND_ACK     rcode; ack = request seq
 *                     8 COPYIN_ACK   rcode; ack = COPYIN_DATA seq
 *                     9 COPYOUT_DATA rcode, payload = data; ack = COPYOUT_RQST seq
 *                    10 HELLO        heartbeat, sender -> receiver, every --heartbeat-ms;
 *                                    count = the sender's --max-payload (the
 *                                    receiving kernel sends at most the smaller
 *                                    of that and its own)
 *                    11 HELLO_ACK    receiver -> sender on the same connection,
 *                                    ack = HELLO seq (never reaches a kernel)
 *    8   2 flags      0x1 NOWAIT (send/sendrec with timeout 0: the callee
 *                     answers at once, SEND_ACK 0 when it took a sendrec),
 *                     0x2 NOACK, 0x4 FIRST (COPYIN_DATA windows, uapi)
 *   10   2 priv       the level the SENDING node gave its process (0..4);
 *                     informational only: no node ever uses it for a check
 *   12   4 dc         dcid (the same DC id on every node)
 *   16   4 src        source endpoint
 *   20   4 dst        destination endpoint
 *   24   4 snode      source node (must be the peer of this connection)
 *   28   4 dnode      destination node (must be the local node)
 *   32   4 rcode      answers: 0 or a negative Linux errno
 *   36   4 len        payload bytes (<= max payload, 64 KiB at most)
 *   40   4 count      COPYOUT_RQST: bytes requested; COPYIN_DATA: chunks in
 *                     its window (1..8); HELLO: the sender's max payload
 *   44   4 reserved   0
 *   48   8 seq        sequence number, unique per sending kernel (HELLO:
 *                     the proxy's own counter)
 *   56   8 ack        answers: seq of the request answered; COPYIN_DATA:
 *                     its window's id (the seq of the window's first chunk)
 *   64   8 timestamp  ns since the epoch (sending kernel / proxy clock)
 *   72   8 addr       COPYIN_DATA / COPYOUT_RQST: address in dst
 *   80   8 lseq       link sequence: 0 for the first frame of each direction
 *                     of a connection, +1 per frame; a frame with another
 *                     value (replayed, dropped, reordered) is refused
 *   88     payload
 *   88+len 32 mac     authenticated links only
 *
 * Version history: 1 (80-byte header, no authentication, no lseq);
 * 2 (handshake, lseq, MAC).
 *
 * Validation on receipt (m3w_decode): magic, version, cmd 1..11,
 * reserved == 0, len <= max payload, snode == the configured peer,
 * dnode == the local node; then (auth.h) the MAC and lseq. A frame that
 * fails closes the connection with the reason on stderr, is counted
 * (/proc/m3ipc/proxies "rejected") and never reaches the kernel.
 */
#ifndef M3_WIRE_H
#define M3_WIRE_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "../uapi/m3ipc.h"

#define M3W_MAGIC	0x4d334950u
#define M3W_VERSION	2
#define M3W_HDR_LEN	88
#define M3W_CMD_MAX	M3_CMD_HELLO_ACK	/* commands that travel */

static inline void m3w_put16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, 2);
}

static inline void m3w_put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static inline void m3w_put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static inline uint16_t m3w_get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}

static inline uint32_t m3w_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static inline uint64_t m3w_get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

static inline void m3w_encode(const struct m3_rhdr *h, uint64_t lseq,
			      uint8_t out[M3W_HDR_LEN])
{
	m3w_put32(out + 0, M3W_MAGIC);
	m3w_put16(out + 4, M3W_VERSION);
	m3w_put16(out + 6, h->cmd);
	m3w_put16(out + 8, h->flags);
	m3w_put16(out + 10, (uint16_t)h->priv);
	m3w_put32(out + 12, (uint32_t)h->dcid);
	m3w_put32(out + 16, (uint32_t)h->src);
	m3w_put32(out + 20, (uint32_t)h->dst);
	m3w_put32(out + 24, (uint32_t)h->snode);
	m3w_put32(out + 28, (uint32_t)h->dnode);
	m3w_put32(out + 32, (uint32_t)h->rcode);
	m3w_put32(out + 36, h->len);
	m3w_put32(out + 40, h->count);
	m3w_put32(out + 44, 0);
	m3w_put64(out + 48, h->seq);
	m3w_put64(out + 56, h->ack);
	m3w_put64(out + 64, h->timestamp);
	m3w_put64(out + 72, h->addr);
	m3w_put64(out + 80, lseq);
}

/* 0, or -1 with *why set: the connection must be closed */
static inline int m3w_decode(const uint8_t in[M3W_HDR_LEN], struct m3_rhdr *h,
			     uint64_t *lseq, int peer, int local,
			     uint32_t max_payload, const char **why)
{
	memset(h, 0, sizeof(*h));
	if (m3w_get32(in) != M3W_MAGIC) {
		*why = "bad magic";
		return -1;
	}
	if (m3w_get16(in + 4) != M3W_VERSION) {
		*why = "bad version";
		return -1;
	}
	h->cmd = m3w_get16(in + 6);
	h->flags = m3w_get16(in + 8);
	h->priv = (int16_t)m3w_get16(in + 10);
	h->dcid = (int32_t)m3w_get32(in + 12);
	h->src = (int32_t)m3w_get32(in + 16);
	h->dst = (int32_t)m3w_get32(in + 20);
	h->snode = (int32_t)m3w_get32(in + 24);
	h->dnode = (int32_t)m3w_get32(in + 28);
	h->rcode = (int32_t)m3w_get32(in + 32);
	h->len = m3w_get32(in + 36);
	h->count = m3w_get32(in + 40);
	h->seq = m3w_get64(in + 48);
	h->ack = m3w_get64(in + 56);
	h->timestamp = m3w_get64(in + 64);
	h->addr = m3w_get64(in + 72);
	*lseq = m3w_get64(in + 80);
	if (!h->cmd || h->cmd > M3W_CMD_MAX) {
		*why = "bad command";
		return -1;
	}
	if (m3w_get32(in + 44)) {
		*why = "reserved field not zero";
		return -1;
	}
	if (h->len > max_payload) {
		*why = "payload too long";
		return -1;
	}
	if (h->snode != peer || h->dnode != local) {
		*why = "wrong node";
		return -1;
	}
	return 0;
}

static inline const char *m3w_cmd_name(unsigned int cmd)
{
	static const char *const names[] = {
		"?", "SEND_MSG", "NTFY_MSG", "SNDREC_MSG", "REPLY_MSG",
		"COPYIN_DATA", "COPYOUT_RQST", "SEND_ACK", "COPYIN_ACK",
		"COPYOUT_DATA", "HELLO", "HELLO_ACK",
	};

	return cmd <= M3W_CMD_MAX ? names[cmd] : "?";
}

#endif /* M3_WIRE_H */
