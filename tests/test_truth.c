/*
 * test_truth — the reference measure engine on a tiny hand-built federation
 * whose answers are worked out by hand in the comments (one municipality,
 * six agencies, a dozen people). Each case targets a boundary of measures.md.
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
#include "tools/truth.h"

static char truth_dir[512], truth_out[600], truth_out2[600];

static void put(const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", truth_dir, rel);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static const char *const ags[] = {"lv-liepaja-police",		"lv-liepaja-health",
				  "lv-liepaja-social-services", "lv-liepaja-ngo",
				  "lv-liepaja-probation",	"lv-liepaja-child-rights"};

#define PH "person_ref,national_id,id_country,given_name,family_name,birth_date,sex,sharing\n"
#define EH                                                                                         \
	"event_ref,person_ref,event_type,occurred_at,role,other_person_ref,relationship,"          \
	"violence_forms,risk_level,risk_score,risk_instrument,child_threat_level,referral_to,"     \
	"municipality\n"

/*
 * V (police PV, health HV restricted, social SV): callout 03-01 10:00, high risk, referral
 * received exactly 24 h later, injury exactly 72 h after the callout (same episode), crime
 * report 72 h + 1 s after the injury (a new episode), counselling exactly 30 days after the
 * callout. Birth date known by year only (2000): age 25 in 2025.
 * W (police PW, social SW, ngo NW unlinkable): callout 05-01, intake exactly 30 days after
 * the referral (received, not within 24 h; 30 d + 2 h after the callout, so no uptake),
 * NGO disclosure 06-15 (a hidden repeat), protection order breach 07-01.
 * X (police PX, social SX, ngo NX restricted): callouts 05-01 and 08-01, NGO disclosure
 * 10-01; referral received 30 d + 1 s later (lost), a referral_received at the NGO (wrong type).
 * Children C1 (3 years, threat 1 then 2), C2 (year-only birth: 4 by year, unassessed),
 * C3 (15, threat 0). Perpetrators Q (completed 2024-02-01, re-offends exactly 365 d later),
 * R (dropped 2024-03-01, re-offends 366 d later), S (completed 2025-06-01).
 */
