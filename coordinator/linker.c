/* linker — exact joins, blocked Dice matching and greedy cluster merging (see linker.h). */
#include "coordinator/linker.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <immintrin.h>
#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "common/grow.h"

#define LK_WORDS	  (LINKER_BLOOM_BYTES / 8)
#define LK_NONE		  UINT32_MAX
#define LK_AUTO_PAIRS	  ((uint64_t)1 << 27) /* a block above this many pairs: AUTO uses LSH */
#define LK_LSH_MIN_PAIRS  4096		      /* a block up to this many pairs: always all pairs */
#define LK_LSH_TABLES	  40
#define LK_LSH_TABLES_MAX 1024 /* linker_set_blocking's bound */
#define LK_LSH_WEAK_BITS  4    /* more key bits for blocks at the weak threshold */
/* a key's bucket among 2^bits (keys may be longer: multiplicative hash) */
#define LK_BUCKET(key, bits) ((uint32_t)(((key)*0x9e3779b1u) >> (32 - (bits))))
#define LK_LSH_POOL	     512  /* the most balanced bits, from which tables sample */
#define LK_SAMPLE	     8192 /* filters sampled to estimate bit frequencies */
#define LK_CHUNK	     4096 /* filters per kernel call */
#define LK_KEYBATCH	     8	  /* LSH tables keyed per pass over the filters */
#define LK_DEMO_GROUP_MAX    256  /* records sharing one demo token */

#define LK_HAS_ID    1u
#define LK_HAS_DEMO  2u
#define LK_HAS_BLOOM 4u
#define LK_SEX_M     8u
#define LK_SEX_F     16u

/*
 * Score tiers of candidate pairs (score = tier + Dice): the greedy step takes stronger evidence
 * first, whatever the Dice. A pair with no birth-date evidence needs the weak threshold.
 */
#define LK_TIER_DEMO	   8.0f	 /* equal demo tokens: family name, birth date and sex */
#define LK_TIER_DATE	   6.0f	 /* filter match, equal full birth dates */
#define LK_TIER_GIVEN_DATE 4.0f	 /* equal given name and full birth date, a family name missing */
#define LK_TIER_YEAR	   2.0f	 /* filter match, equal birth years (a date known by year only) */
#define LK_TIER_NONE	   0.0f	 /* filter match, a birth date unknown at one side */
#define LK_WEAK_MARGIN	   0.07	 /* weak threshold = threshold + this (at most 1) */
#define LK_AMBIG_EPS	   0.05f /* candidates this close to a record's best are rivals */

struct lk_rec {
	uint32_t node, atype;
	uint32_t hoff;	/* handle offset in the handle arena */
	uint32_t tok;	/* index of the record's id/demo tokens */
	uint32_t bloom; /* index of its filter, LK_NONE without one */
	uint8_t hlen, flags;
};

/* Derived tokens of a record, truncated to 64 bits (equality only; 0: absent). */
struct lk_attr {
	uint64_t year, date, given;
};

struct lk_pair {
	float score; /* tier + Dice; a pair sharing a demo token scores LK_TIER_DEMO or more */
	uint32_t a, b;
};

struct linker {
	struct lk_rec *recs;
	size_t n, cap;
	unsigned char *handles;
	size_t hlen, hcap;
	unsigned char *ids, *demos; /* LINKER_TOKEN_LEN per record (zero when absent) */
	struct lk_attr *attrs;	    /* per record, allocated at the first linker_set_attrs */
	uint64_t *blooms;	    /* LK_WORDS per filter */
	uint32_t *bowner;	    /* record of each filter */
	size_t nb, bcap;
	uint32_t maxnode;
	double threshold, weak;
	int mode;
	unsigned threads; /* linker_set_threads; 0: one */
	unsigned lsh_tables, lsh_bits;
	uint64_t seed;
	int ran;
	/* results */
	uint32_t *parent, *cluster;
	uint64_t *mask;	       /* per root: the nodes in the cluster, mwords words */
	uint32_t *cid;	       /* per root: a record holding an id token, LK_NONE when none */
	struct lk_attr *cattr; /* per root: the cluster's known year, date, given (0: none) */
	uint8_t *csex;	       /* per root: LK_SEX_M / LK_SEX_F of the cluster, 0 when none */
	size_t mwords;
	uint64_t stat[LINKER_STAT_MAX];
};

/* ---- popcount kernels ---- */

static unsigned lk_pop64_sw(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

static unsigned lk_andpop_sw(const uint64_t *a, const uint64_t *b)
{
	unsigned c = 0;
	int i;

	for (i = 0; i < LK_WORDS; i++)
		c += lk_pop64_sw(a[i] & b[i]);
	return c;
}

/* Four independent sums keep the POPCNT units busy (and break its false output dependency). */
__attribute__((target("popcnt"))) static unsigned lk_andpop_hw(const uint64_t *a, const uint64_t *b)
{
	uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
	int i;

	for (i = 0; i < LK_WORDS; i += 4) {
		c0 += (uint64_t)__builtin_popcountll(a[i] & b[i]);
		c1 += (uint64_t)__builtin_popcountll(a[i + 1] & b[i + 1]);
		c2 += (uint64_t)__builtin_popcountll(a[i + 2] & b[i + 2]);
		c3 += (uint64_t)__builtin_popcountll(a[i + 3] & b[i + 3]);
	}
	return (unsigned)(c0 + c1 + c2 + c3);
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static unsigned
lk_andpop_avx512(const uint64_t *a, const uint64_t *b)
{
	__m512i x0 = _mm512_and_si512(_mm512_loadu_si512(a), _mm512_loadu_si512(b));
	__m512i x1 = _mm512_and_si512(_mm512_loadu_si512(a + 8), _mm512_loadu_si512(b + 8));

	x0 = _mm512_add_epi64(_mm512_popcnt_epi64(x0), _mm512_popcnt_epi64(x1));
	return (unsigned)_mm512_reduce_add_epi64(x0);
}

/*
 * AVX2 without VPOPCNTDQ: a nibble-lookup popcount (VPSHUFB on each half-byte, VPSADBW to sum
 * the bytes). The query's filter is split once into its low and high nibbles, so that one AND
 * per half both intersects and isolates the nibble.
 */
#define LK_AVX2_LUT                                                                                \
	_mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3,   \
			 1, 2, 2, 3, 2, 3, 3, 4)

/* The query's nibbles: lo[k] = a & 0x0f.., hi[k] = (a >> 4) & 0x0f.. per 32-byte word k. */
__attribute__((target("avx2"))) static inline void lk_avx2_split(const uint64_t *a, __m256i lo[4],
								 __m256i hi[4])
{
	const __m256i m4 = _mm256_set1_epi8(0x0f);
	int k;

	for (k = 0; k < 4; k++) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(a + 4 * k));

		lo[k] = _mm256_and_si256(x, m4);
		hi[k] = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
	}
}

/* The common bits of the split query and filter b, as four 64-bit partial sums. */
__attribute__((target("avx2"))) static inline __m256i
lk_avx2_count(const __m256i lo[4], const __m256i hi[4], const uint64_t *b)
{
	const __m256i lut = LK_AVX2_LUT;
	__m256i acc = _mm256_setzero_si256();
	int k;

	for (k = 0; k < 4; k++) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(b + 4 * k));
		__m256i l = _mm256_and_si256(x, lo[k]);
		__m256i h = _mm256_and_si256(_mm256_srli_epi16(x, 4), hi[k]);

		acc = _mm256_add_epi8(
		    acc, _mm256_add_epi8(_mm256_shuffle_epi8(lut, l), _mm256_shuffle_epi8(lut, h)));
	}
	return _mm256_sad_epu8(acc, _mm256_setzero_si256()); /* bytes <= 32: no overflow */
}

__attribute__((target("avx2"))) static unsigned lk_andpop_avx2(const uint64_t *a, const uint64_t *b)
{
	__m256i lo[4], hi[4], s;
	__m128i t;

	lk_avx2_split(a, lo, hi);
	s = lk_avx2_count(lo, hi, b);
	t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
	t = _mm_add_epi64(t, _mm_unpackhi_epi64(t, t));
	return (unsigned)_mm_cvtsi128_si64(t);
}

/*
 * lk_scan for AVX2: the query split in registers, four filters per iteration whose partial sums
 * are packed as 16-bit lanes (each <= 256) and added across in one reduction.
 */
__attribute__((target("avx2"))) static size_t
lk_scan_avx2(const uint64_t *a, unsigned pa, const uint64_t *F, const uint16_t *pc, size_t lo,
	     size_t hi, const uint16_t *cmin, uint32_t *hits, uint16_t *hitc)
{
	const uint16_t *cm = cmin + pa;
	__m256i alo[4], ahi[4];
	size_t j = lo, h = 0;
	unsigned q;

	lk_avx2_split(a, alo, ahi);
	for (; j + 4 <= hi; j += 4) {
		const uint64_t *b = F + j * LK_WORDS;
		__m256i s0 = lk_avx2_count(alo, ahi, b);
		__m256i s1 = lk_avx2_count(alo, ahi, b + LK_WORDS);
		__m256i s2 = lk_avx2_count(alo, ahi, b + 2 * LK_WORDS);
		__m256i s3 = lk_avx2_count(alo, ahi, b + 3 * LK_WORDS);
		__m256i v = _mm256_or_si256(
		    _mm256_or_si256(s0, _mm256_slli_epi64(s1, 16)),
		    _mm256_or_si256(_mm256_slli_epi64(s2, 32), _mm256_slli_epi64(s3, 48)));
		__m128i t =
		    _mm_add_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
		uint64_t c4;

		t = _mm_add_epi16(t, _mm_unpackhi_epi64(t, t));
		c4 = (uint64_t)_mm_cvtsi128_si64(t);
		for (q = 0; q < 4; q++) {
			unsigned c = (unsigned)(c4 >> (16 * q)) & 0xffff;

			if (c >= cm[pc[j + q]]) {
				hits[h] = (uint32_t)(j + q - lo);
				hitc[h++] = (uint16_t)c;
			}
		}
	}
	for (; j < hi; j++) {
		unsigned c = lk_andpop_avx2(a, F + j * LK_WORDS);

		if (c >= cm[pc[j]]) {
			hits[h] = (uint32_t)(j - lo);
			hitc[h++] = (uint16_t)c;
		}
	}
	return h;
}

/*
 * Scans F[lo..hi) against a (popcount pa): writes the offsets j - lo and the common-bit counts of
 * the filters with c >= cmin[pa + pc[j]] to hits/hitc; returns how many.
 */
#define LK_SCAN(name, attr, andpop)                                                                \
	attr static size_t name(const uint64_t *a, unsigned pa, const uint64_t *F,                 \
				const uint16_t *pc, size_t lo, size_t hi, const uint16_t *cmin,    \
				uint32_t *hits, uint16_t *hitc)                                    \
	{                                                                                          \
		size_t j, h = 0;                                                                   \
                                                                                                   \
		for (j = lo; j < hi; j++) {                                                        \
			unsigned c = andpop(a, F + j * LK_WORDS);                                  \
			if (c >= cmin[pa + pc[j]]) {                                               \
				hits[h] = (uint32_t)(j - lo);                                      \
				hitc[h++] = (uint16_t)c;                                           \
			}                                                                          \
		}                                                                                  \
		return h;                                                                          \
	}

LK_SCAN(lk_scan_sw, , lk_andpop_sw)
LK_SCAN(lk_scan_hw, __attribute__((target("popcnt"))), lk_andpop_hw)
LK_SCAN(lk_scan_avx512, __attribute__((target("avx512f,avx512vpopcntdq"))), lk_andpop_avx512)

typedef size_t (*lk_scan_fn)(const uint64_t *, unsigned, const uint64_t *, const uint16_t *, size_t,
			     size_t, const uint16_t *, uint32_t *, uint16_t *);
typedef unsigned (*lk_andpop_fn)(const uint64_t *, const uint64_t *);

