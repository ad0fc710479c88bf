#include "coordinator/release.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "coordinator/dp.h"
#include "coordinator/measures.h"
#include "coordinator/suppress.h"

#define REL_STAR "*"

/* How a value was classified when added. */
#define K_COUNT 0 /* an integer: a count */
#define K_REAL	1 /* a number that is not an integer */
#define K_NA	2 /* "NA" or anything else */

/* Kinds of derived values. */
#define D_RATE	  1 /* num / den */
#define D_QUANT	  2 /* a median or quartile over den values */
#define D_EXTREME 3 /* a minimum or maximum: one person's value, always withheld */

/* Suppression marks of a row (the strongest wins). */
#define S_NONE	    0
#define S_SECONDARY 1
#define S_PRIMARY   2

struct rel_row {
	char *keys[RELEASE_MAX_KEYS + 1]; /* key columns, then the metric */
	int kind;
	long long exact;
	double real;
	int supp;
	int dp_withheld; /* a count no per-person bound covers, under DP */
	int locked;	 /* withheld by a fail-closed rule: never published again */
	const struct rel_derived *derived;
	struct release_value out;
};

struct release {
	int measure;
	size_t nkeys;
	struct policy_disclosure d;
	int gaussian;
	struct rel_row *rows;
	size_t n, cap;
	int charged, applied;
	int64_t charge_id, eps_micro, budget_micro;
	struct release_info info;
};

struct rel_derived {
	int measure;
	const char *metric;
	int kind;
	const char *num;
	const char *den;
};

static const struct rel_derived rel_derived_table[] = {
    {MEASURES_M1, "unlinkable_share", D_RATE, "unlinkable_incident_events", "incident_events"},
    {MEASURES_M2, "repeat_rate", D_RATE, "repeat_victims", "victims"},
    {MEASURES_M2, "mean_episodes_per_repeat_victim", D_RATE, "repeat_victim_episodes",
     "repeat_victims"},
    {MEASURES_M2, "gap_days_q1", D_QUANT, NULL, "gap_count"},
    {MEASURES_M2, "gap_days_median", D_QUANT, NULL, "gap_count"},
    {MEASURES_M2, "gap_days_q3", D_QUANT, NULL, "gap_count"},
    {MEASURES_M2, "gap_days_min", D_EXTREME, NULL, "gap_count"},
    {MEASURES_M2, "gap_days_max", D_EXTREME, NULL, "gap_count"},
    {MEASURES_M3, "median_delay_seconds", D_QUANT, NULL, "received_30d"},
    {MEASURES_M3, "median_delay_hours", D_QUANT, NULL, "received_30d"},
    {MEASURES_M4, "share", D_RATE, "with_support", "victims"},
    {MEASURES_M5, "reoffended_share", D_RATE, "reoffended", "observable"},
    {0, NULL, 0, NULL, NULL},
};

/* A total and its parts (metrics of the same key cells): total = Σ parts. */
struct rel_breakdown {
	int measure;
	const char *total;
	const char *prefix; /* parts: every metric starting with it, or */
	const char *parts[2];
};

static const struct rel_breakdown rel_breakdowns[] = {
    {MEASURES_M1, "victims", "victims_sex_", {NULL, NULL}},
    {MEASURES_M1, "victims", "victims_age_", {NULL, NULL}},
    {MEASURES_M1, "victims", "victims_risk_", {NULL, NULL}},
    {MEASURES_M3, "referrals", NULL, {"received_30d", "lost"}},
    {MEASURES_M5, "perpetrators", NULL, {"observable", "not_yet_observable"}},
    {0, NULL, NULL, {NULL, NULL}},
};

/* The population of an answer (differencing): the sum of this metric's most aggregated rows. */
struct rel_population {
	int measure;
	const char *metric;
	size_t col; /* with this key column equal to val (val NULL: no filter) */
	const char *val;
};

static const struct rel_population rel_populations[] = {
    {0, "incident_events", 0, NULL},	{MEASURES_M1, "incident_events", 0, NULL},
    {MEASURES_M2, "victims", 0, NULL},	{MEASURES_M3, "referrals", 0, NULL},
    {MEASURES_M4, "victims", 1, "any"}, {MEASURES_M5, "perpetrators", 0, NULL},
    {MEASURES_M6, "children", 0, NULL}, {-1, NULL, 0, NULL},
};

void release_defaults(struct policy_disclosure *d)
{
	memset(d, 0, sizeof(*d));
	d->threshold = POLICY_THRESHOLD_DEFAULT;
	d->rounding = 1;
	snprintf(d->mechanism, sizeof(d->mechanism), "none");
}

int release_new(int measure, size_t nkeys, const struct policy_disclosure *d, struct release **out)
{
	struct release *r;
	int gaussian = 0;

	if (!d || !out || measure < 0 || measure > MEASURES_M6 || nkeys > RELEASE_MAX_KEYS ||
	    (measure && nkeys == 0) || d->threshold < SUPPRESS_MIN_THRESH || d->rounding < 1)
		return CL_EINVAL;
	if (d->dp) {
		if (!strcmp(d->mechanism, "discrete_gaussian"))
			gaussian = 1;
		else if (strcmp(d->mechanism, "discrete_laplace"))
			return CL_EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return CL_ENOMEM;
	r->measure = measure;
	r->nkeys = nkeys;
	r->d = *d;
	r->gaussian = gaussian;
	r->info.threshold = d->threshold;
	r->info.rounding = d->rounding;
	r->info.mechanism = !d->dp ? "none" : gaussian ? "discrete_gaussian" : "discrete_laplace";
	r->info.unit = !d->dp ? "none" : gaussian ? "rho" : "epsilon";
	*out = r;
	return CL_OK;
}

void release_free(struct release *r)
{
	size_t i, k;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		for (k = 0; k <= r->nkeys; k++)
			free(r->rows[i].keys[k]);
	/* Exact counts and noise are secrets once noise is added: wipe them. */
	if (r->rows)
		OPENSSL_cleanse(r->rows, r->cap * sizeof(*r->rows));
	free(r->rows);
	free(r);
}

static int rel_dp_any(int measure);

int release_charge(struct release *r, struct ledger *l, const char *requester, int64_t now,
		   char *msg, size_t msgsz)
{
	int64_t eps = 0, budget = 0, id = 0, left = 0;
	char period[LEDGER_PERIOD_MAX];
	int rc, unit;

	if (!r || r->charged || r->applied)
		return CL_EINVAL;
	if (!r->d.dp)
		return CL_OK;
	if (!rel_dp_any(r->measure)) {
		/* Nothing would be released: refused before anything is charged. */
		if (msg && msgsz)
			snprintf(
			    msg, msgsz,
			    "refused: under differential privacy %s releases no count (%s have "
			    "no per-person bound); nothing was charged",
			    r->measure ? "this measure" : "incident_events",
			    r->measure == MEASURES_M3 ? "referrals" : "events");
		return CL_EDENIED;
	}
	unit = r->gaussian ? LEDGER_RHO : LEDGER_EPSILON;
	if (!l || !requester)
		return CL_EINVAL;
	/* The Gaussian is charged in ρ (zCDP), the Laplace in ε; micro-units either way. */
	rc = dp_epsilon_micro(r->gaussian ? r->d.rho_per_query : r->d.epsilon_per_query, 1, &eps);
	if (rc == CL_OK)
		rc = dp_epsilon_micro(r->gaussian ? r->d.budget_rho : r->d.budget, 0, &budget);
	if (rc == CL_OK)
		rc = ledger_period(now, r->d.budget_period_days, period, sizeof(period));
	if (rc == CL_OK)
		rc = ledger_charge(l, requester, period, unit, eps, budget, &id, msg, msgsz);
	if (rc == CL_OK)
		rc = ledger_remaining(l, requester, period, unit, budget, &left);
	if (rc != CL_OK) {
		if (id)
			ledger_refund(l, id);
		return rc;
	}
	r->charged = 1;
	r->charge_id = id;
	r->eps_micro = eps;
	r->budget_micro = budget;
	snprintf(r->info.period, sizeof(r->info.period), "%s", period);
	r->info.epsilon = (double)eps / DP_EPSILON_MICRO;
	r->info.budget = (double)budget / DP_EPSILON_MICRO;
	r->info.remaining = (double)left / DP_EPSILON_MICRO;
	return CL_OK;
}

int release_refund(struct release *r, struct ledger *l)
{
	int rc;

	if (!r)
		return CL_EINVAL;
	if (!r->charged || r->applied)
		return CL_OK; /* nothing charged, or noisy numbers may have left: no refund */
	rc = ledger_refund(l, r->charge_id);
	if (rc == CL_OK) {
		r->charged = 0;
		r->info.remaining += r->info.epsilon;
	}
	return rc;
}

/* Parses a value text: an integer count, a real, or NA. */
static void rel_classify(struct rel_row *w, const char *s)
{
	char *end = NULL;
	long long v;
	double x;

	w->kind = K_NA;
	if (!*s)
		return;
	v = strtoll(s, &end, 10);
	if (end && !*end && v >= 0 && v <= SUPPRESS_MAX_COUNT) {
		w->kind = K_COUNT;
		w->exact = v;
		w->real = (double)v;
		return;
	}
	x = strtod(s, &end);
	if (end && !*end && isfinite(x)) {
		w->kind = K_REAL;
		w->real = x;
	}
}

static const struct rel_derived *rel_find_derived(int measure, const char *metric)
{
	const struct rel_derived *d;

	for (d = rel_derived_table; d->metric; d++)
		if (d->measure == measure && !strcmp(d->metric, metric))
			return d;
	return NULL;
}

int release_add(struct release *r, const char *const *cols, size_t ncols)
{
	size_t want, k, nk;
	struct rel_row *w;

	if (!r || !cols || r->applied)
		return CL_EINVAL;
	nk = r->nkeys;
	want = nk + (r->measure ? 2 : 1);
	if (ncols != want)
		return CL_EINVAL;
	for (k = 0; k < ncols; k++)
		if (!cols[k] || strlen(cols[k]) >= RELEASE_MAX_TEXT)
			return cols[k] ? CL_ELIMIT : CL_EINVAL;
	if (r->n >= RELEASE_MAX_ROWS)
		return CL_ELIMIT;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct rel_row *grown = calloc(cap, sizeof(*grown));

		if (!grown)
			return CL_ENOMEM;
		if (r->rows) {
			memcpy(grown, r->rows, r->n * sizeof(*grown));
			OPENSSL_cleanse(r->rows, r->cap * sizeof(*r->rows));
			free(r->rows);
		}
		r->rows = grown;
		r->cap = cap;
	}
	w = &r->rows[r->n];
	memset(w, 0, sizeof(*w));
	for (k = 0; k <= nk; k++) {
		w->keys[k] = strdup(k < nk ? cols[k] : r->measure ? cols[nk] : "incident_events");
		if (!w->keys[k]) {
			while (k--)
				free(w->keys[k]);
			memset(w, 0, sizeof(*w));
			return CL_ENOMEM;
		}
	}
	rel_classify(w, cols[ncols - 1]);
	w->derived = r->measure ? rel_find_derived(r->measure, w->keys[nk]) : NULL;
	r->n++;
	return CL_OK;
}

