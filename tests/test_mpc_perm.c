/*
 * compute/mpc_perm: the secret shuffle and the layout by a permutation known to party 0,
 * over the in-process transport. Ground truth: the plaintext columns, permuted here by
 * plain C; privacy: every byte a party receives during the operation is captured by a
 * wrapper around its channel and tested (bit frequencies on all-zero data, no repeat
 * across runs, the position spread of party 2's permutation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <malloc.h>

#include "common/cl_error.h"
#include "compute/mpc_circuit.h"
#include "compute/mpc_net.h"
#include "compute/mpc_perm.h"
#include "compute/mpc_share.h"

#define COLS	     4 /* two arithmetic, two boolean (one word per row) */
#define NA	     2
#define CAP_MAX_MSGS 64

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Row-tying functions: columns 1..3 are functions of column 0, so rows can be checked. */
static uint64_t tie(unsigned c, uint64_t id)
{
	return c == 0 ? id : (id * 0x9e3779b97f4a7c15ull + c) ^ (id >> (7 * c));
}

/*
 * free() is wrapped (tests/mpc.cmake): while watch_n is set, a freed block that begins with
 * a permutation of 0 .. watch_n - 1 as 32-bit words is a permutation left unwiped.
 */
#define WATCH_MAX 4096
void __real_free(void *p);
void __wrap_free(void *p);
static size_t watch_n, unwiped;

static int is_perm(const void *blk)
{
	const uint32_t *w = blk;
	unsigned char seen[WATCH_MAX] = {0};
	size_t n = watch_n;

	if (n == 0 || n > WATCH_MAX || malloc_usable_size((void *)blk) < n * 4)
		return 0;
	for (size_t k = 0; k < n; k++) {
		if (w[k] >= n || seen[w[k]])
			return 0;
		seen[w[k]] = 1;
	}
	return 1;
}

void __wrap_free(void *p)
{
	if (p != NULL && __atomic_load_n(&watch_n, __ATOMIC_SEQ_CST) != 0 && is_perm(p))
		__atomic_fetch_add(&unwiped, 1, __ATOMIC_SEQ_CST);
	__real_free(p);
}

/* Everything a party received while the capture was on, message by message. */
struct cap {
	struct mpc_net *inner;
	struct mpc_net net;
	int on;
	size_t nmsg;
	struct {
		unsigned from;
		size_t off, len;
	} msg[CAP_MAX_MSGS];
	unsigned char *bytes;
	size_t len;
};

static int cap_send(void *ctx, unsigned to, const void *buf, size_t len)
{
	struct cap *c = ctx;

	return c->inner->ops->send(c->inner->ctx, to, buf, len);
}

static int cap_recv(void *ctx, unsigned from, void *buf, size_t len)
{
	struct cap *c = ctx;
	int rc = c->inner->ops->recv(c->inner->ctx, from, buf, len);
	unsigned char *grown;

	if (rc != 0 || !c->on)
		return rc;
	grown = realloc(c->bytes, c->len + len);
	if (grown == NULL || c->nmsg == CAP_MAX_MSGS)
		return CL_ENOMEM;
	c->bytes = grown;
	memcpy(c->bytes + c->len, buf, len);
	c->msg[c->nmsg].from = from;
	c->msg[c->nmsg].off = c->len;
	c->msg[c->nmsg].len = len;
	c->nmsg++;
	c->len += len;
	return 0;
}

static const struct mpc_net_ops cap_ops = {.send = cap_send, .recv = cap_recv};

enum { OP_SHUFFLE, OP_LAYOUT, OP_PLANES, OP_BAD_P2 };

struct job {
	int op;
	size_t n, m;	     /* rows in, rows out */
	size_t cols_n[COLS]; /* per-column row count passed to the engine (bad-shape tests) */
	uint64_t *in[COLS];  /* plaintext columns, n rows */
	uint32_t *pi;	     /* party 0's layout map */
	uint64_t *out[MPC_PARTIES][COLS]; /* opened columns, m rows */
	unsigned k;			  /* planes */
	int public_zero; /* the table is a public sharing of zeros (every share 0), not input */
	int rc[MPC_PARTIES];
	uint64_t rounds[MPC_PARTIES];
	struct cap cap[MPC_PARTIES];
};

