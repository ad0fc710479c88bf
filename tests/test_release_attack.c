/*
 * test_release_attack — an exact attacker against the suppression of whole answers (issue 12
 * §3). Random answers of M2, M3 and M5 are built from "atoms": the non-negative counts of
 * persons or referrals in each combination of categories that the measure's definition
 * distinguishes (M3: per sender type and municipality, referrals received within 24 h, within
 * 30 days but later, lost). Every released count is a sum of atoms, so every linear relation the
 * answer implies — margins of every metric, referrals = received_30d + lost, received_24h <=
 * received_30d, ... — is in the attacker's program by construction, not by copying the code
 * under test. The attacker (GLPK, LP relaxation) fixes every published count, adds what a
 * published median tells (its count is at least the threshold), and bounds every withheld count:
 * each interval must be at least the threshold wide.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glpk.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "coordinator/measures.h"
#include "coordinator/release.h"
#include "tests/synthfed.h"

#define MAXROWS	 2048
#define MAXATOMS 512
#define T	 5 /* threshold */

struct answer {
	int measure;
	size_t nkeys;
	size_t natoms;
	size_t n;
	char line[MAXROWS][128]; /* keys,metric */
	char value[MAXROWS][32];
	int count[MAXROWS];  /* a count (vs derived) */
	int median[MAXROWS]; /* a quantile over row lower_of */
	size_t lower_of[MAXROWS];
	long long exact[MAXROWS];
	size_t nt[MAXROWS];
	size_t *atom[MAXROWS];
	double *coef[MAXROWS];
	long long atoms[MAXATOMS];
};

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)((rng_state >> 33) % n);
}

/* A random cell size: small often (the cells suppression is about), else larger. */
static long long rnd_size(void)
{
	uint32_t k = rnd(10);

	return k < 4 ? rnd(7) : k < 6 ? 5 + rnd(20) : 20 + rnd(150);
}

static size_t add_row(struct answer *a, const char *line, int count, const size_t *atoms,
		      const double *coef, size_t nt)
{
	size_t i = a->n++;
	long long v = 0;

	assert_true(i < MAXROWS);
	snprintf(a->line[i], sizeof(a->line[i]), "%s", line);
	a->count[i] = count;
	a->nt[i] = nt;
	a->atom[i] = malloc((nt ? nt : 1) * sizeof(size_t));
	a->coef[i] = malloc((nt ? nt : 1) * sizeof(double));
	memcpy(a->atom[i], atoms, nt * sizeof(size_t));
	memcpy(a->coef[i], coef, nt * sizeof(double));
	for (size_t k = 0; k < nt; k++)
		v += (long long)coef[k] * a->atoms[atoms[k]];
	a->exact[i] = v;
	snprintf(a->value[i], sizeof(a->value[i]), "%lld", v);
	return i;
}

static void free_answer(struct answer *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->atom[i]);
		free(a->coef[i]);
	}
}

/* M3: types × municipalities, with every margin; atoms (t, m, {24h, 30d, lost}). */
static void gen_m3(struct answer *a, size_t nt, size_t nm)
{
	static const char *const types[] = {"police", "health", "ngo", "social_services",
					    "probation"};
	static const char *const munis[] = {"Liepāja", "Klaipėda", "Rīga", "Ventspils", "Kuldīga"};
	size_t t, m, k, buf[3 * 25];
	double one[3 * 25];

	memset(a, 0, sizeof(*a));
	a->measure = MEASURES_M3;
	a->nkeys = 2;
	a->natoms = nt * nm * 3;
	for (k = 0; k < a->natoms; k++)
		a->atoms[k] = rnd_size() / (k % 3 == 2 ? 2 : 1);
	for (k = 0; k < 3 * 25; k++)
		one[k] = 1;
	for (t = 0; t <= nt; t++)
		for (m = 0; m <= nm; m++) {
			char key[96], line[128];
			size_t n24 = 0, n30 = 0, nl = 0, a24[25], a30[50], al[25], aref[75], nr = 0;
			size_t tt, mm, r30;

			snprintf(key, sizeof(key), "%s,%s", t < nt ? types[t] : "*",
				 m < nm ? munis[m] : "*");
			for (tt = 0; tt < nt; tt++)
				for (mm = 0; mm < nm; mm++) {
					size_t base = (tt * nm + mm) * 3;

					if ((t < nt && tt != t) || (m < nm && mm != m))
						continue;
					a24[n24++] = base;
					a30[n30++] = base;
					a30[n30++] = base + 1;
					al[nl++] = base + 2;
					aref[nr++] = base;
					aref[nr++] = base + 1;
					aref[nr++] = base + 2;
				}
			snprintf(line, sizeof(line), "%s,referrals", key);
			add_row(a, line, 1, aref, one, nr);
			snprintf(line, sizeof(line), "%s,received_24h", key);
			add_row(a, line, 1, a24, one, n24);
			snprintf(line, sizeof(line), "%s,received_30d", key);
			r30 = add_row(a, line, 1, a30, one, n30);
			snprintf(line, sizeof(line), "%s,lost", key);
			add_row(a, line, 1, al, one, nl);
			if (a->exact[r30] > 0) {
				size_t i;

				snprintf(line, sizeof(line), "%s,median_delay_seconds", key);
				i = add_row(a, line, 0, buf, one, 0);
				snprintf(a->value[i], sizeof(a->value[i]), "%d",
					 3600 + (int)rnd(90000));
				a->median[i] = 1;
				a->lower_of[i] = r30;
			}
		}
}

