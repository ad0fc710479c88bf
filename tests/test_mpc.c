/*
 * The three-party engine (compute/mpc_share, mpc_circuit) over the in-process transport.
 * Ground truth: the same operations on the plaintext values, computed here with C
 * integer arithmetic; privacy: a party's shares of fixed values are uniform and differ
 * between runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "compute/mpc_circuit.h"
#include "compute/mpc_input.h"
#include "compute/mpc_net.h"
#include "compute/mpc_share.h"

#define N 1000

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* What every party of a test sees: the plaintext inputs (used only by their owner) and
 * the outputs each party opened. */
struct job {
	size_t n;
	uint64_t a[N], b[N];		  /* party 0's and party 1's inputs */
	uint64_t out[MPC_PARTIES][2 * N]; /* what each party opened */
	uint64_t share0[MPC_PARTIES][N];  /* each party's first share of a */
	int opened[MPC_PARTIES];
	int op;
	unsigned target, k;
};

struct pctx {
	struct job *job;
};

enum { OP_OPEN, OP_MUL, OP_AND, OP_OPEN_TO, OP_MSB, OP_A2B, OP_B2A, OP_ANDRED };

static int run_op(struct mpc_party *p, struct job *j)
{
	unsigned self = mpc_party_self(p);
	struct mpc_a x = {0}, y = {0}, z = {0};
	struct mpc_b bx = {0}, by = {0}, bz = {0};
	size_t W = mpc_words(j->n);
	int rc;

	rc = mpc_a_input(p, 0, self == 0 ? j->a : NULL, j->n, &x);
	if (rc == 0)
		rc = mpc_a_input(p, 1, self == 1 ? j->b : NULL, j->n, &y);
	if (rc != 0)
		goto out;
	memcpy(j->share0[self], x.s0, j->n * 8);
	switch (j->op) {
	case OP_OPEN:
		rc = mpc_a_open(p, &x, j->out[self]);
		j->opened[self] = rc == 0;
		break;
	case OP_OPEN_TO:
		rc = mpc_a_open_to(p, j->target, &x, self == j->target ? j->out[self] : NULL);
		j->opened[self] = rc == 0 && self == j->target;
		break;
	case OP_MUL:
		rc = mpc_a_alloc(&z, j->n);
		if (rc == 0)
			rc = mpc_a_mul(p, &z, &x, &y);
		if (rc == 0)
			rc = mpc_a_open(p, &z, j->out[self]);
		break;
	case OP_AND:
		rc = mpc_b_input(p, 0, self == 0 ? j->a : NULL, j->n, &bx);
		if (rc == 0)
			rc = mpc_b_input(p, 1, self == 1 ? j->b : NULL, j->n, &by);
		if (rc == 0)
			rc = mpc_b_alloc(&bz, j->n);
		if (rc == 0)
			rc = mpc_b_and(p, &bz, &bx, &by);
		if (rc == 0)
			rc = mpc_b_open(p, &bz, j->out[self]);
		break;
	case OP_MSB:
		rc = mpc_a_sub(&x, &x, &y);
		if (rc == 0)
			rc = mpc_msb32(p, &x, &bz);
		if (rc == 0)
			rc = mpc_b_open(p, &bz, j->out[self]);
		break;
	case OP_A2B:
		rc = mpc_a2b(p, &x, j->k, &bz);
		if (rc == 0)
			rc = mpc_b_open(p, &bz, j->out[self]);
		break;
	case OP_B2A:
		rc = mpc_b_input(p, 0, self == 0 ? j->a : NULL, W, &bx);
		if (rc == 0)
			rc = mpc_b2a(p, &bx, j->n, &z);
		if (rc == 0)
			rc = mpc_a_open(p, &z, j->out[self]);
		break;
	case OP_ANDRED:
		/* a holds k planes of W words */
		rc = mpc_b_input(p, 0, self == 0 ? j->a : NULL, j->k * W, &bx);
		if (rc == 0)
			rc = mpc_and_reduce(p, &bx, j->k, W, &bz);
		if (rc == 0)
			rc = mpc_b_open(p, &bz, j->out[self]);
		break;
	default:
		rc = CL_EINVAL;
	}
out:
	mpc_a_free(&x);
	mpc_a_free(&y);
	mpc_a_free(&z);
	mpc_b_free(&bx);
	mpc_b_free(&by);
	mpc_b_free(&bz);
	return rc;
}

static int party_main(struct mpc_net *net, void *ctx)
{
	struct mpc_party *p = NULL;
	int rc = mpc_party_new(&p, net);

	if (rc == 0)
		rc = run_op(p, ((struct pctx *)ctx)->job);
	mpc_party_free(p);
	return rc;
}

