/*
 * grow_array. Ground truth: the capacities worked out by hand (64, then doublings), the contents
 * kept across reallocations (checked against the values written), and the overflow limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/grow.h"

static void test_doubling_keeps_contents(void **state)
{
	uint32_t *a = NULL;
	size_t cap = 0, n;

	(void)state;
	assert_int_equal(grow_array((void **)&a, &cap, 0, sizeof *a), 0);
	assert_null(a);
	assert_int_equal(cap, 0);
	assert_int_equal(grow_array((void **)&a, &cap, 1, sizeof *a), 0);
	assert_non_null(a);
	assert_int_equal(cap, 64);
	for (n = 0; n < 1000; n++) {
		assert_int_equal(grow_array((void **)&a, &cap, n + 1, sizeof *a), 0);
		assert_true(cap >= n + 1);
		a[n] = (uint32_t)(n * 2654435761u);
	}
	assert_int_equal(cap, 1024);
	for (n = 0; n < 1000; n++)
		assert_int_equal(a[n], (uint32_t)(n * 2654435761u));
	/* a jump: the first doubling that holds it */
	assert_int_equal(grow_array((void **)&a, &cap, 5000, sizeof *a), 0);
	assert_int_equal(cap, 8192);
	/* no shrinking */
	assert_int_equal(grow_array((void **)&a, &cap, 10, sizeof *a), 0);
	assert_int_equal(cap, 8192);
	free(a);
}

static void test_overflow(void **state)
{
	uint64_t *a = NULL;
	size_t cap = 0;

	(void)state;
	/* the element count cannot double past SIZE_MAX */
	assert_int_equal(grow_array((void **)&a, &cap, SIZE_MAX, sizeof *a), CL_EOVERFLOW);
	assert_null(a);
	assert_int_equal(cap, 0);
	/* the count fits, its bytes do not */
	assert_int_equal(grow_array((void **)&a, &cap, SIZE_MAX / 4, sizeof *a), CL_EOVERFLOW);
	assert_null(a);
	assert_int_equal(cap, 0);
	/* an existing array is left as it was */
	assert_int_equal(grow_array((void **)&a, &cap, 3, sizeof *a), 0);
	a[2] = 7;
	assert_int_equal(grow_array((void **)&a, &cap, SIZE_MAX / 2, sizeof *a), CL_EOVERFLOW);
	assert_int_equal(cap, 64);
	assert_int_equal(a[2], 7);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_doubling_keeps_contents),
	    cmocka_unit_test(test_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
