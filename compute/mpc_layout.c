/*
 * mpc_layout — shared pieces of the measure circuits over the cluster layout (mpc_layout.h).
 */
#include "compute/mpc_layout.h"

#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "compute/mpc_circuit.h"

struct mpc_b mpc_layout_view(const struct mpc_b *v, size_t off, size_t w)
{
	struct mpc_b r = {.w = w, .s0 = v->s0 + off, .s1 = v->s1 + off};

	return r;
}

void mpc_layout_copy(struct mpc_b *dst, size_t off, const struct mpc_b *src, size_t soff, size_t w)
{
	memcpy(dst->s0 + off, src->s0 + soff, w * 8);
	memcpy(dst->s1 + off, src->s1 + soff, w * 8);
}

/* Both shares' bit k of dst |= bit m of src. */
static void put_bit(struct mpc_b *dst, size_t k, const struct mpc_b *src, size_t m)
{
	dst->s0[k / 64] |= ((src->s0[m / 64] >> (m % 64)) & 1) << (k % 64);
	dst->s1[k / 64] |= ((src->s1[m / 64] >> (m % 64)) & 1) << (k % 64);
}

int mpc_layout_bk_init(struct mpc_layout_bk *b, const struct mpc_bucket *in)
{
	size_t n, qn;

	memset(b, 0, sizeof(*b));
	if (in->size == 0 || in->size > MPC_MAX_BUCKET_SIZE ||
	    __builtin_mul_overflow((size_t)in->size, (size_t)in->clusters, &n) ||
	    n > MPC_MAX_ELEMENTS)
		return CL_ELIMIT;
	b->s = in->size;
	b->C = in->clusters;
	b->n = n;
	b->W = mpc_words(n);
	b->Wc = mpc_words(b->C);
	b->Q = in->size - 1;
	if (b->Q == 0 || n == 0)
		return 0;
	if (__builtin_mul_overflow(b->Q, n, &qn) || qn > MPC_MAX_ELEMENTS)
		return CL_ELIMIT;
	b->map = malloc(qn * sizeof(uint32_t));
	if (b->map == NULL)
		return CL_ENOMEM;
	for (size_t q = 1; q <= b->Q; q++)
		for (size_t k = 0; k < n; k++)
			b->map[(q - 1) * n + k] =
			    (uint32_t)(k / b->s * b->s + (k % b->s + q) % b->s);
	return 0;
}

void mpc_layout_bk_free(struct mpc_layout_bk *b)
{
	free(b->map);
	b->map = NULL;
}

int mpc_layout_pairs(const struct mpc_layout_bk *b, const struct mpc_b *src, struct mpc_b *dst)
{
	struct mpc_b d = {0};
	int rc = mpc_b_alloc(&d, b->Q * b->W);

	for (size_t q = 0; rc == 0 && q < b->Q; q++) {
		struct mpc_b dq = mpc_layout_view(&d, q * b->W, b->W);

		for (size_t k = 0; k < b->n; k++)
			put_bit(&dq, k, src, b->map[q * b->n + k]);
	}
	if (rc == 0)
		*dst = d;
	return rc;
}

/* The differences of pair planes [q0, q1): the "before" ones, then (near) the window ones. */
static int before_diffs(unsigned self, const struct mpc_layout_bk *b, const struct mpc_a *t,
			uint32_t window, int near, size_t q0, size_t q1, struct mpc_a *d)
{
	size_t per = b->W * 64, nq = q1 - q0;
	int rc = mpc_a_alloc(d, (near ? 2 : 1) * nq * per);

	for (size_t q = q0; rc == 0 && q < q1; q++)
		for (size_t k = 0; k < b->n; k++) {
			uint32_t f = b->map[q * b->n + k];
			uint64_t tie = (k % b->s) + q + 1 >= b->s ? 1 : 0;
			size_t i1 = (q - q0) * per + k, i2 = (nq + q - q0) * per + k;

			/* t_f − t_k − tie < 0; t_k − t_f − window − 1 < 0 */
			d->s0[i1] = t->s0[f] - t->s0[k] - (self == 0 ? tie : 0);
			d->s1[i1] = t->s1[f] - t->s1[k] - (self == 2 ? tie : 0);
			if (near) {
				d->s0[i2] = t->s0[k] - t->s0[f] - (self == 0 ? window + 1ull : 0);
				d->s1[i2] = t->s1[k] - t->s1[f] - (self == 2 ? window + 1ull : 0);
			}
		}
	return rc;
}

