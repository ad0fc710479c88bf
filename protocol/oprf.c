/*
 * oprf — RFC 9497 OPRF (mode 0), suite P256-SHA256, on OpenSSL 3 EC_POINT/BIGNUM.
 *
 * The context owns one BN_CTX, two scratch points and the secret-scalar BIGNUMs, so the hot
 * paths (the key holder's batch evaluation, the node's blind and finalize) allocate nothing per
 * element.
 */
#include "protocol/oprf.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/cl_error.h"
#include "protocol/h2c.h"

/* contextString = "OPRFV1-" || I2OSP(mode = 0, 1) || "-" || "P256-SHA256" */
static const uint8_t ctx_string[] = {'O', 'P', 'R', 'F', 'V', '1', '-', 0x00, '-', 'P',
				     '2', '5', '6', '-', 'S', 'H', 'A', '2',  '5', '6'};
#define HTG_PREFIX  "HashToGroup-"
#define DKP_PREFIX  "DeriveKeyPair"
#define HTG_DST_LEN (sizeof(HTG_PREFIX) - 1 + sizeof(ctx_string))
#define DKP_DST_LEN (sizeof(DKP_PREFIX) - 1 + sizeof(ctx_string))
#define WIDE_LEN    48 /* HashToScalar and RandomScalar reduce 48 bytes modulo n */

struct oprf_ctx {
	struct h2c_ctx *h2c;
	const EC_GROUP *group; /* owned by h2c */
	const BIGNUM *order;   /* owned by group */
	BN_CTX *bn;
	BN_MONT_CTX *mont_n;
	BIGNUM *nm2;	  /* n - 2, the Fermat inversion exponent */
	BIGNUM *k, *kinv; /* secret scalars, BN_FLG_CONSTTIME */
	const BIGNUM *p;  /* the field prime, static in OpenSSL */
	BN_MONT_CTX *mont_p;
	BIGNUM *b, *pm3, *sqrt_exp;  /* curve b, p - 3, (p + 1) / 4 */
	BIGNUM *ex, *ey, *erhs, *et; /* element decoding scratch (public values) */
	EC_POINT *pt, *res;
	EVP_MD *md;
	EVP_MD_CTX *mdctx;
	uint8_t order_be[OPRF_SCALAR_LEN];
	uint8_t htg_dst[HTG_DST_LEN];
	uint8_t dkp_dst[DKP_DST_LEN];
};

/* Wipes the secret scalars held in the context. */
static void scrub(struct oprf_ctx *c)
{
	BN_clear(c->k);
	BN_clear(c->kinv);
}

/*
 * Loads a 32-byte scalar into k after checking 0 < s < n with masked arithmetic: only the
 * validity of the scalar, never its value, decides a branch.
 */
static int scalar_load(struct oprf_ctx *c, const uint8_t s[OPRF_SCALAR_LEN], BIGNUM *k)
{
	unsigned borrow = 0, nz = 0, d;
	int i;

	for (i = OPRF_SCALAR_LEN - 1; i >= 0; i--) {
		d = (unsigned)s[i] - (unsigned)c->order_be[i] - borrow;
		borrow = (d >> 8) & 1u;
		nz |= s[i];
	}
	/* s < n exactly when the subtraction s - n borrows. */
	if ((borrow & (((nz - 1u) >> 8) ^ 1u) & 1u) == 0)
		return CL_EINVAL;
	if (BN_bin2bn(s, OPRF_SCALAR_LEN, k) == NULL)
		return CL_ECRYPTO;
	BN_set_flags(k, BN_FLG_CONSTTIME);
	return 0;
}

/* k = OS2IP(wide) mod n; *zero tells whether the result is 0. */
static int scalar_reduce(struct oprf_ctx *c, const uint8_t wide[WIDE_LEN], BIGNUM *k, int *zero)
{
	if (BN_bin2bn(wide, WIDE_LEN, k) == NULL)
		return CL_ECRYPTO;
	BN_set_flags(k, BN_FLG_CONSTTIME);
	if (!BN_nnmod(k, k, c->order, c->bn))
		return CL_ECRYPTO;
	*zero = BN_is_zero(k);
	return 0;
}

