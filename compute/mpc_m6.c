/*
 * mpc_m6 — M6 children_affected over shares laid out by linked person (mpc_measures.h).
 *
 * Per bucket of cluster size s, slot e and partner f (pair planes, mpc_layout.h):
 *
 *   first_e  = child_e and no child f before e                  (the first child event)
 *   cover_k  = known_k + #{known f : lo_f <= lo_k < hi_f}        (records agreeing at lo_k + 1)
 *   best_k   = known_k and no known f with cover_f > cover_k, or equal cover and lo_f before
 *              lo_k (ties by position)              (the earliest range most records agree on)
 *   pbs      = lo_best + 1; pbe = the smallest lo_f or hi_f above lo_best (one-hot minimum,
 *              ties by position), with the day numbers of both keys
 *
 * and per cluster, with E the first child event's date key and T_A its day thresholds:
 * young >= A when pbe <= E − A·10000, old >= A when pbs <= E − A·10000, the middle day
 * D(pbs) + trunc((D(pbe) − D(pbs)) / 2) gives age >= A when it is <= T_A; the band is
 * unknown without a known record, when young < 0 or old > 200, or when the bands differ
 * and the middle age is negative, else band(young) when old and young agree, else the
 * middle date's band (the reference's ms_band_at). Sex: the most frequent of F, M, X over
 * the record slots (ties F, M, X; none U); threat: the highest level. The 7 × 4 × 4 grid of
 * children and their total are counted over all clusters and opened to P0 only.
 */
#include "compute/mpc_measures.h"

#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "compute/mpc_circuit.h"
#include "compute/mpc_layout.h"

#define NCELL (MPC_M6_BANDS * MPC_M6_SEXES * MPC_M6_THREATS)

/* Pair relations of stage 1, in this order (plane i·Q + q). */
enum { R_BEFORE, R_C1, R_C2N, R_LOLT, R_HLT, R_LHLT, R_HHLT, NREL };

/* Cluster comparisons of stage 3, in this order (plane i of Wc words). */
enum { C_OLD = 0, C_YOUNG = 6, C_NEG = 12, C_M0 = 13, C_M1 = 19, C_SEX = 25, NCMP = 29 };

static const uint64_t old_ages[6] = {4, 7, 10, 15, 18, 201};
static const uint64_t young_ages[6] = {0, 4, 7, 10, 15, 18};

/* Cluster-level planes over all buckets: child (1), band (7), sex (4), threat (4). */
struct m6g {
	size_t C, Wc;
	struct mpc_b child, band, sex, thr;
};

/* The slot-level results of stage 1 and 2 a bucket keeps. */
struct m6s {
	struct mpc_b rel, first, best;
	struct mpc_a cover;
};

static void m6s_free(struct m6s *s)
{
	mpc_b_free(&s->rel);
	mpc_b_free(&s->first);
	mpc_b_free(&s->best);
	mpc_a_free(&s->cover);
}

static struct mpc_b rel(const struct mpc_layout_bk *b, const struct m6s *s, int i)
{
	return mpc_layout_view(&s->rel, (size_t)i * b->Q * b->W, b->Q * b->W);
}

static struct mpc_a ablock(const struct mpc_a *a, size_t i, size_t n)
{
	struct mpc_a r = {.n = n, .s0 = a->s0 + i * n, .s1 = a->s1 + i * n};

	return r;
}

/* Stage 1: the pair relations, the first child slot and each record's cover. */
static int stage_pairs(struct mpc_party *p, const struct mpc_layout_bk *b,
		       const struct mpc_m6_bucket *in, struct m6s *s)
{
	const struct mpc_layout_cmp spec[NREL] = {
	    {&in->t, &in->t, 0, 1},   {&in->lo, &in->lo, 1, 0}, {&in->hi, &in->lo, 1, 0},
	    {&in->lo, &in->lo, 0, 1}, {&in->hi, &in->lo, 0, 1}, {&in->lo, &in->hi, 0, 1},
	    {&in->hi, &in->hi, 0, 1}};
	size_t W = b->W, QW = b->Q * W, per = W * 64;
	struct mpc_b gk = {0}, r3 = {0}, x = {0}, all = {0};
	struct mpc_a a = {0};
	int rc = mpc_layout_pair_lt(p, b, spec, NREL, &s->rel);

	if (rc == 0) {
		struct mpc_b before = rel(b, s, R_BEFORE);

		rc = mpc_layout_first(p, b, &in->child, &before, &s->first);
	}
	/* x_q = known_f and lo_f <= lo_k and not hi_f <= lo_k */
	if (rc == 0)
		rc = mpc_layout_pairs(b, &in->known, &gk);
	if (rc == 0)
		rc = mpc_b_alloc(&r3, 3 * QW);
	if (rc == 0) {
		struct mpc_b c1 = rel(b, s, R_C1), c2n = rel(b, s, R_C2N);
		struct mpc_b neg = mpc_layout_view(&r3, 2 * QW, QW);

		mpc_layout_copy(&r3, 0, &gk, 0, QW);
		mpc_layout_copy(&r3, QW, &c1, 0, QW);
		mpc_layout_copy(&r3, 2 * QW, &c2n, 0, QW);
		mpc_b_not(p, &neg);
		rc = mpc_and_reduce(p, &r3, 3, QW, &x);
	}
	/* cover = Σ B2A([known | x_0 .. x_{Q-1}]) */
	if (rc == 0)
		rc = mpc_b_alloc(&all, QW + W);
	if (rc == 0) {
		mpc_layout_copy(&all, 0, &in->known, 0, W);
		mpc_layout_copy(&all, W, &x, 0, QW);
		rc = mpc_b2a(p, &all, (b->Q + 1) * per, &a);
	}
	if (rc == 0)
		rc = mpc_a_alloc(&s->cover, b->n);
	for (size_t k = 0; rc == 0 && k < b->n; k++)
		for (size_t i = 0; i <= b->Q; i++) {
			s->cover.s0[k] += a.s0[i * per + k];
			s->cover.s1[k] += a.s1[i * per + k];
		}
	mpc_b_free(&gk);
	mpc_b_free(&r3);
	mpc_b_free(&x);
	mpc_b_free(&all);
	mpc_a_free(&a);
	return rc;
}

