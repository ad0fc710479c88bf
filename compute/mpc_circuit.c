/*
 * mpc_circuit — comparisons, conversions and reductions (mpc_circuit.h).
 */
#include "compute/mpc_circuit.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"

size_t mpc_words(size_t n)
{
	return (n + 63) / 64;
}

/* A view of w words of v from word off (no ownership). */
static struct mpc_b view(const struct mpc_b *v, size_t off, size_t w)
{
	struct mpc_b r = {.w = w, .s0 = v->s0 + off, .s1 = v->s1 + off};

	return r;
}

static void copy_words(struct mpc_b *dst, const struct mpc_b *src)
{
	memcpy(dst->s0, src->s0, src->w * 8);
	memcpy(dst->s1, src->s1, src->w * 8);
}

/*
 * Transposes a 64 x 64 bit matrix in place (Hacker's Delight 7-3): afterwards a[63 - j]
 * bit 63 - e is what a[e] bit j was.
 */
static void transpose64(uint64_t a[64])
{
	uint64_t m = 0x00000000FFFFFFFFull, t;

	for (int j = 32; j; j >>= 1, m ^= m << j)
		for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
			t = (a[k] ^ (a[k | j] >> j)) & m;
			a[k] ^= t;
			a[k | j] ^= t << j;
		}
}

/* Writes bits 0..k-1 of vals[0..n) as k planes of W words, 64 elements at a time. */
static void to_planes(const uint64_t *vals, size_t n, unsigned k, uint64_t *planes)
{
	size_t W = mpc_words(n);
	uint64_t blk[64];

	for (size_t w = 0; w < W; w++) {
		size_t base = w * 64, cnt = n - base < 64 ? n - base : 64;

		/* rows in reverse, so that plane j comes out as blk[63 - j], bit e element e */
		for (size_t i = 0; i < 64; i++)
			blk[63 - i] = i < cnt ? vals[base + i] : 0;
		transpose64(blk);
		for (unsigned j = 0; j < k; j++)
			planes[(size_t)j * W + w] = blk[63 - j];
	}
	OPENSSL_cleanse(blk, sizeof(blk));
}

/*
 * Boolean shares of the three arithmetic components' low k bits: comp[j] = [x_j]^B. Party
 * i knows components i (first) and i+1 (second); the others' pairs are zero.
 */
static int components(const struct mpc_party *p, const struct mpc_a *x, unsigned k,
		      struct mpc_b comp[MPC_PARTIES])
{
	unsigned self = mpc_party_self(p);
	size_t w = (size_t)k * mpc_words(x->n);
	int rc = 0;

	for (unsigned j = 0; j < MPC_PARTIES && rc == 0; j++)
		rc = mpc_b_alloc(&comp[j], w);
	if (rc != 0) {
		for (unsigned j = 0; j < MPC_PARTIES; j++)
			mpc_b_free(&comp[j]);
		return rc;
	}
	to_planes(x->s0, x->n, k, comp[self].s0);
	to_planes(x->s1, x->n, k, comp[(self + 1) % MPC_PARTIES].s1);
	return 0;
}

/*
 * Carry-save layer: u = c0 ^ c1 ^ c2 and v = majority(c0, c1, c2) << 1 (one plane up),
 * each k planes of W words. One round.
 */
static int carry_save(struct mpc_party *p, struct mpc_b comp[MPC_PARTIES], unsigned k, size_t W,
		      struct mpc_b *u, struct mpc_b *v)
{
	struct mpc_b a = {0}, b = {0}, m = {0};
	size_t w = (size_t)k * W, wc = (size_t)(k - 1) * W;
	int rc;

