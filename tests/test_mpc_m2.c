/*
 * M2 under three-party secure computation (compute/mpc_m2) against the plaintext reference
 * engine (coordinator/measures.c), exactly, on hand-built edge cases and on generated
 * federations. The layout is built here as the coordinator will build it (clusters of the
 * linked persons' victim incident events, padded to powers of two, ordered by agency id and
 * the node's order); P0 deals the shares, as a node's input will arrive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "common/vocab.h"
#include "compute/mpc_circuit.h"
#include "compute/mpc_measures.h"
#include "compute/mpc_net.h"
#include "coordinator/measures.h"
#include "synthfed.h"

#define MAXREC	200000
#define MAXEV	1000000
#define MAXMUNI 64

struct prec {
	uint32_t node, person;
	char agency[64], muni[64];
};

struct pev {
	uint32_t rec;
	int64_t t;
	int victim_incident;
	char muni[64];
};

/* The plaintext federation: the test's copy and the reference engine's input. */
struct fed {
	struct prec *recs;
	struct pev *evs;
	size_t nrec, nev;
	struct measures_input *ref;
	char munis[MAXMUNI][64];
	size_t nmunis;
};

static struct fed *fed_new(void)
{
	struct fed *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->recs = calloc(MAXREC, sizeof(*f->recs));
	f->evs = calloc(MAXEV, sizeof(*f->evs));
	assert_non_null(f->recs);
	assert_non_null(f->evs);
	assert_int_equal(measures_input_new(&f->ref), 0);
	return f;
}

static void fed_free(struct fed *f)
{
	measures_input_free(f->ref);
	free(f->recs);
	free(f->evs);
	free(f);
}

static size_t fed_record(struct fed *f, uint32_t node, uint32_t person, const char *agency,
			 const char *type, const char *muni)
{
	struct measures_record r = {0};
	size_t idx;

	assert_true(f->nrec < MAXREC);
	r.node = node;
	r.agency_id = agency;
	r.agency_type = type;
	r.node_municipality = muni;
	r.sex = 'F';
	r.linkable = 1;
	r.person = person;
	assert_int_equal(measures_add_record(f->ref, &r, &idx), 0);
	assert_int_equal(idx, f->nrec);
	f->recs[f->nrec] = (struct prec){.node = node, .person = person};
	snprintf(f->recs[f->nrec].agency, 64, "%s", agency);
	snprintf(f->recs[f->nrec].muni, 64, "%s", muni);
	return f->nrec++;
}

static void fed_event(struct fed *f, size_t rec, const struct measures_event *e)
{
	int type = vocab_index(VOCAB_EVENT_TYPE, e->event_type);
	struct pev *p = &f->evs[f->nev];

	assert_true(f->nev < MAXEV);
	assert_int_equal(measures_add_event(f->ref, rec, e), 0);
	p->rec = (uint32_t)rec;
	p->t = e->occurred_at;
	p->victim_incident = type >= 0 &&
			     vocab_event_category((size_t)type) == VOCAB_CAT_INCIDENT &&
			     strcmp(e->role, "victim") == 0;
	snprintf(p->muni, 64, "%s",
		 e->municipality && e->municipality[0] ? e->municipality : f->recs[rec].muni);
	f->nev++;
}

/* ---- the layout, as the coordinator builds it ---- */

struct slot {
	uint32_t person, ev;
};

static const struct fed *cmp_fed;

static int slot_cmp(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;
	int c;

	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	c = strcmp(cmp_fed->recs[cmp_fed->evs[x->ev].rec].agency,
		   cmp_fed->recs[cmp_fed->evs[y->ev].rec].agency);
	if (c != 0)
		return c;
	return x->ev < y->ev ? -1 : x->ev > y->ev;
}

/* A cluster: its first slot in the sorted slot list and its count. */
struct clus {
	size_t first, count;
	uint32_t bucket;
};

