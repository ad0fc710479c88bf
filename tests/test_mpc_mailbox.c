/* compute/mpc_mailbox: sequence, size, bounds, waiting and failure rules of the transport. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "compute/mpc_mailbox.h"
#include "compute/mpc_net.h"

static const uint8_t ID[16] = "computation-0001";
static const uint8_t ID2[16] = "computation-0002";

static struct mpc_mailbox *mk(unsigned self, size_t comps, size_t bytes)
{
	struct mpc_mailbox *mb = NULL;

	assert_int_equal(mpc_mailbox_new(self, comps, bytes, &mb), CL_OK);
	return mb;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_bad_arguments(void **state)
{
	struct mpc_mailbox *mb = NULL;
	uint8_t b[4] = {1, 2, 3, 4};

	(void)state;
	assert_int_equal(mpc_mailbox_new(3, 1, MPC_NET_MAX_MESSAGE, &mb), CL_EINVAL);
	assert_int_equal(mpc_mailbox_new(1, 0, MPC_NET_MAX_MESSAGE, &mb), CL_EINVAL);
	assert_int_equal(mpc_mailbox_new(1, MPC_MAILBOX_COMPS_MAX + 1, MPC_NET_MAX_MESSAGE, &mb),
			 CL_EINVAL);
	assert_int_equal(mpc_mailbox_new(1, 1, MPC_NET_MAX_MESSAGE - 1, &mb), CL_EINVAL);
	mb = mk(1, 2, MPC_NET_MAX_MESSAGE);
	assert_int_equal(mpc_mailbox_open(mb, ID, 15), CL_EINVAL);
	assert_int_equal(mpc_mailbox_open(mb, ID, 33), CL_EINVAL);
	assert_int_equal(mpc_mailbox_open(mb, ID, 16), CL_OK);
	assert_int_equal(mpc_mailbox_open(mb, ID, 16), CL_EEXIST);
	assert_int_equal(mpc_mailbox_open(mb, ID2, 16), CL_OK);
	assert_int_equal(mpc_mailbox_open(mb, (const uint8_t *)"computation-0003", 16), CL_EBUSY);
	assert_int_equal(mpc_mailbox_open_count(mb), 2);
	/* from self, from an unknown party, empty and oversized messages */
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 1, 0, b, 4, 0, NULL), CL_EINVAL);
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 3, 0, b, 4, 0, NULL), CL_EINVAL);
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 0, 0, b, 0, 0, NULL), CL_ELIMIT);
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 0, 0, b, MPC_NET_MAX_MESSAGE + 1, 0, NULL),
			 CL_ELIMIT);
	assert_int_equal(mpc_mailbox_take(mb, ID, 16, 1, b, 4, 0, NULL), CL_EINVAL);
	mpc_mailbox_close(mb, ID, 16);
	mpc_mailbox_close(mb, ID, 16); /* twice: ignored */
	assert_int_equal(mpc_mailbox_open_count(mb), 1);
	mpc_mailbox_free(mb);
}

static void test_order_and_sequence(void **state)
{
	struct mpc_mailbox *mb = mk(2, 4, MPC_NET_MAX_MESSAGE);
	uint8_t m[3][8], got[8];
	uint64_t expected = 99;
	unsigned i;

	(void)state;
	assert_int_equal(mpc_mailbox_open(mb, ID, 16), CL_OK);
	for (i = 0; i < 3; i++) {
		memset(m[i], 'a' + (int)i, sizeof(m[i]));
		assert_int_equal(mpc_mailbox_put(mb, ID, 16, 1, i, m[i], 8, 0, NULL), CL_OK);
	}
	/* a repeat and a gap are refused with the expected seq, and change nothing */
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 1, 2, m[0], 8, 0, &expected), CL_EPROTO);
	assert_int_equal(expected, 3);
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 1, 7, m[0], 8, 0, &expected), CL_EPROTO);
	assert_int_equal(expected, 3);
	/* the other peer's sequence is its own */
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 0, 1, m[0], 8, 0, &expected), CL_EPROTO);
	assert_int_equal(expected, 0);
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 0, 0, m[2], 8, 0, NULL), CL_OK);
	for (i = 0; i < 3; i++) {
		assert_int_equal(mpc_mailbox_take(mb, ID, 16, 1, got, 8, 0, NULL), CL_OK);
		assert_memory_equal(got, m[i], 8);
	}
	assert_int_equal(mpc_mailbox_take(mb, ID, 16, 0, got, 8, 0, NULL), CL_OK);
	assert_memory_equal(got, m[2], 8);
	/* nothing queued: a timeout, promptly */
	assert_int_equal(mpc_mailbox_take(mb, ID, 16, 1, got, 8, 50, NULL), CL_ETIMEOUT);
	/* the next one goes on at 3 */
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 1, 3, m[1], 8, 0, NULL), CL_OK);
	assert_int_equal(mpc_mailbox_take(mb, ID, 16, 1, got, 8, 0, NULL), CL_OK);
	/* computations are apart: ID2 is not open */
	assert_int_equal(mpc_mailbox_take(mb, ID2, 16, 1, got, 8, 0, NULL), CL_ENOTFOUND);
	assert_int_equal(mpc_mailbox_put(mb, ID2, 16, 1, 0, m[1], 8, 0, NULL), CL_ENOTFOUND);
	mpc_mailbox_free(mb);
}

