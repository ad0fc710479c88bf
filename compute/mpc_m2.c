/*
 * mpc_m2 — M2 repeat_victimisation over shares laid out by linked person (mpc_measures.h).
 *
 * Per bucket of cluster size s, every slot e is paired with the s − 1 other slots
 * f = (j + q) mod s of its cluster (q = 1 .. s − 1; pair plane q − 1). With
 * before(f, e) = t_f < t_e or (t_f = t_e and f sits before e), near(f, e) = t_e − t_f <= 72 h:
 *
 *   start_e  = inc_e and no f with before and near          (episode starts)
 *   sin_e    = start_e and inper_e                          (in-period episode starts)
 *   first_e  = sin_e and no f with sin_f and before         (the first in-period episode)
 *   inep_e   = inc_e and some in-period start at or before e and no start after the
 *              period at or before e                        (e belongs to an in-period episode)
 *   ep_e     = number of starts at or before e              (e's episode, as a number)
 *   holds2_e = inep_e and some same-node f with inep_f and ep_f != ep_e
 *
 * and per cluster: victim = OR sin, repeat = OR (sin and not first), episodes = Σ sin,
 * hidden = repeat and no holds2, municipality one-hot = XOR (first and muni). The counts
 * per municipality are summed over all clusters of all buckets and opened to P0 only.
 */
#include "compute/mpc_measures.h"

#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "compute/mpc_circuit.h"

#define NSERIES	   4	      /* victims, repeats, hidden, repeat episodes (per municipality) */
#define PAIR_CHUNK (1u << 22) /* comparisons of one chunk of pairs */

static struct mpc_b bview(const struct mpc_b *v, size_t off, size_t w)
{
	struct mpc_b r = {.w = w, .s0 = v->s0 + off, .s1 = v->s1 + off};

	return r;
}

static void bcopy_to(struct mpc_b *dst, size_t off, const struct mpc_b *src, size_t soff, size_t w)
{
	memcpy(dst->s0 + off, src->s0 + soff, w * 8);
	memcpy(dst->s1 + off, src->s1 + soff, w * 8);
}

/* Both shares' bit k of plane word array (local helpers for bit placement). */
static void put_bit(struct mpc_b *dst, size_t k, const struct mpc_b *src, size_t m)
{
	dst->s0[k / 64] |= ((src->s0[m / 64] >> (m % 64)) & 1) << (k % 64);
	dst->s1[k / 64] |= ((src->s1[m / 64] >> (m % 64)) & 1) << (k % 64);
}

/* One bucket's public shape and scratch maps. */
struct bk {
	uint32_t s;
	size_t C, n, W, Q; /* clusters, slots, words per slot plane, pair planes */
	uint32_t *map;	   /* Q · n: the partner slot of each pair */
};

static int bk_init(struct bk *b, const struct mpc_bucket *in)
{
	size_t n;

	if (in->size == 0 || in->size > MPC_MAX_BUCKET_SIZE ||
	    __builtin_mul_overflow((size_t)in->size, (size_t)in->clusters, &n) ||
	    n > MPC_MAX_ELEMENTS)
		return CL_ELIMIT;
	b->s = in->size;
	b->C = in->clusters;
	b->n = n;
	b->W = mpc_words(n);
	b->Q = in->size - 1;
	b->map = NULL;
	if (b->Q == 0 || n == 0)
		return 0;
	if (b->Q * n > MPC_MAX_ELEMENTS)
		return CL_ELIMIT;
	b->map = malloc(b->Q * n * sizeof(uint32_t));
	if (b->map == NULL)
		return CL_ENOMEM;
	for (size_t q = 1; q <= b->Q; q++)
		for (size_t k = 0; k < n; k++) {
			size_t c = k / b->s, j = k % b->s;

			b->map[(q - 1) * n + k] = (uint32_t)(c * b->s + (j + q) % b->s);
		}
	return 0;
}

