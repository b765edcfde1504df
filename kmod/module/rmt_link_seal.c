// SPDX-License-Identifier: GPL-2.0
/*
 * rmt_link_seal.c - what sealing a link frame costs with each candidate
 * of the kernel's crypto API, measured on demand: /proc/m3ipc/link_seal
 * (root only; each read measures again, ~10-100 ms under TCG).
 *
 * The links authenticate every frame with HMAC-SHA-512/256 (the proxies'
 * libsodium crypto_auth, wire v2). Issue 22 asks whether an AEAD would
 * cost less: HMAC-SHA-256, ChaCha20-Poly1305 (RFC 7539, as libsodium's
 * crypto_aead_chacha20poly1305_ietf) and AES-GCM are measured beside the
 * HMAC the links use, on this machine (TCG emulates every vector
 * instruction, so the answer differs from hardware's), for a message
 * frame and a vcopy chunk. Each is measured as the API picks it (by
 * priority: the SIMD drivers) and in plain C, as the links' HMAC is picked
 * by measurement between the two (rmt_link.c):
 *
 *   candidate driver bytes ns_per_frame
 *
 * An AEAD seals the payload (encrypted) and authenticates the header as
 * associated data, with a 16-byte tag; an HMAC reads header and payload.
 * Each figure is the best of M3S_TURNS turns of M3S_ROUNDS frames, the
 * candidates taking turns, so a turn that shared the CPU does not decide.
 */
#include <crypto/aead.h>
#include <crypto/hash.h>
#include <linux/err.h>
#include <linux/ktime.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "rmt_link.h"

#define M3S_TURNS	4
#define M3S_ROUNDS	16
#define M3S_TAG		16
#define M3S_IV		12	/* rfc7539 and gcm(aes): a 96-bit nonce */
#define M3S_CHUNK	4096	/* a vcopy chunk of the bench */

static const u32 m3s_sizes[] = { sizeof(struct m3_msg), M3S_CHUNK };

struct m3s_cand {
	const char *name;
	bool aead;
	u32 keylen;
	struct crypto_shash *shash;
	struct crypto_aead *aead_tfm;
	struct aead_request *req;
	u64 ns[ARRAY_SIZE(m3s_sizes)];
};

/* one frame of @len payload bytes sealed; @buf: header, payload, tag room */
static int m3s_seal(struct m3s_cand *c, u8 *buf, u32 len)
{
	u8 iv[M3S_IV] = { 0 }, mac[M3L_MAC_LEN];
	struct scatterlist sg;

	if (!c->aead)
		return m3_link_mac(c->shash, buf, buf + M3L_HDR_LEN, len, mac);
	sg_init_one(&sg, buf, M3L_HDR_LEN + len + M3S_TAG);
	aead_request_set_callback(c->req, 0, NULL, NULL);
	aead_request_set_ad(c->req, M3L_HDR_LEN);
	aead_request_set_crypt(c->req, &sg, &sg, len, iv);
	return crypto_aead_encrypt(c->req);
}

static int m3s_open(struct m3s_cand *c)
{
	u8 key[32] = { 0 };

	if (!c->aead) {
		c->shash = crypto_alloc_shash(c->name, 0, 0);
		if (IS_ERR(c->shash))
			return PTR_ERR(c->shash);
		return crypto_shash_setkey(c->shash, key, c->keylen);
	}
	/* synchronous only: the links seal in the caller's system call */
	c->aead_tfm = crypto_alloc_aead(c->name, 0, CRYPTO_ALG_ASYNC);
	if (IS_ERR(c->aead_tfm))
		return PTR_ERR(c->aead_tfm);
	if (crypto_aead_setkey(c->aead_tfm, key, c->keylen) ||
	    crypto_aead_setauthsize(c->aead_tfm, M3S_TAG))
		return -EINVAL;
	c->req = aead_request_alloc(c->aead_tfm, GFP_KERNEL);
	return c->req ? 0 : -ENOMEM;
}

static void m3s_close(struct m3s_cand *c)
{
	if (c->req)
		aead_request_free(c->req);
	if (!IS_ERR_OR_NULL(c->aead_tfm))
		crypto_free_aead(c->aead_tfm);
	if (!IS_ERR_OR_NULL(c->shash))
		crypto_free_shash(c->shash);
}

static const char *m3s_driver(struct m3s_cand *c)
{
	return c->aead ? crypto_aead_driver_name(c->aead_tfm) :
			 crypto_shash_driver_name(c->shash);
}

int m3_link_seal_show(struct seq_file *m, void *v)
{
	struct m3s_cand cand[] = {
		{ .name = m3_link_hmac_name(), .keylen = M3_LINK_KEY_LEN },
		{ .name = "hmac(sha256)", .keylen = M3_LINK_KEY_LEN },
		{ .name = "hmac(sha256-generic)", .keylen = M3_LINK_KEY_LEN },
		{ .name = "rfc7539(chacha20,poly1305)", .aead = true, .keylen = 32 },
		{ .name = "rfc7539(chacha20-generic,poly1305-generic)",
		  .aead = true, .keylen = 32 },
		{ .name = "gcm(aes)", .aead = true, .keylen = 32 },
		{ .name = "gcm_base(ctr(aes-generic),ghash-generic)",
		  .aead = true, .keylen = 32 },
	};
	int err[ARRAY_SIZE(cand)];
	unsigned int i, s, t, r;
	u64 t0;
	u8 *buf;

	/* kmalloc'ed, never vmalloc'ed: an AEAD reads it through a scatterlist */
	buf = kzalloc(M3L_HDR_LEN + M3S_CHUNK + M3S_TAG, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(cand); i++) {
		err[i] = cand[i].name[0] ? m3s_open(&cand[i]) : -ENOENT;
		/* a first frame each: allocation and first-use costs go here */
		if (!err[i])
			err[i] = m3s_seal(&cand[i], buf, M3S_CHUNK);
		for (s = 0; s < ARRAY_SIZE(m3s_sizes); s++)
			cand[i].ns[s] = U64_MAX;
	}
	for (t = 0; t < M3S_TURNS; t++) {
		for (s = 0; s < ARRAY_SIZE(m3s_sizes); s++) {
			for (i = 0; i < ARRAY_SIZE(cand); i++) {
				if (err[i])
					continue;
				t0 = ktime_get_ns();
				for (r = 0; r < M3S_ROUNDS && !err[i]; r++)
					err[i] = m3s_seal(&cand[i], buf,
							  m3s_sizes[s]);
				cand[i].ns[s] = min(cand[i].ns[s],
						    div_u64(ktime_get_ns() - t0,
							    M3S_ROUNDS));
			}
			cond_resched();
		}
	}
	seq_puts(m, "candidate driver bytes ns_per_frame\n");
	for (i = 0; i < ARRAY_SIZE(cand); i++) {
		for (s = 0; s < ARRAY_SIZE(m3s_sizes); s++) {
			if (err[i])
				seq_printf(m, "%s - %u unavailable(%d)\n",
					   cand[i].name[0] ? cand[i].name : "link-hmac",
					   m3s_sizes[s], err[i]);
			else
				seq_printf(m, "%s %s %u %llu\n", cand[i].name,
					   m3s_driver(&cand[i]), m3s_sizes[s],
					   cand[i].ns[s]);
		}
		m3s_close(&cand[i]);
	}
	kfree(buf);
	return 0;
}