/*
 * Decodes a compressed SEC1 element into p, refusing anything but a non-identity curve point.
 * Elements are public, so the square root uses the faster variable-time BN_mod_exp_mont: with
 * p = 3 mod 4, y = (x^3 - 3x + b)^((p + 1) / 4), checked by squaring. This is cheaper than
 * EC_POINT_oct2point's generic BN_mod_sqrt, and it is on the key holder's hot path.
 */
static int element_load(struct oprf_ctx *c, const uint8_t in[OPRF_ELEMENT_LEN], EC_POINT *p)
{
	BIGNUM *x = c->ex, *y = c->ey, *rhs = c->erhs, *t = c->et;

	if (in[0] != 0x02 && in[0] != 0x03)
		return CL_EBADPOINT;
	if (BN_bin2bn(in + 1, OPRF_ELEMENT_LEN - 1, x) == NULL)
		return CL_ECRYPTO;
	if (BN_ucmp(x, c->p) >= 0)
		return CL_EBADPOINT;
	/* rhs = (x^2 - 3) * x + b */
	if (!BN_sqr(rhs, x, c->bn) || !BN_nist_mod_256(rhs, rhs, c->p, c->bn) ||
	    !BN_mod_add_quick(rhs, rhs, c->pm3, c->p) || !BN_mul(rhs, rhs, x, c->bn) ||
	    !BN_nist_mod_256(rhs, rhs, c->p, c->bn) || !BN_mod_add_quick(rhs, rhs, c->b, c->p) ||
	    !BN_mod_exp_mont(y, rhs, c->sqrt_exp, c->p, c->bn, c->mont_p) || !BN_sqr(t, y, c->bn) ||
	    !BN_nist_mod_256(t, t, c->p, c->bn))
		return CL_ECRYPTO;
	if (BN_cmp(t, rhs) != 0)
		return CL_EBADPOINT; /* x^3 - 3x + b is not a square: no point has this x */
	if ((unsigned)BN_is_odd(y) != (unsigned)(in[0] & 1u) && !BN_sub(y, c->p, y))
		return CL_ECRYPTO;
	/* set_affine_coordinates checks the point is on the curve once more. */
	if (!EC_POINT_set_affine_coordinates(c->group, p, x, y, c->bn)) {
		ERR_clear_error();
		return CL_EBADPOINT;
	}
	if (EC_POINT_is_at_infinity(c->group, p))
		return CL_EBADPOINT;
	return 0;
}

/* Encodes p as a 33-byte compressed SEC1 element; the identity is refused. */
static int element_store(struct oprf_ctx *c, const EC_POINT *p, uint8_t out[OPRF_ELEMENT_LEN])
{
	if (EC_POINT_is_at_infinity(c->group, p))
		return CL_ECRYPTO;
	if (EC_POINT_point2oct(c->group, p, POINT_CONVERSION_COMPRESSED, out, OPRF_ELEMENT_LEN,
			       c->bn) != OPRF_ELEMENT_LEN)
		return CL_ECRYPTO;
	return 0;
}

/* output = Hash(I2OSP(len, 2) || input || I2OSP(33, 2) || element || "Finalize") */
static int finalize_hash(struct oprf_ctx *c, const uint8_t *input, size_t len,
			 const uint8_t element[OPRF_ELEMENT_LEN], uint8_t out[OPRF_OUTPUT_LEN])
{
	static const uint8_t label[] = {'F', 'i', 'n', 'a', 'l', 'i', 'z', 'e'};
	const uint8_t l1[2] = {(uint8_t)(len >> 8), (uint8_t)(len & 0xff)};
	const uint8_t l2[2] = {0, OPRF_ELEMENT_LEN};
	unsigned int olen = 0;

	if (!EVP_DigestInit_ex(c->mdctx, c->md, NULL) || !EVP_DigestUpdate(c->mdctx, l1, 2) ||
	    (len > 0 && !EVP_DigestUpdate(c->mdctx, input, len)) ||
	    !EVP_DigestUpdate(c->mdctx, l2, 2) ||
	    !EVP_DigestUpdate(c->mdctx, element, OPRF_ELEMENT_LEN) ||
	    !EVP_DigestUpdate(c->mdctx, label, sizeof(label)) ||
	    !EVP_DigestFinal_ex(c->mdctx, out, &olen) || olen != OPRF_OUTPUT_LEN)
		return CL_ECRYPTO;
	return 0;
}

