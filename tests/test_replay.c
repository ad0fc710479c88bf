#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/replay.h"

static void test_replay_refused_until_expiry(void **state)
{
	struct replay *r = NULL;
	uint8_t a[16], b[16];

	(void)state;
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	assert_int_equal(replay_new(0, &r), CL_OK);
	assert_int_equal(replay_check(r, a, sizeof(a), 1300, 1000), CL_OK);
	assert_int_equal(replay_check(r, b, sizeof(b), 1300, 1000), CL_OK);
	assert_int_equal(replay_check(r, a, sizeof(a), 1300, 1200), CL_EREPLAY);
	assert_int_equal(replay_check(r, a, sizeof(a), 1300, 1300), CL_EREPLAY);
	/* A prefix is another id. */
	assert_int_equal(replay_check(r, a, 15, 1300, 1000), CL_OK);
	/* Once expired the id is forgotten (an expired request is refused for expiry anyway). */
	assert_int_equal(replay_check(r, a, sizeof(a), 1700, 1301), CL_OK);
	assert_int_equal(replay_check(r, NULL, 16, 1, 1), CL_EINVAL);
	assert_int_equal(replay_check(r, a, 0, 1, 1), CL_EINVAL);
	assert_int_equal(replay_check(r, a, REPLAY_ID_MAX + 1, 1, 1), CL_EINVAL);
	replay_free(r);
}

/* Many ids through several resizes: every one is remembered; a full cache refuses. */
static void test_bounded(void **state)
{
	enum { N = 5000 };
	struct replay *r = NULL;
	uint8_t id[8];
	uint32_t i;

	(void)state;
	assert_int_equal(replay_new(N, &r), CL_OK);
	for (i = 0; i < N; i++) {
		memcpy(id, &i, sizeof(i));
		memset(id + 4, 0xab, 4);
		assert_int_equal(replay_check(r, id, sizeof(id), 100, 0), CL_OK);
	}
	for (i = 0; i < N; i++) {
		memcpy(id, &i, sizeof(i));
		assert_int_equal(replay_check(r, id, sizeof(id), 100, 0), CL_EREPLAY);
	}
	i = N;
	memcpy(id, &i, sizeof(i));
	assert_int_equal(replay_check(r, id, sizeof(id), 100, 0), CL_EBUSY);
	/* After the ids expire there is room again. */
	assert_int_equal(replay_check(r, id, sizeof(id), 300, 200), CL_OK);
	replay_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replay_refused_until_expiry),
	    cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