	rc = mpc_b_alloc(u, w);
	if (rc == 0)
		rc = mpc_b_alloc(v, w);
	if (rc == 0 && wc > 0)
		rc = mpc_b_alloc(&a, wc);
	if (rc == 0 && wc > 0)
		rc = mpc_b_alloc(&b, wc);
	if (rc == 0 && wc > 0)
		rc = mpc_b_alloc(&m, wc);
	if (rc != 0)
		goto out;
	for (size_t t = 0; t < w; t++) {
		u->s0[t] = comp[0].s0[t] ^ comp[1].s0[t] ^ comp[2].s0[t];
		u->s1[t] = comp[0].s1[t] ^ comp[1].s1[t] ^ comp[2].s1[t];
	}
	if (wc == 0)
		goto out;
	/* majority = ((c0 ^ c2) & (c1 ^ c2)) ^ c2, for bits 0..k-2 */
	for (size_t t = 0; t < wc; t++) {
		a.s0[t] = comp[0].s0[t] ^ comp[2].s0[t];
		a.s1[t] = comp[0].s1[t] ^ comp[2].s1[t];
		b.s0[t] = comp[1].s0[t] ^ comp[2].s0[t];
		b.s1[t] = comp[1].s1[t] ^ comp[2].s1[t];
	}
	rc = mpc_b_and(p, &m, &a, &b);
	if (rc != 0)
		goto out;
	for (size_t t = 0; t < wc; t++) {
		v->s0[W + t] = m.s0[t] ^ comp[2].s0[t];
		v->s1[W + t] = m.s1[t] ^ comp[2].s1[t];
	}
out:
	mpc_b_free(&a);
	mpc_b_free(&b);
	mpc_b_free(&m);
	if (rc != 0) {
		mpc_b_free(u);
		mpc_b_free(v);
	}
	return rc;
}

/* Generate g = u & v and propagate pr = u ^ v over the first k planes. One round. */
static int gen_prop(struct mpc_party *p, const struct mpc_b *u, const struct mpc_b *v, unsigned k,
		    size_t W, struct mpc_b *g, struct mpc_b *pr)
{
	struct mpc_b uu = view(u, 0, (size_t)k * W), vv = view(v, 0, (size_t)k * W);
	int rc = mpc_b_alloc(g, uu.w);

	if (rc == 0)
		rc = mpc_b_alloc(pr, uu.w);
	if (rc == 0)
		rc = mpc_b_and(p, g, &uu, &vv);
	if (rc == 0)
		rc = mpc_b_xor(pr, &uu, &vv);
	if (rc != 0) {
		mpc_b_free(g);
		mpc_b_free(pr);
	}
	return rc;
}

/*
 * Reduces the (G, P) pairs of planes 0..k-1 to the carry out of plane k-1, i.e. the
 * carry into plane k, written to *carry (one plane). ceil(log2 k) rounds.
 */
static int carry_reduce(struct mpc_party *p, struct mpc_b *G, struct mpc_b *P, unsigned k, size_t W,
			struct mpc_b *carry)
{
	struct mpc_b x = {0}, y = {0}, z = {0};
	size_t m = k;
	int rc = 0;

	while (m > 1 && rc == 0) {
		size_t pairs = m / 2;

		rc = mpc_b_alloc(&x, 2 * pairs * W);
		if (rc == 0)
			rc = mpc_b_alloc(&y, 2 * pairs * W);
		if (rc == 0)
			rc = mpc_b_alloc(&z, 2 * pairs * W);
		for (size_t i = 0; rc == 0 && i < pairs; i++) {
			struct mpc_b xh = view(&x, i * W, W), xp = view(&x, (pairs + i) * W, W);
			struct mpc_b yg = view(&y, i * W, W), yp = view(&y, (pairs + i) * W, W);
			struct mpc_b ph = view(P, (2 * i + 1) * W, W);
			struct mpc_b gl = view(G, 2 * i * W, W), pl = view(P, 2 * i * W, W);

			copy_words(&xh, &ph); /* P_hi & G_lo */
			copy_words(&yg, &gl);
			copy_words(&xp, &ph); /* P_hi & P_lo */
			copy_words(&yp, &pl);
		}
		if (rc == 0)
			rc = mpc_b_and(p, &z, &x, &y);
		for (size_t i = 0; rc == 0 && i < pairs; i++) {
			struct mpc_b gh = view(G, (2 * i + 1) * W, W), gn = view(G, i * W, W);
			struct mpc_b pn = view(P, i * W, W);
			struct mpc_b zg = view(&z, i * W, W), zp = view(&z, (pairs + i) * W, W);

			for (size_t t = 0; t < W; t++) {
				uint64_t g0 = gh.s0[t] ^ zg.s0[t], g1 = gh.s1[t] ^ zg.s1[t];

				gn.s0[t] = g0;
				gn.s1[t] = g1;
			}
			copy_words(&pn, &zp);
		}
		if (rc == 0 && (m & 1)) {
			struct mpc_b gs = view(G, (m - 1) * W, W), gd = view(G, pairs * W, W);
			struct mpc_b ps = view(P, (m - 1) * W, W), pd = view(P, pairs * W, W);

			copy_words(&gd, &gs);
			copy_words(&pd, &ps);
		}
		mpc_b_free(&x);
		mpc_b_free(&y);
		mpc_b_free(&z);
		m = pairs + (m & 1);
	}
	if (rc == 0)
		rc = mpc_b_alloc(carry, W);
	if (rc == 0) {
		struct mpc_b g0 = view(G, 0, W);

		copy_words(carry, &g0);
	}
	return rc;
}

