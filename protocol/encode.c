/* encode — per-query tokens and balanced Bloom filter encodings (see encode.h). */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Transform: one compression, no buffering */
#include "protocol/encode.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "common/cl_error.h"

#define ENC_BASE_BITS 512 /* the balanced filter's base half */
#define ENC_WORDS     (ENC_BLOOM_BITS / 64)

static const char enc_perm_label[] = "caselink/v1/bloom-permutation";
/* the labels of enc_derived_token, by kind (the same strings) */
static const char *const enc_derived_labels[ENC_DERIVED_MAX] = {"caselink/v1/derived/birth-year",
								"caselink/v1/derived/birth-date",
								"caselink/v1/derived/given-name"};

struct enc_query {
	unsigned char nonce[ENC_NONCE_LEN];
	unsigned char nblock[64];      /* nonce || SHA-256 padding for a 96-byte message */
	uint16_t perm[ENC_BLOOM_BITS]; /* output position of base bit i, and of its complement */
	uint64_t tmpl[ENC_WORDS];      /* the filter of no q-gram: the complement half all ones */
	unsigned k[ENC_FIELD_MAX];
};

static const uint32_t enc_sha256_iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

static void enc_store_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Builds the second block of a 96-byte message whose last 32 bytes are tail. */
static void enc_tail_block(const unsigned char tail[32], unsigned char blk[64])
{
	memcpy(blk, tail, 32);
	memset(blk + 32, 0, 32);
	blk[32] = 0x80;
	blk[62] = 0x03; /* 96 bytes = 768 bits, big-endian */
	blk[63] = 0x00;
}

/*
 * HMAC-SHA256 with a 32-byte key and a 32-byte message whose padded block is nblock: four
 * compressions. kb, ob and c are caller scratch, wiped by the caller.
 */
static void enc_hmac32(const unsigned char key[32], const unsigned char nblock[64],
		       unsigned char out[32], unsigned char kb[64], unsigned char ob[64],
		       SHA256_CTX *c)
{
	int i;

	for (i = 0; i < 32; i++)
		kb[i] = key[i] ^ 0x36;
	memset(kb + 32, 0x36, 32);
	memcpy(c->h, enc_sha256_iv, sizeof(enc_sha256_iv));
	SHA256_Transform(c, kb);
	SHA256_Transform(c, nblock);
	for (i = 0; i < 8; i++)
		enc_store_be32(ob + 4 * i, c->h[i]);
	memset(ob + 32, 0, 32);
	ob[32] = 0x80;
	ob[62] = 0x03;
	for (i = 0; i < 32; i++)
		kb[i] = key[i] ^ 0x5c;
	memset(kb + 32, 0x5c, 32);
	memcpy(c->h, enc_sha256_iv, sizeof(enc_sha256_iv));
	SHA256_Transform(c, kb);
	SHA256_Transform(c, ob);
	for (i = 0; i < 8; i++)
		enc_store_be32(out + 4 * i, c->h[i]);
}

int enc_tokens(const unsigned char *oprf, size_t n, const unsigned char nonce[ENC_NONCE_LEN],
	       unsigned char *out)
{
	unsigned char nblock[64], kb[64], ob[64], tok[ENC_TOKEN_LEN];
	SHA256_CTX c;
	size_t i;

	if ((!oprf || !out) && n)
		return CL_EINVAL;
	if (!nonce)
		return CL_EINVAL;
	enc_tail_block(nonce, nblock);
	for (i = 0; i < n; i++) {
		enc_hmac32(oprf + i * ENC_OPRF_LEN, nblock, tok, kb, ob, &c);
		memcpy(out + i * ENC_TOKEN_LEN, tok, ENC_TOKEN_LEN);
	}
	OPENSSL_cleanse(kb, sizeof(kb));
	OPENSSL_cleanse(ob, sizeof(ob));
	OPENSSL_cleanse(&c, sizeof(c));
	OPENSSL_cleanse(tok, sizeof(tok));
	return 0;
}

