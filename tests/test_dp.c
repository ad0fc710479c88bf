/*
 * Tests of the exact DP samplers (coordinator/dp.c).
 *
 * The Bernoulli(exp(−γ)) sub-sampler is checked deterministically with injected bytes, its
 * every step worked out by hand from CKS20 Algorithm 1. The discrete Laplace and Gaussian are
 * checked statistically against their exact pmf, computed here independently in long double:
 * over N draws from the cryptographic RNG, the mean, the second moment, the pmf at -3..3 and the
 * tails P(|X| >= k) must each lie within 6 standard errors of the exact value. For a correct
 * sampler each check fails with probability about 2·10^-9 (normal approximation; frequencies are
 * checked only where n·p·(1−p) >= 100, so that it holds), so the whole file fails falsely with
 * probability below 10^-7. The same checks are shown to reject a sampler of the wrong scale.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "coordinator/dp.h"

#define N_DRAWS	 200000
#define N_POWER	 20000
#define Z_SIGMAS 6.0L
#define PMF_MAX	 400 /* |x| range of the exact pmf tables */

/* Injected bytes: a fixed queue; running out is an error. */
struct queue {
	const unsigned char *bytes;
	size_t len, pos;
};

static int queue_fill(void *ctx, unsigned char *buf, size_t len)
{
	struct queue *q = ctx;

	if (len > q->len - q->pos)
		return CL_EIO;
	memcpy(buf, q->bytes + q->pos, len);
	q->pos += len;
	return CL_OK;
}

static int bern_with(const unsigned char *bytes, size_t len, uint64_t num, uint64_t den,
		     size_t *used)
{
	struct queue q = {bytes, len, 0};
	struct dp_rng rng = {queue_fill, &q};
	int bit = -1;

	assert_int_equal(dp_bernoulli_exp(&rng, num, den, &bit), CL_OK);
	*used = q.pos;
	return bit;
}

/* CKS20 Algorithm 1 step by step: K counts successes of Bernoulli(γ/K); output K odd. */
static void test_bernoulli_exp_injected(void **state)
{
	size_t used = 0;
	(void)state;

	/* γ = 0: Bernoulli(0/1) needs no byte and fails at once: K = 1, output 1. */
	assert_int_equal(bern_with(NULL, 0, 0, 1, &used), 1);
	assert_int_equal(used, 0);
	/* γ = 1/2, K=1: u in [0,2) from 1 bit; 1 -> A=0 -> K=1 odd -> 1. */
	assert_int_equal(bern_with((const unsigned char[]){0x01}, 1, 1, 2, &used), 1);
	assert_int_equal(used, 1);
	/* γ = 1/2: A=1 (u=0), then Bernoulli(1/4): u = 0x01 & 3 = 1 -> A=0, K=2 even -> 0. */
	assert_int_equal(bern_with((const unsigned char[]){0x00, 0x01}, 2, 1, 2, &used), 0);
	assert_int_equal(used, 2);
	/* γ = 1/2: u=0 (A=1), 0x04&3=0 (A=1), Bernoulli(1/6): 0x07&7=7 rejected, 0x05&7=5 -> A=0,
	 * K=3 odd -> 1, four bytes used. */
	assert_int_equal(bern_with((const unsigned char[]){0x00, 0x04, 0x07, 0x05}, 4, 1, 2, &used),
			 1);
	assert_int_equal(used, 4);
	/* The top bits of a byte are masked: 0xfe & 1 = 0 -> A=1; 0xfd & 3 = 1 -> K=2 -> 0. */
	assert_int_equal(bern_with((const unsigned char[]){0xfe, 0xfd}, 2, 1, 2, &used), 0);
	/* γ = 3/2: one Bernoulli(exp(−1)) first: Bernoulli(1/1) succeeds without bytes, then
	 * Bernoulli(1/2) with 0x01 fails: K=2 even -> 0 and the fraction is never sampled. */
	assert_int_equal(bern_with((const unsigned char[]){0x01}, 1, 3, 2, &used), 0);
	assert_int_equal(used, 1);
	/* γ = 3/2: exp(−1): 0x00 -> K=3, Bernoulli(1/3): 0x02 -> A=0, K=3 odd -> 1; then
	 * exp(−1/2): 0x01 -> A=0 at K=1 -> 1. */
	assert_int_equal(bern_with((const unsigned char[]){0x00, 0x02, 0x01}, 3, 3, 2, &used), 1);
	assert_int_equal(used, 3);
	/* γ = 3/2: exp(−1): 0x00 -> K=3, 0x00 -> K=4, Bernoulli(1/4): 0x03 -> A=0, K=4 even -> 0.
	 */
	assert_int_equal(bern_with((const unsigned char[]){0x00, 0x00, 0x03}, 3, 3, 2, &used), 0);
	assert_int_equal(used, 3);
	/* γ = 2: two Bernoulli(exp(−1)) and an empty fraction; 0x01 makes the first fail. */
	assert_int_equal(bern_with((const unsigned char[]){0x01}, 1, 2, 1, &used), 0);
	assert_int_equal(used, 1);
	/* γ = 2, each exp(−1): 0x00 -> K=3, Bernoulli(1/3): 0x03 is 3 >= 3, rejected and drawn
	 * again, 0x02 -> A=0, K=3 odd -> 1; the fraction 0/1 needs no byte -> 1. */
	assert_int_equal(
	    bern_with((const unsigned char[]){0x00, 0x03, 0x02, 0x00, 0x03, 0x02}, 6, 2, 1, &used),
	    1);
	assert_int_equal(used, 6);
}