/* dst (Q planes of W) = for each pair plane q, src's bit at the partner slot. Local. */
static int gather_pairs(const struct bk *b, const struct mpc_b *src, struct mpc_b *dst)
{
	struct mpc_b d = {0};
	int rc = mpc_b_alloc(&d, b->Q * b->W);

	for (size_t q = 0; rc == 0 && q < b->Q; q++) {
		struct mpc_b dq = bview(&d, q * b->W, b->W);

		for (size_t k = 0; k < b->n; k++)
			put_bit(&dq, k, src, b->map[q * b->n + k]);
	}
	if (rc == 0)
		*dst = d;
	return rc;
}

/* before (Q planes) and near (Q planes) from the times: one comparison batch. */
/* The differences of pair planes [q0, q1): "before" ones, then "near" ones, per planes. */
static int pair_diffs(const struct mpc_party *p, const struct bk *b, const struct mpc_a *t,
		      size_t q0, size_t q1, struct mpc_a *d)
{
	size_t per = b->W * 64, nq = q1 - q0;
	int rc = mpc_a_alloc(d, 2 * nq * per);

	for (size_t q = q0; rc == 0 && q < q1; q++) {
		for (size_t k = 0; k < b->n; k++) {
			uint32_t f = b->map[q * b->n + k];
			/* f sits before e in the cluster when (j + q) wrapped past s */
			uint64_t tie = (k % b->s) + q + 1 >= b->s ? 1 : 0;
			size_t i1 = (q - q0) * per + k, i2 = (nq + q - q0) * per + k;

			d->s0[i1] = t->s0[f] - t->s0[k];
			d->s1[i1] = t->s1[f] - t->s1[k];
			d->s0[i2] = t->s0[k] - t->s0[f];
			d->s1[i2] = t->s1[k] - t->s1[f];
			if (mpc_party_self(p) == 0) {
				d->s0[i1] -= tie;
				d->s0[i2] -= MPC_H72 + 1;
			} else if (mpc_party_self(p) == 2) {
				d->s1[i1] -= tie;
				d->s1[i2] -= MPC_H72 + 1;
			}
		}
	}
	return rc;
}

/*
 * before (Q planes) and near (Q planes) from the times, in chunks of pair planes of at most
 * PAIR_CHUNK comparisons each (7 rounds a chunk), so that the comparison's scratch stays
 * bounded whatever the bucket.
 */
static int pair_order(struct mpc_party *p, const struct bk *b, const struct mpc_a *t,
		      struct mpc_b *before, struct mpc_b *near)
{
	size_t per = b->W * 64, step = PAIR_CHUNK / (2 * per);
	int rc = mpc_b_alloc(before, b->Q * b->W);

	if (rc == 0)
		rc = mpc_b_alloc(near, b->Q * b->W);
	if (step == 0)
		step = 1;
	for (size_t q0 = 0; rc == 0 && q0 < b->Q; q0 += step) {
		size_t q1 = q0 + step < b->Q ? q0 + step : b->Q, nq = q1 - q0;
		struct mpc_a d = {0};
		struct mpc_b m = {0};

		rc = pair_diffs(p, b, t, q0, q1, &d);
		if (rc == 0)
			rc = mpc_msb32(p, &d, &m);
		if (rc == 0) {
			bcopy_to(before, q0 * b->W, &m, 0, nq * b->W);
			bcopy_to(near, q0 * b->W, &m, nq * b->W, nq * b->W);
		}
		mpc_a_free(&d);
		mpc_b_free(&m);
	}
	if (rc != 0) {
		mpc_b_free(before);
		mpc_b_free(near);
	}
	return rc;
}

/*
 * AND-reduces, for r reductions side by side, the planes not(x_q) for q < Q (x: Q planes
 * of r·W words each, reduction i at words i·W of every plane) together with one extra plane
 * `last` of r·W words (negated when neg_last). Result: r·W words.
 */
