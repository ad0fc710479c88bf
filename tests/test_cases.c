/*
 * test_cases — the coordinator's M7/M8 engine (coordinator/cases.c).
 *
 * (a) Small hand-built inputs whose answers are worked out in the comments: ordering, the
 *     as-of cut, restricted records with and without child_protection, the 365-day window's
 *     two ends, episodes chained within 72 h, holders at ≥ 2 agencies.
 * (b) Ground truth: a federation written by `caselink synth` is read the way nodes send it,
 *     linked by truth/links.csv, and M7 (every request of m7_requests.csv) and M8 (every
 *     agency) are compared row for row with truth/expected/m7.csv and m8.csv, both legal bases.
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
#include "common/csv.h"
#include "coordinator/cases.h"
#include "tests/synthcases.h"
#include "tests/synthfed.h"

static int64_t at(int y, int mo, int d, int h, int mi, int s)
{
	return cldate_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static size_t rec(struct cases_input *in, uint32_t node, const char *agency, const char *type,
		  uint32_t person, int restricted, const char *handle)
{
	struct cases_record r = {0};
	size_t idx;

	r.node = node;
	r.agency_id = agency;
	r.agency_type = type;
	r.node_municipality = "Liepāja";
	r.restricted = restricted;
	r.person = person;
	r.handle = (const unsigned char *)handle;
	r.handle_len = strlen(handle);
	assert_int_equal(cases_add_record(in, &r, &idx), 0);
	return idx;
}

static void ev(struct cases_input *in, size_t r, const char *type, int64_t t, const char *role,
	       const char *risk, int threat, const char *muni)
{
	struct measures_event e = {0};

	e.event_type = type;
	e.occurred_at = t;
	e.role = role;
	e.municipality = muni;
	e.risk_level = risk;
	e.child_threat_level = threat;
	e.age_years = -1;
	assert_int_equal(cases_add_event(in, r, &e), 0);
}

static void test_names(void **state)
{
	const char *const *cols = NULL;
	int w = 0;

	(void)state;
	assert_int_equal(cases_parse_name("M7", &w), 0);
	assert_int_equal(w, CASES_M7);
	assert_int_equal(cases_parse_name("high_risk_alerts", &w), 0);
	assert_int_equal(w, CASES_M8);
	assert_int_equal(cases_parse_name("M6", &w), CL_ENOTFOUND);
	assert_int_equal(cases_columns(CASES_M7, &cols), 9);
	assert_string_equal(cols[1], "occurred_at");
	assert_int_equal(cases_columns(CASES_M8, &cols), 3);
	assert_string_equal(cols[0], "handle");
	assert_int_equal(cases_columns(6, &cols), 0);
}

static void test_bad_input(void **state)
{
	struct cases_input *in = NULL;
	struct cases_record r = {0};
	struct measures_event e = {0};
	size_t idx;

	(void)state;
	assert_int_equal(cases_input_new(&in), 0);
	r.agency_id = "a";
	r.agency_type = "spaceship";
	r.node_municipality = "m";
	r.handle = (const unsigned char *)"h";
	r.handle_len = 1;
	assert_int_equal(cases_add_record(in, &r, &idx), CL_EINVAL);
	r.agency_type = "police";
	r.handle_len = CASES_HANDLE_MAX + 1;
	assert_int_equal(cases_add_record(in, &r, &idx), CL_EINVAL);
	r.handle_len = 1;
	assert_int_equal(cases_add_record(in, &r, &idx), 0);
	e.event_type = "teleport";
	e.role = "victim";
	e.child_threat_level = -1;
	assert_int_equal(cases_add_event(in, 0, &e), CL_EINVAL);
	e.event_type = "police_callout";
	e.risk_level = "extreme";
	assert_int_equal(cases_add_event(in, 0, &e), CL_EINVAL);
	e.risk_level = "";
	assert_int_equal(cases_add_event(in, 1, &e), CL_EINVAL);
	assert_int_equal(cases_add_event(in, 0, &e), 0);
	assert_int_equal(cases_find_handle(in, 0, (const unsigned char *)"h", 1, &idx), 0);
	assert_int_equal(cases_find_handle(in, 1, (const unsigned char *)"h", 1, &idx),
			 CL_ENOTFOUND);
	cases_input_free(in);
}

/*
 * Person 1 at police (node 0, the asker), health (node 1) and an NGO (node 2, restricted);
 * person 2 elsewhere. Events at the same second are ordered by agency id.
 */
