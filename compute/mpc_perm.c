/*
 * mpc_perm — secret shuffle and layout by a permutation known to party 0 (mpc_perm.h).
 */
#include "compute/mpc_perm.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "compute/mpc_circuit.h"

#define DRAW_WORDS 1024 /* 32-bit stream words drawn at once for Fisher–Yates */

/* A party's part in the pass of pair (a, a + 1): first, second, or the third (idle). */
enum { ROLE_A, ROLE_B, ROLE_C };

/* One column's shares as words; xor for boolean columns. */
struct col {
	uint64_t *s0, *s1;
	int xor ;
};

/* A buffered reader of 32-bit words from one of the party's streams. */
struct draw {
	struct mpc_party *p;
	int which;
	size_t pos;
	uint32_t buf[DRAW_WORDS];
};

static unsigned role_in(const struct mpc_party *p, unsigned a)
{
	return (mpc_party_self(p) + MPC_PARTIES - a) % MPC_PARTIES;
}

static uint64_t *words_alloc(size_t n)
{
	return malloc(n ? n * sizeof(uint64_t) : 1); /* n <= MPC_MAX_ELEMENTS: no overflow */
}

static void words_free(uint64_t *w, size_t n)
{
	if (w != NULL)
		OPENSSL_cleanse(w, n * sizeof(uint64_t));
	free(w);
}

static uint32_t *perm_alloc(size_t n)
{
	return malloc(n ? n * sizeof(uint32_t) : 1);
}

static void perm_free(uint32_t *s, size_t n)
{
	if (s != NULL)
		OPENSSL_cleanse(s, n * sizeof(uint32_t));
	free(s);
}

static int draw_word(struct draw *d, uint32_t *out)
{
	if (d->pos == DRAW_WORDS) {
		int rc = mpc_party_stream(d->p, d->which, d->buf, sizeof(d->buf));

		if (rc != 0)
			return rc;
		d->pos = 0;
	}
	*out = d->buf[d->pos++];
	return 0;
}

/*
 * A uniform value below bound (1 .. 2^32 - 1) by multiply-and-reject (Lemire 2019): the
 * high half of x·bound is uniform once the low halves below 2^32 mod bound are rejected.
 */
static int draw_below(struct draw *d, uint32_t bound, uint32_t *out)
{
	uint32_t floor = (uint32_t)(0u - bound) % bound, x;
	uint64_t m;

	do {
		int rc = draw_word(d, &x);

		if (rc != 0)
			return rc;
		m = (uint64_t)x * bound;
	} while ((uint32_t)m < floor);
	*out = (uint32_t)(m >> 32);
	return 0;
}

/* Fisher–Yates: a uniformly random permutation of n from stream `which`. */
static int perm_draw(struct mpc_party *p, int which, uint32_t *s, size_t n)
{
	struct draw *d = malloc(sizeof(*d));
	int rc = 0;

	if (d == NULL)
		return CL_ENOMEM;
	d->p = p;
	d->which = which;
	d->pos = DRAW_WORDS;
	for (size_t k = 0; k < n; k++)
		s[k] = (uint32_t)k;
	for (size_t i = n; i > 1 && rc == 0; i--) {
		uint32_t j = 0, v;

		rc = draw_below(d, (uint32_t)i, &j);
		v = s[i - 1];
		s[i - 1] = s[j];
		s[j] = v;
	}
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
	return rc;
}

/*
 * Checks that pi holds n distinct values below m. When free_out is not NULL, also writes
 * the m - n values no k maps to, ascending (the padding rows' destinations).
 */
static int perm_check(const uint32_t *pi, size_t n, size_t m, uint32_t *free_out)
{
	size_t words = (m + 63) / 64, f = 0;
	uint64_t *seen = calloc(words ? words : 1, sizeof(uint64_t));
	int rc = 0;

	if (seen == NULL)
		return CL_ENOMEM;
	for (size_t k = 0; k < n && rc == 0; k++) {
		uint64_t bit = 1ull << (pi[k] % 64);

		if (pi[k] >= m || (seen[pi[k] / 64] & bit) != 0)
			rc = CL_EINVAL;
		else
			seen[pi[k] / 64] |= bit;
	}
	for (size_t j = 0; j < m && rc == 0 && free_out != NULL; j++)
		if ((seen[j / 64] >> (j % 64) & 1) == 0)
			free_out[f++] = (uint32_t)j;
	OPENSSL_cleanse(seen, words * sizeof(uint64_t));
	free(seen);
	return rc;
}