/* Column c is input by party c % 3 (so every party owns some). */
static int input_table(struct mpc_party *p, struct job *j, struct mpc_a *a, struct mpc_b *b)
{
	unsigned self = mpc_party_self(p);
	int rc = 0;

	for (unsigned c = 0; c < COLS && rc == 0; c++) {
		const uint64_t *v = self == c % 3 ? j->in[c] : NULL;

		if (c < NA)
			rc = mpc_a_input(p, c % 3, v, j->n, &a[c]);
		else
			rc = mpc_b_input(p, c % 3, v, j->n, &b[c - NA]);
	}
	return rc;
}

static int zero_table(const struct job *j, struct mpc_a *a, struct mpc_b *b)
{
	int rc = 0;

	for (unsigned c = 0; c < COLS && rc == 0; c++)
		rc = c < NA ? mpc_a_alloc(&a[c], j->n) : mpc_b_alloc(&b[c - NA], j->n);
	return rc;
}

static int open_table(struct mpc_party *p, struct job *j, struct mpc_a *a, struct mpc_b *b)
{
	unsigned self = mpc_party_self(p);
	int rc = 0;

	for (unsigned c = 0; c < COLS && rc == 0; c++)
		rc = c < NA ? mpc_a_open(p, &a[c], j->out[self][c])
			    : mpc_b_open(p, &b[c - NA], j->out[self][c]);
	return rc;
}

/* k planes (j->in[0], k·W words) -> rows -> shuffle -> open rows into out[.][0]; planes of
 * the shuffled rows back into out[.][1]. */
static int run_planes(struct mpc_party *p, struct job *j)
{
	unsigned self = mpc_party_self(p);
	struct mpc_b planes = {0}, rows = {0}, back = {0};
	struct mpc_table t = {.b = &rows, .nb = 1};
	int rc = mpc_b_input(p, 0, self == 0 ? j->in[0] : NULL, j->k * mpc_words(j->n), &planes);

	if (rc == 0)
		rc = mpc_perm_planes_to_rows(&planes, j->k, j->n, &rows);
	if (rc == 0)
		rc = mpc_perm_shuffle(p, &t);
	if (rc == 0)
		rc = mpc_b_open(p, &rows, j->out[self][0]);
	if (rc == 0)
		rc = mpc_perm_rows_to_planes(&rows, j->k, &back);
	if (rc == 0)
		rc = mpc_b_open(p, &back, j->out[self][1]);
	mpc_b_free(&planes);
	mpc_b_free(&rows);
	mpc_b_free(&back);
	return rc;
}

/* A party 0 that sends party 2 a "permutation" of m zeros instead of running the layout. */
static int run_bad_p2(struct mpc_party *p, struct job *j, struct mpc_table *t)
{
	uint32_t *zeros;
	int rc;

	if (mpc_party_self(p) != 0)
		return mpc_perm_layout(p, t, NULL, j->m);
	zeros = calloc(j->m, sizeof(uint32_t));
	if (zeros == NULL)
		return CL_ENOMEM;
	rc = mpc_net_send(mpc_party_net(p), 2, zeros, j->m * sizeof(uint32_t));
	free(zeros);
	return rc;
}

