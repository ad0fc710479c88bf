/*
 * mpc_share — three-party replicated secret sharing (semi-honest, honest majority).
 *
 * A value x is split as x = x0 + x1 + x2 over Z_2^64 (arithmetic) or x = x0 ^ x1 ^ x2
 * (boolean, bitsliced: 64 elements in a word); party i holds (x_i, x_{i+1}), indices mod 3.
 * One party's pair is uniformly random whatever x is. See docs/secure-computation.md.
 *
 * Every function that communicates is called by the three parties in the same order with
 * the same public arguments (vector sizes, owner, target); it then completes in one round.
 * The correlated randomness comes from two AES-128-CTR streams per party (OpenSSL EVP):
 * one keyed by the party's own key, which it shares with party i - 1, and one keyed by
 * party i + 1's key. Keys are drawn per computation and wiped when the party is freed.
 */
#ifndef CASELINK_COMPUTE_MPC_SHARE_H
#define CASELINK_COMPUTE_MPC_SHARE_H

#include <stddef.h>
#include <stdint.h>

#include "compute/mpc_net.h"

#define MPC_MAX_ELEMENTS (1u << 28) /* elements (or words) of one share vector */

struct mpc_party;

/* Arithmetic shares of n elements: s0[k] = x_self, s1[k] = x_{self+1} of element k. */
struct mpc_a {
	size_t n;
	uint64_t *s0, *s1;
};

/* Boolean shares of w 64-bit words (the meaning of the bits is the caller's). */
struct mpc_b {
	size_t w;
	uint64_t *s0, *s1;
};

/*
 * Starts this party's side of a computation over net: draws its key, sends it to party
 * self - 1 and receives party self + 1's (one round). net stays the caller's and must outlive
 * the party. CL_ECRYPTO if OpenSSL fails, the transport's error otherwise.
 */
int mpc_party_new(struct mpc_party **out, struct mpc_net *net);

/* Wipes the keys and frees the party; NULL is allowed. */
void mpc_party_free(struct mpc_party *p);

/* Returns the party's number (0, 1, 2). */
unsigned mpc_party_self(const struct mpc_party *p);

/* Returns the number of communication rounds this party has taken part in. */
uint64_t mpc_party_rounds(const struct mpc_party *p);

/*
 * For the engine's other modules (mpc_perm): the channel the party was created over, and
 * counting one more round that such a module completed with it.
 */
struct mpc_net *mpc_party_net(struct mpc_party *p);
void mpc_party_count_round(struct mpc_party *p);

/* Allocates zeroed shares (a sharing of zeros). CL_ELIMIT beyond MPC_MAX_ELEMENTS. */
int mpc_a_alloc(struct mpc_a *v, size_t n);
int mpc_b_alloc(struct mpc_b *v, size_t w);

/* Wipes and frees the shares and sets v to empty; an empty v is allowed. */
void mpc_a_free(struct mpc_a *v);
void mpc_b_free(struct mpc_b *v);

/*
 * Shares values held by party owner: owner passes vals (n elements), the others NULL; every
 * party passes the same n and gets its shares in *out (allocated here). One round.
 */
int mpc_a_input(struct mpc_party *p, unsigned owner, const uint64_t *vals, size_t n,
		struct mpc_a *out);
int mpc_b_input(struct mpc_party *p, unsigned owner, const uint64_t *words, size_t w,
		struct mpc_b *out);

/* Sets v to a sharing of the public values vals (no communication). */
void mpc_a_public(const struct mpc_party *p, struct mpc_a *v, const uint64_t *vals);
void mpc_b_public(const struct mpc_party *p, struct mpc_b *v, const uint64_t *words);

/* Local operations, element by element; z may be x or y. Sizes must match (CL_EINVAL). */
int mpc_a_add(struct mpc_a *z, const struct mpc_a *x, const struct mpc_a *y);
int mpc_a_sub(struct mpc_a *z, const struct mpc_a *x, const struct mpc_a *y);
void mpc_a_scale(struct mpc_a *x, uint64_t c);
void mpc_a_add_const(const struct mpc_party *p, struct mpc_a *x, uint64_t c);
int mpc_b_xor(struct mpc_b *z, const struct mpc_b *x, const struct mpc_b *y);
void mpc_b_not(const struct mpc_party *p, struct mpc_b *x);

/* z = x * y (arithmetic) or z = x & y (boolean), element by element; one round. */
int mpc_a_mul(struct mpc_party *p, struct mpc_a *z, const struct mpc_a *x, const struct mpc_a *y);
int mpc_b_and(struct mpc_party *p, struct mpc_b *z, const struct mpc_b *x, const struct mpc_b *y);

/*
 * Opens x to every party (out: n elements or w words at every party), or to party target
 * only (out at target; the others pass NULL and learn nothing). One round.
 */
int mpc_a_open(struct mpc_party *p, const struct mpc_a *x, uint64_t *out);
int mpc_a_open_to(struct mpc_party *p, unsigned target, const struct mpc_a *x, uint64_t *out);
int mpc_b_open(struct mpc_party *p, const struct mpc_b *x, uint64_t *out);
int mpc_b_open_to(struct mpc_party *p, unsigned target, const struct mpc_b *x, uint64_t *out);

/*
 * Fills buf with len bytes of the stream shared with party self - 1 (which == 0) or with
 * party self + 1 (which == 1). Both holders of a stream must draw the same lengths in the
 * same order. For shuffles and other pair randomness.
 */
int mpc_party_stream(struct mpc_party *p, int which, void *buf, size_t len);

#endif