/* pt = HashToGroup(input); the identity is refused (InvalidInputError). */
static int hash_to_group(struct oprf_ctx *c, const uint8_t *input, size_t len, EC_POINT *pt)
{
	int rc;

	rc = h2c_hash_to_curve(c->h2c, input, len, c->htg_dst, sizeof(c->htg_dst), pt);
	if (rc != 0)
		return rc;
	if (EC_POINT_is_at_infinity(c->group, pt))
		return CL_ECRYPTO;
	return 0;
}

static int input_ok(const uint8_t *input, size_t len)
{
	return len <= OPRF_MAX_INPUT_LEN && (input != NULL || len == 0);
}

/* sk = k (already loaded), pk = k * G; writes both only on success. */
static int keypair_store(struct oprf_ctx *c, uint8_t sk_out[OPRF_SCALAR_LEN],
			 uint8_t pk_out[OPRF_ELEMENT_LEN])
{
	uint8_t sk[OPRF_SCALAR_LEN], pk[OPRF_ELEMENT_LEN];
	int rc = CL_ECRYPTO;

	if (!EC_POINT_mul(c->group, c->res, c->k, NULL, NULL, c->bn))
		goto out;
	rc = element_store(c, c->res, pk);
	if (rc != 0)
		goto out;
	rc = CL_ECRYPTO;
	if (BN_bn2binpad(c->k, sk, sizeof(sk)) != (int)sizeof(sk))
		goto out;
	memcpy(sk_out, sk, sizeof(sk));
	memcpy(pk_out, pk, sizeof(pk));
	rc = 0;
out:
	OPENSSL_cleanse(sk, sizeof(sk));
	return rc;
}

int oprf_ctx_new(struct oprf_ctx **out)
{
	struct oprf_ctx *c = NULL;
	int rc = CL_EINVAL;

	if (out == NULL)
		goto out;
	rc = CL_ENOMEM;
	c = OPENSSL_zalloc(sizeof(*c));
	if (c == NULL)
		goto out;
	rc = h2c_ctx_new(&c->h2c);
	if (rc != 0)
		goto out;
	rc = CL_ECRYPTO;
	c->group = h2c_ctx_group(c->h2c);
	c->order = EC_GROUP_get0_order(c->group);
	c->bn = BN_CTX_secure_new();
	c->mont_n = BN_MONT_CTX_new();
	c->nm2 = BN_new();
	c->k = BN_secure_new();
	c->kinv = BN_secure_new();
	c->pt = EC_POINT_new(c->group);
	c->res = EC_POINT_new(c->group);
	c->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->mdctx = EVP_MD_CTX_new();
	c->p = BN_get0_nist_prime_256();
	c->mont_p = BN_MONT_CTX_new();
	c->b = BN_new();
	c->pm3 = BN_new();
	c->sqrt_exp = BN_new();
	c->ex = BN_new();
	c->ey = BN_new();
	c->erhs = BN_new();
	c->et = BN_new();
	if (c->mont_p == NULL || c->b == NULL || c->pm3 == NULL || c->sqrt_exp == NULL ||
	    c->ex == NULL || c->ey == NULL || c->erhs == NULL || c->et == NULL)
		goto out;
	if (c->order == NULL || c->bn == NULL || c->mont_n == NULL || c->nm2 == NULL ||
	    c->k == NULL || c->kinv == NULL || c->pt == NULL || c->res == NULL || c->md == NULL ||
	    c->mdctx == NULL)
		goto out;
	BN_set_flags(c->k, BN_FLG_CONSTTIME);
	BN_set_flags(c->kinv, BN_FLG_CONSTTIME);
	if (!EC_GROUP_get_curve(c->group, NULL, NULL, c->b, c->bn) ||
	    !BN_MONT_CTX_set(c->mont_p, c->p, c->bn) || !BN_copy(c->pm3, c->p) ||
	    !BN_sub_word(c->pm3, 3) || !BN_copy(c->sqrt_exp, c->p) ||
	    !BN_add_word(c->sqrt_exp, 1) || !BN_rshift(c->sqrt_exp, c->sqrt_exp, 2))
		goto out;
	if (!BN_MONT_CTX_set(c->mont_n, c->order, c->bn) || !BN_copy(c->nm2, c->order) ||
	    !BN_sub_word(c->nm2, 2) ||
	    BN_bn2binpad(c->order, c->order_be, sizeof(c->order_be)) != (int)sizeof(c->order_be))
		goto out;
	memcpy(c->htg_dst, HTG_PREFIX, sizeof(HTG_PREFIX) - 1);
	memcpy(c->htg_dst + sizeof(HTG_PREFIX) - 1, ctx_string, sizeof(ctx_string));
	memcpy(c->dkp_dst, DKP_PREFIX, sizeof(DKP_PREFIX) - 1);
	memcpy(c->dkp_dst + sizeof(DKP_PREFIX) - 1, ctx_string, sizeof(ctx_string));
	*out = c;
	c = NULL;
	rc = 0;
out:
	oprf_ctx_free(c);
	return rc;
}