static int run_op(struct mpc_party *p, struct job *j)
{
	unsigned self = mpc_party_self(p);
	struct mpc_a a[NA] = {{0}};
	struct mpc_b b[COLS - NA] = {{0}};
	struct mpc_table t = {.a = a, .na = NA, .b = b, .nb = COLS - NA};
	uint64_t r0;
	int rc;

	if (j->op == OP_PLANES)
		return run_planes(p, j);
	rc = j->public_zero ? zero_table(j, a, b) : input_table(p, j, a, b);
	for (unsigned c = 0; c < COLS && rc == 0; c++) /* a wrong shape, for the error tests */
		*(c < NA ? &a[c].n : &b[c - NA].w) = j->cols_n[c];
	r0 = mpc_party_rounds(p);
	j->cap[self].on = 1;
	if (rc == 0 && j->op == OP_SHUFFLE)
		rc = mpc_perm_shuffle(p, &t);
	else if (rc == 0 && j->op == OP_LAYOUT)
		rc = mpc_perm_layout(p, &t, self == 0 ? j->pi : NULL, j->m);
	else if (rc == 0)
		rc = run_bad_p2(p, j, &t);
	j->cap[self].on = 0;
	j->rounds[self] = mpc_party_rounds(p) - r0;
	if (rc == 0)
		rc = open_table(p, j, a, b);
	for (unsigned c = 0; c < COLS; c++) /* restore the sizes allocated (refused shapes) */
		if (j->cols_n[c] != j->n)
			*(c < NA ? &a[c].n : &b[c - NA].w) = j->n;
	for (unsigned c = 0; c < NA; c++)
		mpc_a_free(&a[c]);
	for (unsigned c = NA; c < COLS; c++)
		mpc_b_free(&b[c - NA]);
	return rc;
}

static int party_main(struct mpc_net *net, void *ctx)
{
	struct job *j = ctx;
	struct cap *c = &j->cap[net->self];
	struct mpc_party *p = NULL;
	int rc;

	c->inner = net;
	c->net = (struct mpc_net){.ops = &cap_ops, .ctx = c, .self = net->self};
	rc = mpc_party_new(&p, &c->net);
	if (rc == 0)
		rc = run_op(p, j);
	mpc_party_free(p);
	j->rc[net->self] = rc;
	return rc;
}

static int run_job(struct job *j)
{
	void *ctx[MPC_PARTIES] = {j, j, j};

	for (unsigned i = 0; i < MPC_PARTIES; i++) {
		free(j->cap[i].bytes);
		memset(&j->cap[i], 0, sizeof(j->cap[i]));
	}
	return mpc_net_local_run(party_main, ctx, 20000);
}

/* A job over n rows (m out) whose column 0 holds distinct random ids, the others tied. */
static struct job *new_job(int op, size_t n, size_t m)
{
	struct job *j = calloc(1, sizeof(*j));

	assert_non_null(j);
	j->op = op;
	j->n = n;
	j->m = m;
	for (unsigned c = 0; c < COLS; c++) {
		j->cols_n[c] = n;
		j->in[c] = calloc(n ? n : 1, 8);
		assert_non_null(j->in[c]);
		for (unsigned i = 0; i < MPC_PARTIES; i++) {
			j->out[i][c] = calloc(m ? m : 1, 8);
			assert_non_null(j->out[i][c]);
		}
	}
	for (size_t k = 0; k < n; k++) /* distinct: an odd multiplier is a bijection */
		j->in[0][k] = (k + 1) * 0xd1b54a32d192ed03ull;
	for (size_t k = 0; k < n; k++)
		for (unsigned c = 1; c < COLS; c++)
			j->in[c][k] = tie(c, j->in[0][k]);
	return j;
}

static void free_job(struct job *j)
{
	for (unsigned c = 0; c < COLS; c++) {
		free(j->in[c]);
		for (unsigned i = 0; i < MPC_PARTIES; i++)
			free(j->out[i][c]);
	}
	for (unsigned i = 0; i < MPC_PARTIES; i++)
		free(j->cap[i].bytes);
	free(j->pi);
	free(j);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The row index of id in the input (ids are (k + 1)·odd constant). */
static size_t row_of(uint64_t id)
{
	/* inverse of 0xd1b54a32d192ed03 mod 2^64 by Newton's iteration */
	uint64_t c = 0xd1b54a32d192ed03ull, inv = c;

	for (int i = 0; i < 6; i++)
		inv *= 2 - c * inv;
	return (size_t)(id * inv) - 1;
}

/* Every party opened the same table; it is the input's rows in some order, rows intact. */
static void check_shuffled(const struct job *j)
{
	uint64_t *ids = malloc(j->n * 8 + 1);

	assert_non_null(ids);
	for (unsigned i = 1; i < MPC_PARTIES; i++)
		for (unsigned c = 0; c < COLS; c++)
			assert_memory_equal(j->out[i][c], j->out[0][c], j->n * 8);
	for (size_t k = 0; k < j->n; k++)
		for (unsigned c = 1; c < COLS; c++)
			assert_true(j->out[0][c][k] == tie(c, j->out[0][0][k]));
	memcpy(ids, j->out[0][0], j->n * 8);
	qsort(ids, j->n, 8, cmp_u64);
	for (size_t k = 0; k < j->n; k++) { /* sorted ids: exactly the input's, once each */
		uint64_t id = ids[k];

		assert_true(row_of(id) < j->n);
		assert_true(k == 0 || ids[k - 1] != id);
	}
	free(ids);
}

static void test_shuffle_rows_together(void **state)
{
	static const size_t sizes[] = {1000, 1, 2, 3, 65, 0};

	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct job *j = new_job(OP_SHUFFLE, sizes[s], sizes[s]);

		assert_int_equal(run_job(j), 0);
		check_shuffled(j);
		for (unsigned i = 0; i < MPC_PARTIES; i++)
			assert_int_equal(j->rounds[i], 3);
		free_job(j);
	}
}

