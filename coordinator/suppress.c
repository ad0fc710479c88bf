#include "coordinator/suppress.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glpk.h>

#include "common/cl_error.h"

#define SUPPRESS_MARGIN_WEIGHT 4    /* cost factor per total index of a complementary cell */
#define SUPPRESS_MIP_MS	       2000 /* branch and bound time limit per bound, in 3-D */

struct suppress_table {
	unsigned ndims;
	size_t n[SUPPRESS_MAX_DIMS];   /* interior sizes */
	size_t ext[SUPPRESS_MAX_DIMS]; /* n + 1: the last index is the margin */
	size_t ncells;		       /* ∏ ext */
	long long *value;	       /* exact counts, margins included */
	long long *released;	       /* published counts (rounded) */
	unsigned char *state;	       /* SUPPRESS_* */
	unsigned char *safe;	       /* interval checked wide enough */
	long long threshold;
	int applied;
	/* The attacker's program over the suppressed cells, rebuilt when they change. */
	glp_prob *lp;
	int *col; /* cell -> GLPK column (1-based), 0 when published */
	int *ia;  /* constraint matrix (1-based triplets) */
	int *ja;
	double *ar;
	int dirty;
};

/* Linear position of an extended index (entries 0..n[d], n[d] the margin). */
static size_t suppress_pos(const struct suppress_table *t, const size_t *idx)
{
	size_t p = 0;

	for (unsigned d = 0; d < t->ndims; d++)
		p = p * t->ext[d] + idx[d];
	return p;
}

static void suppress_unpos(const struct suppress_table *t, size_t p, size_t *idx)
{
	for (unsigned d = t->ndims; d-- > 0;) {
		idx[d] = p % t->ext[d];
		p /= t->ext[d];
	}
}

/* Maps a caller's index (SUPPRESS_TOTAL for margins) to an extended index. */
static int suppress_index(const struct suppress_table *t, const size_t *index, int interior,
			  size_t *idx)
{
	if (!index)
		return CL_EINVAL;
	for (unsigned d = 0; d < t->ndims; d++) {
		if (index[d] == SUPPRESS_TOTAL && !interior)
			idx[d] = t->n[d];
		else if (index[d] < t->n[d])
			idx[d] = index[d];
		else
			return CL_EINVAL;
	}
	return CL_OK;
}

static unsigned suppress_ntotals(const struct suppress_table *t, const size_t *idx)
{
	unsigned k = 0;

	for (unsigned d = 0; d < t->ndims; d++)
		k += idx[d] == t->n[d];
	return k;
}

/*
 * GLPK keeps one environment per thread, created by its first call and never freed by itself:
 * a worker thread that solved a table and then exits would leak it. Count this thread's live
 * problems and free the environment when the last one is deleted (GLPK objects never cross
 * threads here: a table is built, solved and freed by one query handler).
 */
static _Thread_local size_t suppress_live_lps;

static glp_prob *suppress_lp_new(void)
{
	suppress_live_lps++;
	return glp_create_prob();
}

static void suppress_lp_delete(glp_prob *lp)
{
	glp_delete_prob(lp);
	if (suppress_live_lps > 0 && --suppress_live_lps == 0)
		glp_free_env();
}

int suppress_table_new(unsigned ndims, const size_t *sizes, struct suppress_table **out)
{
	struct suppress_table *t = NULL;
	size_t cells = 1;
	int rc = CL_OK;

	if (!out || !sizes || ndims < 1 || ndims > SUPPRESS_MAX_DIMS)
		return CL_EINVAL;
	for (unsigned d = 0; d < ndims; d++) {
		if (sizes[d] < 1)
			return CL_EINVAL;
		if (sizes[d] >= SUPPRESS_MAX_CELLS ||
		    __builtin_mul_overflow(cells, sizes[d] + 1, &cells) ||
		    cells > SUPPRESS_MAX_CELLS)
			return CL_ELIMIT;
	}
	if (ndims == 3 && cells > SUPPRESS_MAX_CELLS3)
		return CL_ELIMIT;
	t = calloc(1, sizeof(*t));
	if (!t)
		return CL_ENOMEM;
	t->ndims = ndims;
	for (unsigned d = 0; d < ndims; d++) {
		t->n[d] = sizes[d];
		t->ext[d] = sizes[d] + 1;
	}
	t->ncells = cells;
	t->value = calloc(cells, sizeof(*t->value));
	t->released = calloc(cells, sizeof(*t->released));
	t->state = calloc(cells, 1);
	t->safe = calloc(cells, 1);
	t->col = calloc(cells, sizeof(*t->col));
	if (!t->value || !t->released || !t->state || !t->safe || !t->col) {
		rc = CL_ENOMEM;
		goto out;
	}
	*out = t;
	t = NULL;
out:
	suppress_table_free(t);
	return rc;
}

