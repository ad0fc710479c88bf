/* Tests of coordinator/linker: exact joins, fuzzy links, one-per-node, closure, blocking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "coordinator/linker.h"
#include "protocol/encode.h"

static void tok(unsigned char t[32], unsigned v)
{
	memset(t, 0, 32);
	memcpy(t, &v, sizeof(v));
	t[31] = 0xa5;
}

/* A filter with bits [lo, hi) set. */
static void range_filter(unsigned char f[128], unsigned lo, unsigned hi)
{
	unsigned b;

	memset(f, 0, 128);
	for (b = lo; b < hi; b++)
		f[b / 8] |= (unsigned char)(1u << (b % 8));
}

static void add(struct linker *l, uint32_t node, const char *h, const unsigned char *id,
		const unsigned char *demo, const unsigned char *bloom)
{
	assert_int_equal(
	    linker_add(l, node, 1, (const unsigned char *)h, strlen(h), id, demo, bloom, NULL), 0);
}

static uint32_t cl(const struct linker *l, size_t i)
{
	uint32_t c = 0;

	assert_int_equal(linker_cluster(l, i, &c), 0);
	return c;
}

static void test_exact_ids_and_demos(void **state)
{
	unsigned char x[32], y[32], d[32], e[32];
	struct linker *l = NULL;

	(void)state;
	tok(x, 1);
	tok(y, 2);
	tok(d, 3);
	tok(e, 4);
	assert_int_equal(linker_new(&l), 0);
	add(l, 0, "r0", x, NULL, NULL); /* 0 */
	add(l, 1, "r1", x, NULL, NULL); /* 1: id -> 0 */
	add(l, 2, "r2", y, NULL, NULL); /* 2: other person */
	add(l, 2, "r3", NULL, e, NULL); /* 3 */
	add(l, 3, "r4", NULL, e, NULL); /* 4: demo -> 3 */
	add(l, 1, "r5", x, e, NULL);	/* 5: id -> 0, demo -> 3: closure */
	/* twins: one demo token d, two personal codes, and a record without a code */
	add(l, 0, "t0", x, d, NULL);	/* 6: id x */
	add(l, 1, "t1", y, d, NULL);	/* 7: id y */
	add(l, 2, "t2", NULL, d, NULL); /* 8: ambiguous, stays alone */
	assert_int_equal(linker_run(l), 0);
	assert_int_equal(cl(l, 0), cl(l, 1));
	assert_int_not_equal(cl(l, 0), cl(l, 2));
	assert_int_equal(cl(l, 3), cl(l, 4));
	assert_int_equal(cl(l, 0), cl(l, 5));
	assert_int_equal(cl(l, 0), cl(l, 3));
	assert_int_equal(cl(l, 6), cl(l, 0));
	assert_int_equal(cl(l, 7), cl(l, 2));
	assert_int_not_equal(cl(l, 6), cl(l, 7));
	assert_int_not_equal(cl(l, 8), cl(l, 6));
	assert_int_not_equal(cl(l, 8), cl(l, 7));
	assert_int_equal(cl(l, 0), 0);
	assert_int_equal(linker_stat(l, LINKER_STAT_DEMO_AMBIG), 1);
	assert_int_equal(linker_stat(l, LINKER_STAT_DEMO_LINKS), 2);
	assert_int_equal(linker_stat(l, LINKER_STAT_CLUSTERS), 3);
	{
		const unsigned char *h = NULL;
		size_t hl = 0;

		assert_int_equal(linker_handle(l, 4, &h, &hl), 0);
		assert_int_equal(hl, 2);
		assert_memory_equal(h, "r4", 2);
	}
	assert_int_equal(linker_run(l), CL_EINVAL);
	assert_int_equal(linker_add(l, 0, 0, (const unsigned char *)"z", 1, NULL, NULL, NULL, NULL),
			 CL_EINVAL);
	linker_free(l);
}