/* Stage 2: best = known and no known f better (more cover, or equal and lo_f before lo_k). */
static int stage_best(struct mpc_party *p, const struct mpc_layout_bk *b,
		      const struct mpc_m6_bucket *in, struct m6s *s)
{
	const struct mpc_layout_cmp spec[2] = {{&s->cover, &s->cover, 1, 0},
					       {&s->cover, &s->cover, 0, 0}};
	size_t QW = b->Q * b->W;
	struct mpc_b c = {0}, y = {0}, nb = {0}, gk = {0}, bad = {0};
	int rc = mpc_layout_pair_lt(p, b, spec, 2, &c); /* [cov_f <= cov_k | cov_f < cov_k] */

	if (rc == 0) {
		struct mpc_b lt = mpc_layout_view(&c, QW, QW), lolt = rel(b, s, R_LOLT);

		mpc_b_not(p, &lt); /* cov_f >= cov_k */
		rc = mpc_layout_and(p, &lt, &lolt, &y);
	}
	if (rc == 0) {
		struct mpc_b le = mpc_layout_view(&c, 0, QW);

		mpc_b_not(p, &y);
		rc = mpc_layout_and(p, &le, &y, &nb); /* not better */
	}
	if (rc == 0)
		rc = mpc_layout_pairs(b, &in->known, &gk);
	if (rc == 0) {
		mpc_b_not(p, &nb);
		rc = mpc_layout_and(p, &gk, &nb, &bad);
	}
	if (rc == 0)
		rc = mpc_layout_nor(p, &bad, b->Q, b->W, &in->known, 0, &s->best);
	mpc_b_free(&c);
	mpc_b_free(&y);
	mpc_b_free(&nb);
	mpc_b_free(&gk);
	mpc_b_free(&bad);
	return rc;
}

/* The one-hot minimum among the candidates above lo_b: [minLo | minHi] (2 planes). */
static int stage_min(struct mpc_party *p, const struct mpc_layout_bk *b,
		     const struct mpc_m6_bucket *in, const struct m6s *s, const struct mpc_a *lob,
		     struct mpc_b *out)
{
	size_t W = b->W, Q = b->Q, QW = Q * W, per = W * 64;
	struct mpc_a d = {0};
	struct mpc_b m = {0}, kk = {0}, cand = {0}, gl = {0}, gh = {0}, xs = {0}, ys = {0};
	struct mpc_b z = {0}, planes = {0};
	int rc = mpc_a_alloc(&d, 2 * per);