static int rel_is_star(const char *s)
{
	return !strcmp(s, REL_STAR);
}

static void rel_mark(struct rel_row *w, int supp)
{
	if (supp > w->supp)
		w->supp = supp;
}

static int rel_is_count(const struct release *r, const struct rel_row *w)
{
	(void)r;
	return !w->derived && w->kind == K_COUNT;
}

/* Whether rows a and b have the same keys (metric excluded). */
static int rel_same_keys(const struct release *r, const struct rel_row *a, const struct rel_row *b)
{
	size_t k;

	for (k = 0; k < r->nkeys; k++)
		if (strcmp(a->keys[k], b->keys[k]))
			return 0;
	return 1;
}

/* Finds the row of metric at the same keys as w; NULL when absent. */
static struct rel_row *rel_sibling(struct release *r, const struct rel_row *w, const char *metric)
{
	size_t i;

	if (!metric)
		return NULL;
	for (i = 0; i < r->n; i++)
		if (!strcmp(r->rows[i].keys[r->nkeys], metric) && rel_same_keys(r, &r->rows[i], w))
			return &r->rows[i];
	return NULL;
}

/* Fail closed: every row of the group is withheld. */
static void rel_suppress_all(struct release *r, size_t *g, size_t ng)
{
	size_t i;

	for (i = 0; i < ng; i++) {
		rel_mark(&r->rows[g[i]],
			 r->rows[g[i]].exact >= 1 && r->rows[g[i]].exact < r->d.threshold
			     ? S_PRIMARY
			     : S_SECONDARY);
		r->rows[g[i]].locked = 1;
	}
}

/* A table's categories in one dimension: the distinct non-"*" keys, in order of appearance. */
struct rel_dim {
	size_t col;
	const char **cats;
	size_t ncats;
};

static int rel_dim_index(const struct rel_dim *dm, const char *key, size_t *idx)
{
	size_t c;

	if (rel_is_star(key)) {
		*idx = SUPPRESS_TOTAL;
		return 1;
	}
	for (c = 0; c < dm->ncats; c++)
		if (!strcmp(dm->cats[c], key)) {
			*idx = c;
			return 0;
		}
	return -1;
}

static int rel_table(struct release *r, size_t *g, size_t ng, const size_t *cols, size_t nd);

/*
 * A table whose only released margin is its grand total (M1 incident_events per
 * municipality, M6): the one relation an attacker has is total = Σ cells, so the cells are
 * one 1-D table with that total — modelling unreleased row and column totals would only
 * withhold more. Interior rows are the rows without "*" in cols, the total the row with "*"
 * in all of them.
 */
static int rel_table_flat(struct release *r, size_t *g, size_t ng, const size_t *cols, size_t nd)
{
	struct suppress_table *t = NULL;
	size_t *cell = NULL, i, d, n = 0, idx, tot = SIZE_MAX;
	long long sum = 0, v;
	int rc = CL_OK, bad = 0, state;

	cell = malloc(ng * sizeof(*cell));
	if (!cell)
		return CL_ENOMEM;
	for (i = 0; i < ng; i++) {
		size_t stars = 0;

		for (d = 0; d < nd; d++)
			stars += rel_is_star(r->rows[g[i]].keys[cols[d]]);
		if (stars == nd && tot == SIZE_MAX) {
			tot = i;
		} else if (stars == 0) {
			cell[i] = n++;
			sum += r->rows[g[i]].exact;
		} else {
			bad = 1;
		}
	}
	if (bad || n == 0 || n >= SUPPRESS_MAX_CELLS || tot == SIZE_MAX ||
	    sum != r->rows[g[tot]].exact) {
		bad = 1;
		goto out;
	}
	rc = suppress_table_new(1, &n, &t);
	for (i = 0; rc == CL_OK && i < ng; i++)
		if (i != tot)
			rc = suppress_table_set(t, &cell[i], r->rows[g[i]].exact);
	if (rc == CL_OK)
		rc = suppress_apply(t, r->d.threshold, 0);
	for (i = 0; rc == CL_OK && i < ng; i++) {
		idx = i == tot ? SUPPRESS_TOTAL : cell[i];
		rc = suppress_get(t, &idx, &v, &state);
		if (rc == CL_OK && state != SUPPRESS_PUBLISHED)
			rel_mark(&r->rows[g[i]],
				 state == SUPPRESS_PRIMARY ? S_PRIMARY : S_SECONDARY);
	}
	if (rc != CL_OK)
		bad = 1;
out:
	if (bad)
		rel_suppress_all(r, g, ng);
	suppress_table_free(t);
	free(cell);
	return rc;
}

/* Whether every margin row of the group is the grand total over cols (see rel_table_flat). */
static int rel_only_grand_total(const struct release *r, const size_t *g, size_t ng,
				const size_t *cols, size_t nd)
{
	size_t i, d, stars;

	for (i = 0; i < ng; i++) {
		for (d = 0, stars = 0; d < nd; d++)
			stars += rel_is_star(r->rows[g[i]].keys[cols[d]]);
		if (stars && stars != nd)
			return 0;
	}
	return 1;
}

/*
 * Cuts a group too big for one table along its last dimension (only where no margin over
 * that dimension is released, i.e. incident_events): each slice is a table of its own.
 */
static int rel_slice(struct release *r, size_t *g, size_t ng, const size_t *cols, size_t nd)
{
	size_t *sub = NULL, *done = NULL, i, j, ns, col = cols[nd - 1];
	int rc = CL_OK;

	sub = malloc(ng * sizeof(*sub));
	done = calloc(ng, sizeof(*done));
	if (!sub || !done) {
		rc = CL_ENOMEM;
		goto out;
	}
	for (i = 0; i < ng && rc == CL_OK; i++) {
		if (done[i])
			continue;
		ns = 0;
		for (j = i; j < ng; j++)
			if (!done[j] && !strcmp(r->rows[g[j]].keys[col], r->rows[g[i]].keys[col])) {
				done[j] = 1;
				sub[ns++] = g[j];
			}
		rc = rel_table(r, sub, ns, cols, nd - 1);
	}
out:
	free(sub);
	free(done);
	return rc;
}

/*
 * Suppresses one table: rows g (all of one metric and slice) over the key columns cols. Rows
 * with "*" in a table column are its margins; a margin that is not the sum of its cells, a
 * repeated cell or a table beyond the solver's limits withholds the whole table (fail closed).
 */