static void test_fuzzy_threshold_and_one_to_one(void **state)
{
	unsigned char a[128], b[128], c[128], b2[128], x[32], y[32];
	struct linker *l = NULL;
	double dab = 0, dac = 0, dab2 = 0;

	(void)state;
	range_filter(a, 0, 100);   /* 100 bits */
	range_filter(b, 5, 105);   /* Dice(a, b) = 0.95 */
	range_filter(b2, 10, 110); /* Dice(a, b2) = 0.90 */
	range_filter(c, 30, 130);  /* Dice(a, c) = 0.70 */
	assert_int_equal(linker_dice(a, b, &dab), 0);
	assert_int_equal(linker_dice(a, c, &dac), 0);
	assert_int_equal(linker_dice(a, b2, &dab2), 0);
	assert_true(dab > 0.9499 && dab < 0.9501);
	assert_true(dac > 0.6999 && dac < 0.7001);
	assert_true(dab2 > 0.8999 && dab2 < 0.9001);

	assert_int_equal(linker_new(&l), 0);
	assert_int_equal(linker_set_threshold(l, 0.8), 0);
	add(l, 0, "a", NULL, NULL, a);	 /* 0 */
	add(l, 1, "b", NULL, NULL, b);	 /* 1: best partner of a at node 1 */
	add(l, 1, "b2", NULL, NULL, b2); /* 2: also above the threshold, but node 1 is taken */
	add(l, 2, "c", NULL, NULL, c);	 /* 3: below the threshold against a */
	add(l, 0, "s", NULL, NULL, a);	 /* 4: same node as a: never linked fuzzily to a */
	assert_int_equal(linker_run(l), 0);
	assert_int_equal(cl(l, 0), cl(l, 1));
	assert_int_not_equal(cl(l, 0), cl(l, 2));
	assert_int_not_equal(cl(l, 0), cl(l, 4));
	/* c is below 0.8 against a, b; against b2 Dice = 0.8 exactly: b2 and c link */
	assert_int_equal(cl(l, 2), cl(l, 3));
	assert_int_not_equal(cl(l, 0), cl(l, 3));
	/* s (node 0) could join b2/c's cluster: Dice(s=a, b2) = 0.9 */
	assert_int_equal(cl(l, 4), cl(l, 2));
	linker_free(l);

	/* two different personal codes never link, however similar */
	tok(x, 10);
	tok(y, 11);
	assert_int_equal(linker_new(&l), 0);
	add(l, 0, "p", x, NULL, a);
	add(l, 1, "q", y, NULL, a);
	add(l, 2, "r", NULL, NULL, a);
	assert_int_equal(linker_run(l), 0);
	assert_int_not_equal(cl(l, 0), cl(l, 1));
	assert_true(cl(l, 2) == cl(l, 0) || cl(l, 2) == cl(l, 1));
	assert_int_equal(linker_stat(l, LINKER_STAT_FUZZY_REFUSED), 2); /* p-q, then r-q */
	linker_free(l);

	/* a higher threshold leaves the 0.9 pair out */
	assert_int_equal(linker_new(&l), 0);
	assert_int_equal(linker_set_threshold(l, 0.92), 0);
	add(l, 0, "a", NULL, NULL, a);
	add(l, 1, "b2", NULL, NULL, b2);
	assert_int_equal(linker_run(l), 0);
	assert_int_not_equal(cl(l, 0), cl(l, 1));
	assert_int_equal(linker_set_threshold(l, 0.0), CL_EINVAL);
	linker_free(l);
}

/* Same family name, birth date and sex, different given names: the filters veto the demo join. */
static void test_demo_veto(void **state)
{
	unsigned char d[32], a[128], b[128], c[128];
	struct linker *l = NULL;

	(void)state;
	tok(d, 5);
	range_filter(a, 0, 100);
	range_filter(b, 300, 400); /* Dice 0 with a */
	range_filter(c, 2, 102);   /* Dice 0.98 with a */
	assert_int_equal(linker_new(&l), 0);
	add(l, 0, "twin1", NULL, d, a);
	add(l, 1, "twin2", NULL, d, b);
	add(l, 2, "twin1b", NULL, d, c);
	add(l, 2, "nofilter", NULL, d, NULL);
	assert_int_equal(linker_run(l), 0);
	assert_int_not_equal(cl(l, 0), cl(l, 1));
	assert_int_equal(cl(l, 0), cl(l, 2));
	/* node 2 holds two records with this demo token: the one without a filter is the other
	 * twin, since a linked person holds at most one record per node */
	assert_int_equal(cl(l, 1), cl(l, 3));
	assert_int_equal(linker_stat(l, LINKER_STAT_DEMO_VETOED), 2);
	linker_free(l);

	/* demo pairs obey one record per node: node 0 already holds the person by code */
	{
		unsigned char x[32];

		tok(x, 6);
		assert_int_equal(linker_new(&l), 0);
		add(l, 0, "code", x, NULL, NULL);
		add(l, 1, "both", x, d, NULL);
		add(l, 0, "demo", NULL, d, NULL);
		assert_int_equal(linker_run(l), 0);
		assert_int_equal(cl(l, 0), cl(l, 1));
		assert_int_not_equal(cl(l, 2), cl(l, 1));
		assert_int_equal(linker_stat(l, LINKER_STAT_FUZZY_REFUSED), 1);
		linker_free(l);
	}
}

static void test_empty(void **state)
{
	struct linker *l = NULL;
	uint32_t c = 0;

	(void)state;
	assert_int_equal(linker_new(&l), 0);
	assert_int_equal(linker_run(l), 0);
	assert_int_equal(linker_count(l), 0);
	assert_int_equal(linker_stat(l, LINKER_STAT_CLUSTERS), 0);
	assert_int_equal(linker_cluster(l, 0, &c), CL_EINVAL);
	linker_free(l);
	linker_free(NULL);
}

static void test_closure_three_nodes(void **state)
{
	unsigned char a[128], b[128], x[32];
	struct linker *l = NULL;

	(void)state;
	range_filter(a, 0, 200);
	range_filter(b, 10, 210);
	tok(x, 7);
	assert_int_equal(linker_new(&l), 0);
	add(l, 0, "n0", NULL, NULL, a); /* fuzzy to n1 */
	add(l, 1, "n1", x, NULL, b);	/* exact to n2 */
	add(l, 2, "n2", x, NULL, NULL);
	add(l, 2, "other", NULL, NULL, NULL);
	assert_int_equal(linker_run(l), 0);
	assert_int_equal(cl(l, 0), cl(l, 1));
	assert_int_equal(cl(l, 1), cl(l, 2));
	assert_int_not_equal(cl(l, 3), cl(l, 0));
	assert_int_equal(linker_stat(l, LINKER_STAT_CLUSTERS), 2);
	linker_free(l);
}

static uint64_t rng_state = 0x1234567;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#define NPERS  1200
#define NQ     26
#define NNODES 3

/*
 * Random persons, each a set of NQ q-gram values over three fields; each node holds a noisy copy
 * (0..3 q-grams replaced) of most persons. Filters come from enc_bloom.
 */
