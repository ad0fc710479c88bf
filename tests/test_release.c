/*
 * test_release — disclosure control of answers (coordinator/release.c) on hand-built tables.
 * Expectations are worked out by hand or checked by an independent attacker written here
 * (1-D: the sum of the suppressed cells of a line is what can be inferred; 2-D: every
 * suppressed cell needs a second one in its row and in its column), never by calling the
 * suppression library.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "coordinator/ledger.h"
#include "coordinator/measures.h"
#include "coordinator/release.h"
#include "tests/tmpdb.h"

static char db_path[512];

static int setup(void **state)
{
	(void)state;
	tmpdb_path(db_path, sizeof(db_path), "test_release");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tmpdb_remove(db_path);
	return 0;
}

/* Rows as "k1,k2,...,metric,value" lines (no commas inside fields). */
static struct release *build(int measure, size_t nkeys, const struct policy_disclosure *d,
			     const char *const *lines, size_t n)
{
	struct release *r = NULL;
	size_t i;

	assert_int_equal(release_new(measure, nkeys, d, &r), CL_OK);
	for (i = 0; i < n; i++) {
		char buf[256], *cols[8], *save = NULL, *tok;
		size_t nc = 0;

		snprintf(buf, sizeof(buf), "%s", lines[i]);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			cols[nc++] = tok;
		assert_int_equal(release_add(r, (const char *const *)cols, nc), CL_OK);
	}
	return r;
}

/* The released value of the row whose keys (metric included) join to want with commas. */
static struct release_value get(const struct release *r, const char *want)
{
	struct release_value v;
	size_t i, k, nk;

	for (i = 0; i < release_rows(r); i++) {
		const char *const *keys;
		char joined[256] = "";

		assert_int_equal(release_row(r, i, &keys, &nk, &v), CL_OK);
		for (k = 0; k < nk; k++) {
			strcat(joined, k ? "," : "");
			strcat(joined, keys[k]);
		}
		if (!strcmp(joined, want))
			return v;
	}
	fail_msg("no row %s", want);
	return v;
}

static int suppressed(const struct release *r, const char *want)
{
	return get(r, want).state == RELEASE_SUPPRESSED;
}

static void test_defaults_and_floor(void **state)
{
	struct policy_disclosure d;
	struct release *r = NULL;

	(void)state;
	release_defaults(&d);
	assert_int_equal(d.threshold, 5);
	assert_int_equal(d.rounding, 1);
	assert_int_equal(d.dp, 0);
	d.threshold = 2;
	assert_int_equal(release_new(MEASURES_M2, 1, &d, &r), CL_EINVAL);
	assert_null(r);
	d.threshold = 3;
	{
		static const char *const rows[] = {"A,victims,3", "B,victims,4", "C,victims,2",
						   "*,victims,9"};

		r = build(MEASURES_M2, 1, &d, rows, 4);
		assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
		/* At the floor 3: 3 and 4 are published, 2 is primary, and one complement. */
		assert_true(suppressed(r, "C,victims"));
		assert_int_equal(suppressed(r, "A,victims") + suppressed(r, "B,victims"), 1);
		assert_int_equal(get(r, "*,victims").count, 9);
		release_free(r);
	}
}

/* 1-D table with its total (M2 by municipality), default threshold 5. */
static void test_one_dim(void **state)
{
	static const char *const rows[] = {
	    "A,victims,10",	    "B,victims,3",	    "C,victims,12",
	    "*,victims,25",	    "A,repeat_victims,4",   "B,repeat_victims,0",
	    "C,repeat_victims,6",   "*,repeat_victims,10",  "A,repeat_rate,0.4",
	    "B,repeat_rate,0.0",    "C,repeat_rate,0.5",    "*,repeat_rate,0.4",
	    "A,gap_count,5",	    "B,gap_count,0",	    "C,gap_count,7",
	    "*,gap_count,12",	    "A,gap_days_median,30", "C,gap_days_median,9",
	    "*,gap_days_median,20", "*,gap_days_min,1",	    "*,gap_days_max,200"};
	struct policy_disclosure d;
	struct release *r;
	struct release_info info;
	long long s = 0;
	const char *muni[] = {"A,victims", "B,victims", "C,victims"};
	long long val[] = {10, 3, 12};
	int i, nsup = 0;

	(void)state;
	release_defaults(&d);
	r = build(MEASURES_M2, 1, &d, rows, sizeof(rows) / sizeof(rows[0]));
	assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
	/* The attacker knows the total and the published cells: the suppressed sum S. */
	assert_true(suppressed(r, "B,victims"));
	for (i = 0; i < 3; i++) {
		if (suppressed(r, muni[i])) {
			s += val[i];
			nsup++;
		} else {
			assert_int_equal(get(r, muni[i]).count, val[i]);
		}
	}
	assert_true(nsup >= 2);
	assert_true(s >= 5); /* B lies anywhere in [0, S] */
	assert_int_equal(get(r, "*,victims").state, RELEASE_COUNT);
	/* repeat_victims: A=4 primary, B=0 published (zero), so a complement among A, C. */
	assert_true(suppressed(r, "A,repeat_victims"));
	assert_true(suppressed(r, "C,repeat_victims"));
	assert_int_equal(get(r, "B,repeat_victims").count, 0);
	/* Rates: B's denominator 3 < 5; A's denominator is suppressed; C's numerator too. */
	assert_true(suppressed(r, "B,repeat_rate"));
	assert_true(suppressed(r, "A,repeat_rate"));
	assert_true(suppressed(r, "C,repeat_rate"));
	/* The total rate: numerator 10 and denominator 25 published. */
	assert_int_equal(get(r, "*,repeat_rate").state, RELEASE_REAL);
	assert_true(get(r, "*,repeat_rate").real == 0.4);
	/* Medians over a suppressed or small count are withheld, extremes always. */
	assert_true(suppressed(r, "*,gap_days_min"));
	assert_true(suppressed(r, "*,gap_days_max"));
	assert_int_equal(get(r, "*,gap_days_median").state, RELEASE_REAL);
	assert_true(get(r, "*,gap_days_median").real == 20.0);
	release_get_info(r, &info);
	assert_string_equal(info.mechanism, "none");
	assert_true(info.primary >= 2);
	release_free(r);
}