void suppress_table_free(struct suppress_table *t)
{
	if (!t)
		return;
	if (t->lp)
		suppress_lp_delete(t->lp);
	free(t->value);
	free(t->released);
	free(t->state);
	free(t->safe);
	free(t->col);
	free(t->ia);
	free(t->ja);
	free(t->ar);
	free(t);
}

int suppress_table_set(struct suppress_table *t, const size_t *index, long long count)
{
	size_t idx[SUPPRESS_MAX_DIMS];
	int rc;

	if (!t || t->applied || count < 0 || count > SUPPRESS_MAX_COUNT)
		return CL_EINVAL;
	rc = suppress_index(t, index, 1, idx);
	if (rc)
		return rc;
	t->value[suppress_pos(t, idx)] = count;
	return CL_OK;
}

/* Fills every margin from the interior: margins with k totals from those with k − 1. */
static int suppress_margins(struct suppress_table *t)
{
	size_t idx[SUPPRESS_MAX_DIMS];

	for (unsigned k = 1; k <= t->ndims; k++) {
		for (size_t p = 0; p < t->ncells; p++) {
			unsigned d;
			long long s = 0;

			suppress_unpos(t, p, idx);
			if (suppress_ntotals(t, idx) != k)
				continue;
			for (d = 0; idx[d] != t->n[d]; d++)
				;
			for (size_t j = 0; j < t->n[d]; j++) {
				idx[d] = j;
				if (__builtin_add_overflow(s, t->value[suppress_pos(t, idx)], &s))
					return CL_EOVERFLOW;
			}
			if (s > SUPPRESS_MAX_COUNT)
				return CL_EOVERFLOW;
			t->value[p] = s;
		}
	}
	return CL_OK;
}

/*
 * Builds the attacker's program: one non-negative integer column per suppressed cell, one
 * equality row per additivity relation (a margin equals the sum of its line) that involves a
 * suppressed cell, with the published cells on the right-hand side.
 */
static int suppress_build(struct suppress_table *t)
{
	size_t idx[SUPPRESS_MAX_DIMS], ncols = 0, nz = 0, cap, maxn = 0;
	int rc = CL_OK, row;

	if (t->lp)
		suppress_lp_delete(t->lp);
	t->lp = suppress_lp_new();
	for (size_t p = 0; p < t->ncells; p++) {
		t->col[p] = 0;
		if (t->state[p] != SUPPRESS_PUBLISHED)
			t->col[p] = (int)++ncols;
	}
	for (unsigned d = 0; d < t->ndims; d++)
		if (t->n[d] > maxn)
			maxn = t->n[d];
	/* At most ndims rows per cell, each with at most maxn + 1 entries. */
	if (__builtin_mul_overflow(t->ncells * t->ndims, maxn + 1, &cap) || cap > INT32_MAX - 1)
		return CL_ELIMIT;
	free(t->ia);
	free(t->ja);
	free(t->ar);
	t->ia = malloc((cap + 1) * sizeof(*t->ia));
	t->ja = malloc((cap + 1) * sizeof(*t->ja));
	t->ar = malloc((cap + 1) * sizeof(*t->ar));
	if (!t->ia || !t->ja || !t->ar)
		return CL_ENOMEM;
	if (ncols > 0) {
		glp_add_cols(t->lp, (int)ncols);
		for (size_t j = 1; j <= ncols; j++) {
			glp_set_col_bnds(t->lp, (int)j, GLP_LO, 0.0, 0.0);
			glp_set_col_kind(t->lp, (int)j, GLP_IV);
		}
	}
	row = 0;
	for (size_t p = 0; p < t->ncells; p++) {
		suppress_unpos(t, p, idx);
		for (unsigned d = 0; d < t->ndims; d++) {
			size_t start = nz, save = idx[d];
			double rhs = 0;

			if (idx[d] != t->n[d])
				continue;
			/* margin − Σ line = 0 */
			if (t->col[p]) {
				t->ia[nz + 1] = row + 1;
				t->ja[nz + 1] = t->col[p];
				t->ar[nz + 1] = 1.0;
				nz++;
			} else {
				rhs -= (double)t->value[p];
			}
			for (size_t j = 0; j < t->n[d]; j++) {
				size_t q;

				idx[d] = j;
				q = suppress_pos(t, idx);
				if (t->col[q]) {
					t->ia[nz + 1] = row + 1;
					t->ja[nz + 1] = t->col[q];
					t->ar[nz + 1] = -1.0;
					nz++;
				} else {
					rhs += (double)t->value[q];
				}
			}
			idx[d] = save;
			if (nz == start)
				continue; /* all published: nothing to learn */
			row++;
			glp_add_rows(t->lp, 1);
			glp_set_row_bnds(t->lp, row, GLP_FX, rhs, rhs);
		}
	}
	if (nz > 0)
		glp_load_matrix(t->lp, (int)nz, t->ia, t->ja, t->ar);
	t->dirty = 0;
	return rc;
}

