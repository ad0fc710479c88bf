/*
 * suppress — small-cell suppression of released count tables (privacy.md "Disclosure control").
 *
 * A table has 1 to 3 dimensions of interior cells (non-negative counts) and is released with
 * ALL its margins: in 2-D the row and column totals and the grand total, in 3-D every 2-D face,
 * every 1-D margin and the grand total. A margin is addressed by SUPPRESS_TOTAL in its dimension;
 * margins are counts of persons too, and are suppressed like any cell.
 *
 * suppress_apply:
 *   - primary suppression: every cell (margins included) with a count in 1..threshold−1; zeros
 *     are published unless SUPPRESS_ZEROS is given (docs/disclosure.md);
 *   - secondary suppression: for each suppressed cell the exact feasibility interval — its
 *     minimum and maximum over all non-negative integer tables consistent with every published
 *     cell and the table's additivity — is computed with GLPK (simplex, exact in 1-D and 2-D by
 *     total unimodularity; in 3-D then branch and bound, an undecided bound counting as unsafe);
 *     while some suppressed cell's interval is narrower than the protection level (the
 *     threshold), complementary cells are chosen by the hypercube method (the cheapest hypercube
 *     through the cell, by published counts with margins weighted up, preferring cubes whose
 *     own slack already covers the protection level) and the check is repeated. Suppressing
 *     more only widens intervals, so the loop ends, at worst with everything suppressed.
 * On success every suppressed cell's interval is at least the threshold wide, or unbounded.
 *
 * GLPK keeps per-thread state; a table is not thread-safe, distinct tables are.
 */
#ifndef CASELINK_COORDINATOR_SUPPRESS_H
#define CASELINK_COORDINATOR_SUPPRESS_H

#include <stddef.h>

#define SUPPRESS_MAX_DIMS   3
#define SUPPRESS_MAX_CELLS  4096	 /* cells with margins, ∏ (size + 1) */
#define SUPPRESS_MAX_CELLS3 729		 /* in 3-D (branch and bound): 8×8×8 interior */
#define SUPPRESS_MAX_COUNT  (1LL << 40)	 /* counts stay exact in GLPK's doubles */
#define SUPPRESS_TOTAL	    ((size_t)-1) /* index of the margin in a dimension */
#define SUPPRESS_MIN_THRESH 3		 /* policy.h POLICY_THRESHOLD_MIN */
#define SUPPRESS_UNBOUNDED  (SUPPRESS_MAX_COUNT * 8) /* a range maximum with no bound */

/* Flags of suppress_apply. */
#define SUPPRESS_ZEROS 1u /* also suppress zero counts (primary) */

/* States of a cell after suppress_apply. */
#define SUPPRESS_PUBLISHED 0
#define SUPPRESS_PRIMARY   1 /* a small count */
#define SUPPRESS_SECONDARY 2 /* complementary: hides a primary cell */

struct suppress_table;

/*
 * Creates a table of ndims (1..SUPPRESS_MAX_DIMS) dimensions with sizes[d] >= 1 interior
 * categories each, all counts 0. CL_ELIMIT beyond SUPPRESS_MAX_CELLS cells with margins
 * (SUPPRESS_MAX_CELLS3 in 3-D: 8×8×8 interior cells).
 */
int suppress_table_new(unsigned ndims, const size_t *sizes, struct suppress_table **out);

/* Frees the table; NULL is allowed. */
void suppress_table_free(struct suppress_table *t);

/* Sets the count (0..SUPPRESS_MAX_COUNT) of an interior cell; CL_EINVAL after suppress_apply. */
int suppress_table_set(struct suppress_table *t, const size_t *index, long long count);

/*
 * Computes the margins and applies primary and secondary suppression with the given threshold
 * (CL_EINVAL below SUPPRESS_MIN_THRESH); once per table. CL_EINTERNAL if the solver fails.
 */
int suppress_apply(struct suppress_table *t, long long threshold, unsigned flags);

/*
 * Rounds every published count to the nearest multiple of base (halves up), after
 * suppress_apply; base 1 leaves counts as they are. Rounding only widens what an attacker can
 * infer, so it keeps suppression safe; rounded margins need not add up.
 */