/* Two runs on the same input: different orders, about one common position (Poisson 1). */
static void test_shuffle_differs(void **state)
{
	struct job *j1 = new_job(OP_SHUFFLE, 1000, 1000), *j2 = new_job(OP_SHUFFLE, 1000, 1000);
	size_t same = 0, fixed = 0;

	(void)state;
	assert_int_equal(run_job(j1), 0);
	assert_int_equal(run_job(j2), 0);
	for (size_t k = 0; k < 1000; k++) {
		same += j1->out[0][0][k] == j2->out[0][0][k];
		fixed += j1->out[0][0][k] == j1->in[0][k];
	}
	assert_true(same < 15); /* P(Poisson(1) >= 15) < 1e-11 */
	assert_true(fixed < 15);
	free_job(j1);
	free_job(j2);
}

/*
 * The composed permutation is uniform: over 1 200 shuffles of 4 rows, each of the 24
 * permutations about 50 times (chi-square, 23 degrees of freedom, p = 1e-6 at 70.5).
 */
static void test_shuffle_uniform(void **state)
{
	unsigned count[24] = {0};
	double chi = 0;

	(void)state;
	for (int r = 0; r < 1200; r++) {
		struct job *j = new_job(OP_SHUFFLE, 4, 4);
		unsigned code = 0, used = 0;

		assert_int_equal(run_job(j), 0);
		check_shuffled(j);
		for (unsigned k = 0; k < 4; k++) { /* Lehmer code of the order */
			unsigned row = (unsigned)row_of(j->out[0][0][k]), less = 0;

			for (unsigned q = 0; q < row; q++)
				less += (used >> q & 1) == 0;
			used |= 1u << row;
			code = code * (4 - k) + less;
		}
		count[code]++;
		free_job(j);
	}
	for (unsigned c = 0; c < 24; c++)
		chi += (count[c] - 50.0) * (count[c] - 50.0) / 50.0;
	assert_true(chi < 70.5);
}

/* A random injective map of n rows into m. */
static uint32_t *random_layout(size_t n, size_t m)
{
	uint32_t *all = malloc(m * 4 + 4), *pi = malloc(n * 4 + 4);

	assert_non_null(all);
	assert_non_null(pi);
	for (size_t k = 0; k < m; k++)
		all[k] = (uint32_t)k;
	for (size_t k = m; k > 1; k--) {
		size_t q = rnd() % k;
		uint32_t v = all[k - 1];

		all[k - 1] = all[q];
		all[q] = v;
	}
	memcpy(pi, all, n * 4);
	free(all);
	return pi;
}

/* Opened row pi[k] is input row k in every column; rows outside pi's image are zero. */
static void check_layout(const struct job *j)
{
	char *hit = calloc(j->m + 1, 1);

	assert_non_null(hit);
	for (unsigned i = 0; i < MPC_PARTIES; i++) {
		for (size_t k = 0; k < j->n; k++)
			for (unsigned c = 0; c < COLS; c++)
				assert_true(j->out[i][c][j->pi[k]] == j->in[c][k]);
	}
	for (size_t k = 0; k < j->n; k++)
		hit[j->pi[k]] = 1;
	for (size_t r = 0; r < j->m; r++)
		for (unsigned c = 0; c < COLS && !hit[r]; c++)
			for (unsigned i = 0; i < MPC_PARTIES; i++)
				assert_true(j->out[i][c][r] == 0);
	free(hit);
}

