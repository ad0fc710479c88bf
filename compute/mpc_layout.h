/*
 * mpc_layout — the pieces every measure circuit over the cluster layout of mpc_measures.h
 * needs: a bucket's public shape and pair map, pair comparisons, "first slot of a kind",
 * reductions of each cluster's slots, placement of cluster values into one vector over all
 * buckets, and the final sums opened to party 0.
 *
 * A bucket of clusters of s slots pairs every slot k = c·s + j with the s − 1 other slots
 * f = c·s + (j + q) mod s of its cluster, q = 1 .. s − 1 ("pair plane" q − 1); f sits before
 * k in the cluster when j + q wrapped past s. Planes follow mpc_circuit.h. Every function
 * that communicates is called by the three parties with the same public arguments.
 */
#ifndef CASELINK_COMPUTE_MPC_LAYOUT_H
#define CASELINK_COMPUTE_MPC_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "compute/mpc_measures.h"
#include "compute/mpc_share.h"

/* One bucket's public shape: s slots a cluster, C clusters, n = C·s slots, W words a slot
 * plane, Wc words a cluster plane, Q = s − 1 pair planes, map[q·n + k] = partner of k. */
struct mpc_layout_bk {
	uint32_t s;
	size_t C, n, W, Wc, Q;
	uint32_t *map;
};

/* Fills b from one bucket of a layout. CL_ELIMIT beyond MPC_MAX_*, CL_ENOMEM. */
int mpc_layout_bk_init(struct mpc_layout_bk *b, const struct mpc_bucket *in);

/* Frees b's pair map. */
void mpc_layout_bk_free(struct mpc_layout_bk *b);

/* A view of w words of v from word off (no ownership). */
struct mpc_b mpc_layout_view(const struct mpc_b *v, size_t off, size_t w);

/* Copies w words of src from word soff to dst at word off (both shares). Local. */
void mpc_layout_copy(struct mpc_b *dst, size_t off, const struct mpc_b *src, size_t soff, size_t w);

/* *dst (allocated, Q planes) = for each pair plane, src's bit at the partner slot. Local. */
int mpc_layout_pairs(const struct mpc_layout_bk *b, const struct mpc_b *src, struct mpc_b *dst);

#define MPC_LAYOUT_PAIR_CHUNK (1u << 22) /* comparisons of one chunk of mpc_layout_before */

/*
 * *before (allocated, Q planes) = the partner f comes before slot k: t_f < t_k, or t_f = t_k
 * and f sits before k in the cluster. When near is not NULL it gets (Q planes) t_k − t_f <=
 * window as well. Values of t below 2^31 apart. In comparison batches of at most
 * MPC_LAYOUT_PAIR_CHUNK (7 rounds each), so that the scratch stays bounded.
 */
int mpc_layout_before(struct mpc_party *p, const struct mpc_layout_bk *b, const struct mpc_a *t,
		      uint32_t window, struct mpc_b *before, struct mpc_b *near);

/* *z (allocated) = x & y over x's words. One round. */
int mpc_layout_and(struct mpc_party *p, const struct mpc_b *x, const struct mpc_b *y,
		   struct mpc_b *z);

/*
 * *out (allocated, one plane of r·W words) = last (negated when neg_last) and no x_q, for
 * Q planes x_q of r·W words (r reductions side by side). ceil(log2(Q + 1)) rounds.
 */
int mpc_layout_nor(struct mpc_party *p, const struct mpc_b *x, size_t Q, size_t RW,
		   const struct mpc_b *last, int neg_last, struct mpc_b *out);

/*
 * *first (allocated, one plane) = kind_k and no partner f with kind_f and before(f, k): the
 * first slot of that kind in each cluster, ties by position (at most one per cluster).
 * before: Q planes from mpc_layout_before. 1 + ceil(log2 s) rounds.
 */
int mpc_layout_first(struct mpc_party *p, const struct mpc_layout_bk *b, const struct mpc_b *kind,
		     const struct mpc_b *before, struct mpc_b *first);

/* *out (allocated, s planes of Wc words): plane j bit c = slot c·s + j of slot. Local. */
int mpc_layout_cluster_planes(const struct mpc_layout_bk *b, const struct mpc_b *slot,
			      struct mpc_b *out);

/*
 * *out (allocated, r planes of Wc words) = OR over each cluster's slots, for r slot planes
 * (slot: r planes of W words) side by side. ceil(log2(s + 1)) rounds.
 */
int mpc_layout_cluster_or(struct mpc_party *p, const struct mpc_layout_bk *b,
			  const struct mpc_b *slot, size_t r, struct mpc_b *out);

/* As mpc_layout_cluster_or with XOR (for one-hot selections). Local. */
int mpc_layout_cluster_xor(const struct mpc_layout_bk *b, const struct mpc_b *slot, size_t r,
			   struct mpc_b *out);

/* Writes the C bits of a cluster plane src into plane dplane of dst (planes of dst_w words)
 * at cluster offset off. Local. */
void mpc_layout_place(struct mpc_b *dst, size_t dplane, size_t dst_w, size_t off,
		      const struct mpc_b *src, size_t C);

/*
 * Counts the ones of each of R rows of one-bit planes (in: R planes of Wc words) and opens
 * the R totals to party 0 only: out[r] at party 0 (the others pass NULL). About
 * 32 · log2(64·Wc) rounds.
 */
int mpc_layout_count_open(struct mpc_party *p, const struct mpc_b *in, size_t R, size_t Wc,
			  uint64_t *out);

/*
 * *out (allocated, r·m·n elements: block i·m + j, element k) = Σ over k's cluster of
 * sel_i · cols[j], for r selection planes sel (r planes of W words, at most one 1 per
 * cluster for a selection) and m columns of n elements. B2A and one multiplication: three
 * rounds.
 */
int mpc_layout_pick(struct mpc_party *p, const struct mpc_layout_bk *b, const struct mpc_b *sel,
		    size_t r, const struct mpc_a *const *cols, size_t m, struct mpc_a *out);

/* One pair comparison: [f_f − k_k − c − tie·(f sits before k) < 0] for partner f of slot k. */
struct mpc_layout_cmp {
	const struct mpc_a *f, *k;
	uint64_t c;
	int tie;
};

/*
 * *out (allocated, m·Q planes of W words: comparison i, pair plane q at plane i·Q + q) for
 * m comparisons of spec. Values below 2^31 apart. One comparison batch (7 rounds).
 */
int mpc_layout_pair_lt(struct mpc_party *p, const struct mpc_layout_bk *b,
		       const struct mpc_layout_cmp *spec, size_t m, struct mpc_b *out);

/*
 * *out (allocated, 2·r planes of W words: plane 2i is t < lo_i, plane 2i + 1 is
 * t > lo_i + width) for r per-slot bounds lo (r·n elements, block i). Values below 2^30.
 * One comparison batch.
 */
int mpc_layout_outside(struct mpc_party *p, const struct mpc_layout_bk *b, const struct mpc_a *t,
		       const struct mpc_a *lo, size_t r, uint64_t width, struct mpc_b *out);

#endif