int mpc_layout_before(struct mpc_party *p, const struct mpc_layout_bk *b, const struct mpc_a *t,
		      uint32_t window, struct mpc_b *before, struct mpc_b *near)
{
	size_t per = b->W * 64, nb = near ? 2 : 1, QW = b->Q * b->W;
	size_t step = MPC_LAYOUT_PAIR_CHUNK / (nb * per);
	int rc = t->n == b->n ? mpc_b_alloc(before, QW) : CL_EINVAL;

	if (rc == 0 && near)
		rc = mpc_b_alloc(near, QW);
	if (step == 0)
		step = 1;
	/* in chunks of pair planes, so that the comparison's scratch stays bounded */
	for (size_t q0 = 0; rc == 0 && q0 < b->Q; q0 += step) {
		size_t q1 = q0 + step < b->Q ? q0 + step : b->Q, nq = q1 - q0;
		struct mpc_a d = {0};
		struct mpc_b m = {0};

		rc = before_diffs(mpc_party_self(p), b, t, window, near != NULL, q0, q1, &d);
		if (rc == 0)
			rc = mpc_msb32(p, &d, &m);
		if (rc == 0) {
			mpc_layout_copy(before, q0 * b->W, &m, 0, nq * b->W);
			if (near)
				mpc_layout_copy(near, q0 * b->W, &m, nq * b->W, nq * b->W);
		}
		mpc_a_free(&d);
		mpc_b_free(&m);
	}
	if (rc != 0) {
		mpc_b_free(before);
		if (near)
			mpc_b_free(near);
	}
	return rc;
}

int mpc_layout_and(struct mpc_party *p, const struct mpc_b *x, const struct mpc_b *y,
		   struct mpc_b *z)
{
	struct mpc_b yv;
	int rc;

	if (y->w < x->w)
		return CL_EINVAL;
	yv = mpc_layout_view(y, 0, x->w);
	rc = mpc_b_alloc(z, x->w);
	if (rc == 0)
		rc = mpc_b_and(p, z, x, &yv);
	if (rc != 0)
		mpc_b_free(z);
	return rc;
}

int mpc_layout_nor(struct mpc_party *p, const struct mpc_b *x, size_t Q, size_t RW,
		   const struct mpc_b *last, int neg_last, struct mpc_b *out)
{
	struct mpc_b in = {0};
	int rc = mpc_b_alloc(&in, (Q + 1) * RW);

	if (rc != 0)
		return rc;
	if (Q > 0)
		mpc_layout_copy(&in, 0, x, 0, Q * RW);
	mpc_layout_copy(&in, Q * RW, last, 0, RW);
	{
		struct mpc_b negs = mpc_layout_view(&in, 0, Q * RW);
		struct mpc_b l = mpc_layout_view(&in, Q * RW, RW);

		mpc_b_not(p, &negs);
		if (neg_last)
			mpc_b_not(p, &l);
	}
	rc = mpc_and_reduce(p, &in, Q + 1, RW, out);
	mpc_b_free(&in);
	return rc;
}

int mpc_layout_first(struct mpc_party *p, const struct mpc_layout_bk *b, const struct mpc_b *kind,
		     const struct mpc_b *before, struct mpc_b *first)
{
	struct mpc_b g = {0}, x = {0};
	int rc;

	if (b->Q == 0) {
		rc = mpc_b_alloc(first, b->W);
		if (rc == 0)
			mpc_layout_copy(first, 0, kind, 0, b->W);
		return rc;
	}
	rc = mpc_layout_pairs(b, kind, &g);
	if (rc == 0)
		rc = mpc_layout_and(p, &g, before, &x);
	if (rc == 0)
		rc = mpc_layout_nor(p, &x, b->Q, b->W, kind, 0, first);
	mpc_b_free(&g);
	mpc_b_free(&x);
	return rc;
}

int mpc_layout_cluster_planes(const struct mpc_layout_bk *b, const struct mpc_b *slot,
			      struct mpc_b *out)
{
	struct mpc_b d = {0};
	int rc = mpc_b_alloc(&d, b->s * b->Wc);

	for (size_t j = 0; rc == 0 && j < b->s; j++) {
		struct mpc_b dj = mpc_layout_view(&d, j * b->Wc, b->Wc);

		for (size_t c = 0; c < b->C; c++)
			put_bit(&dj, c, slot, c * b->s + j);
	}
	if (rc == 0)
		*out = d;
	return rc;
}