static int setup(void **state)
{
	const char *tmp = getenv("CASELINK_TMP");
	char path[1024];
	size_t i;

	(void)state;
	snprintf(truth_dir, sizeof(truth_dir), "%s/truth-hand", tmp ? tmp : "/tmp");
	snprintf(truth_out, sizeof(truth_out), "%s/out", truth_dir);
	snprintf(truth_out2, sizeof(truth_out2), "%s/out2", truth_dir);
	mkdir(truth_dir, 0755);
	snprintf(path, sizeof(path), "%s/agencies", truth_dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/truth", truth_dir);
	mkdir(path, 0755);
	for (i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "%s/agencies/%s", truth_dir, ags[i]);
		mkdir(path, 0755);
	}
	put("federation.csv", "agency_id,agency_type,municipality,country\n"
			      "lv-liepaja-police,police,Liepāja,LV\n"
			      "lv-liepaja-health,health,Liepāja,LV\n"
			      "lv-liepaja-social-services,social_services,Liepāja,LV\n"
			      "lv-liepaja-ngo,ngo,Liepāja,LV\n"
			      "lv-liepaja-probation,probation,Liepāja,LV\n"
			      "lv-liepaja-child-rights,child_rights,Liepāja,LV\n");
	put("truth/links.csv", "agency_id,person_ref,true_person_id\n"
			       "lv-liepaja-police,PV,TV\nlv-liepaja-health,HV,TV\n"
			       "lv-liepaja-social-services,SV,TV\n"
			       "lv-liepaja-police,PW,TW\nlv-liepaja-social-services,SW,TW\n"
			       "lv-liepaja-ngo,NW,TW\n"
			       "lv-liepaja-police,PX,TX\nlv-liepaja-social-services,SX,TX\n"
			       "lv-liepaja-ngo,NX,TX\n"
			       "lv-liepaja-police,PC1,TC1\nlv-liepaja-child-rights,CC1,TC1\n"
			       "lv-liepaja-police,PC2,TC2\nlv-liepaja-police,PC3,TC3\n"
			       "lv-liepaja-child-rights,CC3,TC3\n"
			       "lv-liepaja-police,PQ,TQ\nlv-liepaja-probation,RQ,TQ\n"
			       "lv-liepaja-police,PR,TR\nlv-liepaja-probation,RR,TR\n"
			       "lv-liepaja-probation,RS,TS\n");
	put("agencies/lv-liepaja-police/persons.csv", PH "PV,,,Anna,Bērziņa,2000,F,\n"
							 "PW,,,Inese,Ozola,1990-05-05,F,\n"
							 "PX,,,Ilze,Kalniņa,1985-01-01,F,allowed\n"
							 "PC1,,,Alise,Kalniņa,2021-06-15,F,\n"
							 "PC2,,,Kārlis,Kalniņš,2021,M,\n"
							 "PC3,,,Jānis,Ozols,2010-01-01,M,\n"
							 "PQ,,,Andris,Liepiņš,1980-01-01,M,\n"
							 "PR,,,Edgars,Vītols,1981-01-01,M,\n");
	put("agencies/lv-liepaja-police/events.csv",
	    EH "E1,PV,police_callout,2025-03-01T10:00:00Z,victim,,,,,,,,,\n"
	       "E2,PV,risk_assessment,2025-03-01T13:00:00+02:00,victim,,,,high,20,police_ra,,,\n"
	       "E3,PV,referral_sent,2025-03-01T12:00:00Z,victim,,,,,,,,social_services,\n"
	       "E4,PV,crime_report,2025-03-07T10:00:01Z,victim,,,,,,,,,Liepāja\n"
	       "E5,PW,police_callout,2025-05-01T10:00:00Z,victim,,,,,,,,,\n"
	       "E6,PW,referral_sent,2025-05-01T12:00:00Z,victim,,,,,,,,social_services,\n"
	       "E7,PW,protection_order_breach,2025-07-01T09:00:00Z,victim,,,,,,,,,\n"
	       "E8,PX,police_callout,2025-05-01T10:00:00Z,victim,,,,,,,,,\n"
	       "E9,PX,referral_sent,2025-05-01T12:00:00Z,victim,,,,,,,,social_services,\n"
	       "E10,PX,police_callout,2025-08-01T10:00:00Z,victim,,,,,,,,,\n"
	       "E11,PC1,police_callout,2025-06-14T10:00:00Z,child,,,,,,,,,\n"
	       "E12,PC2,police_callout,2025-01-10T10:00:00Z,child,,,,,,,,,\n"
	       "E13,PC3,police_callout,2025-01-01T00:00:00Z,child,,,,,,,,,\n"
	       "E14,PQ,police_callout,2025-01-31T00:00:00Z,perpetrator,,,,,,,,,\n"
	       "E15,PR,police_callout,2025-03-02T00:00:00Z,perpetrator,,,,,,,,,\n");
	put("agencies/lv-liepaja-health/persons.csv", PH "HV,,,Anna,Berzina,2000,F,restricted\n");
	put("agencies/lv-liepaja-health/events.csv",
	    EH "H1,HV,medical_injury,2025-03-04T10:00,victim,,,physical,,,,,,\n");
	put("agencies/lv-liepaja-social-services/persons.csv",
	    PH "SV,,,Anna,Bērziņa,2000,F,\nSW,,,Inese,Ozola,1990-05-05,F,\n"
	       "SX,,,Ilze,Kalniņa,1985-01-01,F,\n");
	put("agencies/lv-liepaja-social-services/events.csv",
	    EH "S1,SV,referral_received,2025-03-02T14:00+02:00,victim,,,,,,,,,\n"
	       "S2,SV,counselling,2025-03-31T10:00:00Z,victim,,,,,,,,,\n"
	       "S3,SW,intake,2025-05-31T12:00:00Z,victim,,,,,,,,,\n"
	       "S4,SX,referral_received,2025-05-31T12:00:01Z,victim,,,,,,,,,\n");
	put("agencies/lv-liepaja-ngo/persons.csv",
	    PH "NW,,,Inese,,1990-05-05,F,\nNX,,,Ilze,Kalnina,1985,U,restricted\n");
	put("agencies/lv-liepaja-ngo/events.csv",
	    EH "N1,NW,ngo_disclosure,2025-06-15,victim,,,,,,,,,\n"
	       "N2,NX,ngo_disclosure,2025-10-01T10:00,victim,,,,,,,,,\n"
	       "N3,NX,referral_received,2025-05-01T13:00:00Z,victim,,,,,,,,,\n");
	put("agencies/lv-liepaja-probation/persons.csv",
	    PH "RQ,,,Andris,Liepiņš,1980-01-01,M,\nRR,,,Edgars,Vītols,1981-01-01,M,\n"
	       "RS,,,Guntis,Zariņš,1979-01-01,M,\n");
	put("agencies/lv-liepaja-probation/events.csv",
	    EH "R1,RQ,programme_completed,2024-02-01,perpetrator,,,,,,,,,\n"
	       "R2,RR,programme_dropped,2024-03-01,perpetrator,,,,,,,,,\n"
	       "R3,RS,programme_completed,2025-06-01,perpetrator,,,,,,,,,\n");
	put("agencies/lv-liepaja-child-rights/persons.csv",
	    PH "CC1,,,Alise,Kalniņa,2021-06-15,F,\nCC3,,,Jānis,Ozols,2010-01-01,M,\n");
	put("agencies/lv-liepaja-child-rights/events.csv",
	    EH "C1,CC1,child_threat_assessment,2025-06-20,child,,,,,,,1,,\n"
	       "C2,CC1,child_threat_assessment,2025-07-20,child,,,,,,,2,,\n"
	       "C3,CC3,child_threat_assessment,2025-02-01,child,,,,,,,0,,\n");
	assert_int_equal(
	    truth_compute(truth_dir, "2025-01-01", "2026-01-01", NULL, truth_out, 1000), 0);
	assert_int_equal(
	    truth_compute(truth_dir, "2024-01-01", "2026-01-01", NULL, truth_out2, 1000), 0);
	return 0;
}

