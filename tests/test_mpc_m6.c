/*
 * M6 children_affected under three-party secure computation (compute/mpc_m6) against the
 * plaintext reference engine (coordinator/measures.c), exactly, on hand-built edge cases
 * (every age band edge 3/4, 6/7, 9/10, 14/15, 17/18, 18+ and unknown, the first child event
 * deciding, the middle date of a range that straddles a band, records that disagree,
 * contradicting ages, consensus sex and its ties, highest threat level, unassessed) and on
 * generated federations with two periods each. The layout is built as the coordinator will
 * (tests/mpcfed.c); the birth intervals of each record are computed here as a node computes
 * them from its own events; P0 deals the shares.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cldate.h"
#include "common/vocab.h"
#include "compute/mpc_circuit.h"
#include "compute/mpc_measures.h"
#include "mpcfed.h"

#define DAY 86400

struct period {
	int64_t from, to;
};

static int in_period(const struct mpcfed_ev *e, const struct period *pd)
{
	return e->t >= pd->from && e->t < pd->to;
}

static int is_child(const struct mpcfed_ev *e, const struct period *pd)
{
	return e->role == VOCAB_ROLE_CHILD && in_period(e, pd);
}

/* The node's selection: child-role events and threat levels in the period. */
static int want(void *ctx, const struct mpcfed *f, size_t i)
{
	const struct period *pd = ctx;
	const struct mpcfed_ev *e = &f->evs[i];

	return is_child(e, pd) || (e->threat >= 0 && in_period(e, pd));
}

/* ---- what a node computes from its own rows ---- */

static int64_t days_of(int64_t t)
{
	return t >= 0 ? t / DAY : -((-t + DAY - 1) / DAY);
}

/* The UTC date of t as a key year·10000 + month·100 + day. */
static int64_t date_key(int64_t t)
{
	int y, m, d;

	cldate_civil_from_days(days_of(t), &y, &m, &d);
	return (int64_t)y * 10000 + m * 100 + d;
}

/* Day number of a key; a day past a month's end rolls over. */
static int64_t key_days(int64_t k)
{
	return cldate_days_from_civil((int)(k / 10000), (int)(k / 100 % 100), (int)(k % 100));
}

/* Day number of the last real date whose key is at most k. */
static int64_t last_real(int64_t k)
{
	int64_t d = key_days(k);
	int y, m, dd;

	cldate_civil_from_days(d, &y, &m, &dd);
	return (int64_t)y * 10000 + m * 100 + dd == k ? d : d - 1;
}

/* Each record's interval (lo, hi] of birth keys from its events' ages; known[r] when any. */
static void intervals(const struct mpcfed *f, int64_t *lo, int64_t *hi, uint8_t *known)
{
	for (size_t r = 0; r < f->nrec; r++) {
		lo[r] = INT64_MIN;
		hi[r] = INT64_MAX;
	}
	for (size_t i = 0; i < f->nev; i++) {
		const struct mpcfed_ev *e = &f->evs[i];
		int64_t k = date_key(e->t), year = k / 10000, md = k % 10000;

		if (e->age < 0)
			continue;
		if ((year - e->age - 1) * 10000 + md > lo[e->rec])
			lo[e->rec] = (year - e->age - 1) * 10000 + md;
		if ((year - e->age) * 10000 + md < hi[e->rec])
			hi[e->rec] = (year - e->age) * 10000 + md;
	}
	for (size_t r = 0; r < f->nrec; r++)
		known[r] = hi[r] != INT64_MAX && lo[r] < hi[r];
}

/* ---- the job ---- */

struct pbucket {
	uint64_t *t, *ekey, *tday, *lo, *hi, *dlo1, *dlo, *dhi;
	uint64_t *child, *threat, *rec, *sex, *known;
};

struct job {
	struct mpcfed_layout l;
	struct pbucket pb[MPC_MAX_BUCKETS];
	struct mpc_m6_counts out;
	uint64_t rounds;
};