/*
 * Minimises or maximises one column over the LP relaxation, then, when exact, over the integers
 * (branch and bound, at most SUPPRESS_MIP_MS: CL_ETIMEOUT). *unbounded set when the maximum has
 * no bound (then the integer maximum has none either: a feasible integer point and a rational
 * unbounded direction).
 */
static int suppress_solve(struct suppress_table *t, int col, int maximise, int exact,
			  long long *val, int *unbounded)
{
	glp_smcp sp;
	glp_iocp ip;
	int ncols = glp_get_num_cols(t->lp), st, r;
	double v;

	for (int j = 1; j <= ncols; j++)
		glp_set_obj_coef(t->lp, j, j == col ? 1.0 : 0.0);
	glp_set_obj_dir(t->lp, maximise ? GLP_MAX : GLP_MIN);
	*unbounded = 0;
	if (glp_get_num_rows(t->lp) == 0) {
		/* No relation at all: [0, ∞). */
		*unbounded = maximise;
		*val = maximise ? SUPPRESS_UNBOUNDED : 0;
		return CL_OK;
	}
	glp_init_smcp(&sp);
	sp.msg_lev = GLP_MSG_OFF;
	sp.presolve = GLP_OFF;
	if (glp_simplex(t->lp, &sp) != 0)
		return CL_EINTERNAL;
	st = glp_get_status(t->lp);
	if (st == GLP_UNBND) {
		if (!maximise)
			return CL_EINTERNAL;
		*unbounded = 1;
		*val = SUPPRESS_UNBOUNDED;
		return CL_OK;
	}
	if (st != GLP_OPT)
		return CL_EINTERNAL; /* the true table is feasible */
	v = glp_get_obj_val(t->lp);
	if (exact) {
		glp_init_iocp(&ip);
		ip.msg_lev = GLP_MSG_OFF;
		ip.presolve = GLP_OFF;
		ip.tm_lim = SUPPRESS_MIP_MS;
		ip.mir_cuts = GLP_ON;
		ip.gmi_cuts = GLP_ON;
		r = glp_intopt(t->lp, &ip);
		if (r == GLP_ETMLIM)
			return CL_ETIMEOUT;
		if (r != 0 || glp_mip_status(t->lp) != GLP_OPT)
			return CL_EINTERNAL;
		v = glp_mip_obj_val(t->lp);
	}
	if (!(v >= -0.5) || v > (double)SUPPRESS_UNBOUNDED)
		return CL_EINTERNAL;
	/* Bounds of a relaxation are rounded inwards only when exact by total unimodularity. */
	*val = maximise ? (long long)floor(v + 1e-6) : (long long)ceil(v - 1e-6);
	return CL_OK;
}

