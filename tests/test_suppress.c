/*
 * Tests of small-cell suppression (coordinator/suppress.c).
 *
 * The attacker here is written independently of the module: from the published cells only
 * (read back with suppress_get) and the table's shape, it builds its own integer program over
 * ALL cells (published ones fixed, suppressed ones free non-negative integers, one equality per
 * margin) and asks GLPK for the minimum and maximum of every suppressed cell. On several hundred
 * random 1-D, 2-D and 3-D tables with random small cells it must never pin a suppressed cell to
 * an interval narrower than the threshold, every small count must be suppressed, and every
 * published count must be the true one (margins computed here, not by the module).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>
#include <glpk.h>

#include "common/cl_error.h"
#include "coordinator/suppress.h"
#include "policies/policy.h"

#define MAXC 4096

/* A deterministic generator for the random tables (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static long long rnd_below(long long n)
{
	return (long long)(rnd() % (uint64_t)n);
}

/* The test's own view of a table: extended indexes 0..n[d], n[d] the margin. */
struct shape {
	unsigned k;
	size_t n[3], ext[3], cells;
	long long v[MAXC]; /* true counts with margins */
};

static size_t pos(const struct shape *s, const size_t *idx)
{
	size_t p = 0;

	for (unsigned d = 0; d < s->k; d++)
		p = p * s->ext[d] + idx[d];
	return p;
}

static void unpos(const struct shape *s, size_t p, size_t *idx)
{
	for (unsigned d = s->k; d-- > 0;) {
		idx[d] = p % s->ext[d];
		p /= s->ext[d];
	}
}

/* Caller index form: the margin as SUPPRESS_TOTAL. */
static void to_api(const struct shape *s, const size_t *idx, size_t *api)
{
	for (unsigned d = 0; d < s->k; d++)
		api[d] = idx[d] == s->n[d] ? SUPPRESS_TOTAL : idx[d];
}

/* Margins by brute force: each margin cell sums all interior cells it covers. */
static void shape_margins(struct shape *s)
{
	size_t idx[3], jdx[3];

	for (size_t p = 0; p < s->cells; p++) {
		int margin = 0;
		long long sum = 0;

		unpos(s, p, idx);
		for (unsigned d = 0; d < s->k; d++)
			margin |= idx[d] == s->n[d];
		if (!margin)
			continue;
		for (size_t q = 0; q < s->cells; q++) {
			int covered = 1;

			unpos(s, q, jdx);
			for (unsigned d = 0; d < s->k; d++) {
				if (jdx[d] == s->n[d])
					covered = 0;
				else if (idx[d] != s->n[d] && jdx[d] != idx[d])
					covered = 0;
			}
			if (covered)
				sum += s->v[q];
		}
		s->v[p] = sum;
	}
}

static void shape_init(struct shape *s, unsigned k, const size_t *n)
{
	memset(s, 0, sizeof(*s));
	s->k = k;
	s->cells = 1;
	for (unsigned d = 0; d < k; d++) {
		s->n[d] = n[d];
		s->ext[d] = n[d] + 1;
		s->cells *= s->ext[d];
	}
}

/* Builds the module's table from the interior of s and applies suppression. */
static struct suppress_table *make_table(const struct shape *s, long long threshold, unsigned flags)
{
	struct suppress_table *t = NULL;
	size_t idx[3];

	assert_int_equal(suppress_table_new(s->k, s->n, &t), CL_OK);
	for (size_t p = 0; p < s->cells; p++) {
		int margin = 0;

		unpos(s, p, idx);
		for (unsigned d = 0; d < s->k; d++)
			margin |= idx[d] == s->n[d];
		if (!margin)
			assert_int_equal(suppress_table_set(t, idx, s->v[p]), CL_OK);
	}
	assert_int_equal(suppress_apply(t, threshold, flags), CL_OK);
	return t;
}

/* The attacker's bound on cell `target` from the published cells; *unb when unbounded. */
static long long attack(glp_prob *lp, int target, int maximise, int *unb)
{
	glp_smcp sp;
	glp_iocp ip;
	int n = glp_get_num_cols(lp);

	for (int j = 1; j <= n; j++)
		glp_set_obj_coef(lp, j, j == target ? 1.0 : 0.0);
	glp_set_obj_dir(lp, maximise ? GLP_MAX : GLP_MIN);
	glp_init_smcp(&sp);
	sp.msg_lev = GLP_MSG_OFF;
	assert_int_equal(glp_simplex(lp, &sp), 0);
	*unb = 0;
	if (glp_get_status(lp) == GLP_UNBND) {
		assert_true(maximise);
		*unb = 1;
		return 0;
	}
	assert_int_equal(glp_get_status(lp), GLP_OPT);
	glp_init_iocp(&ip);
	ip.msg_lev = GLP_MSG_OFF;
	assert_int_equal(glp_intopt(lp, &ip), 0);
	assert_int_equal(glp_mip_status(lp), GLP_OPT);
	return llround(glp_mip_obj_val(lp));
}