/* A rate with a small numerator over a large denominator is published (privacy.md). */
static void test_rate_small_numerator(void **state)
{
	static const char *const rows[] = {"A,any,victims,40",	   "*,any,victims,40",
					   "A,any,with_support,2", "*,any,with_support,2",
					   "A,any,share,0.05",	   "*,any,share,0.05"};
	struct policy_disclosure d;
	struct release *r;

	(void)state;
	release_defaults(&d);
	r = build(MEASURES_M4, 2, &d, rows, 6);
	assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
	/* with_support 2 is a small count: suppressed, and so is its rate (derived from it). */
	assert_true(suppressed(r, "A,any,with_support"));
	assert_true(suppressed(r, "A,any,share"));
	assert_int_equal(get(r, "A,any,victims").count, 40);
	release_free(r);
}

/* M1: victims broken down by sex; the breakdown is a 1-D table whose margin is victims. */
static void test_breakdown(void **state)
{
	static const char *const rows[] = {
	    "R,police,2025-Q1,victims,20",	"R,police,2025-Q1,victims_sex_F,17",
	    "R,police,2025-Q1,victims_sex_M,3", "R,police,2025-Q1,victims_sex_X,0",
	    "R,police,2025-Q1,victims_sex_U,0", "R,police,2025-Q1,incident_events,30",
	    "R,*,*,incident_events,30",		"R,*,*,unlinkable_incident_events,1",
	    "R,*,*,unlinkable_share,0.033333"};
	struct policy_disclosure d;
	struct release *r;

	(void)state;
	release_defaults(&d);
	r = build(MEASURES_M1, 3, &d, rows, sizeof(rows) / sizeof(rows[0]));
	assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
	/* M = 3 primary. Zeros cannot hide it (F − 20 would pin M); F must go too. */
	assert_true(suppressed(r, "R,police,2025-Q1,victims_sex_M"));
	assert_true(suppressed(r, "R,police,2025-Q1,victims_sex_F"));
	assert_int_equal(get(r, "R,police,2025-Q1,victims").count, 20);
	/* unlinkable 1 is small; the share is derived from it: both withheld. */
	assert_true(suppressed(r, "R,*,*,unlinkable_incident_events"));
	assert_true(suppressed(r, "R,*,*,unlinkable_share"));
	assert_int_equal(get(r, "R,*,*,incident_events").count, 30);
	release_free(r);
}

/* A released total that is not the sum of its cells: the table is withheld (fail closed). */
static void test_non_additive(void **state)
{
	static const char *const rows[] = {"A,victims,10", "B,victims,12", "*,victims,30"};
	struct policy_disclosure d;
	struct release *r;

	(void)state;
	release_defaults(&d);
	r = build(MEASURES_M2, 1, &d, rows, 3);
	assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
	assert_true(suppressed(r, "A,victims"));
	assert_true(suppressed(r, "B,victims"));
	assert_true(suppressed(r, "*,victims"));
	release_free(r);
}

/* Independent 2-D check: a suppressed cell has another suppressed cell in its row and column. */
static void check_2d(const struct release *r, const char *const *a, size_t na, const char *const *b,
		     size_t nb, const char *metric)
{
	size_t i, j, k;
	char key[128];

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++) {
			int row = 0, col = 0;

			snprintf(key, sizeof(key), "%s,%s,%s", a[i], b[j], metric);
			if (!suppressed(r, key))
				continue;
			/* The cell itself, the others of its line, or the line's total. */
			for (k = 0; k < nb; k++) {
				snprintf(key, sizeof(key), "%s,%s,%s", a[i], b[k], metric);
				row += suppressed(r, key);
			}
			snprintf(key, sizeof(key), "%s,*,%s", a[i], metric);
			row += suppressed(r, key);
			for (k = 0; k < na; k++) {
				snprintf(key, sizeof(key), "%s,%s,%s", a[k], b[j], metric);
				col += suppressed(r, key);
			}
			snprintf(key, sizeof(key), "*,%s,%s", b[j], metric);
			col += suppressed(r, key);
			assert_true(row >= 2 && col >= 2);
		}
}

/* M3: sender type x municipality with all margins released, and referrals = received + lost. */
static void test_two_dim(void **state)
{
	static const char *const types[] = {"police", "health"};
	static const char *const munis[] = {"A", "B", "C"};
	/* referrals per (type, municipality); received_30d; lost = referrals − received. */
	static const long long ref[2][3] = {{12, 4, 20}, {9, 15, 2}};
	static const long long rec[2][3] = {{10, 4, 14}, {9, 12, 2}};
	const char *lines[64];
	char store[64][64];
	size_t n = 0, i, j, m;
	struct policy_disclosure d;
	struct release *r;

	(void)state;
	for (m = 0; m < 3; m++) {
		const char *metric = m == 0 ? "referrals" : m == 1 ? "received_30d" : "lost";
		long long tot = 0, rowt[2] = {0, 0}, colt[3] = {0, 0, 0};

		for (i = 0; i < 2; i++)
			for (j = 0; j < 3; j++) {
				long long v = m == 0   ? ref[i][j]
					      : m == 1 ? rec[i][j]
						       : ref[i][j] - rec[i][j];

				snprintf(store[n], sizeof(store[n]), "%s,%s,%s,%lld", types[i],
					 munis[j], metric, v);
				lines[n] = store[n];
				n++;
				rowt[i] += v;
				colt[j] += v;
				tot += v;
			}
		for (i = 0; i < 2; i++) {
			snprintf(store[n], sizeof(store[n]), "%s,*,%s,%lld", types[i], metric,
				 rowt[i]);
			lines[n] = store[n];
			n++;
		}
		for (j = 0; j < 3; j++) {
			snprintf(store[n], sizeof(store[n]), "*,%s,%s,%lld", munis[j], metric,
				 colt[j]);
			lines[n] = store[n];
			n++;
		}
		snprintf(store[n], sizeof(store[n]), "*,*,%s,%lld", metric, tot);
		lines[n] = store[n];
		n++;
	}
	release_defaults(&d);
	r = build(MEASURES_M3, 2, &d, lines, n);
	assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
	/* Primary cells by hand: referrals police,B 4 and health,C 2; received 4, 2; lost 2, 3. */
	assert_true(suppressed(r, "police,B,referrals"));
	assert_true(suppressed(r, "health,C,referrals"));
	assert_true(suppressed(r, "police,A,lost"));
	assert_true(suppressed(r, "health,B,lost"));
	check_2d(r, types, 2, munis, 3, "referrals");
	check_2d(r, types, 2, munis, 3, "received_30d");
	check_2d(r, types, 2, munis, 3, "lost");
	/* The breakdown: where lost is suppressed and referrals published, received must go. */
	for (i = 0; i < 2; i++)
		for (j = 0; j < 3; j++) {
			char a[64], b[64], c[64];

			snprintf(a, sizeof(a), "%s,%s,referrals", types[i], munis[j]);
			snprintf(b, sizeof(b), "%s,%s,received_30d", types[i], munis[j]);
			snprintf(c, sizeof(c), "%s,%s,lost", types[i], munis[j]);
			if (!suppressed(r, a))
				assert_int_equal(suppressed(r, b), suppressed(r, c));
		}
	release_free(r);
}

