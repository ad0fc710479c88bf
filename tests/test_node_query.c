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
#include "common/cldate.h"
#include "node/import.h"
#include "node/query.h"
#include "node/store.h"

static char dir[1024], persons[1100], events[1100];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int64_t day(int y, int m, int d)
{
	return cldate_days_from_civil(y, m, d) * 86400;
}

struct rows {
	char text[4096];
	size_t n;
};

static int collect(void *ud, const char *const *keys, size_t nkeys, int64_t count)
{
	struct rows *r = ud;
	size_t used = strlen(r->text), k;

	for (k = 0; k < nkeys; k++)
		used += (size_t)snprintf(r->text + used, sizeof(r->text) - used, "%s,", keys[k]);
	snprintf(r->text + used, sizeof(r->text) - used, "%lld\n", (long long)count);
	r->n++;
	return 0;
}

static int setup(void **state)
{
	const char *tmp = getenv("CASELINK_TMP");
	struct node_store_meta meta;
	struct node_store *s = NULL;
	struct node_import_opts o;
	struct node_import_report rep;

	snprintf(dir, sizeof(dir), "%s/node-query.%d", tmp ? tmp : "/tmp", (int)getpid());
	snprintf(persons, sizeof(persons), "%s.persons.csv", dir);
	snprintf(events, sizeof(events), "%s.events.csv", dir);
	memset(&meta, 0, sizeof(meta));
	strcpy(meta.agency_id, "lv-tukums-police");
	strcpy(meta.agency_type, "police");
	strcpy(meta.municipality, "Tukums");
	strcpy(meta.country, "LV");
	assert_int_equal(node_store_init(dir, &meta), CL_OK);
	write_file(persons, "person_ref,sex\nA,F\nB,M\nC,F\n");
	/*
	 * Victim incident events by quarter of 2025 in Tukums: Q1 2 (one at the
	 * very first second), Q2 1, Q4 1 (the last second of the year); Liepāja
	 * Q1 1. Not counted: a perpetrator's call-out, a counselling session, an
	 * event at the first second of 2026 and one in 2024.
	 */
	write_file(events, "event_ref,person_ref,event_type,occurred_at,role,municipality\n"
			   "e1,A,police_callout,2025-01-01T00:00:00Z,victim,\n"
			   "e2,C,crime_report,2025-03-31T23:59:59Z,victim,Tukums\n"
			   "e3,A,medical_injury,2025-05-02,victim,\n"
			   "e4,A,police_callout,2025-12-31T23:59:59Z,victim,\n"
			   "e5,C,ngo_disclosure,2025-02-10T10:00+02:00,victim,Liep\xc4\x81ja\n"
			   "e6,B,police_callout,2025-01-01T00:00:00Z,perpetrator,\n"
			   "e7,A,counselling,2025-06-01,victim,\n"
			   "e8,A,police_callout,2026-01-01T00:00:00Z,victim,\n"
			   "e9,C,crime_report,2024-12-31T23:59:59Z,victim,\n");
	assert_int_equal(node_store_open(dir, &s), CL_OK);
	memset(&o, 0, sizeof(o));
	o.persons_path = persons;
	o.events_path = events;
	assert_int_equal(node_import_run(s, &o, &rep), CL_OK);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	char cmd[4096];

	node_store_close(*state);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s'", dir, persons, events);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_grouped_counts(void **state)
{
	struct node_store *s = *state;
	struct node_query_cache *c = NULL;
	struct rows r;
	unsigned by = 0;

	assert_int_equal(node_query_cache_new(&c), CL_OK);
	assert_int_equal(node_query_parse_by("municipality,agency_type,quarter", &by), CL_OK);
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    node_query_incident_events(s, c, day(2025, 1, 1), day(2026, 1, 1), by, collect, &r),
	    CL_OK);
	assert_string_equal(r.text, "Liep\xc4\x81ja,police,2025-Q1,1\n"
				    "Tukums,police,2025-Q1,2\n"
				    "Tukums,police,2025-Q2,1\n"
				    "Tukums,police,2025-Q4,1\n");
	/* Without grouping: the total; the same cache answers a second period. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    node_query_incident_events(s, c, day(2024, 1, 1), day(2027, 1, 1), 0, collect, &r),
	    CL_OK);
	assert_string_equal(r.text, "7\n");
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    node_query_incident_events(s, c, day(2025, 4, 1), day(2025, 5, 2), 0, collect, &r),
	    CL_OK);
	assert_string_equal(r.text, "0\n");
	node_query_cache_free(c);
}

static void test_cache_follows_imports(void **state)
{
	struct node_store *s = *state;
	struct node_query_cache *c = NULL;
	struct node_import_opts o;
	struct node_import_report rep;
	struct rows r;
	unsigned by = 0;

	assert_int_equal(node_query_cache_new(&c), CL_OK);
	assert_int_equal(node_query_parse_by("year", &by), CL_OK);
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    node_query_incident_events(s, c, day(2024, 1, 1), day(2027, 1, 1), by, collect, &r),
	    CL_OK);
	assert_string_equal(r.text, "2024,1\n2025,5\n2026,1\n");
	/* A correction re-sent: e9 was a perpetrator's event after all. */
	write_file(events, "event_ref,person_ref,event_type,occurred_at,role\n"
			   "e9,C,crime_report,2024-12-31T23:59:59Z,perpetrator\n");
	memset(&o, 0, sizeof(o));
	o.events_path = events;
	assert_int_equal(node_import_run(s, &o, &rep), CL_OK);
	memset(&r, 0, sizeof(r));
	assert_int_equal(
	    node_query_incident_events(s, c, day(2024, 1, 1), day(2027, 1, 1), by, collect, &r),
	    CL_OK);
	assert_string_equal(r.text, "2025,5\n2026,1\n");
	node_query_cache_free(c);
}

static void test_bad_arguments(void **state)
{
	struct rows r;
	unsigned by = 0;

	memset(&r, 0, sizeof(r));
	assert_int_equal(node_query_parse_by("quarter,month", &by), CL_EINVAL);
	assert_int_equal(node_query_parse_by("name", &by), CL_EINVAL);
	assert_int_equal(node_query_incident_events(*state, NULL, day(2025, 1, 1) + 5,
						    day(2026, 1, 1), 0, collect, &r),
			 CL_EINVAL);
	assert_int_equal(node_query_incident_events(*state, NULL, day(2026, 1, 1), day(2025, 1, 1),
						    0, collect, &r),
			 CL_EINVAL);
	assert_int_equal(r.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grouped_counts),
	    cmocka_unit_test(test_cache_follows_imports),
	    cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