static void lk_kernels(lk_scan_fn *scan, lk_andpop_fn *andpop)
{
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq")) {
		*scan = lk_scan_avx512;
		*andpop = lk_andpop_avx512;
	} else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) {
		*scan = lk_scan_avx2; /* four filters at once; one pair: POPCNT is as fast */
		*andpop = lk_andpop_hw;
	} else if (__builtin_cpu_supports("popcnt")) {
		*scan = lk_scan_hw;
		*andpop = lk_andpop_hw;
	} else {
		*scan = lk_scan_sw;
		*andpop = lk_andpop_sw;
	}
}

static unsigned lk_popcount(const uint64_t *a)
{
	unsigned c = 0;
	int i;

	for (i = 0; i < LK_WORDS; i++)
		c += lk_pop64_sw(a[i]);
	return c;
}

static void lk_load(const unsigned char *bytes, uint64_t *w)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(w, bytes, LINKER_BLOOM_BYTES);
#else
	int i, j;

	for (i = 0; i < LK_WORDS; i++) {
		w[i] = 0;
		for (j = 0; j < 8; j++)
			w[i] |= (uint64_t)bytes[8 * i + j] << (8 * j);
	}
#endif
}

/* cmin[s]: the least common-bit count c with 2c >= threshold * s, for s = pa + pb. */
static void lk_cmin(double t, uint16_t *cmin)
{
	unsigned s, c;

	for (s = 0; s <= 2 * 8 * LINKER_BLOOM_BYTES; s++) {
		c = (unsigned)ceil(t * s / 2.0);
		while (c > 0 && 2.0 * (c - 1) >= t * s)
			c--;
		while (2.0 * c < t * s)
			c++;
		cmin[s] = (uint16_t)c;
	}
}

int linker_new(struct linker **out)
{
	struct linker *l;

	if (!out)
		return CL_EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return CL_ENOMEM;
	l->threshold = LINKER_DEFAULT_THRESHOLD;
	l->weak = -1.0; /* threshold + LK_WEAK_MARGIN */
	l->mode = LINKER_BLOCK_AUTO;
	l->seed = 0x9e3779b97f4a7c15ull;
	*out = l;
	return 0;
}

void linker_free(struct linker *l)
{
	if (!l)
		return;
	if (l->ids)
		OPENSSL_cleanse(l->ids, l->cap * LINKER_TOKEN_LEN);
	if (l->demos)
		OPENSSL_cleanse(l->demos, l->cap * LINKER_TOKEN_LEN);
	if (l->blooms)
		OPENSSL_cleanse(l->blooms, l->bcap * LK_WORDS * sizeof(uint64_t));
	if (l->attrs)
		OPENSSL_cleanse(l->attrs, l->cap * sizeof(*l->attrs));
	free(l->attrs);
	free(l->cattr);
	free(l->csex);
	free(l->recs);
	free(l->handles);
	free(l->ids);
	free(l->demos);
	free(l->blooms);
	free(l->bowner);
	free(l->parent);
	free(l->cluster);
	free(l->mask);
	free(l->cid);
	free(l);
}

int linker_set_threshold(struct linker *l, double threshold)
{
	if (!l || !(threshold > 0.0 && threshold <= 1.0))
		return CL_EINVAL;
	l->threshold = threshold;
	return 0;
}

int linker_set_weak_threshold(struct linker *l, double weak)
{
	if (!l || !(weak > 0.0 && weak <= 2.0))
		return CL_EINVAL;
	l->weak = weak;
	return 0;
}

static uint64_t lk_tok64(const unsigned char *t)
{
	uint64_t v = 0;

	if (!t)
		return 0;
	memcpy(&v, t, sizeof(v));
	return v ? v : 1;
}

int linker_set_attrs(struct linker *l, size_t i, int sex, const unsigned char *year_token,
		     const unsigned char *date_token, const unsigned char *given_token)
{
	struct lk_rec *r;

	if (!l || l->ran || i >= l->n)
		return CL_EINVAL;
	if (!l->attrs) {
		l->attrs = calloc(l->cap, sizeof(*l->attrs));
		if (!l->attrs)
			return CL_ENOMEM;
	}
	r = &l->recs[i];
	r->flags &= (uint8_t) ~(LK_SEX_M | LK_SEX_F);
	if (sex == 'M')
		r->flags |= LK_SEX_M;
	else if (sex == 'F')
		r->flags |= LK_SEX_F;
	l->attrs[i].year = lk_tok64(year_token);
	l->attrs[i].date = lk_tok64(date_token);
	l->attrs[i].given = lk_tok64(given_token);
	return 0;
}

int linker_set_blocking(struct linker *l, int mode, unsigned tables, unsigned bits, uint64_t seed)
{
	if (!l || mode < LINKER_BLOCK_AUTO || mode > LINKER_BLOCK_LSH || tables > 1024 ||
	    (bits && (bits < 4 || bits > 24)))
		return CL_EINVAL;
	l->mode = mode;
	l->lsh_tables = tables;
	l->lsh_bits = bits;
	l->seed = seed;
	return 0;
}

int linker_set_threads(struct linker *l, unsigned threads)
{
	if (!l || threads < 1 || threads > LINKER_MAX_THREADS)
		return CL_EINVAL;
	l->threads = threads;
	return 0;
}

int linker_add(struct linker *l, uint32_t node, uint32_t agency_type, const unsigned char *handle,
	       size_t handle_len, const unsigned char *id_token, const unsigned char *demo_token,
	       const unsigned char *bloom, size_t *index)
{
	size_t cap, need;
	struct lk_rec *r;
	int rc = 0;

	if (!l || l->ran || !handle || handle_len == 0 || handle_len > LINKER_HANDLE_MAX ||
	    node >= LINKER_MAX_NODES)
		return CL_EINVAL;
	if (l->n >= LINKER_MAX_RECORDS)
		return CL_ELIMIT;
	cap = l->cap;
	rc = grow_array((void **)&l->recs, &cap, l->n + 1, sizeof(*l->recs));
	if (rc)
		goto out;
	if (cap != l->cap) {
		/* the token arrays follow the records capacity, grown without stale copies */
		size_t c = l->cap;

		rc = grow_array_secret((void **)&l->ids, &c, cap, LINKER_TOKEN_LEN);
		c = l->cap;
		if (rc == 0)
			rc = grow_array_secret((void **)&l->demos, &c, cap, LINKER_TOKEN_LEN);
		c = l->cap;
		if (rc == 0 && l->attrs)
			rc = grow_array_secret((void **)&l->attrs, &c, cap, sizeof(*l->attrs));
		if (rc)
			goto out;
		if (l->attrs)
			memset(l->attrs + l->cap, 0, (cap - l->cap) * sizeof(*l->attrs));
		l->cap = cap;
	}
	need = l->hlen + handle_len;
	rc = grow_array((void **)&l->handles, &l->hcap, need, 1);
	if (rc)
		goto out;
	if (bloom) {
		size_t bcap = l->bcap;

		rc = grow_array((void **)&l->bowner, &bcap, l->nb + 1, sizeof(*l->bowner));
		if (rc)
			goto out;
		if (bcap != l->bcap) {
			size_t c = l->bcap;

			rc = grow_array_secret((void **)&l->blooms, &c, bcap,
					       LK_WORDS * sizeof(uint64_t));
			if (rc)
				goto out;
			l->bcap = bcap;
		}
	}
	r = &l->recs[l->n];
	memset(r, 0, sizeof(*r));
	r->node = node;
	r->atype = agency_type;
	r->hoff = (uint32_t)l->hlen;
	r->hlen = (uint8_t)handle_len;
	r->tok = (uint32_t)l->n;
	r->bloom = LK_NONE;
	memcpy(l->handles + l->hlen, handle, handle_len);
	l->hlen = need;
	memset(l->ids + l->n * LINKER_TOKEN_LEN, 0, LINKER_TOKEN_LEN);
	memset(l->demos + l->n * LINKER_TOKEN_LEN, 0, LINKER_TOKEN_LEN);
	if (id_token) {
		r->flags |= LK_HAS_ID;
		memcpy(l->ids + l->n * LINKER_TOKEN_LEN, id_token, LINKER_TOKEN_LEN);
	}
	if (demo_token) {
		r->flags |= LK_HAS_DEMO;
		memcpy(l->demos + l->n * LINKER_TOKEN_LEN, demo_token, LINKER_TOKEN_LEN);
	}
	if (bloom) {
		r->flags |= LK_HAS_BLOOM;
		r->bloom = (uint32_t)l->nb;
		lk_load(bloom, l->blooms + l->nb * LK_WORDS);
		l->bowner[l->nb++] = (uint32_t)l->n;
	}
	if (node > l->maxnode)
		l->maxnode = node;
	if (index)
		*index = l->n;
	l->n++;
out:
	return rc;
}

/* ---- union-find with per-cluster node masks and id holders ---- */