/*
 * The interval of suppressed or published cell p. In 1-D and 2-D the constraint matrix (a
 * table with its margins is a network: rows, columns and totals as flows) is totally
 * unimodular, so the LP bounds are the integer bounds. In 3-D it is not: the LP bounds are outer
 * bounds, and branch and bound gives the exact ones — skipped when the LP interval is already
 * narrower than level (the integer one can only be narrower), level 0 meaning always.
 */
static int suppress_range_pos(struct suppress_table *t, size_t p, long long level, long long *min,
			      long long *max)
{
	long long lo = 0, hi = 0;
	int unb = 0, rc;

	if (t->state[p] == SUPPRESS_PUBLISHED) {
		*min = *max = t->value[p];
		return CL_OK;
	}
	if (t->dirty || !t->lp) {
		rc = suppress_build(t);
		if (rc)
			return rc;
	}
	rc = suppress_solve(t, t->col[p], 0, 0, &lo, &unb);
	if (rc)
		return rc;
	rc = suppress_solve(t, t->col[p], 1, 0, &hi, &unb);
	if (rc)
		return rc;
	if (t->ndims > 2 && (level == 0 || unb || hi - lo >= level)) {
		rc = suppress_solve(t, t->col[p], 0, 1, &lo, &unb);
		if (rc)
			return rc;
		if (!unb) {
			rc = suppress_solve(t, t->col[p], 1, 1, &hi, &unb);
			if (rc)
				return rc;
		}
	}
	*min = lo;
	*max = unb ? SUPPRESS_UNBOUNDED : hi;
	return CL_OK;
}

/* Cost of suppressing a published cell as a complement. */
static long long suppress_cost(const struct suppress_table *t, size_t p)
{
	size_t idx[SUPPRESS_MAX_DIMS];

	suppress_unpos(t, p, idx);
	return (t->value[p] + 1) *
	       (1 + SUPPRESS_MARGIN_WEIGHT * (long long)suppress_ntotals(t, idx));
}

/*
 * Hypercube method: for cell a, every choice of a second index b[d] != a[d] per dimension
 * spans 2^ndims corners along which a can move by ±δ with every relation kept (a corner's
 * sign flips per dimension, except that a margin moves with its line). The cube's slack is how
 * far a can move before some corner turns negative. Prefers cubes with slack >= the protection
 * level at the least cost of new corners, else the largest slack; marks its new corners.
 * Returns 1 when cells were added, 0 when no cube adds any.
 */
static int suppress_hypercube(struct suppress_table *t, size_t pa, long long level)
{
	size_t a[SUPPRESS_MAX_DIMS], b[SUPPRESS_MAX_DIMS], c[SUPPRESS_MAX_DIMS];
	size_t best[SUPPRESS_MAX_DIMS];
	long long best_cost = 0, best_slack = -1;
	int best_ok = 0, found = 0;
	unsigned k = t->ndims, corners = 1u << t->ndims;

	suppress_unpos(t, pa, a);
	for (unsigned d = 0; d < k; d++)
		b[d] = a[d] == 0 ? 1 : 0;
	for (;;) {
		long long cost = 0, up = SUPPRESS_UNBOUNDED, down = SUPPRESS_UNBOUNDED, slack;
		int fresh = 0, ok;
		unsigned d;

		for (unsigned m = 0; m < corners; m++) {
			int sign = 1;
			size_t q;

			for (d = 0; d < k; d++) {
				c[d] = (m >> d) & 1 ? b[d] : a[d];
				if (((m >> d) & 1) && a[d] != t->n[d] && b[d] != t->n[d])
					sign = -sign;
			}
			q = suppress_pos(t, c);
			if (sign < 0 && t->value[q] < up)
				up = t->value[q];
			if (sign > 0 && t->value[q] < down)
				down = t->value[q];
			if (t->state[q] == SUPPRESS_PUBLISHED) {
				fresh = 1;
				cost += suppress_cost(t, q);
			}
		}
		slack = up + down;
		ok = slack >= level;
		if (fresh && (!found || (ok && !best_ok) ||
			      (ok == best_ok && (ok ? cost < best_cost
						    : slack > best_slack || (slack == best_slack &&
									     cost < best_cost))))) {
			found = 1;
			best_ok = ok;
			best_cost = cost;
			best_slack = slack;
			memcpy(best, b, sizeof(best));
		}
		/* Next choice of b, skipping b[d] == a[d]. */
		for (d = 0; d < k; d++) {
			do {
				b[d]++;
			} while (b[d] == a[d]);
			if (b[d] < t->ext[d])
				break;
			b[d] = a[d] == 0 ? 1 : 0;
		}
		if (d == k)
			break;
	}
	if (!found)
		return 0;
	for (unsigned m = 0; m < corners; m++) {
		size_t q;

		for (unsigned d = 0; d < k; d++)
			c[d] = (m >> d) & 1 ? best[d] : a[d];
		q = suppress_pos(t, c);
		if (t->state[q] == SUPPRESS_PUBLISHED)
			t->state[q] = SUPPRESS_SECONDARY;
	}
	return 1;
}