static int nor_reduce(struct mpc_party *p, const struct mpc_b *x, size_t Q, size_t RW,
		      const struct mpc_b *last, int neg_last, struct mpc_b *out)
{
	struct mpc_b in = {0};
	int rc = mpc_b_alloc(&in, (Q + 1) * RW);

	if (rc != 0)
		return rc;
	if (Q > 0)
		bcopy_to(&in, 0, x, 0, Q * RW);
	bcopy_to(&in, Q * RW, last, 0, RW);
	{
		struct mpc_b negs = bview(&in, 0, Q * RW), l = bview(&in, Q * RW, RW);

		mpc_b_not(p, &negs);
		if (neg_last)
			mpc_b_not(p, &l);
	}
	rc = mpc_and_reduce(p, &in, Q + 1, RW, out);
	mpc_b_free(&in);
	return rc;
}

/* z = x & y over w words, z allocated. */
static int and_new(struct mpc_party *p, const struct mpc_b *x, const struct mpc_b *y,
		   struct mpc_b *z)
{
	int rc = mpc_b_alloc(z, x->w);

	if (rc == 0)
		rc = mpc_b_and(p, z, x, y);
	if (rc != 0)
		mpc_b_free(z);
	return rc;
}

/* The per-slot results of one bucket that the cluster step needs. */
struct slots {
	struct mpc_b sin, nfirst, first, holds2; /* one plane each */
};

static void slots_free(struct slots *s)
{
	mpc_b_free(&s->sin);
	mpc_b_free(&s->nfirst);
	mpc_b_free(&s->first);
	mpc_b_free(&s->holds2);
}

/* Planes of r side-by-side copies: dst words [i·W ...) = src for i < r. */
static int repeat_plane(const struct mpc_b *src, size_t W, size_t r, struct mpc_b *dst)
{
	int rc = mpc_b_alloc(dst, r * W);

	for (size_t i = 0; rc == 0 && i < r; i++)
		bcopy_to(dst, i * W, src, 0, W);
	return rc;
}