static int clus_cmp(const void *a, const void *b)
{
	const struct clus *x = a, *y = b;

	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* Plaintext inputs of one bucket, dealt by P0. */
struct pbucket {
	struct mpc_bucket shape;
	uint64_t *t, *inc, *inper, *after, *muni, *samenode; /* per-slot values or planes */
};

struct job {
	struct mpc_bucket shape[MPC_MAX_BUCKETS];
	struct pbucket pb[MPC_MAX_BUCKETS];
	size_t nb, nmunis;
	struct mpc_m2_counts out[MAXMUNI];
};

static size_t muni_index(struct fed *f, const char *m)
{
	for (size_t i = 0; i < f->nmunis; i++)
		if (strcmp(f->munis[i], m) == 0)
			return i;
	assert_true(f->nmunis < MAXMUNI);
	snprintf(f->munis[f->nmunis], 64, "%s", m);
	return f->nmunis++;
}

static void setbit(uint64_t *plane, size_t k)
{
	plane[k / 64] |= 1ull << (k % 64);
}

static void fill_bucket(struct fed *f, struct pbucket *pb, const struct slot *slots,
			const struct clus *cl, size_t ncl, int64_t base, int64_t from, int64_t to)
{
	uint32_t s = pb->shape.size;
	size_t n = (size_t)s * ncl, W = mpc_words(n);

	pb->t = calloc(n ? n : 1, 8);
	pb->inc = calloc(W ? W : 1, 8);
	pb->inper = calloc(W ? W : 1, 8);
	pb->after = calloc(W ? W : 1, 8);
	pb->muni = calloc(MAXMUNI * (W ? W : 1), 8);
	pb->samenode = calloc((s > 1 ? s - 1 : 1) * (W ? W : 1), 8);
	for (size_t c = 0; c < ncl; c++) {
		for (size_t j = 0; j < s; j++) {
			size_t k = c * s + j;

			pb->t[k] = MPC_T_NONE;
			if (j >= cl[c].count)
				continue;
			const struct pev *e = &f->evs[slots[cl[c].first + j].ev];

			pb->t[k] = (uint64_t)(e->t - base);
			setbit(pb->inc, k);
			if (e->t >= from && e->t < to)
				setbit(pb->inper, k);
			if (e->t >= to)
				setbit(pb->after, k);
			setbit(pb->muni + muni_index(f, e->muni) * W, k);
		}
		for (size_t q = 1; q < s; q++)
			for (size_t j = 0; j < s; j++) {
				size_t jf = (j + q) % s;

				if (j < cl[c].count && jf < cl[c].count &&
				    f->recs[f->evs[slots[cl[c].first + j].ev].rec].node ==
					f->recs[f->evs[slots[cl[c].first + jf].ev].rec].node)
					setbit(pb->samenode + (q - 1) * W, c * s + j);
			}
	}
}

static void build_layout(struct fed *f, struct job *jb, int64_t from, int64_t to)
{
	struct slot *slots = calloc(f->nev ? f->nev : 1, sizeof(*slots));
	struct clus *cl = calloc(f->nev ? f->nev : 1, sizeof(*cl));
	size_t ns = 0, ncl = 0;
	int64_t base = INT64_MAX;

	assert_non_null(slots);
	assert_non_null(cl);
	for (size_t i = 0; i < f->nev; i++) {
		if (!f->evs[i].victim_incident)
			continue;
		slots[ns++] = (struct slot){f->recs[f->evs[i].rec].person, (uint32_t)i};
		if (f->evs[i].t < base)
			base = f->evs[i].t;
	}
	cmp_fed = f;
	qsort(slots, ns, sizeof(*slots), slot_cmp);
	for (size_t i = 0; i < ns; i++) {
		if (i == 0 || slots[i].person != slots[i - 1].person)
			cl[ncl++] = (struct clus){.first = i};
		cl[ncl - 1].count++;
	}
	for (size_t c = 0; c < ncl; c++) {
		uint32_t b = 1;

		while (b < cl[c].count)
			b *= 2;
		cl[c].bucket = b;
	}
	qsort(cl, ncl, sizeof(*cl), clus_cmp);
	for (size_t c = 0; c < ncl;) {
		size_t e = c;

		while (e < ncl && cl[e].bucket == cl[c].bucket)
			e++;
		assert_true(jb->nb < MPC_MAX_BUCKETS);
		jb->shape[jb->nb] = (struct mpc_bucket){cl[c].bucket, (uint32_t)(e - c)};
		jb->pb[jb->nb].shape = jb->shape[jb->nb];
		fill_bucket(f, &jb->pb[jb->nb], slots, cl + c, e - c, base, from, to);
		jb->nb++;
		c = e;
	}
	if (f->nmunis == 0)
		muni_index(f, "none");
	jb->nmunis = f->nmunis;
	free(slots);
	free(cl);
}

static void job_free(struct job *jb)
{
	for (size_t i = 0; i < jb->nb; i++) {
		free(jb->pb[i].t);
		free(jb->pb[i].inc);
		free(jb->pb[i].inper);
		free(jb->pb[i].after);
		free(jb->pb[i].muni);
		free(jb->pb[i].samenode);
	}
}

/* ---- the three parties ---- */

static int deal(struct mpc_party *p, const struct job *jb, struct mpc_m2_bucket *in)
{
	int me = mpc_party_self(p) == 0, rc = 0;

	for (size_t i = 0; rc == 0 && i < jb->nb; i++) {
		const struct pbucket *pb = &jb->pb[i];
		size_t n = (size_t)pb->shape.size * pb->shape.clusters, W = mpc_words(n);
		size_t Q = pb->shape.size - 1;

		rc = mpc_a_input(p, 0, me ? pb->t : NULL, n, &in[i].t);
		if (rc == 0)
			rc = mpc_b_input(p, 0, me ? pb->inc : NULL, W, &in[i].inc);
		if (rc == 0)
			rc = mpc_b_input(p, 0, me ? pb->inper : NULL, W, &in[i].inper);
		if (rc == 0)
			rc = mpc_b_input(p, 0, me ? pb->after : NULL, W, &in[i].after);
		if (rc == 0)
			rc = mpc_b_input(p, 0, me ? pb->muni : NULL, jb->nmunis * W, &in[i].muni);
		if (rc == 0)
			rc = mpc_b_input(p, 0, me ? pb->samenode : NULL, Q * W, &in[i].samenode);
	}
	return rc;
}

static int party_main(struct mpc_net *net, void *ctx)
{
	struct job *jb = ctx;
	struct mpc_m2_bucket in[MPC_MAX_BUCKETS];
	struct mpc_party *p = NULL;
	int rc;

	memset(in, 0, sizeof(in));
	rc = mpc_party_new(&p, net);
	if (rc == 0)
		rc = deal(p, jb, in);
	if (rc == 0)
		rc = mpc_m2(p, jb->shape, jb->nb, jb->nmunis, in,
			    mpc_party_self(p) == 0 ? jb->out : NULL);
	for (size_t i = 0; i < MPC_MAX_BUCKETS; i++) {
		mpc_a_free(&in[i].t);
		mpc_b_free(&in[i].inc);
		mpc_b_free(&in[i].inper);
		mpc_b_free(&in[i].after);
		mpc_b_free(&in[i].muni);
		mpc_b_free(&in[i].samenode);
	}
	mpc_party_free(p);
	return rc;
}

/* ---- comparison with the reference ---- */

static int keep_metric(const char *line)
{
	static const char *const keep[] = {",victims,", ",repeat_victims,",
					   ",repeat_victim_episodes,", ",hidden_repeats,",
					   ",gap_count,"};

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (strstr(line, keep[i]))
			return 1;
	return 0;
}

static void add_counts(struct synthfed_rows *r, const char *muni, const struct mpc_m2_counts *c)
{
	char line[256];

	snprintf(line, sizeof line, "%s,victims,%llu", muni, (unsigned long long)c->victims);
	synthfed_rows_add(r, line);
	snprintf(line, sizeof line, "%s,repeat_victims,%llu", muni,
		 (unsigned long long)c->repeat_victims);
	synthfed_rows_add(r, line);
	snprintf(line, sizeof line, "%s,repeat_victim_episodes,%llu", muni,
		 (unsigned long long)c->repeat_victim_episodes);
	synthfed_rows_add(r, line);
	snprintf(line, sizeof line, "%s,hidden_repeats,%llu", muni,
		 (unsigned long long)c->hidden_repeats);
	synthfed_rows_add(r, line);
	snprintf(line, sizeof line, "%s,gap_count,%llu", muni,
		 (unsigned long long)(c->repeat_victim_episodes - c->repeat_victims));
	synthfed_rows_add(r, line);
}

/* Runs both engines over [from, to) and asserts the same counts; returns the victims. */
static uint64_t compare(struct fed *f, int64_t from, int64_t to)
{
	struct synthfed_rows ref = {0}, got = {0}, refk = {0};
	struct mpc_m2_counts all = {0};
	struct job *jb = calloc(1, sizeof(*jb));
	void *ctx[MPC_PARTIES] = {jb, jb, jb};
	size_t same = 0, oa = 0, ob = 0;

	assert_non_null(jb);
	assert_int_equal(measures_compute(f->ref, MEASURES_M2, from, to, 0, synthfed_collect, &ref),
			 0);
	for (size_t i = 0; i < ref.n; i++)
		if (keep_metric(ref.line[i]))
			synthfed_rows_add(&refk, ref.line[i]);
	build_layout(f, jb, from, to);
	assert_int_equal(mpc_net_local_run(party_main, ctx, 120000), 0);
	for (size_t m = 0; m < jb->nmunis; m++) {
		if (jb->out[m].victims == 0)
			continue;
		add_counts(&got, f->munis[m], &jb->out[m]);
		all.victims += jb->out[m].victims;
		all.repeat_victims += jb->out[m].repeat_victims;
		all.repeat_victim_episodes += jb->out[m].repeat_victim_episodes;
		all.hidden_repeats += jb->out[m].hidden_repeats;
	}
	add_counts(&got, "*", &all);
	synthfed_compare_sets(&got, &refk, "M2 secure vs reference", 20, &same, &oa, &ob);
	assert_int_equal(oa, 0);
	assert_int_equal(ob, 0);
	assert_true(same > 0);
	job_free(jb);
	free(jb);
	synthfed_rows_free(&ref);
	synthfed_rows_free(&refk);
	synthfed_rows_free(&got);
	return all.victims;
}

static int64_t at(int y, int mo, int d, int h, int mi, int s)
{
	return cldate_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static void ev(struct fed *f, size_t r, const char *type, int64_t t, const char *role,
	       const char *muni)
{
	struct measures_event e = {0};

	e.event_type = type;
	e.occurred_at = t;
	e.role = role;
	e.municipality = muni;
	e.child_threat_level = -1;
	e.age_years = -1;
	fed_event(f, r, &e);
}

/*
 * Edge cases by hand: 72 h exactly chains, 72 h + 1 s does not; a tie in time at two
 * agencies (the first by agency id gives the municipality); hidden and not hidden repeats;
 * an episode started before the period and chained into it (not in-period); one after.
 */
static void test_edges(void **state)
{
	struct fed *f = fed_new();
	int64_t t0 = at(2025, 3, 1, 22, 0, 0), H72 = 72 * 3600, d30 = 30 * 86400;
	size_t a, b, c;

	(void)state;
	/* person 1: 72 h exactly chains: one episode; + a second 30 days later at health */
	a = fed_record(f, 0, 1, "lv-liepaja-police", "police", "Liepāja");
	b = fed_record(f, 1, 1, "lv-liepaja-health", "health", "Liepāja");
	ev(f, a, "police_callout", t0, "victim", NULL);
	ev(f, b, "medical_injury", t0 + H72, "victim", NULL);
	ev(f, b, "medical_injury", t0 + H72 + d30, "victim", NULL);
	/* person 2: 72 h + 1 s: two episodes, both at police: a repeat, not hidden */
	a = fed_record(f, 0, 2, "lv-liepaja-police", "police", "Liepāja");
	ev(f, a, "police_callout", t0, "victim", NULL);
	ev(f, a, "crime_report", t0 + H72 + 1, "victim", NULL);
	/* person 3: a tie at two agencies, Klaipėda's id sorts first */
	a = fed_record(f, 2, 3, "lt-klaipeda-police", "police", "Klaipėda");
	b = fed_record(f, 0, 3, "lv-liepaja-police", "police", "Liepāja");
	ev(f, b, "police_callout", t0, "victim", NULL);
	ev(f, a, "police_callout", t0, "victim", NULL);
	ev(f, b, "police_callout", t0 + d30, "victim", NULL);
	/* person 4: started before the period, chained into it; then a new one in it */
	a = fed_record(f, 0, 4, "lv-liepaja-police", "police", "Liepāja");
	c = fed_record(f, 1, 4, "lv-liepaja-health", "health", "Liepāja");
	ev(f, a, "police_callout", at(2024, 12, 31, 20, 0, 0), "victim", NULL);
	ev(f, c, "medical_injury", at(2025, 1, 2, 10, 0, 0), "victim", NULL);
	ev(f, a, "police_callout", at(2025, 6, 1, 10, 0, 0), "victim", NULL);
	ev(f, c, "medical_injury", at(2025, 12, 31, 23, 0, 0), "victim", NULL);
	ev(f, c, "medical_injury", at(2026, 1, 2, 0, 0, 0), "victim", NULL);
	/* person 5: perpetrator events and a risk assessment take no part */
	a = fed_record(f, 0, 5, "lv-liepaja-police", "police", "Liepāja");
	ev(f, a, "police_callout", t0, "perpetrator", NULL);
	ev(f, a, "risk_assessment", t0, "victim", NULL);
	/* person 6: events in another municipality than the node's */
	a = fed_record(f, 1, 6, "lv-liepaja-health", "health", "Liepāja");
	ev(f, a, "medical_injury", t0, "victim", "Tukums");
	assert_int_equal(compare(f, at(2025, 1, 1, 0, 0, 0), at(2026, 1, 1, 0, 0, 0)), 5);
	fed_free(f);
}

/* ---- generated federations ---- */

static size_t sink_record(void *ctx, const struct synthfed_record *r)
{
	return fed_record(ctx, r->node, r->person, r->agency_id, r->agency_type, r->municipality);
}

static void sink_event(void *ctx, size_t record, const struct measures_event *e)
{
	fed_event(ctx, record, e);
}

static void run_synth(const char *name, const char *args)
{
	char dir[1024], from[16], to[16], asof[16];
	struct fed *f = fed_new();
	struct synthfed_sink sink = {.record = sink_record, .event = sink_event, .ctx = f};

	synthfed_generate(name, args, dir, sizeof dir);
	synthfed_load(dir, &sink);
	synthfed_period(dir, from, to, asof);
	assert_true(compare(f, synthfed_parse_day(from), synthfed_parse_day(to)) > 50);
	/* a second period: half a year, different boundaries */
	compare(f, synthfed_parse_day(from) + 40 * 86400, synthfed_parse_day(from) + 220 * 86400);
	fed_free(f);
}

static void test_synth_two_countries(void **state)
{
	(void)state;
	run_synth("mpc-m2-a", "--seed 21 --persons 900 --municipalities liepaja,klaipeda");
}

static void test_synth_three(void **state)
{
	(void)state;
	run_synth("mpc-m2-b", "--seed 22 --persons 1200 --municipalities liepaja,klaipeda,tukums");
}

static void test_synth_one(void **state)
{
	(void)state;
	run_synth("mpc-m2-c", "--seed 23 --persons 700 --municipalities tukums --years 2");
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
