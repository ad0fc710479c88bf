/*
 * test_measures — the coordinator's measure engine (coordinator/measures.c).
 *
 * (a) Small hand-built inputs whose answers are worked out in the comments, one per boundary
 *     of measures.md (72 h exactly and 72 h + 1 s, 24 h, 30 days, hidden repeats, not yet
 *     observable, age bands).
 * (b) Ground truth: federations written by `caselink synth` (two seeds, noise and cross-border
 *     movers) are read the way a node would send them (age at each event from the row's birth
 *     date, by year when only the year is known), linked by truth/links.csv, and every row of
 *     M1–M6 is compared with truth/expected/m1.csv … m6.csv, and with `caselink truth` for a
 *     two-year period (where M5 outcomes become observable).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "coordinator/measures.h"
#include "tests/synthfed.h"

/* The value of the row whose columns before metric,value are keys and whose metric is m. */
static const char *value_of(const struct synthfed_rows *r, const char *keys, const char *m)
{
	char want[512];
	size_t i, len;

	len = (size_t)snprintf(want, sizeof want, "%s%s%s%s,", r->prefix, keys, keys[0] ? "," : "",
			       m);
	for (i = 0; i < r->n; i++)
		if (strncmp(r->line[i], want, len) == 0)
			return r->line[i] + len;
	return "(absent)";
}

static void run(const struct measures_input *in, int measure, int group_by, int64_t from,
		int64_t to, struct synthfed_rows *out)
{
	memset(out, 0, sizeof *out);
	assert_int_equal(measures_compute(in, measure, from, to, group_by, synthfed_collect, out),
			 0);
}

/* ---- hand-built inputs ---- */