/* s planes for each of r slot planes, reduction i at words i·Wc of every plane. Local. */
static int cluster_planes_r(const struct mpc_layout_bk *b, const struct mpc_b *slot, size_t r,
			    struct mpc_b *out)
{
	size_t RW = r * b->Wc;
	struct mpc_b d = {0};
	int rc = mpc_b_alloc(&d, b->s * RW);

	for (size_t i = 0; rc == 0 && i < r; i++) {
		struct mpc_b si = mpc_layout_view(slot, i * b->W, b->W), cp = {0};

		rc = mpc_layout_cluster_planes(b, &si, &cp);
		for (size_t j = 0; rc == 0 && j < b->s; j++)
			mpc_layout_copy(&d, j * RW + i * b->Wc, &cp, j * b->Wc, b->Wc);
		mpc_b_free(&cp);
	}
	if (rc == 0)
		*out = d;
	else
		mpc_b_free(&d);
	return rc;
}

int mpc_layout_cluster_or(struct mpc_party *p, const struct mpc_layout_bk *b,
			  const struct mpc_b *slot, size_t r, struct mpc_b *out)
{
	struct mpc_b planes = {0}, zero = {0};
	int rc = cluster_planes_r(b, slot, r, &planes);

	if (rc == 0)
		rc = mpc_b_alloc(&zero, r * b->Wc);
	if (rc == 0)
		rc = mpc_layout_nor(p, &planes, b->s, r * b->Wc, &zero, 1, out);
	if (rc == 0)
		mpc_b_not(p, out);
	mpc_b_free(&planes);
	mpc_b_free(&zero);
	return rc;
}

int mpc_layout_cluster_xor(const struct mpc_layout_bk *b, const struct mpc_b *slot, size_t r,
			   struct mpc_b *out)
{
	struct mpc_b planes = {0}, x = {0};
	size_t RW = r * b->Wc;
	int rc = cluster_planes_r(b, slot, r, &planes);

	if (rc == 0)
		rc = mpc_b_alloc(&x, RW);
	for (size_t j = 0; rc == 0 && j < b->s; j++) {
		struct mpc_b pj = mpc_layout_view(&planes, j * RW, RW);

		rc = mpc_b_xor(&x, &x, &pj);
	}
	if (rc == 0) {
		*out = x;
		x = (struct mpc_b){0};
	}
	mpc_b_free(&planes);
	mpc_b_free(&x);
	return rc;
}

void mpc_layout_place(struct mpc_b *dst, size_t dplane, size_t dst_w, size_t off,
		      const struct mpc_b *src, size_t C)
{
	struct mpc_b d = mpc_layout_view(dst, dplane * dst_w, dst_w);

	for (size_t c = 0; c < C; c++)
		put_bit(&d, off + c, src, c);
}

int mpc_layout_count_open(struct mpc_party *p, const struct mpc_b *in, size_t R, size_t Wc,
			  uint64_t *out)
{
	size_t per = 64 * Wc, n;
	struct mpc_a a = {0}, sums = {0};
	uint64_t *open = NULL;
	int rc;

	if (__builtin_mul_overflow(R, per, &n) || in->w < R * Wc || R == 0)
		return CL_EINVAL;
	if (mpc_party_self(p) == 0 && out == NULL)
		return CL_EINVAL;
	rc = mpc_b2a(p, in, n, &a);
	if (rc == 0)
		rc = mpc_a_alloc(&sums, R);
	for (size_t r = 0; rc == 0 && r < R; r++)
		for (size_t k = 0; k < per; k++) {
			sums.s0[r] += a.s0[r * per + k];
			sums.s1[r] += a.s1[r * per + k];
		}
	if (rc == 0 && mpc_party_self(p) == 0) {
		open = calloc(R, sizeof(uint64_t));
		if (open == NULL)
			rc = CL_ENOMEM;
	}
	if (rc == 0)
		rc = mpc_a_open_to(p, 0, &sums, open);
	if (rc == 0 && open != NULL)
		memcpy(out, open, R * sizeof(uint64_t));
	free(open);
	mpc_a_free(&a);
	mpc_a_free(&sums);
	return rc;
}