static uint32_t lk_find(uint32_t *parent, uint32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

/* Unites the clusters of roots a and b (a != b); returns the new root. */
static uint32_t lk_unite(struct linker *l, uint32_t a, uint32_t b)
{
	size_t k;

	if (a > b) {
		uint32_t t = a;

		a = b;
		b = t;
	}
	l->parent[b] = a;
	for (k = 0; k < l->mwords; k++)
		l->mask[a * l->mwords + k] |= l->mask[b * l->mwords + k];
	if (l->cid[a] == LK_NONE)
		l->cid[a] = l->cid[b];
	if (!l->cattr[a].year)
		l->cattr[a].year = l->cattr[b].year;
	if (!l->cattr[a].date)
		l->cattr[a].date = l->cattr[b].date;
	if (!l->cattr[a].given)
		l->cattr[a].given = l->cattr[b].given;
	if (!l->csex[a])
		l->csex[a] = l->csex[b];
	return a;
}

/*
 * Whether roots a and b may hold one person: no two different sexes, birth years or full birth
 * dates (the transitive-closure guard: a record without a date cannot chain two persons whose
 * dates differ).
 */
static int lk_compatible(const struct linker *l, uint32_t a, uint32_t b)
{
	const struct lk_attr *x = &l->cattr[a], *y = &l->cattr[b];

	if (l->csex[a] && l->csex[b] && l->csex[a] != l->csex[b])
		return 0;
	if (x->year && y->year && x->year != y->year)
		return 0;
	if (x->date && y->date && x->date != y->date)
		return 0;
	return 1;
}

/* The score tier of a filter pair of records a and b (compatible), by their date evidence. */
static float lk_tier(const struct linker *l, uint32_t a, uint32_t b)
{
	const struct lk_attr *x, *y;

	if (!l->attrs)
		return LK_TIER_DATE; /* no derived tokens: one tier, as before */
	x = &l->attrs[a];
	y = &l->attrs[b];
	if (x->date && y->date)
		return LK_TIER_DATE;
	if (x->year && y->year)
		return LK_TIER_YEAR;
	return LK_TIER_NONE;
}

static const unsigned char *lk_id(const struct linker *l, uint32_t i)
{
	return l->ids + (size_t)l->recs[i].tok * LINKER_TOKEN_LEN;
}

static const unsigned char *lk_demo(const struct linker *l, uint32_t i)
{
	return l->demos + (size_t)l->recs[i].tok * LINKER_TOKEN_LEN;
}

static uint64_t lk_tokhash(const unsigned char *t)
{
	uint64_t h;

	memcpy(&h, t, sizeof(h));
	return h;
}

/* Open-addressing table of record indexes keyed by a token; capacity a power of two. */
static int lk_table_new(size_t n, uint32_t **slots, size_t *cap)
{
	size_t c = 16;

	while (c < 2 * n)
		if (__builtin_mul_overflow(c, 2, &c))
			return CL_EOVERFLOW;
	*slots = malloc(c * sizeof(**slots));
	if (!*slots)
		return CL_ENOMEM;
	memset(*slots, 0xff, c * sizeof(**slots));
	*cap = c;
	return 0;
}

/* Finds the slot of token t (or the empty slot where it would go). */
static size_t lk_table_slot(const struct linker *l, const uint32_t *slots, size_t cap,
			    const unsigned char *t,
			    const unsigned char *(*get)(const struct linker *, uint32_t))
{
	size_t s = (size_t)(lk_tokhash(t) & (cap - 1));

	while (slots[s] != LK_NONE && memcmp(get(l, slots[s]), t, LINKER_TOKEN_LEN) != 0)
		s = (s + 1) & (cap - 1);
	return s;
}

static int lk_exact_ids(struct linker *l)
{
	uint32_t *slots = NULL;
	size_t cap = 0, i;
	int rc;

	rc = lk_table_new(l->n, &slots, &cap);
	if (rc)
		goto out;
	for (i = 0; i < l->n; i++) {
		size_t s;
		uint32_t a, b;

		if (!(l->recs[i].flags & LK_HAS_ID))
			continue;
		s = lk_table_slot(l, slots, cap, lk_id(l, (uint32_t)i), lk_id);
		if (slots[s] == LK_NONE) {
			slots[s] = (uint32_t)i;
			continue;
		}
		a = lk_find(l->parent, slots[s]);
		b = lk_find(l->parent, (uint32_t)i);
		if (a != b) {
			lk_unite(l, a, b);
			l->stat[LINKER_STAT_ID_LINKS]++;
		}
	}
out:
	free(slots);
	return rc;
}

struct lk_pairs {
	struct lk_pair *v;
	size_t n, cap;
};

static int lk_pairs_push(struct lk_pairs *p, uint32_t a, uint32_t b, float score)
{
	int rc;

	if (p->n >= LINKER_MAX_PAIRS)
		return CL_ELIMIT;
	rc = grow_array((void **)&p->v, &p->cap, p->n + 1, sizeof(*p->v));
	if (rc)
		return rc;
	p->v[p->n].score = score;
	p->v[p->n].a = a < b ? a : b;
	p->v[p->n].b = a < b ? b : a;
	p->n++;
	return 0;
}

/*
 * Demo tokens: records sharing one become priority candidates (score LK_TIER_DEMO + Dice, ahead
 * of every fuzzy pair) for the greedy step, so the one-record-per-node and id rules apply to them
 * too. A group whose members hold two different id tokens (same family name, birth date and sex,
 * different personal codes: twins) is ambiguous and skipped, as is a group of more than
 * LK_DEMO_GROUP_MAX records; a pair whose filters both exist and score below the threshold
 * (twins without codes, different given names) is vetoed.
 */
static int lk_exact_demos(struct linker *l, const uint32_t *root0, const uint16_t *cmin,
			  lk_andpop_fn andpop, struct lk_pairs *pairs)
{
	uint32_t *slots = NULL, *idrep = NULL, *gsize = NULL, *gstart = NULL, *members = NULL;
	unsigned char *ambig = NULL;
	size_t cap = 0, i, s, x, y;
	int rc;

	rc = lk_table_new(l->n, &slots, &cap);
	if (rc)
		goto out;
	idrep = malloc(cap * sizeof(*idrep));
	gsize = calloc(cap + 1, sizeof(*gsize));
	gstart = malloc((cap + 1) * sizeof(*gstart));
	members = malloc((l->n ? l->n : 1) * sizeof(*members));
	ambig = calloc(cap, 1);
	if (!idrep || !gsize || !gstart || !members || !ambig) {
		rc = CL_ENOMEM;
		goto out;
	}
	memset(idrep, 0xff, cap * sizeof(*idrep));
	for (i = 0; i < l->n; i++) {
		if (!(l->recs[i].flags & LK_HAS_DEMO))
			continue;
		s = lk_table_slot(l, slots, cap, lk_demo(l, (uint32_t)i), lk_demo);
		if (slots[s] == LK_NONE)
			slots[s] = (uint32_t)i;
		gsize[s + 1]++;
		if (!(l->recs[i].flags & LK_HAS_ID))
			continue;
		if (idrep[s] == LK_NONE)
			idrep[s] = (uint32_t)i;
		else if (memcmp(lk_id(l, idrep[s]), lk_id(l, (uint32_t)i), LINKER_TOKEN_LEN))
			ambig[s] = 1;
	}
	/* group the records by slot (counting sort) */
	gstart[0] = 0;
	for (s = 0; s < cap; s++)
		gstart[s + 1] = gstart[s] + gsize[s + 1];
	for (s = 0; s < cap; s++)
		gsize[s] = gstart[s];
	for (i = 0; i < l->n; i++)
		if (l->recs[i].flags & LK_HAS_DEMO)
			members[gsize[lk_table_slot(l, slots, cap, lk_demo(l, (uint32_t)i),
						    lk_demo)]++] = (uint32_t)i;
	for (s = 0; s < cap; s++) {
		size_t lo = gstart[s], hi = gstart[s + 1];

		if (hi - lo < 2)
			continue;
		if (ambig[s] || hi - lo > LK_DEMO_GROUP_MAX) {
			l->stat[LINKER_STAT_DEMO_AMBIG]++;
			continue;
		}
		for (x = lo; x < hi; x++)
			for (y = x + 1; y < hi; y++) {
				uint32_t a = members[x], b = members[y];
				const struct lk_rec *ra = &l->recs[a], *rb = &l->recs[b];
				float score = LK_TIER_DEMO;

				if (ra->node == rb->node || root0[a] == root0[b])
					continue;
				if (ra->bloom != LK_NONE && rb->bloom != LK_NONE) {
					const uint64_t *wa =
					    l->blooms + (size_t)ra->bloom * LK_WORDS;
					const uint64_t *wb =
					    l->blooms + (size_t)rb->bloom * LK_WORDS;
					unsigned pa = lk_popcount(wa), pb = lk_popcount(wb);
					unsigned c = andpop(wa, wb);

					if (c < cmin[pa + pb]) {
						l->stat[LINKER_STAT_DEMO_VETOED]++;
						continue;
					}
					score += pa + pb ? (float)(2.0 * c / (pa + pb)) : 1.0f;
				}
				rc = lk_pairs_push(pairs, a, b, score);
				if (rc)
					goto out;
			}
	}
out:
	free(slots);
	free(idrep);
	free(gsize);
	free(gstart);
	free(members);
	free(ambig);
	return rc;
}

static int lk_cmp_u64pair(const void *x, const void *y)
{
	const uint64_t *a = x, *b = y;

	return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1];
}

/*
 * Equal given name and full birth date where one record has no demo token although it has a
 * date (its family name is missing): candidates of tier LK_TIER_GIVEN_DATE. Groups larger than
 * LK_DEMO_GROUP_MAX are skipped.
 */
static int lk_given_date(struct linker *l, const uint32_t *root, lk_andpop_fn andpop,
			 struct lk_pairs *pairs)
{
	uint64_t(*keys)[2] = NULL;
	size_t n = 0, i, lo, hi, x, y;
	int rc = 0;

	if (!l->attrs)
		return 0;
	keys = malloc((l->n ? l->n : 1) * sizeof(*keys));
	if (!keys)
		return CL_ENOMEM;
	for (i = 0; i < l->n; i++)
		if (l->attrs[i].given && l->attrs[i].date) {
			keys[n][0] = l->attrs[i].given ^ (l->attrs[i].date * 0x9e3779b97f4a7c15ull);
			keys[n++][1] = i;
		}
	qsort(keys, n, sizeof(*keys), lk_cmp_u64pair);
	for (lo = 0; lo < n; lo = hi) {
		for (hi = lo + 1; hi < n && keys[hi][0] == keys[lo][0]; hi++)
			;
		if (hi - lo < 2 || hi - lo > LK_DEMO_GROUP_MAX)
			continue;
		for (x = lo; x < hi; x++)
			for (y = x + 1; y < hi; y++) {
				uint32_t a = (uint32_t)keys[x][1], b = (uint32_t)keys[y][1];
				const struct lk_rec *ra = &l->recs[a], *rb = &l->recs[b];
				float dice = 0.0f;

				if (ra->node == rb->node || root[a] == root[b] ||
				    ((ra->flags & LK_HAS_DEMO) && (rb->flags & LK_HAS_DEMO)))
					continue;
				if (!lk_compatible(l, root[a], root[b])) {
					l->stat[LINKER_STAT_ATTR_VETOED]++;
					continue;
				}
				if (ra->bloom != LK_NONE && rb->bloom != LK_NONE) {
					const uint64_t *wa =
					    l->blooms + (size_t)ra->bloom * LK_WORDS;
					const uint64_t *wb =
					    l->blooms + (size_t)rb->bloom * LK_WORDS;
					unsigned pa = lk_popcount(wa), pb = lk_popcount(wb);

					if (pa + pb)
						dice = (float)(2.0 * andpop(wa, wb) / (pa + pb));
				}
				rc = lk_pairs_push(pairs, a, b, LK_TIER_GIVEN_DATE + dice);
				if (rc)
					goto out;
			}
	}
out:
	free(keys);
	return rc;
}

/* ---- fuzzy candidates: attribute blocks, each compared all-pairs or by LSH ---- */

/* A filter as an LSH block sees it: one packed entry holds what the cheap vetoes read. */
struct lk_finfo {
	uint32_t root; /* its record's cluster */
	uint16_t node;
	uint16_t pc;   /* popcount of the filter */
	uint8_t sex;   /* LK_SEX_M / LK_SEX_F of the cluster, 0 when unknown */
	uint8_t isnew; /* on the current block's new side */
};

/*
 * How one LSH table's key is gathered from a filter: for each word holding sampled bits, their
 * mask and where they go in the key (the sampled bits in ascending order of position; keys are
 * only compared for equality, so any fixed order of the same bits finds the same pairs).
 */
struct lk_plan {
	uint8_t n;
	uint8_t word[LK_WORDS], shift[LK_WORDS];
	uint64_t mask[LK_WORDS];
};

typedef void (*lk_keys_fn)(const struct lk_plan *, size_t, const uint64_t *, uint32_t *, size_t);

/* Writes the keys of filter w in tables 0 .. tables - 1 to key[t * stride]. */
static void lk_keys_sw(const struct lk_plan *plan, size_t tables, const uint64_t *w, uint32_t *key,
		       size_t stride)
{
	size_t t;
	unsigned e;

	for (t = 0; t < tables; t++) {
		const struct lk_plan *p = &plan[t];
		uint32_t k = 0;

		for (e = 0; e < p->n; e++) {
			uint64_t x = w[p->word[e]], m = p->mask[e];
			unsigned j = p->shift[e];

			while (m) {
				k |= (uint32_t)((x >> __builtin_ctzll(m)) & 1) << j++;
				m &= m - 1;
			}
		}
		key[t * stride] = k;
	}
}

__attribute__((target("bmi2"))) static void lk_keys_bmi2(const struct lk_plan *plan, size_t tables,
							 const uint64_t *w, uint32_t *key,
							 size_t stride)
{
	size_t t;
	unsigned e;

	for (t = 0; t < tables; t++) {
		const struct lk_plan *p = &plan[t];
		uint32_t k = 0;

		for (e = 0; e < p->n; e++)
			k |= (uint32_t)_pext_u64(w[p->word[e]], p->mask[e]) << p->shift[e];
		key[t * stride] = k;
	}
}

/* An LSH bucket entry: a new-side member's key and its position in the block. */
struct lk_ent {
	uint32_t key, p;
};

/*
 * An entry of one table of a table-major LSH block (lk_lsh_table): a member's key, its position
 * in the block, and what the cheap vetoes read (v: node | sex << 10 | popcount << 12), so that a
 * pair is ruled out from two entries that sit side by side.
 */
struct lk_tent {
	uint32_t key, x, root, v;
};

#define LK_TV_NODE(v) ((v)&0x3ffu)
#define LK_TV_SEX(v)  (((v) >> 10) & 3u)
#define LK_TV_PC(v)   ((v) >> 12)