static void build(struct linker *l, struct enc_query *q, uint32_t *truth, size_t *n)
{
	static unsigned char person[NPERS][NQ][32];
	unsigned char qo[NQ * 32], fields[NQ], f[128];
	size_t p, g, k;
	uint32_t node;

	for (p = 0; p < NPERS; p++)
		for (g = 0; g < NQ; g++)
			for (k = 0; k < 32; k += 8) {
				uint64_t v = rnd();

				memcpy(person[p][g] + k, &v, 8);
			}
	*n = 0;
	for (node = 0; node < NNODES; node++)
		for (p = 0; p < NPERS; p++) {
			unsigned noise = (unsigned)(rnd() % 4), m;
			char h[16];

			if (rnd() % 10 == 0)
				continue; /* not at this node */
			memcpy(qo, person[p], sizeof(qo));
			for (g = 0; g < NQ; g++)
				fields[g] = (unsigned char)(g < 9 ? 0 : g < 18 ? 1 : 2);
			for (m = 0; m < noise; m++) {
				size_t at = rnd() % NQ;

				for (k = 0; k < 32; k += 8) {
					uint64_t v = rnd();

					memcpy(qo + at * 32 + k, &v, 8);
				}
			}
			assert_int_equal(enc_bloom(q, qo, fields, NQ, f), 0);
			snprintf(h, sizeof(h), "%u/%zu", node, p);
			add(l, node, h, NULL, NULL, f);
			truth[(*n)++] = (uint32_t)p;
		}
}

static void test_blocking_matches_brute_force(void **state)
{
	unsigned char nonce[32];
	struct enc_query *q = NULL;
	struct linker *l1 = NULL, *l2 = NULL;
	uint32_t *t1, *t2;
	size_t n1 = 0, n2 = 0, i, j, tp = 0, fp = 0, fn = 0;

	(void)state;
	memset(nonce, 0x42, sizeof(nonce));
	t1 = calloc(NPERS * NNODES, sizeof(*t1));
	t2 = calloc(NPERS * NNODES, sizeof(*t2));
	assert_non_null(t1);
	assert_non_null(t2);
	assert_int_equal(enc_query_new(nonce, &q), 0);
	/* the record-level field set this test's planted records use */
	assert_int_equal(enc_query_set_k(q, ENC_FIELD_GIVEN, 10), 0);
	assert_int_equal(enc_query_set_k(q, ENC_FIELD_FAMILY, 10), 0);
	assert_int_equal(enc_query_set_k(q, ENC_FIELD_BIRTH, 20), 0);
	assert_int_equal(linker_new(&l1), 0);
	assert_int_equal(linker_new(&l2), 0);
	assert_int_equal(linker_set_blocking(l1, LINKER_BLOCK_NONE, 0, 0, 0), 0);
	assert_int_equal(linker_set_blocking(l2, LINKER_BLOCK_LSH, 0, 0, 99), 0);
	assert_int_equal(linker_set_threshold(l1, 0.8), 0);
	assert_int_equal(linker_set_threshold(l2, 0.8), 0);
	rng_state = 77;
	build(l1, q, t1, &n1);
	rng_state = 77;
	build(l2, q, t2, &n2);
	assert_int_equal(n1, n2);
	assert_int_equal(linker_run(l1), 0);
	assert_int_equal(linker_run(l2), 0);
	print_message(
	    "records %zu; comparisons all-pairs %llu, LSH %llu (%llu tables x %llu bits); "
	    "candidates %llu / %llu\n",
	    n1, (unsigned long long)linker_stat(l1, LINKER_STAT_COMPARISONS),
	    (unsigned long long)linker_stat(l2, LINKER_STAT_COMPARISONS),
	    (unsigned long long)linker_stat(l2, LINKER_STAT_LSH_TABLES),
	    (unsigned long long)linker_stat(l2, LINKER_STAT_LSH_BITS),
	    (unsigned long long)linker_stat(l1, LINKER_STAT_CANDIDATES),
	    (unsigned long long)linker_stat(l2, LINKER_STAT_CANDIDATES));
	assert_true(linker_stat(l2, LINKER_STAT_COMPARISONS) * 5 <
		    linker_stat(l1, LINKER_STAT_COMPARISONS));
	assert_int_equal(linker_stat(l1, LINKER_STAT_CANDIDATES),
			 linker_stat(l2, LINKER_STAT_CANDIDATES));
	for (i = 0; i < n1; i++)
		assert_int_equal(cl(l1, i), cl(l2, i));
	/* and the linkage is right: pairwise against the planted truth */
	for (i = 0; i < n1; i++)
		for (j = i + 1; j < n1; j++) {
			int same = t1[i] == t1[j], linked = cl(l1, i) == cl(l1, j);

			tp += same && linked;
			fp += !same && linked;
			fn += same && !linked;
		}
	print_message("pairwise tp %zu fp %zu fn %zu\n", tp, fp, fn);
	assert_int_equal(fp, 0);
	assert_true(fn * 100 < tp);
	linker_free(l1);
	linker_free(l2);
	enc_query_free(q);
	free(t1);
	free(t2);
}

static unsigned bytes_pop(const unsigned char *x, const unsigned char *y)
{
	unsigned c = 0, k;

	for (k = 0; k < 128; k++)
		c += (unsigned)__builtin_popcount(y ? x[k] & y[k] : x[k]);
	return c;
}

/*
 * Every popcount kernel counts the same hits as a plain byte-by-byte reference (2c >= t (pa + pb))
 * over random filters of three densities, for three queries and thresholds 0.05 .. 0.95.
 */
