/*
 * grow_array and grow_array_secret. Ground truth: the capacities worked out by hand (64, then
 * doublings), the contents kept across reallocations (checked against the values written), the
 * overflow limits, and for grow_array_secret the old block's bytes as free() receives them: the
 * test binary is linked with --wrap=free (tests/grow.cmake), so __wrap_free sees the block
 * while it is still allocated and can check that it was wiped before being given back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/grow.h"

void __real_free(void *p);
void __wrap_free(void *p);

/* The block whose release is watched, its size, and what was seen when it was freed. */
static const void *watch;
static size_t watch_len;
static int watch_freed, watch_clean;

void __wrap_free(void *p)
{
	if (p && p == watch) {
		const unsigned char *b = p;
		size_t i;

		watch_freed = 1;
		watch_clean = 1;
		for (i = 0; i < watch_len; i++)
			if (b[i] != 0)
				watch_clean = 0;
		watch = NULL;
	}
	__real_free(p);
}

static void watch_block(const void *p, size_t len)
{
	watch = p;
	watch_len = len;
	watch_freed = 0;
	watch_clean = 0;
}

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

/* The secret growth keeps the contents and wipes the old block before freeing it. */
static void test_secret_wipes_old_block(void **state)
{
	unsigned char *a = NULL;
	size_t cap = 0, n;

	(void)state;
	assert_int_equal(grow_array_secret((void **)&a, &cap, 0, 3), 0);
	assert_null(a);
	assert_int_equal(grow_array_secret((void **)&a, &cap, 10, 3), 0);
	assert_non_null(a);
	assert_int_equal(cap, 64);
	for (n = 0; n < 64 * 3; n++)
		a[n] = (unsigned char)(0xa5 ^ n);
	/* enough room: nothing moves, nothing freed */
	watch_block(a, 64 * 3);
	assert_int_equal(grow_array_secret((void **)&a, &cap, 64, 3), 0);
	assert_int_equal(cap, 64);
	assert_false(watch_freed);
	/* past the capacity: a new block, the old one freed only after being wiped */
	assert_int_equal(grow_array_secret((void **)&a, &cap, 65, 3), 0);
	assert_int_equal(cap, 128);
	assert_true(watch_freed);
	assert_true(watch_clean);
	for (n = 0; n < 64 * 3; n++)
		assert_int_equal(a[n], (unsigned char)(0xa5 ^ n));
	/* a jump of several doublings, the same way */
	memset(a, 0x5a, 128 * 3);
	watch_block(a, 128 * 3);
	assert_int_equal(grow_array_secret((void **)&a, &cap, 1000, 3), 0);
	assert_int_equal(cap, 1024);
	assert_true(watch_freed);
	assert_true(watch_clean);
	for (n = 0; n < 128 * 3; n++)
		assert_int_equal(a[n], 0x5a);
	watch_block(NULL, 0);
	free(a);
}

static void test_secret_overflow(void **state)
{
	uint64_t *a = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(grow_array_secret((void **)&a, &cap, SIZE_MAX, sizeof *a), CL_EOVERFLOW);
	assert_int_equal(grow_array_secret((void **)&a, &cap, SIZE_MAX / 4, sizeof *a),
			 CL_EOVERFLOW);
	assert_null(a);
	assert_int_equal(cap, 0);
	assert_int_equal(grow_array_secret((void **)&a, &cap, 3, sizeof *a), 0);
	a[2] = 7;
	/* a refused growth leaves the array, its contents and its capacity, and frees nothing */
	watch_block(a, 64 * sizeof *a);
	assert_int_equal(grow_array_secret((void **)&a, &cap, SIZE_MAX / 2, sizeof *a),
			 CL_EOVERFLOW);
	assert_false(watch_freed);
	assert_int_equal(cap, 64);
	assert_int_equal(a[2], 7);
	watch_block(NULL, 0);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_doubling_keeps_contents),
	    cmocka_unit_test(test_overflow),
	    cmocka_unit_test(test_secret_wipes_old_block),
	    cmocka_unit_test(test_secret_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