static int run_job(struct job *j)
{
	struct pctx c = {.job = j};
	void *ctx[MPC_PARTIES] = {&c, &c, &c};

	return mpc_net_local_run(party_main, ctx, 20000);
}

static struct job *new_job(int op, size_t n)
{
	struct job *j = calloc(1, sizeof(*j));

	assert_non_null(j);
	j->op = op;
	j->n = n;
	for (size_t k = 0; k < N; k++) {
		j->a[k] = rnd();
		j->b[k] = rnd();
	}
	return j;
}

static void test_input_open(void **state)
{
	struct job *j = new_job(OP_OPEN, N);

	(void)state;
	assert_int_equal(run_job(j), 0);
	for (unsigned i = 0; i < MPC_PARTIES; i++)
		assert_memory_equal(j->out[i], j->a, N * 8);
	free(j);
}

static void test_open_to_one(void **state)
{
	(void)state;
	for (unsigned t = 0; t < MPC_PARTIES; t++) {
		struct job *j = new_job(OP_OPEN_TO, N);

		j->target = t;
		assert_int_equal(run_job(j), 0);
		for (unsigned i = 0; i < MPC_PARTIES; i++) {
			assert_int_equal(j->opened[i], i == t);
			if (i == t)
				assert_memory_equal(j->out[i], j->a, N * 8);
		}
		free(j);
	}
}

static void test_mul(void **state)
{
	struct job *j = new_job(OP_MUL, N);

	(void)state;
	assert_int_equal(run_job(j), 0);
	for (size_t k = 0; k < N; k++)
		for (unsigned i = 0; i < MPC_PARTIES; i++)
			assert_true(j->out[i][k] == j->a[k] * j->b[k]);
	free(j);
}

static void test_and(void **state)
{
	struct job *j = new_job(OP_AND, N);

	(void)state;
	assert_int_equal(run_job(j), 0);
	for (size_t k = 0; k < N; k++)
		assert_true(j->out[1][k] == (j->a[k] & j->b[k]));
	free(j);
}

/* a - b < 0 as 32-bit values, with edge cases: equal, ±1, ±(2^31 - 1). */
static void test_msb32(void **state)
{
	struct job *j = new_job(OP_MSB, N);

	(void)state;
	for (size_t k = 0; k < N; k++) {
		uint64_t d =
		    k < 6 ? (uint64_t[]){0,   1, (uint64_t)-1, 0x7fffffff, (uint64_t)-0x7fffffffll,
					 4320}[k]
			  : (uint64_t)(int64_t)(int32_t)(uint32_t)rnd();

		j->b[k] = rnd() >> 34;
		j->a[k] = j->b[k] + d;
	}
	assert_int_equal(run_job(j), 0);
	for (size_t k = 0; k < N; k++) {
		int expect = (int32_t)(uint32_t)(j->a[k] - j->b[k]) < 0;
		int got = (int)((j->out[2][k / 64] >> (k % 64)) & 1);

		assert_int_equal(got, expect);
	}
	for (size_t k = N; k < 64 * mpc_words(N); k++)
		assert_int_equal((j->out[2][k / 64] >> (k % 64)) & 1, 0);
	free(j);
}

static void test_a2b(void **state)
{
	(void)state;
	for (unsigned k = 1; k <= 32; k += 7) {
		struct job *j = new_job(OP_A2B, N);
		size_t W = mpc_words(N);

		j->k = k;
		for (size_t e = 0; e < N; e++)
			j->a[e] = rnd() & ((1ull << k) - 1);
		assert_int_equal(run_job(j), 0);
		for (size_t e = 0; e < N; e++) {
			uint64_t v = 0;

			for (unsigned b = 0; b < k; b++)
				v |= ((j->out[0][b * W + e / 64] >> (e % 64)) & 1) << b;
			assert_true(v == j->a[e]);
		}
		free(j);
	}
}

static void test_b2a(void **state)
{
	struct job *j = new_job(OP_B2A, N);

	(void)state;
	assert_int_equal(run_job(j), 0);
	for (size_t e = 0; e < N; e++)
		assert_true(j->out[1][e] == ((j->a[e / 64] >> (e % 64)) & 1));
	free(j);
}

