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

/*
 * Local gather: bit k of *dst (k < n) is bit map[k] of src (map[k] < 64·src->w). *dst gets
 * mpc_words(n) words, allocated here. No communication.
 */
int mpc_b_gather(const struct mpc_b *src, const uint32_t *map, size_t n, struct mpc_b *dst);

/*
 * Ripple-carry addition of two vectors of k-bit numbers, each k planes of W words (plane j
 * at words [j·W, (j+1)·W)): *sum gets k + 1 planes of W words. k rounds, k ANDs a bit.
 */
int mpc_add(struct mpc_party *p, const struct mpc_b *a, const struct mpc_b *b, unsigned k, size_t W,
	    struct mpc_b *sum);

/*
 * Counts the ones among m planes of W words, element by element: *out gets *kout planes of
 * W words (the count in binary, *kout = bits of m). About log2(m)^2 / 2 rounds.
 */
int mpc_planes_sum(struct mpc_party *p, const struct mpc_b *in, size_t m, size_t W,
		   struct mpc_b *out, unsigned *kout);

/*
 * Sums every row's elements: in holds R rows of numbers of K bits over Wc words, plane-major
 * (plane j of row r at words [(j·R + r)·Wc, ... + Wc)); *out gets 32 planes of R words, the
 * total of row r (mod 2^32) in element 0 of word r of each plane. About log2(64·Wc) · 32 rounds.
 */
int mpc_sum_rows(struct mpc_party *p, const struct mpc_b *in, unsigned K, size_t R, size_t Wc,
		 struct mpc_b *out);

#endif