static void test_layout_exact(void **state)
{
	static const size_t shape[][2] = {{300, 512}, {1000, 1000}, {1, 1},
					  {0, 5},     {7, 64},	    {0, 0}};

	(void)state;
	for (size_t s = 0; s < sizeof(shape) / sizeof(shape[0]); s++) {
		struct job *j = new_job(OP_LAYOUT, shape[s][0], shape[s][1]);

		j->pi = random_layout(j->n, j->m);
		assert_int_equal(run_job(j), 0);
		check_layout(j);
		for (unsigned i = 0; i < MPC_PARTIES; i++)
			assert_int_equal(j->rounds[i], 2);
		free_job(j);
	}
}

/*
 * Party 2's only permutation message, s2 = pi ∘ s1⁻¹, is a uniformly random permutation:
 * for a fixed pi over 800 layouts of 8 rows, where row 0 goes (s2[0]) is spread evenly
 * (chi-square, 7 degrees of freedom, p = 1e-6 at 40.5). The same statistic on pi itself
 * (what an unmasked protocol would send) is far beyond the bound.
 */
static void test_layout_p2_sees_uniform(void **state)
{
	static const uint32_t fixed[8] = {5, 3, 0, 7, 1, 6, 2, 4};
	unsigned count[8] = {0}, plain[8] = {0};
	double chi = 0, chi_plain = 0;

	(void)state;
	for (int r = 0; r < 800; r++) {
		struct job *j = new_job(OP_LAYOUT, 8, 8);
		const struct cap *c = &j->cap[2];
		uint32_t s2[8];
		unsigned seen = 0;

		j->pi = malloc(sizeof(fixed));
		assert_non_null(j->pi);
		memcpy(j->pi, fixed, sizeof(fixed));
		assert_int_equal(run_job(j), 0);
		check_layout(j);
		/* party 2 receives from 0: s2 (32 bytes), then pass 2's shares */
		assert_true(c->nmsg >= 1 && c->msg[0].from == 0 && c->msg[0].len == sizeof(s2));
		memcpy(s2, c->bytes + c->msg[0].off, sizeof(s2));
		for (unsigned k = 0; k < 8; k++)
			seen |= 1u << s2[k];
		assert_int_equal(seen, 0xff);
		count[s2[0]]++;
		plain[fixed[0]]++;
		free_job(j);
	}
	for (unsigned v = 0; v < 8; v++) {
		chi += (count[v] - 100.0) * (count[v] - 100.0) / 100.0;
		chi_plain += (plain[v] - 100.0) * (plain[v] - 100.0) / 100.0;
	}
	assert_true(chi < 40.5);
	assert_true(chi_plain > 40.5);
}

/*
 * On a table of public zeros (every party's shares 0, so an unmasked message would be 0)
 * every share message a party receives during the operation is uniformly random: each of the 64 bit
 * positions of its words set in about half of them (6 sd), and no word of one run recurs in a
 * second run.
 */
static void check_uniform(const unsigned char *bytes, size_t len)
{
	size_t words = len / 8, ones[64] = {0};

	assert_true(words >= 4000 && len % 8 == 0);
	for (size_t w = 0; w < words; w++) {
		uint64_t v;

		memcpy(&v, bytes + 8 * w, 8);
		for (unsigned b = 0; b < 64; b++)
			ones[b] += v >> b & 1;
	}
	for (unsigned b = 0; b < 64; b++) { /* |d| < 6 sd, sd² = words / 4 */
		double d = (double)ones[b] - (double)words / 2.0;

		assert_true(d * d < 36.0 * (double)words / 4.0);
	}
}

