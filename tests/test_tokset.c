/* Tests of coordinator/tokset: a node's TOKENS answer in compact form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "coordinator/tokset.h"

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 31u + i * 7u);
}

static void same_bytes(const unsigned char *got, const unsigned char *want, size_t n)
{
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_memory_equal(got, want, n);
}

#define NREC 3000

/*
 * Records with every combination of present and absent tokens, handles of 1..64 bytes and 0..4
 * events each, with more distinct strings than the first string table holds, read back equal.
 */
static void test_round_trip(void **state)
{
	static unsigned char tok[NREC][6][LINKER_BLOOM_BYTES], handle[NREC][LINKER_HANDLE_MAX];
	static char muni[NREC][16];
	struct tokset *s = NULL;
	struct tokset_rec r, g;
	struct measures_event e, ge;
	size_t i, k;

	(void)state;
	assert_int_equal(tokset_new(&s), 0);
	for (i = 0; i < NREC; i++) {
		unsigned m = (unsigned)i % 64;

		memset(&r, 0, sizeof(r));
		for (k = 0; k < 6; k++)
			fill(tok[i][k], LINKER_BLOOM_BYTES, (unsigned)(i * 6 + k));
		fill(handle[i], LINKER_HANDLE_MAX, (unsigned)i + 1000);
		r.handle = handle[i];
		r.handle_len = 1 + i % LINKER_HANDLE_MAX;
		r.id_token = m & 1 ? tok[i][0] : NULL;
		r.demo_token = m & 2 ? tok[i][1] : NULL;
		r.bloom = m & 4 ? tok[i][2] : NULL;
		r.year_token = m & 8 ? tok[i][3] : NULL;
		r.date_token = m & 16 ? tok[i][4] : NULL;
		r.given_token = m & 32 ? tok[i][5] : NULL;
		r.sex = "MFU"[i % 3];
		r.restricted = i % 7 == 0;
		snprintf(muni[i], sizeof(muni[i]), "m%zu", i % 500);
		r.agency_id = "lv-riga-police";
		r.agency_type = i % 2 ? "police" : NULL;
		r.municipality = muni[i];
		assert_int_equal(tokset_add(s, &r), 0);
		for (k = 0; k < i % 5; k++) {
			e.event_type = k % 2 ? "incident_report" : "referral_sent";
			e.occurred_at = (int64_t)i * 86400 + (int64_t)k;
			e.role = "victim";
			e.municipality = k ? muni[i] : NULL;
			e.risk_level = "high";
			e.child_threat_level = (int)k - 1;
			e.referral_to = k % 2 ? "" : "health";
			e.age_years = (int)(i % 90) - 1;
			assert_int_equal(tokset_add_event(s, &e), 0);
		}
	}
	assert_int_equal(tokset_count(s), NREC);
	for (i = 0; i < NREC; i++) {
		unsigned m = (unsigned)i % 64;

		assert_int_equal(tokset_get(s, i, &g), 0);
		assert_int_equal(g.handle_len, 1 + i % LINKER_HANDLE_MAX);
		assert_memory_equal(g.handle, handle[i], g.handle_len);
		same_bytes(g.id_token, m & 1 ? tok[i][0] : NULL, LINKER_TOKEN_LEN);
		same_bytes(g.demo_token, m & 2 ? tok[i][1] : NULL, LINKER_TOKEN_LEN);
		same_bytes(g.bloom, m & 4 ? tok[i][2] : NULL, LINKER_BLOOM_BYTES);
		same_bytes(g.year_token, m & 8 ? tok[i][3] : NULL, LINKER_TOKEN_LEN);
		same_bytes(g.date_token, m & 16 ? tok[i][4] : NULL, LINKER_TOKEN_LEN);
		same_bytes(g.given_token, m & 32 ? tok[i][5] : NULL, LINKER_TOKEN_LEN);
		assert_int_equal(g.sex, "MFU"[i % 3]);
		assert_int_equal(g.restricted, i % 7 == 0);
		assert_string_equal(g.agency_id, "lv-riga-police");
		assert_string_equal(g.agency_type, i % 2 ? "police" : "");
		assert_string_equal(g.municipality, muni[i]);
		assert_int_equal(g.nevents, i % 5);
		for (k = 0; k < g.nevents; k++) {
			assert_int_equal(tokset_event(s, i, k, &ge), 0);
			assert_string_equal(ge.event_type,
					    k % 2 ? "incident_report" : "referral_sent");
			assert_int_equal(ge.occurred_at, (int64_t)i * 86400 + (int64_t)k);
			assert_string_equal(ge.role, "victim");
			assert_string_equal(ge.municipality, k ? muni[i] : "");
			assert_string_equal(ge.risk_level, "high");
			assert_int_equal(ge.child_threat_level, (int)k - 1);
			assert_string_equal(ge.referral_to, k % 2 ? "" : "health");
			assert_int_equal(ge.age_years, (int)(i % 90) - 1);
		}
		assert_int_equal(tokset_event(s, i, g.nevents, &ge), CL_EINVAL);
	}
	assert_int_equal(tokset_get(s, NREC, &g), CL_EINVAL);
	/* compact: far below the 3000 records' unpacked protobuf */
	print_message("tokset: %d records, %zu bytes\n", NREC, tokset_bytes(s));
	assert_true(tokset_bytes(s) < (size_t)NREC * 1024);
	tokset_free(s);
}

static void test_refusals(void **state)
{
	unsigned char h[LINKER_HANDLE_MAX + 1] = {1};
	char longs[TOKSET_STRING_MAX + 1];
	struct tokset *s = NULL;
	struct tokset_rec r;
	struct measures_event e;

	(void)state;
	memset(longs, 'a', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	assert_int_equal(tokset_new(&s), 0);
	memset(&e, 0, sizeof(e));
	assert_int_equal(tokset_add_event(s, &e), CL_EINVAL); /* no record yet */
	memset(&r, 0, sizeof(r));
	r.handle = h;
	r.handle_len = 0;
	assert_int_equal(tokset_add(s, &r), CL_EINVAL);
	r.handle_len = LINKER_HANDLE_MAX + 1;
	assert_int_equal(tokset_add(s, &r), CL_EINVAL);
	r.handle_len = 1;
	r.agency_id = longs;
	assert_int_equal(tokset_add(s, &r), CL_EINVAL);
	assert_int_equal(tokset_count(s), 0);
	r.agency_id = "a";
	assert_int_equal(tokset_add(s, &r), 0);
	e.event_type = longs;
	assert_int_equal(tokset_add_event(s, &e), CL_EINVAL);
	assert_int_equal(tokset_get(s, 0, &r), 0);
	assert_int_equal(r.nevents, 0);
	assert_int_equal(r.sex, 'U');
	tokset_free(s);
	tokset_free(NULL);
	assert_int_equal(tokset_new(NULL), CL_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