/* Episode numbers, in-period membership and holds2 (see the file comment). */
static int slot_hidden(struct mpc_party *p, const struct bk *b, const struct mpc_m2_bucket *in,
		       const struct mpc_b *before, const struct mpc_b *start,
		       const struct mpc_b *sin, const struct mpc_b *x1, struct mpc_b *holds2)
{
	struct mpc_b post = {0}, gs = {0}, gpost = {0}, both = {0}, y = {0}, tmp = {0};
	struct mpc_b notA = {0}, notB = {0}, inep = {0}, cnt = {0}, ep = {0}, gep = {0};
	struct mpc_b neq = {0}, ginep = {0}, h = {0}, any = {0}, two = {0}, last = {0};
	size_t QW = b->Q * b->W, W = b->W;
	unsigned k = 0;
	int rc;

	rc = and_new(p, start, &in->after, &post);
	/* x2 = post_f & before, x3 = start_f & before, in one round */
	if (rc == 0)
		rc = gather_pairs(b, start, &gs);
	if (rc == 0)
		rc = gather_pairs(b, &post, &gpost);
	if (rc == 0)
		rc = mpc_b_alloc(&both, 2 * QW);
	if (rc == 0)
		rc = mpc_b_alloc(&tmp, 2 * QW);
	if (rc == 0) {
		bcopy_to(&both, 0, &gpost, 0, QW);
		bcopy_to(&both, QW, &gs, 0, QW);
		bcopy_to(&tmp, 0, before, 0, QW);
		bcopy_to(&tmp, QW, before, 0, QW);
		rc = and_new(p, &both, &tmp, &y); /* y: [x2 | x3] */
		mpc_b_free(&tmp);
	}
	/* not A = not sin and no x1; not B = not post and no x2 (two reductions side by side) */
	if (rc == 0) {
		struct mpc_b xs = {0}, ls = {0};

		rc = mpc_b_alloc(&xs, 2 * QW);
		if (rc == 0)
			rc = mpc_b_alloc(&ls, 2 * W);
		for (size_t q = 0; rc == 0 && q < b->Q; q++) {
			bcopy_to(&xs, 2 * q * W, x1, q * W, W);
			bcopy_to(&xs, (2 * q + 1) * W, &y, q * W, W);
		}
		if (rc == 0) {
			bcopy_to(&ls, 0, sin, 0, W);
			bcopy_to(&ls, W, &post, 0, W);
			rc = nor_reduce(p, &xs, b->Q, 2 * W, &ls, 1, &tmp);
		}
		mpc_b_free(&xs);
		mpc_b_free(&ls);
	}
	/* inep = inc & A & not B */
	if (rc == 0) {
		struct mpc_b r3 = {0};

		rc = mpc_b_alloc(&r3, 3 * W);
		if (rc == 0) {
			bcopy_to(&r3, 0, &in->inc, 0, W);
			bcopy_to(&r3, W, &tmp, 0, W);	  /* not A */
			bcopy_to(&r3, 2 * W, &tmp, W, W); /* not B */
			{
				struct mpc_b a = bview(&r3, W, W);

				mpc_b_not(p, &a);
			}
			rc = mpc_and_reduce(p, &r3, 3, W, &inep);
		}
		mpc_b_free(&r3);
	}
	/* ep = start + Σ x3 */
	if (rc == 0) {
		struct mpc_b planes = {0};

		rc = mpc_b_alloc(&planes, QW + W);
		if (rc == 0) {
			bcopy_to(&planes, 0, &y, QW, QW);
			bcopy_to(&planes, QW, start, 0, W);
			rc = mpc_planes_sum(p, &planes, b->Q + 1, W, &ep, &k);
		}
		mpc_b_free(&planes);
	}
	/* neq_q = OR_j (ep_e ^ ep_f)_j: reduce over the k bit planes, pairs side by side */
	if (rc == 0)
		rc = mpc_b_alloc(&gep, (size_t)k * QW);
	for (unsigned j = 0; rc == 0 && j < k; j++) {
		struct mpc_b epj = bview(&ep, j * W, W), g = {0};

		rc = gather_pairs(b, &epj, &g);
		for (size_t q = 0; rc == 0 && q < b->Q; q++)
			for (size_t t = 0; t < W; t++) {
				gep.s0[j * QW + q * W + t] = g.s0[q * W + t] ^ epj.s0[t];
				gep.s1[j * QW + q * W + t] = g.s1[q * W + t] ^ epj.s1[t];
			}
		mpc_b_free(&g);
	}
	if (rc == 0) {
		mpc_b_not(p, &gep);
		rc = mpc_and_reduce(p, &gep, k, QW, &neq); /* neq now holds "equal" */
	}
	if (rc == 0)
		mpc_b_not(p, &neq);
	/* h_q = samenode & inep_f & neq; holds2 = inep & OR_q h_q */
	if (rc == 0)
		rc = gather_pairs(b, &inep, &ginep);
	if (rc == 0) {
		struct mpc_b r3 = {0};

		rc = mpc_b_alloc(&r3, 3 * QW);
		if (rc == 0) {
			bcopy_to(&r3, 0, &in->samenode, 0, QW);
			bcopy_to(&r3, QW, &ginep, 0, QW);
			bcopy_to(&r3, 2 * QW, &neq, 0, QW);
			rc = mpc_and_reduce(p, &r3, 3, QW, &h);
		}
		mpc_b_free(&r3);
	}
	if (rc == 0)
		rc = mpc_b_alloc(&last, W); /* zero: no extra plane (not 0 = 1 after negation) */
	if (rc == 0)
		rc = nor_reduce(p, &h, b->Q, W, &last, 1, &any); /* any = no h at all */
	if (rc == 0) {
		mpc_b_not(p, &any);
		rc = and_new(p, &inep, &any, &two);
	}
	if (rc == 0) {
		*holds2 = two;
		two = (struct mpc_b){0};
	}
	mpc_b_free(&post);
	mpc_b_free(&gs);
	mpc_b_free(&gpost);
	mpc_b_free(&both);
	mpc_b_free(&y);
	mpc_b_free(&tmp);
	mpc_b_free(&notA);
	mpc_b_free(&notB);
	mpc_b_free(&inep);
	mpc_b_free(&cnt);
	mpc_b_free(&ep);
	mpc_b_free(&gep);
	mpc_b_free(&neq);
	mpc_b_free(&ginep);
	mpc_b_free(&h);
	mpc_b_free(&any);
	mpc_b_free(&two);
	mpc_b_free(&last);
	return rc;
}