void oprf_ctx_free(struct oprf_ctx *ctx)
{
	if (ctx == NULL)
		return;
	BN_clear_free(ctx->k);
	BN_clear_free(ctx->kinv);
	BN_free(ctx->nm2);
	BN_free(ctx->b);
	BN_free(ctx->pm3);
	BN_free(ctx->sqrt_exp);
	BN_clear_free(ctx->ex);
	BN_clear_free(ctx->ey);
	BN_clear_free(ctx->erhs);
	BN_clear_free(ctx->et);
	BN_MONT_CTX_free(ctx->mont_p);
	EC_POINT_clear_free(ctx->pt);
	EC_POINT_clear_free(ctx->res);
	EVP_MD_CTX_free(ctx->mdctx);
	EVP_MD_free(ctx->md);
	BN_MONT_CTX_free(ctx->mont_n);
	BN_CTX_free(ctx->bn);
	h2c_ctx_free(ctx->h2c);
	OPENSSL_clear_free(ctx, sizeof(*ctx));
}

int oprf_derive_keypair(struct oprf_ctx *ctx, const uint8_t seed[OPRF_SEED_LEN],
			const uint8_t *info, size_t infolen, uint8_t sk_out[OPRF_SCALAR_LEN],
			uint8_t pk_out[OPRF_ELEMENT_LEN])
{
	uint8_t *buf = NULL, wide[WIDE_LEN];
	size_t len = 0;
	unsigned counter;
	int rc = CL_EINVAL, zero = 1;

	if (ctx == NULL || seed == NULL || sk_out == NULL || pk_out == NULL ||
	    infolen > OPRF_MAX_INFO_LEN || (info == NULL && infolen > 0))
		goto out;
	/* deriveInput || I2OSP(counter, 1) = seed || I2OSP(len(info), 2) || info || counter */
	rc = CL_EOVERFLOW;
	if (__builtin_add_overflow(infolen, (size_t)OPRF_SEED_LEN + 3, &len))
		goto out;
	rc = CL_ENOMEM;
	buf = OPENSSL_malloc(len);
	if (buf == NULL)
		goto out;
	memcpy(buf, seed, OPRF_SEED_LEN);
	buf[OPRF_SEED_LEN] = (uint8_t)(infolen >> 8);
	buf[OPRF_SEED_LEN + 1] = (uint8_t)(infolen & 0xff);
	if (infolen > 0)
		memcpy(buf + OPRF_SEED_LEN + 2, info, infolen);
	for (counter = 0; zero && counter <= 255; counter++) {
		buf[len - 1] = (uint8_t)counter;
		rc = h2c_expand_message_xmd(ctx->h2c, buf, len, ctx->dkp_dst, sizeof(ctx->dkp_dst),
					    wide, sizeof(wide));
		if (rc != 0)
			goto out;
		rc = scalar_reduce(ctx, wide, ctx->k, &zero);
		if (rc != 0)
			goto out;
	}
	rc = CL_ECRYPTO; /* DeriveKeyPairError */
	if (zero)
		goto out;
	rc = keypair_store(ctx, sk_out, pk_out);
out:
	if (ctx != NULL)
		scrub(ctx);
	OPENSSL_clear_free(buf, len);
	OPENSSL_cleanse(wide, sizeof(wide));
	return rc;
}