static void test_kernels_agree(void **state)
{
	enum { N = 3003 }; /* not a multiple of 4: the AVX2 scan's tail too */
	unsigned char *base = malloc((size_t)N * 128);
	size_t i, hits = 0, q, checked = 0;
	unsigned *pb = malloc(N * sizeof(*pb));
	int k, rc, ti;

	(void)state;
	assert_non_null(base);
	assert_non_null(pb);
	rng_state = 5;
	for (i = 0; i < (size_t)N * 128; i += 8) {
		uint64_t v = rnd(), d = (i / 128) % 3; /* half, a quarter, an eighth of the bits */

		v &= d >= 1 ? rnd() : ~0ull;
		v &= d >= 2 ? rnd() : ~0ull;
		memcpy(base + i, &v, 8);
	}
	for (i = 0; i < N; i++)
		pb[i] = bytes_pop(base + i * 128, NULL);
	for (q = 0; q < 3; q++) {
		const unsigned char *a = base + (7 + q * 1000) * 128;
		unsigned pa = bytes_pop(a, NULL);

		for (i = 0; i < N; i++) {
			double d = enc_dice(a, base + i * 128), d2 = -1;

			assert_int_equal(linker_dice(a, base + i * 128, &d2), 0);
			assert_true(d2 > d - 1e-12 && d2 < d + 1e-12);
		}
		for (ti = 1; ti < 20; ti++) {
			double t = ti * 0.05;
			size_t ref = 0;

			for (i = 0; i < N; i++)
				ref += 2.0 * bytes_pop(a, base + i * 128) >= t * (pa + pb[i]);
			for (k = LINKER_KERNEL_AUTO; k <= LINKER_KERNEL_AVX2; k++) {
				hits = 0;
				rc = linker_scan(k, a, base, N, 1, t, &hits);
				if (rc == CL_EUNSUPPORTED)
					continue;
				assert_int_equal(rc, 0);
				assert_int_equal(hits, ref);
				checked++;
			}
		}
	}
	for (k = LINKER_KERNEL_AUTO; k <= LINKER_KERNEL_AVX2; k++)
		if (linker_scan(k, base, base, N, 1, 0.3, &hits) == CL_EUNSUPPORTED)
			print_message("kernel %d not supported here\n", k);
	assert_true(checked >= 3 * 19 * 3); /* auto, portable and one more at least */
	assert_int_equal(linker_scan(99, base, base, N, 1, 0.3, &hits), CL_EINVAL);
	free(base);
	free(pb);
}

/* Adds a record with a filter, sex and derived tokens (NULL: absent); returns its index. */
static size_t addx(struct linker *l, uint32_t node, const char *h, const unsigned char *demo,
		   const unsigned char *bloom, int sex, const unsigned char *year,
		   const unsigned char *date, const unsigned char *given)
{
	size_t i = 0;

	assert_int_equal(
	    linker_add(l, node, 1, (const unsigned char *)h, strlen(h), NULL, demo, bloom, &i), 0);
	assert_int_equal(linker_set_attrs(l, i, sex, year, date, given), 0);
	return i;
}

/* Sex, year and full date veto a filter match; a record without a date links only when its
 * candidates could all be one person, and never chains two persons together. */
static void test_attrs_veto_and_ambiguity(void **state)
{
	unsigned char f[128], y1[32], y2[32], d1[32], d2[32];
	struct linker *l = NULL;
	size_t a, b, c, e, w, x, z;

	(void)state;
	range_filter(f, 0, 100);
	tok(y1, 11);
	tok(y2, 12);
	tok(d1, 21);
	tok(d2, 22);
	assert_int_equal(linker_new(&l), 0);
	a = addx(l, 0, "a", NULL, f, 'F', y1, d1, NULL);
	b = addx(l, 1, "b", NULL, f, 'F', y1, d2, NULL); /* namesake, other date */
	c = addx(l, 2, "c", NULL, f, 'M', y1, d1, NULL); /* other sex */
	e = addx(l, 3, "e", NULL, f, 'F', y1, d1, NULL); /* a again */
	w = addx(l, 4, "w", NULL, f, 'U', NULL, NULL, NULL);
	assert_int_equal(linker_run(l), 0);
	assert_int_equal(cl(l, a), cl(l, e));
	assert_int_not_equal(cl(l, a), cl(l, b));
	assert_int_not_equal(cl(l, a), cl(l, c));
	assert_int_not_equal(cl(l, b), cl(l, c));
	/* w could be a (with e), b or c: three persons, so it links to none */
	assert_int_not_equal(cl(l, w), cl(l, a));
	assert_int_not_equal(cl(l, w), cl(l, b));
	assert_int_not_equal(cl(l, w), cl(l, c));
	/* blocks: (y1, d1) holds a, c, e (c vetoed by sex twice); b alone in (y1, d2) is never
	 * compared; w (no year) is compared with all four */
	assert_int_equal(linker_stat(l, LINKER_STAT_ATTR_VETOED), 2);
	assert_int_equal(linker_stat(l, LINKER_STAT_COMPARISONS), 3 + 4);
	assert_int_equal(linker_stat(l, LINKER_STAT_BLOCKS), 2);
	assert_true(linker_stat(l, LINKER_STAT_AMBIGUOUS) > 0);
	linker_free(l);

	/* with one candidate person, the record without a date joins it */
	assert_int_equal(linker_new(&l), 0);
	a = addx(l, 0, "a", NULL, f, 'F', y1, d1, NULL);
	e = addx(l, 3, "e", NULL, f, 'F', y1, d1, NULL);
	w = addx(l, 4, "w", NULL, f, 'U', NULL, NULL, NULL);
	assert_int_equal(linker_run(l), 0);
	assert_int_equal(cl(l, a), cl(l, e));
	assert_int_equal(cl(l, a), cl(l, w));
	linker_free(l);

	/* closure guard: x and z differ by date, w matches both; never one person */
	assert_int_equal(linker_new(&l), 0);
	x = addx(l, 0, "x", NULL, f, 'U', y1, d1, NULL);
	z = addx(l, 1, "z", NULL, f, 'U', y2, d2, NULL);
	w = addx(l, 2, "w", NULL, f, 'U', NULL, NULL, NULL);
	assert_int_equal(linker_run(l), 0);
	assert_int_not_equal(cl(l, x), cl(l, z));
	assert_int_not_equal(cl(l, w), cl(l, x));
	assert_int_not_equal(cl(l, w), cl(l, z));
	linker_free(l);

	/* the same without derived tokens: the old behaviour chains all three */
	assert_int_equal(linker_new(&l), 0);
	add(l, 0, "x", NULL, NULL, f);
	add(l, 1, "z", NULL, NULL, f);
	add(l, 2, "w", NULL, NULL, f);
	assert_int_equal(linker_run(l), 0);
	assert_int_equal(cl(l, 0), cl(l, 1));
	assert_int_equal(cl(l, 0), cl(l, 2));
	linker_free(l);
}

