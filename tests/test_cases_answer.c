/*
 * Tests of the coordinator's case answer path in two phases (coordinator/cases_answer.h;
 * docs/privacy.md "Case answers"): after linking, only the other agencies' records of the
 * answer's persons are asked about, each holding node's answer decides what goes in, and a
 * holder's protocol errors are refused. Three hand-built node answers: A asks; B and C hold
 * records of A's person (same id token) and of unrelated persons.
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
#include "coordinator/cases.h"
#include "coordinator/cases_answer.h"
#include "coordinator/tokset.h"

#define DAY	 86400
#define AS_OF_TO (20100 * (int64_t)DAY) /* period_to: the as-of date is the day before */

struct fed {
	struct partyconf_node conf[3];
	struct tokset *ts[3];
	struct cases_answer_node nodes[3];
};

/* One record of node `node` for person `person` (its id token), handle {node, k}. */
static void add_rec(struct fed *f, size_t node, int person, int k, int high_risk)
{
	static const char *const ids[] = {"lv-a-police", "lv-b-social", "lv-c-health"};
	static const char *const types[] = {"police", "social_services", "health"};
	unsigned char handle[16] = {0}, id[LINKER_TOKEN_LEN], demo[LINKER_TOKEN_LEN],
		      bloom[LINKER_BLOOM_BYTES];
	struct tokset_rec r;
	struct measures_event e;

	memset(&r, 0, sizeof(r));
	handle[0] = (unsigned char)node;
	handle[1] = (unsigned char)k;
	memset(id, 0x10 + person, sizeof(id));
	memset(demo, 0x60 + person, sizeof(demo));
	memset(bloom, 0, sizeof(bloom));
	bloom[person % LINKER_BLOOM_BYTES] = 0xff;
	r.handle = handle;
	r.handle_len = sizeof(handle);
	r.id_token = id;
	r.demo_token = demo;
	r.bloom = bloom;
	r.sex = 'F';
	r.agency_id = ids[node];
	r.agency_type = types[node];
	r.municipality = "Liepāja";
	assert_int_equal(tokset_add(f->ts[node], &r), 0);
	memset(&e, 0, sizeof(e));
	e.event_type = "police_callout";
	e.occurred_at = AS_OF_TO - 10 * DAY;
	e.role = "victim";
	e.risk_level = high_risk ? "high" : "";
	e.child_threat_level = -1;
	e.age_years = 30;
	assert_int_equal(tokset_add_event(f->ts[node], &e), 0);
}

static void fed_init(struct fed *f)
{
	static const char *const ids[] = {"lv-a-police", "lv-b-social", "lv-c-health"};
	size_t i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < 3; i++) {
		snprintf(f->conf[i].id, sizeof(f->conf[i].id), "%s", ids[i]);
		assert_int_equal(tokset_new(&f->ts[i]), 0);
		f->nodes[i].conf = &f->conf[i];
		f->nodes[i].ts = f->ts[i];
		f->nodes[i].answered = 1;
	}
	add_rec(f, 0, 1, 0, 1); /* A's subject: person 1, high risk */
	add_rec(f, 0, 2, 1, 0); /* A: person 2 */
	add_rec(f, 1, 1, 0, 0); /* B: person 1 */
	add_rec(f, 1, 3, 1, 0); /* B: person 3, not A's */
	add_rec(f, 2, 1, 0, 0); /* C: person 1 */
}

static void fed_free(struct fed *f)
{
	size_t i;

	for (i = 0; i < 3; i++)
		tokset_free(f->ts[i]);
}

struct req {
	Caselink__V1__QueryRequest q;
	Caselink__V1__RequestHeader h;
	Caselink__V1__Identity who;
	Caselink__V1__QueryRequest__ParametersEntry p, *pp[1];
};

