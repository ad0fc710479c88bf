/*
 * h2c — RFC 9380 hash_to_curve for P256_XMD:SHA-256_SSWU_RO_ on OpenSSL 3.
 *
 * Every step follows the straight-line procedures of RFC 9380: expand_message_xmd (5.3.1),
 * hash_to_field (5.2), simplified SWU (6.6.2, appendix F.2) with sqrt_ratio for q = 3 mod 4
 * (appendix F.2.1.2). Conditional moves, sign and equality tests are done on fixed-width byte
 * strings with masks, never with a branch on the value.
 */
#include "protocol/h2c.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "common/cl_error.h"

#define SHA256_LEN   32
#define SHA256_BLOCK 64
#define H2F_L	     48 /* ceil((ceil(log2(p)) + k) / 8) with k = 128 */

/* Named scratch BIGNUMs. */
enum {
	S_TV1,
	S_TV2,
	S_TV3,
	S_TV4,
	S_TV5,
	S_TV6,
	S_X,
	S_Y,
	S_R1,
	S_R2,
	S_R3,
	S_RY1,
	S_RY2,
	S_U0,
	S_U1,
	S_XN0,
	S_XD0,
	S_Y0,
	S_XN1,
	S_XD1,
	S_Y1,
	S_INV,
	S_T,
	S_COUNT
};

struct h2c_ctx {
	EC_GROUP *group;
	BN_CTX *bn;
	BN_MONT_CTX *mont;
	EVP_MD *md;
	EVP_MD_CTX *mdctx;
	const BIGNUM *p; /* static, owned by OpenSSL */
	BIGNUM *a, *b, *z, *c1, *c2, *pm2, *one, *zero;
	BIGNUM *s[S_COUNT];
	EC_POINT *q0, *q1;
};

/* The curve constant B of P-256. */
static const uint8_t p256_b[32] = {
    0x5a, 0xc6, 0x35, 0xd8, 0xaa, 0x3a, 0x93, 0xe7, 0xb3, 0xeb, 0xbd, 0x55, 0x76, 0x98, 0x86, 0xbc,
    0x65, 0x1d, 0x06, 0xb0, 0xcc, 0x53, 0xb0, 0xf6, 0x3b, 0xce, 0x3c, 0x3e, 0x27, 0xd2, 0x60, 0x4b,
};

/* ---- field arithmetic modulo p ---- */

static int fmul(struct h2c_ctx *c, BIGNUM *r, const BIGNUM *a, const BIGNUM *b)
{
	return BN_mul(r, a, b, c->bn) && BN_nist_mod_256(r, r, c->p, c->bn);
}

static int fsqr(struct h2c_ctx *c, BIGNUM *r, const BIGNUM *a)
{
	return BN_sqr(r, a, c->bn) && BN_nist_mod_256(r, r, c->p, c->bn);
}

static int fadd(struct h2c_ctx *c, BIGNUM *r, const BIGNUM *a, const BIGNUM *b)
{
	return BN_mod_add_quick(r, a, b, c->p);
}

static int fneg(struct h2c_ctx *c, BIGNUM *r, const BIGNUM *a)
{
	/* (p - a) mod p, computed as 0 - a with the quick modular subtraction. */
	return BN_mod_sub_quick(r, c->zero, a, c->p);
}

static int fexp(struct h2c_ctx *c, BIGNUM *r, const BIGNUM *a, const BIGNUM *e)
{
	return BN_mod_exp_mont_consttime(r, a, e, c->p, c->bn, c->mont);
}

static int fbytes(const BIGNUM *a, uint8_t out[H2C_FIELD_LEN])
{
	return BN_bn2binpad(a, out, H2C_FIELD_LEN) == H2C_FIELD_LEN;
}

/* r = cond ? b : a, cond in {0, 1}, through masked fixed-width bytes. */
static int fcmov(BIGNUM *r, const BIGNUM *a, const BIGNUM *b, unsigned cond)
{
	uint8_t ba[H2C_FIELD_LEN], bb[H2C_FIELD_LEN];
	uint8_t mask = (uint8_t)(0u - (cond & 1u));
	int ok = 0;
	size_t i;

	if (!fbytes(a, ba) || !fbytes(b, bb))
		goto out;
	for (i = 0; i < sizeof(ba); i++)
		ba[i] = (uint8_t)(ba[i] ^ (mask & (ba[i] ^ bb[i])));
	if (BN_bin2bn(ba, sizeof(ba), r) == NULL)
		goto out;
	BN_set_flags(r, BN_FLG_CONSTTIME);
	ok = 1;
out:
	OPENSSL_cleanse(ba, sizeof(ba));
	OPENSSL_cleanse(bb, sizeof(bb));
	return ok;
}