static int rel_table(struct release *r, size_t *g, size_t ng, const size_t *cols, size_t nd)
{
	struct rel_dim dims[RELEASE_MAX_KEYS];
	struct suppress_table *t = NULL;
	size_t sizes[SUPPRESS_MAX_DIMS], idx[SUPPRESS_MAX_DIMS], i, j, d, cells = 1;
	long long *interior = NULL;
	int rc = CL_OK, bad = 0;

	memset(dims, 0, sizeof(dims));
	if (r->measure != 0 && nd > 1 && rel_only_grand_total(r, g, ng, cols, nd))
		return rel_table_flat(r, g, ng, cols, nd);
	if (nd == 0) {
		for (i = 0; i < ng; i++)
			if (r->rows[g[i]].exact >= 1 && r->rows[g[i]].exact < r->d.threshold)
				rel_mark(&r->rows[g[i]], S_PRIMARY);
		return CL_OK;
	}
	for (d = 0; d < nd; d++) {
		dims[d].col = cols[d];
		dims[d].cats = calloc(ng, sizeof(*dims[d].cats));
		if (!dims[d].cats) {
			rc = CL_ENOMEM;
			goto out;
		}
		for (i = 0; i < ng; i++) {
			const char *key = r->rows[g[i]].keys[cols[d]];
			size_t c;

			if (rel_dim_index(&dims[d], key, &c) < 0)
				dims[d].cats[dims[d].ncats++] = key;
		}
		if (dims[d].ncats == 0) {
			bad = 1; /* only margins: nothing to tabulate */
			goto out;
		}
		if (__builtin_mul_overflow(cells, dims[d].ncats + 1, &cells))
			cells = SIZE_MAX;
	}
	if (nd > SUPPRESS_MAX_DIMS || cells > SUPPRESS_MAX_CELLS ||
	    (nd == 3 && cells > SUPPRESS_MAX_CELLS3)) {
		if (r->measure == 0 && nd > 1)
			rc = rel_slice(r, g, ng, cols, nd);
		else
			bad = 1;
		goto out;
	}
	for (d = 0; d < nd; d++)
		sizes[d] = dims[d].ncats;
	rc = suppress_table_new((unsigned)nd, sizes, &t);
	if (rc == CL_ELIMIT) {
		rc = CL_OK;
		bad = 1;
		goto out;
	}
	if (rc != CL_OK)
		goto out;
	interior = calloc(cells, sizeof(*interior));
	if (!interior) {
		rc = CL_ENOMEM;
		goto out;
	}
	/* Interior cells; a repeated cell cannot be tabulated. */
	for (i = 0; i < ng && !bad; i++) {
		size_t flat = 0, margin = 0;

		for (d = 0; d < nd; d++) {
			margin |= rel_dim_index(&dims[d], r->rows[g[i]].keys[cols[d]], &idx[d]) > 0;
			flat = flat * (dims[d].ncats + 1) +
			       (idx[d] == SUPPRESS_TOTAL ? 0 : idx[d] + 1);
		}
		if (margin)
			continue;
		if (interior[flat]) {
			bad = 1;
			break;
		}
		interior[flat] = r->rows[g[i]].exact + 1; /* +1: 0 means no row */
		rc = suppress_table_set(t, idx, r->rows[g[i]].exact);
		if (rc != CL_OK)
			goto out;
	}
	/* Released margins must be the sums of their cells (the table is additive). */
	for (i = 0; i < ng && !bad; i++) {
		const struct rel_row *m = &r->rows[g[i]];
		long long sum = 0;
		int margin = 0;

		for (d = 0; d < nd; d++)
			margin |= rel_dim_index(&dims[d], m->keys[cols[d]], &idx[d]) > 0;
		if (!margin)
			continue;
		for (j = 0; j < ng; j++) {
			const struct rel_row *c = &r->rows[g[j]];
			int match = 1;

			for (d = 0; d < nd && match; d++) {
				if (rel_is_star(c->keys[cols[d]]))
					match = 0;
				else if (idx[d] != SUPPRESS_TOTAL)
					match = !strcmp(c->keys[cols[d]], m->keys[cols[d]]);
			}
			if (match)
				sum += c->exact;
		}
		if (sum != m->exact)
			bad = 1;
	}
	if (bad)
		goto out;
	rc = suppress_apply(t, r->d.threshold, 0);
	if (rc != CL_OK) {
		bad = 1; /* the solver failed: withhold the table, report the error */
		goto out;
	}
	for (i = 0; i < ng; i++) {
		long long v;
		int state;

		for (d = 0; d < nd; d++)
			rel_dim_index(&dims[d], r->rows[g[i]].keys[cols[d]], &idx[d]);
		rc = suppress_get(t, idx, &v, &state);
		if (rc != CL_OK) {
			bad = 1;
			break;
		}
		if (state == SUPPRESS_PRIMARY)
			rel_mark(&r->rows[g[i]], S_PRIMARY);
		else if (state == SUPPRESS_SECONDARY)
			rel_mark(&r->rows[g[i]], S_SECONDARY);
	}
out:
	if (bad)
		rel_suppress_all(r, g, ng);
	for (d = 0; d < RELEASE_MAX_KEYS; d++)
		free(dims[d].cats);
	free(interior);
	suppress_table_free(t);
	return rc;
}

/* The distinct metrics of the counts, in order of appearance. */
static int rel_metrics(struct release *r, const char ***out, size_t *n)
{
	const char **m = calloc(r->n ? r->n : 1, sizeof(*m));
	size_t i, j, nm = 0;

	if (!m)
		return CL_ENOMEM;
	for (i = 0; i < r->n; i++) {
		const char *name = r->rows[i].keys[r->nkeys];

		if (!rel_is_count(r, &r->rows[i]))
			continue;
		for (j = 0; j < nm && strcmp(m[j], name); j++)
			;
		if (j == nm)
			m[nm++] = name;
	}
	*out = m;
	*n = nm;
	return CL_OK;
}

/* Suppresses the tables of one count metric (see release.h). */
static int rel_metric_tables(struct release *r, const char *metric, size_t *g, int *done)
{
	size_t cols[RELEASE_MAX_KEYS], slice[RELEASE_MAX_KEYS], nd = 0, nsl = 0, i, j, k, ng;
	int star[RELEASE_MAX_KEYS] = {0}, val[RELEASE_MAX_KEYS] = {0}, rc = CL_OK;

	for (i = 0; i < r->n; i++) {
		const struct rel_row *w = &r->rows[i];

		if (!rel_is_count(r, w) || strcmp(w->keys[r->nkeys], metric))
			continue;
		for (k = 0; k < r->nkeys; k++) {
			if (rel_is_star(w->keys[k]))
				star[k] = 1;
			else
				val[k] = 1;
		}
	}
	for (k = 0; k < r->nkeys; k++) {
		if (!val[k])
			continue; /* only "*": a constant column */
		if (star[k] || r->measure == 0)
			cols[nd++] = k;
		else
			slice[nsl++] = k;
	}
	for (i = 0; i < r->n; i++)
		done[i] =
		    !rel_is_count(r, &r->rows[i]) || strcmp(r->rows[i].keys[r->nkeys], metric);
	for (i = 0; i < r->n && rc == CL_OK; i++) {
		if (done[i])
			continue;
		ng = 0;
		if (nd == 0) {
			g[ng++] = i;
			done[i] = 1;
		}
		for (j = i; nd && j < r->n; j++) {
			int same = !done[j];

			for (k = 0; k < nsl && same; k++)
				same =
				    !strcmp(r->rows[j].keys[slice[k]], r->rows[i].keys[slice[k]]);
			if (same) {
				done[j] = 1;
				g[ng++] = j;
			}
		}
		rc = rel_table(r, g, ng, cols, nd);
	}
	return rc;
}

/* One total and its parts ng (indexes g) as a 1-D table whose margin is the total. */
static int rel_breakdown_one(struct release *r, struct rel_row *tot, size_t *g, size_t ng)
{
	struct suppress_table *t = NULL;
	size_t i, idx;
	long long sum = 0, v;
	int rc = CL_OK, bad = 0, state;

	for (i = 0; i < ng; i++) {
		if (!rel_is_count(r, &r->rows[g[i]]))
			bad = 1;
		sum += r->rows[g[i]].exact;
	}
	if (bad || sum != tot->exact || ng > SUPPRESS_MAX_CELLS - 1) {
		bad = 1;
		goto out;
	}
	rc = suppress_table_new(1, &ng, &t);
	for (i = 0; rc == CL_OK && i < ng; i++)
		rc = suppress_table_set(t, &i, r->rows[g[i]].exact);
	if (rc == CL_OK)
		rc = suppress_apply(t, r->d.threshold, 0);
	if (rc != CL_OK) {
		bad = 1;
		goto out;
	}
	for (i = 0; i <= ng; i++) {
		struct rel_row *w = i < ng ? &r->rows[g[i]] : tot;

		idx = i < ng ? i : SUPPRESS_TOTAL;
		rc = suppress_get(t, &idx, &v, &state);
		if (rc != CL_OK) {
			bad = 1;
			goto out;
		}
		if (state != SUPPRESS_PUBLISHED)
			rel_mark(w, state == SUPPRESS_PRIMARY ? S_PRIMARY : S_SECONDARY);
	}
out:
	if (bad) {
		rel_suppress_all(r, g, ng);
		rel_mark(tot, S_SECONDARY);
		tot->locked = 1;
	}
	suppress_table_free(t);
	return rc;
}

/* Suppresses the breakdowns of totals into parts (1-D tables with the total as margin). */
static int rel_breakdown_tables(struct release *r, size_t *g)
{
	const struct rel_breakdown *b;
	size_t i, j, ng, col = r->nkeys;
	int rc = CL_OK;

	for (b = rel_breakdowns; b->total && rc == CL_OK; b++) {
		if (b->measure != r->measure)
			continue;
		for (i = 0; i < r->n && rc == CL_OK; i++) {
			struct rel_row *tot = &r->rows[i];

			if (!rel_is_count(r, tot) || strcmp(tot->keys[col], b->total))
				continue;
			ng = 0;
			for (j = 0; j < r->n; j++) {
				struct rel_row *p = &r->rows[j];
				const char *m = p->keys[col];
				int part = b->prefix
					       ? !strncmp(m, b->prefix, strlen(b->prefix))
					       : !strcmp(m, b->parts[0]) || !strcmp(m, b->parts[1]);

				if (part && rel_same_keys(r, p, tot))
					g[ng++] = j;
			}
			if (ng == 0)
				continue;
			rc = rel_breakdown_one(r, tot, g, ng);
		}
	}
	return rc;
}

/* Marks the derived values (rates, means, medians, extremes) to withhold. */
static void rel_derived_marks(struct release *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		struct rel_row *w = &r->rows[i];
		const struct rel_derived *d = w->derived;
		const struct rel_row *num, *den;
		int small = 1;

		if (!d) {
			if (w->kind != K_COUNT)
				rel_mark(w, S_SECONDARY); /* an unknown non-count: fail closed */
			continue;
		}
		den = rel_sibling(r, w, d->den);
		num = rel_sibling(r, w, d->num);
		if (den && rel_is_count(r, den))
			suppress_rate(num ? num->exact : 0, den->exact, r->d.threshold, &small);
		/*
		 * A quantile over a count withheld only to protect another cell (its count is at
		 * least the threshold) is published: the joint model then knows that count is at
		 * least the threshold (rel_joint). A rate needs both counts.
		 */
		if (w->kind == K_NA || small || !den || d->kind == D_EXTREME ||
		    (den->supp && (d->kind != D_QUANT || den->supp == S_PRIMARY || den->locked ||
				   den->dp_withheld)) ||
		    (d->kind == D_RATE && (!num || num->supp || !rel_is_count(r, num))) ||
		    (d->kind == D_QUANT && r->d.dp))
			rel_mark(w, S_SECONDARY);
	}
}