static int64_t at(int y, int mo, int d, int h, int mi, int s)
{
	return cldate_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

#define Y2025 at(2025, 1, 1, 0, 0, 0)
#define Y2026 at(2026, 1, 1, 0, 0, 0)

static size_t rec(struct measures_input *in, const char *agency, const char *type, char sex,
		  uint32_t person)
{
	struct measures_record r = {0};
	size_t idx;

	r.node = 0;
	r.agency_id = agency;
	r.agency_type = type;
	r.node_municipality = "Liepāja";
	r.sex = sex;
	r.linkable = 1;
	r.person = person;
	assert_int_equal(measures_add_record(in, &r, &idx), 0);
	return idx;
}

static void ev(struct measures_input *in, size_t r, const char *type, int64_t t, const char *role,
	       const char *risk, int threat, const char *refto, int age)
{
	struct measures_event e = {0};

	e.event_type = type;
	e.occurred_at = t;
	e.role = role;
	e.risk_level = risk;
	e.child_threat_level = threat;
	e.referral_to = refto;
	e.age_years = age;
	assert_int_equal(measures_add_event(in, r, &e), 0);
}

static void test_names(void **state)
{
	const char *const *cols;
	int m;

	(void)state;
	assert_int_equal(measures_parse_name("M3", &m), 0);
	assert_int_equal(m, MEASURES_M3);
	assert_int_equal(measures_parse_name("children_affected", &m), 0);
	assert_int_equal(m, MEASURES_M6);
	assert_int_equal(measures_parse_name("M7", &m), CL_ENOTFOUND);
	assert_int_equal(measures_parse_name("case_history", &m), CL_ENOTFOUND);
	assert_int_equal(measures_columns(MEASURES_M1, MEASURES_BY_MONTH, &cols), 5);
	assert_string_equal(cols[2], "month");
	assert_int_equal(measures_columns(MEASURES_M4, 0, &cols), 4);
	assert_string_equal(cols[1], "support_type");
	assert_int_equal(measures_columns(9, 0, &cols), 0);
}

static void test_bad_input(void **state)
{
	struct measures_input *in = NULL;
	struct measures_record r = {0, "a", "police", "Liepāja", 'F', 0, 1, 7};
	struct measures_event e = {"police_callout", 0, "victim", NULL, NULL, -1, NULL, 30};
	struct synthfed_rows out = {0};

	(void)state;
	assert_int_equal(measures_input_new(&in), 0);
	r.agency_type = "bakery";
	assert_int_equal(measures_add_record(in, &r, NULL), CL_EINVAL);
	r.agency_type = "police";
	r.sex = 'Q';
	assert_int_equal(measures_add_record(in, &r, NULL), CL_EINVAL);
	r.sex = 'F';
	assert_int_equal(measures_add_record(in, &r, NULL), 0);
	assert_int_equal(measures_add_event(in, 1, &e), CL_EINVAL);
	e.event_type = "party";
	assert_int_equal(measures_add_event(in, 0, &e), CL_EINVAL);
	e.event_type = "police_callout";
	e.role = "witness";
	assert_int_equal(measures_add_event(in, 0, &e), CL_EINVAL);
	e.role = "victim";
	e.risk_level = "extreme";
	assert_int_equal(measures_add_event(in, 0, &e), CL_EINVAL);
	e.risk_level = "high";
	e.child_threat_level = 3;
	assert_int_equal(measures_add_event(in, 0, &e), CL_EINVAL);
	e.child_threat_level = -1;
	assert_int_equal(measures_add_event(in, 0, &e), 0);
	assert_int_equal(measures_event_count(in), 1);
	assert_int_equal(measures_compute(in, 7, 0, 10, 0, synthfed_collect, &out), CL_EINVAL);
	assert_int_equal(measures_compute(in, MEASURES_M1, 10, 10, 0, synthfed_collect, &out),
			 CL_EINVAL);
	assert_int_equal(measures_compute(in, MEASURES_M1, 0, 10, 5, synthfed_collect, &out),
			 CL_EINVAL);
	synthfed_rows_free(&out);
	measures_input_free(in);
}

/*
 * Episodes and 72 h. Person 1 (F, 30): police callout 03-01 10:00, hospital injury exactly 72 h
 * later (same episode), crime report 72 h + 1 s after the injury (a new episode). Person 2
 * (M, 70): callout 2025-12-31 23:00 (in the period) and injury 2026-01-01 02:00 (same episode,
 * recorded after `to`).
 * M1 cells: Liepāja,police,Q1: 2 events (callout, crime report), 2 episodes, 1 victim.
 *           Liepāja,health,Q1: 1 event, 1 episode (the first), 1 victim.
 *           Liepāja,police,Q4: 1 event, 1 episode, 1 victim (M, 65+).
 *           Liepāja,health,Q4: 0 in-period events, 1 episode (its injury is after `to`).
 * M2: 2 victims, 1 repeat victim (person 1) with 2 episodes, gap 6 days (03-01 → 03-07);
 *     police holds both of person 1's episodes: no hidden repeat.
 */
static void test_episodes_72h(void **state)
{
	struct measures_input *in = NULL;
	struct synthfed_rows out;
	size_t p1, h1, p2, h2;
	int64_t t0 = at(2025, 3, 1, 10, 0, 0);

	(void)state;
	assert_int_equal(measures_input_new(&in), 0);
	p1 = rec(in, "lv-liepaja-police", "police", 'F', 1);
	h1 = rec(in, "lv-liepaja-health", "health", 'F', 1);
	p2 = rec(in, "lv-liepaja-police", "police", 'M', 2);
	h2 = rec(in, "lv-liepaja-health", "health", 'M', 2);
	ev(in, p1, "police_callout", t0, "victim", "medium", -1, NULL, 30);
	ev(in, h1, "medical_injury", t0 + 72 * 3600, "victim", NULL, -1, NULL, 30);
	ev(in, p1, "crime_report", t0 + 2 * 72 * 3600 + 1, "victim", NULL, -1, NULL, 30);
	ev(in, p2, "police_callout", at(2025, 12, 31, 23, 0, 0), "victim", NULL, -1, NULL, 70);
	ev(in, h2, "medical_injury", at(2026, 1, 1, 2, 0, 0), "victim", NULL, -1, NULL, 70);

	run(in, MEASURES_M1, MEASURES_BY_QUARTER, Y2025, Y2026, &out);
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q1", "incident_events"), "2");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q1", "episodes"), "2");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q1", "victims"), "1");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q1", "victims_age_25-44"), "1");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q1", "victims_risk_medium"), "1");
	assert_string_equal(value_of(&out, "Liepāja,health,2025-Q1", "incident_events"), "1");
	assert_string_equal(value_of(&out, "Liepāja,health,2025-Q1", "episodes"), "1");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q4", "victims_sex_M"), "1");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q4", "victims_age_65+"), "1");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q4", "victims_risk_unassessed"),
			    "1");
	assert_string_equal(value_of(&out, "Liepāja,health,2025-Q4", "incident_events"), "0");
	assert_string_equal(value_of(&out, "Liepāja,health,2025-Q4", "episodes"), "1");
	assert_string_equal(value_of(&out, "Liepāja,*,*", "incident_events"), "4");
	assert_string_equal(value_of(&out, "Liepāja,*,*", "unlinkable_share"), "0.000000");
	synthfed_rows_free(&out);

	run(in, MEASURES_M2, 0, Y2025, Y2026, &out);
	assert_string_equal(value_of(&out, "*", "victims"), "2");
	assert_string_equal(value_of(&out, "*", "repeat_victims"), "1");
	assert_string_equal(value_of(&out, "*", "repeat_rate"), "0.500000");
	assert_string_equal(value_of(&out, "*", "repeat_victim_episodes"), "2");
	assert_string_equal(value_of(&out, "*", "hidden_repeats"), "0");
	assert_string_equal(value_of(&out, "*", "gap_count"), "1");
	assert_string_equal(value_of(&out, "*", "gap_days_median"), "6");
	synthfed_rows_free(&out);
	measures_input_free(in);
}

