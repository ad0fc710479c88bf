/*
 * M4 service_uptake under three-party secure computation (compute/mpc_m4) against the
 * plaintext reference engine (coordinator/measures.c), exactly, on hand-built edge cases
 * (30 days exactly and + 1 s, ties, first incident, any role, after the period) and on
 * generated federations with two periods each. The layout is built as the coordinator will
 * (tests/mpcfed.c); P0 deals the shares, as a node's input will arrive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/vocab.h"
#include "compute/mpc_circuit.h"
#include "compute/mpc_measures.h"
#include "mpcfed.h"

#define D30 (30 * 86400)

struct period {
	int64_t from, to;
};

static int is_support(int type)
{
	return type >= VOCAB_EV_INTAKE && type <= VOCAB_EV_CHILD_WELFARE_CASE_OPENED;
}

static int is_police(const struct mpcfed_ev *e, const struct period *pd)
{
	return (e->type == VOCAB_EV_POLICE_CALLOUT || e->type == VOCAB_EV_CRIME_REPORT) &&
	       e->role == VOCAB_ROLE_VICTIM && e->t >= pd->from && e->t < pd->to;
}

/* The node's selection: in-period victim police incidents, support events that can count. */
static int want(void *ctx, const struct mpcfed *f, size_t i)
{
	const struct period *pd = ctx;
	const struct mpcfed_ev *e = &f->evs[i];

	return is_police(e, pd) ||
	       (is_support(e->type) && e->t >= pd->from && e->t <= pd->to + D30);
}

/* Plaintext inputs of one bucket, dealt by P0. */
struct pbucket {
	uint64_t *t, *police, *support, *muni;
};

struct job {
	struct mpcfed_layout l;
	struct pbucket pb[MPC_MAX_BUCKETS];
	size_t nmunis;
	struct mpc_m4_counts out[MPCFED_MAXMUNI];
	uint64_t rounds;
};

static void fill(struct mpcfed *f, struct job *jb, const struct period *pd)
{
	for (size_t b = 0; b < jb->l.nb; b++) {
		size_t n = (size_t)jb->l.shape[b].size * jb->l.shape[b].clusters;
		size_t W = mpc_words(n) ? mpc_words(n) : 1;
		struct pbucket *pb = &jb->pb[b];

		pb->t = calloc(n ? n : 1, 8);
		pb->police = calloc(W, 8);
		pb->support = calloc(MPC_M4_NSUPPORT * W, 8);
		pb->muni = calloc(MPCFED_MAXMUNI * W, 8);
		assert_true(pb->t && pb->police && pb->support && pb->muni);
		for (size_t k = 0; k < n; k++) {
			const struct mpcfed_item *it = mpcfed_slot(&jb->l, b, k);
			const struct mpcfed_ev *e;

			pb->t[k] = MPC_T_NONE;
			if (it == NULL)
				continue;
			e = &f->evs[it->ev];
			pb->t[k] = (uint64_t)(e->t - jb->l.base);
			if (is_police(e, pd)) {
				mpcfed_setbit(pb->police, k);
				mpcfed_setbit(pb->muni + mpcfed_muni(f, e->muni) * W, k);
			} else {
				mpcfed_setbit(pb->support + (size_t)(e->type - VOCAB_EV_INTAKE) * W,
					      k);
			}
		}
	}
	if (f->nmunis == 0)
		mpcfed_muni(f, "none");
	jb->nmunis = f->nmunis;
}

static void job_free(struct job *jb)
{
	for (size_t b = 0; b < jb->l.nb; b++) {
		free(jb->pb[b].t);
		free(jb->pb[b].police);
		free(jb->pb[b].support);
		free(jb->pb[b].muni);
	}
	mpcfed_layout_free(&jb->l);
}

static int party_main(struct mpc_net *net, void *ctx)
{
	struct job *jb = ctx;
	struct mpc_m4_bucket in[MPC_MAX_BUCKETS];
	struct mpc_party *p = NULL;
	int rc = mpc_party_new(&p, net), me;

	memset(in, 0, sizeof(in));
	me = rc == 0 && mpc_party_self(p) == 0;
	for (size_t b = 0; rc == 0 && b < jb->l.nb; b++) {
		const struct pbucket *pb = &jb->pb[b];
		size_t n = (size_t)jb->l.shape[b].size * jb->l.shape[b].clusters, W = mpc_words(n);

		rc = mpc_a_input(p, 0, me ? pb->t : NULL, n, &in[b].t);
		if (rc == 0)
			rc = mpc_b_input(p, 0, me ? pb->police : NULL, W, &in[b].police);
		if (rc == 0)
			rc = mpc_b_input(p, 0, me ? pb->support : NULL, MPC_M4_NSUPPORT * W,
					 &in[b].support);
		if (rc == 0)
			rc = mpc_b_input(p, 0, me ? pb->muni : NULL, jb->nmunis * W, &in[b].muni);
	}
	if (rc == 0)
		rc = mpc_m4(p, jb->l.shape, jb->l.nb, jb->nmunis, in, me ? jb->out : NULL);
	if (rc == 0 && me)
		jb->rounds = mpc_party_rounds(p);
	for (size_t b = 0; b < MPC_MAX_BUCKETS; b++) {
		mpc_a_free(&in[b].t);
		mpc_b_free(&in[b].police);
		mpc_b_free(&in[b].support);
		mpc_b_free(&in[b].muni);
	}
	mpc_party_free(p);
	return rc;
}