	/* lo_k > lo_b, hi_k > lo_b */
	for (size_t k = 0; rc == 0 && k < b->n; k++) {
		d.s0[k] = lob->s0[k] - in->lo.s0[k];
		d.s1[k] = lob->s1[k] - in->lo.s1[k];
		d.s0[per + k] = lob->s0[k] - in->hi.s0[k];
		d.s1[per + k] = lob->s1[k] - in->hi.s1[k];
	}
	if (rc == 0)
		rc = mpc_msb32(p, &d, &m);
	if (rc == 0)
		rc = mpc_b_alloc(&kk, 2 * W);
	if (rc == 0) {
		mpc_layout_copy(&kk, 0, &in->known, 0, W);
		mpc_layout_copy(&kk, W, &in->known, 0, W);
		rc = mpc_layout_and(p, &m, &kk, &cand); /* [candL | candH] */
	}
	if (rc == 0 && Q > 0) {
		struct mpc_b cl = mpc_layout_view(&cand, 0, W), ch = mpc_layout_view(&cand, W, W);

		rc = mpc_layout_pairs(b, &cl, &gl);
		if (rc == 0)
			rc = mpc_layout_pairs(b, &ch, &gh);
		if (rc == 0)
			rc = mpc_b_alloc(&xs, 4 * QW);
		if (rc == 0)
			rc = mpc_b_alloc(&ys, 4 * QW);
		if (rc == 0) {
			struct mpc_b r1 = rel(b, s, R_LOLT), r2 = rel(b, s, R_HLT);
			struct mpc_b r3 = rel(b, s, R_LHLT), r4 = rel(b, s, R_HHLT);

			mpc_layout_copy(&xs, 0, &gl, 0, QW);
			mpc_layout_copy(&ys, 0, &r1, 0, QW);
			mpc_layout_copy(&xs, QW, &gh, 0, QW);
			mpc_layout_copy(&ys, QW, &r2, 0, QW);
			mpc_layout_copy(&xs, 2 * QW, &gl, 0, QW);
			mpc_layout_copy(&ys, 2 * QW, &r3, 0, QW);
			mpc_layout_copy(&xs, 3 * QW, &gh, 0, QW);
			mpc_layout_copy(&ys, 3 * QW, &r4, 0, QW);
			rc = mpc_layout_and(p, &xs, &ys, &z);
		}
	}
	/* 2Q + 1 planes of 2W words: [lo part | hi part], then [0 | candL]; last [candL | candH] */
	if (rc == 0)
		rc = mpc_b_alloc(&planes, (2 * Q + 1) * 2 * W);
	for (size_t q = 0; rc == 0 && q < Q; q++) {
		mpc_layout_copy(&planes, 2 * q * W, &z, q * W, W);
		mpc_layout_copy(&planes, (2 * q + 1) * W, &z, 2 * QW + q * W, W);
		mpc_layout_copy(&planes, 2 * (Q + q) * W, &z, QW + q * W, W);
		mpc_layout_copy(&planes, (2 * (Q + q) + 1) * W, &z, 3 * QW + q * W, W);
	}
	if (rc == 0) {
		mpc_layout_copy(&planes, (4 * Q + 1) * W, &cand, 0, W);
		rc = mpc_layout_nor(p, &planes, 2 * Q + 1, 2 * W, &cand, 0, out);
	}
	mpc_a_free(&d);
	mpc_b_free(&m);
	mpc_b_free(&kk);
	mpc_b_free(&cand);
	mpc_b_free(&gl);
	mpc_b_free(&gh);
	mpc_b_free(&xs);
	mpc_b_free(&ys);
	mpc_b_free(&z);
	mpc_b_free(&planes);
	return rc;
}

/* The cluster values the band needs (at slot c·s of each, n elements each). */
struct m6v {
	struct mpc_a e, b, m; /* e: ekey, tday[6]; b: lob, dpbs; m: 2 × 4 picks */
	struct mpc_a nsex;    /* 3 blocks of n: counts of F, M, X */
};

static void m6v_free(struct m6v *v)
{
	mpc_a_free(&v->e);
	mpc_a_free(&v->b);
	mpc_a_free(&v->m);
	mpc_a_free(&v->nsex);
}

static int stage_values(struct mpc_party *p, const struct mpc_layout_bk *b,
			const struct mpc_m6_bucket *in, const struct m6s *s, struct m6v *v)
{
	struct mpc_a td[MPC_M6_TDAYS], a = {0};
	const struct mpc_a *ecols[1 + MPC_M6_TDAYS], *bcols[2] = {&in->lo, &in->dlo1};
	const struct mpc_a *mcols[4] = {&in->lo, &in->hi, &in->dlo, &in->dhi};
	struct mpc_b mins = {0};
	size_t per = b->W * 64;
	int rc;

	ecols[0] = &in->ekey;
	for (size_t i = 0; i < MPC_M6_TDAYS; i++) {
		td[i] = ablock(&in->tday, i, b->n);
		ecols[1 + i] = &td[i];
	}
	rc = mpc_layout_pick(p, b, &s->first, 1, ecols, 1 + MPC_M6_TDAYS, &v->e);
	if (rc == 0)
		rc = mpc_layout_pick(p, b, &s->best, 1, bcols, 2, &v->b);
	if (rc == 0)
		rc = stage_min(p, b, in, s, &v->b, &mins);
	if (rc == 0)
		rc = mpc_layout_pick(p, b, &mins, 2, mcols, 4, &v->m);
	/* the sex counts of each cluster */
	if (rc == 0)
		rc = mpc_b2a(p, &in->sex, 3 * per, &a);
	if (rc == 0)
		rc = mpc_a_alloc(&v->nsex, 3 * b->n);
	for (size_t x = 0; rc == 0 && x < 3; x++)
		for (size_t c = 0; c < b->C; c++)
			for (size_t j = 0; j < b->s; j++) {
				v->nsex.s0[x * b->n + c * b->s] += a.s0[x * per + c * b->s + j];
				v->nsex.s1[x * b->n + c * b->s] += a.s1[x * per + c * b->s + j];
			}
	mpc_b_free(&mins);
	mpc_a_free(&a);
	return rc;
}

/* Writes comparison i's value for cluster c: (v0, v1) of both shares, constant k. */
static void cmp_set(struct mpc_a *d, unsigned self, size_t i, size_t per, size_t c, uint64_t v0,
		    uint64_t v1, uint64_t k)
{
	d->s0[i * per + c] = v0 + (self == 0 ? k : 0);
	d->s1[i * per + c] = v1 + (self == 2 ? k : 0);
}