/*
 * Ages across records. Victim 9 (born 2007-09-01): police callouts 2025-03-01 (age 17) and
 * 2025-10-01 (age 18) bound the birth date to (2007-03-01, 2007-10-01]; an NGO disclosure on
 * 2025-02-01 from a row without a birth date (age unknown) is therefore 17 whatever the day:
 * Liepāja,ngo,Q1 has one victim aged 0-17, not unknown; Liepāja,police,Q4 one aged 18-24.
 */
static void test_age_across_records(void **state)
{
	struct measures_input *in = NULL;
	struct synthfed_rows out;
	size_t p, n;

	(void)state;
	assert_int_equal(measures_input_new(&in), 0);
	p = rec(in, "lv-liepaja-police", "police", 'F', 9);
	n = rec(in, "lv-liepaja-ngo", "ngo", 'F', 9);
	ev(in, p, "police_callout", at(2025, 3, 1, 12, 0, 0), "victim", NULL, -1, NULL, 17);
	ev(in, p, "police_callout", at(2025, 10, 1, 12, 0, 0), "victim", NULL, -1, NULL, 18);
	ev(in, n, "ngo_disclosure", at(2025, 2, 1, 0, 0, 0), "victim", NULL, -1, NULL, -1);
	run(in, MEASURES_M1, MEASURES_BY_QUARTER, Y2025, Y2026, &out);
	assert_string_equal(value_of(&out, "Liepāja,ngo,2025-Q1", "victims_age_0-17"), "1");
	assert_string_equal(value_of(&out, "Liepāja,ngo,2025-Q1", "victims_age_unknown"), "0");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q4", "victims_age_18-24"), "1");
	synthfed_rows_free(&out);
	run(in, MEASURES_M1, MEASURES_BY_MONTH, Y2025, Y2026, &out);
	assert_string_equal(value_of(&out, "Liepāja,ngo,2025-02", "victims"), "1");
	synthfed_rows_free(&out);
	run(in, MEASURES_M1, MEASURES_BY_YEAR, Y2025, Y2026, &out);
	assert_string_equal(value_of(&out, "Liepāja,police,2025", "episodes"), "2");
	synthfed_rows_free(&out);
	measures_input_free(in);
}

/*
 * Hidden repeats. Person 1: episode 1 at police only, episode 2 (30 days later) at health
 * only: no agency holds two of them, hidden. Person 2: episode 1 at police, episode 2 at police
 * and health: police holds both, not hidden. Person 3: one episode, not a repeat.
 * M2 *: victims 3, repeat_victims 2, repeat_rate 2/3 = 0.666667, repeat_victim_episodes 4,
 * mean 2.000000, hidden_repeats 1, gaps 30 and 30 days.
 */