static void test_history(void **state)
{
	struct cases_input *in = NULL;
	struct cases_summary s;
	struct synthfed_rows r = {0};
	int64_t t0 = at(2025, 3, 1, 22, 0, 0), end = at(2025, 12, 31, 0, 0, 0);
	size_t pol, hea, ngo, other;

	(void)state;
	assert_int_equal(cases_input_new(&in), 0);
	pol = rec(in, 0, "lv-a-police", "police", 1, 0, "p1");
	hea = rec(in, 1, "lv-a-health", "health", 1, 0, "h1");
	ngo = rec(in, 2, "lv-a-ngo", "ngo", 1, 1, "n1");
	other = rec(in, 1, "lv-a-health", "health", 2, 0, "h2");
	ev(in, pol, "police_callout", t0, "victim", "high", -1, "Rīga");
	ev(in, hea, "medical_injury", t0, "victim", "", -1, NULL); /* same second: a-health first */
	ev(in, hea, "child_threat_assessment", t0 - 86400, "child", "", 2, "");
	ev(in, ngo, "ngo_disclosure", t0 + 3600, "victim", "", -1, NULL);
	ev(in, pol, "crime_report", end, "victim", "", -1, NULL); /* at as_of_end: left out */
	ev(in, other, "medical_injury", t0, "victim", "", -1, NULL);

	/* general: the NGO record is left out and counted */
	assert_int_equal(cases_history(in, pol, end, 0, synthfed_collect, &r, &s), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(s.rows, 3);
	assert_int_equal(s.omitted, 1);
	assert_int_equal(s.requester_restricted, 0);
	assert_string_equal(r.line[0], "1,2025-02-28T22:00:00Z,health,lv-a-health,Liepāja,"
				       "child_threat_assessment,child,,2");
	assert_string_equal(r.line[1], "2,2025-03-01T22:00:00Z,health,lv-a-health,Liepāja,"
				       "medical_injury,victim,,");
	assert_string_equal(r.line[2], "3,2025-03-01T22:00:00Z,police,lv-a-police,Rīga,"
				       "police_callout,victim,high,");
	synthfed_rows_free(&r);

	/* child_protection: everything, nothing omitted */
	assert_int_equal(cases_history(in, hea, end, 1, synthfed_collect, &r, &s), 0);
	assert_int_equal(r.n, 4);
	assert_int_equal(s.omitted, 0);
	assert_string_equal(r.line[3], "4,2025-03-01T23:00:00Z,ngo,lv-a-ngo,Liepāja,"
				       "ngo_disclosure,victim,,");
	synthfed_rows_free(&r);

	/* the asker's own record is restricted: absent, no rows */
	assert_int_equal(cases_history(in, ngo, end, 0, synthfed_collect, &r, &s), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(s.requester_restricted, 1);
	assert_int_equal(s.omitted, 1);
	assert_int_equal(cases_history(in, 99, end, 0, synthfed_collect, &r, &s), CL_EINVAL);
	cases_input_free(in);
}

/* The alerts of node `node` as "handle,reasons,types" lines. */
static void alerts(const struct cases_input *in, uint32_t node, int64_t end, int cp,
		   struct synthfed_rows *r, struct cases_summary *s)
{
	memset(r, 0, sizeof *r);
	assert_int_equal(cases_alerts(in, node, end, cp, synthfed_collect, r, s), 0);
}

/*
 * The 365-day window [end − 365 d, end): a high risk at its first second counts, one at end does
 * not. Episodes: callouts at t, t + 72 h (chained), t + 144 h + 1 s, t + 300 d: three episodes.
 */
static void test_alert_rules(void **state)
{
	struct cases_input *in = NULL;
	struct cases_summary s;
	struct synthfed_rows r;
	int64_t end = at(2026, 1, 1, 0, 0, 0), lo = end - 365 * 86400;
	int64_t t = at(2025, 2, 1, 12, 0, 0);
	size_t a1, a2, b1, b2, c1, c2, d1, d2, e1;

	(void)state;
	assert_int_equal(cases_input_new(&in), 0);
	/* person 1: high risk exactly at lo → risk_high */
	a1 = rec(in, 0, "x-police", "police", 1, 0, "A");
	a2 = rec(in, 1, "x-ngo", "ngo", 1, 0, "a");
	ev(in, a1, "risk_assessment", lo, "victim", "high", -1, NULL);
	(void)a2;
	/* person 2: high risk at end, a breach one second before lo → nothing */
	b1 = rec(in, 0, "x-police", "police", 2, 0, "B");
	b2 = rec(in, 2, "x-health", "health", 2, 0, "b");
	ev(in, b1, "risk_assessment", end, "victim", "high", -1, NULL);
	ev(in, b2, "protection_order_breach", lo - 1, "victim", "", -1, NULL);
	/* person 3: three victim episodes (the second callout chains at exactly 72 h), a breach */
	c1 = rec(in, 0, "x-police", "police", 3, 0, "C");
	c2 = rec(in, 2, "x-health", "health", 3, 0, "c");
	ev(in, c1, "police_callout", t, "victim", "", -1, NULL);
	ev(in, c2, "medical_injury", t + 72 * 3600, "victim", "", -1, NULL);
	ev(in, c1, "police_callout", t + 144 * 3600 + 1, "victim", "", -1, NULL);
	ev(in, c1, "police_callout", t + 300 * 86400, "victim", "", -1, NULL);
	ev(in, c2, "protection_order_breach", t, "perpetrator", "", -1, NULL);
	/* person 4: only two episodes (72 h + 0 s chains twice), perpetrator callouts don't count
	 */
	d1 = rec(in, 0, "x-police", "police", 4, 0, "D");
	d2 = rec(in, 1, "x-ngo", "ngo", 4, 0, "d");
	ev(in, d1, "police_callout", t, "victim", "", -1, NULL);
	ev(in, d2, "ngo_disclosure", t + 72 * 3600, "victim", "", -1, NULL);
	ev(in, d1, "police_callout", t + 144 * 3600, "victim", "", -1, NULL);
	ev(in, d1, "police_callout", t + 200 * 86400, "victim", "", -1, NULL);
	ev(in, d1, "police_callout", t + 100 * 86400, "perpetrator", "", -1, NULL);
	ev(in, d1, "police_callout", t + 110 * 86400, "perpetrator", "", -1, NULL);
	/* person 5: high risk but held by one agency only */
	e1 = rec(in, 0, "x-police", "police", 5, 0, "E");
	ev(in, e1, "risk_assessment", t, "victim", "high", -1, NULL);

	alerts(in, 0, end, 0, &r, &s);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.line[0], "41,risk_high,ngo");
	assert_string_equal(r.line[1], "43,repeat_episodes;order_breach,health");
	assert_int_equal(s.rows, 2);
	assert_int_equal(s.omitted, 0);
	synthfed_rows_free(&r);

	/* the health node hears of person 3 only; the NGO of person 1 */
	alerts(in, 2, end, 0, &r, &s);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.line[0], "63,repeat_episodes;order_breach,police");
	synthfed_rows_free(&r);
	alerts(in, 1, end, 0, &r, &s);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.line[0], "61,risk_high,police");
	synthfed_rows_free(&r);
	cases_input_free(in);
}

