/* SPDX-License-Identifier: GPL-2.0 */
/*
 * auth.h - authentication of the links between M3-IPC proxies (wire
 * version 2). All cryptography is libsodium's (linked statically); nothing
 * here is hand-written crypto, only the framing around it.
 *
 * Key: the cluster key, 32 random bytes in a file readable by root only
 * (m3a_load_key refuses a file that group or others may read or write,
 * or that another user owns).
 *
 * Handshake (the connecting sender proxy is the client C, the receiver
 * proxy it connects to is the server S; records of M3A_HS_LEN bytes):
 *
 *   off len field
 *     0   4 magic    0x4d334950 ("M3IP")
 *     4   2 version  M3W_VERSION (2)
 *     6   2 type     0x101 CLIENT_HELLO, 0x102 SERVER_PROOF, 0x103 CLIENT_PROOF
 *     8   4 cnode    node id of the client (the sender's node)
 *    12   4 snode    node id of the server (the receiver's node)
 *    16  32 nonce    CLIENT_HELLO: nc; SERVER_PROOF: ns; CLIENT_PROOF: 0
 *    48  32 mac      SERVER_PROOF: HMAC(K, "M3IP auth v2" 'S' cnode snode nc ns)
 *                    CLIENT_PROOF: HMAC(K, "M3IP auth v2" 'C' cnode snode nc ns)
 *                    CLIENT_HELLO: 0
 *
 *   C -> S  CLIENT_HELLO(nc)        nc, ns: 32 random bytes each (randombytes_buf)
 *   S -> C  SERVER_PROOF(ns, macS)  C checks macS: S holds K and saw nc
 *   C -> S  CLIENT_PROOF(macC)      S checks macC: C holds K and saw ns
 *
 * HMAC is crypto_auth_hmacsha512256 (HMAC-SHA-512 truncated to 256 bits);
 * the role byte keeps one side's proof from being reflected as the other's,
 * the fresh nonces keep an old handshake from being replayed.
 *
 * Per-connection, per-direction frame keys: crypto_generichash (keyed
 * BLAKE2b-256, key K) over "M3IP keys v2" dir cnode snode nc ns, dir 'c'
 * for client -> server frames, 's' for server -> client. Every frame then
 * carries lseq (0, 1, 2 ... per direction, wire.h) and a MAC over its
 * header and payload with its direction's key; the receiver checks the MAC
 * (constant time) and then lseq == the next expected value. So a frame that
 * was injected (no key), altered (bad MAC), replayed in the same connection
 * (old lseq), or replayed from another connection (other keys) is refused.
 *
 * --insecure: no handshake, no MAC (lseq is still checked); logged loudly.
 */
#ifndef M3_AUTH_H
#define M3_AUTH_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "wire.h"

#define M3A_KEY_LEN	32
#define M3A_NONCE_LEN	32
#define M3A_MAC_LEN	crypto_auth_hmacsha512256_BYTES	/* 32 */
#define M3A_HS_LEN	80

#define M3A_CLIENT_HELLO	0x101
#define M3A_SERVER_PROOF	0x102
#define M3A_CLIENT_PROOF	0x103

/* one direction-pair of an established connection */
struct m3a_link {
	bool secure;
	uint8_t ktx[M3A_KEY_LEN];	/* key of the frames we send */
	uint8_t krx[M3A_KEY_LEN];	/* key of the frames we receive */
	uint64_t tx;			/* lseq of our next frame */
	uint64_t rx;			/* lseq expected next */
};

/* the state of one handshake */
struct m3a_hs {
	int cnode, snode;
	uint8_t nc[M3A_NONCE_LEN], ns[M3A_NONCE_LEN];
};

static inline size_t m3a_mac_len(const struct m3a_link *l)
{
	return l->secure ? M3A_MAC_LEN : 0;
}

/* 0, or -1 with *why set */
static inline int m3a_load_key(const char *path, uint8_t key[M3A_KEY_LEN],
			       const char **why)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		*why = "cannot open the key file";
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*why = "the key file is not a regular file";
		return -1;
	}
	/* owned by someone else, it could be swapped or read by them */
	if (st.st_uid != geteuid()) {
		close(fd);
		*why = "the key file is not owned by the user running the proxy (chown root)";
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		*why = "the key file is accessible to group or others (chmod 600)";
		return -1;
	}
	if (st.st_size != M3A_KEY_LEN) {
		close(fd);
		*why = "the key file must hold exactly 32 bytes";
		return -1;
	}
	n = read(fd, key, M3A_KEY_LEN);
	close(fd);
	if (n != M3A_KEY_LEN) {
		*why = "cannot read the key file";
		return -1;
	}
	return 0;
}

