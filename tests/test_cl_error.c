#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"

static void test_known_codes_have_messages(void **state)
{
	(void)state;
	assert_string_equal(cl_strerror(CL_OK), "success");
	assert_string_equal(cl_strerror(CL_ENOMEM), "out of memory");
	assert_string_equal(cl_errname(CL_EBADROWS), "CL_EBADROWS");
}

static void test_unknown_code(void **state)
{
	(void)state;
	assert_string_equal(cl_strerror(-9999), "unknown error");
	assert_string_equal(cl_errname(12345), "CL_E?");
}

/* Every code in the table is unique and negative (except CL_OK) and has a message. */
static void test_table_is_consistent(void **state)
{
	static const int codes[] = {
#define CODE(name, value, msg) value,
	    CL_ERROR_TABLE(CODE)
#undef CODE
	};
	size_t n = sizeof(codes) / sizeof(codes[0]), i, j;

	(void)state;
	for (i = 0; i < n; i++) {
		if (i > 0)
			assert_true(codes[i] < 0);
		assert_true(strlen(cl_strerror(codes[i])) > 0);
		assert_string_not_equal(cl_strerror(codes[i]), "unknown error");
		for (j = i + 1; j < n; j++)
			assert_int_not_equal(codes[i], codes[j]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_codes_have_messages),
	    cmocka_unit_test(test_unknown_code),
	    cmocka_unit_test(test_table_is_consistent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