int enc_token_prepare(const unsigned char *oprf, size_t n, unsigned char *prep)
{
	unsigned char kb[64];
	SHA256_CTX c;
	size_t i;
	int j;

	if ((!oprf || !prep) && n)
		return CL_EINVAL;
	for (i = 0; i < n; i++) {
		for (j = 0; j < 32; j++)
			kb[j] = oprf[i * ENC_OPRF_LEN + j] ^ 0x36;
		memset(kb + 32, 0x36, 32);
		memcpy(c.h, enc_sha256_iv, sizeof(enc_sha256_iv));
		SHA256_Transform(&c, kb);
		memcpy(prep + i * ENC_PREP_LEN, c.h, 32);
		for (j = 0; j < 32; j++)
			kb[j] = oprf[i * ENC_OPRF_LEN + j] ^ 0x5c;
		memset(kb + 32, 0x5c, 32);
		memcpy(c.h, enc_sha256_iv, sizeof(enc_sha256_iv));
		SHA256_Transform(&c, kb);
		memcpy(prep + i * ENC_PREP_LEN + 32, c.h, 32);
	}
	OPENSSL_cleanse(kb, sizeof(kb));
	OPENSSL_cleanse(&c, sizeof(c));
	return 0;
}

int enc_tokens_prepared(const unsigned char *prep, size_t n,
			const unsigned char nonce[ENC_NONCE_LEN], unsigned char *out)
{
	unsigned char nblock[64], ob[64];
	SHA256_CTX c;
	size_t i;
	int j;

	if ((!prep || !out) && n)
		return CL_EINVAL;
	if (!nonce)
		return CL_EINVAL;
	enc_tail_block(nonce, nblock);
	memset(ob + 32, 0, 32);
	ob[32] = 0x80;
	ob[62] = 0x03;
	for (i = 0; i < n; i++) {
		memcpy(c.h, prep + i * ENC_PREP_LEN, 32);
		SHA256_Transform(&c, nblock);
		for (j = 0; j < 8; j++)
			enc_store_be32(ob + 4 * j, c.h[j]);
		memcpy(c.h, prep + i * ENC_PREP_LEN + 32, 32);
		SHA256_Transform(&c, ob);
		for (j = 0; j < 8; j++)
			enc_store_be32(out + i * ENC_TOKEN_LEN + 4 * j, c.h[j]);
	}
	OPENSSL_cleanse(ob, sizeof(ob));
	OPENSSL_cleanse(&c, sizeof(c));
	return 0;
}

int enc_token(const unsigned char oprf[ENC_OPRF_LEN], const unsigned char nonce[ENC_NONCE_LEN],
	      unsigned char out[ENC_TOKEN_LEN])
{
	return enc_tokens(oprf, 1, nonce, out);
}

/* Length of the UTF-8 sequence starting at s[0..avail), or 0 when it is invalid. */
static size_t enc_utf8_len(const unsigned char *s, size_t avail)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && s[0] == 0xe0 && s[1] < 0xa0)
		return 0;
	if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f)))
		return 0;
	return n;
}

static int enc_bigrams(const char *text, size_t len, char out[][ENC_QGRAM_SLOT], size_t max,
		       size_t *count, int distinct)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t pos = 0, prevlen = 1, n = 0, cur, j;
	const unsigned char *prev = (const unsigned char *)"_";
	char g[ENC_QGRAM_SLOT];
	int done = 0, rc = 0;

	if ((!text && len) || !count || (!out && max))
		return CL_EINVAL;
	if (len == 0) {
		*count = 0;
		return 0;
	}
	while (!done) {
		const unsigned char *c;

		if (pos < len) {
			cur = enc_utf8_len(s + pos, len - pos);
			if (cur == 0 || s[pos] == '_' || s[pos] == 0) {
				rc = CL_EPARSE;
				goto out;
			}
			c = s + pos;
		} else {
			cur = 1;
			c = (const unsigned char *)"_";
			done = 1;
		}
		memcpy(g, prev, prevlen);
		memcpy(g + prevlen, c, cur);
		g[prevlen + cur] = '\0';
		for (j = 0; distinct && j < n; j++)
			if (!strcmp(out[j], g))
				break;
		if (!distinct)
			j = n;
		if (j == n) {
			if (n == max) {
				rc = CL_ELIMIT;
				goto out;
			}
			memcpy(out[n++], g, prevlen + cur + 1);
		}
		prev = c;
		prevlen = cur;
		pos += cur;
	}
	*count = n;