static void test_and_reduce(void **state)
{
	(void)state;
	for (unsigned m = 1; m <= 9; m++) {
		struct job *j = new_job(OP_ANDRED, 100);
		size_t W = mpc_words(100);

		j->k = m;
		/* mostly ones so that the AND is not always zero */
		for (size_t t = 0; t < m * W; t++)
			j->a[t] = rnd() | rnd() | rnd();
		assert_int_equal(run_job(j), 0);
		for (size_t t = 0; t < W; t++) {
			uint64_t expect = ~0ull;

			for (unsigned q = 0; q < m; q++)
				expect &= j->a[q * W + t];
			assert_true(j->out[0][t] == expect);
		}
		free(j);
	}
}

/* A party's first share of constant inputs: about half the bits set, unequal across runs. */
static void test_shares_uniform(void **state)
{
	struct job *j1 = new_job(OP_OPEN, N), *j2 = new_job(OP_OPEN, N);
	size_t ones = 0, equal = 0;

	(void)state;
	memset(j1->a, 0, sizeof(j1->a));
	memset(j2->a, 0, sizeof(j2->a));
	assert_int_equal(run_job(j1), 0);
	assert_int_equal(run_job(j2), 0);
	for (unsigned i = 1; i < MPC_PARTIES; i++) {
		for (size_t k = 0; k < N; k++) {
			ones += (size_t)__builtin_popcountll(j1->share0[i][k]);
			equal += j1->share0[i][k] == j2->share0[i][k];
		}
	}
	/* 2·N·64 = 128 000 bits: mean 64 000, sd ~179; 6 sd bounds */
	assert_true(ones > 64000 - 1100 && ones < 64000 + 1100);
	assert_int_equal(equal, 0);
	free(j1);
	free(j2);
}

/* A party that fails makes the others fail instead of waiting. */
static int failing_party(struct mpc_net *net, void *ctx)
{
	struct mpc_party *p = NULL;
	struct mpc_a x = {0};
	int rc;

	(void)ctx;
	rc = mpc_party_new(&p, net);
	if (rc == 0 && net->self == 2)
		rc = CL_EIO;
	else if (rc == 0)
		rc = mpc_a_input(p, 2, NULL, 10, &x);
	mpc_a_free(&x);
	mpc_party_free(p);
	return rc;
}

static void test_party_failure(void **state)
{
	void *ctx[MPC_PARTIES] = {NULL, NULL, NULL};

	(void)state;
	assert_int_equal(mpc_net_local_run(failing_party, ctx, 20000), CL_EIO);
}

/* A node's split reconstructs exactly; x0 alone looks random; seeds are fresh per split. */
static void test_input_split(void **state)
{
	struct mpc_input_shape sh = {.n = 300, .na = 2, .nplanes = 5};
	uint8_t s1[MPC_INPUT_SEED], s2[MPC_INPUT_SEED], s1b[MPC_INPUT_SEED], s2b[MPC_INPUT_SEED];
	uint64_t x[700], x0[700], e1[700], e2[700], x0b[700];
	size_t words = 0, ones = 0, arith = 600;

	(void)state;
	assert_int_equal(mpc_input_words(&sh, &words), 0);
	assert_int_equal(words, 600 + 5 * 5);
	for (size_t k = 0; k < words; k++)
		x[k] = k < arith ? k : 0; /* small values, zero planes */
	assert_int_equal(mpc_input_split(&sh, x, x0, s1, s2), 0);
	assert_int_equal(mpc_input_expand(&sh, s1, e1), 0);
	assert_int_equal(mpc_input_expand(&sh, s2, e2), 0);
	for (size_t k = 0; k < words; k++) {
		assert_true((k < arith ? x0[k] + e1[k] + e2[k] : x0[k] ^ e1[k] ^ e2[k]) == x[k]);
		ones += (size_t)__builtin_popcountll(x0[k]);
	}
	/* 625 words = 40 000 bits: mean 20 000, sd 100 */
	assert_true(ones > 19400 && ones < 20600);
	assert_int_equal(mpc_input_split(&sh, x, x0b, s1b, s2b), 0);
	assert_memory_not_equal(s1, s1b, sizeof(s1));
	assert_memory_not_equal(x0, x0b, words * 8);
	sh.n = (size_t)1 << 40;
	assert_int_equal(mpc_input_words(&sh, &words), CL_ELIMIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_input_open),
	    cmocka_unit_test(test_open_to_one),
	    cmocka_unit_test(test_mul),
	    cmocka_unit_test(test_and),
	    cmocka_unit_test(test_msb32),
	    cmocka_unit_test(test_a2b),
	    cmocka_unit_test(test_b2a),
	    cmocka_unit_test(test_and_reduce),
	    cmocka_unit_test(test_shares_uniform),
	    cmocka_unit_test(test_party_failure),
	    cmocka_unit_test(test_input_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
