/*
 * Tests of node/import: every validation rule with its exact FILE:LINE:COLUMN
 * message, all bad rows reported, atomicity, upsert counts, restricted
 * sharing, year-only birth dates, BOM/CRLF/quoted fields.
 */
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
#include "common/csv.h"
#include "node/import.h"
#include "node/store.h"

/* 2025-01-01T00:00:00Z: "now" for every import in these tests */
#define T_NOW 1735689600LL

static const char *const t_pheader =
    "person_ref,national_id,id_country,given_name,family_name,birth_date,sex,sharing\n";
static const char *const t_eheader =
    "event_ref,person_ref,event_type,occurred_at,role,other_person_ref,relationship,"
    "violence_forms,risk_level,risk_score,risk_instrument,child_threat_level,referral_to,"
    "municipality\n";

struct t_ctx {
	char dir[512];
	char persons[600], events[600];
	struct node_store *s;
	char *errs; /* the error output of the last t_import */
};

static int t_counter;

static void t_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

/* A Lithuanian code with its check digit computed from the spec's rule, not by pcode. */
static void t_lt_code(const char *first10, char out[12])
{
	static const int w1[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1},
			 w2[10] = {3, 4, 5, 6, 7, 8, 9, 1, 2, 3};
	int i, s = 0, c;

	for (i = 0; i < 10; i++)
		s += (first10[i] - '0') * w1[i];
	c = s % 11;
	if (c == 10) {
		s = 0;
		for (i = 0; i < 10; i++)
			s += (first10[i] - '0') * w2[i];
		c = s % 11 == 10 ? 0 : s % 11;
	}
	memcpy(out, first10, 10);
	out[10] = (char)('0' + c);
	out[11] = '\0';
}

static int t_setup(void **state)
{
	struct t_ctx *c = calloc(1, sizeof(*c));
	struct node_store_meta m;
	const char *tmp = getenv("CASELINK_TMP");

	assert_non_null(c);
	snprintf(c->dir, sizeof(c->dir), "%s/node_import_%d_%d", tmp ? tmp : "/tmp", (int)getpid(),
		 t_counter++);
	snprintf(c->persons, sizeof(c->persons), "%s/persons.csv", c->dir);
	snprintf(c->events, sizeof(c->events), "%s/events.csv", c->dir);
	memset(&m, 0, sizeof(m));
	strcpy(m.agency_id, "lt-kaunas-police");
	strcpy(m.agency_type, "police");
	strcpy(m.municipality, "Kaunas");
	strcpy(m.country, "LT");
	assert_int_equal(node_store_init(c->dir, &m), 0);
	assert_int_equal(node_store_open(c->dir, &c->s), 0);
	*state = c;
	return 0;
}

static int t_teardown(void **state)
{
	struct t_ctx *c = *state;
	char cmd[600];

	node_store_close(c->s);
	free(c->errs);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	free(c);
	return 0;
}

/* Imports the given texts (NULL: file not given); errors land in c->errs. */
static int t_import(struct t_ctx *c, const char *persons, const char *events,
		    struct node_import_report *rep)
{
	struct node_import_opts o;
	size_t len = 0;
	FILE *err;
	int rc;

	free(c->errs);
	c->errs = NULL;
	err = open_memstream(&c->errs, &len);
	assert_non_null(err);
	memset(&o, 0, sizeof(o));
	if (persons) {
		t_write(c->persons, persons);
		o.persons_path = c->persons;
	}
	if (events) {
		t_write(c->events, events);
		o.events_path = c->events;
	}
	o.errors = err;
	o.now = T_NOW;
	rc = node_import_run(c->s, &o, rep);
	assert_int_equal(fclose(err), 0);
	return rc;
}