out:
	return rc;
}

int enc_qgrams(const char *text, size_t len, char out[][ENC_QGRAM_SLOT], size_t max, size_t *count)
{
	return enc_bigrams(text, len, out, max, count, 1);
}

int enc_qgram_seq(const char *text, size_t len, char out[][ENC_QGRAM_SLOT], size_t max,
		  size_t *count)
{
	return enc_bigrams(text, len, out, max, count, 0);
}

int enc_derived_qgrams(unsigned kind, const char *text, size_t len, char out[][ENC_QGRAM_SLOT],
		       size_t max, size_t *count, unsigned *field)
{
	size_t n = 0;
	unsigned f = ENC_FIELD_BIRTH;
	int rc;

	if (kind >= ENC_DERIVED_MAX || (!text && len) || !count || !field)
		return CL_EINVAL;
	if (len == 0)
		return CL_ENOTFOUND;
	if (kind == ENC_DERIVED_YEAR) {
		if (len < 4)
			return CL_ENOTFOUND;
		rc = enc_qgram_seq(text, 4, out, max, &n);
		if (rc)
			return rc;
		n--; /* without the end padding: the year is a prefix of the full date */
	} else if (kind == ENC_DERIVED_DATE) {
		if (len != 8)
			return CL_ENOTFOUND;
		rc = enc_qgram_seq(text, len, out, max, &n);
		if (rc)
			return rc;
	} else {
		f = ENC_FIELD_GIVEN;
		rc = enc_qgram_seq(text, len, out, max, &n);
		if (rc)
			return rc;
	}
	*count = n;
	*field = f;
	return 0;
}

int enc_derived_token(unsigned kind, const unsigned char *qtokens, size_t n,
		      unsigned char out[ENC_TOKEN_LEN])
{
	static const char *const labels[ENC_DERIVED_MAX] = {"caselink/v1/derived/birth-year",
							    "caselink/v1/derived/birth-date",
							    "caselink/v1/derived/given-name"};
	unsigned char md[32];
	unsigned int mdlen = 0;
	int rc = 0;

	if (kind >= ENC_DERIVED_MAX || !qtokens || n == 0 || n > ENC_DERIVED_QMAX || !out)
		return CL_EINVAL;
	/* a key longer than a SHA-256 block is hashed first (RFC 2104): one pass over n * 32 bytes
	 */
	if (!HMAC(EVP_sha256(), qtokens, (int)(n * ENC_TOKEN_LEN),
		  (const unsigned char *)labels[kind], strlen(labels[kind]), md, &mdlen) ||
	    mdlen != sizeof(md)) {
		rc = CL_ECRYPTO;
		goto out;
	}
	memcpy(out, md, sizeof(md));
out:
	OPENSSL_cleanse(md, sizeof(md));
	return rc;
}

/*
 * Finishes a SHA-256 whose state h0 has consumed prefix bytes (a multiple of 64) with
 * msg[0..len): the digest to out. c is caller scratch, wiped by the caller.
 */
