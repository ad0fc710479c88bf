/*
 * The measure circuits' shared pieces (compute/mpc_layout) over the in-process transport,
 * against the same operations on the plaintext values computed here: pair maps, pair
 * comparisons with the position tie-break, first slot of a kind, cluster OR / XOR, picks,
 * window bounds and counts opened to party 0 only, on random values with many ties, for
 * buckets of 1, 2, 4 and 8 slots.
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
#include "compute/mpc_circuit.h"
#include "compute/mpc_layout.h"
#include "compute/mpc_net.h"

#define MAXN 512

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int bit(const uint64_t *plane, size_t k)
{
	return (int)((plane[k / 64] >> (k % 64)) & 1);
}

/* Plaintext inputs (dealt by P0) and what party 0 opened. */
struct job {
	struct mpc_bucket shape;
	size_t n, W, Wc, Q;
	uint64_t t[MAXN], x[MAXN], kind[MAXN / 64 + 1], sel[2 * (MAXN / 64 + 1)];
	uint32_t window;
	/* opened by every party into its own row; row 0 checked */
	uint64_t before[3][8 * MAXN], near[3][8 * MAXN], cmp[3][8 * MAXN], first[3][MAXN];
	uint64_t cor[3][2 * MAXN], cxor[3][2 * MAXN], pick[3][4 * MAXN], out2[3][2 * MAXN];
	uint64_t counts[2];
	int rc[3];
};

static int open_b(struct mpc_party *p, const struct mpc_b *v, uint64_t *row)
{
	return mpc_b_open(p, v, row);
}

static int party_main(struct mpc_net *net, void *ctx)
{
	struct job *j = ctx;
	struct mpc_party *p = NULL;
	struct mpc_layout_bk b;
	struct mpc_a t = {0}, x = {0}, pk = {0};
	struct mpc_b kind = {0}, sel = {0}, before = {0}, near = {0}, cmp = {0}, first = {0};
	struct mpc_b cor = {0}, cxor = {0}, o2 = {0};
	unsigned self;
	int rc = mpc_party_new(&p, net), me;

	memset(&b, 0, sizeof(b));
	if (rc != 0)
		return rc;
	self = mpc_party_self(p);
	me = self == 0;
	rc = mpc_layout_bk_init(&b, &j->shape);
	if (rc == 0)
		rc = mpc_a_input(p, 0, me ? j->t : NULL, j->n, &t);
	if (rc == 0)
		rc = mpc_a_input(p, 0, me ? j->x : NULL, j->n, &x);
	if (rc == 0)
		rc = mpc_b_input(p, 0, me ? j->kind : NULL, j->W, &kind);
	if (rc == 0)
		rc = mpc_b_input(p, 0, me ? j->sel : NULL, 2 * j->W, &sel);
	if (rc == 0 && b.Q > 0) {
		const struct mpc_layout_cmp spec[2] = {{&x, &t, 3, 1}, {&t, &x, (uint64_t)-5, 0}};

		rc = mpc_layout_before(p, &b, &t, j->window, &before, &near);
		if (rc == 0)
			rc = open_b(p, &before, j->before[self]);
		if (rc == 0)
			rc = open_b(p, &near, j->near[self]);
		if (rc == 0)
			rc = mpc_layout_pair_lt(p, &b, spec, 2, &cmp);
		if (rc == 0)
			rc = open_b(p, &cmp, j->cmp[self]);
	}
	if (rc == 0)
		rc = mpc_layout_first(p, &b, &kind, &before, &first);
	if (rc == 0)
		rc = open_b(p, &first, j->first[self]);
	if (rc == 0)
		rc = mpc_layout_cluster_or(p, &b, &sel, 2, &cor);
	if (rc == 0)
		rc = open_b(p, &cor, j->cor[self]);
	if (rc == 0)
		rc = mpc_layout_cluster_xor(&b, &sel, 2, &cxor);
	if (rc == 0)
		rc = open_b(p, &cxor, j->cxor[self]);
	if (rc == 0) {
		const struct mpc_a *cols[2] = {&t, &x};

		rc = mpc_layout_pick(p, &b, &first, 1, cols, 2, &pk);
	}
	if (rc == 0)
		rc = mpc_a_open(p, &pk, j->pick[self]);
	if (rc == 0)
		rc = mpc_layout_outside(p, &b, &x, &t, 1, 100, &o2);
	if (rc == 0)
		rc = open_b(p, &o2, j->out2[self]);
	if (rc == 0)
		rc = mpc_layout_count_open(p, &cor, 2, j->Wc, me ? j->counts : NULL);
	j->rc[self] = rc;
	mpc_layout_bk_free(&b);
	mpc_a_free(&t);
	mpc_a_free(&x);
	mpc_a_free(&pk);
	mpc_b_free(&kind);
	mpc_b_free(&sel);
	mpc_b_free(&before);
	mpc_b_free(&near);
	mpc_b_free(&cmp);
	mpc_b_free(&first);
	mpc_b_free(&cor);
	mpc_b_free(&cxor);
	mpc_b_free(&o2);
	mpc_party_free(p);
	return rc;
}

/* Plaintext: f sits before k in the cluster when (j + q) wrapped past s. */
static int sits_before(size_t k, size_t q, size_t s)
{
	return (k % s) + q + 1 >= s;
}