/* The per-slot circuit of one bucket with s >= 2. */
static int slot_circuit(struct mpc_party *p, const struct bk *b, const struct mpc_m2_bucket *in,
			struct slots *out)
{
	struct mpc_b before = {0}, near = {0}, c = {0}, start = {0}, sin = {0}, gsin = {0};
	struct mpc_b x1 = {0}, first = {0}, nfirst = {0}, holds2 = {0};
	int rc;

	rc = pair_order(p, b, &in->t, &before, &near);
	if (rc == 0)
		rc = and_new(p, &before, &near, &c);
	if (rc == 0)
		rc = nor_reduce(p, &c, b->Q, b->W, &in->inc, 0, &start);
	if (rc == 0)
		rc = and_new(p, &start, &in->inper, &sin);
	if (rc == 0)
		rc = gather_pairs(b, &sin, &gsin);
	if (rc == 0)
		rc = and_new(p, &gsin, &before, &x1);
	if (rc == 0)
		rc = nor_reduce(p, &x1, b->Q, b->W, &sin, 0, &first);
	if (rc == 0) {
		struct mpc_b nf = {0};

		rc = mpc_b_alloc(&nf, b->W);
		if (rc == 0) {
			bcopy_to(&nf, 0, &first, 0, b->W);
			mpc_b_not(p, &nf);
			rc = and_new(p, &sin, &nf, &nfirst);
		}
		mpc_b_free(&nf);
	}
	if (rc == 0)
		rc = slot_hidden(p, b, in, &before, &start, &sin, &x1, &holds2);
	if (rc == 0) {
		out->sin = sin;
		out->first = first;
		out->nfirst = nfirst;
		out->holds2 = holds2;
		sin = first = nfirst = holds2 = (struct mpc_b){0};
	}
	mpc_b_free(&before);
	mpc_b_free(&near);
	mpc_b_free(&c);
	mpc_b_free(&start);
	mpc_b_free(&sin);
	mpc_b_free(&gsin);
	mpc_b_free(&x1);
	mpc_b_free(&first);
	mpc_b_free(&nfirst);
	mpc_b_free(&holds2);
	return rc;
}

/* Size-1 clusters: a slot starts an episode when it is an incident; nothing else. */
static int slot_single(struct mpc_party *p, const struct mpc_m2_bucket *in, size_t W,
		       struct slots *out)
{
	int rc = and_new(p, &in->inc, &in->inper, &out->sin);

	if (rc == 0)
		rc = repeat_plane(&out->sin, W, 1, &out->first);
	if (rc == 0)
		rc = mpc_b_alloc(&out->nfirst, W);
	if (rc == 0)
		rc = mpc_b_alloc(&out->holds2, W);
	if (rc != 0)
		slots_free(out);
	return rc;
}

/* The global cluster-level planes: every bucket's clusters, one after another. */
struct cl {
	size_t C, Wc, M;
	unsigned kE;
	struct mpc_b victim, repeat, hidden, E, V; /* 1, 1, 1, kE, M planes of Wc words */
};