int oprf_generate_key(struct oprf_ctx *ctx, uint8_t sk_out[OPRF_SCALAR_LEN],
		      uint8_t pk_out[OPRF_ELEMENT_LEN])
{
	uint8_t wide[WIDE_LEN];
	int rc = CL_EINVAL, zero = 1, tries;

	if (ctx == NULL || sk_out == NULL || pk_out == NULL)
		goto out;
	for (tries = 0; zero && tries < 8; tries++) {
		rc = CL_ECRYPTO;
		if (RAND_priv_bytes(wide, sizeof(wide)) != 1)
			goto out;
		rc = scalar_reduce(ctx, wide, ctx->k, &zero);
		if (rc != 0)
			goto out;
	}
	rc = CL_ECRYPTO;
	if (zero)
		goto out;
	rc = keypair_store(ctx, sk_out, pk_out);
out:
	if (ctx != NULL)
		scrub(ctx);
	OPENSSL_cleanse(wide, sizeof(wide));
	return rc;
}

int oprf_blind_with(struct oprf_ctx *ctx, const uint8_t *input, size_t len,
		    const uint8_t blind[OPRF_SCALAR_LEN], uint8_t blinded_out[OPRF_ELEMENT_LEN])
{
	uint8_t el[OPRF_ELEMENT_LEN];
	int rc = CL_EINVAL;

	if (ctx == NULL || !input_ok(input, len) || blind == NULL || blinded_out == NULL)
		goto out;
	rc = scalar_load(ctx, blind, ctx->k);
	if (rc != 0)
		goto out;
	rc = hash_to_group(ctx, input, len, ctx->pt);
	if (rc != 0)
		goto out;
	rc = CL_ECRYPTO;
	if (!EC_POINT_mul(ctx->group, ctx->res, NULL, ctx->pt, ctx->k, ctx->bn))
		goto out;
	rc = element_store(ctx, ctx->res, el);
	if (rc != 0)
		goto out;
	memcpy(blinded_out, el, sizeof(el));
out:
	if (ctx != NULL)
		scrub(ctx);
	return rc;
}

int oprf_blind(struct oprf_ctx *ctx, const uint8_t *input, size_t len,
	       uint8_t blind_out[OPRF_SCALAR_LEN], uint8_t blinded_out[OPRF_ELEMENT_LEN])
{
	uint8_t wide[WIDE_LEN], blind[OPRF_SCALAR_LEN], el[OPRF_ELEMENT_LEN];
	int rc = CL_EINVAL, zero = 1, tries;

	if (ctx == NULL || blind_out == NULL || blinded_out == NULL)
		goto out;
	/* RandomScalar: 48 random bytes reduced modulo n (bias below 2^-128), never 0. */
	for (tries = 0; zero && tries < 8; tries++) {
		rc = CL_ECRYPTO;
		if (RAND_priv_bytes(wide, sizeof(wide)) != 1)
			goto out;
		rc = scalar_reduce(ctx, wide, ctx->kinv, &zero);
		if (rc != 0)
			goto out;
	}
	rc = CL_ECRYPTO;
	if (zero || BN_bn2binpad(ctx->kinv, blind, sizeof(blind)) != (int)sizeof(blind))
		goto out;
	rc = oprf_blind_with(ctx, input, len, blind, el);
	if (rc != 0)
		goto out;
	memcpy(blind_out, blind, sizeof(blind));
	memcpy(blinded_out, el, sizeof(el));
out:
	if (ctx != NULL)
		scrub(ctx);
	OPENSSL_cleanse(wide, sizeof(wide));
	OPENSSL_cleanse(blind, sizeof(blind));
	return rc;
}

int oprf_blind_evaluate(struct oprf_ctx *ctx, const uint8_t sk[OPRF_SCALAR_LEN],
			const uint8_t blinded[OPRF_ELEMENT_LEN],
			uint8_t evaluated_out[OPRF_ELEMENT_LEN])
{
	return oprf_blind_evaluate_batch(ctx, sk, blinded, 1, evaluated_out);
}