static size_t common_words(const unsigned char *x, size_t xl, const unsigned char *y, size_t yl)
{
	uint64_t *a = malloc(xl + 8), *b = malloc(yl + 8);
	size_t na = xl / 8, nb = yl / 8, i = 0, k = 0, common = 0;

	assert_non_null(a);
	assert_non_null(b);
	memcpy(a, x, xl);
	memcpy(b, y, yl);
	qsort(a, na, 8, cmp_u64);
	qsort(b, nb, 8, cmp_u64);
	while (i < na && k < nb) {
		if (a[i] == b[k])
			common++, i++, k++;
		else if (a[i] < b[k])
			i++;
		else
			k++;
	}
	free(a);
	free(b);
	return common;
}

/* The share messages of a capture: everything but party 2's permutation message. */
static void share_bytes(const struct job *j, unsigned i, const unsigned char **p, size_t *len)
{
	size_t skip = j->op == OP_LAYOUT && i == 2 ? j->cap[i].msg[0].len : 0;

	*p = j->cap[i].bytes + skip;
	*len = j->cap[i].len - skip;
}

static void test_messages_uniform(void **state)
{
	(void)state;
	for (int op = OP_SHUFFLE; op <= OP_LAYOUT; op++) {
		struct job *j1 = new_job(op, 1000, 1200), *j2 = new_job(op, 1000, 1200);

		j1->public_zero = j2->public_zero = 1;
		if (op == OP_SHUFFLE)
			j1->m = j2->m = 1000;
		j1->pi = random_layout(1000, j1->m);
		j2->pi = malloc(1000 * 4);
		assert_non_null(j2->pi);
		memcpy(j2->pi, j1->pi, 1000 * 4);
		assert_int_equal(run_job(j1), 0);
		assert_int_equal(run_job(j2), 0);
		for (unsigned i = 0; i < MPC_PARTIES; i++) {
			const unsigned char *b1, *b2;
			size_t l1, l2;

			share_bytes(j1, i, &b1, &l1);
			share_bytes(j2, i, &b2, &l2);
			/* shuffle: two passes each; layout: party 0 both, party 1 pass 1, party 2
			 * pass 2 */
			assert_int_equal(l1, (op == OP_LAYOUT && i > 0 ? 1 : 2) * COLS * j1->m * 8);
			check_uniform(b1, l1);
			assert_int_equal(common_words(b1, l1, b2, l2), 0);
			for (unsigned c = 0; c < COLS; c++) /* and the table opens to zeros */
				for (size_t r = 0; r < j1->m; r++)
					assert_true(j1->out[i][c][r] == 0);
		}
		free_job(j1);
		free_job(j2);
	}
}

/* Planes -> rows -> shuffle -> planes: the rows are the planes' columns of bits. */
static void test_planes_rows(void **state)
{
	(void)state;
	for (unsigned k = 1; k <= 64; k += 21) {
		size_t n = 200, W = mpc_words(n);
		struct job *j = new_job(OP_PLANES, n, 64 * W);
		uint64_t *expect = calloc(n, 8), *got = calloc(n, 8);

		assert_non_null(expect);
		assert_non_null(got);
		j->k = k;
		free(j->in[0]);
		j->in[0] = calloc(k * W, 8);
		assert_non_null(j->in[0]);
		for (size_t w = 0; w < k * W; w++)
			j->in[0][w] = rnd();
		for (size_t e = 0; e < n; e++)
			for (unsigned b = 0; b < k; b++)
				expect[e] |= (j->in[0][b * W + e / 64] >> (e % 64) & 1) << b;
		assert_int_equal(run_job(j), 0);
		/* the shuffled rows are the expected rows in some order */
		memcpy(got, j->out[1][0], n * 8);
		qsort(got, n, 8, cmp_u64);
		qsort(expect, n, 8, cmp_u64);
		assert_memory_equal(got, expect, n * 8);
		/* planes of the shuffled rows give back the same rows, bits past n zero */
		for (size_t e = 0; e < 64 * W; e++) {
			uint64_t v = 0;

			for (unsigned b = 0; b < k; b++)
				v |= (j->out[2][1][b * W + e / 64] >> (e % 64) & 1) << b;
			assert_true(v == (e < n ? j->out[2][0][e] : 0));
		}
		free(expect);
		free(got);
		free_job(j);
	}
}