/*
 * Restricted records: a high-risk person at police and a restricted NGO record. Under general
 * the NGO is absent (police is the only holder: no alert, and the NGO hears nothing); under
 * child_protection both are alerted. A third holder makes police's alert stand under general,
 * with the NGO record counted as omitted and its type not named.
 */
static void test_alert_restricted(void **state)
{
	struct cases_input *in = NULL;
	struct cases_summary s;
	struct synthfed_rows r;
	int64_t end = at(2026, 1, 1, 0, 0, 0), t = at(2025, 6, 1, 0, 0, 0);
	size_t p, n, p2, n2, h2, n2b;

	(void)state;
	assert_int_equal(cases_input_new(&in), 0);
	p = rec(in, 0, "x-police", "police", 7, 0, "P");
	n = rec(in, 1, "x-ngo", "ngo", 7, 1, "N");
	ev(in, n, "risk_assessment", t, "victim", "high", -1, NULL);
	ev(in, p, "police_callout", t, "victim", "", -1, NULL);
	alerts(in, 0, end, 0, &r, &s);
	assert_int_equal(r.n, 0); /* the high risk was recorded only by the restricted record */
	alerts(in, 1, end, 0, &r, &s);
	assert_int_equal(r.n, 0);
	alerts(in, 0, end, 1, &r, &s);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.line[0], "50,risk_high,ngo");
	synthfed_rows_free(&r);
	alerts(in, 1, end, 1, &r, &s);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.line[0], "4e,risk_high,police");
	synthfed_rows_free(&r);

	/* person 8: police (high risk), health, a restricted NGO record and a second NGO record */
	p2 = rec(in, 0, "x-police", "police", 8, 0, "Q");
	h2 = rec(in, 2, "x-health", "health", 8, 0, "H");
	n2 = rec(in, 1, "x-ngo", "ngo", 8, 1, "M");
	n2b = rec(in, 1, "x-ngo", "ngo", 8, 0, "L");
	ev(in, p2, "risk_assessment", t, "victim", "high", -1, NULL);
	(void)h2;
	(void)n2;
	(void)n2b;
	alerts(in, 0, end, 0, &r, &s);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.line[0], "51,risk_high,health;ngo");
	assert_int_equal(s.omitted, 1);
	synthfed_rows_free(&r);
	/* the NGO is alerted for its visible record only */
	alerts(in, 1, end, 0, &r, &s);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.line[0], "4c,risk_high,police;health");
	synthfed_rows_free(&r);
	alerts(in, 1, end, 1, &r, &s);
	assert_int_equal(r.n, 3); /* persons 7 and 8 (both NGO records) */
	assert_int_equal(s.omitted, 0);
	synthfed_rows_free(&r);
	cases_input_free(in);
}