static void fill_record(const struct mpcfed *f, struct pbucket *pb, size_t k, size_t W, uint32_t r,
			const int64_t *lo, const int64_t *hi, const uint8_t *known)
{
	mpcfed_setbit(pb->rec, k);
	if (f->recs[r].sex < 3)
		mpcfed_setbit(pb->sex + (size_t)f->recs[r].sex * W, k);
	if (!known[r])
		return;
	mpcfed_setbit(pb->known, k);
	pb->lo[k] = (uint64_t)lo[r];
	pb->hi[k] = (uint64_t)hi[r];
	pb->dlo1[k] = (uint64_t)key_days(lo[r] + 1);
	pb->dlo[k] = (uint64_t)key_days(lo[r]);
	pb->dhi[k] = (uint64_t)key_days(hi[r]);
}

static void fill_event(const struct mpcfed *f, struct pbucket *pb, size_t k, size_t n, size_t W,
		       const struct mpcfed_ev *e, const struct period *pd, int64_t base)
{
	static const int ages[MPC_M6_TDAYS] = {0, 4, 7, 10, 15, 18};

	(void)f;
	if (is_child(e, pd)) {
		int64_t key = date_key(e->t);

		pb->t[k] = (uint64_t)(e->t - base);
		mpcfed_setbit(pb->child, k);
		pb->ekey[k] = (uint64_t)key;
		for (size_t a = 0; a < MPC_M6_TDAYS; a++)
			pb->tday[a * n + k] = (uint64_t)last_real(key - ages[a] * 10000);
	}
	if (e->threat >= 0 && in_period(e, pd))
		mpcfed_setbit(pb->threat + (size_t)e->threat * W, k);
}

static void fill(const struct mpcfed *f, struct job *jb, const struct period *pd)
{
	int64_t *lo = calloc(f->nrec + 1, 8), *hi = calloc(f->nrec + 1, 8);
	uint8_t *known = calloc(f->nrec + 1, 1);

	assert_true(lo && hi && known);
	intervals(f, lo, hi, known);
	for (size_t b = 0; b < jb->l.nb; b++) {
		size_t n = (size_t)jb->l.shape[b].size * jb->l.shape[b].clusters;
		size_t W = mpc_words(n) ? mpc_words(n) : 1, na = n ? n : 1;
		struct pbucket *pb = &jb->pb[b];
		uint64_t **av[] = {&pb->t,    &pb->ekey, &pb->lo, &pb->hi,
				   &pb->dlo1, &pb->dlo,	 &pb->dhi};

		for (size_t i = 0; i < sizeof(av) / sizeof(av[0]); i++) {
			*av[i] = calloc(na, 8);
			assert_non_null(*av[i]);
		}
		pb->tday = calloc(MPC_M6_TDAYS * na, 8);
		pb->child = calloc(W, 8);
		pb->threat = calloc(3 * W, 8);
		pb->rec = calloc(W, 8);
		pb->sex = calloc(3 * W, 8);
		pb->known = calloc(W, 8);
		assert_true(pb->tday && pb->child && pb->threat && pb->rec && pb->sex && pb->known);
		for (size_t k = 0; k < n; k++) {
			const struct mpcfed_item *it = mpcfed_slot(&jb->l, b, k);

			pb->t[k] = MPC_T_NONE;
			if (it == NULL)
				continue;
			if (it->ev < 0)
				fill_record(f, pb, k, W, it->rec, lo, hi, known);
			else
				fill_event(f, pb, k, n, W, &f->evs[it->ev], pd, jb->l.base);
		}
	}
	free(lo);
	free(hi);
	free(known);
}