/* M2: municipalities and "*"; atoms (m, {one episode, repeat seen, repeat hidden, extra}). */
static void gen_m2(struct answer *a, size_t nm)
{
	static const char *const munis[] = {"Liepāja",	 "Klaipėda", "Rīga",
					    "Ventspils", "Kuldīga",  "Tukums"};
	size_t m, mm, k;

	memset(a, 0, sizeof(*a));
	a->measure = MEASURES_M2;
	a->nkeys = 1;
	a->natoms = nm * 4;
	for (k = 0; k < a->natoms; k++)
		a->atoms[k] = rnd_size() / (k % 4 == 2 ? 3 : 1);
	for (m = 0; m <= nm; m++) {
		size_t at[4][6 * 4], na = 0, ia[4 * 6];
		double cv[24], cr[24], ch[24], ce[24], cg[24];
		const char *key = m < nm ? munis[m] : "*";
		char line[128];
		size_t gap, i;

		for (mm = 0; mm < nm; mm++) {
			if (m < nm && mm != m)
				continue;
			for (k = 0; k < 4; k++) {
				ia[na] = mm * 4 + k;
				cv[na] = k < 3;		   /* victims */
				cr[na] = k == 1 || k == 2; /* repeat victims */
				ch[na] = k == 2;	   /* hidden repeats */
				ce[na] = k == 3 ? 1
					 : k	? 2
						: 0;   /* episodes: 2 per repeat + extra */
				cg[na] = k ? 1 : 0; /* gaps: episodes − repeat victims */
				na++;
			}
		}
		(void)at;
#define M2ROW(metric, c)                                                                           \
	do {                                                                                       \
		size_t ix[24], nn = 0;                                                             \
		double cc[24];                                                                     \
		for (i = 0; i < na; i++)                                                           \
			if (c[i] != 0) {                                                           \
				ix[nn] = ia[i];                                                    \
				cc[nn++] = c[i];                                                   \
			}                                                                          \
		snprintf(line, sizeof(line), "%s,%s", key, metric);                                \
		gap = add_row(a, line, 1, ix, cc, nn);                                             \
	} while (0)
		M2ROW("victims", cv);
		M2ROW("repeat_victims", cr);
		M2ROW("hidden_repeats", ch);
		M2ROW("repeat_victim_episodes", ce);
		M2ROW("gap_count", cg);
#undef M2ROW
		if (a->exact[gap] > 0) {
			snprintf(line, sizeof(line), "%s,gap_days_median", key);
			i = add_row(a, line, 0, ia, cv, 0);
			snprintf(a->value[i], sizeof(a->value[i]), "%d", 5 + (int)rnd(200));
			a->median[i] = 1;
			a->lower_of[i] = gap;
		}
	}
}