/* Fallback when no hypercube adds a cell: the cheapest published cell in a's lines, else any. */
static int suppress_fallback(struct suppress_table *t, size_t pa)
{
	size_t a[SUPPRESS_MAX_DIMS], c[SUPPRESS_MAX_DIMS], pick = 0;
	long long best = -1;

	suppress_unpos(t, pa, a);
	for (int any = 0; any < 2 && best < 0; any++) {
		for (size_t q = 0; q < t->ncells; q++) {
			unsigned diff = 0;

			if (t->state[q] != SUPPRESS_PUBLISHED)
				continue;
			suppress_unpos(t, q, c);
			for (unsigned d = 0; d < t->ndims; d++)
				diff += c[d] != a[d];
			if (!any && diff != 1)
				continue;
			if (best < 0 || suppress_cost(t, q) < best) {
				best = suppress_cost(t, q);
				pick = q;
			}
		}
	}
	if (best < 0)
		return 0;
	t->state[pick] = SUPPRESS_SECONDARY;
	return 1;
}

int suppress_apply(struct suppress_table *t, long long threshold, unsigned flags)
{
	int rc;

	if (!t || t->applied || threshold < SUPPRESS_MIN_THRESH || threshold > SUPPRESS_MAX_COUNT ||
	    (flags & ~SUPPRESS_ZEROS))
		return CL_EINVAL;
	rc = suppress_margins(t);
	if (rc)
		return rc;
	t->threshold = threshold;
	for (size_t p = 0; p < t->ncells; p++) {
		long long v = t->value[p];

		t->released[p] = v;
		t->safe[p] = 0;
		t->state[p] = ((v >= 1 && v < threshold) || (v == 0 && (flags & SUPPRESS_ZEROS)))
				  ? SUPPRESS_PRIMARY
				  : SUPPRESS_PUBLISHED;
	}
	t->dirty = 1;
	t->applied = 1;
	for (;;) {
		size_t p;
		long long lo = 0, hi = 0;

		for (p = 0; p < t->ncells; p++)
			if (t->state[p] != SUPPRESS_PUBLISHED && !t->safe[p])
				break;
		if (p == t->ncells)
			break;
		rc = suppress_range_pos(t, p, threshold, &lo, &hi);
		if (rc == CL_ETIMEOUT) {
			hi = lo; /* undecided in time: treated as unsafe, more is suppressed */
			rc = CL_OK;
		}
		if (rc)
			goto out;
		if (hi - lo >= threshold) {
			t->safe[p] = 1; /* more suppression only widens it */
			continue;
		}
		if (!suppress_hypercube(t, p, threshold) && !suppress_fallback(t, p)) {
			rc = CL_EINTERNAL; /* everything suppressed is unbounded: unreachable */
			goto out;
		}
		t->dirty = 1;
	}
	rc = CL_OK;
out:
	if (rc) {
		/* Fail closed: nothing of the table is published. */
		for (size_t p = 0; p < t->ncells; p++)
			if (t->state[p] == SUPPRESS_PUBLISHED)
				t->state[p] = SUPPRESS_SECONDARY;
		t->dirty = 1;
	}
	return rc;
}

