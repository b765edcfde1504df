/* SPDX-License-Identifier: GPL-2.0 */
/*
 * identity.h - node identity for the links between M3-IPC proxies.
 *
 * The cluster key (auth.h) says "a member of this cluster"; it does not say
 * which member. With it alone, root on any node could derive every link's
 * keys and, from a spoofed address, speak as another node with that node's
 * grants. So every node also holds a long-term X25519 key pair of its own
 * (libsodium crypto_kx), and every node holds the cluster file, which lists
 * the public keys by node id:
 *
 *   # comments and blank lines are ignored
 *   <node id> <64 hex digits: the node's public key>
 *
 * The node key file holds the 32-byte secret key, with the cluster key's
 * rules (regular file, owned by the proxy's user, mode 0600).
 *
 * The key a link's handshake and frame keys are derived from is no longer
 * the cluster key K but the link key
 *
 *   L = BLAKE2b-256(key K, "M3IP link v2" || c2s || s2c)
 *
 * where c2s and s2c are crypto_kx's session keys between the client node C
 * (the connecting sender) and the server node S: crypto_kx hashes the
 * X25519 shared secret of C's and S's static keys with both public keys.
 * Only C and S can compute it, so a handshake proves both that the peer is
 * a member (K) and that it is the node it claims (its secret key): a member
 * that claims another node id fails the proofs like a stranger would.
 */
#ifndef M3_IDENTITY_H
#define M3_IDENTITY_H

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "auth.h"

#define M3I_PK_LEN	crypto_kx_PUBLICKEYBYTES	/* 32 */
#define M3I_SK_LEN	crypto_kx_SECRETKEYBYTES	/* 32 */

/*
 * The public key of node @id from the cluster file at @path: 0, or -1 with
 * *why set (the file, the line or the node named).
 */
static inline int m3i_cluster_pk(const char *path, int id,
				 uint8_t pk[M3I_PK_LEN], const char **why)
{
	static __thread char msg[160];
	char line[256], *p, *end;
	int lineno = 0, found = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		*why = "cannot open the cluster file";
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t hexlen;
		long n;

		lineno++;
		for (p = line; isspace((unsigned char)*p); p++)
			;
		if (!*p || *p == '#')
			continue;
		n = strtol(p, &end, 10);
		if (end == p || !isspace((unsigned char)*end) || n < 0 ||
		    n >= M3_MAX_NODES)
			goto bad;
		if (n != id)
			continue;
		for (p = end; isspace((unsigned char)*p); p++)
			;
		for (hexlen = 0; isxdigit((unsigned char)p[hexlen]); hexlen++)
			;
		if (hexlen != 2 * M3I_PK_LEN ||
		    sodium_hex2bin(pk, M3I_PK_LEN, p, hexlen, NULL, NULL,
				   NULL))
			goto bad;
		found++;
	}
	fclose(f);
	if (found != 1) {
		snprintf(msg, sizeof(msg), found ?
			 "node %d is listed %d times in the cluster file" :
			 "node %d is not listed in the cluster file", id, found);
		*why = msg;
		return -1;
	}
	return 0;
bad:
	fclose(f);
	snprintf(msg, sizeof(msg),
		 "cluster file line %d: expected '<node id 0..%d> <64 hex digits>'",
		 lineno, M3_MAX_NODES - 1);
	*why = msg;
	return -1;
}

/*
 * The link key L (see above) of a connection from node @cnode to node
 * @snode, computed by one of its two ends: @client is true on C (the
 * sender that connects), false on S. @sk and @pk_self are this node's
 * keys, @pk_peer the other end's. 0, or -1 when the peer's public key is
 * unusable (crypto_kx refuses it).
 */
static inline int m3i_link_key(const uint8_t cluster[M3A_KEY_LEN],
			       const uint8_t sk[M3I_SK_LEN],
			       const uint8_t pk_self[M3I_PK_LEN],
			       const uint8_t pk_peer[M3I_PK_LEN], bool client,
			       uint8_t link[M3A_KEY_LEN])
{
	uint8_t rx[crypto_kx_SESSIONKEYBYTES], tx[crypto_kx_SESSIONKEYBYTES];
	crypto_generichash_state st;
	int ret;

	if (client)
		ret = crypto_kx_client_session_keys(rx, tx, pk_self, sk,
						    pk_peer);
	else
		ret = crypto_kx_server_session_keys(rx, tx, pk_self, sk,
						    pk_peer);
	if (ret)
		return -1;
	crypto_generichash_init(&st, cluster, M3A_KEY_LEN, M3A_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)"M3IP link v2", 12);
	/* client tx == server rx: both ends hash c2s first */
	crypto_generichash_update(&st, client ? tx : rx, sizeof(tx));
	crypto_generichash_update(&st, client ? rx : tx, sizeof(rx));
	crypto_generichash_final(&st, link, M3A_KEY_LEN);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(rx, sizeof(rx));
	sodium_memzero(tx, sizeof(tx));
	return 0;
}

/* does @sk belong to @pk? (a node key that is not the one listed) */
static inline bool m3i_key_matches(const uint8_t sk[M3I_SK_LEN],
				   const uint8_t pk[M3I_PK_LEN])
{
	uint8_t mine[M3I_PK_LEN];

	if (crypto_scalarmult_base(mine, sk))
		return false;
	return !sodium_memcmp(mine, pk, M3I_PK_LEN);
}

#endif /* M3_IDENTITY_H */