/* The value after `needle` on the one line of out/file that contains it (NULL if not one). */
static char *value_of(const char *dir, const char *file, const char *needle)
{
	static char val[256];
	char path[1024], line[1024];
	FILE *f;
	int hits = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, needle);

		if (!p)
			continue;
		hits++;
		snprintf(val, sizeof(val), "%s", p + strlen(needle));
		val[strcspn(val, "\r\n")] = '\0';
	}
	fclose(f);
	return hits == 1 ? val : NULL;
}

static int count_lines(const char *dir, const char *file, const char *needle)
{
	char path[1024], line[1024];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "rb");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

#define EXPECT(file, needle, want)                                                                 \
	do {                                                                                       \
		const char *v_ = value_of(truth_out, file, needle);                                \
		assert_non_null(v_);                                                               \
		assert_string_equal(v_, want);                                                     \
	} while (0)

/* 72 h exactly chains, 72 h + 1 s does not; age by year; highest risk; unlinkable share. */
static void test_m1_episodes(void **state)
{
	(void)state;
	EXPECT("m1.csv", "2025-01-01,2026-01-01,Liepāja,police,2025-Q1,incident_events,", "2");
	EXPECT("m1.csv", "Liepāja,police,2025-Q1,episodes,", "2");
	EXPECT("m1.csv", "Liepāja,police,2025-Q1,victims,", "1");
	EXPECT("m1.csv", "Liepāja,police,2025-Q1,victims_age_25-44,", "1");
	EXPECT("m1.csv", "Liepāja,police,2025-Q1,victims_age_18-24,", "0");
	EXPECT("m1.csv", "Liepāja,police,2025-Q1,victims_risk_high,", "1");
	EXPECT("m1.csv", "Liepāja,police,2025-Q1,victims_sex_F,", "1");
	EXPECT("m1.csv", "Liepāja,health,2025-Q1,incident_events,", "1");
	EXPECT("m1.csv", "Liepāja,health,2025-Q1,episodes,", "1");
	/* W and X: three callouts in Q2/Q3 at the police, none with an assessed risk */
	EXPECT("m1.csv", "Liepāja,police,2025-Q2,episodes,", "2");
	EXPECT("m1.csv", "Liepāja,police,2025-Q2,victims_risk_unassessed,", "2");
	EXPECT("m1.csv", "Liepāja,ngo,2025-Q4,episodes,", "1");
	EXPECT("m1.csv", "Liepāja,*,*,incident_events,", "8");
	EXPECT("m1.csv", "Liepāja,*,*,unlinkable_incident_events,", "1");
	EXPECT("m1.csv", "Liepāja,*,*,unlinkable_share,", "0.125000");
}