/* Rounding to 5, halves up; zeros stay; rates follow the rounded counts. */
static void test_rounding(void **state)
{
	static const char *const rows[] = {
	    "A,any,victims,37",	    "B,any,victims,28",	     "*,any,victims,65",
	    "A,any,with_support,8", "B,any,with_support,12", "*,any,with_support,20",
	    "A,any,share,0.216216", "B,any,share,0.428571",  "*,any,share,0.307692"};
	struct policy_disclosure d;
	struct release *r;

	(void)state;
	release_defaults(&d);
	d.rounding = 5;
	r = build(MEASURES_M4, 2, &d, rows, 9);
	assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
	assert_int_equal(get(r, "A,any,victims").count, 35);
	assert_int_equal(get(r, "B,any,victims").count, 30);
	assert_int_equal(get(r, "*,any,victims").count, 65);
	assert_int_equal(get(r, "A,any,with_support").count, 10);
	assert_int_equal(get(r, "B,any,with_support").count, 10);
	assert_int_equal(get(r, "*,any,with_support").count, 20);
	assert_true(get(r, "A,any,share").real == 10.0 / 35.0);
	assert_true(get(r, "B,any,share").real == 10.0 / 30.0);
	release_free(r);
}

/* incident_events 3-D without released margins, too big for one 3-D table: cut by quarter. */
static void test_incident_events_sliced(void **state)
{
	static const char *const types[] = {"police",	       "health",    "ngo",
					    "social_services", "probation", "child_rights"};
	static const char *const quarters[] = {"2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"};
	const char **lines = calloc(20 * 6 * 4, sizeof(*lines));
	char(*store)[64] = calloc(20 * 6 * 4, sizeof(*store));
	size_t n = 0, m, t, q, small = 0;
	struct policy_disclosure d;
	struct release *r;
	unsigned seed = 7;

	(void)state;
	assert_non_null(lines);
	assert_non_null(store);
	for (m = 0; m < 20; m++)
		for (t = 0; t < 6; t++)
			for (q = 0; q < 4; q++) {
				long long v;

				seed = seed * 1103515245u + 12345u;
				v = (seed >> 16) % 4 == 0 ? 1 + (seed >> 8) % 4
							  : 5 + (seed >> 4) % 30;
				small += v < 5;
				snprintf(store[n], sizeof(store[n]), "M%02zu,%s,%s,%lld", m,
					 types[t], quarters[q], v);
				lines[n] = store[n];
				n++;
			}
	release_defaults(&d);
	assert_int_equal(release_new(0, 3, &d, &r), CL_OK);
	for (m = 0; m < n; m++) {
		char buf[64], *cols[4], *save = NULL;

		snprintf(buf, sizeof(buf), "%s", lines[m]);
		cols[0] = strtok_r(buf, ",", &save);
		cols[1] = strtok_r(NULL, ",", &save);
		cols[2] = strtok_r(NULL, ",", &save);
		cols[3] = strtok_r(NULL, ",", &save);
		assert_int_equal(release_add(r, (const char *const *)cols, 4), CL_OK);
	}
	assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
	assert_true(small > 0);
	for (m = 0; m < n; m++) {
		struct release_value v;
		const char *const *keys;
		size_t nk;
		long long exact = strtoll(strrchr(lines[m], ',') + 1, NULL, 10);

		assert_int_equal(release_row(r, m, &keys, &nk, &v), CL_OK);
		assert_int_equal(nk, 3);
		if (exact < 5)
			assert_int_equal(v.state, RELEASE_SUPPRESSED);
		else if (v.state == RELEASE_COUNT)
			assert_int_equal(v.count, exact);
	}
	/* Within each quarter (a 2-D table of municipality x type): the row/column check. */
	for (q = 0; q < 4; q++)
		for (m = 0; m < 20; m++)
			for (t = 0; t < 6; t++) {
				struct release_value v, w;
				const char *const *keys;
				size_t nk, k, row = 0, col = 0;

				release_row(r, (m * 6 + t) * 4 + q, &keys, &nk, &v);
				if (v.state != RELEASE_SUPPRESSED)
					continue;
				for (k = 0; k < 6; k++) {
					release_row(r, (m * 6 + k) * 4 + q, &keys, &nk, &w);
					row += w.state == RELEASE_SUPPRESSED;
				}
				for (k = 0; k < 20; k++) {
					release_row(r, (k * 6 + t) * 4 + q, &keys, &nk, &w);
					col += w.state == RELEASE_SUPPRESSED;
				}
				assert_true(row >= 2 && col >= 2);
			}
	release_free(r);
	free(lines);
	free(store);
}

/* DP settings; for the Gaussian eps and budget are ρ (zCDP), as the policy loader requires. */
static void dp_policy(struct policy_disclosure *d, const char *mech, double eps, double budget)
{
	release_defaults(d);
	d->dp = 1;
	snprintf(d->mechanism, sizeof(d->mechanism), "%s", mech);
	if (!strcmp(mech, "discrete_gaussian")) {
		d->rho_per_query = eps;
		d->budget_rho = budget;
	} else {
		d->epsilon_per_query = eps;
		d->budget = budget;
	}
	d->budget_period_days = 365;
}