static void job_free(struct job *jb)
{
	for (size_t b = 0; b < jb->l.nb; b++) {
		struct pbucket *pb = &jb->pb[b];
		uint64_t *all[] = {pb->t,    pb->ekey, pb->tday, pb->lo,    pb->hi,
				   pb->dlo1, pb->dlo,  pb->dhi,	 pb->child, pb->threat,
				   pb->rec,  pb->sex,  pb->known};

		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			free(all[i]);
	}
	mpcfed_layout_free(&jb->l);
}

static void in_free(struct mpc_m6_bucket *in)
{
	struct mpc_a *a[] = {&in->t,  &in->ekey, &in->tday, &in->lo,
			     &in->hi, &in->dlo1, &in->dlo,  &in->dhi};
	struct mpc_b *bb[] = {&in->child, &in->threat, &in->rec, &in->sex, &in->known};

	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		mpc_a_free(a[i]);
	for (size_t i = 0; i < sizeof(bb) / sizeof(bb[0]); i++)
		mpc_b_free(bb[i]);
}

static int deal(struct mpc_party *p, int me, const struct pbucket *pb, size_t n,
		struct mpc_m6_bucket *in)
{
	const uint64_t *av[] = {pb->t, pb->ekey, pb->lo, pb->hi, pb->dlo1, pb->dlo, pb->dhi};
	struct mpc_a *ao[] = {&in->t, &in->ekey, &in->lo, &in->hi, &in->dlo1, &in->dlo, &in->dhi};
	const uint64_t *bv[] = {pb->child, pb->threat, pb->rec, pb->sex, pb->known};
	struct mpc_b *bo[] = {&in->child, &in->threat, &in->rec, &in->sex, &in->known};
	static const size_t bplanes[] = {1, 3, 1, 3, 1};
	size_t W = mpc_words(n);
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(av) / sizeof(av[0]); i++)
		rc = mpc_a_input(p, 0, me ? av[i] : NULL, n, ao[i]);
	if (rc == 0)
		rc = mpc_a_input(p, 0, me ? pb->tday : NULL, MPC_M6_TDAYS * n, &in->tday);
	for (size_t i = 0; rc == 0 && i < sizeof(bv) / sizeof(bv[0]); i++)
		rc = mpc_b_input(p, 0, me ? bv[i] : NULL, bplanes[i] * W, bo[i]);
	return rc;
}

static int party_main(struct mpc_net *net, void *ctx)
{
	struct job *jb = ctx;
	struct mpc_m6_bucket in[MPC_MAX_BUCKETS];
	struct mpc_party *p = NULL;
	int rc = mpc_party_new(&p, net), me;

	memset(in, 0, sizeof(in));
	me = rc == 0 && mpc_party_self(p) == 0;
	for (size_t b = 0; rc == 0 && b < jb->l.nb; b++)
		rc = deal(p, me, &jb->pb[b], (size_t)jb->l.shape[b].size * jb->l.shape[b].clusters,
			  &in[b]);
	if (rc == 0)
		rc = mpc_m6(p, jb->l.shape, jb->l.nb, in, me ? &jb->out : NULL);
	if (rc == 0 && me)
		jb->rounds = mpc_party_rounds(p);
	for (size_t b = 0; b < MPC_MAX_BUCKETS; b++)
		in_free(&in[b]);
	mpc_party_free(p);
	return rc;
}

/* When not NULL, compare records what each party receives here. */
static struct mpcfed_capture *capture_to;