/* The answer's population (the differencing check): see rel_populations. */
static int64_t rel_population(const struct release *r)
{
	const struct rel_population *p;
	size_t i, k, stars, best = 0;
	int64_t sum = 0;

	for (p = rel_populations; p->metric && p->measure != r->measure; p++)
		;
	if (!p->metric)
		return 0;
	for (i = 0; i < r->n; i++) {
		const struct rel_row *w = &r->rows[i];

		if (w->kind != K_COUNT || strcmp(w->keys[r->nkeys], p->metric) ||
		    (p->val && (p->col >= r->nkeys || strcmp(w->keys[p->col], p->val))))
			continue;
		for (k = 0, stars = 0; k < r->nkeys; k++)
			stars += rel_is_star(w->keys[k]);
		if (stars > best) {
			best = stars;
			sum = 0;
		}
		if (stars == best)
			sum += w->exact;
	}
	return sum;
}

/*
 * Per-person contribution bounds under DP (docs/disclosure.md "Noise"). Only the counts listed
 * are released with noise; every other count (incident events, episodes, referrals, gaps: one
 * person can add any number of them) is withheld. A listed count is a number of distinct linked
 * persons: one person adds at most 1 to each of its rows (a family of metrics, e.g. victims by
 * sex, at most 1 to one member per cell). The key columns in `unique` hold one value per person
 * (M2's and M4's municipality, M6's cell): a person touches only the rows with its value or
 * "*" there; in the others it may touch every released row.
 */
struct rel_dp_rule {
	int measure;
	const char *metric;
	int family; /* metric is a prefix: one member per cell */
	unsigned unique;
};

static const struct rel_dp_rule rel_dp_rules[] = {
    {MEASURES_M1, "victims", 0, 0},
    {MEASURES_M1, "victims_sex_", 1, 0},
    {MEASURES_M1, "victims_age_", 1, 0},
    {MEASURES_M1, "victims_risk_", 1, 0},
    {MEASURES_M2, "victims", 0, 1u},
    {MEASURES_M2, "repeat_victims", 0, 1u},
    {MEASURES_M2, "hidden_repeats", 0, 1u},
    {MEASURES_M4, "victims", 0, 1u},
    {MEASURES_M4, "with_support", 0, 1u},
    {MEASURES_M5, "perpetrators", 0, 0},
    {MEASURES_M5, "observable", 0, 0},
    {MEASURES_M5, "not_yet_observable", 0, 0},
    {MEASURES_M5, "reoffended", 0, 0},
    {MEASURES_M6, "children", 0, 7u},
    {-1, NULL, 0, 0},
};

static const struct rel_dp_rule *rel_dp_rule_of(int measure, const char *metric)
{
	const struct rel_dp_rule *u;

	for (u = rel_dp_rules; u->metric; u++)
		if (u->measure == measure &&
		    (u->family ? !strncmp(metric, u->metric, strlen(u->metric))
			       : !strcmp(metric, u->metric)))
			return u;
	return NULL;
}

/* Whether any count of measure is released under DP. */
static int rel_dp_any(int measure)
{
	const struct rel_dp_rule *u;

	for (u = rel_dp_rules; u->metric; u++)
		if (u->measure == measure)
			return 1;
	return 0;
}

int release_dp_released(int measure, const char *metric)
{
	return metric && rel_dp_rule_of(measure, metric) != NULL;
}

struct rel_keyref {
	const struct rel_row *w;
	size_t nkeys;
};

static int rel_cmp_keys(const void *a, const void *b)
{
	const struct rel_keyref *x = a, *y = b;
	size_t k;
	int c;

	for (k = 0; k < x->nkeys; k++)
		if ((c = strcmp(x->w->keys[k], y->w->keys[k])) != 0)
			return c;
	return 0;
}

/* Distinct key tuples among the n rows of ref (sorted in place). */
static size_t rel_distinct(struct rel_keyref *ref, size_t n)
{
	size_t i, d = n ? 1 : 0;

	qsort(ref, n, sizeof(*ref), rel_cmp_keys);
	for (i = 1; i < n; i++)
		d += rel_cmp_keys(&ref[i - 1], &ref[i]) != 0;
	return d;
}

/* Whether row w is touched by a person with the unique-column values of row p. */
static int rel_touches(const struct release *r, unsigned unique, const struct rel_row *p,
		       const struct rel_row *w)
{
	size_t k;

	for (k = 0; k < r->nkeys; k++)
		if ((unique & (1u << k)) && !rel_is_star(w->keys[k]) &&
		    strcmp(w->keys[k], p->keys[k]))
			return 0;
	return 1;
}

/*
 * Under DP: withholds the counts no rule bounds, and writes the answer's per-person L1
 * sensitivity (rows one person can touch, each by at most 1) to *l1; with caps of 1 the
 * squared L2 sensitivity is the same number.
 */
static int rel_dp_bound(struct release *r, long long *l1)
{
	struct rel_keyref *ref = NULL;
	const struct rel_dp_rule *u;
	size_t i, j, n, worst;
	long long s = 0;
	int rc = CL_OK, found;

	ref = calloc(r->n ? r->n : 1, sizeof(*ref));
	if (!ref)
		return CL_ENOMEM;
	for (i = 0; i < r->n; i++)
		if (rel_is_count(r, &r->rows[i]) &&
		    !rel_dp_rule_of(r->measure, r->rows[i].keys[r->nkeys])) {
			rel_mark(&r->rows[i], S_SECONDARY);
			r->rows[i].dp_withheld = 1;
		}
	for (u = rel_dp_rules; u->metric; u++) {
		if (u->measure != r->measure)
			continue;
		worst = 0;
		found = 0;
		/* Each candidate person: the unique-column values of one row without "*" there. */
		for (j = 0; j < r->n; j++) {
			const struct rel_row *p = &r->rows[j];
			size_t k;
			int star = 0;

			if (!rel_is_count(r, p) ||
			    rel_dp_rule_of(r->measure, p->keys[r->nkeys]) != u)
				continue;
			for (k = 0; k < r->nkeys; k++)
				star |= (u->unique & (1u << k)) && rel_is_star(p->keys[k]);
			if (star)
				continue;
			found = 1;
			for (i = 0, n = 0; i < r->n; i++) {
				const struct rel_row *w = &r->rows[i];

				if (rel_is_count(r, w) &&
				    rel_dp_rule_of(r->measure, w->keys[r->nkeys]) == u &&
				    (!found || rel_touches(r, u->unique, p, w)))
					ref[n++] = (struct rel_keyref){w, u->family ? r->nkeys
										    : r->nkeys + 1};
			}
			n = rel_distinct(ref, n);
			if (n > worst)
				worst = n;
			if (!u->unique)
				break; /* every row: one candidate is enough */
		}
		if (!found) { /* only "*" rows: a person may touch them all */
			for (i = 0, n = 0; i < r->n; i++)
				if (rel_is_count(r, &r->rows[i]) &&
				    rel_dp_rule_of(r->measure, r->rows[i].keys[r->nkeys]) == u)
					ref[n++] = (struct rel_keyref){
					    &r->rows[i], u->family ? r->nkeys : r->nkeys + 1};
			worst = rel_distinct(ref, n);
		}
		if (__builtin_add_overflow(s, (long long)worst, &s)) {
			rc = CL_EOVERFLOW;
			goto out;
		}
	}
	*l1 = s ? s : 1;
out:
	free(ref);
	return rc;
}

__extension__ typedef unsigned __int128 rel_u128;

static uint64_t rel_gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Fits num/den into DP_MAX_PARAM without making it smaller (more noise, never less). */
static int rel_fit(rel_u128 num, rel_u128 den, uint64_t *n, uint64_t *d)
{
	rel_u128 g, a = num, b = den;

	while (b) {
		rel_u128 t = a % b;

		a = b;
		b = t;
	}
	g = a ? a : 1;
	num /= g;
	den /= g;
	if (num > DP_MAX_PARAM) {
		den = den * DP_MAX_PARAM / num; /* floor: the ratio only grows */
		num = DP_MAX_PARAM;
	}
	if (den > DP_MAX_PARAM) {
		num = (num * DP_MAX_PARAM + den - 1) / den; /* ceiling */
		den = DP_MAX_PARAM;
	}
	if (num == 0 || den == 0)
		return CL_ELIMIT;
	g = rel_gcd((uint64_t)num, (uint64_t)den);
	*n = (uint64_t)(num / g);
	*d = (uint64_t)(den / g);
	return CL_OK;
}

/*
 * Adds noise to every published count: per person, L1 sensitivity sens and squared L2
 * sensitivity sens too (every bounded row changes by at most 1, rel_dp_bound).
 */
static int rel_noise(struct release *r, long long sens)
{
	uint64_t pn = 0, pd = 1; /* written by the parameter conversion before any use */
	double scale;
	size_t i;
	int rc;

	if (!r->charged || r->eps_micro <= 0)
		return CL_EINVAL; /* DP without a charge: refuse rather than release */
	if (r->gaussian) {
		/* ρ-zCDP with L2 sensitivity Δ (CKS20 Thm. 14): σ² = Δ² / (2ρ), ρ = micro/10⁶. */
		rc = rel_fit((rel_u128)sens * DP_EPSILON_MICRO,
			     (rel_u128)2 * (uint64_t)r->eps_micro, &pn, &pd);
		scale = sqrt((double)pn / (double)pd);
	} else {
		/* ε-DP with L1 sensitivity sens: t = sens / ε. */
		rc = rel_fit((rel_u128)sens * DP_EPSILON_MICRO, (rel_u128)r->eps_micro, &pn, &pd);
		scale = (double)pn / (double)pd;
	}
	if (rc != CL_OK)
		return rc;
	r->info.noise_scale = scale;
	r->info.sensitivity = sens;
	for (i = 0; i < r->n; i++) {
		struct rel_row *w = &r->rows[i];
		int64_t z = 0;

		if (w->out.state != RELEASE_COUNT)
			continue;
		rc = r->gaussian ? dp_gaussian(NULL, pn, pd, &z) : dp_laplace(NULL, pn, pd, &z);
		if (rc != CL_OK)
			return rc;
		w->out.count = w->exact + z < 0 ? 0 : w->exact + z; /* post-processing */
		w->out.noise_scale = scale;
		z = 0;
	}
	return CL_OK;
}