int mpc_perm_rows(const struct mpc_table *t, size_t *n)
{
	size_t rows;

	if (t == NULL || n == NULL || t->na + t->nb == 0 || (t->na > 0 && t->a == NULL) ||
	    (t->nb > 0 && t->b == NULL))
		return CL_EINVAL;
	rows = t->na > 0 ? t->a[0].n : t->b[0].w;
	for (size_t j = 0; j < t->na; j++)
		if (t->a[j].n != rows || (rows > 0 && (t->a[j].s0 == NULL || t->a[j].s1 == NULL)))
			return CL_EINVAL;
	for (size_t j = 0; j < t->nb; j++)
		if (t->b[j].w != rows || (rows > 0 && (t->b[j].s0 == NULL || t->b[j].s1 == NULL)))
			return CL_EINVAL;
	if (rows > MPC_MAX_ELEMENTS)
		return CL_ELIMIT;
	*n = rows;
	return 0;
}

static struct col col_at(const struct mpc_table *t, size_t j)
{
	if (j < t->na)
		return (struct col){.s0 = t->a[j].s0, .s1 = t->a[j].s1, .xor = 0};
	j -= t->na;
	return (struct col){.s0 = t->b[j].s0, .s1 = t->b[j].s1, .xor = 1};
}

static void work_free(struct mpc_table *w)
{
	for (size_t j = 0; w->a != NULL && j < w->na; j++)
		mpc_a_free(&w->a[j]);
	for (size_t j = 0; w->b != NULL && j < w->nb; j++)
		mpc_b_free(&w->b[j]);
	free(w->a);
	free(w->b);
	memset(w, 0, sizeof(*w));
}

/* A copy of t's n rows in new columns of m >= n rows, the rows past n shares of zero. */
static int work_new(const struct mpc_table *t, size_t n, size_t m, struct mpc_table *w)
{
	int rc = 0;

	memset(w, 0, sizeof(*w));
	w->a = calloc(t->na ? t->na : 1, sizeof(*w->a));
	w->b = calloc(t->nb ? t->nb : 1, sizeof(*w->b));
	if (w->a == NULL || w->b == NULL)
		rc = CL_ENOMEM;
	w->na = t->na;
	w->nb = t->nb;
	for (size_t j = 0; j < t->na && rc == 0; j++)
		rc = mpc_a_alloc(&w->a[j], m);
	for (size_t j = 0; j < t->nb && rc == 0; j++)
		rc = mpc_b_alloc(&w->b[j], m);
	for (size_t j = 0; j < t->na + t->nb && rc == 0; j++) {
		struct col src = col_at(t, j), dst = col_at(w, j);

		memcpy(dst.s0, src.s0, n * sizeof(uint64_t));
		memcpy(dst.s1, src.s1, n * sizeof(uint64_t));
	}
	if (rc != 0)
		work_free(w);
	return rc;
}

/* Replaces t's columns by w's (the old ones wiped and freed); w is consumed. */
static void work_commit(struct mpc_table *t, struct mpc_table *w)
{
	for (size_t j = 0; j < t->na; j++) {
		mpc_a_free(&t->a[j]);
		t->a[j] = w->a[j];
	}
	for (size_t j = 0; j < t->nb; j++) {
		mpc_b_free(&t->b[j]);
		t->b[j] = w->b[j];
	}
	free(w->a);
	free(w->b);
	memset(w, 0, sizeof(*w));
}

/* dst = x - y (or x ^ y) over n words. */
static void mask(uint64_t *dst, const uint64_t *x, const uint64_t *y, size_t n, int xor)
{
	for (size_t k = 0; k < n; k++)
		dst[k] = xor? x[k] ^ y[k] : x[k] - y[k];
}

/*
 * The sending half of a pass for one column (see mpc_perm.h): a draws y_a into s0 and
 * sends A = s(u) - y_a, kept in s1; b draws y_{a+2} into s1 and sends B = s(v) - y_{a+2},
 * kept in s0; c draws y_{a+2} and y_a. tmp: n words of scratch.
 */