/* Gathers the s slot planes of each cluster: plane j element c = slot c·s + j. Local. */
static int cluster_planes(const struct bk *b, const struct mpc_b *slot, struct mpc_b *out)
{
	size_t Wb = mpc_words(b->C);
	struct mpc_b d = {0};
	int rc = mpc_b_alloc(&d, b->s * Wb);

	for (size_t j = 0; rc == 0 && j < b->s; j++) {
		struct mpc_b dj = bview(&d, j * Wb, Wb);

		for (size_t c = 0; c < b->C; c++)
			put_bit(&dj, c, slot, c * b->s + j);
	}
	if (rc == 0)
		*out = d;
	return rc;
}

/* Places the bits of a bucket's cluster plane (C bits) at global offset off. Local. */
static void place(struct mpc_b *dst, size_t dplane_off, size_t off, const struct mpc_b *src,
		  size_t C)
{
	struct mpc_b d = bview(dst, dplane_off, dst->w - dplane_off);

	for (size_t c = 0; c < C; c++)
		put_bit(&d, off + c, src, c);
}

static int cluster_or(struct mpc_party *p, const struct bk *b, const struct mpc_b *slot,
		      struct mpc_b *out)
{
	struct mpc_b planes = {0}, zero = {0};
	size_t Wb = mpc_words(b->C);
	int rc = cluster_planes(b, slot, &planes);

	if (rc == 0)
		rc = mpc_b_alloc(&zero, Wb);
	if (rc == 0)
		rc = nor_reduce(p, &planes, b->s, Wb, &zero, 1, out);
	if (rc == 0)
		mpc_b_not(p, out);
	mpc_b_free(&planes);
	mpc_b_free(&zero);
	return rc;
}

/* The cluster-level values of one bucket, placed into g at cluster offset off. */
static int bucket_clusters(struct mpc_party *p, const struct bk *b, const struct mpc_m2_bucket *in,
			   const struct slots *s, struct cl *g, size_t off)
{
	struct mpc_b victim = {0}, repeat = {0}, anyh = {0}, hidden = {0}, planes = {0};
	struct mpc_b E = {0}, fm = {0}, rep = {0};
	size_t Wb = mpc_words(b->C), W = b->W;
	unsigned k = 0;
	int rc;

	rc = cluster_or(p, b, &s->sin, &victim);
	if (rc == 0)
		rc = cluster_or(p, b, &s->nfirst, &repeat);
	if (rc == 0)
		rc = cluster_or(p, b, &s->holds2, &anyh);
	if (rc == 0) {
		mpc_b_not(p, &anyh);
		rc = and_new(p, &repeat, &anyh, &hidden);
	}
	if (rc == 0)
		rc = cluster_planes(b, &s->sin, &planes);
	if (rc == 0)
		rc = mpc_planes_sum(p, &planes, b->s, Wb, &E, &k);
	/* first & muni for every municipality, then XOR over the cluster's slots */
	if (rc == 0)
		rc = repeat_plane(&s->first, W, g->M, &rep);
	if (rc == 0)
		rc = and_new(p, &rep, &in->muni, &fm);
	for (size_t m = 0; rc == 0 && m < g->M; m++) {
		struct mpc_b fmm = bview(&fm, m * W, W), cp = {0}, x = {0};

		rc = cluster_planes(b, &fmm, &cp);
		if (rc == 0)
			rc = mpc_b_alloc(&x, Wb);
		for (size_t j = 0; rc == 0 && j < b->s; j++) {
			struct mpc_b cj = bview(&cp, j * Wb, Wb);

			rc = mpc_b_xor(&x, &x, &cj);
		}
		if (rc == 0)
			place(&g->V, m * g->Wc, off, &x, b->C);
		mpc_b_free(&cp);
		mpc_b_free(&x);
	}
	if (rc == 0) {
		place(&g->victim, 0, off, &victim, b->C);
		place(&g->repeat, 0, off, &repeat, b->C);
		place(&g->hidden, 0, off, &hidden, b->C);
		for (unsigned j = 0; j < k && j < g->kE; j++) {
			struct mpc_b ej = bview(&E, j * Wb, Wb);

			place(&g->E, j * g->Wc, off, &ej, b->C);
		}
	}
	mpc_b_free(&victim);
	mpc_b_free(&repeat);
	mpc_b_free(&anyh);
	mpc_b_free(&hidden);
	mpc_b_free(&planes);
	mpc_b_free(&E);
	mpc_b_free(&fm);
	mpc_b_free(&rep);
	return rc;
}