/* Runs both engines over [from, to) and asserts the same grid; returns the children. */
static uint64_t compare(struct mpcfed *f, int64_t from, int64_t to)
{
	static const char *const metrics[] = {"children", NULL};
	static const char *const bands[] = {"0-3",   "4-6", "7-9",    "10-14",
					    "15-17", "18+", "unknown"};
	static const char *const sexes[] = {"F", "M", "X", "U"};
	static const char *const threats[] = {"0", "1", "2", "unassessed"};
	struct period pd = {from, to};
	struct synthfed_rows got = {0};
	struct job *jb = calloc(1, sizeof(*jb));
	uint64_t children;
	char key[64];

	assert_non_null(jb);
	mpcfed_layout(f, want, &pd, 1, &jb->l);
	fill(f, jb, &pd);
	if (capture_to)
		mpcfed_run_capture(party_main, jb, capture_to);
	else
		mpcfed_run(party_main, jb);
	mpcfed_add(&got, "*,*,*", "children", jb->out.children);
	for (size_t b = 0; b < MPC_M6_BANDS; b++)
		for (size_t x = 0; x < MPC_M6_SEXES; x++)
			for (size_t l = 0; l < MPC_M6_THREATS; l++) {
				snprintf(key, sizeof key, "%s,%s,%s", bands[b], sexes[x],
					 threats[l]);
				mpcfed_add(&got, key, "children", jb->out.grid[b][x][l]);
			}
	printf("M6: %zu slots, %zu buckets, %llu rounds, %llu children\n", jb->l.nitems, jb->l.nb,
	       (unsigned long long)jb->rounds, (unsigned long long)jb->out.children);
	mpcfed_compare(f, MEASURES_M6, from, to, metrics, &got, "M6 secure vs reference");
	children = jb->out.children;
	job_free(jb);
	free(jb);
	synthfed_rows_free(&got);
	return children;
}

/* An event with its age, threat level and role. */
static void cev(struct mpcfed *f, size_t rec, const char *type, int64_t t, const char *role,
		int threat, int age)
{
	struct measures_event e = {0};

	e.event_type = type;
	e.occurred_at = t;
	e.role = role;
	e.child_threat_level = threat;
	e.age_years = age;
	mpcfed_event(f, rec, &e);
}

/* A child with one record and one child-role event at t, aged age, with a threat level. */
static size_t kid(struct mpcfed *f, uint32_t person, char sex, int64_t t, int age, int threat)
{
	size_t r =
	    mpcfed_record(f, 5, person, "lv-liepaja-child-rights", "child_rights", "Liepāja", sex);

	cev(f, r, "child_threat_assessment", t, "child", threat, age);
	return r;
}