static void test_hidden_repeats(void **state)
{
	struct measures_input *in = NULL;
	struct synthfed_rows out;
	size_t p1, h1, p2, h2, p3;
	int64_t t0 = at(2025, 4, 1, 22, 0, 0), d30 = 30 * 86400;

	(void)state;
	assert_int_equal(measures_input_new(&in), 0);
	p1 = rec(in, "lv-liepaja-police", "police", 'F', 1);
	h1 = rec(in, "lv-liepaja-health", "health", 'F', 1);
	p2 = rec(in, "lv-liepaja-police", "police", 'F', 2);
	h2 = rec(in, "lv-liepaja-health", "health", 'F', 2);
	p3 = rec(in, "lv-liepaja-police", "police", 'F', 3);
	ev(in, p1, "police_callout", t0, "victim", NULL, -1, NULL, 40);
	ev(in, h1, "medical_injury", t0 + d30, "victim", NULL, -1, NULL, 40);
	ev(in, p2, "police_callout", t0, "victim", NULL, -1, NULL, 40);
	ev(in, p2, "police_callout", t0 + d30, "victim", NULL, -1, NULL, 40);
	ev(in, h2, "medical_injury", t0 + d30 + 3600, "victim", NULL, -1, NULL, 40);
	ev(in, p3, "police_callout", t0, "victim", NULL, -1, NULL, 40);
	run(in, MEASURES_M2, 0, Y2025, Y2026, &out);
	assert_string_equal(value_of(&out, "*", "victims"), "3");
	assert_string_equal(value_of(&out, "*", "repeat_victims"), "2");
	assert_string_equal(value_of(&out, "*", "repeat_rate"), "0.666667");
	assert_string_equal(value_of(&out, "*", "repeat_victim_episodes"), "4");
	assert_string_equal(value_of(&out, "*", "mean_episodes_per_repeat_victim"), "2.000000");
	assert_string_equal(value_of(&out, "*", "hidden_repeats"), "1");
	assert_string_equal(value_of(&out, "Liepāja", "hidden_repeats"), "1");
	assert_string_equal(value_of(&out, "*", "gap_days_min"), "30");
	assert_string_equal(value_of(&out, "*", "gap_days_max"), "30");
	synthfed_rows_free(&out);
	measures_input_free(in);
}

/*
 * Referral windows, police → social services, one person each. R1 received (referral_received)
 * exactly 24 h later: within 24 h. R2 intake 24 h + 1 s later: within 30 days only. R3 received
 * exactly 30 days later: within 30 days. R4 received 30 days + 1 s later: lost. R5 a
 * referral_received at the NGO 1 h later (not the type referred to): lost.
 * police,Liepāja: referrals 5, received_24h 1, received_30d 3, lost 2; delays 86400, 86401,
 * 2592000: nearest-rank median the 2nd, 86401 s = 24.000278 h → "24.00".
 */
static void test_referral_windows(void **state)
{
	struct measures_input *in = NULL;
	struct synthfed_rows out;
	int64_t t0 = at(2025, 5, 10, 20, 0, 0), delay[5] = {86400, 86401, 2592000, 2592001, 3600};
	const char *recv[5] = {"referral_received", "intake", "referral_received",
			       "referral_received", "referral_received"};
	size_t i, pr, sr;

	(void)state;
	assert_int_equal(measures_input_new(&in), 0);
	for (i = 0; i < 5; i++) {
		pr = rec(in, "lv-liepaja-police", "police", 'F', (uint32_t)(100 + i));
		sr = i == 4 ? rec(in, "lv-liepaja-ngo", "ngo", 'F', (uint32_t)(100 + i))
			    : rec(in, "lv-liepaja-social-services", "social_services", 'F',
				  (uint32_t)(100 + i));
		ev(in, pr, "referral_sent", t0, "victim", NULL, -1, "social_services", 30);
		ev(in, sr, recv[i], t0 + delay[i], "victim", NULL, -1, NULL, 30);
	}
	run(in, MEASURES_M3, 0, Y2025, Y2026, &out);
	assert_string_equal(value_of(&out, "police,Liepāja", "referrals"), "5");
	assert_string_equal(value_of(&out, "police,Liepāja", "received_24h"), "1");
	assert_string_equal(value_of(&out, "police,Liepāja", "received_30d"), "3");
	assert_string_equal(value_of(&out, "police,Liepāja", "lost"), "2");
	assert_string_equal(value_of(&out, "police,Liepāja", "median_delay_seconds"), "86401");
	assert_string_equal(value_of(&out, "*,*", "median_delay_hours"), "24.00");
	assert_string_equal(value_of(&out, "police,*", "referrals"), "5");
	synthfed_rows_free(&out);
	measures_input_free(in);
}

/*
 * Service uptake. A: callout t0, counselling exactly 30 days later (counts). B: crime report
 * t0, legal aid 30 days + 1 s later (does not). C: callout t0, intake 1 s before t0 (does not).
 * B's earlier callout in 2024 with a shelter admission is outside the period.
 * Liepāja any: victims 3, with_support 1, share 0.333333; counselling 1; legal_aid 0.
 */
