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
#include "compute/mpc_layout.h"

#define NSERIES 4 /* victims, repeats, hidden, repeat episodes (per municipality) */

/* before (Q planes) and near (Q planes) from the times: one comparison batch. */

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
		mpc_layout_copy(dst, i * W, src, 0, W);
	return rc;
}

/* Episode numbers, in-period membership and holds2 (see the file comment). */
static int slot_hidden(struct mpc_party *p, const struct mpc_layout_bk *b,
		       const struct mpc_m2_bucket *in, const struct mpc_b *before,
		       const struct mpc_b *start, const struct mpc_b *sin, const struct mpc_b *x1,
		       struct mpc_b *holds2)
{
	struct mpc_b post = {0}, gs = {0}, gpost = {0}, both = {0}, y = {0}, tmp = {0};
	struct mpc_b notA = {0}, notB = {0}, inep = {0}, cnt = {0}, ep = {0}, gep = {0};
	struct mpc_b neq = {0}, ginep = {0}, h = {0}, any = {0}, two = {0}, last = {0};
	size_t QW = b->Q * b->W, W = b->W;
	unsigned k = 0;
	int rc;

	rc = mpc_layout_and(p, start, &in->after, &post);
	/* x2 = post_f & before, x3 = start_f & before, in one round */
	if (rc == 0)
		rc = mpc_layout_pairs(b, start, &gs);
	if (rc == 0)
		rc = mpc_layout_pairs(b, &post, &gpost);
	if (rc == 0)
		rc = mpc_b_alloc(&both, 2 * QW);
	if (rc == 0)
		rc = mpc_b_alloc(&tmp, 2 * QW);
	if (rc == 0) {
		mpc_layout_copy(&both, 0, &gpost, 0, QW);
		mpc_layout_copy(&both, QW, &gs, 0, QW);
		mpc_layout_copy(&tmp, 0, before, 0, QW);
		mpc_layout_copy(&tmp, QW, before, 0, QW);
		rc = mpc_layout_and(p, &both, &tmp, &y); /* y: [x2 | x3] */
		mpc_b_free(&tmp);
	}
	/* not A = not sin and no x1; not B = not post and no x2 (two reductions side by side) */
	if (rc == 0) {
		struct mpc_b xs = {0}, ls = {0};

		rc = mpc_b_alloc(&xs, 2 * QW);
		if (rc == 0)
			rc = mpc_b_alloc(&ls, 2 * W);
		for (size_t q = 0; rc == 0 && q < b->Q; q++) {
			mpc_layout_copy(&xs, 2 * q * W, x1, q * W, W);
			mpc_layout_copy(&xs, (2 * q + 1) * W, &y, q * W, W);
		}
		if (rc == 0) {
			mpc_layout_copy(&ls, 0, sin, 0, W);
			mpc_layout_copy(&ls, W, &post, 0, W);
			rc = mpc_layout_nor(p, &xs, b->Q, 2 * W, &ls, 1, &tmp);
		}
		mpc_b_free(&xs);
		mpc_b_free(&ls);
	}
	/* inep = inc & A & not B */
	if (rc == 0) {
		struct mpc_b r3 = {0};

		rc = mpc_b_alloc(&r3, 3 * W);
		if (rc == 0) {
			mpc_layout_copy(&r3, 0, &in->inc, 0, W);
			mpc_layout_copy(&r3, W, &tmp, 0, W);	 /* not A */
			mpc_layout_copy(&r3, 2 * W, &tmp, W, W); /* not B */
			{
				struct mpc_b a = mpc_layout_view(&r3, W, W);

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
			mpc_layout_copy(&planes, 0, &y, QW, QW);
			mpc_layout_copy(&planes, QW, start, 0, W);
			rc = mpc_planes_sum(p, &planes, b->Q + 1, W, &ep, &k);
		}
		mpc_b_free(&planes);
	}
	/* neq_q = OR_j (ep_e ^ ep_f)_j: reduce over the k bit planes, pairs side by side */
	if (rc == 0)
		rc = mpc_b_alloc(&gep, (size_t)k * QW);
	for (unsigned j = 0; rc == 0 && j < k; j++) {
		struct mpc_b epj = mpc_layout_view(&ep, j * W, W), g = {0};

		rc = mpc_layout_pairs(b, &epj, &g);
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
		rc = mpc_layout_pairs(b, &inep, &ginep);
	if (rc == 0) {
		struct mpc_b r3 = {0};

		rc = mpc_b_alloc(&r3, 3 * QW);
		if (rc == 0) {
			mpc_layout_copy(&r3, 0, &in->samenode, 0, QW);
			mpc_layout_copy(&r3, QW, &ginep, 0, QW);
			mpc_layout_copy(&r3, 2 * QW, &neq, 0, QW);
			rc = mpc_and_reduce(p, &r3, 3, QW, &h);
		}
		mpc_b_free(&r3);
	}
	if (rc == 0)
		rc = mpc_b_alloc(&last, W); /* zero: no extra plane (not 0 = 1 after negation) */
	if (rc == 0)
		rc = mpc_layout_nor(p, &h, b->Q, W, &last, 1, &any); /* any = no h at all */
	if (rc == 0) {
		mpc_b_not(p, &any);
		rc = mpc_layout_and(p, &inep, &any, &two);
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
static int slot_circuit(struct mpc_party *p, const struct mpc_layout_bk *b,
			const struct mpc_m2_bucket *in, struct slots *out)
{
	struct mpc_b before = {0}, near = {0}, c = {0}, start = {0}, sin = {0}, gsin = {0};
	struct mpc_b x1 = {0}, first = {0}, nfirst = {0}, holds2 = {0};
	int rc;

	rc = mpc_layout_before(p, b, &in->t, MPC_H72, &before, &near);
	if (rc == 0)
		rc = mpc_layout_and(p, &before, &near, &c);
	if (rc == 0)
		rc = mpc_layout_nor(p, &c, b->Q, b->W, &in->inc, 0, &start);
	if (rc == 0)
		rc = mpc_layout_and(p, &start, &in->inper, &sin);
	if (rc == 0)
		rc = mpc_layout_pairs(b, &sin, &gsin);
	if (rc == 0)
		rc = mpc_layout_and(p, &gsin, &before, &x1);
	if (rc == 0)
		rc = mpc_layout_nor(p, &x1, b->Q, b->W, &sin, 0, &first);
	if (rc == 0) {
		struct mpc_b nf = {0};

		rc = mpc_b_alloc(&nf, b->W);
		if (rc == 0) {
			mpc_layout_copy(&nf, 0, &first, 0, b->W);
			mpc_b_not(p, &nf);
			rc = mpc_layout_and(p, &sin, &nf, &nfirst);
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
	int rc = mpc_layout_and(p, &in->inc, &in->inper, &out->sin);

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

/* The cluster-level values of one bucket, placed into g at cluster offset off. */
static int bucket_clusters(struct mpc_party *p, const struct mpc_layout_bk *b,
			   const struct mpc_m2_bucket *in, const struct slots *s, struct cl *g,
			   size_t off)
{
	struct mpc_b victim = {0}, repeat = {0}, anyh = {0}, hidden = {0}, planes = {0};
	struct mpc_b E = {0}, fm = {0}, rep = {0};
	size_t Wb = mpc_words(b->C), W = b->W;
	unsigned k = 0;
	int rc;

	rc = mpc_layout_cluster_or(p, b, &s->sin, 1, &victim);
	if (rc == 0)
		rc = mpc_layout_cluster_or(p, b, &s->nfirst, 1, &repeat);
	if (rc == 0)
		rc = mpc_layout_cluster_or(p, b, &s->holds2, 1, &anyh);
	if (rc == 0) {
		mpc_b_not(p, &anyh);
		rc = mpc_layout_and(p, &repeat, &anyh, &hidden);
	}
	if (rc == 0)
		rc = mpc_layout_cluster_planes(b, &s->sin, &planes);
	if (rc == 0)
		rc = mpc_planes_sum(p, &planes, b->s, Wb, &E, &k);
	/* first & muni for every municipality, then XOR over the cluster's slots */
	if (rc == 0)
		rc = repeat_plane(&s->first, W, g->M, &rep);
	if (rc == 0)
		rc = mpc_layout_and(p, &rep, &in->muni, &fm);
	for (size_t m = 0; rc == 0 && m < g->M; m++) {
		struct mpc_b fmm = mpc_layout_view(&fm, m * W, W), cp = {0}, x = {0};

		rc = mpc_layout_cluster_planes(b, &fmm, &cp);
		if (rc == 0)
			rc = mpc_b_alloc(&x, Wb);
		for (size_t j = 0; rc == 0 && j < b->s; j++) {
			struct mpc_b cj = mpc_layout_view(&cp, j * Wb, Wb);

			rc = mpc_b_xor(&x, &x, &cj);
		}
		if (rc == 0)
			mpc_layout_place(&g->V, m, g->Wc, off, &x, b->C);
		mpc_b_free(&cp);
		mpc_b_free(&x);
	}
	if (rc == 0) {
		mpc_layout_place(&g->victim, 0, g->Wc, off, &victim, b->C);
		mpc_layout_place(&g->repeat, 0, g->Wc, off, &repeat, b->C);
		mpc_layout_place(&g->hidden, 0, g->Wc, off, &hidden, b->C);
		for (unsigned j = 0; j < k && j < g->kE; j++) {
			struct mpc_b ej = mpc_layout_view(&E, j * Wb, Wb);

			mpc_layout_place(&g->E, j, g->Wc, off, &ej, b->C);
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

static int check_inputs(const struct mpc_layout_bk *b, const struct mpc_m2_bucket *in, size_t M)
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
		mpc_layout_copy(&rep, m * Wc, &g->repeat, 0, Wc);
		mpc_layout_copy(&rep, (M + m) * Wc, &g->hidden, 0, Wc);
	}
	if (rc == 0)
		rc = mpc_b_alloc(&x, 2 * M * Wc);
	if (rc == 0) {
		mpc_layout_copy(&x, 0, &g->V, 0, M * Wc);
		mpc_layout_copy(&x, M * Wc, &g->V, 0, M * Wc);
		rc = mpc_layout_and(p, &x, &rep, &rh);
	}
	/* (V & repeat) & E_j for every bit j */
	if (rc == 0)
		rc = mpc_b_alloc(&vr, (size_t)K * M * Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&erep, (size_t)K * M * Wc);
	for (unsigned j = 0; rc == 0 && j < K; j++)
		for (size_t m = 0; m < M; m++) {
			mpc_layout_copy(&vr, (j * M + m) * Wc, &rh, m * Wc, Wc);
			mpc_layout_copy(&erep, (j * M + m) * Wc, &g->E, j * Wc, Wc);
		}
	if (rc == 0)
		rc = mpc_layout_and(p, &vr, &erep, &vre);
	/* rows: victims (V), repeats, hidden: one bit; episodes: K bits; plane-major */
	mpc_b_free(&x);
	if (rc == 0)
		rc = mpc_b_alloc(&x, (size_t)K * R * Wc);
	if (rc == 0) {
		mpc_layout_copy(&x, 0, &g->V, 0, M * Wc);
		mpc_layout_copy(&x, M * Wc, &rh, 0, 2 * M * Wc);
		for (unsigned j = 0; j < K; j++)
			mpc_layout_copy(&x, (j * R + 3 * M) * Wc, &vre, j * M * Wc, M * Wc);
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
		struct mpc_layout_bk b = {0};

		memset(&s, 0, sizeof(s));

		rc = mpc_layout_bk_init(&b, &buckets[i]);
		if (rc == 0)
			rc = check_inputs(&b, &in[i], nmunis);
		if (rc == 0 && b.n > 0)
			rc = b.Q == 0 ? slot_single(p, &in[i], b.W, &s)
				      : slot_circuit(p, &b, &in[i], &s);
		if (rc == 0 && b.n > 0)
			rc = bucket_clusters(p, &b, &in[i], &s, &g, off);
		off += b.C;
		slots_free(&s);
		mpc_layout_bk_free(&b);
	}
	if (rc == 0)
		rc = group_counts(p, &g, out);
	cl_free(&g);
	return rc;
}