/* M5: outcomes; atoms (o, {observable and reoffended, observable only, not yet observable}). */
static void gen_m5(struct answer *a)
{
	static const char *const outcomes[] = {"completed", "dropped_out"};
	size_t o, k;

	memset(a, 0, sizeof(*a));
	a->measure = MEASURES_M5;
	a->nkeys = 1;
	a->natoms = 6;
	for (k = 0; k < a->natoms; k++)
		a->atoms[k] = rnd_size();
	for (o = 0; o < 2; o++) {
		size_t b = o * 3, all[3] = {b, b + 1, b + 2}, obs[2] = {b, b + 1}, ny = b + 2,
		       re = b, ir;
		double one[3] = {1, 1, 1};
		char line[128];

		snprintf(line, sizeof(line), "%s,perpetrators", outcomes[o]);
		add_row(a, line, 1, all, one, 3);
		snprintf(line, sizeof(line), "%s,observable", outcomes[o]);
		ir = add_row(a, line, 1, obs, one, 2);
		snprintf(line, sizeof(line), "%s,not_yet_observable", outcomes[o]);
		add_row(a, line, 1, &ny, one, 1);
		snprintf(line, sizeof(line), "%s,reoffended", outcomes[o]);
		add_row(a, line, 1, &re, one, 1);
		if (a->exact[ir] > 0) {
			size_t i;

			snprintf(line, sizeof(line), "%s,reoffended_share", outcomes[o]);
			i = add_row(a, line, 0, all, one, 0);
			snprintf(a->value[i], sizeof(a->value[i]), "%.6f",
				 (double)a->atoms[b] / (double)a->exact[ir]);
		}
	}
}

/* Releases the answer; writes each row's state. */
static struct release *do_release(struct answer *a)
{
	struct policy_disclosure d;
	struct release *r = NULL;
	size_t i;

	release_defaults(&d);
	assert_int_equal(release_new(a->measure, a->nkeys, &d, &r), CL_OK);
	for (i = 0; i < a->n; i++) {
		char buf[200], *cols[8], *save = NULL, *tok;
		size_t nc = 0;

		snprintf(buf, sizeof(buf), "%s,%s", a->line[i], a->value[i]);
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			cols[nc++] = tok;
		assert_int_equal(release_add(r, (const char *const *)cols, nc), CL_OK);
	}
	assert_int_equal(release_apply(r, NULL, NULL, NULL, NULL, 0), CL_OK);
	return r;
}

/*
 * The attacker: one column per atom (>= 0), one fixed row per published count, a row >= T per
 * count under a published median; min and max of every withheld count. Returns the number of
 * withheld counts whose interval is narrower than T (printing them).
 */
static size_t attack(const struct answer *a, const struct release *r, size_t *withheld)
{
	glp_prob *lp = glp_create_prob();
	glp_smcp sp;
	int *ind = malloc((MAXATOMS + 1) * sizeof(int));
	double *val = malloc((MAXATOMS + 1) * sizeof(double));
	size_t i, k, bad = 0;
	struct release_value v[MAXROWS];

	glp_init_smcp(&sp);
	sp.msg_lev = GLP_MSG_OFF;
	glp_add_cols(lp, (int)a->natoms);
	for (k = 0; k < a->natoms; k++)
		glp_set_col_bnds(lp, (int)k + 1, GLP_LO, 0, 0);
	*withheld = 0;
	for (i = 0; i < a->n; i++) {
		const char *const *keys;
		size_t nk;

		assert_int_equal(release_row(r, i, &keys, &nk, &v[i]), CL_OK);
	}
	for (i = 0; i < a->n; i++) {
		int row;
		size_t src = a->median[i] ? a->lower_of[i] : i;

		if (v[i].state == RELEASE_SUPPRESSED || (!a->count[i] && !a->median[i]))
			continue;
		if (a->count[i] && v[i].count != a->exact[i])
			fail_msg("%s released %lld, exact %lld", a->line[i], v[i].count,
				 a->exact[i]);
		for (k = 0; k < a->nt[src]; k++) {
			ind[k + 1] = (int)a->atom[src][k] + 1;
			val[k + 1] = a->coef[src][k];
		}
		row = glp_add_rows(lp, 1);
		glp_set_mat_row(lp, row, (int)a->nt[src], ind, val);
		if (a->median[i])
			glp_set_row_bnds(lp, row, GLP_LO, T, 0);
		else
			glp_set_row_bnds(lp, row, GLP_FX, (double)a->exact[i], (double)a->exact[i]);
	}
	for (i = 0; i < a->n; i++) {
		double lo, hi = 0;
		int unb = 0;

		if (!a->count[i] || v[i].state != RELEASE_SUPPRESSED)
			continue;
		(*withheld)++;
		for (k = 1; k <= a->natoms; k++)
			glp_set_obj_coef(lp, (int)k, 0);
		for (k = 0; k < a->nt[i]; k++)
			glp_set_obj_coef(lp, (int)a->atom[i][k] + 1, a->coef[i][k]);
		glp_set_obj_dir(lp, GLP_MIN);
		assert_int_equal(glp_simplex(lp, &sp), 0);
		assert_int_equal(glp_get_status(lp), GLP_OPT);
		lo = glp_get_obj_val(lp);
		glp_set_obj_dir(lp, GLP_MAX);
		assert_int_equal(glp_simplex(lp, &sp), 0);
		if (glp_get_status(lp) == GLP_UNBND)
			unb = 1;
		else
			hi = glp_get_obj_val(lp);
		if (!unb && hi - lo < T - 1e-6) {
			if (bad < 8)
				print_message("  %s (exact %lld) recoverable to [%.1f, %.1f]\n",
					      a->line[i], a->exact[i], lo, hi);
			bad++;
		}
	}
	glp_delete_prob(lp);
	free(ind);
	free(val);
	return bad;
}

