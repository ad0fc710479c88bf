/*
 * mpc_circuit — boolean circuits over mpc_share's bitsliced shares, and the conversions
 * between arithmetic and boolean shares.
 *
 * Bit layout: a vector of n one-bit values is a "plane" of mpc_words(n) words, element k
 * at bit k % 64 of word k / 64; bits past n are zero in every opened result. A vector of
 * n k-bit values is k planes, plane j (bit j of every element) at words [j·W, (j+1)·W).
 * Every function is called by the three parties with the same public arguments and takes
 * the number of rounds stated; all elements are processed in the same rounds.
 */
#ifndef CASELINK_COMPUTE_MPC_CIRCUIT_H
#define CASELINK_COMPUTE_MPC_CIRCUIT_H

#include <stddef.h>
#include <stdint.h>

#include "compute/mpc_share.h"

/* Returns the number of words of a plane of n bits. */
size_t mpc_words(size_t n);

/*
 * Writes to *out (allocated here, one plane) the sign bit of the low 32 bits of each
 * element of x, i.e. x[k] < 0 read as a 32-bit two's-complement value. For a comparison
 * a < b pass x = a - b with |a - b| < 2^31. About 95 ANDs per element, 7 rounds.
 */
int mpc_msb32(struct mpc_party *p, const struct mpc_a *x, struct mpc_b *out);

/* Converts a plane of n shared bits to arithmetic shares of 0 / 1 in *out. Two rounds. */
int mpc_b2a(struct mpc_party *p, const struct mpc_b *bits, size_t n, struct mpc_a *out);

/*
 * ANDs m planes of W words each (in[0 .. m·W)) into one plane *out of W words:
 * out = in_0 & in_1 & ... & in_{m-1}; ceil(log2 m) rounds. m == 1 copies.
 */
int mpc_and_reduce(struct mpc_party *p, const struct mpc_b *in, size_t m, size_t W,
		   struct mpc_b *out);

/*
 * Converts x (n elements whose values are below 2^k at reconstruction, k <= 32) into k
 * planes of booleans in *out: a full adder of the three shares. k + ~2·log2 k rounds.
 * Used for equality tests and selections on small values.
 */
int mpc_a2b(struct mpc_party *p, const struct mpc_a *x, unsigned k, struct mpc_b *out);

#endif