static void enc_sha_finish(const uint32_t h0[8], uint64_t prefix, const unsigned char *msg,
			   size_t len, unsigned char out[32], unsigned char blk[64], SHA256_CTX *c)
{
	uint64_t bits = (prefix + (uint64_t)len) * 8;
	size_t rest;
	int i;

	memcpy(c->h, h0, 32);
	for (; len >= 64; msg += 64, len -= 64)
		SHA256_Transform(c, msg);
	rest = len;
	memcpy(blk, msg, rest);
	blk[rest++] = 0x80;
	if (rest > 56) {
		memset(blk + rest, 0, 64 - rest);
		SHA256_Transform(c, blk);
		rest = 0;
	}
	memset(blk + rest, 0, 56 - rest);
	for (i = 0; i < 8; i++)
		blk[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
	SHA256_Transform(c, blk);
	for (i = 0; i < 8; i++)
		enc_store_be32(out + 4 * i, c->h[i]);
}

int enc_hmac_prepare(const unsigned char *key, size_t len, unsigned char prep[ENC_PREP_LEN])
{
	unsigned char kh[32], kb[64], blk[64];
	SHA256_CTX c;
	size_t i;

	if ((!key && len) || !prep)
		return CL_EINVAL;
	if (len > 64) {
		enc_sha_finish(enc_sha256_iv, 0, key, len, kh, blk, &c);
		key = kh;
		len = sizeof(kh);
	}
	for (i = 0; i < 64; i++)
		kb[i] = (unsigned char)((i < len ? key[i] : 0) ^ 0x36);
	memcpy(c.h, enc_sha256_iv, sizeof(enc_sha256_iv));
	SHA256_Transform(&c, kb);
	memcpy(prep, c.h, 32);
	for (i = 0; i < 64; i++)
		kb[i] = (unsigned char)((i < len ? key[i] : 0) ^ 0x5c);
	memcpy(c.h, enc_sha256_iv, sizeof(enc_sha256_iv));
	SHA256_Transform(&c, kb);
	memcpy(prep + 32, c.h, 32);
	OPENSSL_cleanse(kh, sizeof(kh));
	OPENSSL_cleanse(kb, sizeof(kb));
	OPENSSL_cleanse(blk, sizeof(blk));
	OPENSSL_cleanse(&c, sizeof(c));
	return 0;
}

int enc_hmac_prepared(const unsigned char prep[ENC_PREP_LEN], const unsigned char *msg, size_t len,
		      unsigned char out[32])
{
	uint32_t h[8];
	unsigned char in[32], blk[64];
	SHA256_CTX c;

	if (!prep || (!msg && len) || !out)
		return CL_EINVAL;
	memcpy(h, prep, 32);
	enc_sha_finish(h, 64, msg, len, in, blk, &c);
	memcpy(h, prep + 32, 32);
	enc_sha_finish(h, 64, in, sizeof(in), out, blk, &c);
	OPENSSL_cleanse(h, sizeof(h));
	OPENSSL_cleanse(in, sizeof(in));
	OPENSSL_cleanse(blk, sizeof(blk));
	OPENSSL_cleanse(&c, sizeof(c));
	return 0;
}

int enc_derived_token_fast(unsigned kind, const unsigned char *qtokens, size_t n,
			   unsigned char out[ENC_TOKEN_LEN])
{
	unsigned char prep[ENC_PREP_LEN];
	int rc;

	if (kind >= ENC_DERIVED_MAX || !qtokens || n == 0 || n > ENC_DERIVED_QMAX || !out)
		return CL_EINVAL;
	rc = enc_hmac_prepare(qtokens, n * ENC_TOKEN_LEN, prep);
	if (!rc)
		rc = enc_hmac_prepared(prep, (const unsigned char *)enc_derived_labels[kind],
				       strlen(enc_derived_labels[kind]), out);
	OPENSSL_cleanse(prep, sizeof(prep));
	return rc;
}

int enc_qgram_input(unsigned field, const char *qgram, unsigned char out[ENC_QIN_MAX],
		    size_t *outlen)
{
	size_t l;

	if (field >= ENC_FIELD_MAX || !qgram || !out || !outlen)
		return CL_EINVAL;
	l = strnlen(qgram, ENC_QGRAM_SLOT);
	if (l == 0 || l >= ENC_QGRAM_SLOT)
		return CL_EINVAL;
	out[0] = (unsigned char)(0x01 + field);
	memcpy(out + 1, qgram, l);
	*outlen = l + 1;
	return 0;
}

/* Fills perm with a uniform permutation of 0..ENC_BLOOM_BITS-1 drawn from a SHA-256 stream. */
static int enc_derive_perm(const unsigned char nonce[ENC_NONCE_LEN], uint16_t *perm)
{
	unsigned char seed[36], blk[32];
	unsigned int mdlen = 0;
	uint32_t ctr = 0, v, bound;
	size_t avail = 0;
	int i, rc = 0;

	if (!HMAC(EVP_sha256(), nonce, ENC_NONCE_LEN, (const unsigned char *)enc_perm_label,
		  sizeof(enc_perm_label) - 1, seed, &mdlen) ||
	    mdlen != 32) {
		rc = CL_ECRYPTO;
		goto out;
	}
	for (i = 0; i < ENC_BLOOM_BITS; i++)
		perm[i] = (uint16_t)i;
	for (i = ENC_BLOOM_BITS - 1; i > 0; i--) {
		uint16_t t;

		/* rejection sampling of a uniform j in [0, i] from 16-bit draws */
		bound = 65536u - 65536u % (uint32_t)(i + 1);
		do {
			if (avail == 0) {
				enc_store_be32(seed + 32, ctr++);
				SHA256(seed, sizeof(seed), blk);
				avail = sizeof(blk);
			}
			v = (uint32_t)blk[avail - 2] << 8 | blk[avail - 1];
			avail -= 2;
		} while (v >= bound);
		v %= (uint32_t)(i + 1);
		t = perm[i];
		perm[i] = perm[v];
		perm[v] = t;
	}
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	OPENSSL_cleanse(blk, sizeof(blk));
	return rc;
}

int enc_query_new(const unsigned char nonce[ENC_NONCE_LEN], struct enc_query **out)
{
	struct enc_query *q = NULL;
	int rc = 0, i;

	if (!nonce || !out)
		return CL_EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q) {
		rc = CL_ENOMEM;
		goto out;
	}
	memcpy(q->nonce, nonce, ENC_NONCE_LEN);
	enc_tail_block(nonce, q->nblock);
	rc = enc_derive_perm(nonce, q->perm);
	if (rc)
		goto out;
	for (i = ENC_BASE_BITS; i < ENC_BLOOM_BITS; i++)
		q->tmpl[q->perm[i] >> 6] |= (uint64_t)1 << (q->perm[i] & 63);
	q->k[ENC_FIELD_NAME] = ENC_DEFAULT_K_NAME;
	*out = q;
	q = NULL;
out:
	enc_query_free(q);
	return rc;
}