/* The issue's case: police,Liepāja lost (5) withheld to protect received_30d (3). */
static void test_issue_case(void **state)
{
	struct answer *a = calloc(1, sizeof(*a));
	struct release *r;
	struct release_info info;
	size_t withheld, bad;
	/* atoms per (type, municipality): within 24 h, later within 30 days, lost */
	static const long long at[] = {1,  2,  5, /* police, Liepāja: received_30d 3, lost 5 */
				       10, 10, 0, /* police, Klaipėda: lost 0 */
				       6,  3,  3, 9, 2, 4};

	(void)state;
	rng_state = 1;
	gen_m3(a, 2, 2);
	/* Rebuild with the fixed atoms. */
	free_answer(a);
	memset(a, 0, sizeof(*a));
	{
		struct answer *b = calloc(1, sizeof(*b));

		rng_state = 1;
		gen_m3(b, 2, 2);
		free_answer(b);
		free(b);
	}
	/* gen_m3 draws the atoms first: set them, then recompute the rows. */
	rng_state = 1;
	gen_m3(a, 2, 2);
	for (size_t k = 0; k < 12; k++)
		a->atoms[k] = at[k];
	for (size_t i = 0; i < a->n; i++) {
		long long v = 0;

		for (size_t k = 0; k < a->nt[i]; k++)
			v += (long long)a->coef[i][k] * a->atoms[a->atom[i][k]];
		if (a->count[i]) {
			a->exact[i] = v;
			snprintf(a->value[i], sizeof(a->value[i]), "%lld", v);
		}
	}
	r = do_release(a);
	bad = attack(a, r, &withheld);
	release_get_info(r, &info);
	print_message(
	    "issue case: %zu withheld counts, %zu recoverable, %zu primary, %zu secondary "
	    "(joint check added %zu, published again %zu)\n",
	    withheld, bad, info.primary, info.secondary, info.joint_added, info.joint_pruned);
	assert_int_equal(bad, 0);
	release_free(r);
	free_answer(a);
	free(a);
}

static void run_random(const char *what, int measure, size_t runs)
{
	size_t run, total_bad = 0, withheld = 0, prim = 0, sec = 0, added = 0, pruned = 0;

	for (run = 0; run < runs; run++) {
		struct answer *a = calloc(1, sizeof(*a));
		struct release *r;
		struct release_info info;
		size_t w = 0;

		rng_state = 1000 + run * 7919 + (uint64_t)measure;
		if (measure == MEASURES_M3)
			gen_m3(a, 2 + rnd(4), 2 + rnd(4));
		else if (measure == MEASURES_M5)
			gen_m5(a);
		else
			gen_m2(a, 2 + rnd(5));
		r = do_release(a);
		total_bad += attack(a, r, &w);
		withheld += w;
		release_get_info(r, &info);
		prim += info.primary;
		sec += info.secondary;
		added += info.joint_added;
		pruned += info.joint_pruned;
		release_free(r);
		free_answer(a);
		free(a);
	}
	print_message(
	    "%s: %zu random answers, %zu withheld counts, %zu recoverable; primary %zu, "
	    "secondary %zu (per-table method alone: %zu; joint check added %zu, published "
	    "again %zu)\n",
	    what, runs, withheld, total_bad, prim, sec, sec + pruned - added, added, pruned);
	assert_int_equal(total_bad, 0);
}

static void test_random_m3(void **state)
{
	(void)state;
	run_random("M3", MEASURES_M3, 60);
}

static void test_random_m2(void **state)
{
	(void)state;
	run_random("M2", MEASURES_M2, 60);
}

static void test_random_m5(void **state)
{
	(void)state;
	run_random("M5", MEASURES_M5, 200);
}

/* ---- answers of the measure engine on synthetic federations ---- */