static void add_counts(struct synthfed_rows *r, const char *muni, const struct mpc_m4_counts *c)
{
	char key[256];

	for (size_t k = 0; k <= MPC_M4_NSUPPORT; k++) {
		snprintf(key, sizeof key, "%s,%s", muni,
			 k ? vocab_name(VOCAB_EVENT_TYPE, VOCAB_EV_INTAKE + k - 1) : "any");
		mpcfed_add(r, key, "victims", c->victims);
		mpcfed_add(r, key, "with_support", c->with_support[k]);
	}
}

/* When not NULL, compare records what each party receives here. */
static struct mpcfed_capture *capture_to;

/* Runs both engines over [from, to) and asserts the same counts; returns the victims. */
static uint64_t compare(struct mpcfed *f, int64_t from, int64_t to)
{
	static const char *const metrics[] = {"victims", "with_support", NULL};
	struct period pd = {from, to};
	struct synthfed_rows got = {0};
	struct mpc_m4_counts all = {0};
	struct job *jb = calloc(1, sizeof(*jb));

	assert_non_null(jb);
	mpcfed_layout(f, want, &pd, 0, &jb->l);
	fill(f, jb, &pd);
	if (capture_to)
		mpcfed_run_capture(party_main, jb, capture_to);
	else
		mpcfed_run(party_main, jb);
	for (size_t m = 0; m < jb->nmunis; m++) {
		if (jb->out[m].victims == 0)
			continue;
		add_counts(&got, f->munis[m], &jb->out[m]);
		all.victims += jb->out[m].victims;
		for (size_t k = 0; k <= MPC_M4_NSUPPORT; k++)
			all.with_support[k] += jb->out[m].with_support[k];
	}
	add_counts(&got, "*", &all);
	printf("M4: %zu slots, %zu buckets, %llu rounds, %llu victims, %llu with support\n",
	       jb->l.nitems, jb->l.nb, (unsigned long long)jb->rounds,
	       (unsigned long long)all.victims, (unsigned long long)all.with_support[0]);
	mpcfed_compare(f, MEASURES_M4, from, to, metrics, &got, "M4 secure vs reference");
	job_free(jb);
	free(jb);
	synthfed_rows_free(&got);
	return all.victims;
}

/*
 * Edge cases by hand: support exactly 30 days after the first police incident counts, + 1 s
 * does not; support at t0 counts, one second before does not; the first incident decides
 * (window and municipality), a tie at two agencies goes to the first agency id; a support
 * event in another role and one after the period count; perpetrator and health incidents
 * make no victim; a police incident before the period is not the first.
 */