/* ---- joint protection: every relation of the answer at once (docs/disclosure.md) ---- */

/* A relation between metrics of the same cell: Σ coef·metric op 0 (when the data shows it). */
struct rel_cell_rule {
	int measure;
	int op;
	const char *metric[3];
	int coef[3];
};

static const struct rel_cell_rule rel_cell_rules[] = {
    {MEASURES_M2, SUPPRESS_REL_LE, {"repeat_victims", "victims", NULL}, {1, -1, 0}},
    {MEASURES_M2, SUPPRESS_REL_LE, {"hidden_repeats", "repeat_victims", NULL}, {1, -1, 0}},
    {MEASURES_M2, SUPPRESS_REL_LE, {"repeat_victims", "repeat_victim_episodes", NULL}, {2, -1, 0}},
    /* every repeat victim's episodes have one gap fewer than episodes */
    {MEASURES_M2,
     SUPPRESS_REL_EQ,
     {"gap_count", "repeat_victims", "repeat_victim_episodes"},
     {1, 1, -1}},
    {MEASURES_M3, SUPPRESS_REL_LE, {"received_24h", "received_30d", NULL}, {1, -1, 0}},
    {MEASURES_M4, SUPPRESS_REL_LE, {"with_support", "victims", NULL}, {1, -1, 0}},
    {MEASURES_M5, SUPPRESS_REL_LE, {"reoffended", "observable", NULL}, {1, -1, 0}},
    {0, 0, {NULL, NULL, NULL}, {0, 0, 0}},
};

/* The relations, as terms with offsets: relation k is terms off[k]..off[k+1]−1. */
struct rel_sys {
	size_t *cell;
	int *coef;
	size_t nt, capt;
	size_t *off; /* nrel + 1 entries */
	int *op;
	size_t nrel, caprel;
	int open;
};

static int rel_sys_term(struct rel_sys *y, size_t cell, int coef)
{
	if (y->nt == y->capt) {
		size_t cap = y->capt ? y->capt * 2 : 256;
		size_t *c = realloc(y->cell, cap * sizeof(*c));
		int *k;

		if (!c)
			return CL_ENOMEM;
		y->cell = c;
		k = realloc(y->coef, cap * sizeof(*k));
		if (!k)
			return CL_ENOMEM;
		y->coef = k;
		y->capt = cap;
	}
	y->cell[y->nt] = cell;
	y->coef[y->nt++] = coef;
	return CL_OK;
}

/* Starts a relation (terms follow with rel_sys_term). */
static int rel_sys_begin(struct rel_sys *y, int op)
{
	if (y->nrel + 1 >= y->caprel) {
		size_t cap = y->caprel ? y->caprel * 2 : 64;
		size_t *o = realloc(y->off, (cap + 1) * sizeof(*o));
		int *p;

		if (!o)
			return CL_ENOMEM;
		y->off = o;
		p = realloc(y->op, (cap + 1) * sizeof(*p));
		if (!p)
			return CL_ENOMEM;
		y->op = p;
		y->caprel = cap;
	}
	y->off[y->nrel] = y->nt;
	y->op[y->nrel++] = op;
	y->off[y->nrel] = y->nt;
	return CL_OK;
}

static void rel_sys_end(struct rel_sys *y)
{
	y->off[y->nrel] = y->nt;
}

static void rel_sys_free(struct rel_sys *y)
{
	free(y->cell);
	free(y->coef);
	free(y->off);
	free(y->op);
}

/* parent − Σ children = 0 when additive, else children <= parent <= Σ children when it holds. */
static int rel_sys_margin(struct release *r, struct rel_sys *y, size_t parent, const size_t *ch,
			  size_t nch)
{
	long long sum = 0, mx = 0, pv = r->rows[parent].exact;
	size_t i;
	int rc;

	for (i = 0; i < nch; i++) {
		sum += r->rows[ch[i]].exact;
		if (r->rows[ch[i]].exact > mx)
			mx = r->rows[ch[i]].exact;
	}
	/* Under DP the relations are the definitions' own, never chosen by the data. */
	if (sum == pv || r->d.dp) {
		rc = rel_sys_begin(y, SUPPRESS_REL_EQ);
		if (rc == CL_OK)
			rc = rel_sys_term(y, parent, 1);
		for (i = 0; rc == CL_OK && i < nch; i++)
			rc = rel_sys_term(y, ch[i], -1);
		rel_sys_end(y);
		return rc;
	}
	if (mx > pv || pv > sum)
		return CL_OK; /* no relation the data shows */
	rc = rel_sys_begin(y, SUPPRESS_REL_LE);
	if (rc == CL_OK)
		rc = rel_sys_term(y, parent, 1);
	for (i = 0; rc == CL_OK && i < nch; i++)
		rc = rel_sys_term(y, ch[i], -1);
	rel_sys_end(y);
	for (i = 0; rc == CL_OK && i < nch; i++) {
		rc = rel_sys_begin(y, SUPPRESS_REL_LE);
		if (rc == CL_OK)
			rc = rel_sys_term(y, ch[i], 1);
		if (rc == CL_OK)
			rc = rel_sys_term(y, parent, -1);
		rel_sys_end(y);
	}
	return rc;
}

/* Sorted references to the rows by (keys, metric), for lookups. */
static int rel_cmp_full(const void *a, const void *b)
{
	return rel_cmp_keys(a, b);
}

static long rel_lookup(const struct release *r, const struct rel_keyref *idx,
		       const char *const *keys)
{
	struct rel_row probe;
	struct rel_keyref key, *hit;
	size_t k;

	memset(&probe, 0, sizeof(probe));
	for (k = 0; k <= r->nkeys; k++)
		probe.keys[k] = (char *)keys[k];
	key.w = &probe;
	key.nkeys = r->nkeys + 1;
	hit = bsearch(&key, idx, r->n, sizeof(*idx), rel_cmp_full);
	return hit ? (long)(hit->w - r->rows) : -1;
}

/* A child (row c) of a margin (row p) along the star columns mask. */
struct rel_edge {
	size_t parent, child;
	unsigned mask;
};

static int rel_cmp_edge(const void *a, const void *b)
{
	const struct rel_edge *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if (x->mask != y->mask)
		return x->mask < y->mask ? -1 : 1;
	return x->child < y->child ? -1 : x->child > y->child;
}

/*
 * The margins of every count metric: a row with "*" in columns S is the sum of the rows equal
 * to it elsewhere with a value in one of them (one step), and, for a margin without such rows
 * (the grand total of a flat table), of the rows with values in all of S.
 */
static int rel_sys_margins(struct release *r, const struct rel_keyref *idx, struct rel_sys *y)
{
	struct rel_edge *e = NULL;
	size_t ne = 0, cap = 0, i, j, k;
	unsigned masks[32], nmask = 0, pass;
	const char *keys[RELEASE_MAX_KEYS + 1];
	int rc = CL_OK;

	for (pass = 0; pass < 2 && rc == CL_OK; pass++) {
		for (i = 0; i < r->n && rc == CL_OK; i++) {
			const struct rel_row *w = &r->rows[i];
			unsigned free_mask = 0, m;

			if (!rel_is_count(r, w))
				continue;
			for (k = 0; k < r->nkeys; k++)
				if (!rel_is_star(w->keys[k]))
					free_mask |= 1u << k;
			for (k = 0; k <= r->nkeys; k++)
				keys[k] = w->keys[k];
			for (j = 0; j < (pass ? nmask : r->nkeys); j++) {
				long p;

				m = pass ? masks[j] : 1u << j;
				if ((m & free_mask) != m)
					continue;
				for (k = 0; k < r->nkeys; k++)
					keys[k] = (m & (1u << k)) ? REL_STAR : w->keys[k];
				p = rel_lookup(r, idx, keys);
				if (p < 0 || !rel_is_count(r, &r->rows[p]))
					continue;
				if (ne == cap) {
					size_t nc = cap ? cap * 2 : 256;
					struct rel_edge *g = realloc(e, nc * sizeof(*g));

					if (!g) {
						rc = CL_ENOMEM;
						break;
					}
					e = g;
					cap = nc;
				}
				e[ne++] = (struct rel_edge){(size_t)p, i, m};
			}
		}
		if (pass == 0 && rc == CL_OK) {
			/* Star patterns of margins that no one-step child reaches. */
			unsigned char *has = calloc(r->n ? r->n : 1, 1);

			if (!has) {
				rc = CL_ENOMEM;
				break;
			}
			for (j = 0; j < ne; j++)
				has[e[j].parent] = 1;
			for (i = 0; i < r->n; i++) {
				unsigned m = 0;

				if (!rel_is_count(r, &r->rows[i]) || has[i])
					continue;
				for (k = 0; k < r->nkeys; k++)
					if (rel_is_star(r->rows[i].keys[k]))
						m |= 1u << k;
				if (__builtin_popcount(m) < 2)
					continue;
				for (j = 0; j < nmask && masks[j] != m; j++)
					;
				if (j == nmask && nmask < 32)
					masks[nmask++] = m;
			}
			free(has);
		}
	}
	if (rc == CL_OK && ne) {
		size_t *ch = malloc(ne * sizeof(*ch)), nch;

		if (!ch)
			rc = CL_ENOMEM;
		qsort(e, ne, sizeof(*e), rel_cmp_edge);
		for (i = 0; rc == CL_OK && i < ne; i = j) {
			for (j = i, nch = 0;
			     j < ne && e[j].parent == e[i].parent && e[j].mask == e[i].mask; j++)
				ch[nch++] = e[j].child;
			/* The metric must match: a lookup joins on every key and the metric. */
			rc = rel_sys_margin(r, y, e[i].parent, ch, nch);
		}
		free(ch);
	}
	free(e);
	return rc;
}