static void test_wrong_length_fails(void **state)
{
	struct mpc_mailbox *mb = mk(0, 1, MPC_NET_MAX_MESSAGE);
	uint8_t m[8] = {0}, got[16];
	unsigned who = 9;

	(void)state;
	assert_int_equal(mpc_mailbox_open(mb, ID, 16), CL_OK);
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 2, 0, m, 8, 0, NULL), CL_OK);
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 2, 1, m, 8, 0, NULL), CL_OK);
	assert_int_equal(mpc_mailbox_take(mb, ID, 16, 2, got, 16, 0, &who), CL_EPROTO);
	assert_int_equal(who, 2);
	/* the computation has failed: later takes say so, puts are cancelled */
	who = 9;
	assert_int_equal(mpc_mailbox_take(mb, ID, 16, 2, got, 8, 0, &who), CL_EPROTO);
	assert_int_equal(who, 2);
	assert_int_equal(mpc_mailbox_take(mb, ID, 16, 1, got, 8, 0, NULL), CL_EPROTO);
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 2, 2, m, 8, 0, NULL), CL_ECANCELLED);
	mpc_mailbox_close(mb, ID, 16);
	/* reopened, it starts afresh */
	assert_int_equal(mpc_mailbox_open(mb, ID, 16), CL_OK);
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 2, 0, m, 8, 0, NULL), CL_OK);
	assert_int_equal(mpc_mailbox_take(mb, ID, 16, 2, got, 8, 0, NULL), CL_OK);
	mpc_mailbox_free(mb);
}

struct later {
	struct mpc_mailbox *mb;
	int what; /* 0 open, 1 take 8 bytes, 2 fail by party 2, 3 close, 4 fail all */
	unsigned delay_ms;
	int rc;
};

static void *later_fn(void *arg)
{
	struct later *l = arg;
	uint8_t got[MPC_NET_MAX_MESSAGE > 8 ? 8 : 8];

	usleep(l->delay_ms * 1000);
	if (l->what == 0)
		l->rc = mpc_mailbox_open(l->mb, ID, 16);
	else if (l->what == 1)
		l->rc = mpc_mailbox_take(l->mb, ID, 16, 1, got, 8, 2000, NULL);
	else if (l->what == 2)
		l->rc = mpc_mailbox_fail(l->mb, ID, 16, 2, CL_EUNAVAIL);
	else if (l->what == 3)
		mpc_mailbox_close(l->mb, ID, 16);
	else
		mpc_mailbox_fail_all(l->mb, 0, CL_ECANCELLED);
	return NULL;
}

static void run_later(pthread_t *t, struct later *l, struct mpc_mailbox *mb, int what,
		      unsigned delay_ms)
{
	l->mb = mb;
	l->what = what;
	l->delay_ms = delay_ms;
	l->rc = 1;
	assert_int_equal(pthread_create(t, NULL, later_fn, l), 0);
}

/* A message that arrives before its computation opens waits for it (the start race). */
static void test_put_waits_for_open(void **state)
{
	struct mpc_mailbox *mb = mk(2, 2, MPC_NET_MAX_MESSAGE);
	struct later l;
	pthread_t t;
	uint8_t m[8] = {7}, got[8];

	(void)state;
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 1, 0, m, 8, 30, NULL), CL_ENOTFOUND);
	run_later(&t, &l, mb, 0, 100);
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 1, 0, m, 8, 3000, NULL), CL_OK);
	pthread_join(t, NULL);
	assert_int_equal(l.rc, CL_OK);
	assert_int_equal(mpc_mailbox_take(mb, ID, 16, 1, got, 8, 0, NULL), CL_OK);
	assert_int_equal(got[0], 7);
	mpc_mailbox_free(mb);
}