/* *eq = (a == b) without a data-dependent branch; returns 1 on success. */
static int feq(const BIGNUM *a, const BIGNUM *b, unsigned *eq)
{
	uint8_t ba[H2C_FIELD_LEN], bb[H2C_FIELD_LEN];
	int ok = 0;

	if (!fbytes(a, ba) || !fbytes(b, bb))
		goto out;
	*eq = (unsigned)(CRYPTO_memcmp(ba, bb, sizeof(ba)) == 0);
	ok = 1;
out:
	OPENSSL_cleanse(ba, sizeof(ba));
	OPENSSL_cleanse(bb, sizeof(bb));
	return ok;
}

/* *z = (a == 0) without a data-dependent branch; returns 1 on success. */
static int fiszero(const BIGNUM *a, unsigned *z)
{
	uint8_t ba[H2C_FIELD_LEN];
	unsigned acc = 0;
	size_t i;

	if (!fbytes(a, ba))
		return 0;
	for (i = 0; i < sizeof(ba); i++)
		acc |= ba[i];
	*z = (unsigned)((acc - 1u) >> 8) & 1u;
	OPENSSL_cleanse(ba, sizeof(ba));
	return 1;
}

/* *s = sgn0(a) = a mod 2; returns 1 on success. */
static int fsgn0(const BIGNUM *a, unsigned *s)
{
	uint8_t ba[H2C_FIELD_LEN];

	if (!fbytes(a, ba))
		return 0;
	*s = ba[H2C_FIELD_LEN - 1] & 1u;
	OPENSSL_cleanse(ba, sizeof(ba));
	return 1;
}

/* ---- RFC 9380 building blocks ---- */

/* expand_message_xmd into out (outlen bytes); out may be partly written on failure. */
static int xmd(struct h2c_ctx *c, const uint8_t *msg, size_t msglen, const uint8_t *dst,
	       size_t dstlen, uint8_t *out, size_t outlen)
{
	static const uint8_t zpad[SHA256_BLOCK];
	uint8_t b0[SHA256_LEN], bi[SHA256_LEN], tmp[SHA256_LEN];
	uint8_t lib[2], dlen, idx;
	size_t ell, i, j, off, n;
	int rc = CL_ECRYPTO;

	if (outlen == 0 || outlen > H2C_MAX_XMD_LEN || dstlen == 0 || dstlen > H2C_MAX_DST_LEN ||
	    msglen > H2C_MAX_MSG_LEN || (msg == NULL && msglen > 0) || dst == NULL) {
		rc = CL_EINVAL;
		goto out;
	}
	ell = (outlen + SHA256_LEN - 1) / SHA256_LEN;
	lib[0] = (uint8_t)(outlen >> 8);
	lib[1] = (uint8_t)(outlen & 0xff);
	dlen = (uint8_t)dstlen;
	idx = 0;
	/* b_0 = H(Z_pad || msg || l_i_b_str || I2OSP(0, 1) || DST_prime) */
	if (!EVP_DigestInit_ex(c->mdctx, c->md, NULL) ||
	    !EVP_DigestUpdate(c->mdctx, zpad, sizeof(zpad)) ||
	    (msglen > 0 && !EVP_DigestUpdate(c->mdctx, msg, msglen)) ||
	    !EVP_DigestUpdate(c->mdctx, lib, sizeof(lib)) || !EVP_DigestUpdate(c->mdctx, &idx, 1) ||
	    !EVP_DigestUpdate(c->mdctx, dst, dstlen) || !EVP_DigestUpdate(c->mdctx, &dlen, 1) ||
	    !EVP_DigestFinal_ex(c->mdctx, b0, NULL))
		goto out;
	memcpy(tmp, b0, sizeof(tmp));
	for (i = 1, off = 0; i <= ell; i++) {
		/* b_i = H(strxor(b_0, b_(i-1)) || I2OSP(i, 1) || DST_prime), b_1 uses b_0 alone */
		if (i > 1) {
			for (j = 0; j < SHA256_LEN; j++)
				tmp[j] = (uint8_t)(b0[j] ^ bi[j]);
		}
		idx = (uint8_t)i;
		if (!EVP_DigestInit_ex(c->mdctx, c->md, NULL) ||
		    !EVP_DigestUpdate(c->mdctx, tmp, sizeof(tmp)) ||
		    !EVP_DigestUpdate(c->mdctx, &idx, 1) ||
		    !EVP_DigestUpdate(c->mdctx, dst, dstlen) ||
		    !EVP_DigestUpdate(c->mdctx, &dlen, 1) ||
		    !EVP_DigestFinal_ex(c->mdctx, bi, NULL))
			goto out;
		n = outlen - off < SHA256_LEN ? outlen - off : SHA256_LEN;
		memcpy(out + off, bi, n);
		off += n;
	}
	rc = 0;
out:
	OPENSSL_cleanse(b0, sizeof(b0));
	OPENSSL_cleanse(bi, sizeof(bi));
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return rc;
}