/* Tiers: a year-only date links at the threshold when the year agrees and never when it
 * differs; a record without a family name (no demo token) links by given name and full date. */
static void test_attrs_tiers(void **state)
{
	unsigned char f[128], f2[128], f3[128], f4[128], y1[32], y2[32], d1[32], g[32], dm[32],
	    dm2[32];
	struct linker *l = NULL;
	size_t a, b, c, g1, g2, g3;

	(void)state;
	range_filter(f, 0, 100);
	range_filter(f2, 3, 103);   /* Dice 0.97 with f */
	range_filter(f3, 300, 400); /* Dice 0 with f */
	range_filter(f4, 600, 700); /* Dice 0 with f and f3 */
	tok(y1, 11);
	tok(y2, 12);
	tok(d1, 21);
	tok(g, 31);
	tok(dm, 41);
	tok(dm2, 42);
	assert_int_equal(linker_new(&l), 0);
	a = addx(l, 0, "a", NULL, f, 'F', y1, d1, NULL);
	b = addx(l, 1, "b", NULL, f2, 'F', y1, NULL, NULL); /* year only, same year */
	c = addx(l, 2, "c", NULL, f2, 'F', y2, NULL, NULL); /* year only, other year */
	assert_int_equal(linker_run(l), 0);
	assert_int_equal(cl(l, a), cl(l, b));
	assert_int_not_equal(cl(l, a), cl(l, c));
	linker_free(l);

	/* g2 has no family name (no demo token): its filter is unlike the others' */
	assert_int_equal(linker_new(&l), 0);
	g1 = addx(l, 0, "g1", dm, f, 'F', y1, d1, g);
	g2 = addx(l, 1, "g2", NULL, f3, 'F', y1, d1, g);
	assert_int_equal(linker_run(l), 0);
	assert_int_equal(cl(l, g1), cl(l, g2));
	linker_free(l);
	/* with a second person of that given name and date (another family name), g2 could be
	 * either: it links to neither, and the two are never chained */
	assert_int_equal(linker_new(&l), 0);
	g1 = addx(l, 0, "g1", dm, f, 'F', y1, d1, g);
	g2 = addx(l, 1, "g2", NULL, f3, 'F', y1, d1, g);
	g3 = addx(l, 2, "g3", dm2, f4, 'F', y1, d1, g);
	assert_int_equal(linker_run(l), 0);
	assert_int_not_equal(cl(l, g1), cl(l, g3));
	assert_int_not_equal(cl(l, g2), cl(l, g1));
	assert_int_not_equal(cl(l, g2), cl(l, g3));
	linker_free(l);

	/* bad arguments */
	assert_int_equal(linker_new(&l), 0);
	assert_int_equal(linker_set_attrs(l, 0, 'F', NULL, NULL, NULL), CL_EINVAL);
	assert_int_equal(linker_set_weak_threshold(l, 0.0), CL_EINVAL);
	assert_int_equal(linker_set_weak_threshold(l, 0.95), 0);
	linker_free(l);
}

#define CROWD_P	    300 /* persons of one name */
#define CROWD_YEARS 30	/* birth years among them */

/*
 * A crowd of namesakes (every filter pair scores >= 0.97): each person at nodes 0-2 with a full
 * date, and at node 3 with the date (most), the year only (every 10th) or nothing (every 50th).
 * The dated records link exactly by person; a year-only or dateless record has ten or three
 * hundred candidate persons and links to none; and the blocks by birth year and date keep the
 * comparisons near linear instead of the crowd's 720 000 pairs.
 */