/* Stage 3: the NCMP cluster comparisons (planes of Wc words). */
static int stage_compare(struct mpc_party *p, const struct mpc_layout_bk *b, const struct m6v *v,
			 struct mpc_b *out)
{
	size_t per = b->Wc * 64, n = b->n;
	unsigned self = mpc_party_self(p);
	struct mpc_a d = {0};
	int rc = mpc_a_alloc(&d, NCMP * per);

	for (size_t c = 0; rc == 0 && c < b->C; c++) {
		size_t k = c * b->s;
		uint64_t e0 = v->e.s0[k], e1 = v->e.s1[k];
		uint64_t lb0 = v->b.s0[k], lb1 = v->b.s1[k];
		uint64_t ds0 = v->b.s0[n + k], ds1 = v->b.s1[n + k];
		/* pbe = minLo·lo + minHi·hi; D(pbe) = minLo·dlo + minHi·dhi (blocks i·4 + j) */
		uint64_t pe0 = v->m.s0[k] + v->m.s0[5 * n + k],
			 pe1 = v->m.s1[k] + v->m.s1[5 * n + k];
		uint64_t de0 = v->m.s0[2 * n + k] + v->m.s0[7 * n + k];
		uint64_t de1 = v->m.s1[2 * n + k] + v->m.s1[7 * n + k];
		const struct mpc_a *ns = &v->nsex;

		for (size_t i = 0; i < 6; i++) {
			uint64_t t0 = v->e.s0[(1 + i) * n + k], t1 = v->e.s1[(1 + i) * n + k];

			/* lo_b + 1 <= E − 10000 A; pbe <= E − 10000 A */
			cmp_set(&d, self, C_OLD + i, per, c, lb0 - e0, lb1 - e1,
				10000 * old_ages[i]);
			cmp_set(&d, self, C_YOUNG + i, per, c, pe0 - e0, pe1 - e1,
				10000 * young_ages[i] - 1);
			/* D(pbe) + D(pbs) + neg <= 2 T + 1 */
			cmp_set(&d, self, C_M0 + i, per, c, de0 + ds0 - 2 * t0, de1 + ds1 - 2 * t1,
				(uint64_t)-2);
			cmp_set(&d, self, C_M1 + i, per, c, de0 + ds0 - 2 * t0, de1 + ds1 - 2 * t1,
				(uint64_t)-1);
		}
		cmp_set(&d, self, C_NEG, per, c, de0 - ds0, de1 - ds1, 0);
		/* F, M, X: nF < nX, nM < nX, nF < nM, 0 < nF */
		cmp_set(&d, self, C_SEX, per, c, ns->s0[k] - ns->s0[2 * n + k],
			ns->s1[k] - ns->s1[2 * n + k], 0);
		cmp_set(&d, self, C_SEX + 1, per, c, ns->s0[n + k] - ns->s0[2 * n + k],
			ns->s1[n + k] - ns->s1[2 * n + k], 0);
		cmp_set(&d, self, C_SEX + 2, per, c, ns->s0[k] - ns->s0[n + k],
			ns->s1[k] - ns->s1[n + k], 0);
		cmp_set(&d, self, C_SEX + 3, per, c, 0 - ns->s0[k], 0 - ns->s1[k], 0);
	}
	if (rc == 0)
		rc = mpc_msb32(p, &d, out);
	mpc_a_free(&d);
	return rc;
}

/* x (m planes of Wc words) from the comparison planes listed. Local. */
static int planes_of(const struct mpc_b *src, size_t Wc, const int *idx, size_t m, struct mpc_b *x)
{
	int rc = mpc_b_alloc(x, m * Wc);

	for (size_t i = 0; rc == 0 && i < m; i++)
		mpc_layout_copy(x, i * Wc, src, (size_t)idx[i] * Wc, Wc);
	return rc;
}

/* The middle date's age thresholds: mid_A = m0_A ^ (neg & (m1_A ^ m0_A)), 6 planes. */
static int band_mid(struct mpc_party *p, size_t Wc, const struct mpc_b *cmp, struct mpc_b *mid)
{
	static const int m0i[6] = {C_M0, C_M0 + 1, C_M0 + 2, C_M0 + 3, C_M0 + 4, C_M0 + 5};
	static const int m1i[6] = {C_M1, C_M1 + 1, C_M1 + 2, C_M1 + 3, C_M1 + 4, C_M1 + 5};
	struct mpc_b m0 = {0}, dm = {0}, ng = {0};
	int rc = planes_of(cmp, Wc, m0i, 6, &m0);

	if (rc == 0)
		rc = planes_of(cmp, Wc, m1i, 6, &dm);
	if (rc == 0)
		rc = mpc_b_xor(&dm, &dm, &m0);
	if (rc == 0)
		rc = mpc_b_alloc(&ng, 6 * Wc);
	for (size_t i = 0; rc == 0 && i < 6; i++)
		mpc_layout_copy(&ng, i * Wc, cmp, C_NEG * Wc, Wc);
	if (rc == 0)
		rc = mpc_layout_and(p, &ng, &dm, mid);
	if (rc == 0)
		rc = mpc_b_xor(mid, mid, &m0);
	mpc_b_free(&m0);
	mpc_b_free(&dm);
	mpc_b_free(&ng);
	return rc;
}