static void test_uptake_window(void **state)
{
	struct measures_input *in = NULL;
	struct synthfed_rows out;
	int64_t t0 = at(2025, 6, 1, 1, 0, 0), d30 = 30 * 86400;
	size_t a, an, b, bn, cc, cs;

	(void)state;
	assert_int_equal(measures_input_new(&in), 0);
	a = rec(in, "lv-liepaja-police", "police", 'F', 1);
	an = rec(in, "lv-liepaja-ngo", "ngo", 'F', 1);
	b = rec(in, "lv-liepaja-police", "police", 'F', 2);
	bn = rec(in, "lv-liepaja-ngo", "ngo", 'F', 2);
	cc = rec(in, "lv-liepaja-police", "police", 'F', 3);
	cs = rec(in, "lv-liepaja-social-services", "social_services", 'F', 3);
	ev(in, a, "police_callout", t0, "victim", NULL, -1, NULL, 30);
	ev(in, an, "counselling", t0 + d30, "victim", NULL, -1, NULL, 30);
	ev(in, b, "police_callout", at(2024, 6, 1, 0, 0, 0), "victim", NULL, -1, NULL, 30);
	ev(in, bn, "shelter_admission", at(2024, 6, 2, 0, 0, 0), "victim", NULL, -1, NULL, 30);
	ev(in, b, "crime_report", t0, "victim", NULL, -1, NULL, 30);
	ev(in, bn, "legal_aid", t0 + d30 + 1, "victim", NULL, -1, NULL, 30);
	ev(in, cc, "police_callout", t0, "victim", NULL, -1, NULL, 30);
	ev(in, cs, "intake", t0 - 1, "victim", NULL, -1, NULL, 30);
	run(in, MEASURES_M4, 0, Y2025, Y2026, &out);
	assert_string_equal(value_of(&out, "Liepāja,any", "victims"), "3");
	assert_string_equal(value_of(&out, "Liepāja,any", "with_support"), "1");
	assert_string_equal(value_of(&out, "Liepāja,any", "share"), "0.333333");
	assert_string_equal(value_of(&out, "Liepāja,counselling", "with_support"), "1");
	assert_string_equal(value_of(&out, "*,legal_aid", "with_support"), "0");
	assert_string_equal(value_of(&out, "*,shelter_admission", "with_support"), "0");
	synthfed_rows_free(&out);
	measures_input_free(in);
}

/*
 * Programme outcomes over [2024-01-01, 2026-01-01). Q completed 2024-02-01, re-offends (new
 * perpetrator episode) exactly 365 days later: observable (end + 365 d < to), re-offended.
 * R dropped 2024-03-01: an episode 1 day before the end (not new) and one 366 days after
 * (too late): observable, not re-offended. S completed 2025-06-01: not yet observable.
 * T completed 2025-01-01: end + 365 d = 2026-01-01 = to, not yet observable.
 * completed: perpetrators 3, observable 1, not yet 2, reoffended 1, share 1.000000;
 * dropped: 1, 1, 0, 0, 0.000000.
 */
static void test_programme_outcomes(void **state)
{
	struct measures_input *in = NULL;
	struct synthfed_rows out;
	int64_t q = at(2024, 2, 1, 0, 0, 0), r = at(2024, 3, 1, 0, 0, 0), d365 = 365 * 86400;
	size_t qp, qpol, rp, rpol, sp, tp;

	(void)state;
	assert_int_equal(measures_input_new(&in), 0);
	qp = rec(in, "lv-liepaja-probation", "probation", 'M', 1);
	qpol = rec(in, "lv-liepaja-police", "police", 'M', 1);
	rp = rec(in, "lv-liepaja-probation", "probation", 'M', 2);
	rpol = rec(in, "lv-liepaja-police", "police", 'M', 2);
	sp = rec(in, "lv-liepaja-probation", "probation", 'M', 3);
	tp = rec(in, "lv-liepaja-probation", "probation", 'M', 4);
	ev(in, qp, "programme_completed", q, "perpetrator", NULL, -1, NULL, 40);
	ev(in, qpol, "police_callout", q + d365, "perpetrator", NULL, -1, NULL, 41);
	ev(in, rp, "programme_dropped", r, "perpetrator", NULL, -1, NULL, 40);
	ev(in, rpol, "police_callout", r - 86400, "perpetrator", NULL, -1, NULL, 40);
	ev(in, rpol, "police_callout", r + d365 + 86400, "perpetrator", NULL, -1, NULL, 41);
	ev(in, sp, "programme_completed", at(2025, 6, 1, 0, 0, 0), "perpetrator", NULL, -1, NULL,
	   40);
	ev(in, tp, "programme_completed", at(2025, 1, 1, 0, 0, 0), "perpetrator", NULL, -1, NULL,
	   40);
	run(in, MEASURES_M5, 0, at(2024, 1, 1, 0, 0, 0), Y2026, &out);
	assert_string_equal(value_of(&out, "completed", "perpetrators"), "3");
	assert_string_equal(value_of(&out, "completed", "observable"), "1");
	assert_string_equal(value_of(&out, "completed", "not_yet_observable"), "2");
	assert_string_equal(value_of(&out, "completed", "reoffended"), "1");
	assert_string_equal(value_of(&out, "completed", "reoffended_share"), "1.000000");
	assert_string_equal(value_of(&out, "dropped", "perpetrators"), "1");
	assert_string_equal(value_of(&out, "dropped", "observable"), "1");
	assert_string_equal(value_of(&out, "dropped", "reoffended"), "0");
	assert_string_equal(value_of(&out, "dropped", "reoffended_share"), "0.000000");
	synthfed_rows_free(&out);
	/* a one-year period: nothing is observable yet, the share is NA */
	run(in, MEASURES_M5, 0, Y2025, Y2026, &out);
	assert_string_equal(value_of(&out, "completed", "perpetrators"), "2");
	assert_string_equal(value_of(&out, "completed", "observable"), "0");
	assert_string_equal(value_of(&out, "completed", "reoffended_share"), "NA");
	synthfed_rows_free(&out);
	measures_input_free(in);
}