int suppress_round(struct suppress_table *t, long long base)
{
	if (!t || !t->applied || base < 1 || base > SUPPRESS_MAX_COUNT)
		return CL_EINVAL;
	for (size_t p = 0; p < t->ncells; p++)
		if (t->state[p] == SUPPRESS_PUBLISHED)
			t->released[p] = (t->value[p] + base / 2) / base * base;
	return CL_OK;
}

int suppress_get(const struct suppress_table *t, const size_t *index, long long *count, int *state)
{
	size_t idx[SUPPRESS_MAX_DIMS], p;
	long long v;
	int rc, s;

	if (!t || !count || !state || !t->applied)
		return CL_EINVAL;
	rc = suppress_index(t, index, 0, idx);
	if (rc)
		return rc;
	p = suppress_pos(t, idx);
	s = t->state[p];
	v = s == SUPPRESS_PUBLISHED ? t->released[p] : -1;
	*count = v;
	*state = s;
	return CL_OK;
}

int suppress_range(struct suppress_table *t, const size_t *index, long long *min, long long *max)
{
	size_t idx[SUPPRESS_MAX_DIMS];
	long long lo = 0, hi = 0;
	int rc;

	if (!t || !min || !max || !t->applied)
		return CL_EINVAL;
	rc = suppress_index(t, index, 0, idx);
	if (rc)
		return rc;
	rc = suppress_range_pos(t, suppress_pos(t, idx), 0, &lo, &hi);
	if (rc)
		return rc;
	*min = lo;
	*max = hi;
	return CL_OK;
}

int suppress_counts(const struct suppress_table *t, size_t *primary, size_t *secondary)
{
	size_t np = 0, ns = 0;

	if (!t || !primary || !secondary)
		return CL_EINVAL;
	for (size_t p = 0; p < t->ncells; p++) {
		np += t->state[p] == SUPPRESS_PRIMARY;
		ns += t->state[p] == SUPPRESS_SECONDARY;
	}
	*primary = np;
	*secondary = ns;
	return CL_OK;
}

int suppress_rate(long long num, long long den, long long threshold, int *suppressed)
{
	if (!suppressed || num < 0 || den < 0 || threshold < SUPPRESS_MIN_THRESH)
		return CL_EINVAL;
	*suppressed = den < threshold;
	return CL_OK;
}

/* ---- the attacker's model of a whole answer ---- */

#define SUPPRESS_PROJECT_MS 5000 /* branch and bound limit of a projection */

struct suppress_model {
	size_t n;
	long long *value; /* published count, −1 when withheld */
	long long *lower;
	glp_prob *lp; /* columns 1..n, one row per relation */
	int obj;      /* the column with objective coefficient 1, 0 when none */
};

int suppress_model_new(size_t ncells, struct suppress_model **out)
{
	struct suppress_model *m;
	int rc = CL_OK;

	if (!out || ncells < 1 || ncells > SUPPRESS_MODEL_MAX_CELLS)
		return CL_EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return CL_ENOMEM;
	m->n = ncells;
	m->value = malloc(ncells * sizeof(*m->value));
	m->lower = calloc(ncells, sizeof(*m->lower));
	if (!m->value || !m->lower) {
		rc = CL_ENOMEM;
		goto out;
	}
	m->lp = suppress_lp_new();
	glp_add_cols(m->lp, (int)ncells);
	for (size_t i = 0; i < ncells; i++) {
		m->value[i] = -1;
		glp_set_col_bnds(m->lp, (int)i + 1, GLP_LO, 0.0, 0.0);
	}
	*out = m;
	m = NULL;
out:
	suppress_model_free(m);
	return rc;
}

void suppress_model_free(struct suppress_model *m)
{
	if (!m)
		return;
	if (m->lp)
		suppress_lp_delete(m->lp);
	free(m->value);
	free(m->lower);
	free(m);
}