static void test_rng_errors(void **state)
{
	struct queue q = {(const unsigned char[]){0x00}, 1, 0};
	struct dp_rng rng = {queue_fill, &q};
	int64_t v = 12345;
	int bit = 7;
	(void)state;

	/* The queue runs dry: the error comes back and the outputs stay untouched. */
	assert_int_equal(dp_laplace(&rng, 3, 1, &v), CL_EIO);
	assert_int_equal(v, 12345);
	q.pos = 0;
	assert_int_equal(dp_gaussian(&rng, 4, 1, &v), CL_EIO);
	assert_int_equal(v, 12345);
	q.pos = 1;
	assert_int_equal(dp_bernoulli_exp(&rng, 1, 2, &bit), CL_EIO);
	assert_int_equal(bit, 7);
}

static void test_parameters(void **state)
{
	uint64_t n = 0, d = 0;
	int64_t v = 0, micro = 0;
	(void)state;

	assert_int_equal(dp_laplace(NULL, 0, 1, &v), CL_EINVAL);
	assert_int_equal(dp_laplace(NULL, 1, 0, &v), CL_EINVAL);
	assert_int_equal(dp_laplace(NULL, DP_MAX_PARAM + 1, 1, &v), CL_EINVAL);
	assert_int_equal(dp_gaussian(NULL, 1, DP_MAX_PARAM + 1, &v), CL_EINVAL);
	assert_int_equal(dp_gaussian(NULL, 4, 1, NULL), CL_EINVAL);
	assert_int_equal(dp_bernoulli_exp(NULL, 1, 0, NULL), CL_EINVAL);

	/* ε = 1/2 -> scale 2; ε = 4/6 -> 3/2. */
	assert_int_equal(dp_laplace_scale(1, 2, &n, &d), CL_OK);
	assert_true(n == 2 && d == 1);
	assert_int_equal(dp_laplace_scale(4, 6, &n, &d), CL_OK);
	assert_true(n == 3 && d == 2);
	assert_int_equal(dp_laplace_scale(0, 6, &n, &d), CL_EINVAL);
	/* ρ = 1/8 -> σ² = 4; ρ = 3/10 -> 10/6 = 5/3. */
	assert_int_equal(dp_gaussian_sigma2(1, 8, &n, &d), CL_OK);
	assert_true(n == 4 && d == 1);
	assert_int_equal(dp_gaussian_sigma2(3, 10, &n, &d), CL_OK);
	assert_true(n == 5 && d == 3);

	assert_int_equal(dp_epsilon_micro(0.1, 1, &micro), CL_OK);
	assert_int_equal(micro, 100000);
	assert_int_equal(dp_epsilon_micro(0.5, 0, &micro), CL_OK);
	assert_int_equal(micro, 500000);
	assert_int_equal(dp_epsilon_micro(0.0000015, 1, &micro), CL_OK);
	assert_int_equal(micro, 2);
	assert_int_equal(dp_epsilon_micro(0.0000015, 0, &micro), CL_OK);
	assert_int_equal(micro, 1);
	assert_int_equal(dp_epsilon_micro(0.0000001, 0, &micro), CL_EINVAL);
	assert_int_equal(dp_epsilon_micro(NAN, 1, &micro), CL_EINVAL);
	assert_int_equal(dp_epsilon_micro(-1.0, 1, &micro), CL_EINVAL);
	assert_int_equal(dp_epsilon_micro(1000.0, 1, &micro), CL_EINVAL);
}

