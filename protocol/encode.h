/*
 * encode — the per-query encodings a node sends to the coordinator (privacy.md, Pseudonymisation):
 * q-gram extraction, per-query tokens HMAC-SHA256(oprf_output, nonce) and hardened Bloom filters.
 *
 * Bloom filters are balanced (Schnell & Borgs): a 512-bit base filter whose bit positions for a
 * q-gram are 9-bit slices of HMAC-SHA256(oprf_output(field tag || q-gram), nonce) ("random
 * hashing", no double hashing), concatenated with its complement and permuted by a per-query
 * permutation derived from the nonce. Every filter has exactly 512 of its 1024 bits set, and
 * Dice(A, B) = 1 - hamming(A, B) / 1024. See docs/privacy.md for the reasons.
 */
#ifndef CASELINK_PROTOCOL_ENCODE_H
#define CASELINK_PROTOCOL_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#define ENC_OPRF_LEN	32   /* bytes of an OPRF output (RFC 9497 P256-SHA256) */
#define ENC_NONCE_LEN	32   /* bytes of the coordinator's per-query nonce */
#define ENC_TOKEN_LEN	32   /* bytes of a per-query token */
#define ENC_PREP_LEN	64   /* bytes of a prepared HMAC key (two SHA-256 states) */
#define ENC_BLOOM_BITS	1024 /* bits of an encoded (balanced) filter */
#define ENC_BLOOM_BYTES 128
#define ENC_QGRAM_SLOT	9  /* one q-gram: two UTF-8 code points, NUL-terminated */
#define ENC_QIN_MAX	9  /* one OPRF q-gram input: field tag byte || q-gram bytes */
#define ENC_FIELD_MAX	16 /* field indexes 0..15 */
#define ENC_K_MAX	28 /* bit positions per q-gram: 28 9-bit slices of a 256-bit HMAC */

/* Field indexes of the q-gram fields; the OPRF input's tag byte is 0x01 + index. */
#define ENC_FIELD_GIVEN	 0
#define ENC_FIELD_FAMILY 1
#define ENC_FIELD_BIRTH	 2
/* Either name: the q-grams of the given and of the family name under one tag, so that a record
 * whose two names were swapped keeps its filter. The default filter holds only this field. */
#define ENC_FIELD_NAME 3

/* Derived per-query tokens (enc_derived_token): exact keys the linker compares for equality. */
#define ENC_DERIVED_YEAR  0 /* birth year: the bigrams of "YYYY" in the birth field */
#define ENC_DERIVED_DATE  1 /* full birth date: the bigrams of "YYYYMMDD" in the birth field */
#define ENC_DERIVED_GIVEN 2 /* given name: the bigrams of the given name in its field */
#define ENC_DERIVED_MAX	  3
#define ENC_DERIVED_QMAX  128 /* q-gram tokens per derived token */

#define ENC_DEFAULT_K_NAME 20 /* bit positions per q-gram of ENC_FIELD_NAME by default */

/* Per-query encoding state: the nonce, the permutation and the per-field k. */
struct enc_query;

/*
 * Extracts the distinct bigrams of a normalised text[0..len) padded with '_' at both ends
 * ("ab" -> "_a", "ab", "b_"), counting UTF-8 code points, in order of first occurrence, into
 * out[0..max) as NUL-terminated strings; writes *count (0 for an empty text). Birth dates are
 * passed as their digits (YYYYMMDD or YYYY). CL_EPARSE for invalid UTF-8 or a '_' in the text,
 * CL_ELIMIT when more than max q-grams would result; on error *count is not written and the
 * contents of out are unspecified.
 */
int enc_qgrams(const char *text, size_t len, char out[][ENC_QGRAM_SLOT], size_t max, size_t *count);

/*
 * As enc_qgrams, but every bigram in order with repeats ("anan" -> "_a", "an", "na", "an",
 * "n_"): the sequence determines the text, so it keys an exact derived token.
 */
int enc_qgram_seq(const char *text, size_t len, char out[][ENC_QGRAM_SLOT], size_t max,
		  size_t *count);

/*
 * Writes to out[0..max) the bigram sequence a derived token of kind is computed from, and its
 * field to *field: ENC_DERIVED_YEAR from the birth-date digits (YYYYMMDD or YYYY) the first four
 * bigrams of the year ("_1", "19", "97", "78": present in a full date and in a year-only one);
 * ENC_DERIVED_DATE the enc_qgram_seq of the eight digits of a full date (CL_ENOTFOUND for a
 * year-only one); ENC_DERIVED_GIVEN the enc_qgram_seq of the normalised given name. CL_ENOTFOUND
 * for an empty text.
 */
int enc_derived_qgrams(unsigned kind, const char *text, size_t len, char out[][ENC_QGRAM_SLOT],
		       size_t max, size_t *count, unsigned *field);

/*
 * Writes a derived per-query token of kind (ENC_DERIVED_*) to out: HMAC-SHA256 keyed by the
 * per-query tokens of the value's bigram sequence (qtokens, n * 32 bytes, n in
 * 1..ENC_DERIVED_QMAX, each enc_token of the q-gram's OPRF output with this query's nonce),
 * over a label naming the kind. Equal values give equal tokens within one query only; nobody
 * without the q-grams' OPRF outputs (the keyholder's key) and the nonce can compute one.
 */
int enc_derived_token(unsigned kind, const unsigned char *qtokens, size_t n,
		      unsigned char out[ENC_TOKEN_LEN]);