static void make_req(struct req *r, const char *measure)
{
	caselink__v1__query_request__init(&r->q);
	caselink__v1__request_header__init(&r->h);
	caselink__v1__identity__init(&r->who);
	caselink__v1__query_request__parameters_entry__init(&r->p);
	r->who.id = "lv-a-police";
	r->who.role = "node";
	r->h.requester = &r->who;
	r->h.legal_basis = "lv_interinstitutional_cooperation";
	r->q.header = &r->h;
	r->q.measure = (char *)measure;
	r->p.key = "subject";
	r->p.value = "00000000000000000000000000000000"; /* A's record {0, 0} */
	r->pp[0] = &r->p;
	r->q.parameters = r->pp;
	r->q.n_parameters = !strcmp(measure, "M7");
}

/* The handles asked of node, as {node, k} pairs packed in an int (node * 256 + k) list. */
static size_t asked(const struct cases_answer *a, size_t node, int *out)
{
	ProtobufCBinaryData *h = NULL;
	size_t n = 0, i;

	assert_int_equal(cases_answer_asks(a, node, &h, &n), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(h[i].len, 16);
		out[i] = h[i].data[0] * 256 + h[i].data[1];
	}
	free(h);
	return n;
}

/* M7: only the other agencies' records of the subject's person are asked about. */
static void test_m7_asks_and_grants(void **state)
{
	struct fed f;
	struct req r;
	struct cases_answer *a = NULL;
	Caselink__V1__CaseGrant g = CASELINK__V1__CASE_GRANT__INIT;
	Caselink__V1__CaseSealed cs = CASELINK__V1__CASE_SEALED__INIT, *csp = &cs;
	Caselink__V1__CaseRows cr;
	Caselink__V1__CaseWithheld *const *w = NULL;
	unsigned char hb[16] = {1, 0}, box[40] = {0x43};
	ProtobufCBinaryData gh = {16, hb};
	char why[CASES_ANSWER_WHY_MAX];
	int got[8];

	(void)state;
	fed_init(&f);
	make_req(&r, "M7");
	assert_int_equal(
	    cases_answer_link(CASES_M7, &r.q, f.nodes, 3, 0, AS_OF_TO, &a, why, sizeof(why)), 0);
	assert_int_equal(asked(a, 0, got), 0); /* never the asker's own */
	assert_int_equal(asked(a, 1, got), 1); /* B's record of person 1, not of person 3 */
	assert_int_equal(got[0], 1 * 256 + 0);
	assert_int_equal(asked(a, 2, got), 1);
	assert_int_equal(got[0], 2 * 256 + 0);
	/* a handle that was not asked, or one granted twice, is a protocol error, and nothing
	 * of that answer is taken (the handle asked is still asked) */
	{
		unsigned char other[16] = {1, 1}, asked_b[16] = {1, 0};
		ProtobufCBinaryData oh[2] = {{16, asked_b}, {16, other}};
		Caselink__V1__CaseGrant bad = CASELINK__V1__CASE_GRANT__INIT;

		bad.granted = oh;
		bad.n_granted = 2;
		assert_int_equal(cases_answer_grant(a, 1, "lv-b-social", &bad), CL_EPROTO);
		oh[1] = oh[0];
		assert_int_equal(cases_answer_grant(a, 1, "lv-b-social", &bad), CL_EPROTO);
		assert_int_equal(asked(a, 1, got), 1);
	}
	/* B grants with its sealed rows; C cannot be asked */
	cs.node_id = "lv-b-social";
	cs.box.data = box;
	cs.box.len = sizeof(box);
	g.granted = &gh;
	g.n_granted = 1;
	g.sealed = &csp;
	g.n_sealed = 1;
	assert_int_equal(cases_answer_grant(a, 1, "lv-b-social", &g), 0);
	assert_int_equal(cases_answer_node_failed(a, 2, "lv-c-health", "disclosure unavailable"),
			 0);
	assert_int_equal(cases_answer_finish(a), 0);
	assert_int_equal(cases_answer_rows(a), 0); /* the coordinator sends no M7 row */
	assert_int_equal(cases_answer_case_rows(a, &cr), 0);
	assert_int_equal(cr.n_own_handles, 1); /* A's subject only: its person 2 is another */
	assert_int_equal(cr.own_handles[0].data[0] * 256 + cr.own_handles[0].data[1], 0);
	assert_int_equal(cr.n_sealed, 1);
	assert_string_equal(cr.sealed[0]->node_id, "lv-b-social");
	assert_memory_equal(cr.sealed[0]->box.data, box, sizeof(box));
	assert_int_equal(cases_answer_withheld(a, &w), 1);
	assert_string_equal(w[0]->node_id, "lv-c-health");
	assert_string_equal(w[0]->reason, "disclosure unavailable");
	assert_int_equal(w[0]->records, 1);
	cases_answer_free(a);
	fed_free(&f);
}