int enc_query_set_k(struct enc_query *q, unsigned field, unsigned k)
{
	if (!q || field >= ENC_FIELD_MAX || k > ENC_K_MAX)
		return CL_EINVAL;
	q->k[field] = k;
	return 0;
}

void enc_query_free(struct enc_query *q)
{
	if (!q)
		return;
	OPENSSL_cleanse(q, sizeof(*q));
	free(q);
}

/* Sets the bits of one q-gram token: k 9-bit slices of h are base positions. */
static void enc_set_token(const struct enc_query *q, const unsigned char *h, unsigned k,
			  uint64_t *w)
{
	unsigned i;

	for (i = 0; i < k; i++) {
		unsigned o = 9 * i, b = o >> 3, s = o & 7;
		unsigned p = (((unsigned)h[b] << 8 | h[b + 1]) >> (7 - s)) & 0x1ff;
		unsigned on = q->perm[p], off = q->perm[p + ENC_BASE_BITS];

		w[on >> 6] |= (uint64_t)1 << (on & 63);
		w[off >> 6] &= ~((uint64_t)1 << (off & 63));
	}
}

static void enc_store_filter(const uint64_t *w, unsigned char out[ENC_BLOOM_BYTES])
{
	int i, j;

	for (i = 0; i < ENC_WORDS; i++)
		for (j = 0; j < 8; j++)
			out[8 * i + j] = (unsigned char)(w[i] >> (8 * j));
}

int enc_bloom_tokens(const struct enc_query *q, const unsigned char *qtokens,
		     const unsigned char *fields, size_t n, unsigned char out[ENC_BLOOM_BYTES])
{
	uint64_t w[ENC_WORDS];
	size_t i;

	if (!q || !out || (n && (!qtokens || !fields)))
		return CL_EINVAL;
	for (i = 0; i < n; i++)
		if (fields[i] >= ENC_FIELD_MAX)
			return CL_EINVAL;
	memcpy(w, q->tmpl, sizeof(w));
	for (i = 0; i < n; i++)
		enc_set_token(q, qtokens + i * ENC_TOKEN_LEN, q->k[fields[i]], w);
	enc_store_filter(w, out);
	return 0;
}

