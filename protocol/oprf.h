/*
 * oprf — RFC 9497 oblivious pseudorandom function, base mode (mode 0), suite P256-SHA256.
 *
 * Scalars (keys, blinds) are 32-byte big-endian values in [1, n-1]; group elements are 33-byte
 * compressed SEC1 points (SerializeElement of RFC 9497); outputs are 32 bytes of SHA-256.
 * Deserialising an element refuses malformed encodings, points not on the curve and the identity
 * with CL_EBADPOINT; a scalar out of range is refused with CL_EINVAL.
 *
 * Constant time: secret scalars live in BIGNUMs flagged BN_FLG_CONSTTIME, are range-checked with
 * masked byte arithmetic, the blind is inverted by Fermat's little theorem with
 * BN_mod_exp_mont_consttime, and scalar multiplication is EC_POINT_mul (on x86-64 OpenSSL 3.0
 * uses the constant-time nistz256 windowed code for P-256, elsewhere the constant-time Montgomery
 * ladder of ec_mult.c). Decoding an element takes a variable-time square root: elements are
 * public. Hash-to-curve is in protocol/h2c.h. Secrets are wiped after use.
 *
 * A context is not thread-safe: use one per thread.
 */
#ifndef CASELINK_PROTOCOL_OPRF_H
#define CASELINK_PROTOCOL_OPRF_H

#include <stddef.h>
#include <stdint.h>

#define OPRF_SCALAR_LEN	   32
#define OPRF_ELEMENT_LEN   33
#define OPRF_OUTPUT_LEN	   32
#define OPRF_SEED_LEN	   32
#define OPRF_MAX_INPUT_LEN 65535 /* inputs are length-prefixed with two bytes */
#define OPRF_MAX_INFO_LEN  65535
#define OPRF_MAX_BATCH	   65536 /* elements per oprf_blind_evaluate_batch call */

struct oprf_ctx;

/* Creates a context holding the group, hash-to-curve state and scratch space in *out. */
int oprf_ctx_new(struct oprf_ctx **out);

/* Frees a context and wipes its scratch space; NULL is allowed. */
void oprf_ctx_free(struct oprf_ctx *ctx);

/* RFC 9497 DeriveKeyPair: derives the key sk_out and public key pk_out from seed and info. */
int oprf_derive_keypair(struct oprf_ctx *ctx, const uint8_t seed[OPRF_SEED_LEN],
			const uint8_t *info, size_t infolen, uint8_t sk_out[OPRF_SCALAR_LEN],
			uint8_t pk_out[OPRF_ELEMENT_LEN]);

/* Generates a random key sk_out (RAND_priv_bytes) and its public key pk_out. */
int oprf_generate_key(struct oprf_ctx *ctx, uint8_t sk_out[OPRF_SCALAR_LEN],
		      uint8_t pk_out[OPRF_ELEMENT_LEN]);

/* RFC 9497 Blind with a fresh random blind: writes the blind and the blinded element. */
int oprf_blind(struct oprf_ctx *ctx, const uint8_t *input, size_t len,
	       uint8_t blind_out[OPRF_SCALAR_LEN], uint8_t blinded_out[OPRF_ELEMENT_LEN]);

/* Blind with a caller-chosen blind (test vectors only): writes the blinded element. */
int oprf_blind_with(struct oprf_ctx *ctx, const uint8_t *input, size_t len,
		    const uint8_t blind[OPRF_SCALAR_LEN], uint8_t blinded_out[OPRF_ELEMENT_LEN]);

/* RFC 9497 BlindEvaluate: writes sk * blinded to evaluated_out. */
int oprf_blind_evaluate(struct oprf_ctx *ctx, const uint8_t sk[OPRF_SCALAR_LEN],
			const uint8_t blinded[OPRF_ELEMENT_LEN],
			uint8_t evaluated_out[OPRF_ELEMENT_LEN]);

/*
 * BlindEvaluate over n elements stored back to back (n * 33 bytes) into evaluated_out (n * 33
 * bytes). One bad element fails the whole batch (CL_EBADPOINT) and nothing is written.
 */
int oprf_blind_evaluate_batch(struct oprf_ctx *ctx, const uint8_t sk[OPRF_SCALAR_LEN],
			      const uint8_t *blinded, size_t n, uint8_t *evaluated_out);

/* RFC 9497 Finalize: unblinds evaluated with blind and writes the PRF output for input. */
int oprf_finalize(struct oprf_ctx *ctx, const uint8_t *input, size_t len,
		  const uint8_t blind[OPRF_SCALAR_LEN], const uint8_t evaluated[OPRF_ELEMENT_LEN],
		  uint8_t output[OPRF_OUTPUT_LEN]);

/* RFC 9497 Evaluate: the key holder's direct PRF output for input under sk. */
int oprf_evaluate(struct oprf_ctx *ctx, const uint8_t sk[OPRF_SCALAR_LEN], const uint8_t *input,
		  size_t len, uint8_t output[OPRF_OUTPUT_LEN]);

#endif