/*
 * Writes the OPRF input of a q-gram of field (field tag byte 0x01 + field, then the q-gram's
 * bytes) to out and its length to *outlen. The tag bytes are control characters, so q-gram inputs
 * never equal an `id` or `demo` input. CL_EINVAL for a bad field or q-gram.
 */
int enc_qgram_input(unsigned field, const char *qgram, unsigned char out[ENC_QIN_MAX],
		    size_t *outlen);

/* Writes the per-query token HMAC-SHA256(key = oprf, message = nonce) to out. */
int enc_token(const unsigned char oprf[ENC_OPRF_LEN], const unsigned char nonce[ENC_NONCE_LEN],
	      unsigned char out[ENC_TOKEN_LEN]);

/*
 * As enc_token for n OPRF outputs stored back to back (n * 32 bytes) into out (n * 32 bytes);
 * out may equal oprf (in place). Four SHA-256 compressions per token, no allocation.
 */
int enc_tokens(const unsigned char *oprf, size_t n, const unsigned char nonce[ENC_NONCE_LEN],
	       unsigned char *out);

/*
 * Precomputes, for n OPRF outputs (n * 32 bytes), the HMAC key states (the SHA-256 states after
 * the key's ipad and opad blocks) into prep (n * ENC_PREP_LEN bytes). They depend only on the
 * OPRF output, are as secret as it, and may be cached with it (in host byte order: not to be
 * moved between machines) to halve the per-query cost.
 */
int enc_token_prepare(const unsigned char *oprf, size_t n, unsigned char *prep);

/* As enc_tokens from prepared key states: two SHA-256 compressions per token. */
int enc_tokens_prepared(const unsigned char *prep, size_t n,
			const unsigned char nonce[ENC_NONCE_LEN], unsigned char *out);

/*
 * Writes the HMAC-SHA256 key states of key[0..len) (any length; a key longer than a block is
 * hashed first, RFC 2104) to prep, in enc_token_prepare's layout. As secret as the key.
 */
int enc_hmac_prepare(const unsigned char *key, size_t len, unsigned char prep[ENC_PREP_LEN]);

/*
 * Writes HMAC-SHA256(key, msg[0..len)) to out from the key states enc_hmac_prepare made: one
 * compression per 64 bytes of message (rounded up, with SHA-256 padding) plus one, no allocation.
 */
int enc_hmac_prepared(const unsigned char prep[ENC_PREP_LEN], const unsigned char *msg, size_t len,
		      unsigned char out[32]);

/*
 * The same token as enc_derived_token, computed with SHA-256 compressions instead of an OpenSSL
 * HMAC object per call (the node's per-query path).
 */
int enc_derived_token_fast(unsigned kind, const unsigned char *qtokens, size_t n,
			   unsigned char out[ENC_TOKEN_LEN]);

/*
 * Creates the encoding state of one query in *out: derives the bit permutation from the nonce
 * and sets the default k per field (ENC_FIELD_NAME ENC_DEFAULT_K_NAME, every other field 0: the
 * birth date is compared through derived tokens; tuned on a `caselink synth` federation,
 * docs/BENCHMARKS.md).
 */
int enc_query_new(const unsigned char nonce[ENC_NONCE_LEN], struct enc_query **out);

/* Sets the bit positions per q-gram of field (0..ENC_K_MAX; 0 leaves the field out). */
int enc_query_set_k(struct enc_query *q, unsigned field, unsigned k);

/* Frees the state and wipes the nonce and the permutation; NULL is allowed. */
void enc_query_free(struct enc_query *q);

/*
 * Encodes one record: qoprf holds n q-gram OPRF outputs (n * 32 bytes) and fields[i] the field
 * index of the i-th; writes the balanced, permuted filter to out. Computes the n per-query q-gram
 * tokens itself (wiped afterwards); enc_bloom_tokens is the fast path for cached tokens.
 */
int enc_bloom(const struct enc_query *q, const unsigned char *qoprf, const unsigned char *fields,
	      size_t n, unsigned char out[ENC_BLOOM_BYTES]);

/*
 * As enc_bloom from the q-gram tokens (n * 32 bytes, each enc_token of a q-gram OPRF output with
 * this query's nonce), so that a node computes each distinct q-gram's token once per query.
 */
int enc_bloom_tokens(const struct enc_query *q, const unsigned char *qtokens,
		     const unsigned char *fields, size_t n, unsigned char out[ENC_BLOOM_BYTES]);

#define ENC_MASK_WORDS (2 * ENC_BLOOM_BITS / 64) /* a filter's set bits, then its cleared bits */

/*
 * Writes to mask the bits that n q-gram tokens (as for enc_bloom_tokens) set (words 0..15) and
 * clear (words 16..31) in a filter of q. Setting and clearing touch disjoint positions (a base
 * bit and its complement), so a filter depends only on the union of its q-grams' masks.
 */
int enc_bloom_mask(const struct enc_query *q, const unsigned char *qtokens,
		   const unsigned char *fields, size_t n, uint64_t mask[ENC_MASK_WORDS]);

/*
 * Writes the filter of the union of n masks (enc_bloom_mask) to out: the same filter
 * enc_bloom_tokens makes from all their q-gram tokens at once.
 */
int enc_bloom_from_masks(const struct enc_query *q, const uint64_t *const *masks, size_t n,
			 unsigned char out[ENC_BLOOM_BYTES]);

/* Returns the Dice coefficient of two filters (1.0 for two empty filters). */
double enc_dice(const unsigned char a[ENC_BLOOM_BYTES], const unsigned char b[ENC_BLOOM_BYTES]);

#endif