static void test_edges(void **state)
{
	struct mpcfed *f = mpcfed_new();
	int64_t t0 = mpcfed_at(2025, 3, 1, 22, 0, 0), from = mpcfed_at(2025, 1, 1, 0, 0, 0);
	int64_t to = mpcfed_at(2026, 1, 1, 0, 0, 0);
	size_t a, b, c;

	(void)state;
	/* person 1: counselling at exactly 30 days counts, legal aid at 30 days + 1 s does not */
	a = mpcfed_record(f, 0, 1, "lv-liepaja-police", "police", "Liepāja", 'F');
	b = mpcfed_record(f, 1, 1, "lv-liepaja-ngo", "ngo", "Liepāja", 'F');
	mpcfed_ev(f, a, "police_callout", t0, "victim", NULL);
	mpcfed_ev(f, b, "counselling", t0 + D30, "victim", NULL);
	mpcfed_ev(f, b, "legal_aid", t0 + D30 + 1, "victim", NULL);
	/* person 2: intake at t0 counts, psychologist 1 s before does not */
	a = mpcfed_record(f, 0, 2, "lv-liepaja-police", "police", "Liepāja", 'F');
	b = mpcfed_record(f, 2, 2, "lv-liepaja-social-services", "social_services", "Liepāja", 'F');
	mpcfed_ev(f, a, "crime_report", t0, "victim", NULL);
	mpcfed_ev(f, b, "intake", t0, "victim", NULL);
	mpcfed_ev(f, b, "psychologist", t0 - 1, "victim", NULL);
	/* person 3: two incidents; support 40 days after the first (10 after the second) */
	a = mpcfed_record(f, 0, 3, "lv-liepaja-police", "police", "Liepāja", 'F');
	b = mpcfed_record(f, 1, 3, "lv-liepaja-ngo", "ngo", "Liepāja", 'F');
	mpcfed_ev(f, a, "police_callout", t0 + 30 * 86400, "victim", "Tukums");
	mpcfed_ev(f, a, "police_callout", t0, "victim", NULL);
	mpcfed_ev(f, b, "shelter_admission", t0 + 40 * 86400, "victim", NULL);
	/* person 4: a tie at two agencies, Klaipėda's id sorts first; support as a child */
	a = mpcfed_record(f, 2, 4, "lv-liepaja-police", "police", "Liepāja", 'F');
	c = mpcfed_record(f, 3, 4, "lt-klaipeda-police", "police", "Klaipėda", 'F');
	b = mpcfed_record(f, 1, 4, "lv-liepaja-ngo", "ngo", "Liepāja", 'F');
	mpcfed_ev(f, a, "police_callout", t0, "victim", NULL);
	mpcfed_ev(f, c, "police_callout", t0, "victim", NULL);
	mpcfed_ev(f, b, "crisis_intervention", t0 + 86400, "child", NULL);
	mpcfed_ev(f, b, "child_welfare_case_opened", t0 + 2 * 86400, "perpetrator", NULL);
	/* person 5: incident on the last day of the period, shelter exit 20 days later */
	a = mpcfed_record(f, 0, 5, "lv-liepaja-police", "police", "Liepāja", 'F');
	b = mpcfed_record(f, 1, 5, "lv-liepaja-ngo", "ngo", "Liepāja", 'F');
	mpcfed_ev(f, a, "crime_report", to - 3600, "victim", NULL);
	mpcfed_ev(f, b, "shelter_exit", to - 3600 + 20 * 86400, "victim", NULL);
	/* person 6: perpetrator call-out and a medical injury: no victim (support ignored) */
	a = mpcfed_record(f, 0, 6, "lv-liepaja-police", "police", "Liepāja", 'M');
	b = mpcfed_record(f, 3, 6, "lv-liepaja-health", "health", "Liepāja", 'M');
	mpcfed_ev(f, a, "police_callout", t0, "perpetrator", NULL);
	mpcfed_ev(f, b, "medical_injury", t0, "victim", NULL);
	mpcfed_ev(f, b, "counselling", t0, "victim", NULL);
	/* person 7: a call-out before the period, the first in-period one a month later */
	a = mpcfed_record(f, 0, 7, "lv-liepaja-police", "police", "Liepāja", 'F');
	b = mpcfed_record(f, 1, 7, "lv-liepaja-ngo", "ngo", "Liepāja", 'F');
	mpcfed_ev(f, a, "police_callout", from - 86400, "victim", NULL);
	mpcfed_ev(f, b, "counselling", from + 10 * 86400, "victim", NULL);
	mpcfed_ev(f, a, "police_callout", from + 20 * 86400, "victim", "Tukums");
	mpcfed_ev(f, b, "legal_aid", from + 21 * 86400, "victim", NULL);
	/* person 8: a victim with no support at all, in a cluster of one */
	a = mpcfed_record(f, 0, 8, "lv-liepaja-police", "police", "Liepāja", 'F');
	mpcfed_ev(f, a, "police_callout", t0, "victim", NULL);
	assert_int_equal(compare(f, from, to), 7);
	/* the same federation, another period: person 5's incident and person 7's before it */
	compare(f, mpcfed_at(2025, 2, 1, 0, 0, 0), mpcfed_at(2026, 2, 1, 0, 0, 0));
	mpcfed_free(f);
}

/* 40 victims of one police incident and one support event each; values vary with v. */
static struct mpcfed *uniform_fed(int v)
{
	struct mpcfed *f = mpcfed_new();
	int64_t t0 = mpcfed_at(2025, 2, 1, 12, 0, 0) + v * 7 * 86400;

	for (uint32_t i = 0; i < 40; i++) {
		size_t a = mpcfed_record(f, 0, i, "lv-liepaja-police", "police", "Liepāja", 'F');
		size_t b = mpcfed_record(f, 1, i, "lv-liepaja-ngo", "ngo", "Liepāja", 'F');

		mpcfed_ev(f, a, "police_callout", t0 + i * 86400, "victim",
			  i % 3 ? NULL : "Tukums");
		mpcfed_ev(f, b, vocab_name(VOCAB_EVENT_TYPE, VOCAB_EV_INTAKE + (i + v) % 8),
			  t0 + i * 86400 + (int64_t)((i * 7 + v * 11) % 40) * 86400, "victim",
			  NULL);
	}
	return f;
}

/*
 * Privacy: what each computing party receives during M4 is uniformly random, recurs in no
 * second run of the same query, and follows the same message pattern for another
 * federation of the same shape; only P0 learns the table (the others pass NULL).
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
	/* a second period: half a year, different boundaries */
	compare(f, from + 40 * 86400, from + 220 * 86400);
	mpcfed_free(f);
}

static void test_synth_two_countries(void **state)
{
	(void)state;
	run_synth("mpc-m4-a", "--seed 31 --persons 900 --municipalities liepaja,klaipeda");
}

static void test_synth_three(void **state)
{
	(void)state;
	run_synth("mpc-m4-b", "--seed 32 --persons 1200 --municipalities liepaja,klaipeda,tukums");
}

static void test_synth_one(void **state)
{
	(void)state;
	run_synth("mpc-m4-c", "--seed 33 --persons 700 --municipalities tukums --years 2");
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