static void test_namesake_crowd(void **state)
{
	unsigned char f[128], y[32], d[32];
	struct linker *l = NULL;
	size_t idx[CROWD_P][4], p, k, q;
	uint64_t cmp;

	(void)state;
	assert_int_equal(linker_new(&l), 0);
	for (p = 0; p < CROWD_P; p++)
		for (k = 0; k < 4; k++) {
			char h[24];
			int year = 1, date = 1;

			if (k == 3 && p % 50 == 0)
				year = date = 0;
			else if (k == 3 && p % 10 == 0)
				date = 0;
			range_filter(f, (unsigned)(p % 3), (unsigned)(100 + p % 3));
			tok(y, 1000 + (unsigned)(p % CROWD_YEARS));
			tok(d, 5000 + (unsigned)p);
			snprintf(h, sizeof(h), "%zu/%zu", k, p);
			idx[p][k] = addx(l, (uint32_t)k, h, NULL, f, 'F', year ? y : NULL,
					 date ? d : NULL, NULL);
		}
	assert_int_equal(linker_run(l), 0);
	for (p = 0; p < CROWD_P; p++) {
		int undated = p % 10 == 0;

		for (k = 1; k < 3; k++)
			assert_int_equal(cl(l, idx[p][0]), cl(l, idx[p][k]));
		if (undated)
			assert_int_not_equal(cl(l, idx[p][0]), cl(l, idx[p][3]));
		else
			assert_int_equal(cl(l, idx[p][0]), cl(l, idx[p][3]));
		for (q = 0; q < CROWD_P; q++)
			if (q != p)
				assert_int_not_equal(cl(l, idx[p][3]), cl(l, idx[q][0]));
	}
	assert_int_equal(linker_stat(l, LINKER_STAT_CLUSTERS), CROWD_P + CROWD_P / 10);
	cmp = linker_stat(l, LINKER_STAT_COMPARISONS);
	print_message(
	    "namesake crowd: %zu records, %llu comparisons, %llu blocks, %llu ambiguous\n",
	    linker_count(l), (unsigned long long)cmp,
	    (unsigned long long)linker_stat(l, LINKER_STAT_BLOCKS),
	    (unsigned long long)linker_stat(l, LINKER_STAT_AMBIGUOUS));
	/* date blocks 300 x 6, year blocks 30 x ~40, no-year records 6 x 1 200 */
	assert_true(cmp < 12000);
	linker_free(l);
}

/* ---- threads: the same links and counters whatever the thread count ---- */

#define THR_P	  3000 /* persons */
#define THR_NODES 6

static uint64_t thr_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Sets k bits of filter b for q-gram q. */
static void thr_qgram(unsigned char b[128], uint64_t q, unsigned k)
{
	unsigned i;

	for (i = 0; i < k; i++) {
		unsigned at = (unsigned)(thr_mix(q * 31 + i) % 1024);

		b[at / 8] |= (unsigned char)(1u << (at % 8));
	}
}

static void thr_tok(unsigned char t[32], uint64_t v)
{
	uint64_t x;
	int i;

	for (i = 0; i < 4; i++) {
		x = thr_mix(v + 0x1234567ull * (uint64_t)(i + 1));
		memcpy(t + 8 * i, &x, 8);
	}
}

/*
 * A federation like the coordinator sees (namesakes from 40 given and 200 family names, birth
 * dates full, by year only or unknown, some codes, typos, a missing family name), the same for
 * every call (fixed seed); the records are added to l.
 */
static void thr_build(struct linker *l)
{
	uint64_t seed = 0x7e57;
	size_t p, i;

	for (p = 0; p < THR_P; p++) {
		uint64_t r = thr_mix(++seed), gid = r % 40, fid = (r >> 8) % 200,
			 y = 1950 + (r >> 16) % 50, d = (r >> 24) % 365, sex = (r >> 33) & 1;
		unsigned dkind = (unsigned)((r >> 40) % 100),
			 copies = 1 + (unsigned)((r >> 50) % 3), j;
		int hasid = (r >> 56) % 10 < 4;

		for (j = 0; j < copies; j++) {
			unsigned char b[128], idt[32], dem[32], yt[32], dt[32], gt[32], h[8];
			uint64_t v = thr_mix(++seed);
			unsigned g, dk = (j && v % 10 == 0) ? (unsigned)((v >> 8) % 100) : dkind;
			int nofam = (v >> 16) % 30 == 0, typo_g = (v >> 24) % 5 == 0,
			    typo_f = (v >> 28) % 6 == 0;

			memset(b, 0, sizeof(b));
			for (g = 0; g < 5; g++)
				thr_qgram(b,
					  1000 * gid + g + (typo_g && g == (v >> 32) % 5 ? 500 : 0),
					  20);
			for (g = 0; !nofam && g < 6; g++)
				thr_qgram(b,
					  100000 + 1000 * fid + g +
					      (typo_f && g == (v >> 36) % 6 ? 500 : 0),
					  20);
			if (dk >= 4)
				thr_qgram(b, 9000000 + y, 20);
			if (dk >= 14) {
				thr_qgram(b, 9100000 + d, 20);
				thr_qgram(b, 9200000 + d / 30, 20);
			}
			thr_tok(idt, p * 3 + 1);
			thr_tok(dem, fid * 1000000 + y * 1000 + d + sex * 77);
			thr_tok(yt, y);
			thr_tok(dt, y * 1000 + d + 5000000);
			thr_tok(gt, gid + 9000000);
			memcpy(h, &p, 4);
			h[4] = (unsigned char)j;
			assert_int_equal(linker_add(l, (uint32_t)((v >> 40) % THR_NODES), 1, h, 5,
						    hasid && (v >> 44) % 10 < 8 ? idt : NULL,
						    !nofam && dk >= 14 ? dem : NULL, b, &i),
					 0);
			assert_int_equal(linker_set_attrs(l, i, sex ? 'M' : 'F',
							  dk >= 4 ? yt : NULL, dk >= 14 ? dt : NULL,
							  gt),
					 0);
		}
	}
}