int mpc_msb32(struct mpc_party *p, const struct mpc_a *x, struct mpc_b *out)
{
	struct mpc_b comp[MPC_PARTIES] = {{0}}, u = {0}, v = {0}, g = {0}, pr = {0}, c = {0};
	size_t W;
	int rc;

	if (p == NULL || x == NULL || out == NULL)
		return CL_EINVAL;
	W = mpc_words(x->n);
	rc = components(p, x, 32, comp);
	if (rc == 0)
		rc = carry_save(p, comp, 32, W, &u, &v);
	if (rc == 0)
		rc = gen_prop(p, &u, &v, 31, W, &g, &pr);
	if (rc == 0)
		rc = carry_reduce(p, &g, &pr, 31, W, &c);
	if (rc == 0) {
		for (size_t t = 0; t < W; t++) {
			c.s0[t] ^= u.s0[31 * W + t] ^ v.s0[31 * W + t];
			c.s1[t] ^= u.s1[31 * W + t] ^ v.s1[31 * W + t];
		}
		*out = c;
		c = (struct mpc_b){0};
	}
	for (unsigned j = 0; j < MPC_PARTIES; j++)
		mpc_b_free(&comp[j]);
	mpc_b_free(&u);
	mpc_b_free(&v);
	mpc_b_free(&g);
	mpc_b_free(&pr);
	mpc_b_free(&c);
	return rc;
}

/* Kogge–Stone: after it, G plane j is the carry out of plane j (prefix 0..j). */
static int prefix_carries(struct mpc_party *p, struct mpc_b *G, struct mpc_b *P, unsigned k,
			  size_t W)
{
	int rc = 0;

	for (unsigned d = 1; d < k && rc == 0; d *= 2) {
		size_t cnt = k - d;
		struct mpc_b x = {0}, y = {0}, z = {0};

		rc = mpc_b_alloc(&x, 2 * cnt * W);
		if (rc == 0)
			rc = mpc_b_alloc(&y, 2 * cnt * W);
		if (rc == 0)
			rc = mpc_b_alloc(&z, 2 * cnt * W);
		for (size_t i = 0; rc == 0 && i < cnt; i++) {
			size_t j = d + i;
			struct mpc_b x1 = view(&x, i * W, W), x2 = view(&x, (cnt + i) * W, W);
			struct mpc_b y1 = view(&y, i * W, W), y2 = view(&y, (cnt + i) * W, W);
			struct mpc_b pj = view(P, j * W, W), gl = view(G, (j - d) * W, W);
			struct mpc_b pl = view(P, (j - d) * W, W);

			copy_words(&x1, &pj);
			copy_words(&y1, &gl);
			copy_words(&x2, &pj);
			copy_words(&y2, &pl);
		}
		if (rc == 0)
			rc = mpc_b_and(p, &z, &x, &y);
		for (size_t i = 0; rc == 0 && i < cnt; i++) {
			size_t j = d + i;
			struct mpc_b gj = view(G, j * W, W), pj = view(P, j * W, W);
			struct mpc_b z1 = view(&z, i * W, W), z2 = view(&z, (cnt + i) * W, W);
			struct mpc_b gx = gj;

			rc = mpc_b_xor(&gx, &gj, &z1);
			copy_words(&pj, &z2);
		}
		mpc_b_free(&x);
		mpc_b_free(&y);
		mpc_b_free(&z);
	}
	return rc;
}