int oprf_blind_evaluate_batch(struct oprf_ctx *ctx, const uint8_t sk[OPRF_SCALAR_LEN],
			      const uint8_t *blinded, size_t n, uint8_t *evaluated_out)
{
	uint8_t one[OPRF_ELEMENT_LEN], *tmp = NULL, *dst;
	size_t total = 0, i;
	int rc = CL_EINVAL;

	if (ctx == NULL || sk == NULL || blinded == NULL || evaluated_out == NULL || n == 0 ||
	    n > OPRF_MAX_BATCH)
		goto out;
	rc = CL_EOVERFLOW;
	if (__builtin_mul_overflow(n, (size_t)OPRF_ELEMENT_LEN, &total))
		goto out;
	/* A single element needs no staging buffer; a batch is staged once, not per element. */
	dst = one;
	if (n > 1) {
		rc = CL_ENOMEM;
		tmp = OPENSSL_malloc(total);
		if (tmp == NULL)
			goto out;
		dst = tmp;
	}
	rc = scalar_load(ctx, sk, ctx->k);
	if (rc != 0)
		goto out;
	for (i = 0; i < n; i++) {
		rc = element_load(ctx, blinded + i * OPRF_ELEMENT_LEN, ctx->pt);
		if (rc != 0)
			goto out;
		rc = CL_ECRYPTO;
		if (!EC_POINT_mul(ctx->group, ctx->res, NULL, ctx->pt, ctx->k, ctx->bn))
			goto out;
		rc = element_store(ctx, ctx->res, dst + i * OPRF_ELEMENT_LEN);
		if (rc != 0)
			goto out;
	}
	memcpy(evaluated_out, dst, total);
	rc = 0;
out:
	if (ctx != NULL)
		scrub(ctx);
	OPENSSL_free(tmp);
	return rc;
}

int oprf_finalize(struct oprf_ctx *ctx, const uint8_t *input, size_t len,
		  const uint8_t blind[OPRF_SCALAR_LEN], const uint8_t evaluated[OPRF_ELEMENT_LEN],
		  uint8_t output[OPRF_OUTPUT_LEN])
{
	uint8_t el[OPRF_ELEMENT_LEN], h[OPRF_OUTPUT_LEN];
	int rc = CL_EINVAL;

	if (ctx == NULL || !input_ok(input, len) || blind == NULL || evaluated == NULL ||
	    output == NULL)
		goto out;
	rc = scalar_load(ctx, blind, ctx->k);
	if (rc != 0)
		goto out;
	rc = element_load(ctx, evaluated, ctx->pt);
	if (rc != 0)
		goto out;
	rc = CL_ECRYPTO;
	/* blind^-1 = blind^(n - 2) mod n, Fermat's little theorem in constant time. */
	if (!BN_mod_exp_mont_consttime(ctx->kinv, ctx->k, ctx->nm2, ctx->order, ctx->bn,
				       ctx->mont_n) ||
	    !EC_POINT_mul(ctx->group, ctx->res, NULL, ctx->pt, ctx->kinv, ctx->bn))
		goto out;
	rc = element_store(ctx, ctx->res, el);
	if (rc != 0)
		goto out;
	rc = finalize_hash(ctx, input, len, el, h);
	if (rc != 0)
		goto out;
	memcpy(output, h, sizeof(h));
out:
	if (ctx != NULL)
		scrub(ctx);
	OPENSSL_cleanse(el, sizeof(el));
	OPENSSL_cleanse(h, sizeof(h));
	return rc;
}

int oprf_evaluate(struct oprf_ctx *ctx, const uint8_t sk[OPRF_SCALAR_LEN], const uint8_t *input,
		  size_t len, uint8_t output[OPRF_OUTPUT_LEN])
{
	uint8_t el[OPRF_ELEMENT_LEN], h[OPRF_OUTPUT_LEN];
	int rc = CL_EINVAL;

	if (ctx == NULL || sk == NULL || !input_ok(input, len) || output == NULL)
		goto out;
	rc = scalar_load(ctx, sk, ctx->k);
	if (rc != 0)
		goto out;
	rc = hash_to_group(ctx, input, len, ctx->pt);
	if (rc != 0)
		goto out;
	rc = CL_ECRYPTO;
	if (!EC_POINT_mul(ctx->group, ctx->res, NULL, ctx->pt, ctx->k, ctx->bn))
		goto out;
	rc = element_store(ctx, ctx->res, el);
	if (rc != 0)
		goto out;
	rc = finalize_hash(ctx, input, len, el, h);
	if (rc != 0)
		goto out;
	memcpy(output, h, sizeof(h));
out:
	if (ctx != NULL)
		scrub(ctx);
	OPENSSL_cleanse(el, sizeof(el));
	OPENSSL_cleanse(h, sizeof(h));
	return rc;
}