/* ---- ground truth from caselink synth ---- */

/* The loaded federation: the input, and "agency,person_ref" → record index. */
struct fed {
	struct cases_input *in;
	struct synthfed_map recs;
	struct synthfed_agencies agencies;
};

static size_t fed_record(void *ctx, const struct synthfed_record *r)
{
	struct fed *f = ctx;
	struct cases_record cr = {0};
	char key[600];
	size_t idx;

	synthfed_cases_record(r, r->person, &cr);
	assert_int_equal(cases_add_record(f->in, &cr, &idx), 0);
	snprintf(key, sizeof key, "%s,%s", r->agency_id, r->person_ref);
	synthfed_map_put(&f->recs, key, (uint32_t)idx);
	return idx;
}

static void fed_event(void *ctx, size_t record, const struct measures_event *e)
{
	struct fed *f = ctx;
	struct measures_event x = *e;

	x.age_years = -1;
	assert_int_equal(cases_add_event(f->in, record, &x), 0);
}

static void load_federation(const char *dir, struct fed *f)
{
	struct synthfed_sink sink = {NULL, fed_record, fed_event, NULL};

	memset(f, 0, sizeof *f);
	assert_int_equal(cases_input_new(&f->in), 0);
	sink.agencies = &f->agencies;
	sink.ctx = f;
	synthfed_load(dir, &sink);
}

static void ground_truth(const char *name, const char *synth_args)
{
	struct fed f;
	char dir[512], sub[64], path[700], from[16], to[16], asof[16] = "";
	size_t diff, lines = 0;

	snprintf(sub, sizeof sub, "cases-%s", name);
	synthfed_generate(sub, synth_args, dir, sizeof dir);
	load_federation(dir, &f);
	synthfed_period(dir, from, to, asof);

	/* M7: every request of m7_requests.csv, both bases, rows and status; M8: every agency */
	snprintf(path, sizeof path, "%s/truth/expected", dir);
	diff = synthcases_vs_truth(f.in, &f.recs, &f.agencies, path, asof, &lines);
	assert_true(lines > 0);
	synthfed_map_free(&f.recs);
	cases_input_free(f.in);
	assert_int_equal(diff, 0);
}

static void test_truth_seed1(void **state)
{
	(void)state;
	ground_truth("seed1", "--seed 1 --m7-max 400");
}

static void test_truth_seed7(void **state)
{
	(void)state;
	ground_truth("seed7", "--seed 7 --persons 2000 --municipalities liepaja,klaipeda,riga "
			      "--m7-max 400");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_history),
	    cmocka_unit_test(test_alert_rules),
	    cmocka_unit_test(test_alert_restricted),
	    cmocka_unit_test(test_truth_seed1),
	    cmocka_unit_test(test_truth_seed7),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