static size_t fed_record(void *ctx, const struct synthfed_record *r)
{
	struct measures_record mr = {0};
	size_t idx = 0;

	synthfed_measures_record(r, r->person, &mr);
	assert_int_equal(measures_add_record(ctx, &mr, &idx), 0);
	return idx;
}

static void fed_event(void *ctx, size_t record, const struct measures_event *e)
{
	assert_int_equal(measures_add_event(ctx, record, e), 0);
}

/* The engine's rows of one answer, "keys,metric" and the value apart. */
struct engine_rows {
	size_t n;
	char line[MAXROWS][128];
	char value[MAXROWS][32];
};

static int engine_emit(void *ctx, const char *const *cols, size_t ncols)
{
	struct engine_rows *e = ctx;
	size_t i, len = 0;

	assert_true(e->n < MAXROWS);
	for (i = 0; i + 1 < ncols; i++)
		len += (size_t)snprintf(e->line[e->n] + len, sizeof(e->line[0]) - len, "%s%s",
					i ? "," : "", cols[i]);
	assert_true(len < sizeof(e->line[0]));
	snprintf(e->value[e->n], sizeof(e->value[0]), "%s", cols[ncols - 1]);
	e->n++;
	return 0;
}

static const char *engine_find(const struct engine_rows *e, const char *key, const char *metric)
{
	char want[160];
	size_t i;

	snprintf(want, sizeof(want), "%.100s,%.50s", key, metric);
	for (i = 0; i < e->n; i++)
		if (!strcmp(e->line[i], want))
			return e->value[i];
	return NULL;
}