int mpc_a2b(struct mpc_party *p, const struct mpc_a *x, unsigned k, struct mpc_b *out)
{
	struct mpc_b comp[MPC_PARTIES] = {{0}}, u = {0}, v = {0}, g = {0}, pr = {0}, r = {0};
	size_t W;
	int rc;

	if (p == NULL || x == NULL || out == NULL || k == 0 || k > 32)
		return CL_EINVAL;
	W = mpc_words(x->n);
	rc = components(p, x, k, comp);
	if (rc == 0)
		rc = carry_save(p, comp, k, W, &u, &v);
	if (rc == 0)
		rc = gen_prop(p, &u, &v, k, W, &g, &pr);
	if (rc == 0)
		rc = mpc_b_alloc(&r, (size_t)k * W);
	if (rc == 0)
		copy_words(&r, &pr); /* the sum bits before carries: u ^ v */
	if (rc == 0)
		rc = prefix_carries(p, &g, &pr, k, W);
	for (unsigned j = 1; rc == 0 && j < k; j++) {
		for (size_t t = 0; t < W; t++) {
			r.s0[j * W + t] ^= g.s0[(j - 1) * W + t];
			r.s1[j * W + t] ^= g.s1[(j - 1) * W + t];
		}
	}
	if (rc == 0) {
		*out = r;
		r = (struct mpc_b){0};
	}
	for (unsigned j = 0; j < MPC_PARTIES; j++)
		mpc_b_free(&comp[j]);
	mpc_b_free(&u);
	mpc_b_free(&v);
	mpc_b_free(&g);
	mpc_b_free(&pr);
	mpc_b_free(&r);
	return rc;
}

/* Spreads a plane's bits 0..n-1 to n words of 0 / 1. */
static void bits_to_words(const uint64_t *plane, size_t n, uint64_t *vals)
{
	for (size_t e = 0; e < n; e++)
		vals[e] = (plane[e / 64] >> (e % 64)) & 1;
}

int mpc_b2a(struct mpc_party *p, const struct mpc_b *bits, size_t n, struct mpc_a *out)
{
	unsigned self = mpc_party_self(p);
	struct mpc_a u = {0}, b2 = {0}, prod = {0};
	uint64_t *uv = NULL;
	int rc;

	if (bits == NULL || out == NULL || bits->w < mpc_words(n))
		return CL_EINVAL;
	/* P0 knows u = b0 ^ b1 and inputs it */
	if (self == 0) {
		uv = malloc(n ? n * 8 : 1);
		if (uv == NULL)
			return CL_ENOMEM;
		for (size_t e = 0; e < n; e++)
			uv[e] = ((bits->s0[e / 64] ^ bits->s1[e / 64]) >> (e % 64)) & 1;
	}
	rc = mpc_a_input(p, 0, uv, n, &u);
	if (uv != NULL) {
		OPENSSL_cleanse(uv, n * 8);
		free(uv);
	}
	/* [b2]^A: component 2 is party 2's first and party 1's second */
	if (rc == 0)
		rc = mpc_a_alloc(&b2, n);
	if (rc == 0 && self == 2)
		bits_to_words(bits->s0, n, b2.s0);
	if (rc == 0 && self == 1)
		bits_to_words(bits->s1, n, b2.s1);
	if (rc == 0)
		rc = mpc_a_alloc(&prod, n);
	if (rc == 0)
		rc = mpc_a_mul(p, &prod, &u, &b2);
	if (rc == 0) {
		mpc_a_add(&u, &u, &b2);
		mpc_a_scale(&prod, 2);
		mpc_a_sub(&u, &u, &prod);
		*out = u;
		u = (struct mpc_a){0};
	}
	mpc_a_free(&u);
	mpc_a_free(&b2);
	mpc_a_free(&prod);
	return rc;
}

int mpc_and_reduce(struct mpc_party *p, const struct mpc_b *in, size_t m, size_t W,
		   struct mpc_b *out)
{
	struct mpc_b cur = {0};
	int rc;