/*
 * Children by age band, sex and highest threat level. C1 (F, 3): threat 1, then 2 (at
 * another agency) → 0-3,F,2. C2 (M, 4): unassessed → 4-6,M,unassessed. C3 (U, 9, threat 0) →
 * 7-9,U,0. C4 (F, 10, threat 2 in 2024 only) → 10-14,F,unassessed. C5 (X, 17) → 15-17,X,
 * unassessed. C6 (F, age unknown, threat 1) → unknown,F,1. Total 6, every other cell 0.
 */
static void test_children(void **state)
{
	struct measures_input *in = NULL;
	struct synthfed_rows out;
	int64_t t = at(2025, 9, 1, 20, 0, 0);
	size_t c1, c1r, c2, c3, c4, c5, c6;

	(void)state;
	assert_int_equal(measures_input_new(&in), 0);
	c1 = rec(in, "lv-liepaja-police", "police", 'F', 1);
	c1r = rec(in, "lv-liepaja-child-rights", "child_rights", 'F', 1);
	c2 = rec(in, "lv-liepaja-police", "police", 'M', 2);
	c3 = rec(in, "lv-liepaja-police", "police", 'U', 3);
	c4 = rec(in, "lv-liepaja-police", "police", 'F', 4);
	c5 = rec(in, "lv-liepaja-police", "police", 'X', 5);
	c6 = rec(in, "lv-liepaja-police", "police", 'F', 6);
	ev(in, c1, "police_callout", t, "child", NULL, -1, NULL, 3);
	ev(in, c1, "child_threat_assessment", t + 3600, "child", NULL, 1, NULL, 3);
	ev(in, c1r, "child_threat_assessment", t + 86400, "child", NULL, 2, NULL, 3);
	ev(in, c2, "police_callout", t, "child", NULL, -1, NULL, 4);
	ev(in, c3, "police_callout", t, "child", NULL, 0, NULL, 9);
	ev(in, c4, "child_threat_assessment", at(2024, 5, 1, 0, 0, 0), "child", NULL, 2, NULL, 9);
	ev(in, c4, "police_callout", t, "child", NULL, -1, NULL, 10);
	ev(in, c5, "police_callout", t, "child", NULL, -1, NULL, 17);
	ev(in, c6, "police_callout", t, "child", NULL, 1, NULL, -1);
	run(in, MEASURES_M6, 0, Y2025, Y2026, &out);
	assert_int_equal(out.n, 1 + 7 * 4 * 4);
	assert_string_equal(value_of(&out, "*,*,*", "children"), "6");
	assert_string_equal(value_of(&out, "0-3,F,2", "children"), "1");
	assert_string_equal(value_of(&out, "0-3,F,1", "children"), "0");
	assert_string_equal(value_of(&out, "4-6,M,unassessed", "children"), "1");
	assert_string_equal(value_of(&out, "7-9,U,0", "children"), "1");
	assert_string_equal(value_of(&out, "10-14,F,unassessed", "children"), "1");
	assert_string_equal(value_of(&out, "15-17,X,unassessed", "children"), "1");
	assert_string_equal(value_of(&out, "unknown,F,1", "children"), "1");
	assert_string_equal(value_of(&out, "18+,F,unassessed", "children"), "0");
	synthfed_rows_free(&out);
	measures_input_free(in);
}

