/*
 * String interning. Ground truth: a plain linear list of the distinct strings kept by the test,
 * in first-seen order, compared with the ids the set hands out over several table growths.
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
#include "common/intern.h"

#define N_DISTINCT 3000

static void test_ids_match_first_seen_order(void **state)
{
	static char seen[N_DISTINCT][16];
	struct intern *t = NULL;
	size_t nseen = 0, i, k;
	uint64_t x = 12345;

	(void)state;
	assert_int_equal(intern_new(16, &t), 0);
	for (i = 0; i < 20000; i++) {
		char s[16];
		uint32_t id = UINT32_MAX;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		snprintf(s, sizeof(s), "m%u", (unsigned)((x >> 33) % N_DISTINCT));
		for (k = 0; k < nseen && strcmp(seen[k], s) != 0; k++)
			;
		if (k == nseen)
			memcpy(seen[nseen++], s, sizeof(s));
		assert_int_equal(intern_add(t, s, &id), 0);
		assert_int_equal(id, k);
		assert_int_equal(intern_count(t), nseen);
	}
	assert_true(nseen > 2000); /* several growths of the 256-slot table */
	for (k = 0; k < nseen; k++)
		assert_string_equal(intern_str(t, (uint32_t)k), seen[k]);
	assert_null(intern_str(t, (uint32_t)nseen));
	intern_free(t);
}

static void test_limits_and_arguments(void **state)
{
	struct intern *t = NULL;
	uint32_t id = 77;
	char s[17];

	(void)state;
	assert_int_equal(intern_new(1, &t), CL_EINVAL);
	assert_null(t);
	assert_int_equal(intern_new(16, NULL), CL_EINVAL);
	assert_int_equal(intern_new(16, &t), 0);
	assert_int_equal(intern_add(t, "", &id), CL_EINVAL);
	memset(s, 'a', 16);
	s[16] = '\0';
	assert_int_equal(intern_add(t, s, &id), CL_ELIMIT); /* 16 bytes: too long */
	s[15] = '\0';
	assert_int_equal(id, 77);		    /* untouched on failure */
	assert_int_equal(intern_add(t, s, &id), 0); /* 15 bytes */
	assert_int_equal(id, 0);
	assert_int_equal(intern_add(t, NULL, &id), CL_EINVAL);
	assert_int_equal(intern_add(t, "x", NULL), CL_EINVAL);
	assert_int_equal(intern_add(NULL, "x", &id), CL_EINVAL);
	assert_int_equal(intern_add(t, "Liepāja", &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(intern_add(t, "liepāja", &id), 0); /* byte-exact, case matters */
	assert_int_equal(id, 2);
	assert_int_equal(intern_add(t, "Liepāja", &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(intern_count(t), 3);
	assert_int_equal(intern_count(NULL), 0);
	assert_null(intern_str(NULL, 0));
	intern_free(t);
	intern_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ids_match_first_seen_order),
	    cmocka_unit_test(test_limits_and_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