	if (p == NULL || in == NULL || out == NULL || m == 0 || in->w < m * W)
		return CL_EINVAL;
	rc = mpc_b_alloc(&cur, m * W);
	if (rc != 0)
		return rc;
	{
		struct mpc_b src = view(in, 0, m * W);

		copy_words(&cur, &src);
	}
	while (m > 1 && rc == 0) {
		size_t pairs = m / 2;
		struct mpc_b lo = {0}, hi = {0}, z = {0};

		rc = mpc_b_alloc(&lo, pairs * W);
		if (rc == 0)
			rc = mpc_b_alloc(&hi, pairs * W);
		if (rc == 0)
			rc = mpc_b_alloc(&z, pairs * W);
		for (size_t i = 0; rc == 0 && i < pairs; i++) {
			struct mpc_b l = view(&lo, i * W, W), h = view(&hi, i * W, W);
			struct mpc_b a = view(&cur, 2 * i * W, W),
				     b = view(&cur, (2 * i + 1) * W, W);

			copy_words(&l, &a);
			copy_words(&h, &b);
		}
		if (rc == 0)
			rc = mpc_b_and(p, &z, &lo, &hi);
		if (rc == 0) {
			struct mpc_b d = view(&cur, 0, pairs * W);

			copy_words(&d, &z);
			if (m & 1) {
				struct mpc_b s = view(&cur, (m - 1) * W, W);
				struct mpc_b t = view(&cur, pairs * W, W);

				copy_words(&t, &s);
			}
		}
		mpc_b_free(&lo);
		mpc_b_free(&hi);
		mpc_b_free(&z);
		m = pairs + (m & 1);
	}
	if (rc == 0) {
		struct mpc_b res = {0};

		rc = mpc_b_alloc(&res, W);
		if (rc == 0) {
			struct mpc_b s = view(&cur, 0, W);

			copy_words(&res, &s);
			*out = res;
		}
	}
	mpc_b_free(&cur);
	return rc;
}

int mpc_b_gather(const struct mpc_b *src, const uint32_t *map, size_t n, struct mpc_b *dst)
{
	struct mpc_b d = {0};
	int rc;

	if (src == NULL || dst == NULL || (map == NULL && n > 0))
		return CL_EINVAL;
	rc = mpc_b_alloc(&d, mpc_words(n));
	if (rc != 0)
		return rc;
	for (size_t k = 0; k < n; k++) {
		uint32_t m = map[k];

		if (m / 64 >= src->w) {
			mpc_b_free(&d);
			return CL_EINVAL;
		}
		d.s0[k / 64] |= ((src->s0[m / 64] >> (m % 64)) & 1) << (k % 64);
		d.s1[k / 64] |= ((src->s1[m / 64] >> (m % 64)) & 1) << (k % 64);
	}
	*dst = d;
	return 0;
}

int mpc_add(struct mpc_party *p, const struct mpc_b *a, const struct mpc_b *b, unsigned k, size_t W,
	    struct mpc_b *sum)
{
	struct mpc_b s = {0}, c = {0}, x = {0}, y = {0}, z = {0};
	int rc;

	if (p == NULL || a == NULL || b == NULL || sum == NULL || k == 0 || a->w < k * W ||
	    b->w < k * W)
		return CL_EINVAL;
	rc = mpc_b_alloc(&s, (size_t)(k + 1) * W);
	if (rc == 0)
		rc = mpc_b_alloc(&c, W);
	if (rc == 0)
		rc = mpc_b_alloc(&x, W);
	if (rc == 0)
		rc = mpc_b_alloc(&y, W);
	if (rc == 0)
		rc = mpc_b_alloc(&z, W);
	for (unsigned j = 0; j < k && rc == 0; j++) {
		struct mpc_b aj = view(a, j * W, W), bj = view(b, j * W, W),
			     sj = view(&s, j * W, W);

		for (size_t t = 0; t < W; t++) {
			sj.s0[t] = aj.s0[t] ^ bj.s0[t] ^ c.s0[t];
			sj.s1[t] = aj.s1[t] ^ bj.s1[t] ^ c.s1[t];
			x.s0[t] = aj.s0[t] ^ c.s0[t];
			x.s1[t] = aj.s1[t] ^ c.s1[t];
			y.s0[t] = bj.s0[t] ^ c.s0[t];
			y.s1[t] = bj.s1[t] ^ c.s1[t];
		}
		rc = mpc_b_and(p, &z, &x, &y);
		for (size_t t = 0; rc == 0 && t < W; t++) {
			c.s0[t] ^= z.s0[t];
			c.s1[t] ^= z.s1[t];
		}
	}
	if (rc == 0) {
		struct mpc_b top = view(&s, (size_t)k * W, W);

		copy_words(&top, &c);
		*sum = s;
		s = (struct mpc_b){0};
	}
	mpc_b_free(&s);
	mpc_b_free(&c);
	mpc_b_free(&x);
	mpc_b_free(&y);
	mpc_b_free(&z);
	return rc;
}