static int check_inputs(const struct bk *b, const struct mpc_m2_bucket *in, size_t M)
{
	if (in->t.n != b->n || in->inc.w < b->W || in->inper.w < b->W || in->after.w < b->W ||
	    in->muni.w < M * b->W || in->samenode.w < b->Q * b->W)
		return CL_EINVAL;
	return 0;
}

/* Sums the four series per municipality over all clusters; opens them to P0. */
static int group_counts(struct mpc_party *p, struct cl *g, struct mpc_m2_counts *out)
{
	size_t M = g->M, Wc = g->Wc, R = NSERIES * M;
	unsigned K = g->kE;
	struct mpc_b rep = {0}, rh = {0}, vr = {0}, vre = {0}, erep = {0}, x = {0}, sums = {0};
	uint64_t *open = NULL;
	int rc;

	/* [V & repeat | V & hidden] in one round */
	rc = mpc_b_alloc(&rep, 2 * M * Wc);
	for (size_t m = 0; rc == 0 && m < M; m++) {
		bcopy_to(&rep, m * Wc, &g->repeat, 0, Wc);
		bcopy_to(&rep, (M + m) * Wc, &g->hidden, 0, Wc);
	}
	if (rc == 0)
		rc = mpc_b_alloc(&x, 2 * M * Wc);
	if (rc == 0) {
		bcopy_to(&x, 0, &g->V, 0, M * Wc);
		bcopy_to(&x, M * Wc, &g->V, 0, M * Wc);
		rc = and_new(p, &x, &rep, &rh);
	}
	/* (V & repeat) & E_j for every bit j */
	if (rc == 0)
		rc = mpc_b_alloc(&vr, (size_t)K * M * Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&erep, (size_t)K * M * Wc);
	for (unsigned j = 0; rc == 0 && j < K; j++)
		for (size_t m = 0; m < M; m++) {
			bcopy_to(&vr, (j * M + m) * Wc, &rh, m * Wc, Wc);
			bcopy_to(&erep, (j * M + m) * Wc, &g->E, j * Wc, Wc);
		}
	if (rc == 0)
		rc = and_new(p, &vr, &erep, &vre);
	/* rows: victims (V), repeats, hidden: one bit; episodes: K bits; plane-major */
	mpc_b_free(&x);
	if (rc == 0)
		rc = mpc_b_alloc(&x, (size_t)K * R * Wc);
	if (rc == 0) {
		bcopy_to(&x, 0, &g->V, 0, M * Wc);
		bcopy_to(&x, M * Wc, &rh, 0, 2 * M * Wc);
		for (unsigned j = 0; j < K; j++)
			bcopy_to(&x, (j * R + 3 * M) * Wc, &vre, j * M * Wc, M * Wc);
		rc = mpc_sum_rows(p, &x, K, R, Wc, &sums);
	}
	if (rc == 0 && mpc_party_self(p) == 0) {
		open = calloc(mpc_words(32 * R), sizeof(uint64_t));
		if (open == NULL)
			rc = CL_ENOMEM;
	}
	/* only bit 0 of each sum word is a share of the total: pack those bits before opening,
	 * so that party 0 receives uniformly random words and nothing else */
	if (rc == 0) {
		struct mpc_b packed = {0};

		rc = mpc_b_alloc(&packed, mpc_words(32 * R));
		for (size_t i = 0; rc == 0 && i < 32 * R; i++) {
			packed.s0[i / 64] |= (sums.s0[i] & 1) << (i % 64);
			packed.s1[i / 64] |= (sums.s1[i] & 1) << (i % 64);
		}
		if (rc == 0)
			rc = mpc_b_open_to(p, 0, &packed, open);
		mpc_b_free(&packed);
	}
	if (rc == 0 && open != NULL) {
		for (size_t r = 0; r < R; r++) {
			uint64_t v = 0;

			for (unsigned j = 0; j < 32; j++)
				v |= ((open[(j * R + r) / 64] >> ((j * R + r) % 64)) & 1) << j;
			if (r < M)
				out[r].victims = v;
			else if (r < 2 * M)
				out[r - M].repeat_victims = v;
			else if (r < 3 * M)
				out[r - 2 * M].hidden_repeats = v;
			else
				out[r - 3 * M].repeat_victim_episodes = v;
		}
	}
	free(open);
	mpc_b_free(&rep);
	mpc_b_free(&rh);
	mpc_b_free(&vr);
	mpc_b_free(&vre);
	mpc_b_free(&erep);
	mpc_b_free(&x);
	mpc_b_free(&sums);
	return rc;
}