int mpc_layout_pick(struct mpc_party *p, const struct mpc_layout_bk *b, const struct mpc_b *sel,
		    size_t r, const struct mpc_a *const *cols, size_t m, struct mpc_a *out)
{
	size_t per = b->W * 64, blk = b->n;
	struct mpc_a sa = {0}, ss = {0}, tt = {0}, prod = {0}, o = {0};
	int rc = sel->w >= r * b->W ? mpc_b2a(p, sel, r * per, &sa) : CL_EINVAL;

	for (size_t j = 0; rc == 0 && j < m; j++)
		if (cols[j]->n != b->n)
			rc = CL_EINVAL;
	if (rc == 0)
		rc = mpc_a_alloc(&ss, r * m * blk);
	if (rc == 0)
		rc = mpc_a_alloc(&tt, r * m * blk);
	for (size_t i = 0; rc == 0 && i < r; i++)
		for (size_t j = 0; j < m; j++) {
			size_t at = (i * m + j) * blk;

			memcpy(ss.s0 + at, sa.s0 + i * per, blk * 8);
			memcpy(ss.s1 + at, sa.s1 + i * per, blk * 8);
			memcpy(tt.s0 + at, cols[j]->s0, blk * 8);
			memcpy(tt.s1 + at, cols[j]->s1, blk * 8);
		}
	if (rc == 0)
		rc = mpc_a_alloc(&prod, r * m * blk);
	if (rc == 0)
		rc = mpc_a_mul(p, &prod, &ss, &tt);
	if (rc == 0)
		rc = mpc_a_alloc(&o, r * m * blk);
	for (size_t i = 0; rc == 0 && i < r * m; i++)
		for (size_t c = 0; c < b->C; c++) {
			uint64_t a0 = 0, a1 = 0;
			size_t at = i * blk + c * b->s;

			for (size_t j = 0; j < b->s; j++) {
				a0 += prod.s0[at + j];
				a1 += prod.s1[at + j];
			}
			for (size_t j = 0; j < b->s; j++) {
				o.s0[at + j] = a0;
				o.s1[at + j] = a1;
			}
		}
	if (rc == 0) {
		*out = o;
		o = (struct mpc_a){0};
	}
	mpc_a_free(&sa);
	mpc_a_free(&ss);
	mpc_a_free(&tt);
	mpc_a_free(&prod);
	mpc_a_free(&o);
	return rc;
}

int mpc_layout_pair_lt(struct mpc_party *p, const struct mpc_layout_bk *b,
		       const struct mpc_layout_cmp *spec, size_t m, struct mpc_b *out)
{
	size_t per = b->W * 64;
	unsigned self = mpc_party_self(p);
	struct mpc_a d = {0};
	struct mpc_b r = {0};
	int rc = mpc_a_alloc(&d, m * b->Q * per);

	for (size_t i = 0; rc == 0 && i < m; i++)
		if (spec[i].f->n != b->n || spec[i].k->n != b->n)
			rc = CL_EINVAL;
	for (size_t i = 0; rc == 0 && i < m; i++)
		for (size_t q = 0; q < b->Q; q++)
			for (size_t k = 0; k < b->n; k++) {
				uint32_t f = b->map[q * b->n + k];
				uint64_t c = spec[i].c;
				size_t at = (i * b->Q + q) * per + k;

				if (spec[i].tie && (k % b->s) + q + 1 >= b->s)
					c++;
				d.s0[at] =
				    spec[i].f->s0[f] - spec[i].k->s0[k] - (self == 0 ? c : 0);
				d.s1[at] =
				    spec[i].f->s1[f] - spec[i].k->s1[k] - (self == 2 ? c : 0);
			}
	if (rc == 0)
		rc = mpc_msb32(p, &d, &r);
	if (rc == 0)
		*out = r;
	mpc_a_free(&d);
	return rc;
}

int mpc_layout_outside(struct mpc_party *p, const struct mpc_layout_bk *b, const struct mpc_a *t,
		       const struct mpc_a *lo, size_t r, uint64_t width, struct mpc_b *out)
{
	size_t per = b->W * 64;
	unsigned self = mpc_party_self(p);
	struct mpc_a d = {0};
	int rc = t->n == b->n && lo->n >= r * b->n ? mpc_a_alloc(&d, 2 * r * per) : CL_EINVAL;

	for (size_t i = 0; rc == 0 && i < r; i++)
		for (size_t k = 0; k < b->n; k++) {
			size_t l = i * b->n + k, x = 2 * i * per + k, y = x + per;

			d.s0[x] = t->s0[k] - lo->s0[l];
			d.s1[x] = t->s1[k] - lo->s1[l];
			d.s0[y] = lo->s0[l] - t->s0[k] + (self == 0 ? width : 0);
			d.s1[y] = lo->s1[l] - t->s1[k] + (self == 2 ? width : 0);
		}
	if (rc == 0)
		rc = mpc_msb32(p, &d, out);
	mpc_a_free(&d);
	return rc;
}