/*
 * [eqb | kn1] (2 planes): eqb = old and young in the same band; kn1 = a known record, young
 * >= 0 and old <= 200. One AND of 5 planes each.
 */
static int band_agree(struct mpc_party *p, size_t Wc, const struct mpc_b *cmp,
		      const struct mpc_b *has, struct mpc_b *red)
{
	struct mpc_b r = {0};
	int rc = mpc_b_alloc(&r, 10 * Wc);

	/* planes i: not(old_A ^ young_A) | has, young_0, not old_201, 1, 1 */
	for (size_t i = 0; rc == 0 && i < 5; i++) {
		struct mpc_b e = mpc_layout_view(&r, 2 * i * Wc, Wc);
		struct mpc_b yv = mpc_layout_view(cmp, (C_YOUNG + 1 + i) * Wc, Wc);

		mpc_layout_copy(&r, 2 * i * Wc, cmp, (C_OLD + i) * Wc, Wc);
		rc = mpc_b_xor(&e, &e, &yv);
		mpc_b_not(p, &e);
	}
	if (rc == 0) {
		struct mpc_b o201 = mpc_layout_view(&r, 5 * Wc, Wc);
		struct mpc_b ones = mpc_layout_view(&r, 7 * Wc, Wc);
		struct mpc_b ones2 = mpc_layout_view(&r, 9 * Wc, Wc);

		mpc_layout_copy(&r, Wc, has, 0, Wc);
		mpc_layout_copy(&r, 3 * Wc, cmp, C_YOUNG * Wc, Wc);
		mpc_layout_copy(&r, 5 * Wc, cmp, (C_OLD + 5) * Wc, Wc);
		mpc_b_not(p, &o201);
		mpc_b_not(p, &ones);
		mpc_b_not(p, &ones2);
		rc = mpc_and_reduce(p, &r, 5, 2 * Wc, red);
	}
	mpc_b_free(&r);
	return rc;
}

/*
 * ge (6 planes): ge_A = eqb ? young_A : mid_A for A = 4 .. 18, then z = not eqb and not
 * mid_0 (the middle age is negative). One round.
 */
static int band_ge(struct mpc_party *p, size_t Wc, const struct mpc_b *cmp, const struct mpc_b *mid,
		   const struct mpc_b *red, struct mpc_b *ge)
{
	struct mpc_b x = {0}, y = {0};
	int rc = mpc_b_alloc(&x, 6 * Wc);

	if (rc == 0)
		rc = mpc_b_alloc(&y, 6 * Wc);
	for (size_t i = 0; rc == 0 && i < 5; i++) {
		mpc_layout_copy(&x, i * Wc, red, 0, Wc);
		mpc_layout_copy(&y, i * Wc, cmp, (C_YOUNG + 1 + i) * Wc, Wc);
		for (size_t t = 0; t < Wc; t++) {
			y.s0[i * Wc + t] ^= mid->s0[(1 + i) * Wc + t];
			y.s1[i * Wc + t] ^= mid->s1[(1 + i) * Wc + t];
		}
	}
	if (rc == 0) {
		struct mpc_b xe = mpc_layout_view(&x, 5 * Wc, Wc),
			     ye = mpc_layout_view(&y, 5 * Wc, Wc);

		mpc_layout_copy(&x, 5 * Wc, red, 0, Wc);
		mpc_layout_copy(&y, 5 * Wc, mid, 0, Wc);
		mpc_b_not(p, &xe);
		mpc_b_not(p, &ye);
		rc = mpc_layout_and(p, &x, &y, ge);
	}
	for (size_t i = 0; rc == 0 && i < 5; i++)
		for (size_t t = 0; t < Wc; t++) {
			ge->s0[i * Wc + t] ^= mid->s0[(1 + i) * Wc + t];
			ge->s1[i * Wc + t] ^= mid->s1[(1 + i) * Wc + t];
		}
	mpc_b_free(&x);
	mpc_b_free(&y);
	return rc;
}

