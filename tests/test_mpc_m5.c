/*
 * M5 programme_outcomes under three-party secure computation (compute/mpc_m5) against the
 * plaintext reference engine (coordinator/measures.c), exactly, on hand-built edge cases
 * (365 days exactly and + 1 s, observable when end + 365 d < to, both outcome groups, the
 * earliest end, chained episodes) and on generated federations with two periods each. The layout is
 * built as the coordinator will (tests/mpcfed.c); P0 deals the shares, as a node's input will
 * arrive.
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

#define D365 (365 * 86400)
#define H72  (72 * 3600)

struct period {
	int64_t from, to;
};

static int is_end(const struct mpcfed_ev *e, const struct period *pd)
{
	return (e->type == VOCAB_EV_PROGRAMME_COMPLETED || e->type == VOCAB_EV_PROGRAMME_DROPPED) &&
	       e->t >= pd->from && e->t < pd->to;
}

static int is_perp(const struct mpcfed_ev *e)
{
	return e->type <= VOCAB_EV_NGO_DISCLOSURE && e->role == VOCAB_ROLE_PERPETRATOR;
}

/* The node's selection: in-period ends, perpetrator incidents in [from − 72 h, to). */
static int want(void *ctx, const struct mpcfed *f, size_t i)
{
	const struct period *pd = ctx;
	const struct mpcfed_ev *e = &f->evs[i];

	return is_end(e, pd) || (is_perp(e) && e->t >= pd->from - H72 && e->t < pd->to);
}

/* Plaintext inputs of one bucket, dealt by P0. */
struct pbucket {
	uint64_t *t, *perp, *end;
};

struct job {
	struct mpcfed_layout l;
	struct pbucket pb[MPC_MAX_BUCKETS];
	uint32_t to;
	struct mpc_m5_counts out[2];
	uint64_t rounds;
};

static void fill(struct mpcfed *f, struct job *jb, const struct period *pd)
{
	jb->to = (uint32_t)(pd->to - jb->l.base);
	for (size_t b = 0; b < jb->l.nb; b++) {
		size_t n = (size_t)jb->l.shape[b].size * jb->l.shape[b].clusters;
		size_t W = mpc_words(n) ? mpc_words(n) : 1;
		struct pbucket *pb = &jb->pb[b];

		pb->t = calloc(n ? n : 1, 8);
		pb->perp = calloc(W, 8);
		pb->end = calloc(2 * W, 8);
		assert_true(pb->t && pb->perp && pb->end);
		for (size_t k = 0; k < n; k++) {
			const struct mpcfed_item *it = mpcfed_slot(&jb->l, b, k);
			const struct mpcfed_ev *e;

			pb->t[k] = MPC_T_NONE;
			if (it == NULL)
				continue;
			e = &f->evs[it->ev];
			pb->t[k] = (uint64_t)(e->t - jb->l.base);
			if (is_perp(e))
				mpcfed_setbit(pb->perp, k);
			else if (is_end(e, pd))
				mpcfed_setbit(
				    pb->end + (e->type == VOCAB_EV_PROGRAMME_DROPPED ? W : 0), k);
		}
	}
}

static void job_free(struct job *jb)
{
	for (size_t b = 0; b < jb->l.nb; b++) {
		free(jb->pb[b].t);
		free(jb->pb[b].perp);
		free(jb->pb[b].end);
	}
	mpcfed_layout_free(&jb->l);
}

static int party_main(struct mpc_net *net, void *ctx)
{
	struct job *jb = ctx;
	struct mpc_m5_bucket in[MPC_MAX_BUCKETS];
	struct mpc_party *p = NULL;
	int rc = mpc_party_new(&p, net), me;

	memset(in, 0, sizeof(in));
	me = rc == 0 && mpc_party_self(p) == 0;
	for (size_t b = 0; rc == 0 && b < jb->l.nb; b++) {
		const struct pbucket *pb = &jb->pb[b];
		size_t n = (size_t)jb->l.shape[b].size * jb->l.shape[b].clusters, W = mpc_words(n);

		rc = mpc_a_input(p, 0, me ? pb->t : NULL, n, &in[b].t);
		if (rc == 0)
			rc = mpc_b_input(p, 0, me ? pb->perp : NULL, W, &in[b].perp);
		if (rc == 0)
			rc = mpc_b_input(p, 0, me ? pb->end : NULL, 2 * W, &in[b].end);
	}
	if (rc == 0)
		rc = mpc_m5(p, jb->l.shape, jb->l.nb, jb->to, in, me ? jb->out : NULL);
	if (rc == 0 && me)
		jb->rounds = mpc_party_rounds(p);
	for (size_t b = 0; b < MPC_MAX_BUCKETS; b++) {
		mpc_a_free(&in[b].t);
		mpc_b_free(&in[b].perp);
		mpc_b_free(&in[b].end);
	}
	mpc_party_free(p);
	return rc;
}