int suppress_round(struct suppress_table *t, long long base);

/*
 * After suppress_apply, writes a cell's state (SUPPRESS_*) and, when published, its released
 * (possibly rounded) count to *count (-1 when suppressed). Any index may be SUPPRESS_TOTAL.
 */
int suppress_get(const struct suppress_table *t, const size_t *index, long long *count, int *state);

/*
 * The exact interval [*min, *max] of a cell over all non-negative integer tables consistent
 * with the published cells (exact, unrounded counts) and the table's additivity, after
 * suppress_apply; *max is SUPPRESS_UNBOUNDED when nothing bounds it. A published cell's
 * interval is its count.
 */
int suppress_range(struct suppress_table *t, const size_t *index, long long *min, long long *max);

/* Writes the numbers of primary and secondary suppressed cells (margins included). */
int suppress_counts(const struct suppress_table *t, size_t *primary, size_t *secondary);

/*
 * Whether a rate num/den must be suppressed: its denominator is below threshold (a zero
 * denominator included, the rate being undefined). *suppressed gets 1 or 0. The numerator is a
 * count to be suppressed with its own table.
 */
int suppress_rate(long long num, long long den, long long threshold, int *suppressed);

/*
 * The attacker's model of a whole answer (docs/disclosure.md "Joint protection"): ncells
 * non-negative integer unknowns (counts of every metric and margin of an answer) and the linear
 * relations an answer implies between them — margins, breakdowns across metrics, inequalities
 * such as received_24h <= received_30d, and known lower bounds. A cell is published (fixed at
 * its exact count) or withheld (only the relations and its lower bound constrain it). Used for
 * the joint check of suppression (suppress_model_range) and for the consistent post-processing
 * of noisy counts (suppress_model_project). Not thread-safe, like a table.
 */
struct suppress_model;

#define SUPPRESS_REL_EQ		 0 /* Σ coef·x = 0 */
#define SUPPRESS_REL_LE		 1 /* Σ coef·x <= 0 */
#define SUPPRESS_MODEL_MAX_CELLS (1u << 20)

/* Creates a model of ncells (1..SUPPRESS_MODEL_MAX_CELLS) cells, all withheld, lower bound 0. */
int suppress_model_new(size_t ncells, struct suppress_model **out);

/* Frees the model; NULL is allowed. */
void suppress_model_free(struct suppress_model *m);

/*
 * Adds the relation Σ coef[i]·x[cells[i]] op 0 (op SUPPRESS_REL_EQ or _LE), n >= 1 terms with
 * coefficients in −4..4, distinct cells.
 */
int suppress_model_relation(struct suppress_model *m, const size_t *cells, const int *coef,
			    size_t n, int op);

/* Sets a cell's known lower bound (0..SUPPRESS_MAX_COUNT; default 0). */
int suppress_model_lower(struct suppress_model *m, size_t cell, long long lo);

/* Publishes a cell at count (fixed), or withholds it again with count −1. */
int suppress_model_set(struct suppress_model *m, size_t cell, long long count);

/*
 * The interval [*min, *max] of a cell over the LP relaxation of the model (every relation,
 * the published cells fixed, withheld cells >= their lower bound); *max is SUPPRESS_UNBOUNDED
 * when nothing bounds it. A published cell's interval is its count. CL_EINVAL when the
 * published cells contradict the relations, CL_EINTERNAL when the solver fails.
 */
int suppress_model_range(struct suppress_model *m, size_t cell, long long *min, long long *max);

/*
 * Consistent post-processing: writes to out[] a non-negative integer solution of every relation
 * and lower bound (published state ignored) that minimises Σ |out[i] − noisy[i]| over the
 * cells with measured[i] set (GLPK branch and bound). The result depends only on noisy, so it
 * keeps any differential-privacy guarantee of noisy. CL_ETIMEOUT when no optimum is found in
 * time, CL_EINVAL when the relations have no solution.
 */
int suppress_model_project(struct suppress_model *m, const long long *noisy,
			   const unsigned char *measured, long long *out);

#endif