/*
 * The attacker: given which cells are published (state[p] == SUPPRESS_PUBLISHED, with their
 * true counts from s) it bounds every other cell over all non-negative integer tables
 * consistent with them. Returns how many suppressed cells it pins to an interval narrower than
 * level; every interval must hold the truth.
 */
static size_t attacker_pinned(const struct shape *s, const int *state, long long level)
{
	static int ia[MAXC * 8 + 1], ja[MAXC * 8 + 1];
	static double ar[MAXC * 8 + 1];
	size_t idx[3], nz = 0, pinned = 0;
	glp_prob *lp = glp_create_prob();
	int row = 0;

	glp_add_cols(lp, (int)s->cells);
	for (size_t p = 0; p < s->cells; p++) {
		if (state[p] == SUPPRESS_PUBLISHED)
			glp_set_col_bnds(lp, (int)p + 1, GLP_FX, (double)s->v[p], (double)s->v[p]);
		else
			glp_set_col_bnds(lp, (int)p + 1, GLP_LO, 0.0, 0.0);
		glp_set_col_kind(lp, (int)p + 1, GLP_IV);
	}
	/* margin − Σ line = 0, for every margin cell and every dimension where it is a margin. */
	for (size_t p = 0; p < s->cells; p++) {
		unpos(s, p, idx);
		for (unsigned d = 0; d < s->k; d++) {
			if (idx[d] != s->n[d])
				continue;
			glp_add_rows(lp, 1);
			row++;
			glp_set_row_bnds(lp, row, GLP_FX, 0.0, 0.0);
			ia[++nz] = row;
			ja[nz] = (int)p + 1;
			ar[nz] = 1.0;
			for (size_t j = 0; j < s->n[d]; j++) {
				size_t save = idx[d];

				idx[d] = j;
				ia[++nz] = row;
				ja[nz] = (int)pos(s, idx) + 1;
				ar[nz] = -1.0;
				idx[d] = save;
			}
		}
	}
	assert_true(nz < (size_t)MAXC * 8);
	glp_load_matrix(lp, (int)nz, ia, ja, ar);
	for (size_t p = 0; p < s->cells; p++) {
		long long lo, hi;
		int unb = 0;

		if (state[p] == SUPPRESS_PUBLISHED)
			continue;
		lo = attack(lp, (int)p + 1, 0, &unb);
		hi = attack(lp, (int)p + 1, 1, &unb);
		assert_true(lo <= s->v[p]);
		if (unb)
			continue;
		assert_true(hi >= s->v[p]);
		if (hi - lo < level)
			pinned++;
	}
	glp_delete_prob(lp);
	return pinned;
}

/*
 * Checks one suppressed table against the truth in s: published cells true, small cells
 * suppressed, and the attacker pins no suppressed cell below `level`. Returns the number of
 * suppressed cells.
 */
static size_t check_table(const struct shape *s, struct suppress_table *t, long long threshold,
			  long long level)
{
	size_t idx[3], api[3], nsup = 0;
	int state[MAXC];

	for (size_t p = 0; p < s->cells; p++) {
		long long c = 0;

		unpos(s, p, idx);
		to_api(s, idx, api);
		assert_int_equal(suppress_get(t, api, &c, &state[p]), CL_OK);
		if (s->v[p] >= 1 && s->v[p] < threshold)
			assert_int_not_equal(state[p], SUPPRESS_PUBLISHED);
		if (state[p] == SUPPRESS_PUBLISHED) {
			assert_int_equal(c, s->v[p]);
		} else {
			assert_int_equal(c, -1);
			nsup++;
		}
	}
	assert_int_equal(attacker_pinned(s, state, level), 0);
	return nsup;
}

/* A random interior: small cells 1..4 with probability 1/4, zeros 1/10, else 5..40. */
static void random_fill(struct shape *s)
{
	size_t idx[3];

	for (size_t p = 0; p < s->cells; p++) {
		int margin = 0;
		long long r = rnd_below(100);

		unpos(s, p, idx);
		for (unsigned d = 0; d < s->k; d++)
			margin |= idx[d] == s->n[d];
		if (margin)
			continue;
		s->v[p] = r < 25 ? 1 + rnd_below(4) : r < 35 ? 0 : 5 + rnd_below(36);
	}
	shape_margins(s);
}