/* Runs both engines over [from, to) and asserts the same counts; returns the observable. */
static uint64_t compare(struct mpcfed *f, int64_t from, int64_t to)
{
	static const char *const metrics[] = {"perpetrators", "observable", "not_yet_observable",
					      "reoffended", NULL};
	static const char *const outcomes[] = {"completed", "dropped"};
	struct period pd = {from, to};
	struct synthfed_rows got = {0};
	struct job *jb = calloc(1, sizeof(*jb));
	uint64_t obs = 0;

	assert_non_null(jb);
	mpcfed_layout(f, want, &pd, 0, &jb->l);
	fill(f, jb, &pd);
	mpcfed_run(party_main, jb);
	for (size_t o = 0; o < 2; o++) {
		const struct mpc_m5_counts *c = &jb->out[o];

		mpcfed_add(&got, outcomes[o], "perpetrators", c->perpetrators);
		mpcfed_add(&got, outcomes[o], "observable", c->observable);
		mpcfed_add(&got, outcomes[o], "not_yet_observable",
			   c->perpetrators - c->observable);
		mpcfed_add(&got, outcomes[o], "reoffended", c->reoffended);
		printf("M5 %s: %llu perpetrators, %llu observable, %llu reoffended\n", outcomes[o],
		       (unsigned long long)c->perpetrators, (unsigned long long)c->observable,
		       (unsigned long long)c->reoffended);
		obs += c->observable;
	}
	printf("M5: %zu slots, %zu buckets, %llu rounds\n", jb->l.nitems, jb->l.nb,
	       (unsigned long long)jb->rounds);
	mpcfed_compare(f, MEASURES_M5, from, to, metrics, &got, "M5 secure vs reference");
	job_free(jb);
	free(jb);
	synthfed_rows_free(&got);
	return obs;
}

/*
 * Edge cases by hand over the two years [2024-01-01, 2026-01-01): an end 365 days + 1 s
 * before `to` is observable, 365 days before is not; an episode starting exactly 365 days
 * after the end counts, + 1 s does not; one starting at the end counts; an incident chained
 * (within 72 h) to an episode that began before the end does not; a person with both
 * outcomes is in both groups; the earliest of two ends decides; an end in any role counts;
 * an end before the period and victim-role incidents take no part.
 */