static inline void m3a_hs_put(uint8_t out[M3A_HS_LEN], unsigned int type,
			      const struct m3a_hs *hs, const uint8_t *nonce,
			      const uint8_t *mac)
{
	memset(out, 0, M3A_HS_LEN);
	m3w_put32(out, M3W_MAGIC);
	m3w_put16(out + 4, M3W_VERSION);
	m3w_put16(out + 6, type);
	m3w_put32(out + 8, (uint32_t)hs->cnode);
	m3w_put32(out + 12, (uint32_t)hs->snode);
	if (nonce)
		memcpy(out + 16, nonce, M3A_NONCE_LEN);
	if (mac)
		memcpy(out + 48, mac, M3A_MAC_LEN);
}

/* header checks of a handshake record; 0 or -1 with *why */
static inline int m3a_hs_check(const uint8_t in[M3A_HS_LEN], unsigned int type,
			       const struct m3a_hs *hs, const char **why)
{
	if (m3w_get32(in) != M3W_MAGIC) {
		*why = "handshake: bad magic";
		return -1;
	}
	if (m3w_get16(in + 4) != M3W_VERSION) {
		*why = "handshake: bad version (an older proxy?)";
		return -1;
	}
	if (m3w_get16(in + 6) != type) {
		*why = type == M3A_CLIENT_HELLO ?
		       "handshake expected (is the peer running --insecure?)" :
		       "handshake: unexpected record";
		return -1;
	}
	if ((int)m3w_get32(in + 8) != hs->cnode ||
	    (int)m3w_get32(in + 12) != hs->snode) {
		*why = "handshake: wrong node ids";
		return -1;
	}
	return 0;
}

/* the proof of role 'S' or 'C' over both nonces */
static inline void m3a_proof(const uint8_t key[M3A_KEY_LEN], char role,
			     const struct m3a_hs *hs, uint8_t mac[M3A_MAC_LEN])
{
	crypto_auth_hmacsha512256_state st;
	uint8_t ids[9];

	ids[0] = (uint8_t)role;
	m3w_put32(ids + 1, (uint32_t)hs->cnode);
	m3w_put32(ids + 5, (uint32_t)hs->snode);
	crypto_auth_hmacsha512256_init(&st, key, M3A_KEY_LEN);
	crypto_auth_hmacsha512256_update(&st, (const uint8_t *)"M3IP auth v2", 12);
	crypto_auth_hmacsha512256_update(&st, ids, sizeof(ids));
	crypto_auth_hmacsha512256_update(&st, hs->nc, M3A_NONCE_LEN);
	crypto_auth_hmacsha512256_update(&st, hs->ns, M3A_NONCE_LEN);
	crypto_auth_hmacsha512256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

static inline void m3a_dir_key(const uint8_t key[M3A_KEY_LEN], char dir,
			       const struct m3a_hs *hs, uint8_t out[M3A_KEY_LEN])
{
	crypto_generichash_state st;
	uint8_t ids[9];

	ids[0] = (uint8_t)dir;
	m3w_put32(ids + 1, (uint32_t)hs->cnode);
	m3w_put32(ids + 5, (uint32_t)hs->snode);
	crypto_generichash_init(&st, key, M3A_KEY_LEN, M3A_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)"M3IP keys v2", 12);
	crypto_generichash_update(&st, ids, sizeof(ids));
	crypto_generichash_update(&st, hs->nc, M3A_NONCE_LEN);
	crypto_generichash_update(&st, hs->ns, M3A_NONCE_LEN);
	crypto_generichash_final(&st, out, M3A_KEY_LEN);
	sodium_memzero(&st, sizeof(st));
}

/* both sides, after the proofs: the frame keys of the connection */
static inline void m3a_link_init(struct m3a_link *l,
				 const uint8_t key[M3A_KEY_LEN],
				 const struct m3a_hs *hs, bool client)
{
	memset(l, 0, sizeof(*l));
	l->secure = true;
	m3a_dir_key(key, client ? 'c' : 's', hs, l->ktx);
	m3a_dir_key(key, client ? 's' : 'c', hs, l->krx);
}

static inline void m3a_link_insecure(struct m3a_link *l)
{
	memset(l, 0, sizeof(*l));
}

/* client: CLIENT_HELLO with a fresh nc */
static inline void m3a_client_hello(struct m3a_hs *hs, uint8_t out[M3A_HS_LEN])
{
	randombytes_buf(hs->nc, M3A_NONCE_LEN);
	m3a_hs_put(out, M3A_CLIENT_HELLO, hs, hs->nc, NULL);
}