static void test_edges(void **state)
{
	struct mpcfed *f = mpcfed_new();
	int64_t from = mpcfed_at(2025, 1, 1, 0, 0, 0), to = mpcfed_at(2026, 1, 1, 0, 0, 0);
	int64_t t0 = mpcfed_at(2025, 3, 10, 9, 0, 0);
	static const int edge_ages[] = {3, 4, 6, 7, 9, 10, 14, 15, 17, 18, 40, -1};
	uint32_t id = 1;
	size_t a, b, c;

	(void)state;
	/* every band edge, each with another sex and threat level */
	for (size_t i = 0; i < sizeof(edge_ages) / sizeof(edge_ages[0]); i++, id++)
		kid(f, id, "FMXU"[i % 4], t0 + (int64_t)i * DAY, edge_ages[i], (int)(i % 4) - 1);
	/* highest threat: 0 then 2; 1 recorded in the victim role; one before the period */
	a = kid(f, id, 'F', t0, 5, 0);
	cev(f, a, "child_threat_assessment", t0 + 9 * DAY, "child", 2, 5);
	a = kid(f, ++id, 'M', t0, 11, -1);
	cev(f, a, "police_callout", t0 + DAY, "victim", 1, 11);
	a = kid(f, ++id, 'F', t0, 12, -1);
	cev(f, a, "child_threat_assessment", from - DAY, "child", 2, 12);
	/* the first child event decides: 6 in February, 7 by November */
	a = kid(f, ++id, 'F', mpcfed_at(2025, 2, 1, 8, 0, 0), 6, -1);
	cev(f, a, "child_welfare_case_opened", mpcfed_at(2025, 11, 1, 8, 0, 0), "child", -1, 7);
	/* 17 at the first event, 18 later */
	a = kid(f, ++id, 'M', mpcfed_at(2025, 2, 1, 8, 0, 0), 17, 1);
	cev(f, a, "child_welfare_case_opened", mpcfed_at(2025, 11, 1, 8, 0, 0), "child", -1, 18);
	/* consensus sex: F, M, M -> M; F, M -> F; X, X, F -> X; U, U -> U */
	a = kid(f, ++id, 'F', t0, 8, -1);
	mpcfed_record(f, 1, id, "lv-liepaja-police", "police", "Liepāja", 'M');
	mpcfed_record(f, 2, id, "lv-liepaja-health", "health", "Liepāja", 'M');
	a = kid(f, ++id, 'M', t0, 8, -1);
	mpcfed_record(f, 1, id, "lv-liepaja-police", "police", "Liepāja", 'F');
	a = kid(f, ++id, 'F', t0, 8, 0);
	mpcfed_record(f, 1, id, "lv-liepaja-police", "police", "Liepāja", 'X');
	mpcfed_record(f, 2, id, "lv-liepaja-health", "health", "Liepāja", 'X');
	a = kid(f, ++id, 'U', t0, 8, 0);
	mpcfed_record(f, 1, id, "lv-liepaja-police", "police", "Liepāja", 'U');
	/*
	 * the middle date: the only age is 3 on 2024-07-10 (birth in (2020-07-10, 2021-07-10]);
	 * on 2025-03-01 that range holds ages 3 and 4, its middle (2021-01-09) 4; on 2025-01-05
	 * the middle gives 3
	 */
	for (int k = 0; k < 2; k++) {
		a = mpcfed_record(f, 1, ++id, "lv-liepaja-police", "police", "Liepāja", 'F');
		b = mpcfed_record(f, 5, id, "lv-liepaja-child-rights", "child_rights", "Liepāja",
				  'F');
		cev(f, a, "police_callout", mpcfed_at(2024, 7, 10, 20, 0, 0), "child", -1, 3);
		cev(f, b, "child_threat_assessment",
		    k ? mpcfed_at(2025, 1, 5, 10, 0, 0) : mpcfed_at(2025, 3, 1, 10, 0, 0), "child",
		    1, -1);
	}
	/* records that disagree: two agree on 9 (narrowed), one says 8; the most cover wins */
	a = mpcfed_record(f, 1, ++id, "lv-liepaja-police", "police", "Liepāja", 'M');
	b = mpcfed_record(f, 5, id, "lv-liepaja-child-rights", "child_rights", "Liepāja", 'M');
	c = mpcfed_record(f, 2, id, "lv-liepaja-health", "health", "Liepāja", 'M');
	cev(f, b, "child_threat_assessment", mpcfed_at(2025, 2, 1, 10, 0, 0), "child", 0, 8);
	cev(f, a, "police_callout", mpcfed_at(2025, 3, 1, 10, 0, 0), "child", -1, 9);
	cev(f, c, "medical_injury", mpcfed_at(2025, 6, 1, 10, 0, 0), "child", -1, 9);
	/* two records that do not overlap at all: the earlier (older) range wins the tie */
	a = mpcfed_record(f, 1, ++id, "lv-liepaja-police", "police", "Liepāja", 'F');
	b = mpcfed_record(f, 5, id, "lv-liepaja-child-rights", "child_rights", "Liepāja", 'F');
	cev(f, b, "child_threat_assessment", mpcfed_at(2025, 4, 1, 10, 0, 0), "child", 2, 14);
	cev(f, a, "police_callout", mpcfed_at(2025, 4, 1, 10, 0, 0), "child", -1, 16);
	/* contradicting ages in one record: unknown */
	a = kid(f, ++id, 'F', mpcfed_at(2025, 3, 1, 10, 0, 0), 5, -1);
	cev(f, a, "child_welfare_case_opened", mpcfed_at(2025, 4, 1, 10, 0, 0), "child", -1, 9);
	/* not children of the period: a child event before it; a threat level in a victim role */
	a = kid(f, ++id, 'F', from - 10 * DAY, 6, 1);
	a = mpcfed_record(f, 1, ++id, "lv-liepaja-police", "police", "Liepāja", 'F');
	cev(f, a, "police_callout", t0, "victim", 2, 30);
	(void)c;
	assert_int_equal(compare(f, from, to), id - 2);
	/* another period: [2025-03-05, 2025-12-01) */
	compare(f, mpcfed_at(2025, 3, 5, 0, 0, 0), mpcfed_at(2025, 12, 1, 0, 0, 0));
	mpcfed_free(f);
}