static int64_t t_int(struct t_ctx *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(node_store_db(c->s), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A text digest of every stored row, to compare the store before and after. */
static char *t_dump(struct t_ctx *c)
{
	sqlite3_stmt *st = NULL;
	char *s;

	assert_int_equal(
	    sqlite3_prepare_v2(
		node_store_db(c->s),
		"SELECT (SELECT coalesce(group_concat(person_ref||'|'||coalesce(given_name,'')"
		"||'|'||code_status||'|'||change_gen||'|'||import_gen, ';'),'') FROM persons)"
		"||'#'||(SELECT coalesce(group_concat(event_ref||'|'||person_id||'|'||"
		"event_type||'|'||occurred_at||'|'||import_gen, ';'),'') FROM events)"
		"||'#'||(SELECT count(*) FROM imports)",
		-1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	s = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	assert_non_null(s);
	return s;
}

static char *t_cat(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 1;
	char *s = malloc(n);

	assert_non_null(s);
	snprintf(s, n, "%s%s", a, b);
	return s;
}

static void test_good_import_and_counts(void **state)
{
	struct t_ctx *c = *state;
	struct node_import_report r;
	char lt[12], persons[1024];

	t_lt_code("3800101000", lt);
	snprintf(persons, sizeof(persons),
		 "%s"
		 "P1,%s,LT,Ona,Žemaitė,1980-01-01,F,\n"
		 "P2,%.10s%c,LT,Jonas,Petraitis,1975,M,restricted\n" /* wrong check digit */
		 "P3,,,Rasa,,1990-05-05,,\n"			     /* no family name */
		 "P4,,,,Kazlauskas,,U,allowed\n",		     /* no birth date */
		 t_pheader, lt, lt, lt[10] == '9' ? '0' : lt[10] + 1);
	assert_int_equal(t_import(c, persons,
				  "event_ref,person_ref,event_type,occurred_at,role\n"
				  "E1,P1,police_callout,2024-03-01T12:00+02:00,victim\n"
				  "E2,P2,crime_report,2024-03-01,perpetrator\n",
				  &r),
			 0);
	assert_string_equal(c->errs, "");
	assert_int_equal(r.persons_rows, 4);
	assert_int_equal(r.persons_added, 4);
	assert_int_equal(r.events_added, 2);
	assert_int_equal(r.invalid_codes, 1);
	/* P3 and P4 lack a family name plus birth date and have no code; P2's code is invalid
	 * but it links through Petraitis + 1975 */
	assert_int_equal(r.unlinkable, 2);
	assert_int_equal(t_int(c, "SELECT count(*) FROM persons"), 4);
	assert_int_equal(t_int(c, "SELECT linkable FROM persons WHERE person_ref='P2'"), 1);
	assert_int_equal(t_int(c, "SELECT code_status='valid' FROM persons WHERE person_ref='P1'"),
			 1);
	assert_int_equal(
	    t_int(c, "SELECT code_status='invalid' FROM persons WHERE person_ref='P2'"), 1);
	assert_int_equal(t_int(c, "SELECT family_norm='zemaite' AND family_name='Žemaitė' FROM"
				  " persons WHERE person_ref='P1'"),
			 1);
	/* year-only birth date: month and day 0 */
	assert_int_equal(t_int(c, "SELECT birth_year*10000+birth_month*100+birth_day FROM persons"
				  " WHERE person_ref='P2'"),
			 19750000);
	assert_int_equal(t_int(c, "SELECT sharing='restricted' FROM persons WHERE person_ref='P2'"),
			 1);
	assert_int_equal(t_int(c, "SELECT count(*) FROM persons WHERE sharing='allowed'"), 3);
	assert_int_equal(t_int(c, "SELECT sex='U' FROM persons WHERE person_ref='P3'"), 1);
	/* 2024-03-01T12:00+02:00 is 10:00Z */
	assert_int_equal(t_int(c, "SELECT occurred_at FROM events WHERE event_ref='E1'"),
			 1709287200);
	assert_int_equal(t_int(c, "SELECT municipality='Kaunas' FROM events WHERE event_ref='E1'"),
			 1);
	assert_int_equal(t_int(c, "SELECT category='incident' FROM events WHERE event_ref='E2'"),
			 1);
	assert_int_equal(t_int(c, "SELECT count(*) FROM imports"), 1);
}

static void test_upsert_counts(void **state)
{
	struct t_ctx *c = *state;
	struct node_import_report r;
	const char *p1 = "person_ref,family_name,birth_date\n"
			 "P1,Ozola,1980\nP2,Liepa,1981\nP3,Egle,1982\n";
	const char *e1 = "event_ref,person_ref,event_type,occurred_at,role,risk_score,"
			 "risk_instrument\n"
			 "E1,P1,intake,2024-01-01,victim,,\n"
			 "E2,P1,counselling,2024-01-02,victim,,\n"
			 "E3,P2,risk_assessment,2024-01-03,victim,7,marac\n";

	assert_int_equal(t_import(c, p1, e1, &r), 0);
	assert_int_equal(r.persons_added, 3);
	assert_int_equal(r.events_added, 3);
	/* the same files again: all unchanged */
	assert_int_equal(t_import(c, p1, e1, &r), 0);
	assert_int_equal(r.persons_added + r.persons_updated, 0);
	assert_int_equal(r.persons_unchanged, 3);
	assert_int_equal(r.events_unchanged, 3);
	/* one person changed, one added; one event changed, one added, one left out */
	assert_int_equal(
	    t_import(c,
		     "person_ref,family_name,birth_date\n"
		     "P1,Ozola,1980\nP2,Liepa,1981-02-03\nP3,Egle,1982\nP4,Berzs,1983\n",
		     "event_ref,person_ref,event_type,occurred_at,role,risk_score,"
		     "risk_instrument\n"
		     "E1,P1,intake,2024-01-01,victim,,\n"
		     "E3,P2,risk_assessment,2024-01-03,victim,8,marac\n"
		     "E4,P4,intake,2024-01-05,victim,,\n",
		     &r),
	    0);
	assert_int_equal(r.persons_added, 1);
	assert_int_equal(r.persons_updated, 1);
	assert_int_equal(r.persons_unchanged, 2);
	assert_int_equal(r.events_added, 1);
	assert_int_equal(r.events_updated, 1);
	assert_int_equal(r.events_unchanged, 1);
	assert_int_equal(r.import_id, 3);
	assert_int_equal(t_int(c, "SELECT count(*) FROM events"), 4);
	assert_int_equal(t_int(c, "SELECT risk_score FROM events WHERE event_ref='E3'"), 8);
	assert_int_equal(t_int(c, "SELECT birth_month FROM persons WHERE person_ref='P2'"), 2);
	/* change generations: only the changed and added rows moved to import 3 */
	assert_int_equal(t_int(c, "SELECT count(*) FROM persons WHERE change_gen=3"), 2);
	assert_int_equal(t_int(c, "SELECT count(*) FROM persons WHERE change_gen=3 AND"
				  " person_ref IN ('P2','P4')"),
			 2);
	assert_int_equal(t_int(c, "SELECT count(*) FROM events WHERE change_gen=3"), 2);
	assert_int_equal(t_int(c, "SELECT change_gen FROM events WHERE event_ref='E2'"), 1);
	/* events alone, referring to persons already stored */
	assert_int_equal(t_import(c, NULL,
				  "event_ref,role,occurred_at,event_type,person_ref\n"
				  "E9,child,2024-02-02,child_welfare_case_opened,P3\n",
				  &r),
			 0);
	assert_int_equal(r.events_added, 1);
	assert_int_equal(t_int(c, "SELECT persons_file IS NULL AND events_file='events.csv' FROM"
				  " imports WHERE id=4"),
			 1);
}

static void test_header_errors(void **state)
{
	struct t_ctx *c = *state;
	struct node_import_report r;
	char *before = t_dump(c), *after;

	assert_int_equal(t_import(c, "person_ref,notes,sex,sex\nP1,x,F,F\n",
				  "event_ref,person_ref,event_type,role,,\nE1,P1,intake,victim,,\n",
				  &r),
			 CL_EBADROWS);
	assert_string_equal(c->errs, "persons.csv:1:notes: unknown column\n"
				     "persons.csv:1:sex: duplicate column\n"
				     "events.csv:1:column 5: unknown column\n"
				     "events.csv:1:column 6: unknown column\n"
				     "events.csv:1:occurred_at: missing required column\n"
				     "import rejected: 5 bad rows; nothing stored\n");
	after = t_dump(c);
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* an empty file has no header */
	assert_int_equal(t_import(c, "", NULL, &r), CL_EBADROWS);
	assert_string_equal(c->errs, "persons.csv:1:-: empty file (no header row)\n"
				     "import rejected: 1 bad rows; nothing stored\n");
}

static void test_every_bad_row_reported(void **state)
{
	struct t_ctx *c = *state;
	struct node_import_report r;
	char *events, *before, *after, longref[200];

	assert_int_equal(t_import(c, "person_ref\nP1\nP2\n", NULL, &r), 0);
	before = t_dump(c);
	memset(longref, 'R', 129);
	longref[129] = '\0';
	{
		char body[4096];

		snprintf(body, sizeof(body),
			 "E1,P1,police_callout,2024-01-01,victim,,,,,,,,,\n"	      /* 2 ok */
			 "E2,P1,police_callout,2024-02-30,victim,,,,,,,,,\n"	      /* 3 */
			 "E3,P1,police_callout,2026-01-01,victim,,,,,,,,,\n"	      /* 4 */
			 "E4,P1,tea_party,2024-01-01,victim,,,,,,,,,\n"		      /* 5 */
			 "E5,P9,intake,2024-01-01,victim,,,,,,,,,\n"		      /* 6 */
			 "E1,P1,intake,2024-01-01,victim,,,,,,,,,\n"		      /* 7 */
			 "%s,P1,intake,2024-01-01,victim,,,,,,,,,\n"		      /* 8 */
			 "E8,P1,risk_assessment,2024-01-01,victim,,,,,5,,,,\n"	      /* 9 */
			 "E9,P1,referral_sent,2024-01-01,victim,,,,,,,,,\n"	      /* 10 */
			 "E10,P1,referral_sent,2024-01-01,victim,,,,,,,,hospital,\n"  /* 11 */
			 "E11,P1,intake,2024-01-01,victim,,,physical;;sexual,,,,,,\n" /* 12 */
			 "E12,P1,intake,2024-01-01,witness,P2,cousin,,low,x,,3,,\n"   /* 13 */
			 "E13,,intake,,victim,P8,,,,,,,,\n"			      /* 14 */
			 "E14,P1,intake,2024-01-01,victim,,,,,,,,\n"		      /* 15 */
			 "E15,P1,intake,2024-01-01,victim,,,,,,,,,,\n"		      /* 16 */
			 "E16,P2,protection_order_issued,2024-06-01T10:00:00Z,victim,P1,partner,"
			 "physical;economic,high,12,police_ra,2,,Vilnius\n", /* 17 ok */
			 longref);
		events = t_cat(t_eheader, body);
	}
	assert_int_equal(t_import(c, NULL, events, &r), CL_EBADROWS);
	assert_string_equal(
	    c->errs, "events.csv:3:occurred_at: invalid date/time (day out of range for month)\n"
		     "events.csv:4:occurred_at: date in the future\n"
		     "events.csv:5:event_type: unknown event_type 'tea_party'\n"
		     "events.csv:6:person_ref: unknown person_ref\n"
		     "events.csv:7:event_ref: duplicate event_ref in this file\n"
		     "events.csv:8:event_ref: value too long (max 128 bytes)\n"
		     "events.csv:9:risk_score: risk_score requires risk_instrument\n"
		     "events.csv:10:referral_to: required with referral_sent\n"
		     "events.csv:11:referral_to: unknown agency type 'hospital'\n"
		     "events.csv:12:violence_forms: empty violence form\n"
		     "events.csv:13:role: unknown role 'witness'\n"
		     "events.csv:13:relationship: unknown relationship 'cousin'\n"
		     "events.csv:13:risk_level: unknown risk_level 'low'\n"
		     "events.csv:13:risk_score: not an integer >= 0 (max 9 digits)\n"
		     "events.csv:13:child_threat_level: not 0, 1 or 2\n"
		     "events.csv:14:person_ref: required value is missing\n"
		     "events.csv:14:other_person_ref: unknown other_person_ref\n"
		     "events.csv:14:occurred_at: required value is missing\n"
		     "events.csv:15:municipality: missing field (row has 13 of 14 fields)\n"
		     "events.csv:16:-: extra fields (row has 15, header 14)\n"
		     "import rejected: 14 bad rows; nothing stored\n");
	after = t_dump(c);
	assert_string_equal(before, after);
	assert_int_equal(t_int(c, "SELECT count(*) FROM events"), 0);
	free(before);
	free(after);
	free(events);
}

static void test_person_rules(void **state)
{
	struct t_ctx *c = *state;
	struct node_import_report r;
	char text[8192], big[600];

	memset(big, 'a', 513);
	big[513] = '\0';
	snprintf(text, sizeof(text),
		 "%s"
		 "P1,12345678901,,,,,,\n" /* 2 */
		 "P2,,Lietuva,,,,,\n"	  /* 3 */
		 "P3,,,,,1980-13-01,,\n"  /* 4 */
		 "P4,,,,,2030,,\n"	  /* 5 */
		 "P5,,,,,,female,\n"	  /* 6 */
		 "P6,,,,,,,secret\n"	  /* 7 */
		 "P1,,,,,,,\n"		  /* 8 duplicate of line 2? no: 2 was bad */
		 "P1,,,,,,,\n"		  /* 9 duplicate of line 8 */
		 "P7,,,%s,,,,\n"	  /* 10 */
		 "P8,1234567890123456789012345678901234567,LT,,,,,\n" /* 11 */
		 "P9,,,\"Anna\nMarie\",,,,\n"			      /* 12-13 */
		 "P10,,,,,,Q,\n",				      /* 14 */
		 t_pheader, big);
	assert_int_equal(t_import(c, text, NULL, &r), CL_EBADROWS);
	assert_string_equal(c->errs, "persons.csv:2:id_country: required with national_id\n"
				     "persons.csv:3:id_country: not a two-letter country code\n"
				     "persons.csv:4:birth_date: invalid date (month out of range)\n"
				     "persons.csv:5:birth_date: date in the future\n"
				     "persons.csv:6:sex: unknown sex 'female'\n"
				     "persons.csv:7:sharing: unknown sharing 'secret'\n"
				     "persons.csv:9:person_ref: duplicate person_ref in this file\n"
				     "persons.csv:10:given_name: value too long (max 512 bytes)\n"
				     "persons.csv:11:national_id: personal code too long\n"
				     "persons.csv:12:given_name: control character in value\n"
				     "persons.csv:14:sex: unknown sex 'Q'\n"
				     "import rejected: 11 bad rows; nothing stored\n");
	assert_int_equal(t_int(c, "SELECT count(*) FROM persons"), 0);
	/* no cell content that could be personal data is echoed */
	assert_null(strstr(c->errs, "12345678901"));
	assert_null(strstr(c->errs, "Anna"));
}

static void test_bom_crlf_quotes(void **state)
{
	struct t_ctx *c = *state;
	struct node_import_report r;

	assert_int_equal(
	    t_import(c,
		     "\xEF\xBB\xBF"
		     "family_name,person_ref,birth_date\r\n"
		     "\"Bērziņa, Ozola\",P1,1970-02-03\r\n"
		     "\"O\"\"Neil\",P2,1971\r\n",
		     "\xEF\xBB\xBF"
		     "event_ref,person_ref,event_type,occurred_at,role,municipality\r\n"
		     "E1,P1,intake,2024-01-01,victim,\"Rīga, Latgales priekšpilsēta\"\r\n"
		     "\"E,2\",P2,intake,2024-01-01,victim,\r\n",
		     &r),
	    0);
	assert_string_equal(c->errs, "");
	assert_int_equal(r.persons_added, 2);
	assert_int_equal(r.events_added, 2);
	assert_int_equal(t_int(c, "SELECT family_name='Bērziņa, Ozola' AND family_norm='berzina"
				  " ozola' FROM persons WHERE person_ref='P1'"),
			 1);
	assert_int_equal(t_int(c, "SELECT family_name='O\"Neil' FROM persons WHERE"
				  " person_ref='P2'"),
			 1);
	assert_int_equal(t_int(c, "SELECT municipality='Rīga, Latgales priekšpilsēta' FROM events"
				  " WHERE event_ref='E1'"),
			 1);
	assert_int_equal(t_int(c, "SELECT count(*) FROM events WHERE event_ref='E,2'"), 1);

	/* an error after a quoted field spanning lines is reported on its physical line */
	assert_int_equal(
	    t_import(c, NULL,
		     "event_ref,person_ref,event_type,occurred_at,role,municipality\r\n"
		     "E3,P1,intake,2024-01-01,victim,\"Rīga,\r\ncentrs\"\r\n"
		     "E4,P1,intake,2024-01-01,vi\"ctim,\r\n"
		     "E5,P1,intake,2024-01-01,bystander,\r\n",
		     &r),
	    CL_EBADROWS);
	assert_string_equal(c->errs, "events.csv:2:municipality: control character in value\n"
				     "events.csv:4:role: quote inside unquoted field\n"
				     "events.csv:5:role: unknown role 'bystander'\n"
				     "import rejected: 3 bad rows; nothing stored\n");
}

static void test_overlong_field(void **state)
{
	struct t_ctx *c = *state;
	struct node_import_report r;
	size_t n = CSV_MAX_FIELD + 10, hl = strlen("person_ref,given_name\nP1,");
	char *text = malloc(hl + n + 16);

	assert_non_null(text);
	memcpy(text, "person_ref,given_name\nP1,", hl);
	memset(text + hl, 'a', n);
	strcpy(text + hl + n, "\nP2,Ok\nP3,x\"y\n");
	assert_int_equal(t_import(c, text, NULL, &r), CL_EBADROWS);
	assert_string_equal(c->errs, "persons.csv:2:given_name: field too long\n"
				     "persons.csv:4:given_name: quote inside unquoted field\n"
				     "import rejected: 2 bad rows; nothing stored\n");
	free(text);
}

static void test_bad_last_row_leaves_store(void **state)
{
	struct t_ctx *c = *state;
	struct node_import_report r;
	char *before, *after, *events;
	char body[1 << 16];
	size_t off = 0;
	int i;

	assert_int_equal(t_import(c, "person_ref,family_name\nP1,A\nP2,B\n",
				  "event_ref,person_ref,event_type,occurred_at,role\n"
				  "E1,P1,intake,2024-01-01,victim\n",
				  &r),
			 0);
	before = t_dump(c);
	for (i = 0; i < 500; i++)
		off += (size_t)snprintf(body + off, sizeof(body) - off,
					"X%d,P%d,intake,2024-01-01,victim\n", i, 1 + i % 2);
	snprintf(body + off, sizeof(body) - off,
		 "X500,P1,intake,2024-01-01,victim\n"
		 "E1,P1,counselling,2024-01-01,victim\n"
		 "X501,P1,intake,2024-13-01,victim\n");
	events = t_cat("event_ref,person_ref,event_type,occurred_at,role\n", body);
	assert_int_equal(
	    t_import(c, "person_ref,family_name\nP1,A\nP2,Changed\nP3,C\n", events, &r),
	    CL_EBADROWS);
	assert_string_equal(c->errs, "events.csv:504:occurred_at: invalid date/time (month out of"
				     " range)\nimport rejected: 1 bad rows; nothing stored\n");
	after = t_dump(c);
	assert_string_equal(before, after);
	assert_int_equal(t_int(c, "SELECT count(*) FROM events"), 1);
	assert_int_equal(t_int(c, "SELECT count(*) FROM persons"), 2);
	assert_int_equal(t_int(c, "SELECT family_name='B' FROM persons WHERE person_ref='P2'"), 1);
	free(before);
	free(after);
	free(events);
}

static void test_status_report(void **state)
{
	struct t_ctx *c = *state;
	struct node_import_report r;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	assert_int_equal(t_import(c,
				  "person_ref,sharing,family_name,birth_date\n"
				  "P1,restricted,A,1970\nP2,,,\n",
				  "event_ref,person_ref,event_type,occurred_at,role\n"
				  "E1,P1,intake,2024-01-01,victim\n"
				  "E2,P1,intake,2024-02-01,victim\n"
				  "E3,P2,conviction,2023-05-06T07:08:09Z,perpetrator\n",
				  &r),
			 0);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	assert_int_equal(node_store_status(c->s, f), 0);
	fclose(f);
	assert_non_null(strstr(out, "agency:         lt-kaunas-police\n"));
	assert_non_null(strstr(out, "persons:        2 (codes: 0 valid, 0 invalid, 0 unchecked, 2"
				    " absent; 1 unlinkable; 1 restricted)\n"));
	assert_non_null(
	    strstr(out, "events:         3 (2023-05-06T07:08:09Z .. 2024-02-01T00:00:00Z)\n"));
	assert_non_null(strstr(out, "  justice                conviction                   1\n"));
	assert_non_null(strstr(out, "  support                intake                       2\n"));
	assert_non_null(strstr(out, "persons=persons.csv (2 added, 0 updated, 0 unchanged)"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_good_import_and_counts, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_upsert_counts, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_header_errors, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_every_bad_row_reported, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_person_rules, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_bom_crlf_quotes, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_overlong_field, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_last_row_leaves_store, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_status_report, t_setup, t_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