static void cl_free(struct cl *g)
{
	mpc_b_free(&g->victim);
	mpc_b_free(&g->repeat);
	mpc_b_free(&g->hidden);
	mpc_b_free(&g->E);
	mpc_b_free(&g->V);
}

static int cl_init(struct cl *g, const struct mpc_bucket *buckets, size_t nb, size_t M)
{
	uint32_t smax = 1;
	int rc;

	memset(g, 0, sizeof(*g));
	for (size_t i = 0; i < nb; i++) {
		g->C += buckets[i].clusters;
		if (buckets[i].size > smax)
			smax = buckets[i].size;
	}
	g->Wc = mpc_words(g->C ? g->C : 1);
	g->M = M;
	while ((1u << g->kE) <= smax)
		g->kE++;
	rc = mpc_b_alloc(&g->victim, g->Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&g->repeat, g->Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&g->hidden, g->Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&g->E, g->kE * g->Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&g->V, M * g->Wc);
	if (rc != 0)
		cl_free(g);
	return rc;
}

int mpc_m2(struct mpc_party *p, const struct mpc_bucket *buckets, size_t nbuckets, size_t nmunis,
	   const struct mpc_m2_bucket *in, struct mpc_m2_counts *out)
{
	struct cl g;
	size_t off = 0;
	int rc;

	if (p == NULL || (buckets == NULL && nbuckets > 0) || (in == NULL && nbuckets > 0) ||
	    nmunis == 0 || (mpc_party_self(p) == 0 && out == NULL))
		return CL_EINVAL;
	if (nbuckets > MPC_MAX_BUCKETS || nmunis > MPC_MAX_MUNIS)
		return CL_ELIMIT;
	rc = cl_init(&g, buckets, nbuckets, nmunis);
	for (size_t i = 0; rc == 0 && i < nbuckets; i++) {
		struct slots s;
		struct bk b = {0};

		memset(&s, 0, sizeof(s));

		rc = bk_init(&b, &buckets[i]);
		if (rc == 0)
			rc = check_inputs(&b, &in[i], nmunis);
		if (rc == 0 && b.n > 0)
			rc = b.Q == 0 ? slot_single(p, &in[i], b.W, &s)
				      : slot_circuit(p, &b, &in[i], &s);
		if (rc == 0 && b.n > 0)
			rc = bucket_clusters(p, &b, &in[i], &s, &g, off);
		off += b.C;
		slots_free(&s);
		free(b.map);
	}
	if (rc == 0)
		rc = group_counts(p, &g, out);
	cl_free(&g);
	return rc;
}