/* 6x4x... M6-like grid: noise on every published count, scale = sensitivity / ε. */
static void run_dp(const char *mech)
{
	static const char *const bands[] = {"0-3", "4-6", "7-9", "10-14", "15-17", "18+"};
	static const char *const sexes[] = {"F", "M", "X", "U"};
	const char *lines[6 * 4 * 3 + 1];
	char store[6 * 4 * 3 + 1][64];
	struct policy_disclosure d;
	struct release *r;
	struct release_info info;
	struct ledger *l = NULL;
	size_t n = 0, i, b, s, t, differ = 0, published = 0;
	long long total = 0;
	char msg[256];

	for (b = 0; b < 6; b++)
		for (s = 0; s < 4; s++)
			for (t = 0; t < 3; t++) {
				long long v = 20 + (long long)(b * 7 + s * 3 + t) % 11;

				snprintf(store[n], sizeof(store[n]), "%s,%s,%zu,children,%lld",
					 bands[b], sexes[s], t, v);
				lines[n] = store[n];
				n++;
				total += v;
			}
	snprintf(store[n], sizeof(store[n]), "*,*,*,children,%lld", total);
	lines[n] = store[n];
	n++;
	dp_policy(&d, mech, 0.5, 2.0);
	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	r = build(MEASURES_M6, 3, &d, lines, n);
	/* Without a charge, DP cannot be applied: refused rather than released exact. */
	assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_EINVAL);
	release_free(r);
	r = build(MEASURES_M6, 3, &d, lines, n);
	assert_int_equal(release_charge(r, l, "researcher.lv-1", 1767225600, msg, sizeof(msg)),
			 CL_OK);
	assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
	release_get_info(r, &info);
	assert_string_equal(info.mechanism, mech);
	/* A child is in one cell and the grand total: per person Δ1 = Δ2² = 2. */
	assert_int_equal(info.sensitivity, 2);
	if (!strcmp(mech, "discrete_laplace")) {
		assert_true(info.noise_scale == 4.0); /* t = Δ1 / ε = 2 / 0.5 */
		assert_string_equal(info.unit, "epsilon");
	} else {
		/* ρ 0.5: σ² = Δ2² / (2ρ) = 2 (CKS20: ρ = Δ²/(2σ²)) */
		assert_true(info.noise_scale > 1.41421 && info.noise_scale < 1.41422);
		assert_string_equal(info.unit, "rho");
	}
	assert_true(info.epsilon == 0.5);
	assert_true(info.remaining == 1.5);
	assert_string_equal(info.period, "2026");
	for (i = 0; i < n; i++) {
		struct release_value v;
		const char *const *keys;
		size_t nk;
		long long exact = strtoll(strrchr(lines[i], ',') + 1, NULL, 10);

		assert_int_equal(release_row(r, i, &keys, &nk, &v), CL_OK);
		assert_int_equal(v.state, RELEASE_COUNT);
		assert_true(v.noise_scale == info.noise_scale);
		assert_true(v.count >= 0);
		published++;
		differ += v.count != exact;
	}
	/* P(zero noise) < 0.25 per cell at scale 4 (and σ 2.8): 73 zeros have p < 10^-40. */
	assert_true(differ > 0);
	assert_int_equal(published, n);
	release_free(r);
	ledger_close(l);
}

static void test_dp_laplace(void **state)
{
	(void)state;
	run_dp("discrete_laplace");
}

static void test_dp_gaussian(void **state)
{
	(void)state;
	run_dp("discrete_gaussian");
}

/*
 * The noise actually drawn (issue 12 §7: a draw at a quarter of the stated scale passed every
 * test). 400 M1 `victims` cells of 100 000 (single cells: no margin, no clamping at 0), so
 * Δ = 400 and the stated scale is Δ/ε (Laplace) or √(Δ/2ρ) (Gaussian). Over 5 answers, the
 * 2 000 differences released − exact are compared with the exact pmf of the STATED
 * distribution (computed here from the scale, not from the library): the variance within 6
 * standard errors (the fourth moment gives the error), and the frequency of |noise| ≥ the
 * stated scale within 6 binomial standard errors. A sampler at scale/4 (variance/16) or 2×
 * fails both by far; a correct one fails with probability below 10⁻⁸.
 */
static void run_noise_spread(const char *mech, double eps, double want_scale)
{
	enum { CELLS = 400, RUNS = 5 };
	static char store[CELLS][64];
	const char *lines[CELLS];
	struct policy_disclosure d;
	struct ledger *l = NULL;
	double m2 = 0, m4 = 0, p2 = 0, p4 = 0, pt = 0, norm = 0, tail = 0, n = 0;
	double scale = 0, var, se, tf, tse;
	long long x, lim;
	size_t i, run;
	char msg[256];

	for (i = 0; i < CELLS; i++) {
		snprintf(store[i], sizeof(store[i]), "M%03zu,police,2025-Q1,victims,100000", i);
		lines[i] = store[i];
	}
	dp_policy(&d, mech, eps, 64.0);
	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	for (run = 0; run < RUNS; run++) {
		struct release *r = build(MEASURES_M1, 3, &d, lines, CELLS);
		struct release_info info;

		assert_int_equal(
		    release_charge(r, l, "researcher.noise", 1767225600, msg, sizeof(msg)), CL_OK);
		assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
		release_get_info(r, &info);
		assert_int_equal(info.sensitivity, CELLS);
		assert_true(fabs(info.noise_scale - want_scale) < 1e-9 * want_scale);
		scale = info.noise_scale;
		for (i = 0; i < CELLS; i++) {
			struct release_value v;
			const char *const *keys;
			size_t nk;
			double z;

			assert_int_equal(release_row(r, i, &keys, &nk, &v), CL_OK);
			assert_int_equal(v.state, RELEASE_COUNT);
			z = (double)(v.count - 100000);
			m2 += z * z;
			m4 += z * z * z * z;
			tail += fabs(z) >= scale;
			n++;
		}
		release_free(r);
	}
	ledger_close(l);
	/* The stated distribution's exact moments, summed over |x| <= 60 scales. */
	lim = (long long)(60 * scale) + 10;
	for (x = -lim; x <= lim; x++) {
		double ax = fabs((double)x), w;

		w = !strcmp(mech, "discrete_laplace") ? exp(-ax / scale)
						      : exp(-ax * ax / (2 * scale * scale));
		norm += w;
		p2 += w * ax * ax;
		p4 += w * ax * ax * ax * ax;
		pt += ax >= scale ? w : 0;
	}
	p2 /= norm;
	p4 /= norm;
	pt /= norm;
	var = m2 / n;
	se = sqrt((p4 - p2 * p2) / n);
	tf = tail / n;
	tse = sqrt(pt * (1 - pt) / n);
	print_message("%s: scale %.3f, variance %.1f (stated %.1f, se %.1f), P(|noise| >= scale) "
		      "%.4f (stated %.4f, se %.4f), over %.0f draws\n",
		      mech, scale, var, p2, se, tf, pt, tse, n);
	assert_true(fabs(var - p2) <= 6 * se);
	assert_true(fabs(tf - pt) <= 6 * tse);
}