/* Relations within one cell (rows g[0..ng) with the same keys): breakdowns and inequalities. */
static int rel_sys_cell(struct release *r, const size_t *g, size_t ng, struct rel_sys *y)
{
	const struct rel_breakdown *b;
	const struct rel_cell_rule *u;
	size_t i, j, parts[64], np;
	int rc = CL_OK;

	for (b = rel_breakdowns; b->total && rc == CL_OK; b++) {
		if (b->measure != r->measure)
			continue;
		for (i = 0; i < ng && rc == CL_OK; i++) {
			const struct rel_row *tot = &r->rows[g[i]];

			if (!rel_is_count(r, tot) || strcmp(tot->keys[r->nkeys], b->total))
				continue;
			for (j = 0, np = 0; j < ng && np < 64; j++) {
				const struct rel_row *p = &r->rows[g[j]];
				const char *m = p->keys[r->nkeys];

				if (rel_is_count(r, p) &&
				    (b->prefix
					 ? !strncmp(m, b->prefix, strlen(b->prefix))
					 : !strcmp(m, b->parts[0]) || !strcmp(m, b->parts[1])))
					parts[np++] = g[j];
			}
			if (np)
				rc = rel_sys_margin(r, y, g[i], parts, np);
		}
	}
	for (u = rel_cell_rules; u->metric[0] && rc == CL_OK; u++) {
		const struct rel_row *t[3] = {NULL, NULL, NULL};
		size_t nt = 0, k;
		long long sum = 0;

		if (u->measure != r->measure)
			continue;
		for (k = 0; k < 3 && u->metric[k]; k++, nt++)
			for (i = 0; i < ng; i++)
				if (rel_is_count(r, &r->rows[g[i]]) &&
				    !strcmp(r->rows[g[i]].keys[r->nkeys], u->metric[k]))
					t[k] = &r->rows[g[i]];
		for (k = 0; k < nt && t[k]; k++)
			sum += u->coef[k] * t[k]->exact;
		if (k < nt || (!r->d.dp && (u->op == SUPPRESS_REL_EQ ? sum != 0 : sum > 0)))
			continue; /* absent, or not what the data shows */
		rc = rel_sys_begin(y, u->op);
		for (k = 0; rc == CL_OK && k < nt; k++)
			rc = rel_sys_term(y, (size_t)(t[k] - r->rows), u->coef[k]);
		rel_sys_end(y);
	}
	return rc;
}

/* M4: victims are the same for every support type; a type's with_support <= "any"'s. */
static int rel_sys_m4(struct release *r, const struct rel_keyref *idx, struct rel_sys *y)
{
	const char *keys[RELEASE_MAX_KEYS + 1];
	size_t i, k;
	int rc = CL_OK;

	if (r->measure != MEASURES_M4 || r->nkeys != 2)
		return CL_OK;
	for (i = 0; i < r->n && rc == CL_OK; i++) {
		const struct rel_row *w = &r->rows[i];
		long p;

		if (!rel_is_count(r, w) || !strcmp(w->keys[1], "any"))
			continue;
		for (k = 0; k <= r->nkeys; k++)
			keys[k] = w->keys[k];
		keys[1] = "any";
		p = rel_lookup(r, idx, keys);
		if (p < 0 || !rel_is_count(r, &r->rows[p]))
			continue;
		if (!strcmp(w->keys[2], "victims") && (r->d.dp || w->exact == r->rows[p].exact))
			rc = rel_sys_begin(y, SUPPRESS_REL_EQ);
		else if (!strcmp(w->keys[2], "with_support") &&
			 (r->d.dp || w->exact <= r->rows[p].exact))
			rc = rel_sys_begin(y, SUPPRESS_REL_LE);
		else
			continue;
		if (rc == CL_OK)
			rc = rel_sys_term(y, i, 1);
		if (rc == CL_OK)
			rc = rel_sys_term(y, (size_t)p, -1);
		rel_sys_end(y);
	}
	return rc;
}

/* Every relation of the answer (counts only; other rows appear in none). */
static int rel_sys_build(struct release *r, struct rel_sys *y)
{
	struct rel_keyref *idx = NULL, *cells = NULL;
	size_t i, j, *g = NULL;
	int rc = CL_ENOMEM;

	idx = malloc((r->n ? r->n : 1) * sizeof(*idx));
	cells = malloc((r->n ? r->n : 1) * sizeof(*cells));
	g = malloc((r->n ? r->n : 1) * sizeof(*g));
	if (!idx || !cells || !g)
		goto out;
	for (i = 0; i < r->n; i++) {
		idx[i] = (struct rel_keyref){&r->rows[i], r->nkeys + 1};
		cells[i] = (struct rel_keyref){&r->rows[i], r->nkeys};
	}
	qsort(idx, r->n, sizeof(*idx), rel_cmp_full);
	qsort(cells, r->n, sizeof(*cells), rel_cmp_keys);
	rc = rel_sys_margins(r, idx, y);
	for (i = 0; rc == CL_OK && i < r->n; i = j) {
		size_t ng = 0;

		for (j = i; j < r->n && rel_cmp_keys(&cells[i], &cells[j]) == 0; j++)
			g[ng++] = (size_t)(cells[j].w - r->rows);
		rc = rel_sys_cell(r, g, ng, y);
	}
	if (rc == CL_OK)
		rc = rel_sys_m4(r, idx, y);
out:
	free(idx);
	free(cells);
	free(g);
	return rc;
}

static size_t rel_uf_find(size_t *up, size_t x)
{
	while (up[x] != x) {
		up[x] = up[up[x]];
		x = up[x];
	}
	return x;
}

/* Cost of withholding a published count as a complement: its count, totals dearer. */
static long long rel_cost(const struct release *r, const struct rel_row *w)
{
	size_t k, stars = 0;

	for (k = 0; k < r->nkeys; k++)
		stars += rel_is_star(w->keys[k]);
	return (w->exact + 1) * (1 + 4 * (long long)stars);
}

/* One connected component of the relations: its rows and a model over them. */
struct rel_comp {
	size_t *row; /* local -> row */
	size_t n;
	struct suppress_model *m;
	const struct rel_sys *y;
	const size_t *rel; /* the component's relations */
	size_t nrel;
	long long *local; /* row -> local index (shared scratch, −1 elsewhere) */
	size_t solves;	  /* intervals computed while publishing complements again */
};

/* Intervals one component may compute to publish complements again (then it stops: safe). */
#define REL_PRUNE_SOLVES 20000

static int rel_safe(struct release *r, struct rel_comp *c, size_t li, int *safe)
{
	long long lo = 0, hi = 0;
	int rc = suppress_model_range(c->m, li, &lo, &hi);

	if (rc)
		return rc;
	*safe = hi >= SUPPRESS_UNBOUNDED || hi - lo >= r->d.threshold;
	return CL_OK;
}

static long long rel_width(struct rel_comp *c, size_t li, int *rcp)
{
	long long lo = 0, hi = 0;

	*rcp = suppress_model_range(c->m, li, &lo, &hi);
	if (*rcp)
		return 0;
	return hi >= SUPPRESS_UNBOUNDED ? SUPPRESS_UNBOUNDED : hi - lo;
}

/*
 * Withholds one more published count so that the withheld local cell li gets wider: among the
 * published counts in a relation with li (or, when none widens it, with any withheld cell),
 * the cheapest that makes li safe, else the one that widens it most (cheapest on ties).
 */
static int rel_complement(struct release *r, struct rel_comp *c, size_t li)
{
	size_t t, k, best = SIZE_MAX, tries = 0;
	long long base, best_w = -1, best_cost = 0;
	int rc = CL_OK, scope, best_ok = 0;

	base = rel_width(c, li, &rc);
	if (rc)
		return rc;
	for (scope = 0; scope < 2 && rc == CL_OK; scope++) {
		for (t = 0; t < c->nrel && rc == CL_OK && tries < 400; t++) {
			size_t q = c->rel[t], a, in = 0;

			for (a = c->y->off[q]; a < c->y->off[q + 1]; a++) {
				long long l = c->local[c->y->cell[a]];

				if (scope == 0 ? (size_t)l == li
					       : r->rows[c->y->cell[a]].supp != S_NONE)
					in = 1;
			}
			if (!in)
				continue;
			for (a = c->y->off[q]; a < c->y->off[q + 1] && rc == CL_OK; a++) {
				size_t row = c->y->cell[a];
				struct rel_row *w = &r->rows[row];
				long long wd, cost;
				int ok;

				if (w->supp != S_NONE)
					continue;
				k = (size_t)c->local[row];
				tries++;
				rc = suppress_model_set(c->m, k, -1);
				wd = rc ? 0 : rel_width(c, li, &rc);
				if (rc == CL_OK)
					rc = suppress_model_set(c->m, k, w->exact);
				if (rc)
					break;
				ok = wd >= r->d.threshold;
				cost = rel_cost(r, w);
				if (wd <= base && !(best == SIZE_MAX && scope == 1))
					continue;
				if (best == SIZE_MAX || (ok && !best_ok) ||
				    (ok == best_ok &&
				     (ok ? cost < best_cost
					 : wd > best_w || (wd == best_w && cost < best_cost)))) {
					best = row;
					best_ok = ok;
					best_w = wd;
					best_cost = cost;
				}
			}
		}
		if (best != SIZE_MAX && best_w > base)
			break;
	}
	if (rc)
		return rc;
	if (best == SIZE_MAX)
		return CL_EINTERNAL; /* nothing left to withhold around li: cannot happen */
	rel_mark(&r->rows[best], S_SECONDARY);
	return suppress_model_set(c->m, (size_t)c->local[best], -1);
}