/* Stage 4: the band one-hot (7 planes of Wc) from the comparisons and has (a known record). */
static int stage_band(struct mpc_party *p, size_t Wc, const struct mpc_b *cmp,
		      const struct mpc_b *has, struct mpc_b *band)
{
	struct mpc_b mid = {0}, red = {0}, ge = {0}, kb = {0}, u = {0}, w = {0};
	int rc = band_mid(p, Wc, cmp, &mid);

	if (rc == 0)
		rc = band_agree(p, Wc, cmp, has, &red);
	if (rc == 0)
		rc = band_ge(p, Wc, cmp, &mid, &red, &ge);
	/* kb = kn1 and not z: the band is known */
	if (rc == 0) {
		struct mpc_b kn1 = mpc_layout_view(&red, Wc, Wc),
			     z = mpc_layout_view(&ge, 5 * Wc, Wc);

		mpc_b_not(p, &z);
		rc = mpc_layout_and(p, &kn1, &z, &kb);
	}
	/* bands: kb & (not ge4, ge4^ge7, ge7^ge10, ge10^ge15, ge15^ge18, ge18); unknown = not kb */
	if (rc == 0)
		rc = mpc_b_alloc(&u, 6 * Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&w, 6 * Wc);
	for (size_t i = 0; rc == 0 && i < 6; i++) {
		mpc_layout_copy(&u, i * Wc, &kb, 0, Wc);
		if (i < 5)
			mpc_layout_copy(&w, i * Wc, &ge, i * Wc, Wc);
		if (i > 0) {
			struct mpc_b wi = mpc_layout_view(&w, i * Wc, Wc);
			struct mpc_b gp = mpc_layout_view(&ge, (i - 1) * Wc, Wc);

			rc = mpc_b_xor(&wi, &wi, &gp);
		}
	}
	if (rc == 0) {
		struct mpc_b w0 = mpc_layout_view(&w, 0, Wc);

		mpc_b_not(p, &w0);
		rc = mpc_b_alloc(band, MPC_M6_BANDS * Wc);
	}
	if (rc == 0) {
		struct mpc_b bb = mpc_layout_view(band, 0, 6 * Wc);
		struct mpc_b unk = mpc_layout_view(band, 6 * Wc, Wc);

		rc = mpc_b_and(p, &bb, &u, &w);
		mpc_layout_copy(band, 6 * Wc, &kb, 0, Wc);
		mpc_b_not(p, &unk);
	}
	mpc_b_free(&mid);
	mpc_b_free(&red);
	mpc_b_free(&ge);
	mpc_b_free(&kb);
	mpc_b_free(&u);
	mpc_b_free(&w);
	return rc;
}

/* The sex one-hot (F, M, X, U planes of Wc) from the comparisons nF<nX, nM<nX, nF<nM, 0<nF. */
static int stage_sex(struct mpc_party *p, size_t Wc, const struct mpc_b *cmp, struct mpc_b *sex)
{
	struct mpc_b x = {0}, y = {0}, z = {0}, f = {0};
	const struct mpc_b *c = cmp;
	size_t o = C_SEX * Wc;
	int rc = mpc_b_alloc(&x, 3 * Wc);

	/* X = gXF & gXM; M = gMF & not gXM; t = posF & not gMF; F = t & not gXF */
	if (rc == 0)
		rc = mpc_b_alloc(&y, 3 * Wc);
	if (rc == 0) {
		struct mpc_b y1 = mpc_layout_view(&y, Wc, 2 * Wc);

		mpc_layout_copy(&x, 0, c, o, Wc);
		mpc_layout_copy(&y, 0, c, o + Wc, Wc);
		mpc_layout_copy(&x, Wc, c, o + 2 * Wc, Wc);
		mpc_layout_copy(&y, Wc, c, o + Wc, Wc);
		mpc_layout_copy(&x, 2 * Wc, c, o + 3 * Wc, Wc);
		mpc_layout_copy(&y, 2 * Wc, c, o + 2 * Wc, Wc);
		mpc_b_not(p, &y1);
		rc = mpc_layout_and(p, &x, &y, &z);
	}
	if (rc == 0) {
		struct mpc_b t = mpc_layout_view(&z, 2 * Wc, Wc), g = {0};

		rc = mpc_b_alloc(&g, Wc);
		if (rc == 0) {
			mpc_layout_copy(&g, 0, c, o, Wc);
			mpc_b_not(p, &g);
			rc = mpc_layout_and(p, &t, &g, &f);
		}
		mpc_b_free(&g);
	}
	if (rc == 0)
		rc = mpc_b_alloc(sex, MPC_M6_SEXES * Wc);
	if (rc == 0) {
		struct mpc_b u = mpc_layout_view(sex, 3 * Wc, Wc);

		mpc_layout_copy(sex, 0, &f, 0, Wc);
		mpc_layout_copy(sex, Wc, &z, Wc, Wc);
		mpc_layout_copy(sex, 2 * Wc, &z, 0, Wc);
		for (size_t t = 0; t < Wc; t++) {
			u.s0[t] = f.s0[t] ^ z.s0[t] ^ z.s0[Wc + t];
			u.s1[t] = f.s1[t] ^ z.s1[t] ^ z.s1[Wc + t];
		}
		mpc_b_not(p, &u);
	}
	mpc_b_free(&x);
	mpc_b_free(&y);
	mpc_b_free(&z);
	mpc_b_free(&f);
	return rc;
}