/*
 * One level of a tree of additions: `cnt` numbers of k planes of W words each, numbers side
 * by side (number i at words [i·k·W, (i+1)·k·W)), added in pairs into ceil(cnt/2) numbers
 * of k + 1 planes. All pairs in the same k rounds.
 */
static int add_level(struct mpc_party *p, const struct mpc_b *in, size_t cnt, unsigned k, size_t W,
		     struct mpc_b *out)
{
	size_t pairs = cnt / 2, outn = pairs + (cnt & 1);
	struct mpc_b a = {0}, b = {0}, s = {0}, o = {0};
	int rc = mpc_b_alloc(&o, outn * (k + 1) * W);

	/* a, b: plane-major over the pairs, so one adder call serves them all */
	if (rc == 0 && pairs > 0)
		rc = mpc_b_alloc(&a, (size_t)k * pairs * W);
	if (rc == 0 && pairs > 0)
		rc = mpc_b_alloc(&b, (size_t)k * pairs * W);
	for (size_t i = 0; rc == 0 && i < pairs; i++) {
		for (unsigned j = 0; j < k; j++) {
			struct mpc_b da = view(&a, (j * pairs + i) * W, W);
			struct mpc_b db = view(&b, (j * pairs + i) * W, W);
			struct mpc_b sa = view(in, ((2 * i) * k + j) * W, W);
			struct mpc_b sb = view(in, ((2 * i + 1) * k + j) * W, W);

			copy_words(&da, &sa);
			copy_words(&db, &sb);
		}
	}
	if (rc == 0 && pairs > 0)
		rc = mpc_add(p, &a, &b, k, pairs * W, &s);
	for (size_t i = 0; rc == 0 && i < pairs; i++) {
		for (unsigned j = 0; j <= k; j++) {
			struct mpc_b d = view(&o, (i * (k + 1) + j) * W, W);
			struct mpc_b sv = view(&s, (j * pairs + i) * W, W);

			copy_words(&d, &sv);
		}
	}
	if (rc == 0 && (cnt & 1)) {
		for (unsigned j = 0; j < k; j++) {
			struct mpc_b d = view(&o, (pairs * (k + 1) + j) * W, W);
			struct mpc_b sv = view(in, ((cnt - 1) * k + j) * W, W);

			copy_words(&d, &sv);
		}
	}
	mpc_b_free(&a);
	mpc_b_free(&b);
	mpc_b_free(&s);
	if (rc != 0) {
		mpc_b_free(&o);
		return rc;
	}
	*out = o;
	return 0;
}

int mpc_planes_sum(struct mpc_party *p, const struct mpc_b *in, size_t m, size_t W,
		   struct mpc_b *out, unsigned *kout)
{
	struct mpc_b cur = {0}, next = {0};
	unsigned k = 1;
	int rc;

	if (p == NULL || in == NULL || out == NULL || kout == NULL || m == 0 || in->w < m * W)
		return CL_EINVAL;
	rc = mpc_b_alloc(&cur, m * W);
	if (rc != 0)
		return rc;
	{
		struct mpc_b src = view(in, 0, m * W);

		copy_words(&cur, &src);
	}
	while (m > 1 && rc == 0) {
		rc = add_level(p, &cur, m, k, W, &next);
		if (rc != 0)
			break;
		/* an odd last number has only k planes: its top plane stays zero */
		mpc_b_free(&cur);
		cur = next;
		next = (struct mpc_b){0};
		m = m / 2 + (m & 1);
		k++;
	}
	if (rc != 0) {
		mpc_b_free(&cur);
		return rc;
	}
	*out = cur;
	*kout = k;
	return 0;
}