static void test_noise_spread_laplace(void **state)
{
	(void)state;
	run_noise_spread("discrete_laplace", 8.0, 50.0); /* t = 400 / 8 */
}

static void test_noise_spread_gaussian(void **state)
{
	(void)state;
	run_noise_spread("discrete_gaussian", 2.0, 10.0); /* σ = √(400 / (2·2)) */
}

/*
 * Consistent post-processing under DP (issue 12 §4): with much noise (ε 0.05), 30 answers each
 * of M2, M4 and M5 must be publishable: counts >= 0, the total equal to the sum of its parts
 * when every part is published (and at least each published part), with_support <= victims,
 * victims equal across support types, share = with_support / victims in [0, 1],
 * perpetrators = observable + not_yet_observable, reoffended <= observable.
 */
static long long dp_val(const struct release *r, const char *key, int *pub)
{
	struct release_value v = get(r, key);

	*pub = v.state == RELEASE_COUNT;
	return *pub ? v.count : -1;
}

static void test_dp_consistent(void **state)
{
	static const char *const m2[] = {
	    "A,victims,60",	     "B,victims,45",	    "C,victims,80",
	    "*,victims,185",	     "A,repeat_victims,12", "B,repeat_victims,9",
	    "C,repeat_victims,20",   "*,repeat_victims,41", "A,hidden_repeats,6",
	    "B,hidden_repeats,5",    "C,hidden_repeats,7",  "*,hidden_repeats,18",
	    "A,repeat_rate,0.2",     "B,repeat_rate,0.2",   "C,repeat_rate,0.25",
	    "*,repeat_rate,0.221622"};
	static const char *const m4[] = {
	    "A,any,victims,60",	     "A,any,with_support,40",	  "A,any,share,0.666667",
	    "A,shelter,victims,60",  "A,shelter,with_support,10", "A,shelter,share,0.166667",
	    "B,any,victims,50",	     "B,any,with_support,45",	  "B,any,share,0.9",
	    "B,shelter,victims,50",  "B,shelter,with_support,20", "B,shelter,share,0.4",
	    "*,any,victims,110",     "*,any,with_support,85",	  "*,any,share,0.772727",
	    "*,shelter,victims,110", "*,shelter,with_support,30", "*,shelter,share,0.272727"};
	static const char *const m5[] = {"completed,perpetrators,30",
					 "completed,observable,22",
					 "completed,not_yet_observable,8",
					 "completed,reoffended,6",
					 "completed,reoffended_share,0.272727",
					 "dropped_out,perpetrators,25",
					 "dropped_out,observable,20",
					 "dropped_out,not_yet_observable,5",
					 "dropped_out,reoffended,9",
					 "dropped_out,reoffended_share,0.45"};
	struct policy_disclosure d;
	struct ledger *l = NULL;
	size_t run, adjusted = 0, checks = 0;
	char msg[256];
	int p1, p2, p3, p4;

	(void)state;
	dp_policy(&d, "discrete_laplace", 0.05, 64.0);
	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	for (run = 0; run < 30; run++) {
		struct release *r;
		struct release_info info;
		const char *mu[] = {"A", "B", "C"};
		long long sum, tot, v;
		int all;
		size_t i;

		/* M2 */
		r = build(MEASURES_M2, 1, &d, m2, sizeof(m2) / sizeof(m2[0]));
		assert_int_equal(
		    release_charge(r, l, "researcher.pp", 1767225600, msg, sizeof(msg)), CL_OK);
		assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
		release_get_info(r, &info);
		adjusted += info.dp_adjusted;
		{
			static const char *const mets[] = {"victims", "repeat_victims",
							   "hidden_repeats"};
			size_t k;

			for (k = 0; k < 3; k++) {
				char key[64];

				snprintf(key, sizeof(key), "*,%s", mets[k]);
				tot = dp_val(r, key, &p1);
				for (i = 0, sum = 0, all = 1; i < 3; i++) {
					snprintf(key, sizeof(key), "%s,%s", mu[i], mets[k]);
					v = dp_val(r, key, &p2);
					assert_true(!p2 || v >= 0);
					if (p2) {
						sum += v;
						if (p1)
							assert_true(v <= tot);
					}
					all &= p2;
				}
				if (p1 && all)
					assert_int_equal(sum, tot);
				checks++;
			}
			for (i = 0; i < 4; i++) {
				char a[64], b[64], c[64], e[64];
				const char *m = i < 3 ? mu[i] : "*";

				snprintf(a, sizeof(a), "%s,repeat_victims", m);
				snprintf(b, sizeof(b), "%s,victims", m);
				snprintf(c, sizeof(c), "%s,hidden_repeats", m);
				snprintf(e, sizeof(e), "%s,repeat_rate", m);
				if (dp_val(r, a, &p1) >= 0 && dp_val(r, b, &p2) >= 0)
					assert_true(dp_val(r, a, &p1) <= dp_val(r, b, &p2));
				if (dp_val(r, c, &p3) >= 0 && p1)
					assert_true(dp_val(r, c, &p3) <= dp_val(r, a, &p1));
				if (get(r, e).state == RELEASE_REAL)
					assert_true(get(r, e).real >= 0 && get(r, e).real <= 1);
				checks += 3;
			}
		}
		release_free(r);
		/* M4 */
		r = build(MEASURES_M4, 2, &d, m4, sizeof(m4) / sizeof(m4[0]));
		assert_int_equal(
		    release_charge(r, l, "researcher.pp", 1767225600, msg, sizeof(msg)), CL_OK);
		assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
		release_get_info(r, &info);
		adjusted += info.dp_adjusted;
		for (i = 0; i < 3; i++) {
			const char *m = i < 2 ? mu[i] : "*";
			char a[64], b[64], c[64], e[64], f[64];

			snprintf(a, sizeof(a), "%s,any,victims", m);
			snprintf(b, sizeof(b), "%s,shelter,victims", m);
			snprintf(c, sizeof(c), "%s,any,with_support", m);
			snprintf(e, sizeof(e), "%s,shelter,with_support", m);
			snprintf(f, sizeof(f), "%s,any,share", m);
			if (dp_val(r, a, &p1) >= 0 && dp_val(r, b, &p2) >= 0)
				assert_int_equal(dp_val(r, a, &p1), dp_val(r, b, &p2));
			if (p1 && dp_val(r, c, &p3) >= 0)
				assert_true(dp_val(r, c, &p3) <= dp_val(r, a, &p1));
			if (p3 && dp_val(r, e, &p4) >= 0)
				assert_true(dp_val(r, e, &p4) <= dp_val(r, c, &p3));
			if (get(r, f).state == RELEASE_REAL)
				assert_true(get(r, f).real >= 0 && get(r, f).real <= 1);
			snprintf(f, sizeof(f), "%s,shelter,share", m);
			if (get(r, f).state == RELEASE_REAL)
				assert_true(get(r, f).real >= 0 && get(r, f).real <= 1);
			checks += 5;
		}
		release_free(r);
		/* M5 */
		r = build(MEASURES_M5, 1, &d, m5, sizeof(m5) / sizeof(m5[0]));
		assert_int_equal(
		    release_charge(r, l, "researcher.pp", 1767225600, msg, sizeof(msg)), CL_OK);
		assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
		release_get_info(r, &info);
		adjusted += info.dp_adjusted;
		for (i = 0; i < 2; i++) {
			const char *o = i ? "dropped_out" : "completed";
			char a[64], b[64], c[64], e[64], f[64];

			snprintf(a, sizeof(a), "%s,perpetrators", o);
			snprintf(b, sizeof(b), "%s,observable", o);
			snprintf(c, sizeof(c), "%s,not_yet_observable", o);
			snprintf(e, sizeof(e), "%s,reoffended", o);
			snprintf(f, sizeof(f), "%s,reoffended_share", o);
			tot = dp_val(r, a, &p1);
			v = dp_val(r, b, &p2);
			sum = dp_val(r, c, &p3);
			if (p1 && p2 && p3)
				assert_int_equal(tot, v + sum);
			if (p1 && p2)
				assert_true(v <= tot);
			if (p2 && dp_val(r, e, &p4) >= 0)
				assert_true(dp_val(r, e, &p4) <= v);
			if (get(r, f).state == RELEASE_REAL)
				assert_true(get(r, f).real >= 0 && get(r, f).real <= 1);
			checks += 4;
		}
		release_free(r);
	}
	print_message("DP consistency: %zu checks on 90 noisy answers, %zu noisy counts adjusted\n",
		      checks, adjusted);
	assert_true(adjusted > 0);
	ledger_close(l);
}