int enc_bloom_mask(const struct enc_query *q, const unsigned char *qtokens,
		   const unsigned char *fields, size_t n, uint64_t mask[ENC_MASK_WORDS])
{
	uint64_t on[ENC_WORDS], off[ENC_WORDS];
	size_t i;
	unsigned j, k;

	if (!q || !mask || (n && (!qtokens || !fields)))
		return CL_EINVAL;
	for (i = 0; i < n; i++)
		if (fields[i] >= ENC_FIELD_MAX)
			return CL_EINVAL;
	memset(on, 0, sizeof(on));
	memset(off, 0, sizeof(off));
	for (i = 0; i < n; i++) {
		const unsigned char *h = qtokens + i * ENC_TOKEN_LEN;

		k = q->k[fields[i]];
		for (j = 0; j < k; j++) {
			unsigned o = 9 * j, b = o >> 3, s = o & 7;
			unsigned p = (((unsigned)h[b] << 8 | h[b + 1]) >> (7 - s)) & 0x1ff;
			unsigned pon = q->perm[p], poff = q->perm[p + ENC_BASE_BITS];

			on[pon >> 6] |= (uint64_t)1 << (pon & 63);
			off[poff >> 6] |= (uint64_t)1 << (poff & 63);
		}
	}
	memcpy(mask, on, sizeof(on));
	memcpy(mask + ENC_WORDS, off, sizeof(off));
	OPENSSL_cleanse(on, sizeof(on));
	OPENSSL_cleanse(off, sizeof(off));
	return 0;
}

int enc_bloom_from_masks(const struct enc_query *q, const uint64_t *const *masks, size_t n,
			 unsigned char out[ENC_BLOOM_BYTES])
{
	uint64_t w[ENC_WORDS];
	size_t i;
	int j;

	if (!q || !out || (n && !masks))
		return CL_EINVAL;
	for (i = 0; i < n; i++)
		if (!masks[i])
			return CL_EINVAL;
	memcpy(w, q->tmpl, sizeof(w));
	for (i = 0; i < n; i++)
		for (j = 0; j < ENC_WORDS; j++)
			w[j] = (w[j] | masks[i][j]) & ~masks[i][ENC_WORDS + j];
	enc_store_filter(w, out);
	OPENSSL_cleanse(w, sizeof(w));
	return 0;
}

int enc_bloom(const struct enc_query *q, const unsigned char *qoprf, const unsigned char *fields,
	      size_t n, unsigned char out[ENC_BLOOM_BYTES])
{
	unsigned char kb[64], ob[64], h[32];
	uint64_t w[ENC_WORDS];
	SHA256_CTX c;
	size_t i;
	int rc = 0;

	if (!q || !out || (n && (!qoprf || !fields)))
		return CL_EINVAL;
	for (i = 0; i < n; i++)
		if (fields[i] >= ENC_FIELD_MAX)
			return CL_EINVAL;
	memcpy(w, q->tmpl, sizeof(w));
	for (i = 0; i < n; i++) {
		if (!q->k[fields[i]])
			continue;
		enc_hmac32(qoprf + i * ENC_OPRF_LEN, q->nblock, h, kb, ob, &c);
		enc_set_token(q, h, q->k[fields[i]], w);
	}
	enc_store_filter(w, out);
	OPENSSL_cleanse(kb, sizeof(kb));
	OPENSSL_cleanse(ob, sizeof(ob));
	OPENSSL_cleanse(h, sizeof(h));
	OPENSSL_cleanse(&c, sizeof(c));
	return rc;
}

double enc_dice(const unsigned char a[ENC_BLOOM_BYTES], const unsigned char b[ENC_BLOOM_BYTES])
{
	unsigned pa = 0, pb = 0, pab = 0;
	int i;

	for (i = 0; i < ENC_BLOOM_BYTES; i++) {
		pa += (unsigned)__builtin_popcount(a[i]);
		pb += (unsigned)__builtin_popcount(b[i]);
		pab += (unsigned)__builtin_popcount((unsigned)(a[i] & b[i]));
	}
	if (pa + pb == 0)
		return 1.0;
	return 2.0 * pab / (double)(pa + pb);
}
