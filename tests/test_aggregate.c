#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/aggregate.h"

static void test_sums_by_key_and_sorts(void **state)
{
	struct agg *a = NULL;
	const char *k1[] = {"Tukums", "2025-Q2"}, *k2[] = {"Liep\xc4\x81ja", "2025-Q1"},
		   *k3[] = {"Tukums", "2025-Q1"};
	int64_t one[] = {1}, five[] = {5};

	(void)state;
	assert_int_equal(agg_new(2, 1, &a), CL_OK);
	assert_int_equal(agg_add(a, k1, five), CL_OK);
	assert_int_equal(agg_add(a, k2, one), CL_OK);
	assert_int_equal(agg_add(a, k1, one), CL_OK);
	assert_int_equal(agg_add(a, k3, one), CL_OK);
	assert_int_equal(agg_rows(a), 3);
	assert_int_equal(agg_sort(a), CL_OK);
	assert_string_equal(agg_key(a, 0, 0), "Liep\xc4\x81ja");
	assert_string_equal(agg_key(a, 1, 1), "2025-Q1");
	assert_string_equal(agg_key(a, 2, 1), "2025-Q2");
	assert_int_equal(agg_value(a, 2, 0), 6);
	/* Lookups still work after sorting moved the rows. */
	assert_int_equal(agg_add(a, k2, five), CL_OK);
	assert_int_equal(agg_rows(a), 3);
	assert_int_equal(agg_value(a, 0, 0), 6);
	agg_free(a);
}

/* Many random rows against a brute-force reference, through several rehashes. */
static void test_against_reference(void **state)
{
	enum { N = 20000, DISTINCT = 997 };
	static int64_t ref[DISTINCT];
	struct agg *a = NULL;
	char buf[32];
	const char *keys[1] = {buf};
	size_t i;
	unsigned seed = 12345;

	(void)state;
	memset(ref, 0, sizeof(ref));
	assert_int_equal(agg_new(1, 1, &a), CL_OK);
	for (i = 0; i < N; i++) {
		int64_t v[1];
		unsigned k;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 8) % DISTINCT;
		v[0] = (int64_t)((seed >> 4) % 100);
		snprintf(buf, sizeof(buf), "k%05u", k);
		assert_int_equal(agg_add(a, keys, v), CL_OK);
		ref[k] += v[0];
	}
	assert_int_equal(agg_sort(a), CL_OK);
	for (i = 0; i < agg_rows(a); i++) {
		unsigned k = (unsigned)strtoul(agg_key(a, i, 0) + 1, NULL, 10);

		assert_int_equal(agg_value(a, i, 0), ref[k]);
		if (i)
			assert_true(strcmp(agg_key(a, i - 1, 0), agg_key(a, i, 0)) < 0);
	}
	agg_free(a);
}

static void test_limits(void **state)
{
	struct agg *a = NULL;
	char longkey[AGG_MAX_KEY_LEN + 1];
	const char *k[] = {longkey}, *ok[] = {"x"};
	int64_t big[] = {INT64_MAX}, one[] = {1};

	(void)state;
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_int_equal(agg_new(1, 1, &a), CL_OK);
	assert_int_equal(agg_add(a, k, one), CL_ELIMIT);
	assert_int_equal(agg_add(a, ok, big), CL_OK);
	assert_int_equal(agg_add(a, ok, one), CL_EOVERFLOW);
	assert_int_equal(agg_value(a, 0, 0), INT64_MAX);
	assert_int_equal(agg_new(AGG_MAX_KEYS + 1, 1, &(struct agg *){NULL}), CL_EINVAL);
	agg_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sums_by_key_and_sorts),
	    cmocka_unit_test(test_against_reference),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