static void test_edges(void **state)
{
	struct mpcfed *f = mpcfed_new();
	int64_t from = mpcfed_at(2024, 1, 1, 0, 0, 0), to = mpcfed_at(2026, 1, 1, 0, 0, 0);
	int64_t e0 = mpcfed_at(2024, 3, 1, 10, 0, 0);
	size_t a, b;

	(void)state;
	/* person 1: completed, re-offends exactly 365 days later: observable, re-offended */
	a = mpcfed_record(f, 0, 1, "lv-liepaja-probation", "probation", "Liepāja", 'M');
	b = mpcfed_record(f, 1, 1, "lv-liepaja-police", "police", "Liepāja", 'M');
	mpcfed_ev(f, a, "programme_completed", e0, "perpetrator", NULL);
	mpcfed_ev(f, b, "police_callout", e0 + D365, "perpetrator", NULL);
	/* person 2: completed, the episode 365 days + 1 s later: observable, not re-offended */
	a = mpcfed_record(f, 0, 2, "lv-liepaja-probation", "probation", "Liepāja", 'M');
	b = mpcfed_record(f, 1, 2, "lv-liepaja-police", "police", "Liepāja", 'M');
	mpcfed_ev(f, a, "programme_completed", e0, "perpetrator", NULL);
	mpcfed_ev(f, b, "police_callout", e0 + D365 + 1, "perpetrator", NULL);
	/* person 3: dropped exactly 365 days + 1 s before to (observable), episode at the end */
	a = mpcfed_record(f, 0, 3, "lv-liepaja-probation", "probation", "Liepāja", 'M');
	b = mpcfed_record(f, 1, 3, "lv-liepaja-police", "police", "Liepāja", 'M');
	mpcfed_ev(f, a, "programme_dropped", to - D365 - 1, "perpetrator", NULL);
	mpcfed_ev(f, b, "crime_report", to - D365 - 1, "perpetrator", NULL);
	/* person 4: dropped exactly 365 days before to: not yet observable */
	a = mpcfed_record(f, 0, 4, "lv-liepaja-probation", "probation", "Liepāja", 'M');
	b = mpcfed_record(f, 1, 4, "lv-liepaja-police", "police", "Liepāja", 'M');
	mpcfed_ev(f, a, "programme_dropped", to - D365, "perpetrator", NULL);
	mpcfed_ev(f, b, "police_callout", to - D365 + 86400, "perpetrator", NULL);
	/* person 5: an episode from before the end chained past it (72 h): not re-offended */
	a = mpcfed_record(f, 0, 5, "lv-liepaja-probation", "probation", "Liepāja", 'M');
	b = mpcfed_record(f, 1, 5, "lv-liepaja-police", "police", "Liepāja", 'M');
	mpcfed_ev(f, b, "police_callout", e0 - 3600, "perpetrator", NULL);
	mpcfed_ev(f, a, "programme_completed", e0, "perpetrator", NULL);
	mpcfed_ev(f, b, "crime_report", e0 - 3600 + H72, "perpetrator", NULL);
	mpcfed_ev(f, b, "police_callout", e0 - 3600 + 2 * H72, "victim", NULL);
	/* person 6: both outcomes; two completions, the earliest decides; an end as victim */
	a = mpcfed_record(f, 0, 6, "lv-liepaja-probation", "probation", "Liepāja", 'M');
	b = mpcfed_record(f, 1, 6, "lv-liepaja-police", "police", "Liepāja", 'M');
	mpcfed_ev(f, a, "programme_completed", e0 + 100 * 86400, "perpetrator", NULL);
	mpcfed_ev(f, a, "programme_completed", e0, "victim", NULL);
	mpcfed_ev(f, a, "programme_dropped", e0 + 200 * 86400, "perpetrator", NULL);
	mpcfed_ev(f, b, "police_callout", e0 + 50 * 86400, "perpetrator", NULL);
	/* person 7: an end before the period, an episode after: no perpetrator of M5 */
	a = mpcfed_record(f, 0, 7, "lv-liepaja-probation", "probation", "Liepāja", 'M');
	mpcfed_ev(f, a, "programme_completed", from - 86400, "perpetrator", NULL);
	mpcfed_ev(f, a, "police_callout", from + 86400, "perpetrator", NULL);
	assert_int_equal(compare(f, from, to), 6);
	/* the same federation over its second year: nothing observable */
	compare(f, mpcfed_at(2025, 1, 1, 0, 0, 0), to);
	mpcfed_free(f);
}

/* ---- generated federations ---- */

static void run_synth(const char *name, const char *args)
{
	struct mpcfed *f = mpcfed_new();
	int64_t from, to;

	mpcfed_load_synth(f, name, args, &from, &to);
	/* three and two years, so that outcomes are observable, and the default year */
	assert_true(compare(f, from - 2 * D365, to) > 10);
	compare(f, from - D365, to);
	compare(f, from, to);
	mpcfed_free(f);
}

static void test_synth_two_countries(void **state)
{
	(void)state;
	run_synth("mpc-m5-a",
		  "--seed 41 --persons 3000 --years 4 --municipalities liepaja,klaipeda");
}

static void test_synth_three(void **state)
{
	(void)state;
	run_synth("mpc-m5-b",
		  "--seed 42 --persons 3000 --years 4 --municipalities liepaja,klaipeda,tukums");
}

static void test_synth_one(void **state)
{
	(void)state;
	run_synth("mpc-m5-c", "--seed 43 --persons 2500 --years 4 --municipalities tukums");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_synth_two_countries),
	    cmocka_unit_test(test_synth_three),
	    cmocka_unit_test(test_synth_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