/* Links thr_build's federation with the given threads and blocking; returns the linker. */
static struct linker *thr_link(unsigned threads, int mode)
{
	struct linker *l = NULL;

	assert_int_equal(linker_new(&l), 0);
	assert_int_equal(linker_set_threads(l, threads), 0);
	assert_int_equal(linker_set_blocking(l, mode, 0, 0, 7), 0);
	thr_build(l);
	assert_int_equal(linker_run(l), 0);
	return l;
}

static void test_threads_same_links(void **state)
{
	static const int modes[] = {LINKER_BLOCK_AUTO, LINKER_BLOCK_LSH};
	struct linker *l = NULL;
	size_t m, i;
	unsigned t;
	int s;

	(void)state;
	assert_int_equal(linker_new(&l), 0);
	assert_int_equal(linker_set_threads(l, 0), CL_EINVAL);
	assert_int_equal(linker_set_threads(l, LINKER_MAX_THREADS + 1), CL_EINVAL);
	linker_free(l);
	for (m = 0; m < 2; m++) {
		struct linker *one = thr_link(1, modes[m]);

		/* the input exercises every step: joins, demo, fuzzy and weak links, vetoes */
		assert_true(linker_stat(one, LINKER_STAT_ID_LINKS) > 0);
		assert_true(linker_stat(one, LINKER_STAT_DEMO_LINKS) > 0);
		assert_true(linker_stat(one, LINKER_STAT_FUZZY_LINKS) > 0);
		assert_true(linker_stat(one, LINKER_STAT_ATTR_VETOED) > 0);
		assert_true(linker_stat(one, LINKER_STAT_BLOCKS) > 1);
		if (modes[m] == LINKER_BLOCK_LSH)
			assert_true(linker_stat(one, LINKER_STAT_LSH_TABLES) > 0);
		print_message("threads: mode %d, %zu records, %llu persons, %llu fuzzy links, %llu "
			      "comparisons\n",
			      modes[m], linker_count(one),
			      (unsigned long long)linker_stat(one, LINKER_STAT_CLUSTERS),
			      (unsigned long long)linker_stat(one, LINKER_STAT_FUZZY_LINKS),
			      (unsigned long long)linker_stat(one, LINKER_STAT_COMPARISONS));
		for (t = 2; t <= 3; t++) {
			struct linker *more = thr_link(t, modes[m]);

			assert_int_equal(linker_count(more), linker_count(one));
			for (i = 0; i < linker_count(one); i++)
				assert_int_equal(cl(more, i), cl(one, i));
			for (s = 0; s < LINKER_STAT_MAX; s++)
				assert_int_equal(linker_stat(more, s), linker_stat(one, s));
			linker_free(more);
		}
		linker_free(one);
	}
}

/* ---- LSH against a straightforward reference ---- */

#define REF_P	  1500 /* persons */
#define REF_NODES 6

/* A reference pair: score as the linker computes it (tier 6 + Dice, as float), records a < b. */
struct ref_pair {
	float score;
	uint32_t a, b;
};

static int ref_cmp(const void *x, const void *y)
{
	const struct ref_pair *p = x, *q = y;

	if (p->score != q->score)
		return p->score > q->score ? -1 : 1;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return p->b < q->b ? -1 : p->b > q->b;
}

static uint32_t ref_find(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x)
		x = parent[x] = parent[parent[x]];
	return x;
}

/*
 * Filters only (no tokens, no attributes): every pair of records at different nodes whose Dice
 * reaches the threshold, merged greedily by descending score, then a, then b, while the two
 * clusters hold no common node; dense cluster ids in order of first record. Written from the
 * contract in linker.h, sharing no code with the linker.
 */
static void ref_link(const unsigned char *f, const uint32_t *node, size_t n, double t,
		     uint32_t *cluster)
{
	struct ref_pair *v = NULL;
	size_t nv = 0, cap = 0, i, j, k;
	uint32_t *parent = calloc(n, sizeof(*parent)), next = 0;
	uint64_t(*mask)[(REF_NODES + 63) / 64] = calloc(n, sizeof(*mask));
	unsigned *pc = calloc(n, sizeof(*pc));

	assert_non_null(parent);
	assert_non_null(mask);
	assert_non_null(pc);
	for (i = 0; i < n; i++) {
		for (k = 0; k < 128; k++)
			pc[i] += (unsigned)__builtin_popcount(f[i * 128 + k]);
		parent[i] = (uint32_t)i;
		mask[i][node[i] / 64] |= 1ull << (node[i] % 64);
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++) {
			unsigned c = 0, s = pc[i] + pc[j];

			if (node[i] == node[j])
				continue;
			for (k = 0; k < 128; k += 8) {
				uint64_t x, y;

				memcpy(&x, f + i * 128 + k, 8);
				memcpy(&y, f + j * 128 + k, 8);
				c += (unsigned)__builtin_popcountll(x & y);
			}
			if (!(2.0 * c >= t * s))
				continue;
			if (nv == cap) {
				cap = cap ? 2 * cap : 1024;
				v = realloc(v, cap * sizeof(*v));
				assert_non_null(v);
			}
			v[nv].score = 6.0f + (float)(2.0 * c / s);
			v[nv].a = (uint32_t)i;
			v[nv++].b = (uint32_t)j;
		}
	qsort(v, nv, sizeof(*v), ref_cmp);
	for (k = 0; k < nv; k++) {
		uint32_t a = ref_find(parent, v[k].a), b = ref_find(parent, v[k].b), lo, hi;
		size_t m;
		int clash = 0;

		if (a == b)
			continue;
		for (m = 0; m < (REF_NODES + 63) / 64; m++)
			clash |= (mask[a][m] & mask[b][m]) != 0;
		if (clash)
			continue;
		lo = a < b ? a : b;
		hi = a < b ? b : a;
		parent[hi] = lo;
		for (m = 0; m < (REF_NODES + 63) / 64; m++)
			mask[lo][m] |= mask[hi][m];
	}
	for (i = 0; i < n; i++)
		cluster[i] = UINT32_MAX;
	for (i = 0; i < n; i++) {
		uint32_t r = ref_find(parent, (uint32_t)i);

		if (cluster[r] == UINT32_MAX)
			cluster[r] = next++;
	}
	for (i = 0; i < n; i++)
		pc[i] = cluster[ref_find(parent, (uint32_t)i)];
	for (i = 0; i < n; i++)
		cluster[i] = pc[i];
	free(v);
	free(parent);
	free(mask);
	free(pc);
}