/* The bound on queued bytes: a put waits until the receiver takes (backpressure). */
static void test_bound_backpressure(void **state)
{
	size_t big = MPC_NET_MAX_MESSAGE;
	struct mpc_mailbox *mb = mk(2, 1, big);
	uint8_t *m = calloc(1, big), *got = malloc(big);
	struct later l;
	pthread_t t;
	long long t0;

	(void)state;
	assert_non_null(m);
	assert_non_null(got);
	assert_int_equal(mpc_mailbox_open(mb, ID, 16), CL_OK);
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 1, 0, m, big - 8, 0, NULL), CL_OK);
	/* no room for 16 more bytes: times out, and the seq is still expected */
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 1, 1, m, 16, 50, NULL), CL_ETIMEOUT);
	/* a taker frees the room: the waiting put goes through */
	l.mb = mb;
	t0 = now_ms();
	l.what = 5;
	l.delay_ms = 0;
	assert_int_equal(mpc_mailbox_take(mb, ID, 16, 1, got, big - 8, 0, NULL), CL_OK);
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 1, 1, m, 8, 0, NULL), CL_OK);
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 1, 2, m, big - 8, 0, NULL), CL_OK);
	run_later(&t, &l, mb, 1, 100); /* takes the 8 bytes after 100 ms */
	assert_int_equal(mpc_mailbox_put(mb, ID, 16, 1, 3, m, 8, 3000, NULL), CL_OK);
	assert_true(now_ms() - t0 >= 90);
	pthread_join(t, NULL);
	assert_int_equal(l.rc, CL_OK);
	free(m);
	free(got);
	mpc_mailbox_free(mb);
}

/* A failure wakes a blocked take at once with its code and the party that caused it. */
static void test_fail_wakes(void **state)
{
	struct mpc_mailbox *mb = mk(0, 2, MPC_NET_MAX_MESSAGE);
	struct later l;
	pthread_t t;
	uint8_t got[8];
	unsigned who = 9;
	long long t0;

	(void)state;
	assert_int_equal(mpc_mailbox_open(mb, ID, 16), CL_OK);
	assert_int_equal(mpc_mailbox_open(mb, ID2, 16), CL_OK);
	run_later(&t, &l, mb, 2, 50);
	t0 = now_ms();
	assert_int_equal(mpc_mailbox_take(mb, ID, 16, 1, got, 8, 5000, &who), CL_EUNAVAIL);
	assert_true(now_ms() - t0 < 2000);
	assert_int_equal(who, 2);
	pthread_join(t, NULL);
	assert_int_equal(l.rc, CL_OK);
	/* the first failure is kept; the other computation is untouched */
	assert_int_equal(mpc_mailbox_fail(mb, ID, 16, 1, CL_ETIMEOUT), CL_OK);
	assert_int_equal(mpc_mailbox_take(mb, ID, 16, 2, got, 8, 0, &who), CL_EUNAVAIL);
	assert_int_equal(who, 2);
	assert_int_equal(mpc_mailbox_take(mb, ID2, 16, 1, got, 8, 10, NULL), CL_ETIMEOUT);
	assert_int_equal(
	    mpc_mailbox_fail(mb, (const uint8_t *)"computation-0009", 16, 1, CL_EUNAVAIL),
	    CL_ENOTFOUND);
	/* fail_all (draining) wakes the other one */
	run_later(&t, &l, mb, 4, 50);
	assert_int_equal(mpc_mailbox_take(mb, ID2, 16, 1, got, 8, 5000, &who), CL_ECANCELLED);
	assert_int_equal(who, 0);
	pthread_join(t, NULL);
	mpc_mailbox_free(mb);
}

/* A close wakes a blocked take: the computation is gone. */
static void test_close_wakes(void **state)
{
	struct mpc_mailbox *mb = mk(1, 1, MPC_NET_MAX_MESSAGE);
	struct later l;
	pthread_t t;
	uint8_t got[8];
	long long t0;

	(void)state;
	assert_int_equal(mpc_mailbox_open(mb, ID, 16), CL_OK);
	run_later(&t, &l, mb, 3, 50);
	t0 = now_ms();
	assert_int_equal(mpc_mailbox_take(mb, ID, 16, 2, got, 8, 5000, NULL), CL_ENOTFOUND);
	assert_true(now_ms() - t0 < 2000);
	pthread_join(t, NULL);
	assert_int_equal(mpc_mailbox_open_count(mb), 0);
	mpc_mailbox_free(mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_arguments),      cmocka_unit_test(test_order_and_sequence),
	    cmocka_unit_test(test_wrong_length_fails), cmocka_unit_test(test_put_waits_for_open),
	    cmocka_unit_test(test_bound_backpressure), cmocka_unit_test(test_fail_wakes),
	    cmocka_unit_test(test_close_wakes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