/* One block: S = order + off, s filters of which the first w are its new side. */
struct lk_blk {
	size_t off, s, w;
	const uint16_t *cmin;
	int lsh, weak;
	int tmajor; /* LSH table by table (a new side of at least a quarter), else probes */
};

struct lk_fz;

/* One thread's share of a pass: its candidate pairs, counters and scratch space. */
struct lk_wk {
	struct linker *l;
	struct lk_fz *z;
	struct lk_pairs out[2]; /* pairs for z->strong and z->weak */
	uint64_t stat[LINKER_STAT_MAX];
	uint64_t *F;   /* a block's filters, gathered (all-pairs) */
	uint16_t *bpc; /* and their popcounts */
	size_t fcap;
	uint32_t *hits;
	uint16_t *hitc;
	uint32_t *stamp; /* per new-side member of an LSH block: the last probe it met */
	size_t scap;
	struct lk_tent *te[2]; /* one table's entries of a table-major LSH block, and scratch */
	size_t tecap;
	uint32_t gen;
	int rc;
};

/*
 * What the fuzzy step shares between its blocks and threads. A block is a run S[0..s) of filter
 * indexes whose first w members are its "new" side: the pairs compared are those with at least
 * one member in S[0..w) (all pairs when w == s). Threads take whole all-pairs blocks, or ranges
 * of an LSH block's probes; the pairs they find are merged before the greedy step sorts them, so
 * the result does not depend on the threads.
 */
struct lk_fz {
	const uint32_t *root;	      /* per record: its cluster root when the pass started */
	const uint16_t *cmin, *cminw; /* the threshold's and the weak threshold's (lk_cmin) */
	lk_scan_fn scan;
	lk_andpop_fn andpop;
	lk_keys_fn keys;
	struct lk_pairs *strong, *weak; /* tier >= LK_TIER_DATE, and the rest */
	_Atomic size_t npairs[2];	/* pairs in (or found for) strong and weak: the cap */
	uint16_t *pc;			/* per filter: popcount */
	uint32_t *fnode;		/* per filter: node */
	const uint32_t *order;		/* the filters in block order (lk_blocks_order) */
	/* LSH, prepared at the first block that uses it */
	uint16_t (*pos)[24];	      /* per table: the sampled bit positions */
	struct lk_plan *plan;	      /* per table: its key of bits, then (tables + t) of wbits */
	struct lk_finfo *finfo;	      /* per filter, for the cheap vetoes */
	unsigned tables, bits, wbits; /* key bits: buckets (2^bits), and for weak blocks */
	/* the LSH block being probed: its new side's buckets */
	const struct lk_blk *cur;
	const struct lk_plan *cplan;
	struct lk_ent *ent;   /* per table: the new side's keys and positions by bucket */
	uint32_t *cnt;	      /* per table: bucket ends */
	struct lk_finfo *nfi; /* the new side's vetoes' entries, by position */
	uint64_t *kset;	      /* per table: a bit per hash of the keys present (2^kbits) */
	unsigned ibits, kbits;
	/*
	 * or, table-major (a large new side): per member, its filter then its keys in all tables,
	 * in one record of mstride words (whole cache lines: a member is one random read)
	 */
	uint64_t *mrec;
	size_t mstride, mrecs;
	int (*tpairs)(struct lk_wk *, const struct lk_tent *, size_t); /* lk_table_pairs_* */
	/* work sharing */
	const struct lk_blk *blk;
	size_t nblk;
	int phase; /* 0: the all-pairs blocks; 1: the probes of block cur; 2: its tables */
	_Atomic size_t next;
	_Atomic int failed;
};

#define LK_PROBE_CHUNK 2048 /* LSH probes a thread takes at a time */

/*
 * Keeps a filter pair of records a and b with c common bits (Dice at or above the threshold)
 * with its tier, unless the records are at one node or in one cluster, the clusters conflict
 * (sex, year, date), or the pair has no date evidence and scores below the weak threshold.
 */
static int lk_fz_keep(struct lk_wk *wk, uint32_t a, uint32_t b, double dice);

static int lk_fz_emit(struct lk_wk *wk, uint32_t a, uint32_t b, double dice)
{
	const struct linker *l = wk->l;
	struct lk_fz *z = wk->z;

	if (l->recs[a].node == l->recs[b].node || z->root[a] == z->root[b])
		return 0;
	if (!lk_compatible(l, z->root[a], z->root[b])) {
		wk->stat[LINKER_STAT_ATTR_VETOED]++;
		return 0;
	}
	return lk_fz_keep(wk, a, b, dice);
}

/* lk_fz_emit past its vetoes (records at two nodes, in two compatible clusters). */
static int lk_fz_keep(struct lk_wk *wk, uint32_t a, uint32_t b, double dice)
{
	const struct linker *l = wk->l;
	struct lk_fz *z = wk->z;
	float tier;
	int k;

	tier = lk_tier(l, a, b);
	if (tier == LK_TIER_NONE && dice < l->weak)
		return 0;
	wk->stat[LINKER_STAT_CANDIDATES]++;
	k = tier >= LK_TIER_DATE || z->strong == z->weak ? 0 : 1;
	if (atomic_fetch_add_explicit(&z->npairs[k], 1, memory_order_relaxed) >= LINKER_MAX_PAIRS)
		return CL_ELIMIT;
	return lk_pairs_push(&wk->out[k], a, b, tier + (float)dice);
}