/* The threat one-hot (0, 1, 2, unassessed planes of Wc) from any0, any1, any2. */
static int stage_threat(struct mpc_party *p, size_t Wc, const struct mpc_b *any, struct mpc_b *thr)
{
	struct mpc_b x = {0}, y = {0}, z = {0}, x2 = {0}, y2 = {0}, z2 = {0};
	int rc = mpc_b_alloc(&x, 2 * Wc);

	/* [any1 | not any1] & not any2, then [any0 | not any0] & that */
	if (rc == 0)
		rc = mpc_b_alloc(&y, 2 * Wc);
	if (rc == 0) {
		struct mpc_b x1 = mpc_layout_view(&x, Wc, Wc);

		mpc_layout_copy(&x, 0, any, Wc, Wc);
		mpc_layout_copy(&x, Wc, any, Wc, Wc);
		mpc_b_not(p, &x1);
		mpc_layout_copy(&y, 0, any, 2 * Wc, Wc);
		mpc_layout_copy(&y, Wc, any, 2 * Wc, Wc);
		mpc_b_not(p, &y);
		rc = mpc_layout_and(p, &x, &y, &z);
	}
	if (rc == 0)
		rc = mpc_b_alloc(&x2, 2 * Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&y2, 2 * Wc);
	if (rc == 0) {
		struct mpc_b x1 = mpc_layout_view(&x2, Wc, Wc);

		mpc_layout_copy(&x2, 0, any, 0, Wc);
		mpc_layout_copy(&x2, Wc, any, 0, Wc);
		mpc_b_not(p, &x1);
		mpc_layout_copy(&y2, 0, &z, Wc, Wc);
		mpc_layout_copy(&y2, Wc, &z, Wc, Wc);
		rc = mpc_layout_and(p, &x2, &y2, &z2);
	}
	if (rc == 0)
		rc = mpc_b_alloc(thr, MPC_M6_THREATS * Wc);
	if (rc == 0) {
		mpc_layout_copy(thr, 0, &z2, 0, Wc);
		mpc_layout_copy(thr, Wc, &z, 0, Wc);
		mpc_layout_copy(thr, 2 * Wc, any, 2 * Wc, Wc);
		mpc_layout_copy(thr, 3 * Wc, &z2, Wc, Wc);
	}
	mpc_b_free(&x);
	mpc_b_free(&y);
	mpc_b_free(&z);
	mpc_b_free(&x2);
	mpc_b_free(&y2);
	mpc_b_free(&z2);
	return rc;
}

/* Places r planes of a bucket's cluster values (Wb words each) at dst's planes from off. */
static void place_planes(struct mpc_b *dst, size_t dst_w, size_t off, const struct mpc_b *src,
			 size_t r, size_t Wb, size_t C)
{
	for (size_t i = 0; i < r; i++) {
		struct mpc_b si = mpc_layout_view(src, i * Wb, Wb);

		mpc_layout_place(dst, i, dst_w, off, &si, C);
	}
}

static int bucket(struct mpc_party *p, const struct mpc_layout_bk *b,
		  const struct mpc_m6_bucket *in, struct m6g *g, size_t off)
{
	struct m6s s;
	struct m6v v;
	struct mpc_b cmp = {0}, has = {0}, band = {0}, sex = {0}, any = {0}, thr = {0}, ch = {0};
	size_t Wc = b->Wc;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	memset(&v, 0, sizeof(v));
	if (b->Q > 0) {
		rc = stage_pairs(p, b, in, &s);
		if (rc == 0)
			rc = stage_best(p, b, in, &s);
	} else {
		rc = mpc_b_alloc(&s.first, b->W);
		if (rc == 0)
			rc = mpc_b_alloc(&s.best, b->W);
		if (rc == 0) {
			mpc_layout_copy(&s.first, 0, &in->child, 0, b->W);
			mpc_layout_copy(&s.best, 0, &in->known, 0, b->W);
		}
	}
	if (rc == 0)
		rc = stage_values(p, b, in, &s, &v);
	if (rc == 0)
		rc = stage_compare(p, b, &v, &cmp);
	if (rc == 0)
		rc = mpc_layout_cluster_xor(b, &s.best, 1, &has);
	if (rc == 0)
		rc = stage_band(p, Wc, &cmp, &has, &band);
	if (rc == 0)
		rc = stage_sex(p, Wc, &cmp, &sex);
	if (rc == 0)
		rc = mpc_layout_cluster_or(p, b, &in->threat, 3, &any);
	if (rc == 0)
		rc = stage_threat(p, Wc, &any, &thr);
	if (rc == 0)
		rc = mpc_layout_cluster_or(p, b, &in->child, 1, &ch);
	if (rc == 0) {
		place_planes(&g->child, g->Wc, off, &ch, 1, Wc, b->C);
		place_planes(&g->band, g->Wc, off, &band, MPC_M6_BANDS, Wc, b->C);
		place_planes(&g->sex, g->Wc, off, &sex, MPC_M6_SEXES, Wc, b->C);
		place_planes(&g->thr, g->Wc, off, &thr, MPC_M6_THREATS, Wc, b->C);
	}
	m6s_free(&s);
	m6v_free(&v);
	mpc_b_free(&cmp);
	mpc_b_free(&has);
	mpc_b_free(&band);
	mpc_b_free(&sex);
	mpc_b_free(&any);
	mpc_b_free(&thr);
	mpc_b_free(&ch);
	return rc;
}