/* M8: an alert rests on the holders that granted; withheld records are absent. */
static void test_m8_recomputed_after_phase2(void **state)
{
	struct fed f;
	struct req r;
	struct cases_answer *a = NULL;
	Caselink__V1__CaseGrant g = CASELINK__V1__CASE_GRANT__INIT;
	Caselink__V1__CaseWithheld wh = CASELINK__V1__CASE_WITHHELD__INIT, *whp = &wh;
	Caselink__V1__CaseSealed cs = CASELINK__V1__CASE_SEALED__INIT, *csp = &cs;
	unsigned char hb[16] = {1, 0}, box[40] = {0};
	ProtobufCBinaryData gh = {16, hb};
	char why[CASES_ANSWER_WHY_MAX];
	int got[8], pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		fed_init(&f);
		make_req(&r, "M8");
		assert_int_equal(cases_answer_link(CASES_M8, &r.q, f.nodes, 3, 0, AS_OF_TO, &a, why,
						   sizeof(why)),
				 0);
		assert_int_equal(asked(a, 1, got),
				 1); /* person 1 is alerted; person 3 is not A's */
		assert_int_equal(asked(a, 2, got), 1);
		/* sealed rows belong to M7 only */
		cs.node_id = "lv-b-social";
		cs.box.data = box;
		cs.box.len = sizeof(box);
		g.granted = &gh;
		g.n_granted = 1;
		g.sealed = &csp;
		g.n_sealed = 1;
		assert_int_equal(cases_answer_grant(a, 1, "lv-b-social", &g), CL_EPROTO);
		g.n_sealed = 0;
		wh.node_id = "lv-c-health";
		wh.reason = "no_evidence";
		wh.records = 1;
		if (pass == 0) { /* B grants, C withholds: still held by two agencies */
			assert_int_equal(cases_answer_grant(a, 1, "lv-b-social", &g), 0);
		} else { /* both withhold: A alone holds its person, no alert */
			Caselink__V1__CaseGrant none = CASELINK__V1__CASE_GRANT__INIT;

			assert_int_equal(cases_answer_grant(a, 1, "lv-b-social", &none), 0);
		}
		g.n_granted = 0;
		g.withheld = &whp;
		g.n_withheld = 1;
		assert_int_equal(cases_answer_grant(a, 2, "lv-c-health", &g), 0);
		g.withheld = NULL;
		g.n_withheld = 0;
		assert_int_equal(cases_answer_finish(a), 0);
		assert_int_equal(cases_answer_rows(a), pass == 0 ? 1 : 0);
		/* pass 1: B granted nothing and said nothing: "unreported" in the coverage */
		{
			Caselink__V1__CaseWithheld *const *w = NULL;

			assert_int_equal(cases_answer_withheld(a, &w), pass == 0 ? 1 : 2);
			assert_string_equal(w[0]->node_id,
					    pass == 0 ? "lv-c-health" : "lv-b-social");
			assert_string_equal(w[0]->reason, pass == 0 ? "no_evidence" : "unreported");
		}
		cases_answer_free(a);
		a = NULL;
		fed_free(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_m7_asks_and_grants),
	    cmocka_unit_test(test_m8_recomputed_after_phase2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