/* 30 children of two records and two events each; values (ages, sexes, threats) vary with v. */
static struct mpcfed *uniform_fed(int v)
{
	struct mpcfed *f = mpcfed_new();
	int64_t t0 = mpcfed_at(2025, 2, 1, 12, 0, 0) + v * 5 * DAY;

	for (uint32_t i = 0; i < 30; i++) {
		size_t a =
		    kid(f, i, "FMXU"[(i + (uint32_t)v) % 4], t0 + i * DAY,
			(int)((i * 3 + (uint32_t)v * 5) % 20), (int)((i + (uint32_t)v) % 4) - 1);
		size_t b = mpcfed_record(f, 1, i, "lv-liepaja-police", "police", "Liepāja",
					 "MFUX"[(i + (uint32_t)v) % 4]);

		(void)a;
		cev(f, b, "police_callout", t0 + (i + 3) * DAY, "child", (int)(i % 3),
		    (int)((i * 3 + (uint32_t)v * 5) % 20));
	}
	return f;
}

/*
 * Privacy: what each computing party receives during M6 is uniformly random, recurs in no
 * second run of the same query, and follows the same message pattern for another
 * federation of the same shape.
 */
static void test_privacy(void **state)
{
	struct mpcfed_capture a = {0}, b = {0}, c = {0};
	struct mpcfed *f = uniform_fed(0), *g = uniform_fed(1);
	int64_t from = mpcfed_at(2025, 1, 1, 0, 0, 0), to = mpcfed_at(2026, 1, 1, 0, 0, 0);

	(void)state;
	capture_to = &a;
	compare(f, from, to);
	capture_to = &b;
	compare(f, from, to);
	capture_to = &c;
	compare(g, from, to);
	capture_to = NULL;
	for (unsigned party = 1; party < MPC_PARTIES; party++) {
		mpcfed_capture_check(&a, &b, party);
		mpcfed_capture_check(&a, &c, party);
	}
	mpcfed_capture_free(&a);
	mpcfed_capture_free(&b);
	mpcfed_capture_free(&c);
	mpcfed_free(f);
	mpcfed_free(g);
}

/* ---- generated federations ---- */

static void run_synth(const char *name, const char *args)
{
	struct mpcfed *f = mpcfed_new();
	int64_t from, to;

	mpcfed_load_synth(f, name, args, &from, &to);
	assert_true(compare(f, from, to) > 50);
	compare(f, from + 40 * DAY, from + 220 * DAY);
	mpcfed_free(f);
}

static void test_synth_two_countries(void **state)
{
	(void)state;
	run_synth("mpc-m6-a", "--seed 51 --persons 1500 --municipalities liepaja,klaipeda");
}

static void test_synth_three(void **state)
{
	(void)state;
	run_synth("mpc-m6-b", "--seed 52 --persons 1200 --municipalities liepaja,klaipeda,tukums");
}

static void test_synth_one(void **state)
{
	(void)state;
	run_synth("mpc-m6-c", "--seed 53 --persons 700 --municipalities tukums --years 2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_privacy),
	    cmocka_unit_test(test_synth_two_countries),
	    cmocka_unit_test(test_synth_three),
	    cmocka_unit_test(test_synth_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