/* An exact pmf on [-PMF_MAX, PMF_MAX], normalised; index x + PMF_MAX. */
struct pmf {
	long double p[2 * PMF_MAX + 1];
	long double var, m4;
};

static void pmf_finish(struct pmf *f)
{
	long double sum = 0, var = 0, m4 = 0;
	int x;

	for (x = -PMF_MAX; x <= PMF_MAX; x++)
		sum += f->p[x + PMF_MAX];
	for (x = -PMF_MAX; x <= PMF_MAX; x++) {
		long double p = f->p[x + PMF_MAX] / sum, xx = (long double)x * x;

		f->p[x + PMF_MAX] = p;
		var += p * xx;
		m4 += p * xx * xx;
	}
	f->var = var;
	f->m4 = m4;
}

/* P(x) ∝ exp(−|x|/t). */
static void pmf_laplace(struct pmf *f, long double t)
{
	for (int x = -PMF_MAX; x <= PMF_MAX; x++)
		f->p[x + PMF_MAX] = expl(-fabsl((long double)x) / t);
	pmf_finish(f);
}

/* P(x) ∝ exp(−x²/(2σ²)). */
static void pmf_gauss(struct pmf *f, long double s2)
{
	for (int x = -PMF_MAX; x <= PMF_MAX; x++)
		f->p[x + PMF_MAX] = expl(-(long double)x * x / (2 * s2));
	pmf_finish(f);
}

/* Checks a binomial frequency against p; returns 1 when outside Z_SIGMAS standard errors. */
static int off_binomial(const char *what, long hits, long n, long double p)
{
	long double se = sqrtl(p * (1 - p) / n), f = (long double)hits / n;

	/* Only where the normal approximation of the binomial holds (n·p·(1−p) >= 100). */
	if (n * p * (1 - p) < 100)
		return 0;
	if (fabsl(f - p) > Z_SIGMAS * se + 1e-12L) {
		printf("  %s: frequency %.6Lf, exact %.6Lf, %.1Lf standard errors\n", what, f, p,
		       se > 0 ? fabsl(f - p) / se : 1e9L);
		return 1;
	}
	return 0;
}

/* Draws n samples and counts the checks against f that fail. */
static int check_sampler(int gauss, uint64_t num, uint64_t den, const struct pmf *f, long n,
			 int verbose)
{
	long counts[2 * PMF_MAX + 1] = {0};
	long outside = 0, tail;
	long double sum = 0, sum2 = 0, mean, m2, se;
	int failed = 0;
	char what[64];

	for (long i = 0; i < n; i++) {
		int64_t v = 0;

		if (gauss)
			assert_int_equal(dp_gaussian(NULL, num, den, &v), CL_OK);
		else
			assert_int_equal(dp_laplace(NULL, num, den, &v), CL_OK);
		sum += v;
		sum2 += (long double)v * v;
		if (v >= -PMF_MAX && v <= PMF_MAX)
			counts[v + PMF_MAX]++;
		else
			outside++;
	}
	mean = sum / n;
	m2 = sum2 / n;
	if (verbose)
		printf("  %s %llu/%llu: mean %.4Lf, E[X^2] %.4Lf (exact %.4Lf)\n",
		       gauss ? "gaussian s2" : "laplace t", (unsigned long long)num,
		       (unsigned long long)den, mean, m2, f->var);
	se = sqrtl(f->var / n);
	if (fabsl(mean) > Z_SIGMAS * se) {
		printf("  mean %.5Lf is %.1Lf standard errors from 0\n", mean, fabsl(mean) / se);
		failed++;
	}
	se = sqrtl((f->m4 - f->var * f->var) / n);
	if (fabsl(m2 - f->var) > Z_SIGMAS * se) {
		printf("  E[X^2] %.5Lf is %.1Lf standard errors from %.5Lf\n", m2,
		       fabsl(m2 - f->var) / se, f->var);
		failed++;
	}
	for (int x = -3; x <= 3; x++) {
		snprintf(what, sizeof(what), "P(X = %d)", x);
		failed += off_binomial(what, counts[x + PMF_MAX], n, f->p[x + PMF_MAX]);
	}
	for (int k = 1; k <= 12; k += (k < 3 ? 1 : 3)) {
		long double p = 0;

		tail = outside;
		for (int x = -PMF_MAX; x <= PMF_MAX; x++)
			if (x >= k || x <= -k) {
				tail += counts[x + PMF_MAX];
				p += f->p[x + PMF_MAX];
			}
		snprintf(what, sizeof(what), "P(|X| >= %d)", k);
		failed += off_binomial(what, tail, n, p);
	}
	return failed;
}