/* Under DP incident_events and M3 release no count: refused before anything is charged. */
static void test_dp_nothing_released(void **state)
{
	static const int measures[] = {0, MEASURES_M3};
	struct policy_disclosure d;
	struct ledger *l = NULL;
	struct release *r = NULL;
	struct release_info info;
	char msg[256];
	size_t i;

	(void)state;
	dp_policy(&d, "discrete_laplace", 0.5, 1.0);
	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	for (i = 0; i < 2; i++) {
		assert_int_equal(release_new(measures[i], 2, &d, &r), CL_OK);
		msg[0] = '\0';
		assert_int_equal(
		    release_charge(r, l, "researcher.none", 1767225600, msg, sizeof(msg)),
		    CL_EDENIED);
		assert_non_null(strstr(msg, "nothing was charged"));
		release_free(r);
	}
	/* The whole budget is still there: two queries of 0.5 pass, a third does not. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(release_new(MEASURES_M2, 1, &d, &r), CL_OK);
		assert_int_equal(
		    release_charge(r, l, "researcher.none", 1767225600, msg, sizeof(msg)),
		    i < 2 ? CL_OK : CL_EBUDGET);
		release_get_info(r, &info);
		release_free(r);
	}
	ledger_close(l);
}

/* Budget 1.0, ε 0.4 per query: the third query is refused up front, naming what is left. */
static void test_budget_exhausted(void **state)
{
	struct policy_disclosure d;
	struct release *r[3];
	struct ledger *l = NULL;
	char msg[256];
	int i;

	(void)state;
	dp_policy(&d, "discrete_laplace", 0.4, 1.0);
	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	for (i = 0; i < 3; i++)
		assert_int_equal(release_new(MEASURES_M2, 1, &d, &r[i]), CL_OK);
	assert_int_equal(release_charge(r[0], l, "researcher.lv-2", 1767225600, msg, sizeof(msg)),
			 CL_OK);
	assert_int_equal(release_charge(r[1], l, "researcher.lv-2", 1767225600, msg, sizeof(msg)),
			 CL_OK);
	msg[0] = '\0';
	assert_int_equal(release_charge(r[2], l, "researcher.lv-2", 1767225600, msg, sizeof(msg)),
			 CL_EBUDGET);
	assert_non_null(strstr(msg, "privacy budget exceeded"));
	assert_non_null(strstr(msg, "0.200000 of 1.000000 is left"));
	/* Another researcher has a budget of their own; a refund gives it back. */
	assert_int_equal(release_charge(r[2], l, "researcher.lv-3", 1767225600, msg, sizeof(msg)),
			 CL_OK);
	assert_int_equal(release_refund(r[1], l), CL_OK);
	release_free(r[1]);
	assert_int_equal(release_new(MEASURES_M2, 1, &d, &r[1]), CL_OK);
	assert_int_equal(release_charge(r[1], l, "researcher.lv-2", 1767225600, msg, sizeof(msg)),
			 CL_OK);
	for (i = 0; i < 3; i++)
		release_free(r[i]);
	ledger_close(l);
}

/* The "all minus one" pair: the same question for a period and that period less a day. */
static void test_differencing(void **state)
{
	static const char *const full[] = {"A,victims,40", "B,victims,31", "*,victims,71"};
	static const char *const less[] = {"A,victims,39", "B,victims,31", "*,victims,70"};
	static const char *const far[] = {"A,victims,30", "B,victims,31", "*,victims,61"};
	struct ledger_population pop = {"M2", "", "", 20089, 20454, "n1,n2", 0, 0};
	struct policy_disclosure d;
	struct release *r;
	struct ledger *l = NULL;
	char msg[256];

	(void)state;
	release_defaults(&d);
	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	r = build(MEASURES_M2, 1, &d, full, 3);
	assert_int_equal(release_apply(r, l, "researcher.lv-4", &pop, msg, sizeof(msg)), CL_OK);
	release_free(r);
	pop.to_day = 20453;
	r = build(MEASURES_M2, 1, &d, less, 3);
	assert_int_equal(release_apply(r, l, "researcher.lv-4", &pop, msg, sizeof(msg)),
			 CL_EDENIED);
	assert_non_null(strstr(msg, "differencing"));
	release_free(r);
	/* Another researcher, or a population further away, is answered. */
	r = build(MEASURES_M2, 1, &d, less, 3);
	assert_int_equal(release_apply(r, l, "researcher.lv-5", &pop, msg, sizeof(msg)), CL_OK);
	release_free(r);
	pop.to_day = 20400;
	r = build(MEASURES_M2, 1, &d, far, 3);
	assert_int_equal(release_apply(r, l, "researcher.lv-4", &pop, msg, sizeof(msg)), CL_OK);
	release_free(r);
	ledger_close(l);
}

/* ---- per-person sensitivity under DP, through the measure engine ---- */

static void pp_event(struct measures_input *in, size_t rec, int64_t t, const char *muni)
{
	struct measures_event e = {"police_callout", t, "victim", muni, "", -1, "", 30};

	assert_int_equal(measures_add_event(in, rec, &e), CL_OK);
}

/*
 * Ordinary persons (one or two call-outs each) at three agency types and municipalities in
 * 2025, and, when heavy, one person with many call-outs in every municipality, quarter and
 * agency type (more than 72 h apart: an episode each).
 */
static struct measures_input *pp_input(int heavy)
{
	static const char *const types[] = {"police", "health", "social_services"};
	static const char *const munis[] = {"Riga", "Jelgava", "Cesis"};
	struct measures_input *in = NULL;
	int64_t jan1 = (int64_t)cldate_days_from_civil(2025, 1, 1) * 86400;
	size_t i, idx;

	assert_int_equal(measures_input_new(&in), CL_OK);
	for (i = 0; i < 90; i++) {
		struct measures_record rec = {(uint32_t)(i % 3),
					      types[i % 3],
					      types[i % 3],
					      munis[i % 3],
					      i % 2 ? 'F' : 'M',
					      0,
					      1,
					      (uint32_t)(i % 60)};

		assert_int_equal(measures_add_record(in, &rec, &idx), CL_OK);
		pp_event(in, idx, jan1 + (int64_t)(i * 4 % 360) * 86400, munis[(i / 3) % 3]);
	}
	if (heavy) {
		struct measures_record rec = {0, "police", "police", "Riga", 'F', 0, 1, 1000};

		for (i = 0; i < 3; i++) {
			rec.agency_id = rec.agency_type = types[i];
			rec.node = (uint32_t)i;
			assert_int_equal(measures_add_record(in, &rec, &idx), CL_OK);
			for (size_t k = 0; k < 80; k++)
				pp_event(in, idx, jan1 + (int64_t)(k * 4 + i) * 86400 + 3600,
					 munis[k % 3]);
		}
	}
	return in;
}

struct pp_rows {
	char line[4096][96];
	size_t n;
};

static int pp_emit(void *ctx, const char *const *cols, size_t ncols)
{
	struct pp_rows *r = ctx;
	size_t k, off = 0;

	assert_true(r->n < 4096);
	for (k = 0; k < ncols; k++)
		off += (size_t)snprintf(r->line[r->n] + off, sizeof(r->line[0]) - off, "%s%s",
					k ? "," : "", cols[k]);
	r->n++;
	return 0;
}

/* The value of the row with the keys (metric included) of line in rows; 0 when absent. */
static long long pp_value(const struct pp_rows *rows, const char *line)
{
	size_t klen = (size_t)(strrchr(line, ',') - line), i;

	for (i = 0; i < rows->n; i++)
		if (!strncmp(rows->line[i], line, klen + 1))
			return strtoll(rows->line[i] + klen + 1, NULL, 10);
	return 0;
}

static const char *pp_metric(const char *line, size_t nkeys, char *buf, size_t bufsz)
{
	const char *p = line;

	for (size_t k = 0; k < nkeys; k++)
		p = strchr(p, ',') + 1;
	snprintf(buf, bufsz, "%.*s", (int)(strchr(p, ',') - p), p);
	return buf;
}

/*
 * One person contributing far more than anyone else: under DP the released counts change by
 * at most the stated per-person sensitivity Δ between the answers with and without that
 * person (exact, before noise), the unbounded counts (incident events, episodes) are
 * withheld, and the noise scale is Δ/ε. Δ is recounted here from the answer's cells.
 */
static void run_per_person(int measure, size_t nkeys, const char *mech)
{
	struct measures_input *with = pp_input(1), *without = pp_input(0);
	struct pp_rows *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	int64_t from = (int64_t)cldate_days_from_civil(2025, 1, 1) * 86400;
	int64_t to = (int64_t)cldate_days_from_civil(2026, 1, 1) * 86400;
	struct policy_disclosure d;
	struct release *r = NULL;
	struct release_info info;
	struct ledger *l = NULL;
	long long l1 = 0, l2 = 0, unbounded = 0, delta = 0, cells = 0;
	char msg[256], metric[64];
	size_t i, j;

	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(measures_compute(with, measure, from, to, MEASURES_BY_QUARTER, pp_emit, a),
			 CL_OK);
	assert_int_equal(
	    measures_compute(without, measure, from, to, MEASURES_BY_QUARTER, pp_emit, b), CL_OK);
	/* L1 and squared L2 distance over the counts released under DP, both ways. */
	for (i = 0; i < a->n + b->n; i++) {
		const char *line = i < a->n ? a->line[i] : b->line[i - a->n];
		const struct pp_rows *other = i < a->n ? b : a;
		long long x = strtoll(strrchr(line, ',') + 1, NULL, 10), y = pp_value(other, line);

		pp_metric(line, nkeys, metric, sizeof(metric));
		if (i >= a->n && pp_value(a, line) == x && (x != 0 || y == 0))
			continue; /* present in both: counted once, from a */
		if (!release_dp_released(measure, metric)) {
			if (!strcmp(metric, "incident_events"))
				unbounded += llabs(x - y);
			continue;
		}
		l1 += llabs(x - y);
		l2 += (x - y) * (x - y);
	}
	/* Δ from the answer's shape, independently of release.c. */
	if (measure == MEASURES_M1) {
		/* Any cell (municipality, type, quarter): victims, and one of each breakdown. */
		for (i = 0; i < a->n; i++)
			if (strstr(a->line[i], ",victims,") && !strstr(a->line[i], "*"))
				cells++;
		delta = 4 * cells;
	} else {
		/* M2: the person's first municipality and "*", for three person counts. */
		delta = 3 * 2;
	}
	dp_policy(&d, mech, 1.0, 10.0);
	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	assert_int_equal(release_new(measure, nkeys, &d, &r), CL_OK);
	for (i = 0; i < a->n; i++) {
		char buf[96], *cols[8], *save = NULL, *tok;
		size_t nc = 0;

		snprintf(buf, sizeof(buf), "%s", a->line[i]);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			cols[nc++] = tok;
		assert_int_equal(release_add(r, (const char *const *)cols, nc), CL_OK);
	}
	assert_int_equal(release_charge(r, l, "researcher.lv-9", 1767225600, msg, sizeof(msg)),
			 CL_OK);
	assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
	release_get_info(r, &info);
	print_message("M%d %s: per-person L1 %lld, L2^2 %lld, stated sensitivity %lld (expected "
		      "%lld), incident events moved by %lld\n",
		      measure, mech, l1, l2, info.sensitivity, delta, unbounded);
	assert_int_equal(info.sensitivity, delta);
	assert_true(l1 > 0);
	assert_true(l1 <= info.sensitivity);
	assert_true(l2 <= info.sensitivity);
	if (!strcmp(mech, "discrete_laplace"))
		assert_true(fabs(info.noise_scale - (double)delta / 1.0) < 1e-9);
	else
		assert_true(fabs(info.noise_scale - sqrt((double)delta / 2.0)) < 1e-6);
	/* The unbounded counts moved by more than Δ would allow: they are withheld. */
	if (measure == MEASURES_M1)
		assert_true(unbounded > info.sensitivity);
	assert_true(info.dp_withheld > 0);
	for (j = 0; j < release_rows(r); j++) {
		struct release_value v;
		const char *const *keys;
		size_t nk;

		assert_int_equal(release_row(r, j, &keys, &nk, &v), CL_OK);
		if (!release_dp_released(measure, keys[nk - 1]) && v.state != RELEASE_REAL)
			assert_int_equal(v.state, RELEASE_SUPPRESSED);
		if (v.state == RELEASE_COUNT)
			assert_true(v.noise_scale == info.noise_scale);
	}
	release_free(r);
	ledger_close(l);
	measures_input_free(with);
	measures_input_free(without);
	free(a);
	free(b);
}

static void test_dp_per_person(void **state)
{
	(void)state;
	run_per_person(MEASURES_M1, 3, "discrete_laplace");
	unlink(db_path);
	run_per_person(MEASURES_M2, 1, "discrete_gaussian");
	/* The node-local incident_events aggregate has no person behind its rows. */
	assert_int_equal(release_dp_released(0, "incident_events"), 0);
	assert_int_equal(release_dp_released(MEASURES_M3, "referrals"), 0);
	assert_int_equal(release_dp_released(MEASURES_M6, "children"), 1);
}

/* Medians are not protected by noise: withheld under DP; extremes always. */
static void test_dp_quantiles(void **state)
{
	static const char *const rows[] = {"*,received_30d,80", "*,median_delay_hours,24.5",
					   "*,referrals,90", "*,lost,10"};
	static const char *const m2rows[] = {"*,victims,80", "*,gap_count,50",
					     "*,gap_days_median,20"};
	struct policy_disclosure d;
	struct release *r;
	struct ledger *l = NULL;
	char msg[256];

	(void)state;
	dp_policy(&d, "discrete_laplace", 1.0, 10.0);
	assert_int_equal(ledger_open(db_path, &l), CL_OK);
	/* M3 releases no count under DP: refused before the charge (test_dp_nothing_released). */
	r = build(MEASURES_M3, 2 - 1, &d, rows, 4);
	assert_int_equal(release_charge(r, l, "researcher.lv-6", 1767225600, msg, sizeof(msg)),
			 CL_EDENIED);
	release_free(r);
	r = build(MEASURES_M2, 1, &d, m2rows, 3);
	assert_int_equal(release_charge(r, l, "researcher.lv-6", 1767225600, msg, sizeof(msg)),
			 CL_OK);
	assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
	assert_true(suppressed(r, "*,gap_days_median"));
	release_free(r);
	release_defaults(&d);
	r = build(MEASURES_M3, 1, &d, rows, 4);
	assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
	assert_true(get(r, "*,median_delay_hours").real == 24.5);
	release_free(r);
	ledger_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_and_floor),
	    cmocka_unit_test(test_one_dim),
	    cmocka_unit_test(test_rate_small_numerator),
	    cmocka_unit_test(test_breakdown),
	    cmocka_unit_test(test_non_additive),
	    cmocka_unit_test(test_two_dim),
	    cmocka_unit_test(test_rounding),
	    cmocka_unit_test(test_incident_events_sliced),
	    cmocka_unit_test_setup_teardown(test_dp_laplace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dp_gaussian, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_noise_spread_laplace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_noise_spread_gaussian, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dp_consistent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dp_nothing_released, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_budget_exhausted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_differencing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dp_quantiles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dp_per_person, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
