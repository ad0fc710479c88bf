/*
 * mpc_perm — permutations of shared tables: the secret shuffle (no party knows the
 * permutation) and the layout by a permutation known to party 0 only.
 *
 * A table is a set of columns of the same number n of rows: arithmetic columns (struct
 * mpc_a, n elements) and boolean columns (struct mpc_b with w == n: one 64-bit word per
 * row, not bitsliced; mpc_perm_planes_to_rows and mpc_perm_rows_to_planes convert from and
 * to mpc_circuit's planes). A permutation moves whole rows: every column of row k goes to
 * row pi[k] ("apply pi": y[pi[k]] = x[k]; applying s after t applies s∘t, (s∘t)[k] =
 * s[t[k]]).
 *
 * One pass (pair a, b = a + 1, third c = a + 2, indices mod 3), one round. The pair holds
 * a permutation s. Party a holds (x_a, x_{a+1}), b holds (x_{a+1}, x_{a+2}), so
 * u = x_a + x_{a+1} (at a) and v = x_{a+2} (at b) is a 2-of-2 sharing of x. Each party
 * draws from the streams it shares (mpc_party_stream):
 *   y_a     = stream of c and a    (a's stream 0, c's stream 1)
 *   y_{a+2} = stream of b and c    (b's stream 1, c's stream 0)
 * a sends b  A = s(u) − y_a      (masked by y_a, which b does not hold),
 * b sends a  B = s(v) − y_{a+2}  (masked by y_{a+2}, which a does not hold),
 * and both set y_{a+1} = A + B. Then y_a + y_{a+1} + y_{a+2} = s(u) + s(v) = s(x), and
 * a holds (y_a, y_{a+1}), b (y_{a+1}, y_{a+2}), c (y_{a+2}, y_a): a replicated sharing of
 * s(x) whose pairs are fresh (each component is a fresh stream output or masked by one).
 * c sends and receives nothing and does not learn s. Booleans: the same with XOR.
 *
 * Shuffle: passes by pairs (0, 1), (1, 2), (2, 0), each drawing s from the pair's common
 * stream by Fisher–Yates with unbiased (rejection) sampling. Party i is the third of one
 * pass, so the composed permutation is a uniformly random one to each single party.
 *
 * Layout: party 0 holds pi. Pass 1: pair (0, 1) applies s1 drawn from their stream; at the
 * same time party 0 sends party 2 s2 = pi ∘ s1⁻¹, a uniformly random permutation to party 2
 * (s1 is unknown to it). Pass 2: pair (2, 0) applies s2; s2 ∘ s1 = pi. Party 1 sees only s1,
 * party 2 only s2. Two rounds. Output rows that pi leaves empty start as public zeros,
 * appended before pass 1; the passes re-randomise them like every other row.
 *
 * Every function is called by the three parties with the same public arguments (table
 * shape, m). On success the table's columns are replaced (the old shares wiped and freed);
 * on failure the table is unchanged. Permutations, masks and scratch are wiped.
 */
#ifndef CASELINK_COMPUTE_MPC_PERM_H
#define CASELINK_COMPUTE_MPC_PERM_H

#include <stddef.h>
#include <stdint.h>

#include "compute/mpc_share.h"

/* Columns of one table (the caller's; see above). na + nb >= 1; every column has n rows. */
struct mpc_table {
	struct mpc_a *a;
	size_t na;
	struct mpc_b *b;
	size_t nb;
};

/*
 * Returns in *n the number of rows of t: 0 when every column has the same number of rows
 * (n <= MPC_MAX_ELEMENTS), CL_EINVAL when t has no column or the columns differ, CL_ELIMIT
 * beyond MPC_MAX_ELEMENTS.
 */
int mpc_perm_rows(const struct mpc_table *t, size_t *n);

/*
 * Shuffles the rows of t by a permutation that no single party knows (uniformly random to
 * each). Three rounds; each party sends 8·n bytes per column in each of the two passes it
 * takes part in (16·n bytes per column in all) and nothing in the third.
 */
int mpc_perm_shuffle(struct mpc_party *p, struct mpc_table *t);

/*
 * Lays out the n rows of t into m >= n rows (m <= MPC_MAX_ELEMENTS) by a map known to
 * party 0 only: party 0 passes pi, n distinct row numbers below m (row k goes to row
 * pi[k]), the others NULL. Rows no k maps to are shares of zero. Party 0 refuses an
 * invalid pi (CL_EINVAL) before sending anything; party 2 refuses a received permutation
 * that is not one (CL_EPROTO). Two rounds.
 */
int mpc_perm_layout(struct mpc_party *p, struct mpc_table *t, const uint32_t *pi, size_t m);

/*
 * Local conversions of boolean shares between bitsliced planes and one word per row.
 * planes_to_rows: planes holds k (1..64) planes of mpc_words(n) words (plane j = bit j of
 * every row); *out gets n words, row r's bit j = bit r of plane j, higher bits zero.
 * rows_to_planes: bits 0..k-1 of rows' words into k planes of mpc_words(rows->w) words.
 * *out is allocated here; CL_EINVAL on a wrong size.
 */
int mpc_perm_planes_to_rows(const struct mpc_b *planes, unsigned k, size_t n, struct mpc_b *out);
int mpc_perm_rows_to_planes(const struct mpc_b *rows, unsigned k, struct mpc_b *out);

#endif