/*
 * Every withheld cell of the component safe, else *ok = 0 (first unsafe in *bad). With known
 * set, cells already found safe are skipped and marked (while only more is withheld, a safe
 * cell stays safe).
 */
static int rel_comp_check(struct release *r, struct rel_comp *c, unsigned char *known, int *ok,
			  size_t *bad)
{
	size_t i;
	int rc = CL_OK, safe = 1;

	*ok = 1;
	for (i = 0; i < c->n && rc == CL_OK; i++) {
		if (r->rows[c->row[i]].supp == S_NONE || (known && known[i]))
			continue;
		c->solves++;
		rc = rel_safe(r, c, i, &safe);
		if (rc == CL_OK && !safe) {
			*ok = 0;
			*bad = i;
			return CL_OK;
		}
		if (known)
			known[i] = 1;
	}
	return rc;
}

static int rel_cmp_cost_desc(const void *a, const void *b)
{
	const long long *x = a, *y = b;

	return x[0] < y[0] ? 1 : x[0] > y[0] ? -1 : (x[1] > y[1]) - (x[1] < y[1]);
}

/*
 * Audits one component: until every withheld cell is safe, withhold complements; then
 * publishes again every complement (dearest first) whose publication keeps all safe.
 */
static int rel_comp_protect(struct release *r, struct rel_comp *c)
{
	long long(*order)[2] = NULL;
	unsigned char *known = calloc(c->n, 1);
	size_t i, n2 = 0, bad = 0, guard = 0;
	int rc = known ? CL_OK : CL_ENOMEM, ok = 0;

	for (i = 0; i < c->n && rc == CL_OK; i++)
		rc = suppress_model_set(
		    c->m, i, r->rows[c->row[i]].supp == S_NONE ? r->rows[c->row[i]].exact : -1);
	while (rc == CL_OK && guard++ <= c->n) {
		rc = rel_comp_check(r, c, known, &ok, &bad);
		if (rc || ok)
			break;
		rc = rel_complement(r, c, bad);
	}
	free(known);
	if (rc == CL_OK && !ok)
		rc = CL_EINTERNAL;
	if (rc)
		return rc;
	c->solves = 0;
	order = malloc((c->n ? c->n : 1) * sizeof(*order));
	if (!order)
		return CL_ENOMEM;
	for (i = 0; i < c->n; i++) {
		const struct rel_row *w = &r->rows[c->row[i]];

		if (w->supp == S_SECONDARY && !w->locked && !w->dp_withheld) {
			order[n2][0] = rel_cost(r, w);
			order[n2++][1] = (long long)i;
		}
	}
	qsort(order, n2, sizeof(*order), rel_cmp_cost_desc);
	for (i = 0; i < n2 && rc == CL_OK && c->solves < REL_PRUNE_SOLVES; i++) {
		size_t li = (size_t)order[i][1];
		struct rel_row *w = &r->rows[c->row[li]];

		w->supp = S_NONE;
		rc = suppress_model_set(c->m, li, w->exact);
		if (rc == CL_OK)
			rc = rel_comp_check(r, c, NULL, &ok, &bad);
		if (rc != CL_OK || !ok) {
			w->supp = S_SECONDARY;
			if (rc == CL_OK)
				rc = suppress_model_set(c->m, li, -1);
		}
	}
	free(order);
	return rc;
}

/* Lower bounds the answer tells: a published quantile's count is at least the threshold. */
static int rel_comp_lower(struct release *r, struct rel_comp *c)
{
	size_t i;
	int rc = CL_OK;

	for (i = 0; i < r->n && rc == CL_OK; i++) {
		const struct rel_row *w = &r->rows[i];
		struct rel_row *den;

		if (!w->derived || w->derived->kind != D_QUANT || w->kind == K_NA)
			continue;
		den = rel_sibling(r, w, w->derived->den);
		if (!den || !rel_is_count(r, den) || den->exact < r->d.threshold ||
		    c->local[den - r->rows] < 0)
			continue;
		rc = suppress_model_lower(c->m, (size_t)c->local[den - r->rows], r->d.threshold);
	}
	return rc;
}

/*
 * The joint check (issue 12 §3): the per-table suppression protects each table alone; here
 * every relation of the answer — margins of every metric, breakdowns across metrics, the
 * inequalities between metrics, the lower bounds published quantiles imply — is one model per
 * connected component, every withheld count must keep an interval of at least the threshold,
 * and complements beyond that are published again. Not for incident_events (its unreleased
 * totals are modelled by its tables) nor under DP (noisy counts are no exact constraints).
 */
typedef int (*rel_comp_fn)(struct release *r, struct rel_comp *c);

/*
 * Calls fn for every connected component of the relations y that has a row with need set
 * (need: 0 any, 1 a withheld count), with a model over its rows and relations.
 */
static int rel_components(struct release *r, const struct rel_sys *y, int need, rel_comp_fn fn,
			  unsigned char **hit_out)
{
	struct rel_comp c;
	size_t *up = NULL, *rels = NULL, *rowsbuf = NULL, i, a, q;
	long long *local = NULL;
	unsigned char *hit = NULL;
	int rc = CL_OK;

	up = malloc(r->n * sizeof(*up));
	local = malloc(r->n * sizeof(*local));
	rels = malloc(y->nrel * sizeof(*rels));
	rowsbuf = malloc(r->n * sizeof(*rowsbuf));
	hit = calloc(r->n, 1);
	if (!up || !local || !rels || !rowsbuf || !hit) {
		rc = CL_ENOMEM;
		goto out;
	}
	for (i = 0; i < r->n; i++) {
		up[i] = i;
		local[i] = -1;
	}
	for (q = 0; q < y->nrel; q++)
		for (a = y->off[q] + 1; a < y->off[q + 1]; a++)
			up[rel_uf_find(up, y->cell[a])] = rel_uf_find(up, y->cell[y->off[q]]);
	for (q = 0; q < y->nrel; q++)
		for (a = y->off[q]; a < y->off[q + 1]; a++)
			hit[y->cell[a]] = 1;
	for (i = 0; i < r->n && rc == CL_OK; i++) {
		size_t root, j, nrow = 0, nr = 0, k;
		int any = 0;

		if (hit[i] != 1)
			continue;
		root = rel_uf_find(up, i);
		for (j = i; j < r->n; j++)
			if (hit[j] == 1 && rel_uf_find(up, j) == root) {
				hit[j] = 2;
				local[j] = (long long)nrow;
				rowsbuf[nrow++] = j;
				any |= !need || r->rows[j].supp != S_NONE;
			}
		for (q = 0; q < y->nrel; q++)
			if (rel_uf_find(up, y->cell[y->off[q]]) == root)
				rels[nr++] = q;
		if (any) {
			memset(&c, 0, sizeof(c));
			c.row = rowsbuf;
			c.n = nrow;
			c.y = y;
			c.rel = rels;
			c.nrel = nr;
			c.local = local;
			rc = suppress_model_new(nrow, &c.m);
			for (q = 0; rc == CL_OK && q < nr; q++) {
				size_t o = y->off[rels[q]], len = y->off[rels[q] + 1] - o;
				size_t *lc = malloc(len * sizeof(*lc));

				if (!lc) {
					rc = CL_ENOMEM;
					break;
				}
				for (k = 0; k < len; k++)
					lc[k] = (size_t)local[y->cell[o + k]];
				rc = suppress_model_relation(c.m, lc, y->coef + o, len,
							     y->op[rels[q]]);
				free(lc);
			}
			if (rc == CL_OK)
				rc = fn(r, &c);
			suppress_model_free(c.m);
		}
		for (j = 0; j < nrow; j++)
			local[rowsbuf[j]] = -1;
	}
out:
	free(up);
	free(local);
	free(rels);
	free(rowsbuf);
	if (hit_out)
		*hit_out = hit;
	else
		free(hit);
	return rc;
}

/*
 * Protects one component twice — from the per-table pattern, and from the small counts alone
 * (the per-table complements dropped) — and keeps the pattern with fewer complements (the
 * information loss). The counters compare the result with the per-table pattern.
 */
static int rel_joint_one(struct release *r, struct rel_comp *c)
{
	unsigned char *orig = malloc(c->n), *a = malloc(c->n);
	size_t i, loss_a = 0, loss_b = 0;
	int rc = orig && a ? rel_comp_lower(r, c) : CL_ENOMEM;

	for (i = 0; rc == CL_OK && i < c->n; i++)
		orig[i] = (unsigned char)r->rows[c->row[i]].supp;
	if (rc == CL_OK)
		rc = rel_comp_protect(r, c);
	for (i = 0; rc == CL_OK && i < c->n; i++) {
		struct rel_row *w = &r->rows[c->row[i]];

		a[i] = (unsigned char)w->supp;
		loss_a += w->supp == S_SECONDARY;
	}
	if (rc == CL_OK && loss_a > 0) {
		int rb;

		for (i = 0; i < c->n; i++) {
			struct rel_row *w = &r->rows[c->row[i]];

			if (orig[i] == S_SECONDARY && !w->locked && !w->dp_withheld)
				w->supp = S_NONE;
		}
		rb = rel_comp_protect(r, c);

		for (i = 0; rb == CL_OK && i < c->n; i++)
			loss_b += r->rows[c->row[i]].supp == S_SECONDARY;
		if (rb != CL_OK || loss_b >= loss_a)
			for (i = 0; i < c->n; i++)
				r->rows[c->row[i]].supp = a[i];
	}
	for (i = 0; rc == CL_OK && i < c->n; i++) {
		int now = r->rows[c->row[i]].supp;

		r->info.joint_added += now == S_SECONDARY && orig[i] != S_SECONDARY;
		r->info.joint_pruned += orig[i] == S_SECONDARY && now == S_NONE;
	}
	free(orig);
	free(a);
	return rc;
}