/* The grid: child & band_b & sex_x & thr_l, and the children; counted, opened to P0. */
static int counts(struct mpc_party *p, const struct m6g *g, struct mpc_m6_counts *out)
{
	size_t Wc = g->Wc, NT = MPC_M6_SEXES * MPC_M6_THREATS, R = 1 + NCELL;
	struct mpc_b x = {0}, y = {0}, st = {0}, cell = {0}, rows = {0};
	uint64_t *v = NULL;
	int rc = mpc_b_alloc(&x, (MPC_M6_BANDS + NT) * Wc);

	if (rc == 0)
		rc = mpc_b_alloc(&y, (MPC_M6_BANDS + NT) * Wc);
	for (size_t i = 0; rc == 0 && i < MPC_M6_BANDS; i++) {
		mpc_layout_copy(&x, i * Wc, &g->child, 0, Wc);
		mpc_layout_copy(&y, i * Wc, &g->band, i * Wc, Wc);
	}
	for (size_t i = 0; rc == 0 && i < NT; i++) {
		mpc_layout_copy(&x, (MPC_M6_BANDS + i) * Wc, &g->sex, i / MPC_M6_THREATS * Wc, Wc);
		mpc_layout_copy(&y, (MPC_M6_BANDS + i) * Wc, &g->thr, i % MPC_M6_THREATS * Wc, Wc);
	}
	if (rc == 0)
		rc = mpc_layout_and(p, &x, &y, &st); /* [child & band_b | sex_x & thr_l] */
	mpc_b_free(&x);
	mpc_b_free(&y);
	if (rc == 0)
		rc = mpc_b_alloc(&x, NCELL * Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&y, NCELL * Wc);
	for (size_t i = 0; rc == 0 && i < NCELL; i++) {
		mpc_layout_copy(&x, i * Wc, &st, i / NT * Wc, Wc);
		mpc_layout_copy(&y, i * Wc, &st, (MPC_M6_BANDS + i % NT) * Wc, Wc);
	}
	if (rc == 0)
		rc = mpc_layout_and(p, &x, &y, &cell);
	if (rc == 0)
		rc = mpc_b_alloc(&rows, R * Wc);
	if (rc == 0) {
		mpc_layout_copy(&rows, 0, &g->child, 0, Wc);
		mpc_layout_copy(&rows, Wc, &cell, 0, NCELL * Wc);
	}
	if (rc == 0 && mpc_party_self(p) == 0) {
		v = calloc(R, sizeof(uint64_t));
		if (v == NULL)
			rc = CL_ENOMEM;
	}
	if (rc == 0)
		rc = mpc_layout_count_open(p, &rows, R, Wc, v);
	if (rc == 0 && v != NULL) {
		out->children = v[0];
		for (size_t i = 0; i < NCELL; i++)
			out->grid[i / NT][i / MPC_M6_THREATS % MPC_M6_SEXES][i % MPC_M6_THREATS] =
			    v[1 + i];
	}
	free(v);
	mpc_b_free(&x);
	mpc_b_free(&y);
	mpc_b_free(&st);
	mpc_b_free(&cell);
	mpc_b_free(&rows);
	return rc;
}

static int check_inputs(const struct mpc_layout_bk *b, const struct mpc_m6_bucket *in)
{
	size_t n = b->n, W = b->W;

	if (in->t.n != n || in->ekey.n != n || in->tday.n != MPC_M6_TDAYS * n || in->lo.n != n ||
	    in->hi.n != n || in->dlo1.n != n || in->dlo.n != n || in->dhi.n != n ||
	    in->child.w < W || in->threat.w < 3 * W || in->rec.w < W || in->sex.w < 3 * W ||
	    in->known.w < W)
		return CL_EINVAL;
	return 0;
}

int mpc_m6(struct mpc_party *p, const struct mpc_bucket *buckets, size_t nbuckets,
	   const struct mpc_m6_bucket *in, struct mpc_m6_counts *out)
{
	struct m6g g = {0};
	size_t off = 0;
	int rc;

	if (p == NULL || (nbuckets > 0 && (buckets == NULL || in == NULL)) ||
	    (mpc_party_self(p) == 0 && out == NULL))
		return CL_EINVAL;
	if (nbuckets > MPC_MAX_BUCKETS)
		return CL_ELIMIT;
	for (size_t i = 0; i < nbuckets; i++)
		g.C += buckets[i].clusters;
	g.Wc = mpc_words(g.C ? g.C : 1);
	rc = mpc_b_alloc(&g.child, g.Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&g.band, MPC_M6_BANDS * g.Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&g.sex, MPC_M6_SEXES * g.Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&g.thr, MPC_M6_THREATS * g.Wc);
	for (size_t i = 0; rc == 0 && i < nbuckets; i++) {
		struct mpc_layout_bk b;

		rc = mpc_layout_bk_init(&b, &buckets[i]);
		if (rc == 0)
			rc = check_inputs(&b, &in[i]);
		if (rc == 0 && b.n > 0)
			rc = bucket(p, &b, &in[i], &g, off);
		off += b.C;
		mpc_layout_bk_free(&b);
	}
	if (rc == 0)
		rc = counts(p, &g, out);
	mpc_b_free(&g.child);
	mpc_b_free(&g.band);
	mpc_b_free(&g.sex);
	mpc_b_free(&g.thr);
	return rc;
}