/* All pairs of the block with a member on its new side, tiled over chunks of LK_CHUNK filters. */
static int lk_block_all(struct lk_wk *wk, const struct lk_blk *blk)
{
	const struct linker *l = wk->l;
	const struct lk_fz *z = wk->z;
	const uint32_t *S = z->order + blk->off;
	size_t s = blk->s, w = blk->w, i, jlo, need;
	int rc = 0;

	if (s > wk->fcap) {
		uint64_t *F;
		uint16_t *p;

		if (__builtin_mul_overflow(s, LK_WORDS * sizeof(*F), &need))
			return CL_EOVERFLOW;
		if (wk->F)
			OPENSSL_cleanse(wk->F, wk->fcap * LK_WORDS * sizeof(*F));
		free(wk->F);
		free(wk->bpc);
		wk->fcap = 0;
		wk->F = F = malloc(need);
		wk->bpc = p = malloc(s * sizeof(*p));
		if (!F || !p)
			return CL_ENOMEM;
		wk->fcap = s;
	}
	for (i = 0; i < s; i++) {
		memcpy(wk->F + i * LK_WORDS, l->blooms + (size_t)S[i] * LK_WORDS,
		       LK_WORDS * sizeof(*wk->F));
		wk->bpc[i] = z->pc[S[i]];
	}
	/* each chunk (512 KiB) stays in cache while every new-side filter before it passes */
	for (jlo = 0; jlo < s; jlo += LK_CHUNK) {
		size_t jhi = jlo + LK_CHUNK < s ? jlo + LK_CHUNK : s;

		for (i = 0; i < w && i + 1 < jhi; i++) {
			size_t lo = i + 1 > jlo ? i + 1 : jlo, h, c;

			h = z->scan(wk->F + i * LK_WORDS, wk->bpc[i], wk->F, wk->bpc, lo, jhi,
				    blk->cmin, wk->hits, wk->hitc);
			wk->stat[LINKER_STAT_COMPARISONS] += jhi - lo;
			for (c = 0; c < h; c++) {
				size_t j = lo + wk->hits[c];

				rc = lk_fz_emit(wk, l->bowner[S[i]], l->bowner[S[j]],
						2.0 * wk->hitc[c] / (wk->bpc[i] + wk->bpc[j]));
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

static uint64_t lk_splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned lk_auto_bits(size_t nb)
{
	unsigned b = 0;

	while (b < 40 && ((size_t)1 << b) < nb)
		b++;
	b = b > 3 ? b - 3 : 0;
	return b < 8 ? 8 : b > 20 ? 20 : b;
}

/* Orders bit positions by how far their frequency is from one half. */
static int lk_cmp_dist(const void *x, const void *y)
{
	const uint32_t *a = x, *b = y;

	return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1];
}

/*
 * Bit-sampling LSH: each table keys a filter by `bits` positions drawn from the LK_LSH_POOL most
 * balanced bits (frequencies on an even sample of the filters).
 */
static int lk_lsh_prepare(struct linker *l, struct lk_fz *z)
{
	size_t nb = l->nb, i, step, sampled = 0, t;
	uint32_t(*dist)[2] = NULL, freq[1024];
	uint64_t seed = l->seed;
	unsigned b;
	int rc = 0;

	z->tables = l->lsh_tables ? l->lsh_tables : LK_LSH_TABLES;
	z->bits = l->lsh_bits ? l->lsh_bits : lk_auto_bits(nb);
	l->stat[LINKER_STAT_LSH_TABLES] = z->tables;
	l->stat[LINKER_STAT_LSH_BITS] = z->bits;
	dist = malloc(1024 * sizeof(*dist));
	z->pos = malloc((z->tables ? z->tables : 1) * sizeof(*z->pos));
	z->finfo = calloc(nb ? nb : 1, sizeof(*z->finfo));
	z->plan = calloc(2 * (size_t)(z->tables ? z->tables : 1), sizeof(*z->plan));
	if (!dist || !z->pos || !z->finfo || !z->plan) {
		rc = CL_ENOMEM;
		goto out;
	}
	memset(freq, 0, sizeof(freq));
	step = nb > LK_SAMPLE ? nb / LK_SAMPLE : 1;
	for (i = 0; i < nb; i += step, sampled++)
		for (b = 0; b < 1024; b++)
			freq[b] += (uint32_t)(l->blooms[i * LK_WORDS + b / 64] >> (b % 64)) & 1;
	for (b = 0; b < 1024; b++) {
		int64_t d = 2 * (int64_t)freq[b] - (int64_t)sampled;

		dist[b][0] = (uint32_t)(d < 0 ? -d : d);
		dist[b][1] = b;
	}
	qsort(dist, 1024, sizeof(*dist), lk_cmp_dist);
	z->wbits = l->lsh_bits
		       ? l->lsh_bits
		       : (z->bits + LK_LSH_WEAK_BITS > 24 ? 24 : z->bits + LK_LSH_WEAK_BITS);
	for (t = 0; t < z->tables; t++)
		for (b = 0; b < z->wbits; b++) {
			unsigned c;
			uint16_t p;

			do {
				p = (uint16_t)dist[lk_splitmix(&seed) % LK_LSH_POOL][1];
				for (c = 0; c < b && z->pos[t][c] != p; c++)
					;
			} while (c < b);
			z->pos[t][b] = p;
		}
	for (t = 0; t < 2 * (size_t)z->tables; t++) {
		struct lk_plan *pl = &z->plan[t];
		const uint16_t *pos = z->pos[t % z->tables];
		uint64_t m[LK_WORDS];
		unsigned kb = t < z->tables ? z->bits : z->wbits, sh = 0, wd;

		memset(m, 0, sizeof(m));
		for (b = 0; b < kb; b++)
			m[pos[b] >> 6] |= (uint64_t)1 << (pos[b] & 63);
		for (wd = 0; wd < LK_WORDS; wd++)
			if (m[wd]) {
				pl->word[pl->n] = (uint8_t)wd;
				pl->mask[pl->n] = m[wd];
				pl->shift[pl->n++] = (uint8_t)sh;
				sh += (unsigned)__builtin_popcountll(m[wd]);
			}
	}
out:
	free(dist);
	return rc;
}

/*
 * LSH over one block (z->cur), built on its new side only: every table's buckets of the new-side
 * members (counting sort by key), which every member of the block then probes
 * (lk_lsh_probe). Memory: tables x (3 x new side + buckets) words, the buckets about the new
 * side's size. Also fills the vetoes' entries of the block's filters.
 */
static int lk_lsh_index(struct linker *l, struct lk_fz *z, const struct lk_blk *blk)
{
	const uint32_t *S = z->order + blk->off;
	uint32_t *tk = NULL;
	size_t s = blk->s, w = blk->w, nkeys, i, t, k, cells, ccells;
	int rc = 0;

	if (!z->pos) {
		rc = lk_lsh_prepare(l, z);
		if (rc)
			return rc;
	}
	z->cur = blk;
	z->cplan = z->plan + (blk->weak ? z->tables : 0);
	for (z->ibits = 4; z->ibits < 24 && ((size_t)1 << z->ibits) < w; z->ibits++)
		;
	nkeys = (size_t)1 << z->ibits;
	if (__builtin_mul_overflow(w, (size_t)z->tables, &cells) ||
	    __builtin_mul_overflow(nkeys + 1, (size_t)z->tables, &ccells) ||
	    cells > SIZE_MAX / sizeof(*z->ent) || ccells > SIZE_MAX / sizeof(*z->cnt))
		return CL_EOVERFLOW;
	z->ent = malloc((cells ? cells : 1) * sizeof(*z->ent));
	z->cnt = calloc(ccells ? ccells : 1, sizeof(*z->cnt));
	z->nfi = malloc((w ? w : 1) * sizeof(*z->nfi));
	z->kbits = z->ibits + 3 < 20 ? z->ibits + 3 : 20;
	z->kset = calloc(((size_t)1 << z->kbits) / 64 * z->tables + 1, sizeof(*z->kset));
	tk = malloc((cells ? cells : 1) * sizeof(*tk));
	if (!z->ent || !z->cnt || !z->nfi || !z->kset || !tk) {
		rc = CL_ENOMEM;
		goto out;
	}
	for (i = 0; i < s; i++) {
		uint32_t f = S[i], r = z->root[l->bowner[f]];
		struct lk_finfo *fi = &z->finfo[f];

		fi->root = r;
		fi->node = (uint16_t)z->fnode[f];
		fi->sex = l->csex[r];
		fi->pc = z->pc[f];
		fi->isnew = i < w;
		if (i < w)
			z->nfi[i] = *fi;
	}
	for (i = 0; i < w; i++)
		z->keys(z->cplan, z->tables, l->blooms + (size_t)S[i] * LK_WORDS, tk + i, w);
	for (t = 0; t < z->tables; t++) {
		uint32_t *c = z->cnt + t * (nkeys + 1);
		struct lk_ent *e = z->ent + t * w;
		const uint32_t *kt = tk + t * w;

		uint64_t *ks = z->kset + t * (((size_t)1 << z->kbits) / 64);

		for (i = 0; i < w; i++) {
			uint32_t h = LK_BUCKET(kt[i], z->kbits);

			ks[h / 64] |= (uint64_t)1 << (h % 64);
			c[LK_BUCKET(kt[i], z->ibits) + 1]++;
		}
		for (k = 1; k <= nkeys; k++)
			c[k] += c[k - 1];
		for (i = 0; i < w; i++) {
			size_t at = c[LK_BUCKET(kt[i], z->ibits)]++;

			e[at].key = kt[i];
			e[at].p = (uint32_t)i;
		}
		/* c[k] is now the end of bucket k */
	}
out:
	free(tk);
	return rc;
}

/* Frees the buckets of the LSH block z->cur and clears its filters' new-side marks. */
static void lk_lsh_done(struct lk_fz *z)
{
	size_t i;

	if (z->cur && z->finfo)
		for (i = 0; i < z->cur->s; i++)
			z->finfo[z->order[z->cur->off + i]].isnew = 0;
	if (z->mrec)
		OPENSSL_cleanse(z->mrec, z->mrecs * z->mstride * sizeof(*z->mrec));
	free(z->mrec);
	z->mrec = NULL;
	z->mrecs = 0;
	free(z->ent);
	free(z->cnt);
	free(z->nfi);
	free(z->kset);
	z->kset = NULL;
	z->ent = NULL;
	z->cnt = NULL;
	z->nfi = NULL;
	z->cur = NULL;
}

/*
 * Probes S[lo..hi) of the LSH block z->cur: for each, the new-side members of its buckets in all
 * tables, each once (a stamp per member), a new-side pair only from its later member. The cheap
 * vetoes (node, cluster, popcounts, sex, then birth year and date) come before the Dice.
 */
static int lk_lsh_probe(struct lk_wk *wk, size_t lo, size_t hi)
{
	const struct linker *l = wk->l;
	const struct lk_fz *z = wk->z;
	const struct lk_blk *blk = z->cur;
	const uint32_t *S = z->order + blk->off;
	const uint16_t *cmin = blk->cmin;
	uint32_t kx[LK_LSH_TABLES_MAX], bk[LK_LSH_TABLES_MAX];
	size_t nkeys = (size_t)1 << z->ibits, kw = ((size_t)1 << z->kbits) / 64, i, t, w = blk->w;
	int rc;

	for (i = lo; i < hi; i++) {
		uint32_t fb = S[i], gen = ++wk->gen;
		const uint64_t *wb = l->blooms + (size_t)fb * LK_WORDS;
		const struct lk_finfo *ib = &z->finfo[fb];

		z->keys(z->cplan, z->tables, wb, kx, 1);
		/*
		 * Most keys are in no bucket: the key set (a few KiB per table, in cache) says so
		 * without touching the buckets; the others' buckets are independent random reads,
		 * started all at once.
		 */
		for (t = 0; t < z->tables; t++) {
			uint32_t h = LK_BUCKET(kx[t], z->kbits);

			bk[t] = LK_NONE;
			if (!(z->kset[t * kw + h / 64] >> (h % 64) & 1))
				continue;
			bk[t] = LK_BUCKET(kx[t], z->ibits);
			__builtin_prefetch(z->cnt + t * (nkeys + 1) + (bk[t] ? bk[t] - 1 : 0));
		}
		for (t = 0; t < z->tables; t++) {
			const uint32_t *c = z->cnt + t * (nkeys + 1);
			const struct lk_ent *e = z->ent + t * w;
			size_t y, ylo, yhi;

			if (bk[t] == LK_NONE)
				continue;
			ylo = bk[t] ? c[bk[t] - 1] : 0;
			yhi = c[bk[t]];

			for (y = ylo; y < yhi; y++) {
				uint32_t p = e[y].p, fa;
				const struct lk_finfo *ia;
				unsigned cm;

				if (e[y].key != kx[t])
					continue; /* another key in the same bucket */
				if (wk->stamp[p] == gen || (i < w && p >= i))
					continue;
				wk->stamp[p] = gen;
				fa = S[p];
				ia = &z->nfi[p];
				if (ib->node == ia->node || ib->root == ia->root ||
				    cmin[ia->pc + ib->pc] > (ia->pc < ib->pc ? ia->pc : ib->pc))
					continue; /* the popcounts alone rule the threshold out */
				if ((ia->sex && ib->sex && ia->sex != ib->sex) ||
				    !lk_compatible(l, ia->root, ib->root)) {
					wk->stat[LINKER_STAT_ATTR_VETOED]++;
					continue;
				}
				cm = z->andpop(l->blooms + (size_t)fa * LK_WORDS, wb);
				wk->stat[LINKER_STAT_COMPARISONS]++;
				if (cm < cmin[ia->pc + ib->pc])
					continue;
				rc = lk_fz_emit(wk, l->bowner[fa], l->bowner[fb],
						2.0 * cm / (z->pc[fa] + z->pc[fb]));
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

/*
 * A table-major LSH block (z->cur, a new side of at least a quarter of it): per member, a record
 * of its filter, its record and its keys in all tables (the first-shared-table test reads two
 * members' keys, the Dice their filters: one random read each), and the vetoes' entries by
 * position. Memory: 136 bytes + 4 per table, rounded up to 64, per member.
 */
static int lk_lsh_rows(struct linker *l, struct lk_fz *z, const struct lk_blk *blk)
{
	const uint32_t *S = z->order + blk->off;
	size_t s = blk->s, i, ms, bytes;
	int rc;

	if (!z->pos) {
		rc = lk_lsh_prepare(l, z);
		if (rc)
			return rc;
	}
	z->cur = blk;
	z->cplan = z->plan + (blk->weak ? z->tables : 0);
	ms = (LK_WORDS + 1 + (z->tables + 1) / 2 + 7) / 8 * 8;
	if (__builtin_mul_overflow(s ? s : 1, ms * sizeof(*z->mrec), &bytes))
		return CL_EOVERFLOW;
	z->mrec = aligned_alloc(64, bytes);
	z->nfi = malloc((s ? s : 1) * sizeof(*z->nfi));
	if (!z->mrec || !z->nfi)
		return CL_ENOMEM;
	z->mstride = ms;
	z->mrecs = s ? s : 1;
	for (i = 0; i < s; i++) {
		uint32_t f = S[i], r = z->root[l->bowner[f]];
		struct lk_finfo *fi = &z->nfi[i];
		uint64_t *m = z->mrec + i * ms;

		fi->root = r;
		fi->node = (uint16_t)z->fnode[f];
		fi->sex = l->csex[r];
		fi->pc = z->pc[f];
		fi->isnew = i < blk->w;
		memcpy(m, l->blooms + (size_t)f * LK_WORDS, LK_WORDS * sizeof(*m));
		m[LK_WORDS] = l->bowner[f];
		z->keys(z->cplan, z->tables, m, (uint32_t *)(m + LK_WORDS + 1), 1);
	}
	return 0;
}

/* Makes the thread's two entry arrays hold n entries each. */
static int lk_tent_reserve(struct lk_wk *wk, size_t n)
{
	int k;

	if (wk->tecap >= n)
		return 0;
	if (n > SIZE_MAX / sizeof(struct lk_tent))
		return CL_EOVERFLOW;
	for (k = 0; k < 2; k++) {
		if (wk->te[k])
			OPENSSL_cleanse(wk->te[k], wk->tecap * sizeof(struct lk_tent));
		free(wk->te[k]);
		wk->te[k] = NULL;
	}
	wk->tecap = 0;
	wk->te[0] = malloc(n * sizeof(struct lk_tent));
	wk->te[1] = malloc(n * sizeof(struct lk_tent));
	if (!wk->te[0] || !wk->te[1])
		return CL_ENOMEM;
	wk->tecap = n;
	return 0;
}

/* Member x's keys in the table-major block's record (after its filter and record index). */
static const uint32_t *lk_mkeys(const struct lk_fz *z, size_t x)
{
	return (const uint32_t *)(z->mrec + x * z->mstride + LK_WORDS + 1);
}

/* Table t's entries of the block z->cur, sorted by key (LSD radix, digits of at most 11 bits). */
static struct lk_tent *lk_table_sorted(struct lk_wk *wk, size_t t)
{
	const struct lk_fz *z = wk->z;
	const struct lk_blk *blk = z->cur;
	size_t s = blk->s, i;
	unsigned kb = blk->weak ? z->wbits : z->bits, passes = (kb + 10) / 11, db, d;
	uint32_t cnt[3][2048], m;
	struct lk_tent *e = wk->te[0], *tmp = wk->te[1], *sw;

	db = (kb + passes - 1) / passes;
	m = (1u << db) - 1;
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < s; i++) {
		const struct lk_finfo *fi = &z->nfi[i];
		uint32_t k = lk_mkeys(z, i)[t];

		e[i].key = k;
		e[i].x = (uint32_t)i;
		e[i].root = fi->root;
		e[i].v =
		    (uint32_t)fi->node | (uint32_t)(fi->sex >> 3) << 10 | (uint32_t)fi->pc << 12;
		for (d = 0; d < passes; d++)
			cnt[d][(k >> (d * db)) & m]++;
	}
	for (d = 0; d < passes; d++) {
		uint32_t sum = 0, c, n;

		for (c = 0; c <= m; c++) {
			n = cnt[d][c];
			cnt[d][c] = sum;
			sum += n;
		}
		for (i = 0; i < s; i++)
			tmp[cnt[d][(e[i].key >> (d * db)) & m]++] = e[i];
		sw = e;
		e = tmp;
		tmp = sw;
	}
	return e;
}

/* Whether two key rows agree in one of tables 0 .. t - 1 (two keys per 64-bit word). */
static int lk_meet_sw(const uint32_t *ka, const uint32_t *kb, size_t t)
{
	size_t u;

	for (u = 0; u + 1 < t; u += 2) {
		uint64_t x, y;

		memcpy(&x, ka + u, sizeof(x));
		memcpy(&y, kb + u, sizeof(y));
		x ^= y;
		/* a zero 32-bit half */
		if ((x - 0x0000000100000001ull) & ~x & 0x8000000080000000ull)
			return 1;
	}
	return u < t && ka[u] == kb[u];
}

/* lk_meet_sw, eight tables per compare; masked loads read no key beyond table t - 1. */
__attribute__((target("avx2"))) static int lk_meet_avx2(const uint32_t *ka, const uint32_t *kb,
							size_t t)
{
	size_t u;

	for (u = 0; u + 8 <= t; u += 8) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(ka + u));
		__m256i y = _mm256_loadu_si256((const __m256i *)(kb + u));

		if (_mm256_movemask_epi8(_mm256_cmpeq_epi32(x, y)))
			return 1;
	}
	if (u < t) {
		__m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(t - u)),
					       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
		__m256i x = _mm256_maskload_epi32((const int *)(ka + u), m);
		__m256i y = _mm256_maskload_epi32((const int *)(kb + u), m);

		return _mm256_movemask_epi8(_mm256_and_si256(_mm256_cmpeq_epi32(x, y), m)) != 0;
	}
	return 0;
}

/* lk_meet_sw, sixteen tables per compare (masked loads, as lk_meet_avx2). */
__attribute__((target("avx512f"))) static int lk_meet_avx512(const uint32_t *ka, const uint32_t *kb,
							     size_t t)
{
	size_t u;

	for (u = 0; u < t; u += 16) {
		__mmask16 m = t - u >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (t - u)) - 1);
		__m512i x = _mm512_maskz_loadu_epi32(m, ka + u);
		__m512i y = _mm512_maskz_loadu_epi32(m, kb + u);

		if (_mm512_mask_cmpeq_epi32_mask(m, x, y))
			return 1;
	}
	return 0;
}

#define LK_PF_AHEAD 8 /* entries ahead whose member records are prefetched */

/* Whether sorted entry k shares its key with a neighbour (is in a group of two or more). */
static int lk_tent_paired(const struct lk_tent *e, size_t s, size_t k)
{
	return (k > 0 && e[k - 1].key == e[k].key) || (k + 1 < s && e[k + 1].key == e[k].key);
}

/*
 * The pairs of one sorted table t of the table-major LSH block z->cur: every pair within a key
 * with a member on the new side, compared here only when its keys agree in no earlier table (the
 * first shared table: each pair once over all tables, whichever thread has which table). The
 * cheap vetoes read the two entries; the member records (filter, record, keys) of the next
 * groups are prefetched. One version per key-compare and popcount kernel.
 */
#define LK_TABLE_PAIRS(name, attr, meet, andpop)                                                   \
	attr static int name(struct lk_wk *wk, const struct lk_tent *e, size_t t)                  \
	{                                                                                          \
		const struct linker *l = wk->l;                                                    \
		const struct lk_fz *z = wk->z;                                                     \
		const uint16_t *cmin = z->cur->cmin;                                               \
		size_t s = z->cur->s, w = z->cur->w, ms = z->mstride, g0, g1, i, j, pf = 0, u;     \
		size_t lines = (LINKER_BLOOM_BYTES + 8 + t * sizeof(uint32_t) + 63) / 64;          \
		int rc;                                                                            \
                                                                                                   \
		for (g0 = 0; g0 < s; g0 = g1) {                                                    \
			for (g1 = g0 + 1; g1 < s && e[g1].key == e[g0].key; g1++)                  \
				;                                                                  \
			for (; pf < s && pf < g1 + LK_PF_AHEAD; pf++)                              \
				if (lk_tent_paired(e, s, pf)) {                                    \
					const char *m = (const char *)(z->mrec + e[pf].x * ms);    \
					for (u = 0; u < lines; u++)                                \
						__builtin_prefetch(m + 64 * u);                    \
				}                                                                  \
			for (i = g0; i + 1 < g1; i++) {                                            \
				const struct lk_tent *a = &e[i];                                   \
				const uint64_t *fa = z->mrec + a->x * ms;                          \
				unsigned pa = LK_TV_PC(a->v);                                      \
                                                                                                   \
				for (j = i + 1; j < g1; j++) {                                     \
					const struct lk_tent *b = &e[j];                           \
					const uint64_t *fb = z->mrec + b->x * ms;                  \
					unsigned pb = LK_TV_PC(b->v), sa, sb, cm;                  \
                                                                                                   \
					if ((a->x >= w && b->x >= w) ||                            \
					    LK_TV_NODE(a->v ^ b->v) == 0 || a->root == b->root ||  \
					    cmin[pa + pb] > (pa < pb ? pa : pb))                   \
						continue;                                          \
					if (meet((const uint32_t *)(fa + LK_WORDS + 1),            \
						 (const uint32_t *)(fb + LK_WORDS + 1), t))        \
						continue; /* compared in an earlier table */       \
					sa = LK_TV_SEX(a->v);                                      \
					sb = LK_TV_SEX(b->v);                                      \
					if ((sa && sb && sa != sb) ||                              \
					    (l->attrs && !lk_compatible(l, a->root, b->root))) {   \
						wk->stat[LINKER_STAT_ATTR_VETOED]++;               \
						continue;                                          \
					}                                                          \
					cm = andpop(fa, fb);                                       \
					wk->stat[LINKER_STAT_COMPARISONS]++;                       \
					if (cm < cmin[pa + pb])                                    \
						continue;                                          \
					rc = lk_fz_keep(wk, (uint32_t)fa[LK_WORDS],                \
							(uint32_t)fb[LK_WORDS],                    \
							2.0 * cm / (pa + pb));                     \
					if (rc)                                                    \
						return rc;                                         \
				}                                                                  \
			}                                                                          \
		}                                                                                  \
		return 0;                                                                          \
	}

LK_TABLE_PAIRS(lk_table_pairs_sw, , lk_meet_sw, z->andpop)
LK_TABLE_PAIRS(lk_table_pairs_avx2, __attribute__((target("avx2,popcnt"))), lk_meet_avx2,
	       lk_andpop_hw)
LK_TABLE_PAIRS(lk_table_pairs_avx512, __attribute__((target("avx512f,avx512vpopcntdq"))),
	       lk_meet_avx512, lk_andpop_avx512)

/* One table t of the table-major LSH block z->cur (lk_table_sorted, then z->tpairs). */
static int lk_lsh_table(struct lk_wk *wk, size_t t)
{
	int rc = lk_tent_reserve(wk, wk->z->cur->s);

	if (rc)
		return rc;
	return wk->z->tpairs(wk, lk_table_sorted(wk, t), t);
}

/* A thread's loop: whole all-pairs blocks, or chunks of the current LSH block's probes. */
static void *lk_work(void *arg)
{
	struct lk_wk *wk = arg;
	struct lk_fz *z = wk->z;

	while (wk->rc == 0 && !atomic_load_explicit(&z->failed, memory_order_relaxed)) {
		size_t i = atomic_fetch_add_explicit(&z->next, 1, memory_order_relaxed);

		if (z->phase == 0) {
			if (i >= z->nblk)
				break;
			if (!z->blk[i].lsh)
				wk->rc = lk_block_all(wk, &z->blk[i]);
		} else if (z->phase == 2) {
			if (i >= z->tables)
				break;
			wk->rc = lk_lsh_table(wk, i);
		} else {
			size_t lo = i * LK_PROBE_CHUNK;

			if (i > z->cur->s / LK_PROBE_CHUNK || lo >= z->cur->s)
				break;
			wk->rc = lk_lsh_probe(wk, lo,
					      z->cur->s - lo > LK_PROBE_CHUNK ? lo + LK_PROBE_CHUNK
									      : z->cur->s);
		}
		if (wk->rc)
			atomic_store(&z->failed, 1);
	}
	return NULL;
}

/* Runs lk_work on nw threads (this one included; fewer when a thread cannot start). */
static int lk_run(struct lk_fz *z, struct lk_wk *wks, unsigned nw)
{
	pthread_t th[LINKER_MAX_THREADS];
	int started[LINKER_MAX_THREADS] = {0};
	unsigned t;
	int rc = 0;

	atomic_store(&z->next, 0);
	for (t = 1; t < nw; t++)
		started[t] = pthread_create(&th[t], NULL, lk_work, &wks[t]) == 0;
	lk_work(&wks[0]);
	for (t = 1; t < nw; t++)
		if (started[t])
			pthread_join(th[t], NULL);
	for (t = 0; t < nw; t++)
		if (wks[t].rc && !rc)
			rc = wks[t].rc;
	return rc;
}

/* Appends list src to dst and empties src. */
static int lk_pairs_move(struct lk_pairs *dst, struct lk_pairs *src)
{
	size_t need;
	int rc;

	if (!src->n)
		return 0;
	if (__builtin_add_overflow(dst->n, src->n, &need))
		return CL_EOVERFLOW;
	rc = grow_array((void **)&dst->v, &dst->cap, need, sizeof(*dst->v));
	if (rc)
		return rc;
	memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n = need;
	free(src->v);
	src->v = NULL;
	src->n = src->cap = 0;
	return 0;
}

struct lk_bkey {
	uint64_t year, date;
	uint32_t f;
};

static int lk_cmp_bkey(const void *x, const void *y)
{
	const struct lk_bkey *a = x, *b = y;

	if (a->year != b->year)
		return a->year < b->year ? -1 : 1;
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->f < b->f ? -1 : a->f > b->f;
}

/*
 * The blocks, from the clusters' birth years and dates after the id joins (two records whose
 * clusters hold different years or different dates are never a pair): with the filters ordered
 * by (year, date), U = the filters of clusters without a year, B(Y) those of year Y, B(Y, D)
 * those of full date D, B(Y, 0) those of year Y without a date. Pass 1 compares all pairs within
 * each B(Y, D); pass 2 the pairs of B(Y) with a member in B(Y, 0), and every pair with a member
 * in U. Without derived tokens everything is in U: all pairs, as before. Writes the sorted keys
 * and the filter indexes in that order.
 */
static int lk_blocks_order(struct linker *l, const uint32_t *root, struct lk_bkey **keys,
			   uint32_t **order)
{
	struct lk_bkey *k = NULL;
	uint32_t *o = NULL;
	size_t i;

	k = malloc((l->nb ? l->nb : 1) * sizeof(*k));
	o = malloc((l->nb ? l->nb : 1) * sizeof(*o));
	if (!k || !o) {
		free(k);
		free(o);
		return CL_ENOMEM;
	}
	for (i = 0; i < l->nb; i++) {
		uint32_t r = root[l->bowner[i]];

		k[i].year = l->cattr[r].year;
		k[i].date = k[i].year ? l->cattr[r].date : 0;
		k[i].f = (uint32_t)i;
	}
	qsort(k, l->nb, sizeof(*k), lk_cmp_bkey);
	for (i = 0; i < l->nb; i++)
		o[i] = k[i].f;
	*keys = k;
	*order = o;
	return 0;
}

/* Adds one block of a pass to the list, unless it has no pair to compare. */
static int lk_blk_add(struct linker *l, struct lk_fz *z, struct lk_blk **v, size_t *n, size_t *cap,
		      size_t off, size_t s, size_t w, int weak)
{
	const uint16_t *cmin = z->cmin;
	uint64_t pairs;
	int rc;

	if (s < 2 || w == 0)
		return 0;
	if (weak && l->attrs) {
		if (l->weak > 1.0)
			return 0; /* no link without date evidence */
		cmin = z->cminw;
	}
	rc = grow_array((void **)v, cap, *n + 1, sizeof(**v));
	if (rc)
		return rc;
	l->stat[LINKER_STAT_BLOCKS]++;
	pairs = (uint64_t)w * (s - w) + (uint64_t)w * (w - 1) / 2;
	(*v)[*n].off = off;
	(*v)[*n].s = s;
	(*v)[*n].w = w;
	(*v)[*n].cmin = cmin;
	(*v)[*n].weak = weak && l->attrs;
	(*v)[*n].lsh = (l->mode == LINKER_BLOCK_AUTO && pairs > LK_AUTO_PAIRS) ||
		       (l->mode == LINKER_BLOCK_LSH && pairs > LK_LSH_MIN_PAIRS);
	(*v)[*n].tmajor = (*v)[*n].lsh && w >= s / 4;
	(*n)++;
	return 0;
}

/*
 * Runs pass 1 or 2 of the blocks (lk_blocks_order) on the threads wks[0..nw): the all-pairs
 * blocks shared out whole, then each LSH block indexed here and its probes shared out; then the
 * threads' pairs and counters are merged.
 */
static int lk_blocks_pass(struct linker *l, struct lk_fz *z, struct lk_wk *wks, unsigned nw,
			  const struct lk_bkey *k, int pass)
{
	struct lk_blk *blk = NULL;
	size_t nb = l->nb, u = 0, ys, ye, ds, de, n = 0, cap = 0, i, j;
	unsigned t;
	int rc = 0;

	while (u < nb && !k[u].year)
		u++;
	if (pass == 2 && u)
		rc = lk_blk_add(l, z, &blk, &n, &cap, 0, nb, u, 1);
	for (ys = u; rc == 0 && ys < nb; ys = ye) {
		for (ye = ys + 1; ye < nb && k[ye].year == k[ys].year; ye++)
			;
		for (ds = ys; ds < ye && !k[ds].date; ds++)
			;
		if (pass == 2) {
			rc = lk_blk_add(l, z, &blk, &n, &cap, ys, ye - ys, ds - ys, 0);
			continue;
		}
		for (; rc == 0 && ds < ye; ds = de) {
			for (de = ds + 1; de < ye && k[de].date == k[ds].date; de++)
				;
			rc = lk_blk_add(l, z, &blk, &n, &cap, ds, de - ds, de - ds, 0);
		}
	}
	if (rc)
		goto out;
	atomic_store(&z->npairs[0], z->strong->n);
	atomic_store(&z->npairs[1], z->weak->n);
	atomic_store(&z->failed, 0);
	z->blk = blk;
	z->nblk = n;
	z->phase = 0;
	rc = lk_run(z, wks, nw);
	for (i = 0; rc == 0 && i < n; i++) {
		if (!blk[i].lsh)
			continue;
		if (blk[i].tmajor) {
			rc = lk_lsh_rows(l, z, &blk[i]);
			if (rc == 0) {
				z->phase = 2;
				rc = lk_run(z, wks, nw);
			}
			lk_lsh_done(z);
			continue;
		}
		rc = lk_lsh_index(l, z, &blk[i]);
		for (t = 0; rc == 0 && t < nw; t++)
			if (wks[t].scap < blk[i].w) {
				free(wks[t].stamp);
				wks[t].scap = 0;
				wks[t].stamp = calloc(blk[i].w, sizeof(*wks[t].stamp));
				if (!wks[t].stamp)
					rc = CL_ENOMEM;
				else
					wks[t].scap = blk[i].w;
			}
		if (rc == 0) {
			z->phase = 1;
			rc = lk_run(z, wks, nw);
		}
		lk_lsh_done(z);
	}
	for (t = 0; t < nw; t++) {
		if (rc == 0)
			rc = lk_pairs_move(z->strong, &wks[t].out[0]);
		if (rc == 0)
			rc = lk_pairs_move(z->weak, &wks[t].out[1]);
		for (j = 0; j < LINKER_STAT_MAX; j++) {
			l->stat[j] += wks[t].stat[j];
			wks[t].stat[j] = 0;
		}
	}
out:
	z->blk = NULL;
	z->nblk = 0;
	free(blk);
	return rc;
}

/* The pair's score as an unsigned key that orders like the float (no NaN). */
static uint32_t lk_score_key(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u & 0x80000000u ? ~u : u | 0x80000000u;
}

/* 16 bits of a pair's sort key: b, a, then the score descending (lk_sort_pairs). */
static uint32_t lk_pair_digit(const struct lk_pair *p, unsigned d)
{
	uint32_t v = d < 2 ? p->b : d < 4 ? p->a : ~lk_score_key(p->score);

	return (v >> (16 * (d & 1))) & 0xffff;
}

/*
 * Sorts pairs by score descending, then a, then b: an LSD radix sort over 16-bit digits, skipping
 * digits every pair shares (it replaced a qsort with that comparison: equal keys are equal pairs,
 * so the order is the same).
 */
static int lk_sort_pairs(struct lk_pairs *p)
{
	struct lk_pair *tmp = NULL, *src = p->v, *dst;
	uint32_t *cnt = NULL;
	size_t i, n = p->n;
	unsigned d;
	int rc = 0;

	if (n < 2)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	cnt = malloc(65536 * sizeof(*cnt));
	if (!tmp || !cnt) {
		rc = CL_ENOMEM;
		goto out;
	}
	dst = tmp;
	for (d = 0; d < 6; d++) {
		uint32_t first = lk_pair_digit(&src[0], d), sum = 0, c;
		int same = 1;

		memset(cnt, 0, 65536 * sizeof(*cnt));
		for (i = 0; i < n; i++) {
			uint32_t g = lk_pair_digit(&src[i], d);

			cnt[g]++;
			same &= g == first;
		}
		if (same)
			continue;
		for (c = 0; c < 65536; c++) {
			uint32_t k = cnt[c];

			cnt[c] = sum;
			sum += k;
		}
		for (i = 0; i < n; i++)
			dst[cnt[lk_pair_digit(&src[i], d)]++] = src[i];
		dst = src;
		src = src == p->v ? tmp : p->v;
	}
	if (src != p->v)
		memcpy(p->v, src, n * sizeof(*src));
out:
	free(tmp);
	free(cnt);
	return rc;
}

/* Whether roots a and b (a != b) may merge: no common node, no two ids, compatible attributes. */
static int lk_mergeable(const struct linker *l, uint32_t a, uint32_t b)
{
	size_t k;

	for (k = 0; k < l->mwords; k++)
		if (l->mask[a * l->mwords + k] & l->mask[b * l->mwords + k])
			return 0;
	if (l->cid[a] != LK_NONE && l->cid[b] != LK_NONE &&
	    memcmp(lk_id(l, l->cid[a]), lk_id(l, l->cid[b]), LINKER_TOKEN_LEN) != 0)
		return 0;
	return lk_compatible(l, a, b);
}

/* Whether records a and b both have filters that score below the threshold. */
static int lk_dissimilar(const struct linker *l, uint32_t a, uint32_t b, const uint16_t *cmin,
			 lk_andpop_fn andpop)
{
	const uint64_t *wa, *wb;

	if (l->recs[a].bloom == LK_NONE || l->recs[b].bloom == LK_NONE)
		return 0;
	wa = l->blooms + (size_t)l->recs[a].bloom * LK_WORDS;
	wb = l->blooms + (size_t)l->recs[b].bloom * LK_WORDS;
	return andpop(wa, wb) < cmin[lk_popcount(wa) + lk_popcount(wb)];
}

/*
 * Weak pairs (tiers below LK_TIER_DATE: no family name, or a birth date known by year only or
 * unknown) are taken only for a record whose candidate clusters within LK_AMBIG_EPS of its best
 * one could all be one person (mergeable, and the candidate records' filters alike): a record
 * "anna ozola, date unknown" next to two different persons of that name links to neither.
 * Marks such records in amb; clusters as after the strong pairs.
 */
static int lk_weak_ambiguity(struct linker *l, const struct lk_pairs *pairs, size_t p0,
			     const uint16_t *cmin, lk_andpop_fn andpop, unsigned char *amb)
{
	float *best = NULL;
	uint32_t *broot = NULL, *brec = NULL;
	size_t p;
	int rc = 0;

	best = malloc((l->n ? l->n : 1) * sizeof(*best));
	broot = malloc((l->n ? l->n : 1) * sizeof(*broot));
	brec = malloc((l->n ? l->n : 1) * sizeof(*brec));
	if (!best || !broot || !brec) {
		rc = CL_ENOMEM;
		goto out;
	}
	for (p = 0; p < l->n; p++)
		broot[p] = LK_NONE;
	for (p = p0; p < pairs->n; p++) {
		uint32_t e[2] = {pairs->v[p].a, pairs->v[p].b};
		uint32_t r[2] = {lk_find(l->parent, e[0]), lk_find(l->parent, e[1])};
		int s;

		if (r[0] == r[1] || !lk_mergeable(l, r[0], r[1]))
			continue;
		for (s = 0; s < 2; s++) {
			uint32_t x = e[s], c = r[1 - s];

			if (broot[x] == LK_NONE) {
				broot[x] = c; /* pairs are in descending order: the best */
				brec[x] = e[1 - s];
				best[x] = pairs->v[p].score;
			} else if (c != broot[x] && pairs->v[p].score >= best[x] - LK_AMBIG_EPS &&
				   (!lk_mergeable(l, c, broot[x]) ||
				    lk_dissimilar(l, brec[x], e[1 - s], cmin, andpop))) {
				amb[x] = 1;
			}
		}
	}
out:
	free(best);
	free(broot);
	free(brec);
	return rc;
}

/*
 * Greedy merging of one list by descending score under the one-record-per-node, id and
 * attribute constraints; for the weak list (tiers below LK_TIER_DATE, taken after every strong
 * pair), not for ambiguous records. The list is emptied.
 */
static int lk_greedy(struct linker *l, struct lk_pairs *pairs, int weak, const uint16_t *cmin,
		     lk_andpop_fn andpop)
{
	unsigned char *amb = NULL;
	size_t p;
	int rc = 0;

	rc = lk_sort_pairs(pairs);
	if (rc)
		goto out;
	for (p = 0; p < pairs->n; p++) {
		uint32_t a, b;

		if (weak && l->attrs && !amb && pairs->v[p].score < LK_TIER_DATE) {
			amb = calloc(l->n ? l->n : 1, 1);
			if (!amb) {
				rc = CL_ENOMEM;
				goto out;
			}
			rc = lk_weak_ambiguity(l, pairs, p, cmin, andpop, amb);
			if (rc)
				goto out;
		}

		if (amb && (amb[pairs->v[p].a] || amb[pairs->v[p].b])) {
			l->stat[LINKER_STAT_AMBIGUOUS]++;
			continue;
		}
		a = lk_find(l->parent, pairs->v[p].a);
		b = lk_find(l->parent, pairs->v[p].b);
		if (a == b)
			continue;
		if (!lk_mergeable(l, a, b)) {
			l->stat[LINKER_STAT_FUZZY_REFUSED]++;
			continue;
		}
		lk_unite(l, a, b);
		l->stat[pairs->v[p].score >= LK_TIER_DEMO ? LINKER_STAT_DEMO_LINKS
							  : LINKER_STAT_FUZZY_LINKS]++;
	}
out:
	free(amb);
	free(pairs->v);
	pairs->v = NULL;
	pairs->n = pairs->cap = 0;
	return rc;
}

/*
 * The fuzzy step and the greedy merging in two passes, so that the candidate pairs never exist
 * all at once: pass 1 collects the demo pairs and the filter pairs within full-date blocks and
 * merges the strong ones (their weaker pairs wait); pass 2, on the clusters pass 1 made, adds the
 * given-name-and-date pairs and the pairs with a member of unknown date or year, then takes the
 * weak pairs under the ambiguity rule.
 */
static int lk_link(struct linker *l, uint32_t *root, const uint16_t *cmin, lk_scan_fn scan,
		   lk_andpop_fn andpop)
{
	struct lk_pairs strong = {0}, weak = {0};
	uint16_t cminw[2 * 8 * LINKER_BLOOM_BYTES + 1];
	struct lk_fz z;
	struct lk_wk *wks = NULL;
	struct lk_bkey *keys = NULL;
	uint32_t *order = NULL;
	size_t i, nb = l->nb;
	unsigned t, nw = l->threads ? l->threads : 1;
	int rc, j;

	memset(&z, 0, sizeof(z));
	z.root = root;
	z.cmin = cmin;
	lk_cmin(l->weak > 1.0 ? 1.0 : l->weak, cminw);
	z.cminw = cminw;
	z.scan = scan;
	z.andpop = andpop;
	__builtin_cpu_init();
	z.keys = __builtin_cpu_supports("bmi2") ? lk_keys_bmi2 : lk_keys_sw;
	if (andpop == lk_andpop_avx512)
		z.tpairs = lk_table_pairs_avx512;
	else if (andpop == lk_andpop_hw && __builtin_cpu_supports("avx2"))
		z.tpairs = lk_table_pairs_avx2;
	else
		z.tpairs = lk_table_pairs_sw;
	z.strong = &strong;
	z.weak = &weak;
	z.pc = malloc((nb ? nb : 1) * sizeof(*z.pc));
	z.fnode = malloc((nb ? nb : 1) * sizeof(*z.fnode));
	wks = calloc(nw, sizeof(*wks));
	if (!z.pc || !z.fnode || !wks) {
		rc = CL_ENOMEM;
		goto out;
	}
	for (t = 0; t < nw; t++) {
		wks[t].l = l;
		wks[t].z = &z;
		wks[t].hits = malloc(LK_CHUNK * sizeof(*wks[t].hits));
		wks[t].hitc = malloc(LK_CHUNK * sizeof(*wks[t].hitc));
		if (!wks[t].hits || !wks[t].hitc) {
			rc = CL_ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < nb; i++) {
		z.pc[i] = (uint16_t)lk_popcount(l->blooms + i * LK_WORDS);
		z.fnode[i] = l->recs[l->bowner[i]].node;
	}
	rc = lk_blocks_order(l, root, &keys, &order);
	z.order = order;
	if (rc == 0)
		rc = lk_exact_demos(l, root, cmin, andpop, &strong);
	if (rc == 0)
		rc = lk_blocks_pass(l, &z, wks, nw, keys, 1);
	if (rc == 0)
		rc = lk_greedy(l, &strong, 0, cmin, andpop);
	if (rc)
		goto out;
	/* pass 2 sees the clusters of pass 1; whatever it finds waits for the weak list */
	z.strong = &weak;
	for (i = 0; i < l->n; i++)
		root[i] = lk_find(l->parent, (uint32_t)i);
	rc = lk_given_date(l, root, andpop, &weak);
	if (rc == 0)
		rc = lk_blocks_pass(l, &z, wks, nw, keys, 2);
	free(keys);
	keys = NULL;
	free(order);
	order = NULL;
	z.order = NULL;
	if (rc == 0)
		rc = lk_greedy(l, &weak, 1, cmin, andpop);
out:
	free(strong.v);
	free(weak.v);
	free(keys);
	free(order);
	free(z.pc);
	free(z.fnode);
	for (t = 0; wks && t < nw; t++) {
		free(wks[t].out[0].v);
		free(wks[t].out[1].v);
		free(wks[t].hits);
		free(wks[t].hitc);
		free(wks[t].stamp);
		for (j = 0; j < 2; j++) {
			if (wks[t].te[j])
				OPENSSL_cleanse(wks[t].te[j], wks[t].tecap * sizeof(*wks[t].te[j]));
			free(wks[t].te[j]);
		}
		if (wks[t].F)
			OPENSSL_cleanse(wks[t].F, wks[t].fcap * LK_WORDS * sizeof(*wks[t].F));
		free(wks[t].F);
		free(wks[t].bpc);
	}
	free(wks);
	lk_lsh_done(&z);
	free(z.pos);
	free(z.plan);
	free(z.finfo);
	return rc;
}

int linker_run(struct linker *l)
{
	uint16_t cmin[2 * 8 * LINKER_BLOOM_BYTES + 1];
	uint32_t *root0 = NULL, next = 0;
	lk_scan_fn scan;
	lk_andpop_fn andpop;
	size_t i, n;
	int rc = 0;

	if (!l || l->ran)
		return CL_EINVAL;
	l->ran = 1;
	n = l->n;
	memset(l->stat, 0, sizeof(l->stat));
	l->mwords = ((size_t)l->maxnode + 64) / 64;
	l->parent = malloc((n ? n : 1) * sizeof(*l->parent));
	l->cluster = malloc((n ? n : 1) * sizeof(*l->cluster));
	l->cid = malloc((n ? n : 1) * sizeof(*l->cid));
	l->mask = calloc((n ? n : 1) * l->mwords, sizeof(*l->mask));
	root0 = malloc((n ? n : 1) * sizeof(*root0));
	l->cattr = calloc(n ? n : 1, sizeof(*l->cattr));
	l->csex = calloc(n ? n : 1, 1);
	if (!l->parent || !l->cluster || !l->cid || !l->mask || !root0 || !l->cattr || !l->csex) {
		rc = CL_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		l->parent[i] = (uint32_t)i;
		l->cid[i] = (l->recs[i].flags & LK_HAS_ID) ? (uint32_t)i : LK_NONE;
		if (l->attrs)
			l->cattr[i] = l->attrs[i];
		l->csex[i] = l->recs[i].flags & (LK_SEX_M | LK_SEX_F);
		l->mask[i * l->mwords + l->recs[i].node / 64] |= (uint64_t)1
								 << (l->recs[i].node % 64);
	}
	lk_kernels(&scan, &andpop);
	lk_cmin(l->threshold, cmin);
	if (!(l->weak > 0.0))
		l->weak = l->threshold + LK_WEAK_MARGIN > 1.0 ? 1.0 : l->threshold + LK_WEAK_MARGIN;
	rc = lk_exact_ids(l);
	if (rc)
		goto out;
	for (i = 0; i < n; i++)
		root0[i] = lk_find(l->parent, (uint32_t)i);
	rc = lk_link(l, root0, cmin, scan, andpop);
	if (rc)
		goto out;

	/* dense cluster ids in order of first record */
	for (i = 0; i < n; i++)
		root0[i] = LK_NONE;
	for (i = 0; i < n; i++) {
		uint32_t r = lk_find(l->parent, (uint32_t)i);

		if (root0[r] == LK_NONE)
			root0[r] = next++;
		l->cluster[i] = root0[r];
	}
	l->stat[LINKER_STAT_CLUSTERS] = next;
out:
	free(root0);
	if (rc) {
		free(l->cluster);
		l->cluster = NULL;
	}
	return rc;
}

size_t linker_count(const struct linker *l)
{
	return l ? l->n : 0;
}

int linker_cluster(const struct linker *l, size_t i, uint32_t *cluster)
{
	if (!l || !cluster || i >= l->n || !l->ran || !l->cluster)
		return CL_EINVAL;
	*cluster = l->cluster[i];
	return 0;
}

int linker_handle(const struct linker *l, size_t i, const unsigned char **handle, size_t *len)
{
	if (!l || !handle || !len || i >= l->n)
		return CL_EINVAL;
	*handle = l->handles + l->recs[i].hoff;
	*len = l->recs[i].hlen;
	return 0;
}

int linker_record_node(const struct linker *l, size_t i, uint32_t *node, uint32_t *agency_type)
{
	if (!l || !node || !agency_type || i >= l->n)
		return CL_EINVAL;
	*node = l->recs[i].node;
	*agency_type = l->recs[i].atype;
	return 0;
}

uint64_t linker_stat(const struct linker *l, int which)
{
	if (!l || which < 0 || which >= LINKER_STAT_MAX)
		return 0;
	return l->stat[which];
}

int linker_dice(const unsigned char a[LINKER_BLOOM_BYTES],
		const unsigned char b[LINKER_BLOOM_BYTES], double *dice)
{
	uint64_t wa[LK_WORDS], wb[LK_WORDS];
	lk_scan_fn scan;
	lk_andpop_fn andpop;
	unsigned pa, pb;

	if (!a || !b || !dice)
		return CL_EINVAL;
	lk_kernels(&scan, &andpop);
	lk_load(a, wa);
	lk_load(b, wb);
	pa = lk_popcount(wa);
	pb = lk_popcount(wb);
	*dice = pa + pb ? 2.0 * andpop(wa, wb) / (pa + pb) : 1.0;
	return 0;
}

int linker_scan(int kernel, const unsigned char a[LINKER_BLOOM_BYTES], const unsigned char *base,
		size_t n, unsigned rounds, double threshold, size_t *hits)
{
	uint16_t cmin[2 * 8 * LINKER_BLOOM_BYTES + 1], *pc = NULL, *hitc = NULL;
	uint32_t *hitv = NULL;
	uint64_t wa[LK_WORDS], *F = NULL;
	lk_scan_fn scan;
	lk_andpop_fn andpop;
	size_t i, total = 0;
	unsigned r;
	int rc = 0;

	if (!a || (!base && n) || !hits || !rounds || !(threshold > 0.0 && threshold <= 1.0))
		return CL_EINVAL;
	if (n > SIZE_MAX / LINKER_BLOOM_BYTES)
		return CL_EOVERFLOW;
	F = malloc((n ? n : 1) * LINKER_BLOOM_BYTES);
	pc = malloc((n ? n : 1) * sizeof(*pc));
	hitv = malloc(LK_CHUNK * sizeof(*hitv));
	hitc = malloc(LK_CHUNK * sizeof(*hitc));
	if (!F || !pc || !hitv || !hitc) {
		rc = CL_ENOMEM;
		goto out;
	}
	lk_kernels(&scan, &andpop);
	__builtin_cpu_init();
	if (kernel == LINKER_KERNEL_PORTABLE) {
		scan = lk_scan_sw;
	} else if (kernel == LINKER_KERNEL_POPCNT) {
		if (!__builtin_cpu_supports("popcnt")) {
			rc = CL_EUNSUPPORTED;
			goto out;
		}
		scan = lk_scan_hw;
	} else if (kernel == LINKER_KERNEL_AVX2) {
		if (!__builtin_cpu_supports("avx2")) {
			rc = CL_EUNSUPPORTED;
			goto out;
		}
		scan = lk_scan_avx2;
	} else if (kernel == LINKER_KERNEL_AVX512) {
		if (!__builtin_cpu_supports("avx512f") ||
		    !__builtin_cpu_supports("avx512vpopcntdq")) {
			rc = CL_EUNSUPPORTED;
			goto out;
		}
		scan = lk_scan_avx512;
	} else if (kernel != LINKER_KERNEL_AUTO) {
		rc = CL_EINVAL;
		goto out;
	}
	lk_cmin(threshold, cmin);
	lk_load(a, wa);
	for (i = 0; i < n; i++) {
		lk_load(base + i * LINKER_BLOOM_BYTES, F + i * LK_WORDS);
		pc[i] = (uint16_t)lk_popcount(F + i * LK_WORDS);
	}
	for (r = 0; r < rounds; r++) {
		total = 0;
		for (i = 0; i < n; i += LK_CHUNK)
			total += scan(wa, lk_popcount(wa), F, pc, i,
				      i + LK_CHUNK < n ? i + LK_CHUNK : n, cmin, hitv, hitc);
	}
	*hits = total;
out:
	free(F);
	free(pc);
	free(hitv);
	free(hitc);
	return rc;
}