static void test_laplace_distribution(void **state)
{
	struct pmf *f = calloc(1, sizeof(*f));
	(void)state;

	assert_non_null(f);
	/* ε = 1/2: scale 2. */
	pmf_laplace(f, 2.0L);
	assert_int_equal(check_sampler(0, 2, 1, f, N_DRAWS, 1), 0);
	/* A rational scale 5/3 (the floor(X/s) step matters). */
	pmf_laplace(f, 5.0L / 3.0L);
	assert_int_equal(check_sampler(0, 5, 3, f, N_DRAWS, 1), 0);
	/* Power: the same checks reject scale 5/2 sampled where scale 2 is expected. */
	pmf_laplace(f, 2.0L);
	assert_true(check_sampler(0, 5, 2, f, N_POWER, 0) > 0);
	free(f);
}

static void test_gaussian_distribution(void **state)
{
	struct pmf *f = calloc(1, sizeof(*f));
	(void)state;

	assert_non_null(f);
	pmf_gauss(f, 4.0L);
	assert_int_equal(check_sampler(1, 4, 1, f, N_DRAWS, 1), 0);
	/* σ² = 10/3: t = floor(σ) + 1 = 2, rational acceptance probabilities. */
	pmf_gauss(f, 10.0L / 3.0L);
	assert_int_equal(check_sampler(1, 10, 3, f, N_DRAWS, 1), 0);
	/* σ² = 1/2 below 1: t = 1. */
	pmf_gauss(f, 0.5L);
	assert_int_equal(check_sampler(1, 1, 2, f, N_DRAWS / 4, 1), 0);
	/* Power: σ² = 5 sampled where σ² = 4 is expected is rejected. */
	pmf_gauss(f, 4.0L);
	assert_true(check_sampler(1, 5, 1, f, N_POWER, 0) > 0);
	free(f);
}

/* Bernoulli(exp(−γ)) from the real RNG against exp(−γ). */
static void test_bernoulli_exp_distribution(void **state)
{
	static const uint64_t g[][2] = {{3, 10}, {5, 2}, {7, 7}, {0, 5}};
	(void)state;

	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		long hits = 0;
		char what[64];

		for (long k = 0; k < N_POWER * 2; k++) {
			int bit = 0;

			assert_int_equal(dp_bernoulli_exp(NULL, g[i][0], g[i][1], &bit), CL_OK);
			hits += bit;
		}
		snprintf(what, sizeof(what), "Bernoulli(exp(-%llu/%llu))",
			 (unsigned long long)g[i][0], (unsigned long long)g[i][1]);
		assert_int_equal(
		    off_binomial(what, hits, N_POWER * 2, expl(-(long double)g[i][0] / g[i][1])),
		    0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bernoulli_exp_injected),
	    cmocka_unit_test(test_rng_errors),
	    cmocka_unit_test(test_parameters),
	    cmocka_unit_test(test_bernoulli_exp_distribution),
	    cmocka_unit_test(test_laplace_distribution),
	    cmocka_unit_test(test_gaussian_distribution),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