static int pass_send(struct mpc_party *p, unsigned role, const uint32_t *s, struct col c, size_t n,
		     uint64_t *tmp)
{
	struct mpc_net *net = mpc_party_net(p);
	unsigned self = mpc_party_self(p);
	int rc;

	if (role == ROLE_C) {
		rc = mpc_party_stream(p, 0, c.s0, n * 8);
		return rc != 0 ? rc : mpc_party_stream(p, 1, c.s1, n * 8);
	}
	if (role == ROLE_A) {
		for (size_t k = 0; k < n; k++)
			tmp[s[k]] = c.xor ? c.s0[k] ^ c.s1[k] : c.s0[k] + c.s1[k];
		rc = mpc_party_stream(p, 0, c.s0, n * 8);
		mask(c.s1, tmp, c.s0, n, c.xor);
		return rc != 0 ? rc : mpc_net_send(net, (self + 1) % MPC_PARTIES, c.s1, n * 8);
	}
	for (size_t k = 0; k < n; k++)
		tmp[s[k]] = c.s1[k];
	rc = mpc_party_stream(p, 1, c.s1, n * 8);
	mask(c.s0, tmp, c.s1, n, c.xor);
	return rc != 0 ? rc : mpc_net_send(net, (self + 2) % MPC_PARTIES, c.s0, n * 8);
}

/* The receiving half: y_{a+1} = A + B, in a's s1 and b's s0. */
static int pass_recv(struct mpc_party *p, unsigned role, struct col c, size_t n, uint64_t *tmp)
{
	unsigned peer = (mpc_party_self(p) + (role == ROLE_A ? 1 : 2)) % MPC_PARTIES;
	uint64_t *y = role == ROLE_A ? c.s1 : c.s0;
	int rc = mpc_net_recv(mpc_party_net(p), peer, tmp, n * 8);

	for (size_t k = 0; k < n && rc == 0; k++)
		y[k] = c.xor ? y[k] ^ tmp[k] : y[k] + tmp[k];
	return rc;
}

/*
 * One pass of pair (a, a + 1) applying s (known to the pair; NULL at the third) to every
 * column of w (n rows). One round: every column is sent before any is received.
 */
static int pass(struct mpc_party *p, unsigned a, const uint32_t *s, struct mpc_table *w, size_t n)
{
	unsigned role = role_in(p, a);
	size_t cols = w->na + w->nb;
	uint64_t *tmp = words_alloc(n);
	int rc = 0;

	if (tmp == NULL)
		return CL_ENOMEM;
	for (size_t j = 0; j < cols && rc == 0; j++)
		rc = pass_send(p, role, s, col_at(w, j), n, tmp);
	for (size_t j = 0; j < cols && rc == 0 && role != ROLE_C; j++)
		rc = pass_recv(p, role, col_at(w, j), n, tmp);
	if (rc == 0)
		mpc_party_count_round(p);
	words_free(tmp, n);
	return rc;
}

/* A pass whose permutation the pair draws from its common stream: a's stream 1 is b's 0. */
static int drawn_pass(struct mpc_party *p, unsigned a, struct mpc_table *w, size_t n)
{
	unsigned role = role_in(p, a);
	uint32_t *s = NULL;
	int rc = 0;

	if (role != ROLE_C) {
		s = perm_alloc(n);
		rc = s == NULL ? CL_ENOMEM : perm_draw(p, role == ROLE_A ? 1 : 0, s, n);
	}
	if (rc == 0)
		rc = pass(p, a, s, w, n);
	perm_free(s, n);
	return rc;
}

int mpc_perm_shuffle(struct mpc_party *p, struct mpc_table *t)
{
	struct mpc_table w;
	size_t n = 0;
	int rc;

	if (p == NULL)
		return CL_EINVAL;
	rc = mpc_perm_rows(t, &n);
	if (rc == 0)
		rc = work_new(t, n, n, &w);
	if (rc != 0)
		return rc;
	for (unsigned a = 0; a < MPC_PARTIES && rc == 0; a++)
		rc = drawn_pass(p, a, &w, n);
	if (rc == 0)
		work_commit(t, &w);
	else
		work_free(&w);
	return rc;
}

/* s2 = pi ∘ s1⁻¹ over m rows, pi extended to the rows past n by the free rows, ascending. */
static int layout_s2(const uint32_t *pi, size_t n, const uint32_t *s1, size_t m, uint32_t *s2)
{
	uint32_t *ext = perm_alloc(m);
	int rc;

	if (ext == NULL)
		return CL_ENOMEM;
	memcpy(ext, pi, n * sizeof(uint32_t));
	rc = perm_check(pi, n, m, ext + n);
	for (size_t k = 0; k < m && rc == 0; k++)
		s2[s1[k]] = ext[k];
	perm_free(ext, m);
	return rc;
}

/*
 * This party's permutations of the layout's two passes: s1 for pair (0, 1), s2 for pair
 * (2, 0); NULL where the party is the third. Party 0 draws s1 and sends s2 to party 2.
 */