/* u0, u1 = hash_to_field(msg, 2) as reduced BIGNUMs. */
static int h2f(struct h2c_ctx *c, const uint8_t *msg, size_t msglen, const uint8_t *dst,
	       size_t dstlen, BIGNUM *u0, BIGNUM *u1)
{
	uint8_t uniform[2 * H2F_L];
	int rc;

	rc = xmd(c, msg, msglen, dst, dstlen, uniform, sizeof(uniform));
	if (rc != 0)
		goto out;
	rc = CL_ECRYPTO;
	/* A 384-bit value is below p^2, the input range of BN_nist_mod_256. */
	if (BN_bin2bn(uniform, H2F_L, u0) == NULL || BN_bin2bn(uniform + H2F_L, H2F_L, u1) == NULL)
		goto out;
	BN_set_flags(u0, BN_FLG_CONSTTIME);
	BN_set_flags(u1, BN_FLG_CONSTTIME);
	if (!BN_nist_mod_256(u0, u0, c->p, c->bn) || !BN_nist_mod_256(u1, u1, c->p, c->bn))
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(uniform, sizeof(uniform));
	return rc;
}

/* (isQR, y) = sqrt_ratio(u, v) for q = 3 mod 4, RFC 9380 appendix F.2.1.2. */
static int sqrt_ratio(struct h2c_ctx *c, const BIGNUM *u, const BIGNUM *v, unsigned *is_qr,
		      BIGNUM *y)
{
	BIGNUM *tv1 = c->s[S_R1], *tv2 = c->s[S_R2], *tv3 = c->s[S_R3];
	BIGNUM *y1 = c->s[S_RY1], *y2 = c->s[S_RY2];

	return fsqr(c, tv1, v) &&	  /* tv1 = v^2 */
	       fmul(c, tv2, u, v) &&	  /* tv2 = u * v */
	       fmul(c, tv1, tv1, tv2) &&  /* tv1 = tv1 * tv2 */
	       fexp(c, y1, tv1, c->c1) && /* y1 = tv1^c1 */
	       fmul(c, y1, y1, tv2) &&	  /* y1 = y1 * tv2 */
	       fmul(c, y2, y1, c->c2) &&  /* y2 = y1 * c2 */
	       fsqr(c, tv3, y1) &&	  /* tv3 = y1^2 */
	       fmul(c, tv3, tv3, v) &&	  /* tv3 = tv3 * v */
	       feq(tv3, u, is_qr) &&	  /* isQR = tv3 == u */
	       fcmov(y, y2, y1, *is_qr);  /* y = CMOV(y2, y1, isQR) */
}

/*
 * Simplified SWU, RFC 9380 appendix F.2, without the final division: x = xn / xd.
 * xn, xd, y must not alias the scratch values used here.
 */
