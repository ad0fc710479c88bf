/*
 * h2c — RFC 9380 hashing to the NIST P-256 curve, suite P256_XMD:SHA-256_SSWU_RO_.
 *
 * expand_message_xmd with SHA-256, hash_to_field (m = 1, L = 48), the simplified SWU map with
 * Z = -10, a trivial clear_cofactor (h = 1), and hash_to_curve = map(u0) + map(u1).
 *
 * Field arithmetic runs on OpenSSL BIGNUMs reduced with BN_nist_mod_256; the square root test
 * of the map is the exponentiation-based sqrt_ratio of RFC 9380 appendix F.2.1.2 computed with
 * BN_mod_exp_mont_consttime, conditional moves and equality tests are masked byte operations, and
 * the final division uses one Fermat inversion shared by both maps. No branch of this module
 * depends on the message. Residual leaks inside OpenSSL: BIGNUM width normalisation (a leading
 * zero limb, probability about 2^-64 per value), BN_mod_sub_quick's sign test (in a negation it
 * only singles out 0), and the final point addition, which uses OpenSSL's generic formulas.
 *
 * A context is not thread-safe: use one per thread.
 */
#ifndef CASELINK_PROTOCOL_H2C_H
#define CASELINK_PROTOCOL_H2C_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ec.h>

#define H2C_FIELD_LEN	32	   /* bytes of a serialised field element */
#define H2C_MAX_DST_LEN 255	   /* longest domain separation tag accepted */
#define H2C_MAX_XMD_LEN 8160	   /* longest expand_message_xmd output (255 blocks of SHA-256) */
#define H2C_MAX_MSG_LEN (1u << 20) /* longest message accepted */

struct h2c_ctx;

/* Creates a context holding the P-256 group, constants and scratch space in *out. */
int h2c_ctx_new(struct h2c_ctx **out);

/* Frees a context; NULL is allowed. */
void h2c_ctx_free(struct h2c_ctx *ctx);

/* Returns the P-256 group owned by the context, valid until the context is freed. */
const EC_GROUP *h2c_ctx_group(const struct h2c_ctx *ctx);

/* Writes outlen bytes of expand_message_xmd(msg, dst, outlen) with SHA-256 to out. */
int h2c_expand_message_xmd(struct h2c_ctx *ctx, const uint8_t *msg, size_t msglen,
			   const uint8_t *dst, size_t dstlen, uint8_t *out, size_t outlen);

/* Writes the two field elements hash_to_field(msg, 2) as 32-byte big-endian values to u0, u1. */
int h2c_hash_to_field(struct h2c_ctx *ctx, const uint8_t *msg, size_t msglen, const uint8_t *dst,
		      size_t dstlen, uint8_t u0[H2C_FIELD_LEN], uint8_t u1[H2C_FIELD_LEN]);

/* Maps the field element u (big-endian, below p) to the affine point (x, y) with simplified SWU. */
int h2c_map_to_curve(struct h2c_ctx *ctx, const uint8_t u[H2C_FIELD_LEN], uint8_t x[H2C_FIELD_LEN],
		     uint8_t y[H2C_FIELD_LEN]);

/*
 * Sets out (a point of h2c_ctx_group) to hash_to_curve(msg) under dst. The result may be the
 * identity with negligible probability; callers that must refuse it check for it.
 */
int h2c_hash_to_curve(struct h2c_ctx *ctx, const uint8_t *msg, size_t msglen, const uint8_t *dst,
		      size_t dstlen, EC_POINT *out);

#endif