int suppress_model_relation(struct suppress_model *m, const size_t *cells, const int *coef,
			    size_t n, int op)
{
	int *ind = NULL, row, rc = CL_OK;
	double *val = NULL;

	if (!m || !cells || !coef || n < 1 || n > m->n ||
	    (op != SUPPRESS_REL_EQ && op != SUPPRESS_REL_LE))
		return CL_EINVAL;
	ind = malloc((n + 1) * sizeof(*ind));
	val = malloc((n + 1) * sizeof(*val));
	if (!ind || !val) {
		rc = CL_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (cells[i] >= m->n || coef[i] < -4 || coef[i] > 4 || coef[i] == 0) {
			rc = CL_EINVAL;
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (cells[j] == cells[i]) {
				rc = CL_EINVAL;
				goto out;
			}
		ind[i + 1] = (int)cells[i] + 1;
		val[i + 1] = coef[i];
	}
	row = glp_add_rows(m->lp, 1);
	glp_set_mat_row(m->lp, row, (int)n, ind, val);
	glp_set_row_bnds(m->lp, row, op == SUPPRESS_REL_EQ ? GLP_FX : GLP_UP, 0.0, 0.0);
out:
	free(ind);
	free(val);
	return rc;
}

static void suppress_model_bounds(struct suppress_model *m, size_t cell)
{
	if (m->value[cell] >= 0)
		glp_set_col_bnds(m->lp, (int)cell + 1, GLP_FX, (double)m->value[cell],
				 (double)m->value[cell]);
	else
		glp_set_col_bnds(m->lp, (int)cell + 1, GLP_LO, (double)m->lower[cell], 0.0);
}

int suppress_model_lower(struct suppress_model *m, size_t cell, long long lo)
{
	if (!m || cell >= m->n || lo < 0 || lo > SUPPRESS_MAX_COUNT)
		return CL_EINVAL;
	m->lower[cell] = lo;
	suppress_model_bounds(m, cell);
	return CL_OK;
}

int suppress_model_set(struct suppress_model *m, size_t cell, long long count)
{
	if (!m || cell >= m->n || count < -1 || count > SUPPRESS_MAX_COUNT)
		return CL_EINVAL;
	m->value[cell] = count;
	suppress_model_bounds(m, cell);
	return CL_OK;
}

/* One simplex run from the current basis, once more from a standard basis if it fails. */
static int suppress_model_simplex(glp_prob *lp)
{
	glp_smcp sp;

	glp_init_smcp(&sp);
	sp.msg_lev = GLP_MSG_OFF;
	sp.presolve = GLP_OFF;
	if (glp_simplex(lp, &sp) == 0)
		return CL_OK;
	glp_std_basis(lp);
	return glp_simplex(lp, &sp) == 0 ? CL_OK : CL_EINTERNAL;
}

static int suppress_model_bound(struct suppress_model *m, size_t cell, int maximise, long long *val)
{
	double v;
	int rc, st;

	if (m->obj)
		glp_set_obj_coef(m->lp, m->obj, 0.0);
	m->obj = (int)cell + 1;
	glp_set_obj_coef(m->lp, m->obj, 1.0);
	glp_set_obj_dir(m->lp, maximise ? GLP_MAX : GLP_MIN);
	if (glp_get_num_rows(m->lp) == 0) {
		*val = maximise ? SUPPRESS_UNBOUNDED : m->lower[cell];
		return CL_OK;
	}
	rc = suppress_model_simplex(m->lp);
	if (rc)
		return rc;
	st = glp_get_status(m->lp);
	if (st == GLP_UNBND && maximise) {
		*val = SUPPRESS_UNBOUNDED;
		return CL_OK;
	}
	if (st == GLP_NOFEAS)
		return CL_EINVAL;
	if (st != GLP_OPT)
		return CL_EINTERNAL;
	v = glp_get_obj_val(m->lp);
	if (!(v >= -0.5) || v > (double)SUPPRESS_UNBOUNDED)
		return CL_EINTERNAL;
	if (v >= (double)SUPPRESS_MAX_COUNT * 2) {
		*val = SUPPRESS_UNBOUNDED;
		return CL_OK;
	}
	/* LP bounds of integer unknowns: rounded inwards (an integer attacker knows as much). */
	*val = maximise ? (long long)floor(v + 1e-6) : (long long)ceil(v - 1e-6);
	return CL_OK;
}

int suppress_model_range(struct suppress_model *m, size_t cell, long long *min, long long *max)
{
	long long lo = 0, hi = 0;
	int rc;

	if (!m || !min || !max || cell >= m->n)
		return CL_EINVAL;
	if (m->value[cell] >= 0) {
		*min = *max = m->value[cell];
		return CL_OK;
	}
	rc = suppress_model_bound(m, cell, 0, &lo);
	if (rc == CL_OK)
		rc = suppress_model_bound(m, cell, 1, &hi);
	if (rc)
		return rc;
	*min = lo;
	*max = hi;
	return CL_OK;
}

int suppress_model_project(struct suppress_model *m, const long long *noisy,
			   const unsigned char *measured, long long *out)
{
	glp_prob *lp = NULL;
	glp_iocp ip;
	int nrows, *ind = NULL, rc = CL_OK, r, extra = 0;
	double *val = NULL;
	size_t i;

	if (!m || !noisy || !measured || !out)
		return CL_EINVAL;
	ind = malloc((m->n + 3) * sizeof(*ind));
	val = malloc((m->n + 3) * sizeof(*val));
	if (!ind || !val) {
		rc = CL_ENOMEM;
		goto out;
	}
	lp = suppress_lp_new();
	glp_set_obj_dir(lp, GLP_MIN);
	glp_add_cols(lp, (int)m->n);
	for (i = 0; i < m->n; i++) {
		glp_set_col_bnds(lp, (int)i + 1, GLP_LO, (double)m->lower[i], 0.0);
		glp_set_col_kind(lp, (int)i + 1, GLP_IV);
	}
	nrows = glp_get_num_rows(m->lp);
	for (r = 1; r <= nrows; r++) {
		int len = glp_get_mat_row(m->lp, r, ind, val), row = glp_add_rows(lp, 1);

		glp_set_mat_row(lp, row, len, ind, val);
		glp_set_row_bnds(lp, row, glp_get_row_type(m->lp, r), 0.0, 0.0);
	}
	/* |y − z| = p + q with y − p + q = z, p, q >= 0: minimise Σ (p + q). */
	for (i = 0; i < m->n; i++) {
		int col, row;

		if (!measured[i])
			continue;
		if (noisy[i] < -SUPPRESS_MAX_COUNT || noisy[i] > SUPPRESS_MAX_COUNT) {
			rc = CL_EINVAL;
			goto out;
		}
		col = glp_add_cols(lp, 2);
		glp_set_col_bnds(lp, col, GLP_LO, 0.0, 0.0);
		glp_set_col_bnds(lp, col + 1, GLP_LO, 0.0, 0.0);
		glp_set_obj_coef(lp, col, 1.0);
		glp_set_obj_coef(lp, col + 1, 1.0);
		row = glp_add_rows(lp, 1);
		ind[1] = (int)i + 1, val[1] = 1.0;
		ind[2] = col, val[2] = -1.0;
		ind[3] = col + 1, val[3] = 1.0;
		glp_set_mat_row(lp, row, 3, ind, val);
		glp_set_row_bnds(lp, row, GLP_FX, (double)noisy[i], (double)noisy[i]);
		extra++;
	}
	if (glp_get_num_rows(lp) == 0) {
		for (i = 0; i < m->n; i++)
			out[i] = m->lower[i];
		goto out;
	}
	rc = suppress_model_simplex(lp);
	if (rc)
		goto out;
	if (glp_get_status(lp) != GLP_OPT) {
		rc = CL_EINVAL;
		goto out;
	}
	glp_init_iocp(&ip);
	ip.msg_lev = GLP_MSG_OFF;
	ip.tm_lim = SUPPRESS_PROJECT_MS;
	r = glp_intopt(lp, &ip);
	if (r == GLP_ETMLIM) {
		rc = CL_ETIMEOUT;
		goto out;
	}
	if (r != 0 || glp_mip_status(lp) != GLP_OPT) {
		rc = CL_EINTERNAL;
		goto out;
	}
	for (i = 0; i < m->n; i++) {
		double v = glp_mip_col_val(lp, (int)i + 1);

		if (!(v >= -0.5) || v > (double)SUPPRESS_MAX_COUNT * 4) {
			rc = CL_EINTERNAL;
			goto out;
		}
		out[i] = (long long)floor(v + 0.5);
	}
	(void)extra;
out:
	if (lp)
		suppress_lp_delete(lp);
	free(ind);
	free(val);
	return rc;
}