/* Splits "a,b" into its two keys. */
static void two_keys(const char *line, char *a, char *b, char *metric)
{
	const char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;

	assert_non_null(c2);
	snprintf(a, 64, "%.*s", (int)(c1 - line), line);
	snprintf(b, 64, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
	snprintf(metric, 64, "%s", c2 + 1);
}

/*
 * M3 of the engine as an answer over atoms: one atom triple per interior (type, municipality)
 * row; every row, margins included, must be the sum the definition says (asserted: the
 * attacker's model is the definition, and the engine follows it).
 */
static void m3_from_engine(const struct engine_rows *e, struct answer *a)
{
	char cells[64][2][64];
	size_t nc = 0, i, c;

	memset(a, 0, sizeof(*a));
	a->measure = MEASURES_M3;
	a->nkeys = 2;
	for (i = 0; i < e->n; i++) {
		char t[64], m[64], metric[64];

		two_keys(e->line[i], t, m, metric);
		if (strcmp(metric, "referrals") || !strcmp(t, "*") || !strcmp(m, "*"))
			continue;
		assert_true(nc < 64);
		snprintf(cells[nc][0], 64, "%s", t);
		snprintf(cells[nc][1], 64, "%s", m);
		{
			char key[200];

			snprintf(key, sizeof(key), "%s,%s", t, m);
			a->atoms[nc * 3] = atoll(engine_find(e, key, "received_24h"));
			a->atoms[nc * 3 + 1] =
			    atoll(engine_find(e, key, "received_30d")) - a->atoms[nc * 3];
			a->atoms[nc * 3 + 2] = atoll(engine_find(e, key, "lost"));
		}
		nc++;
	}
	a->natoms = nc * 3;
	for (i = 0; i < e->n; i++) {
		char t[64], m[64], metric[64];
		size_t at[3 * 64], nt = 0, r;
		double one[3 * 64];
		int kind = -1;

		two_keys(e->line[i], t, m, metric);
		if (!strcmp(metric, "referrals"))
			kind = 0;
		else if (!strcmp(metric, "received_24h"))
			kind = 1;
		else if (!strcmp(metric, "received_30d"))
			kind = 2;
		else if (!strcmp(metric, "lost"))
			kind = 3;
		for (c = 0; kind >= 0 && c < nc; c++) {
			if ((strcmp(t, "*") && strcmp(t, cells[c][0])) ||
			    (strcmp(m, "*") && strcmp(m, cells[c][1])))
				continue;
			if (kind == 0 || kind == 1 || kind == 2)
				at[nt++] = c * 3;
			if (kind == 0 || kind == 2)
				at[nt++] = c * 3 + 1;
			if (kind == 0 || kind == 3)
				at[nt++] = c * 3 + 2;
		}
		for (c = 0; c < nt; c++)
			one[c] = 1;
		r = add_row(a, e->line[i], kind >= 0, at, one, nt);
		if (kind >= 0) {
			if (strcmp(a->value[r], e->value[i]))
				fail_msg("%s: engine %s, definition %s", e->line[i], e->value[i],
					 a->value[r]);
		} else {
			snprintf(a->value[r], sizeof(a->value[r]), "%s", e->value[i]);
			if (!strncmp(metric, "median_delay", 12)) {
				char key[200];
				size_t j;

				a->median[r] = 1;
				snprintf(key, sizeof(key), "%s,%s,received_30d", t, m);
				for (j = 0; j < a->n && strcmp(a->line[j], key); j++)
					;
				assert_true(j < a->n);
				a->lower_of[r] = j;
			}
		}
	}
}

/* Days since 1970 of "YYYY-MM-DD". */
static int64_t day_of(const char *s)
{
	int y, mo, d;

	assert_int_equal(sscanf(s, "%d-%d-%d", &y, &mo, &d), 3);
	return cldate_days_from_civil(y, mo, d);
}

/*
 * Random periods on synthetic Liepāja–Klaipėda (and a three-municipality) federations, and the
 * issue's period [2025-03-17, 2025-10-12): M3 of the measure engine, released, attacked.
 * ATTACK_SHOW=NAME prints federation NAME's cells of the issue period with their reasons.
 */
static void test_federations_m3(void **state)
{
	static const char *const feds[][2] = {
	    {"attack-lk1", "--seed 11 --persons 800 --municipalities liepaja,klaipeda"},
	    {"attack-lk2", "--seed 12 --persons 1500 --municipalities liepaja,klaipeda"},
	    {"attack-lkr", "--seed 13 --persons 1500 --municipalities liepaja,klaipeda,riga"},
	    {"attack-default", "--seed 1"},
	};
	size_t f, p, bad = 0, withheld = 0, prim = 0, sec = 0, added = 0, pruned = 0, answers = 0;

	(void)state;
	rng_state = 99;
	for (f = 0; f < sizeof(feds) / sizeof(feds[0]); f++) {
		struct measures_input *in = NULL;
		struct synthfed_sink sink = {NULL, fed_record, fed_event, NULL};
		char dir[512];

		synthfed_generate(feds[f][0], feds[f][1], dir, sizeof(dir));
		assert_int_equal(measures_input_new(&in), 0);
		sink.ctx = in;
		synthfed_load(dir, &sink);
		for (p = 0; p < 6; p++) {
			struct engine_rows *e = calloc(1, sizeof(*e));
			struct answer *a = calloc(1, sizeof(*a));
			struct release *r;
			struct release_info info;
			int64_t from = day_of("2024-01-01") + rnd(500), to = from + 20 + rnd(350);
			size_t w = 0, b;

			if (p == 0) {
				from = day_of("2025-03-17");
				to = day_of("2025-10-12");
			}
			assert_int_equal(measures_compute(in, MEASURES_M3, from * 86400, to * 86400,
							  MEASURES_BY_QUARTER, engine_emit, e),
					 0);
			m3_from_engine(e, a);
			r = do_release(a);
			b = attack(a, r, &w);
			release_get_info(r, &info);
			if (p == 0 && getenv("ATTACK_SHOW") &&
			    !strcmp(getenv("ATTACK_SHOW"), feds[f][0])) {
				size_t i;

				for (i = 0; i < a->n; i++) {
					struct release_value v;
					const char *const *keys;
					size_t nk;

					release_row(r, i, &keys, &nk, &v);
					print_message("    %s %s %s\n", a->line[i], a->value[i],
						      v.state == RELEASE_SUPPRESSED ? v.reason
										    : "");
				}
			}
			if (b)
				print_message("  %s days %lld..%lld: %zu recoverable\n", feds[f][0],
					      (long long)from, (long long)to, b);
			bad += b;
			withheld += w;
			prim += info.primary;
			sec += info.secondary;
			added += info.joint_added;
			pruned += info.joint_pruned;
			answers++;
			release_free(r);
			free_answer(a);
			free(a);
			free(e);
		}
		measures_input_free(in);
	}
	print_message("M3 on %zu federation answers: %zu withheld counts, %zu recoverable; primary "
		      "%zu, secondary %zu (per-table method alone: %zu; joint check added %zu, "
		      "published again %zu)\n",
		      answers, withheld, bad, prim, sec, sec + pruned - added, added, pruned);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_issue_case),	   cmocka_unit_test(test_random_m3),
	    cmocka_unit_test(test_random_m2),	   cmocka_unit_test(test_random_m5),
	    cmocka_unit_test(test_federations_m3),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