/*
 * The attacker has teeth: primary suppression alone, on the same random tables, lets it pin
 * cells (a small cell alone in its row is the row total minus the rest).
 */
static void test_attacker_power(void **state)
{
	struct shape *s = calloc(1, sizeof(*s));
	static int st[MAXC];
	size_t pinned = 0;
	(void)state;

	assert_non_null(s);
	for (int i = 0; i < 20; i++) {
		size_t n[2] = {3 + (size_t)rnd_below(3), 3 + (size_t)rnd_below(3)};

		shape_init(s, 2, n);
		random_fill(s);
		for (size_t p = 0; p < s->cells; p++)
			st[p] = s->v[p] >= 1 && s->v[p] < 5 ? SUPPRESS_PRIMARY : SUPPRESS_PUBLISHED;
		pinned += attacker_pinned(s, st, 5);
	}
	printf("  primary suppression only: %zu cells pinned in 20 tables\n", pinned);
	assert_true(pinned > 0);
	/* A single small cell with its margins published is recovered exactly. */
	shape_init(s, 2, (size_t[]){2, 2});
	s->v[0] = 2, s->v[1] = 9, s->v[3] = 9, s->v[4] = 9;
	shape_margins(s);
	for (size_t p = 0; p < s->cells; p++)
		st[p] = p == 0 ? SUPPRESS_PRIMARY : SUPPRESS_PUBLISHED;
	assert_int_equal(attacker_pinned(s, st, 1), 1);
	free(s);
}

static void test_thresholds(void **state)
{
	struct shape *s = calloc(1, sizeof(*s));
	struct suppress_table *t = NULL;
	size_t n[1] = {6}, i2[1] = {2}, i3[1] = {3}, i4[1] = {4};
	long long c = 0;
	int st = 0;
	(void)state;

	assert_non_null(s);
	/* The module's floor is the policy's, and the policy's default is 5. */
	assert_int_equal(SUPPRESS_MIN_THRESH, POLICY_THRESHOLD_MIN);
	assert_int_equal(POLICY_THRESHOLD_DEFAULT, 5);
	shape_init(s, 1, n);
	s->v[0] = 40, s->v[1] = 41, s->v[2] = 2, s->v[3] = 3, s->v[4] = 4, s->v[5] = 5;
	shape_margins(s);

	/* A threshold of 2 is refused, and the table stays unapplied. */
	assert_int_equal(suppress_table_new(1, n, &t), CL_OK);
	assert_int_equal(suppress_apply(t, 2, 0), CL_EINVAL);
	assert_int_equal(suppress_get(t, i2, &c, &st), CL_EINVAL);
	suppress_table_free(t);

	/* Default 5: 2, 3, 4 suppressed, 5 published. */
	t = make_table(s, POLICY_THRESHOLD_DEFAULT, 0);
	assert_int_equal(suppress_get(t, i4, &c, &st), CL_OK);
	assert_int_equal(st, SUPPRESS_PRIMARY);
	assert_int_equal(c, -1);
	assert_int_equal(suppress_get(t, (size_t[]){5}, &c, &st), CL_OK);
	assert_int_equal(st, SUPPRESS_PUBLISHED);
	assert_int_equal(c, 5);
	check_table(s, t, 5, 5);
	suppress_table_free(t);

	/* Floor 3: 2 suppressed, 3 and 4 published. */
	t = make_table(s, 3, 0);
	assert_int_equal(suppress_get(t, i2, &c, &st), CL_OK);
	assert_int_equal(st, SUPPRESS_PRIMARY);
	assert_int_equal(suppress_get(t, i3, &c, &st), CL_OK);
	assert_int_not_equal(st, SUPPRESS_PRIMARY);
	check_table(s, t, 3, 3);
	suppress_table_free(t);
	free(s);
}