static int sswu(struct h2c_ctx *c, const BIGNUM *u, BIGNUM *xn, BIGNUM *xd, BIGNUM *y)
{
	BIGNUM *tv1 = c->s[S_TV1], *tv2 = c->s[S_TV2], *tv3 = c->s[S_TV3];
	BIGNUM *tv4 = c->s[S_TV4], *tv5 = c->s[S_TV5], *tv6 = c->s[S_TV6];
	BIGNUM *x = c->s[S_X], *yy = c->s[S_Y];
	unsigned e, is_sq = 0, su, sy;

	if (!fsqr(c, tv1, u) ||		  /* 1. tv1 = u^2 */
	    !fmul(c, tv1, c->z, tv1) ||	  /* 2. tv1 = Z * tv1 */
	    !fsqr(c, tv2, tv1) ||	  /* 3. tv2 = tv1^2 */
	    !fadd(c, tv2, tv2, tv1) ||	  /* 4. tv2 = tv2 + tv1 */
	    !fadd(c, tv3, tv2, c->one) || /* 5. tv3 = tv2 + 1 */
	    !fmul(c, tv3, c->b, tv3) ||	  /* 6. tv3 = B * tv3 */
	    !fiszero(tv2, &e) ||	  /* 7. tv4 = CMOV(Z, -tv2, tv2 != 0) */
	    !fneg(c, tv4, tv2) || !fcmov(tv4, tv4, c->z, e) ||
	    !fmul(c, tv4, c->a, tv4) ||		     /* 8. tv4 = A * tv4 */
	    !fsqr(c, tv2, tv3) ||		     /* 9. tv2 = tv3^2 */
	    !fsqr(c, tv6, tv4) ||		     /* 10. tv6 = tv4^2 */
	    !fmul(c, tv5, c->a, tv6) ||		     /* 11. tv5 = A * tv6 */
	    !fadd(c, tv2, tv2, tv5) ||		     /* 12. tv2 = tv2 + tv5 */
	    !fmul(c, tv2, tv2, tv3) ||		     /* 13. tv2 = tv2 * tv3 */
	    !fmul(c, tv6, tv6, tv4) ||		     /* 14. tv6 = tv6 * tv4 */
	    !fmul(c, tv5, c->b, tv6) ||		     /* 15. tv5 = B * tv6 */
	    !fadd(c, tv2, tv2, tv5) ||		     /* 16. tv2 = tv2 + tv5 */
	    !fmul(c, x, tv1, tv3) ||		     /* 17. x = tv1 * tv3 */
	    !sqrt_ratio(c, tv2, tv6, &is_sq, tv5) || /* 18. (is_gx1_square, y1) */
	    !fmul(c, yy, tv1, u) ||		     /* 19. y = tv1 * u */
	    !fmul(c, yy, yy, tv5) ||		     /* 20. y = y * y1 */
	    !fcmov(x, x, tv3, is_sq) ||		     /* 21. x = CMOV(x, tv3, is_gx1_square) */
	    !fcmov(yy, yy, tv5, is_sq) ||	     /* 22. y = CMOV(y, y1, is_gx1_square) */
	    !fsgn0(u, &su) || !fsgn0(yy, &sy) ||     /* 23. e1 = sgn0(u) == sgn0(y) */
	    !fneg(c, tv6, yy) ||		     /* 24. y = CMOV(-y, y, e1) */
	    !fcmov(y, tv6, yy, 1u ^ (su ^ sy)) || !BN_copy(xn, x) || !BN_copy(xd, tv4))
		return 0;
	return 1;
}

/* Clears the scratch values, which hold material derived from the message. */
static void scrub(struct h2c_ctx *c)
{
	size_t i;

	for (i = 0; i < S_COUNT; i++)
		BN_clear(c->s[i]);
}

/* ---- exported ---- */