static int layout_perms(struct mpc_party *p, const uint32_t *pi, size_t n, size_t m, uint32_t **s1,
			uint32_t **s2)
{
	unsigned self = mpc_party_self(p);
	uint32_t *a = NULL, *b = NULL;
	int rc = 0;

	if (self != 2 && (a = perm_alloc(m)) == NULL)
		return CL_ENOMEM;
	if (self != 1 && (b = perm_alloc(m)) == NULL)
		rc = CL_ENOMEM;
	if (rc == 0 && self != 2)
		rc = perm_draw(p, self == 0 ? 1 : 0, a, m);
	if (rc == 0 && self == 0)
		rc = layout_s2(pi, n, a, m, b);
	if (rc == 0 && self == 0)
		rc = mpc_net_send(mpc_party_net(p), 2, b, m * sizeof(uint32_t));
	if (rc == 0 && self == 2)
		rc = mpc_net_recv(mpc_party_net(p), 0, b, m * sizeof(uint32_t));
	if (rc == 0 && self == 2 && perm_check(b, m, m, NULL) != 0)
		rc = CL_EPROTO;
	if (rc != 0) {
		perm_free(a, m);
		perm_free(b, m);
		return rc;
	}
	*s1 = a;
	*s2 = b;
	return 0;
}

int mpc_perm_layout(struct mpc_party *p, struct mpc_table *t, const uint32_t *pi, size_t m)
{
	uint32_t *s1 = NULL, *s2 = NULL;
	struct mpc_table w;
	size_t n = 0;
	int rc;

	if (p == NULL || (mpc_party_self(p) == 0 && pi == NULL))
		return CL_EINVAL;
	rc = mpc_perm_rows(t, &n);
	if (rc == 0 && m > MPC_MAX_ELEMENTS)
		rc = CL_ELIMIT;
	if (rc == 0 && m < n)
		rc = CL_EINVAL;
	if (rc == 0 && mpc_party_self(p) == 0)
		rc = perm_check(pi, n, m, NULL);
	if (rc == 0)
		rc = work_new(t, n, m, &w);
	if (rc != 0)
		return rc;
	rc = layout_perms(p, pi, n, m, &s1, &s2);
	if (rc == 0)
		rc = pass(p, 0, s1, &w, m);
	if (rc == 0)
		rc = pass(p, 2, s2, &w, m);
	perm_free(s1, m);
	perm_free(s2, m);
	if (rc == 0)
		work_commit(t, &w);
	else
		work_free(&w);
	return rc;
}

int mpc_perm_planes_to_rows(const struct mpc_b *planes, unsigned k, size_t n, struct mpc_b *out)
{
	struct mpc_b r = {0};
	size_t W = mpc_words(n);
	int rc;

	if (planes == NULL || out == NULL || k == 0 || k > 64 || n > MPC_MAX_ELEMENTS ||
	    planes->w != (size_t)k * W)
		return CL_EINVAL;
	rc = mpc_b_alloc(&r, n);
	if (rc != 0)
		return rc;
	for (unsigned j = 0; j < k; j++) {
		const uint64_t *p0 = planes->s0 + (size_t)j * W, *p1 = planes->s1 + (size_t)j * W;

		for (size_t e = 0; e < n; e++) {
			r.s0[e] |= (p0[e / 64] >> (e % 64) & 1) << j;
			r.s1[e] |= (p1[e / 64] >> (e % 64) & 1) << j;
		}
	}
	*out = r;
	return 0;
}

int mpc_perm_rows_to_planes(const struct mpc_b *rows, unsigned k, struct mpc_b *out)
{
	struct mpc_b r = {0};
	size_t W;
	int rc;

	if (rows == NULL || out == NULL || k == 0 || k > 64 || rows->w > MPC_MAX_ELEMENTS)
		return CL_EINVAL;
	W = mpc_words(rows->w);
	rc = mpc_b_alloc(&r, (size_t)k * W);
	if (rc != 0)
		return rc;
	for (size_t e = 0; e < rows->w; e++) {
		uint64_t bit = 1ull << (e % 64);

		for (unsigned j = 0; j < k; j++) {
			r.s0[j * W + e / 64] |= (rows->s0[e] >> j & 1) ? bit : 0;
			r.s1[j * W + e / 64] |= (rows->s1[e] >> j & 1) ? bit : 0;
		}
	}
	*out = r;
	return 0;
}