/*
 * Every age-band edge, by hand (issue 12 §7: a moved edge must fail a test, not hide in a
 * tolerance). M1: one victim per age 17, 18, 24, 25, 44, 45, 64, 65, all in Liepāja,police,
 * 2025-Q1 → 0-17: 1 (17), 18-24: 2 (18, 24), 25-44: 2 (25, 44), 45-64: 2 (45, 64), 65+: 1
 * (65). Moving any edge by one year either way moves one person between neighbouring bands.
 */
static void test_age_band_edges(void **state)
{
	static const int ages[] = {17, 18, 24, 25, 44, 45, 64, 65};
	struct measures_input *in = NULL;
	struct synthfed_rows out;
	int64_t t = at(2025, 2, 1, 12, 0, 0);
	size_t i;

	(void)state;
	assert_int_equal(measures_input_new(&in), 0);
	for (i = 0; i < sizeof ages / sizeof ages[0]; i++) {
		size_t r = rec(in, "lv-liepaja-police", "police", 'F', (uint32_t)(100 + i));

		ev(in, r, "police_callout", t + (int64_t)i * 86400 * 5, "victim", NULL, -1, NULL,
		   ages[i]);
	}
	run(in, MEASURES_M1, MEASURES_BY_QUARTER, Y2025, Y2026, &out);
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q1", "victims"), "8");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q1", "victims_age_0-17"), "1");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q1", "victims_age_18-24"), "2");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q1", "victims_age_25-44"), "2");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q1", "victims_age_45-64"), "2");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q1", "victims_age_65+"), "1");
	assert_string_equal(value_of(&out, "Liepāja,police,2025-Q1", "victims_age_unknown"), "0");
	synthfed_rows_free(&out);
	measures_input_free(in);
}

/*
 * M6's child bands at every edge: one child (F, no threat assessment) per age 3, 4, 6, 7, 9,
 * 10, 14, 15, 17, 18 → 0-3: 1, 4-6: 2, 7-9: 2, 10-14: 2, 15-17: 2, 18+: 1.
 */
static void test_child_band_edges(void **state)
{
	static const int ages[] = {3, 4, 6, 7, 9, 10, 14, 15, 17, 18};
	static const struct {
		const char *cell, *want;
	} bands[] = {{"0-3,F,unassessed", "1"},	    {"4-6,F,unassessed", "2"},
		     {"7-9,F,unassessed", "2"},	    {"10-14,F,unassessed", "2"},
		     {"15-17,F,unassessed", "2"},   {"18+,F,unassessed", "1"},
		     {"unknown,F,unassessed", "0"}, {"*,*,*", "10"}};
	struct measures_input *in = NULL;
	struct synthfed_rows out;
	int64_t t = at(2025, 9, 1, 20, 0, 0);
	size_t i;

	(void)state;
	assert_int_equal(measures_input_new(&in), 0);
	for (i = 0; i < sizeof ages / sizeof ages[0]; i++) {
		size_t r = rec(in, "lv-liepaja-police", "police", 'F', (uint32_t)(200 + i));

		ev(in, r, "police_callout", t + (int64_t)i * 3600, "child", NULL, -1, NULL,
		   ages[i]);
	}
	run(in, MEASURES_M6, 0, Y2025, Y2026, &out);
	for (i = 0; i < sizeof bands / sizeof bands[0]; i++) {
		if (strcmp(value_of(&out, bands[i].cell, "children"), bands[i].want))
			print_message("%s: %s, want %s\n", bands[i].cell,
				      value_of(&out, bands[i].cell, "children"), bands[i].want);
		assert_string_equal(value_of(&out, bands[i].cell, "children"), bands[i].want);
	}
	synthfed_rows_free(&out);
	measures_input_free(in);
}

/* ---- ground truth from caselink synth ---- */

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

/* Reads a synth federation into *out (linked persons from truth/links.csv). */
static void load_federation(const char *dir, struct measures_input **out)
{
	struct measures_input *in = NULL;
	struct synthfed_sink sink = {NULL, fed_record, fed_event, NULL};

	assert_int_equal(measures_input_new(&in), 0);
	sink.ctx = in;
	synthfed_load(dir, &sink);
	*out = in;
}