/* The textbook 2×2 case: one small cell takes the whole rectangle, the margins stay. */
static void test_textbook(void **state)
{
	struct shape *s = calloc(1, sizeof(*s));
	struct suppress_table *t;
	size_t n[2] = {2, 2}, np = 0, ns = 0;
	long long lo = 0, hi = 0, c = 0;
	int st = 0;
	(void)state;

	assert_non_null(s);
	shape_init(s, 2, n);
	s->v[pos(s, (size_t[]){0, 0})] = 2;
	s->v[pos(s, (size_t[]){0, 1})] = 10;
	s->v[pos(s, (size_t[]){1, 0})] = 10;
	s->v[pos(s, (size_t[]){1, 1})] = 10;
	shape_margins(s);
	t = make_table(s, 5, 0);
	assert_int_equal(suppress_counts(t, &np, &ns), CL_OK);
	assert_int_equal(np, 1);
	assert_int_equal(ns, 3);
	assert_int_equal(suppress_get(t, (size_t[]){SUPPRESS_TOTAL, SUPPRESS_TOTAL}, &c, &st),
			 CL_OK);
	assert_int_equal(st, SUPPRESS_PUBLISHED);
	assert_int_equal(c, 32);
	/* x00 = 2 + δ with δ in [−2, 10]. */
	assert_int_equal(suppress_range(t, (size_t[]){0, 0}, &lo, &hi), CL_OK);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, 12);
	assert_int_equal(check_table(s, t, 5, 5), 4);
	suppress_table_free(t);

	/* Nothing small: nothing suppressed. */
	s->v[pos(s, (size_t[]){0, 0})] = 7;
	shape_margins(s);
	t = make_table(s, 5, 0);
	assert_int_equal(suppress_counts(t, &np, &ns), CL_OK);
	assert_int_equal(np + ns, 0);
	suppress_table_free(t);
	free(s);
}

/* A small margin is itself suppressed, and cannot be recovered from the other margins. */
static void test_small_margin(void **state)
{
	struct shape *s = calloc(1, sizeof(*s));
	struct suppress_table *t;
	size_t n[2] = {3, 3};
	long long c = 0;
	int st = 0;
	(void)state;

	assert_non_null(s);
	shape_init(s, 2, n);
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < 3; j++)
			s->v[pos(s, (size_t[]){i, j})] = 10 + (long long)(i * 3 + j);
	s->v[pos(s, (size_t[]){1, 0})] = 1;
	s->v[pos(s, (size_t[]){1, 1})] = 2;
	s->v[pos(s, (size_t[]){1, 2})] = 0;
	shape_margins(s);
	t = make_table(s, 5, 0);
	assert_int_equal(suppress_get(t, (size_t[]){1, SUPPRESS_TOTAL}, &c, &st), CL_OK);
	assert_int_equal(st, SUPPRESS_PRIMARY);
	check_table(s, t, 5, 5);
	suppress_table_free(t);
	free(s);
}

static void test_zeros(void **state)
{
	struct shape *s = calloc(1, sizeof(*s));
	struct suppress_table *t;
	size_t n[2] = {2, 3};
	long long c = 0;
	int st = 0;
	(void)state;

	assert_non_null(s);
	shape_init(s, 2, n);
	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 3; j++)
			s->v[pos(s, (size_t[]){i, j})] = 20;
	s->v[pos(s, (size_t[]){0, 1})] = 0;
	shape_margins(s);
	/* By default a zero is published... */
	t = make_table(s, 5, 0);
	assert_int_equal(suppress_get(t, (size_t[]){0, 1}, &c, &st), CL_OK);
	assert_int_equal(st, SUPPRESS_PUBLISHED);
	assert_int_equal(c, 0);
	suppress_table_free(t);
	/* ...and with SUPPRESS_ZEROS it is a primary cell, protected like any other. */
	t = make_table(s, 5, SUPPRESS_ZEROS);
	assert_int_equal(suppress_get(t, (size_t[]){0, 1}, &c, &st), CL_OK);
	assert_int_equal(st, SUPPRESS_PRIMARY);
	check_table(s, t, 5, 5);
	suppress_table_free(t);
	free(s);
}

static void random_tables(unsigned k, int count, size_t lo, size_t hi, long long threshold)
{
	struct shape *s = calloc(1, sizeof(*s));
	size_t cells = 0, sup = 0;

	assert_non_null(s);
	for (int i = 0; i < count; i++) {
		struct suppress_table *t;
		size_t n[3];

		for (unsigned d = 0; d < k; d++)
			n[d] = lo + (size_t)rnd_below((long long)(hi - lo + 1));
		shape_init(s, k, n);
		random_fill(s);
		t = make_table(s, threshold, 0);
		sup += check_table(s, t, threshold, threshold);
		cells += s->cells;
		suppress_table_free(t);
	}
	printf("  %d random %u-D tables, threshold %lld: %zu of %zu cells suppressed\n", count, k,
	       threshold, sup, cells);
	free(s);
}