static void check(const struct job *j)
{
	size_t s = j->shape.size, n = j->n, W = j->W, Wc = j->Wc;
	uint64_t cnt[2] = {0};

	for (size_t q = 0; q < j->Q; q++)
		for (size_t k = 0; k < n; k++) {
			size_t f = k / s * s + (k % s + q + 1) % s;
			int64_t tf = (int64_t)j->t[f], tk = (int64_t)j->t[k];
			int64_t xf = (int64_t)j->x[f], xk = (int64_t)j->x[k];
			int tie = sits_before(k, q, s);

			assert_int_equal(bit(j->before[0] + q * W, k),
					 tf < tk || (tf == tk && tie));
			assert_int_equal(bit(j->near[0] + q * W, k), tk - tf <= (int64_t)j->window);
			assert_int_equal(bit(j->cmp[0] + q * W, k), xf - tk - 3 - tie < 0);
			assert_int_equal(bit(j->cmp[0] + (j->Q + q) * W, k), tf - xk + 5 < 0);
		}
	for (size_t c = 0; c < j->shape.clusters; c++) {
		size_t best = SIZE_MAX;
		int ors[2] = {0, 0}, xrs[2] = {0, 0};

		/* the first kind slot by time, ties by position */
		for (size_t i = 0; i < s; i++) {
			size_t k = c * s + i;

			if (bit(j->kind, k) && (best == SIZE_MAX || j->t[k] < j->t[best]))
				best = k;
			for (int r = 0; r < 2; r++) {
				ors[r] |= bit(j->sel + r * W, k);
				xrs[r] ^= bit(j->sel + r * W, k);
			}
		}
		for (size_t i = 0; i < s; i++) {
			size_t k = c * s + i;

			assert_int_equal(bit(j->first[0], k), k == best);
			assert_int_equal(j->pick[0][k], best == SIZE_MAX ? 0 : j->t[best]);
			assert_int_equal(j->pick[0][n + k], best == SIZE_MAX ? 0 : j->x[best]);
		}
		for (int r = 0; r < 2; r++) {
			assert_int_equal(bit(j->cor[0] + r * Wc, c), ors[r]);
			assert_int_equal(bit(j->cxor[0] + r * Wc, c), xrs[r]);
			cnt[r] += (uint64_t)ors[r];
		}
	}
	/* padding bits of the cluster planes are zero */
	for (size_t c = j->shape.clusters; c < 64 * Wc; c++)
		assert_int_equal(bit(j->cor[0], c), 0);
	for (size_t k = 0; k < n; k++) {
		int64_t d = (int64_t)j->x[k] - (int64_t)j->t[k];

		assert_int_equal(bit(j->out2[0], k), d < 0);
		assert_int_equal(bit(j->out2[0] + W, k), d > 100);
	}
	assert_int_equal(j->counts[0], cnt[0]);
	assert_int_equal(j->counts[1], cnt[1]);
}

static void run(uint32_t size, uint32_t clusters, uint64_t tmax)
{
	struct job *j = calloc(1, sizeof(*j));
	void *ctx[MPC_PARTIES] = {j, j, j};

	assert_non_null(j);
	j->shape = (struct mpc_bucket){size, clusters};
	j->n = (size_t)size * clusters;
	assert_true(j->n <= MAXN);
	j->W = mpc_words(j->n);
	j->Wc = mpc_words(clusters);
	j->Q = size - 1;
	j->window = (uint32_t)(tmax / 3);
	for (size_t k = 0; k < j->n; k++) {
		j->t[k] = rnd() % tmax;
		j->x[k] = rnd() % tmax;
		if (rnd() % 2)
			j->kind[k / 64] |= 1ull << (k % 64);
		for (int r = 0; r < 2; r++)
			if (rnd() % 5 == 0)
				j->sel[r * j->W + k / 64] |= 1ull << (k % 64);
	}
	assert_int_equal(mpc_net_local_run(party_main, ctx, 20000), 0);
	check(j);
	free(j);
}

static void test_buckets(void **state)
{
	(void)state;
	run(1, 70, 50);
	run(2, 40, 8);
	run(4, 33, 20);
	run(8, 9, 1u << 29);
	run(8, 20, 6);
}

/* A bucket larger than the maximum is refused before anything is sent. */
static void test_limits(void **state)
{
	struct mpc_layout_bk b;
	struct mpc_bucket big = {MPC_MAX_BUCKET_SIZE + 1, 1}, zero = {0, 3};

	(void)state;
	assert_int_equal(mpc_layout_bk_init(&b, &big), CL_ELIMIT);
	mpc_layout_bk_free(&b);
	assert_int_equal(mpc_layout_bk_init(&b, &zero), CL_ELIMIT);
	mpc_layout_bk_free(&b);
}

/*
 * The circuits open nothing but their tables, and those to party 0 only: no source of the
 * measure circuits calls an opening to every party, and every targeted opening names 0.
 */
static void test_openings(void **state)
{
	static const char *const files[] = {"compute/mpc_layout.c", "compute/mpc_m4.c",
					    "compute/mpc_m5.c", "compute/mpc_m6.c"};
	const char *src = getenv("CASELINK_SRC");
	size_t targeted = 0;

	(void)state;
	if (src == NULL || src[0] == '\0')
		skip();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[1024], *text;
		FILE *fp;
		long len;

		snprintf(path, sizeof path, "%s/%s", src, files[i]);
		fp = fopen(path, "rb");
		assert_non_null(fp);
		assert_int_equal(fseek(fp, 0, SEEK_END), 0);
		len = ftell(fp);
		assert_true(len > 0);
		rewind(fp);
		text = calloc((size_t)len + 1, 1);
		assert_non_null(text);
		assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
		fclose(fp);
		assert_null(strstr(text, "mpc_a_open("));
		assert_null(strstr(text, "mpc_b_open("));
		for (const char *at = strstr(text, "_open_to("); at;
		     at = strstr(at + 1, "_open_to(")) {
			assert_true(strncmp(at, "_open_to(p, 0, ", 15) == 0);
			targeted++;
		}
		free(text);
	}
	assert_true(targeted >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buckets),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_openings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