int h2c_ctx_new(struct h2c_ctx **out)
{
	struct h2c_ctx *c = NULL;
	BIGNUM *t = NULL;
	size_t i;
	int rc = CL_EINVAL;

	if (out == NULL)
		goto out;
	rc = CL_ENOMEM;
	c = OPENSSL_zalloc(sizeof(*c));
	if (c == NULL)
		goto out;
	rc = CL_ECRYPTO;
	c->p = BN_get0_nist_prime_256();
	c->group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	c->bn = BN_CTX_new();
	c->mont = BN_MONT_CTX_new();
	c->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->mdctx = EVP_MD_CTX_new();
	c->a = BN_new();
	c->b = BN_bin2bn(p256_b, sizeof(p256_b), NULL);
	c->z = BN_new();
	c->c1 = BN_new();
	c->c2 = BN_new();
	c->pm2 = BN_new();
	c->one = BN_new();
	c->zero = BN_new();
	t = BN_new();
	if (c->group == NULL || c->bn == NULL || c->mont == NULL || c->md == NULL ||
	    c->mdctx == NULL || c->a == NULL || c->b == NULL || c->z == NULL || c->c1 == NULL ||
	    c->c2 == NULL || c->pm2 == NULL || c->one == NULL || c->zero == NULL || t == NULL)
		goto out;
	for (i = 0; i < S_COUNT; i++) {
		c->s[i] = BN_new();
		if (c->s[i] == NULL)
			goto out;
		BN_set_flags(c->s[i], BN_FLG_CONSTTIME);
	}
	c->q0 = EC_POINT_new(c->group);
	c->q1 = EC_POINT_new(c->group);
	if (c->q0 == NULL || c->q1 == NULL || !BN_MONT_CTX_set(c->mont, c->p, c->bn))
		goto out;
	/* A = -3, Z = -10, c1 = (p - 3) / 4, c2 = sqrt(-Z) = sqrt(10), pm2 = p - 2. */
	if (!BN_one(c->one) || !BN_set_word(t, 3) || !BN_sub(c->a, c->p, t) ||
	    !BN_rshift(c->c1, c->a, 2) || !BN_set_word(t, 10) || !BN_sub(c->z, c->p, t) ||
	    BN_mod_sqrt(c->c2, t, c->p, c->bn) == NULL || !BN_set_word(t, 2) ||
	    !BN_sub(c->pm2, c->p, t))
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	BN_free(t);
	h2c_ctx_free(c);
	return rc;
}

void h2c_ctx_free(struct h2c_ctx *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	for (i = 0; i < S_COUNT; i++)
		BN_clear_free(ctx->s[i]);
	EC_POINT_clear_free(ctx->q0);
	EC_POINT_clear_free(ctx->q1);
	BN_free(ctx->a);
	BN_free(ctx->b);
	BN_free(ctx->z);
	BN_free(ctx->c1);
	BN_free(ctx->c2);
	BN_free(ctx->pm2);
	BN_free(ctx->one);
	BN_free(ctx->zero);
	EVP_MD_CTX_free(ctx->mdctx);
	EVP_MD_free(ctx->md);
	BN_MONT_CTX_free(ctx->mont);
	BN_CTX_free(ctx->bn);
	EC_GROUP_free(ctx->group);
	OPENSSL_free(ctx);
}

const EC_GROUP *h2c_ctx_group(const struct h2c_ctx *ctx)
{
	return ctx == NULL ? NULL : ctx->group;
}

int h2c_expand_message_xmd(struct h2c_ctx *ctx, const uint8_t *msg, size_t msglen,
			   const uint8_t *dst, size_t dstlen, uint8_t *out, size_t outlen)
{
	uint8_t buf[H2C_MAX_XMD_LEN];
	int rc = CL_EINVAL;

	if (ctx == NULL || out == NULL || outlen == 0 || outlen > sizeof(buf))
		goto out;
	rc = xmd(ctx, msg, msglen, dst, dstlen, buf, outlen);
	if (rc != 0)
		goto out;
	memcpy(out, buf, outlen);
out:
	OPENSSL_cleanse(buf, outlen > 0 && outlen <= sizeof(buf) ? outlen : 0);
	return rc;
}

int h2c_hash_to_field(struct h2c_ctx *ctx, const uint8_t *msg, size_t msglen, const uint8_t *dst,
		      size_t dstlen, uint8_t u0[H2C_FIELD_LEN], uint8_t u1[H2C_FIELD_LEN])
{
	uint8_t b0[H2C_FIELD_LEN], b1[H2C_FIELD_LEN];
	int rc = CL_EINVAL;

	if (ctx == NULL || u0 == NULL || u1 == NULL)
		goto out;
	rc = h2f(ctx, msg, msglen, dst, dstlen, ctx->s[S_U0], ctx->s[S_U1]);
	if (rc != 0)
		goto out;
	rc = CL_ECRYPTO;
	if (!fbytes(ctx->s[S_U0], b0) || !fbytes(ctx->s[S_U1], b1))
		goto out;
	memcpy(u0, b0, sizeof(b0));
	memcpy(u1, b1, sizeof(b1));
	rc = 0;
out:
	if (ctx != NULL)
		scrub(ctx);
	OPENSSL_cleanse(b0, sizeof(b0));
	OPENSSL_cleanse(b1, sizeof(b1));
	return rc;
}