/*
 * Splits every row's elements into two halves, lo and hi, as two vectors of the same plane
 * layout: words [0, h) and [h, Wc) when Wc > 1 (h = ceil(Wc/2)), else the low and high
 * `half` bits of the one word. Local.
 */
static int split_rows(const struct mpc_b *in, unsigned K, size_t R, size_t Wc, unsigned half,
		      struct mpc_b *lo, struct mpc_b *hi, size_t *Wout)
{
	size_t h = Wc > 1 ? (Wc + 1) / 2 : 1;
	uint64_t mask = half >= 64 ? ~0ull : (1ull << half) - 1;
	int rc = mpc_b_alloc(lo, (size_t)K * R * h);

	if (rc == 0)
		rc = mpc_b_alloc(hi, (size_t)K * R * h);
	if (rc != 0)
		return rc;
	for (size_t row = 0; row < (size_t)K * R; row++) {
		const uint64_t *a0 = in->s0 + row * Wc, *a1 = in->s1 + row * Wc;
		uint64_t *l0 = lo->s0 + row * h, *l1 = lo->s1 + row * h;
		uint64_t *h0 = hi->s0 + row * h, *h1 = hi->s1 + row * h;

		if (Wc > 1) {
			memcpy(l0, a0, h * 8);
			memcpy(l1, a1, h * 8);
			memcpy(h0, a0 + h, (Wc - h) * 8);
			memcpy(h1, a1 + h, (Wc - h) * 8);
		} else {
			l0[0] = a0[0] & mask;
			l1[0] = a1[0] & mask;
			h0[0] = (a0[0] >> half) & mask;
			h1[0] = (a1[0] >> half) & mask;
		}
	}
	*Wout = h;
	return 0;
}

int mpc_sum_rows(struct mpc_party *p, const struct mpc_b *in, unsigned K, size_t R, size_t Wc,
		 struct mpc_b *out)
{
	struct mpc_b cur = {0}, lo = {0}, hi = {0}, s = {0};
	unsigned half = 32;
	int rc;

	if (p == NULL || in == NULL || out == NULL || K == 0 || K > 32 || Wc == 0 ||
	    in->w < (size_t)K * R * Wc)
		return CL_EINVAL;
	/* widen to 32 planes at once: the sum never needs more (mod 2^32) */
	rc = mpc_b_alloc(&cur, 32 * R * Wc);
	if (rc != 0)
		return rc;
	memcpy(cur.s0, in->s0, (size_t)K * R * Wc * 8);
	memcpy(cur.s1, in->s1, (size_t)K * R * Wc * 8);
	while (rc == 0 && (Wc > 1 || half > 0)) {
		size_t h;

		rc = split_rows(&cur, 32, R, Wc, half, &lo, &hi, &h);
		if (rc == 0)
			rc = mpc_add(p, &lo, &hi, 31, R * h, &s);
		if (rc == 0) {
			/* keep 32 planes: drop the carry out of bit 31 */
			mpc_b_free(&cur);
			rc = mpc_b_alloc(&cur, 32 * R * h);
			if (rc == 0) {
				memcpy(cur.s0, s.s0, 31 * R * h * 8);
				memcpy(cur.s1, s.s1, 31 * R * h * 8);
				for (size_t t = 0; t < R * h; t++) {
					/* bit 31 of the sum: a31 ^ b31 ^ carry into 31 */
					cur.s0[31 * R * h + t] = lo.s0[31 * R * h + t] ^
								 hi.s0[31 * R * h + t] ^
								 s.s0[31 * R * h + t];
					cur.s1[31 * R * h + t] = lo.s1[31 * R * h + t] ^
								 hi.s1[31 * R * h + t] ^
								 s.s1[31 * R * h + t];
				}
			}
		}
		mpc_b_free(&lo);
		mpc_b_free(&hi);
		mpc_b_free(&s);
		if (Wc > 1)
			Wc = h;
		else
			half /= 2;
	}
	if (rc != 0) {
		mpc_b_free(&cur);
		return rc;
	}
	*out = cur;
	return 0;
}