/* Hidden repeat (W) vs a repeat one agency sees (V, X); nearest-rank quartiles of gaps. */
static void test_m2_repeats(void **state)
{
	(void)state;
	EXPECT("m2.csv", "Liepāja,victims,", "3");
	EXPECT("m2.csv", "Liepāja,repeat_victims,", "3");
	EXPECT("m2.csv", "Liepāja,repeat_rate,", "1.000000");
	EXPECT("m2.csv", "Liepāja,repeat_victim_episodes,", "7");
	EXPECT("m2.csv", "Liepāja,mean_episodes_per_repeat_victim,", "2.333333");
	EXPECT("m2.csv", "Liepāja,hidden_repeats,", "1");
	/* gaps 6 (V), 45 (W), 92 and 61 (X) */
	EXPECT("m2.csv", "Liepāja,gap_count,", "4");
	EXPECT("m2.csv", "Liepāja,gap_days_min,", "6");
	EXPECT("m2.csv", "Liepāja,gap_days_q1,", "6");
	EXPECT("m2.csv", "Liepāja,gap_days_median,", "45");
	EXPECT("m2.csv", "Liepāja,gap_days_q3,", "61");
	EXPECT("m2.csv", "Liepāja,gap_days_max,", "92");
	EXPECT("m2.csv", ",*,hidden_repeats,", "1");
}

/* 24 h exactly is within 24 h; 30 days exactly is received; 30 days + 1 s is lost. */
static void test_m3_referrals(void **state)
{
	(void)state;
	EXPECT("m3.csv", "police,Liepāja,referrals,", "3");
	EXPECT("m3.csv", "police,Liepāja,received_24h,", "1");
	EXPECT("m3.csv", "police,Liepāja,received_30d,", "2");
	EXPECT("m3.csv", "police,Liepāja,lost,", "1");
	EXPECT("m3.csv", "police,Liepāja,median_delay_seconds,", "86400");
	EXPECT("m3.csv", "police,Liepāja,median_delay_hours,", "24.00");
}

/* Support exactly 30 days after the first police incident counts; 30 d + 2 h does not. */
static void test_m4_uptake(void **state)
{
	(void)state;
	EXPECT("m4.csv", "Liepāja,any,victims,", "3");
	EXPECT("m4.csv", "Liepāja,any,with_support,", "1");
	EXPECT("m4.csv", "Liepāja,any,share,", "0.333333");
	EXPECT("m4.csv", "Liepāja,counselling,with_support,", "1");
	EXPECT("m4.csv", "Liepāja,intake,with_support,", "0");
}

/* Programme outcomes: 365 days inclusive, and "not yet observable" before `to`. */
static void test_m5_programmes(void **state)
{
	const char *v;

	(void)state;
	EXPECT("m5.csv", "completed,perpetrators,", "1");
	EXPECT("m5.csv", "completed,not_yet_observable,", "1");
	EXPECT("m5.csv", "completed,reoffended_share,", "NA");
	EXPECT("m5.csv", "dropped,perpetrators,", "0");
	v = value_of(truth_out2, "m5.csv", "2024-01-01,2026-01-01,completed,perpetrators,");
	assert_non_null(v);
	assert_string_equal(v, "2");
	v = value_of(truth_out2, "m5.csv", "completed,observable,");
	assert_string_equal(v, "1");
	v = value_of(truth_out2, "m5.csv", "completed,reoffended,");
	assert_string_equal(v, "1");
	v = value_of(truth_out2, "m5.csv", "completed,not_yet_observable,");
	assert_string_equal(v, "1");
	v = value_of(truth_out2, "m5.csv", "dropped,observable,");
	assert_string_equal(v, "1");
	v = value_of(truth_out2, "m5.csv", "dropped,reoffended_share,");
	assert_string_equal(v, "0.000000");
}