/* server: CLIENT_HELLO in -> SERVER_PROOF out; 0 or -1 with *why */
static inline int m3a_server_proof(const uint8_t key[M3A_KEY_LEN],
				   struct m3a_hs *hs,
				   const uint8_t in[M3A_HS_LEN],
				   uint8_t out[M3A_HS_LEN], const char **why)
{
	uint8_t mac[M3A_MAC_LEN];

	if (m3a_hs_check(in, M3A_CLIENT_HELLO, hs, why))
		return -1;
	memcpy(hs->nc, in + 16, M3A_NONCE_LEN);
	randombytes_buf(hs->ns, M3A_NONCE_LEN);
	m3a_proof(key, 'S', hs, mac);
	m3a_hs_put(out, M3A_SERVER_PROOF, hs, hs->ns, mac);
	return 0;
}

/* client: SERVER_PROOF in (checked) -> CLIENT_PROOF out */
static inline int m3a_client_proof(const uint8_t key[M3A_KEY_LEN],
				   struct m3a_hs *hs,
				   const uint8_t in[M3A_HS_LEN],
				   uint8_t out[M3A_HS_LEN], const char **why)
{
	uint8_t mac[M3A_MAC_LEN];

	if (m3a_hs_check(in, M3A_SERVER_PROOF, hs, why))
		return -1;
	memcpy(hs->ns, in + 16, M3A_NONCE_LEN);
	m3a_proof(key, 'S', hs, mac);
	if (crypto_verify_32(mac, in + 48)) {
		*why = "authentication failed: the server's proof does not match our key";
		return -1;
	}
	m3a_proof(key, 'C', hs, mac);
	m3a_hs_put(out, M3A_CLIENT_PROOF, hs, NULL, mac);
	return 0;
}

/* server: CLIENT_PROOF in, checked */
static inline int m3a_server_check(const uint8_t key[M3A_KEY_LEN],
				   const struct m3a_hs *hs,
				   const uint8_t in[M3A_HS_LEN], const char **why)
{
	uint8_t mac[M3A_MAC_LEN];

	if (m3a_hs_check(in, M3A_CLIENT_PROOF, hs, why))
		return -1;
	m3a_proof(key, 'C', hs, mac);
	if (crypto_verify_32(mac, in + 48)) {
		*why = "authentication failed: the client's proof does not match our key";
		return -1;
	}
	return 0;
}

static inline void m3a_frame_mac(const uint8_t key[M3A_KEY_LEN],
				 const uint8_t *hdr, const uint8_t *payload,
				 uint32_t len, uint8_t mac[M3A_MAC_LEN])
{
	crypto_auth_hmacsha512256_state st;

	crypto_auth_hmacsha512256_init(&st, key, M3A_KEY_LEN);
	crypto_auth_hmacsha512256_update(&st, hdr, M3W_HDR_LEN);
	if (len)
		crypto_auth_hmacsha512256_update(&st, payload, len);
	crypto_auth_hmacsha512256_final(&st, mac);
}

/*
 * Sender side of a frame: the wire header (with the next lseq) into @hdr
 * and, on a secure link, the MAC of header and payload into @mac.
 */
static inline void m3a_seal(struct m3a_link *l, const struct m3_rhdr *h,
			    const uint8_t *payload, uint8_t hdr[M3W_HDR_LEN],
			    uint8_t mac[M3A_MAC_LEN])
{
	m3w_encode(h, l->tx++, hdr);
	if (l->secure)
		m3a_frame_mac(l->ktx, hdr, payload, h->len, mac);
}

/*
 * Receiver side, once the whole frame is there (@hdr decoded into @lseq,
 * @payload of @len bytes, then the MAC): 0, or -1 with *why (the frame is
 * refused and the connection closed). Advances the expected lseq.
 */
static inline int m3a_open(struct m3a_link *l, const uint8_t *hdr,
			   uint64_t lseq, const uint8_t *payload, uint32_t len,
			   const uint8_t *mac, const char **why)
{
	static __thread char msg[96];
	uint8_t want[M3A_MAC_LEN];

	if (l->secure) {
		m3a_frame_mac(l->krx, hdr, payload, len, want);
		if (crypto_verify_32(want, mac)) {
			*why = "authentication failed: bad MAC (injected or altered frame)";
			return -1;
		}
	}
	if (lseq != l->rx) {
		snprintf(msg, sizeof(msg),
			 "replayed or out-of-order frame: link sequence %llu, expected %llu",
			 (unsigned long long)lseq, (unsigned long long)l->rx);
		*why = msg;
		return -1;
	}
	l->rx++;
	return 0;
}

#endif /* M3_AUTH_H */