/*
 * The joint check (issue 12 §3): the per-table suppression protects each table alone; here
 * every relation of the answer — margins of every metric, breakdowns across metrics, the
 * inequalities between metrics, the lower bounds published quantiles imply — is one model per
 * connected component, every withheld count must keep an interval of at least the threshold,
 * and complements beyond that are published again. Not for incident_events (its unreleased
 * totals are modelled by its tables) nor under DP (noisy counts are no exact constraints).
 */
static int rel_joint(struct release *r)
{
	struct suppress_model *keep = NULL;
	struct rel_sys y;
	unsigned char *hit = NULL;
	size_t i;
	int rc;

	memset(&y, 0, sizeof(y));
	if (r->measure == 0 || r->d.dp || r->n == 0)
		return CL_OK;
	rc = rel_sys_build(r, &y);
	/* One model alive across the components keeps GLPK's environment (suppress.c). */
	if (rc == CL_OK && y.nrel)
		rc = suppress_model_new(1, &keep);
	if (rc == CL_OK && y.nrel)
		rc = rel_components(r, &y, 1, rel_joint_one, &hit);
	if (rc != CL_OK && rc != CL_ENOMEM) {
		/* Fail closed: every count of the answer that is in a relation is withheld. */
		for (i = 0; i < r->n; i++)
			if (hit && hit[i] && rel_is_count(r, &r->rows[i]))
				rel_mark(&r->rows[i], S_SECONDARY);
	}
	free(hit);
	rel_sys_free(&y);
	suppress_model_free(keep);
	return rc;
}

/* Consistent post-processing of one component's noisy counts (see rel_dp_consistent). */
static int rel_project_one(struct release *r, struct rel_comp *c)
{
	long long *z = calloc(c->n, sizeof(*z)), *out = calloc(c->n, sizeof(*out));
	unsigned char *meas = calloc(c->n, 1);
	size_t i;
	int rc = z && out && meas ? CL_OK : CL_ENOMEM;

	for (i = 0; rc == CL_OK && i < c->n; i++) {
		const struct rel_row *w = &r->rows[c->row[i]];

		meas[i] = w->out.state == RELEASE_COUNT;
		z[i] = meas[i] ? w->out.count : 0;
	}
	if (rc == CL_OK)
		rc = suppress_model_project(c->m, z, meas, out);
	for (i = 0; rc == CL_OK && i < c->n; i++) {
		struct rel_row *w = &r->rows[c->row[i]];

		if (meas[i]) {
			r->info.dp_adjusted += w->out.count != out[i];
			w->out.count = out[i];
		}
	}
	if (z)
		OPENSSL_cleanse(z, c->n * sizeof(*z));
	free(z);
	if (out)
		OPENSSL_cleanse(out, c->n * sizeof(*out));
	free(out);
	free(meas);
	return rc;
}

/*
 * Under DP, after noise (issue 12 §4): the released counts of each component of relations are
 * replaced by the non-negative integer solution of the definitions' relations (margins,
 * breakdowns, inequalities such as with_support <= victims; withheld counts free unknowns)
 * nearest to the noisy counts in L1 (GLPK). A function of the noisy counts and of the answer's
 * shape only: post-processing, so the DP guarantee holds. On a solver failure every noisy count
 * in a relation is withheld (fail closed).
 */
static int rel_dp_consistent(struct release *r)
{
	struct suppress_model *keep = NULL;
	struct rel_sys y;
	unsigned char *hit = NULL;
	size_t i;
	int rc;

	memset(&y, 0, sizeof(y));
	if (!r->d.dp || r->n == 0)
		return CL_OK;
	rc = rel_sys_build(r, &y);
	if (rc == CL_OK && y.nrel)
		rc = suppress_model_new(1, &keep); /* keeps GLPK's environment across components */
	if (rc == CL_OK && y.nrel)
		rc = rel_components(r, &y, 0, rel_project_one, &hit);
	if (rc != CL_OK && rc != CL_ENOMEM) {
		for (i = 0; i < r->n; i++)
			if (hit && hit[i] && r->rows[i].out.state == RELEASE_COUNT) {
				r->rows[i].out.state = RELEASE_SUPPRESSED;
				r->rows[i].out.reason = RELEASE_REASON_FAILED;
				r->info.dp_withheld++;
			}
		rc = CL_OK;
	}
	free(hit);
	rel_sys_free(&y);
	suppress_model_free(keep);
	return rc;
}

int release_apply(struct release *r, struct ledger *l, const char *requester,
		  const struct ledger_population *pop, char *msg, size_t msgsz)
{
	const char **metrics = NULL;
	size_t *g = NULL, nm = 0, i;
	int *done = NULL, rc;
	long long base, sens = 1;

	if (!r || r->applied || (pop && (!l || !requester)))
		return CL_EINVAL;
	if (msg && msgsz)
		msg[0] = '\0';
	g = malloc((r->n ? r->n : 1) * sizeof(*g));
	done = malloc((r->n ? r->n : 1) * sizeof(*done));
	rc = g && done ? rel_metrics(r, &metrics, &nm) : CL_ENOMEM;
	/* Differencing first: a refused answer is not even tabulated. */
	if (rc == CL_OK && pop) {
		struct ledger_population p = *pop;

		p.size = rel_population(r);
		p.noisy = r->d.dp;
		rc = ledger_differencing(l, requester, &p, r->d.threshold, msg, msgsz);
	}
	/* Under DP the counts no per-person bound covers are withheld (rel_dp_bound). */
	if (rc == CL_OK && r->d.dp)
		rc = rel_dp_bound(r, &sens);
	for (i = 0; rc == CL_OK && i < nm; i++)
		if (!r->d.dp || rel_dp_rule_of(r->measure, metrics[i]))
			rc = rel_metric_tables(r, metrics[i], g, done);
	if (rc == CL_OK)
		rc = rel_breakdown_tables(r, g);
	if (rc != CL_OK)
		goto out;
	for (i = 0; i < r->n; i++)
		if (rel_is_count(r, &r->rows[i]) && r->rows[i].supp == S_NONE &&
		    r->rows[i].exact >= 1 && r->rows[i].exact < r->d.threshold)
			rel_mark(&r->rows[i], S_PRIMARY); /* never release a small count */
	rc = rel_joint(r);
	if (rc != CL_OK)
		goto out;
	rel_derived_marks(r);
	for (i = 0; i < r->n; i++) {
		struct rel_row *w = &r->rows[i];

		memset(&w->out, 0, sizeof(w->out));
		if (w->supp != S_NONE) {
			w->out.state = RELEASE_SUPPRESSED;
			if (w->derived || w->kind != K_COUNT) {
				r->info.derived_suppressed++;
				w->out.reason = RELEASE_REASON_DERIVED;
			} else if (w->dp_withheld) {
				r->info.dp_withheld++;
				w->out.reason = RELEASE_REASON_UNBOUNDED;
			} else if (w->supp == S_PRIMARY) {
				r->info.primary++;
				w->out.reason = RELEASE_REASON_SMALL;
			} else {
				r->info.secondary++;
				w->out.reason = RELEASE_REASON_PROTECTS;
			}
		} else if (rel_is_count(r, w)) {
			w->out.state = RELEASE_COUNT;
			w->out.count = w->exact;
		} else {
			w->out.state = RELEASE_REAL;
			w->out.real = w->real;
		}
	}
	if (r->d.dp) {
		rc = rel_noise(r, sens);
		if (rc == CL_OK)
			rc = rel_dp_consistent(r);
		if (rc != CL_OK)
			goto out;
	}
	base = r->d.rounding;
	for (i = 0; base > 1 && i < r->n; i++) {
		struct rel_row *w = &r->rows[i];

		if (w->out.state == RELEASE_COUNT)
			w->out.count = (w->out.count * 2 + base) / (2 * base) * base;
	}
	/* Rates follow the released counts when noise or rounding changed them. */
	for (i = 0; (base > 1 || r->d.dp) && i < r->n; i++) {
		struct rel_row *w = &r->rows[i];
		const struct rel_row *num, *den;

		if (w->out.state != RELEASE_REAL || !w->derived || w->derived->kind != D_RATE)
			continue;
		num = rel_sibling(r, w, w->derived->num);
		den = rel_sibling(r, w, w->derived->den);
		if (!num || !den || num->out.state != RELEASE_COUNT ||
		    den->out.state != RELEASE_COUNT || den->out.count == 0) {
			w->out.state = RELEASE_SUPPRESSED;
			w->out.reason = RELEASE_REASON_DERIVED;
			r->info.derived_suppressed++;
			continue;
		}
		w->out.real = (double)num->out.count / (double)den->out.count;
	}
	r->applied = 1;
out:
	free(metrics);
	free(g);
	free(done);
	return rc;
}

size_t release_rows(const struct release *r)
{
	return r ? r->n : 0;
}

int release_row(const struct release *r, size_t i, const char *const **keys, size_t *nkeys,
		struct release_value *v)
{
	if (!r || !r->applied || i >= r->n || !keys || !nkeys || !v)
		return CL_EINVAL;
	*keys = (const char *const *)r->rows[i].keys;
	*nkeys = r->nkeys + (r->measure ? 1 : 0);
	*v = r->rows[i].out;
	return CL_OK;
}

int release_get_info(const struct release *r, struct release_info *out)
{
	if (!r || !out)
		return CL_EINVAL;
	*out = r->info;
	return CL_OK;
}
