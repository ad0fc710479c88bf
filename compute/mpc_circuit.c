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

/* Writes bits 0..k-1 of vals[0..n) as k planes of W words (zeroed first). */
static void to_planes(const uint64_t *vals, size_t n, unsigned k, uint64_t *planes)
{
	size_t W = mpc_words(n);

	memset(planes, 0, (size_t)k * W * 8);
	for (size_t e = 0; e < n; e++) {
		uint64_t v = vals[e], bit = 1ull << (e % 64);
		size_t word = e / 64;

		for (unsigned j = 0; j < k; j++, v >>= 1)
			if (v & 1)
				planes[j * W + word] |= bit;
	}
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