int h2c_map_to_curve(struct h2c_ctx *ctx, const uint8_t u[H2C_FIELD_LEN], uint8_t x[H2C_FIELD_LEN],
		     uint8_t y[H2C_FIELD_LEN])
{
	uint8_t bx[H2C_FIELD_LEN], by[H2C_FIELD_LEN];
	BIGNUM *bu, *xn, *xd, *yy, *inv;
	int rc = CL_EINVAL;

	if (ctx == NULL || u == NULL || x == NULL || y == NULL)
		goto out;
	bu = ctx->s[S_U0];
	xn = ctx->s[S_XN0];
	xd = ctx->s[S_XD0];
	yy = ctx->s[S_Y0];
	inv = ctx->s[S_INV];
	rc = CL_ECRYPTO;
	if (BN_bin2bn(u, H2C_FIELD_LEN, bu) == NULL)
		goto out;
	BN_set_flags(bu, BN_FLG_CONSTTIME);
	if (BN_ucmp(bu, ctx->p) >= 0) {
		rc = CL_EINVAL;
		goto out;
	}
	if (!sswu(ctx, bu, xn, xd, yy) || !fexp(ctx, inv, xd, ctx->pm2) ||
	    !fmul(ctx, xn, xn, inv) || !fbytes(xn, bx) || !fbytes(yy, by))
		goto out;
	memcpy(x, bx, sizeof(bx));
	memcpy(y, by, sizeof(by));
	rc = 0;
out:
	if (ctx != NULL)
		scrub(ctx);
	OPENSSL_cleanse(bx, sizeof(bx));
	OPENSSL_cleanse(by, sizeof(by));
	return rc;
}

int h2c_hash_to_curve(struct h2c_ctx *ctx, const uint8_t *msg, size_t msglen, const uint8_t *dst,
		      size_t dstlen, EC_POINT *out)
{
	BIGNUM **s;
	int rc = CL_EINVAL;

	if (ctx == NULL || out == NULL)
		goto out;
	s = ctx->s;
	rc = h2f(ctx, msg, msglen, dst, dstlen, s[S_U0], s[S_U1]);
	if (rc != 0)
		goto out;
	rc = CL_ECRYPTO;
	if (!sswu(ctx, s[S_U0], s[S_XN0], s[S_XD0], s[S_Y0]) ||
	    !sswu(ctx, s[S_U1], s[S_XN1], s[S_XD1], s[S_Y1]))
		goto out;
	/* One inversion for both denominators: inv = (xd0 * xd1)^(p - 2). */
	if (!fmul(ctx, s[S_T], s[S_XD0], s[S_XD1]) || !fexp(ctx, s[S_INV], s[S_T], ctx->pm2) ||
	    !fmul(ctx, s[S_XN0], s[S_XN0], s[S_XD1]) || !fmul(ctx, s[S_XN0], s[S_XN0], s[S_INV]) ||
	    !fmul(ctx, s[S_XN1], s[S_XN1], s[S_XD0]) || !fmul(ctx, s[S_XN1], s[S_XN1], s[S_INV]))
		goto out;
	/* Q0 + Q1; clear_cofactor is the identity map for P-256 (h = 1). */
	if (!EC_POINT_set_affine_coordinates(ctx->group, ctx->q0, s[S_XN0], s[S_Y0], ctx->bn) ||
	    !EC_POINT_set_affine_coordinates(ctx->group, ctx->q1, s[S_XN1], s[S_Y1], ctx->bn) ||
	    !EC_POINT_add(ctx->group, ctx->q0, ctx->q0, ctx->q1, ctx->bn) ||
	    !EC_POINT_copy(out, ctx->q0))
		goto out;
	rc = 0;
out:
	if (ctx != NULL)
		scrub(ctx);
	return rc;
}