/*
 * Compares M1–M6 over [from, to) with expdir/m1.csv … m6.csv; returns the differing lines other
 * than age counts. The persons placed in another age band must stay under 1 % of the distinct
 * persons of the total rows (M2 "*" victims, M6 "*,*,*" children) plus 2, and each M1 cell's age
 * counts must still add up to its victims.
 */
static size_t compare_all(const struct measures_input *in, const char *expdir, const char *from,
			  const char *to)
{
	uint64_t moved = 0, persons = 0;
	size_t diff = 0, i;
	int m;

	for (m = MEASURES_M1; m <= MEASURES_M6; m++) {
		struct synthfed_rows got = {0};
		char file[1100];

		memset(&got, 0, sizeof got);
		snprintf(got.prefix, sizeof got.prefix, "%s,%s,", from, to);
		assert_int_equal(measures_compute(in, m, synthfed_parse_day(from),
						  synthfed_parse_day(to), MEASURES_BY_QUARTER,
						  synthfed_collect, &got),
				 0);
		assert_true(got.n > 0);
		if (m == MEASURES_M1) {
			/* every cell: the age groups add up to the victims */
			for (i = 0; i < got.n; i++) {
				char cell[512], *v = strstr(got.line[i], ",victims,");

				if (!v)
					continue;
				snprintf(cell, sizeof cell, "%.*s,", (int)(v - got.line[i]),
					 got.line[i]);
				assert_int_equal(synthfed_sum_lines(&got, cell, ",victims_age_"),
						 (uint64_t)atoll(v + 9));
			}
		}
		/* The tolerance's persons: the total rows (distinct victims, distinct children). */
		if (m == MEASURES_M2)
			persons += synthfed_sum_lines(&got, got.prefix, "*,victims,");
		if (m == MEASURES_M6)
			persons += synthfed_sum_lines(&got, got.prefix, "*,*,*,children");
		snprintf(file, sizeof file, "%s/m%d.csv", expdir, m);
		diff += synthfed_compare_file(&got, file, &moved, 1);
		synthfed_rows_free(&got);
	}
	print_message("%s: %llu of %llu persons in another age band than the reference\n", expdir,
		      (unsigned long long)(moved / 2), (unsigned long long)persons);
	assert_true(moved / 2 <= persons / 100 + 2);
	return diff;
}

static void ground_truth(const char *name, const char *synth_args)
{
	const char *bin = getenv("CASELINK_BIN");
	struct measures_input *in = NULL;
	char dir[512], cmd[2048], expdir[600], sub[64], from[16] = "", to[16] = "", asof[16];
	size_t diff;

	snprintf(sub, sizeof sub, "measures-%s", name);
	synthfed_generate(sub, synth_args, dir, sizeof dir);
	load_federation(dir, &in);

	/* the default period, as synth wrote it */
	synthfed_period(dir, from, to, asof);
	snprintf(expdir, sizeof expdir, "%s/truth/expected", dir);
	diff = compare_all(in, expdir, from, to);

	/* a two-year period: M5 outcomes become observable */
	snprintf(expdir, sizeof expdir, "%s/truth2", dir);
	snprintf(cmd, sizeof cmd,
		 "'%s/caselink' truth --data '%s' --from 2024-01-01 --to 2026-01-01 --m7-max 1 "
		 "--out '%s' >/dev/null",
		 bin, dir, expdir);
	assert_int_equal(synthfed_shell(cmd), 0);
	diff += compare_all(in, expdir, "2024-01-01", "2026-01-01");
	measures_input_free(in);
	assert_int_equal(diff, 0);
}

static void test_truth_seed1(void **state)
{
	(void)state;
	ground_truth("seed1", "--seed 1");
}

static void test_truth_seed7(void **state)
{
	(void)state;
	ground_truth("seed7", "--seed 7 --persons 2000 --municipalities liepaja,klaipeda,riga");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_episodes_72h),
	    cmocka_unit_test(test_age_across_records),
	    cmocka_unit_test(test_hidden_repeats),
	    cmocka_unit_test(test_referral_windows),
	    cmocka_unit_test(test_uptake_window),
	    cmocka_unit_test(test_programme_outcomes),
	    cmocka_unit_test(test_children),
	    cmocka_unit_test(test_age_band_edges),
	    cmocka_unit_test(test_child_band_edges),
	    cmocka_unit_test(test_truth_seed1),
	    cmocka_unit_test(test_truth_seed7),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
