/*
 * mpc_input — how a data holder (a node) splits its columns into replicated shares for the
 * three parties with one vector and two seeds (docs/secure-computation.md, "Data path").
 *
 * A column set of n rows has `na` arithmetic columns (n 64-bit words each, values mod 2^64)
 * followed by `nplanes` bit planes (mpc_words(n) words each, element k at bit k % 64 of word
 * k / 64); its words are in that order. The holder draws two 32-byte seeds s1, s2 and
 * computes x0 = x − E(s1) − E(s2) (arithmetic words) or x ^ E(s1) ^ E(s2) (plane words),
 * E(s) being AES-128-CTR keyed by s[0..16) with counter block s[16..32) (OpenSSL EVP).
 * Party 0 holds (x0, E(s1)), party 1 (E(s1), E(s2)), party 2 (E(s2), x0).
 */
#ifndef CASELINK_COMPUTE_MPC_INPUT_H
#define CASELINK_COMPUTE_MPC_INPUT_H

#include <stddef.h>
#include <stdint.h>

#define MPC_INPUT_SEED	    32
#define MPC_INPUT_MAX_WORDS (1u << 26) /* words of one column set (512 MiB) */

struct mpc_input_shape {
	size_t n;	/* rows */
	size_t na;	/* arithmetic columns */
	size_t nplanes; /* bit planes */
};

/* Writes the number of words of a column set to *words; CL_ELIMIT beyond the maximum. */
int mpc_input_words(const struct mpc_input_shape *s, size_t *words);

/*
 * Splits x (mpc_input_words words) with two fresh seeds: writes x0 (as many words) and the
 * seeds. CL_ECRYPTO when randomness or AES fails (nothing is written then).
 */
int mpc_input_split(const struct mpc_input_shape *s, const uint64_t *x, uint64_t *x0,
		    uint8_t seed1[MPC_INPUT_SEED], uint8_t seed2[MPC_INPUT_SEED]);

/* Writes E(seed) over the column set's words to out. */
int mpc_input_expand(const struct mpc_input_shape *s, const uint8_t seed[MPC_INPUT_SEED],
		     uint64_t *out);

/*
 * The associated data a sealed box of a node's upload is bound to: "caselink/shares/v1",
 * the party number (1 or 2) and the query nonce (1..32 bytes). Writes *len (<= 64) bytes.
 */
int mpc_input_aad(unsigned party, const uint8_t *nonce, size_t nonce_len, uint8_t out[64],
		  size_t *len);

#endif