static void test_bad_arguments(void **state)
{
	struct mpc_b planes = {0}, rows = {0};
	struct job *j;

	(void)state;
	/* columns of different lengths: every party refuses before communicating */
	j = new_job(OP_SHUFFLE, 10, 10);
	j->cols_n[3] = 9;
	assert_int_equal(run_job(j), CL_EINVAL);
	free_job(j);
	/* more rows than MPC_MAX_ELEMENTS */
	j = new_job(OP_LAYOUT, 10, 10);
	for (unsigned c = 0; c < COLS; c++)
		j->cols_n[c] = (size_t)MPC_MAX_ELEMENTS + 1;
	j->pi = random_layout(10, 10);
	assert_int_equal(run_job(j), CL_ELIMIT);
	free_job(j);
	/* m < n, m beyond the limit */
	j = new_job(OP_LAYOUT, 10, 9);
	j->pi = random_layout(9, 9);
	assert_int_equal(run_job(j), CL_EINVAL);
	j->m = (size_t)MPC_MAX_ELEMENTS + 1;
	assert_int_equal(run_job(j), CL_ELIMIT);
	free_job(j);
	/* party 0's map not injective, or out of range: refused at party 0 */
	for (int bad = 0; bad < 2; bad++) {
		j = new_job(OP_LAYOUT, 10, 16);
		j->pi = random_layout(10, 16);
		j->pi[3] = bad ? 16 : j->pi[7];
		assert_int_equal(run_job(j), CL_EINVAL);
		assert_int_equal(j->rc[0], CL_EINVAL);
		free_job(j);
	}
	/* a party 0 that sends party 2 something else than a permutation */
	j = new_job(OP_BAD_P2, 10, 16);
	assert_int_equal(run_job(j), CL_EPROTO);
	assert_int_equal(j->rc[2], CL_EPROTO);
	free_job(j);
	/* wrong plane sizes */
	assert_int_equal(mpc_b_alloc(&planes, 3), 0);
	assert_int_equal(mpc_perm_planes_to_rows(&planes, 2, 100, &rows), CL_EINVAL);
	assert_int_equal(mpc_perm_planes_to_rows(&planes, 0, 0, &rows), CL_EINVAL);
	assert_int_equal(mpc_perm_rows_to_planes(&planes, 65, &rows), CL_EINVAL);
	assert_null(rows.s0);
	mpc_b_free(&planes);
}

/*
 * Every permutation the parties held (the pairs' drawn ones, s1, s2, the extended layout) is
 * wiped before it is freed. The detector itself is checked on a permutation freed as it is.
 */
static void test_perms_wiped(void **state)
{
	uint32_t *plain = malloc(1000 * 4);

	(void)state;
	assert_non_null(plain);
	for (uint32_t k = 0; k < 1000; k++)
		plain[k] = 999 - k;
	for (int op = OP_SHUFFLE; op <= OP_LAYOUT; op++) {
		for (size_t n = 1000; n >= 600; n -= 400) {
			struct job *j = new_job(op, op == OP_SHUFFLE ? 1000 : n, 1000);

			j->pi = random_layout(j->n, 1000);
			unwiped = 0;
			__atomic_store_n(&watch_n, 1000, __ATOMIC_SEQ_CST);
			assert_int_equal(run_job(j), 0);
			__atomic_store_n(&watch_n, 0, __ATOMIC_SEQ_CST);
			assert_int_equal(unwiped, 0);
			free_job(j);
		}
	}
	__atomic_store_n(&watch_n, 1000, __ATOMIC_SEQ_CST);
	free(plain);
	__atomic_store_n(&watch_n, 0, __ATOMIC_SEQ_CST);
	assert_int_equal(unwiped, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shuffle_rows_together),
	    cmocka_unit_test(test_shuffle_differs),
	    cmocka_unit_test(test_shuffle_uniform),
	    cmocka_unit_test(test_layout_exact),
	    cmocka_unit_test(test_layout_p2_sees_uniform),
	    cmocka_unit_test(test_messages_uniform),
	    cmocka_unit_test(test_planes_rows),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_perms_wiped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