/*
 * A generated federation of filters (persons of 26 random q-grams, a copy at some nodes with up
 * to 3 q-grams replaced, shuffled record order) linked by LSH (table-major: every record is on
 * the block's new side), by all pairs, and on two threads: each equal to ref_link record by
 * record. LSH with 40 tables of 8 bits misses a pair above 0.75 with probability ~1e-10.
 */
static void test_lsh_matches_reference(void **state)
{
	enum { MAXN = REF_P * REF_NODES };
	unsigned char *f = malloc((size_t)MAXN * 128);
	uint32_t *node = malloc(MAXN * sizeof(*node)), *ref = malloc(MAXN * sizeof(*ref));
	size_t n = 0, i, p, links;
	int m;

	(void)state;
	assert_non_null(f);
	assert_non_null(node);
	assert_non_null(ref);
	for (p = 0; p < REF_P; p++) {
		uint64_t base = thr_mix(p * 977 + 5);
		unsigned k;

		for (k = 0; k < REF_NODES; k++) {
			uint64_t r = thr_mix(base + k * 31 + 1);
			unsigned g, noise = (unsigned)(r % 4);

			if ((r >> 8) % 3 == 0)
				continue; /* not known at this node */
			memset(f + n * 128, 0, 128);
			for (g = 0; g < 26; g++) {
				uint64_t q = base * 64 + g;

				if (g < noise)
					q = thr_mix(r + g) | 1ull << 63; /* a replaced q-gram */
				thr_qgram(f + n * 128, q, 15);
			}
			node[n++] = k;
		}
	}
	for (i = n - 1; i > 0; i--) { /* shuffle, so that a person's copies are not adjacent */
		size_t j = (size_t)(thr_mix(i + 17) % (i + 1));
		unsigned char tmp[128];
		uint32_t tn = node[i];

		memcpy(tmp, f + i * 128, 128);
		memcpy(f + i * 128, f + j * 128, 128);
		memcpy(f + j * 128, tmp, 128);
		node[i] = node[j];
		node[j] = tn;
	}
	ref_link(f, node, n, 0.75, ref);
	for (i = 0, links = 0; i < n; i++)
		links += ref[i] != i; /* not its own first record: linked to an earlier one */
	for (m = 0; m < 3; m++) {
		struct linker *l = NULL;

		assert_int_equal(linker_new(&l), 0);
		assert_int_equal(linker_set_threshold(l, 0.75), 0);
		assert_int_equal(
		    linker_set_blocking(l, m == 1 ? LINKER_BLOCK_NONE : LINKER_BLOCK_LSH, 40, 8, 3),
		    0);
		assert_int_equal(linker_set_threads(l, m == 2 ? 2 : 1), 0);
		for (i = 0; i < n; i++) {
			char h[24];

			assert_true(snprintf(h, sizeof(h), "r%zu", i) < (int)sizeof(h));
			add(l, node[i], h, NULL, NULL, f + i * 128);
		}
		assert_int_equal(linker_run(l), 0);
		print_message("reference: %zu records, %llu clusters, %llu comparisons (%s)\n", n,
			      (unsigned long long)linker_stat(l, LINKER_STAT_CLUSTERS),
			      (unsigned long long)linker_stat(l, LINKER_STAT_COMPARISONS),
			      m == 1 ? "all pairs" : "LSH");
		if (m != 1)
			assert_true(linker_stat(l, LINKER_STAT_LSH_TABLES) == 40);
		for (i = 0; i < n; i++)
			assert_int_equal(cl(l, i), ref[i]);
		linker_free(l);
	}
	/* the input links most copies into about one cluster per person */
	for (i = 0, p = 0; i < n; i++)
		p = ref[i] + 1 > p ? ref[i] + 1 : p;
	assert_true(links > n / 2);
	assert_true(p > REF_P * 9 / 10 && p < REF_P * 11 / 10);
	free(f);
	free(node);
	free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_ids_and_demos),
	    cmocka_unit_test(test_fuzzy_threshold_and_one_to_one),
	    cmocka_unit_test(test_demo_veto),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_closure_three_nodes),
	    cmocka_unit_test(test_blocking_matches_brute_force),
	    cmocka_unit_test(test_kernels_agree),
	    cmocka_unit_test(test_attrs_veto_and_ambiguity),
	    cmocka_unit_test(test_attrs_tiers),
	    cmocka_unit_test(test_namesake_crowd),
	    cmocka_unit_test(test_threads_same_links),
	    cmocka_unit_test(test_lsh_matches_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