static void test_random_1d(void **state)
{
	(void)state;
	random_tables(1, 100, 2, 10, 5);
}

static void test_random_2d(void **state)
{
	(void)state;
	random_tables(2, 300, 2, 7, 5);
	random_tables(2, 60, 2, 5, 3);
	random_tables(2, 60, 2, 5, 10);
}

static void test_random_3d(void **state)
{
	(void)state;
	random_tables(3, 60, 2, 3, 5);
}

static void test_round(void **state)
{
	struct shape *s = calloc(1, sizeof(*s));
	struct suppress_table *t;
	size_t n[2] = {3, 3}, idx[2], api[2];
	(void)state;

	assert_non_null(s);
	shape_init(s, 2, n);
	random_fill(s);
	s->v[pos(s, (size_t[]){0, 0})] = 2;
	shape_margins(s);
	t = make_table(s, 5, 0);
	assert_int_equal(suppress_round(t, 0), CL_EINVAL);
	assert_int_equal(suppress_round(t, 5), CL_OK);
	for (size_t p = 0; p < s->cells; p++) {
		long long c = 0;
		int st = 0;

		unpos(s, p, idx);
		to_api(s, idx, api);
		assert_int_equal(suppress_get(t, api, &c, &st), CL_OK);
		if (st != SUPPRESS_PUBLISHED)
			continue;
		assert_int_equal(c % 5, 0);
		assert_true(c - s->v[p] <= 2 && s->v[p] - c <= 2);
	}
	suppress_table_free(t);
	free(s);
}

static void test_rates(void **state)
{
	int sup = -1;
	(void)state;

	assert_int_equal(suppress_rate(3, 4, 5, &sup), CL_OK);
	assert_int_equal(sup, 1);
	assert_int_equal(suppress_rate(3, 5, 5, &sup), CL_OK);
	assert_int_equal(sup, 0);
	assert_int_equal(suppress_rate(0, 0, 5, &sup), CL_OK);
	assert_int_equal(sup, 1);
	assert_int_equal(suppress_rate(1, 100, 5, &sup), CL_OK);
	assert_int_equal(sup, 0);
	assert_int_equal(suppress_rate(1, 100, 2, &sup), CL_EINVAL);
}

static void test_errors(void **state)
{
	struct suppress_table *t = NULL;
	size_t big[3] = {16, 16, 16}, n2[2] = {2, 2};
	(void)state;

	assert_int_equal(suppress_table_new(3, big, &t), CL_ELIMIT);
	assert_int_equal(suppress_table_new(4, big, &t), CL_EINVAL);
	assert_int_equal(suppress_table_new(3, (size_t[]){9, 9, 8}, &t), CL_ELIMIT);
	assert_int_equal(suppress_table_new(3, (size_t[]){8, 8, 8}, &t), CL_OK);
	suppress_table_free(t);
	t = NULL;
	assert_int_equal(suppress_table_new(2, (size_t[]){0, 2}, &t), CL_EINVAL);
	assert_null(t);
	assert_int_equal(suppress_table_new(2, n2, &t), CL_OK);
	assert_int_equal(suppress_table_set(t, (size_t[]){2, 0}, 1), CL_EINVAL);
	assert_int_equal(suppress_table_set(t, (size_t[]){SUPPRESS_TOTAL, 0}, 1), CL_EINVAL);
	assert_int_equal(suppress_table_set(t, (size_t[]){0, 0}, -1), CL_EINVAL);
	assert_int_equal(suppress_table_set(t, (size_t[]){0, 0}, SUPPRESS_MAX_COUNT + 1),
			 CL_EINVAL);
	assert_int_equal(suppress_table_set(t, (size_t[]){0, 0}, 9), CL_OK);
	assert_int_equal(suppress_apply(t, 5, 0), CL_OK);
	assert_int_equal(suppress_apply(t, 5, 0), CL_EINVAL);
	assert_int_equal(suppress_table_set(t, (size_t[]){0, 0}, 9), CL_EINVAL);
	suppress_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_thresholds),	 cmocka_unit_test(test_textbook),
	    cmocka_unit_test(test_small_margin), cmocka_unit_test(test_zeros),
	    cmocka_unit_test(test_round),	 cmocka_unit_test(test_rates),
	    cmocka_unit_test(test_errors),	 cmocka_unit_test(test_attacker_power),
	    cmocka_unit_test(test_random_1d),	 cmocka_unit_test(test_random_2d),
	    cmocka_unit_test(test_random_3d),
	};

	glp_term_out(GLP_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