/* Children: age bands (a birthday one day away, a year-only birth date), highest threat level. */
static void test_m6_children(void **state)
{
	(void)state;
	EXPECT("m6.csv", ",*,*,*,children,", "3");
	EXPECT("m6.csv", ",0-3,F,2,children,", "1");
	EXPECT("m6.csv", ",0-3,F,1,children,", "0");
	EXPECT("m6.csv", ",4-6,M,unassessed,children,", "1");
	EXPECT("m6.csv", ",15-17,M,0,children,", "1");
	EXPECT("m6.csv", ",7-9,M,unassessed,children,", "0");
}

/* A restricted record is left out of M7 unless the basis is child_protection. */
static void test_m7_restricted(void **state)
{
	(void)state;
	EXPECT("m7_requests.csv", "general,lv-liepaja-police,PV,", "partial,6,1");
	EXPECT("m7_requests.csv", "child_protection,lv-liepaja-police,PV,", "complete,7,0");
	EXPECT("m7_requests.csv", "general,lv-liepaja-health,HV,", "requester_restricted,0,1");
	assert_int_equal(count_lines(truth_out, "m7.csv", "general,lv-liepaja-police,PV,"), 6);
	assert_int_equal(count_lines(truth_out, "m7.csv", "lv-liepaja-health,Liepāja"), 0 + 3 * 1);
	EXPECT("m7.csv", "child_protection,lv-liepaja-police,PV,5,",
	       "2025-03-04T10:00:00Z,health,lv-liepaja-health,Liepāja,medical_injury,victim,,");
	EXPECT(
	    "m7.csv", "general,lv-liepaja-police,PV,2,",
	    "2025-03-01T11:00:00Z,police,lv-liepaja-police,Liepāja,risk_assessment,victim,high,");
}

/* M8: restricted rows neither alert nor make a person held by two agencies. */
static void test_m8_alerts(void **state)
{
	(void)state;
	assert_int_equal(count_lines(truth_out, "m8.csv", ",general,"), 5);
	assert_int_equal(count_lines(truth_out, "m8.csv", ",child_protection,"), 9);
	EXPECT("m8.csv", "general,lv-liepaja-police,PV,", "risk_high,social_services");
	EXPECT("m8.csv", "child_protection,lv-liepaja-police,PV,",
	       "risk_high,social_services;health");
	EXPECT("m8.csv", "general,lv-liepaja-police,PW,", "order_breach,social_services;ngo");
	EXPECT("m8.csv", "general,lv-liepaja-ngo,NW,", "order_breach,police;social_services");
	assert_int_equal(count_lines(truth_out, "m8.csv", "general,lv-liepaja-police,PX,"), 0);
	EXPECT("m8.csv", "child_protection,lv-liepaja-police,PX,",
	       "repeat_episodes,social_services;ngo");
	assert_int_equal(count_lines(truth_out, "m8.csv", "general,lv-liepaja-health,"), 0);
}

/* Bad input is refused, not guessed at. */
static void test_bad_input(void **state)
{
	char out[700];

	(void)state;
	snprintf(out, sizeof(out), "%s/bad", truth_dir);
	assert_int_not_equal(truth_compute(truth_dir, "2025-01-01", "2024-01-01", NULL, out, 10),
			     0);
	assert_int_not_equal(truth_compute(truth_dir, "2025-02-30", "2026-01-01", NULL, out, 10),
			     0);
	put("agencies/lv-liepaja-ngo/events.csv", EH "N1,NW,ngo_chat,2025-06-15,victim,,,,,,,,,\n");
	assert_int_equal(truth_compute(truth_dir, "2025-01-01", "2026-01-01", NULL, out, 10),
			 CL_EPARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_m1_episodes),	  cmocka_unit_test(test_m2_repeats),
	    cmocka_unit_test(test_m3_referrals),  cmocka_unit_test(test_m4_uptake),
	    cmocka_unit_test(test_m5_programmes), cmocka_unit_test(test_m6_children),
	    cmocka_unit_test(test_m7_restricted), cmocka_unit_test(test_m8_alerts),
	    cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
