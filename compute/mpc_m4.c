/*
 * mpc_m4 — M4 service_uptake over shares laid out by linked person (mpc_measures.h).
 *
 * Per bucket of cluster size s, with before(f, e) from mpc_layout_before:
 *
 *   first_e = police_e and no police f before e     (the first police incident in the period)
 *   t0      = Σ over the cluster of first_e · t_e   (B2A of first, one multiplication)
 *   win_g   = t0 <= t_g <= t0 + 30 d                (two comparisons a slot)
 *   with_k  = OR over the cluster of support_k,g and win_g; any = the same with the XOR of
 *             the (one-hot) support planes
 *   V_m     = XOR over the cluster of first_e and muni_m,e   (one-hot municipality)
 *
 * and per municipality m: victims = Σ V_m, with_support[k] = Σ V_m and with_k over all
 * clusters of all buckets, opened to P0 only. A cluster with no police slot has V = 0.
 */
#include "compute/mpc_measures.h"

#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "compute/mpc_circuit.h"
#include "compute/mpc_layout.h"

#define NS (MPC_M4_NSUPPORT + 1) /* any, then the support types */

/* Cluster-level planes over all buckets: V (M planes), S (NS planes) of Wc words. */
struct m4g {
	size_t C, Wc, M;
	struct mpc_b V, S;
};

/* The NS planes with_k (per cluster) of one bucket from first and the inputs. */
static int bucket_with(struct mpc_party *p, const struct mpc_layout_bk *b,
		       const struct mpc_m4_bucket *in, const struct mpc_b *first,
		       struct mpc_b *with)
{
	size_t W = b->W, SW = NS * W;
	struct mpc_a t0 = {0};
	struct mpc_b o = {0}, r = {0}, x = {0};
	const struct mpc_a *cols[1] = {&in->t};
	int rc = mpc_layout_pick(p, b, first, 1, cols, 1, &t0);

	if (rc == 0)
		rc = mpc_layout_outside(p, b, &in->t, &t0, 1, MPC_D30, &o);
	if (rc == 0)
		rc = mpc_b_alloc(&r, 3 * SW);
	if (rc == 0) {
		/* [any | types] & not below & not above */
		mpc_layout_copy(&r, W, &in->support, 0, MPC_M4_NSUPPORT * W);
		for (size_t k = 0; k < MPC_M4_NSUPPORT; k++)
			for (size_t i = 0; i < W; i++) {
				r.s0[i] ^= in->support.s0[k * W + i];
				r.s1[i] ^= in->support.s1[k * W + i];
			}
		for (size_t k = 0; k < NS; k++) {
			mpc_layout_copy(&r, SW + k * W, &o, 0, W);
			mpc_layout_copy(&r, 2 * SW + k * W, &o, W, W);
		}
		{
			struct mpc_b neg = mpc_layout_view(&r, SW, 2 * SW);

			mpc_b_not(p, &neg);
		}
		rc = mpc_and_reduce(p, &r, 3, SW, &x);
	}
	if (rc == 0)
		rc = mpc_layout_cluster_or(p, b, &x, NS, with);
	mpc_a_free(&t0);
	mpc_b_free(&o);
	mpc_b_free(&r);
	mpc_b_free(&x);
	return rc;
}

/* One bucket: first, with_k and the municipality one-hot, placed into g at offset off. */
static int bucket(struct mpc_party *p, const struct mpc_layout_bk *b,
		  const struct mpc_m4_bucket *in, struct m4g *g, size_t off)
{
	struct mpc_b before = {0}, first = {0}, with = {0}, rep = {0}, fm = {0}, v = {0};
	size_t W = b->W;
	int rc = 0;

	if (b->Q > 0)
		rc = mpc_layout_before(p, b, &in->t, 0, &before, NULL);
	if (rc == 0)
		rc = mpc_layout_first(p, b, &in->police, &before, &first);
	if (rc == 0)
		rc = bucket_with(p, b, in, &first, &with);
	if (rc == 0)
		rc = mpc_b_alloc(&rep, g->M * W);
	for (size_t m = 0; rc == 0 && m < g->M; m++)
		mpc_layout_copy(&rep, m * W, &first, 0, W);
	if (rc == 0)
		rc = mpc_layout_and(p, &rep, &in->muni, &fm);
	if (rc == 0)
		rc = mpc_layout_cluster_xor(b, &fm, g->M, &v);
	for (size_t m = 0; rc == 0 && m < g->M; m++) {
		struct mpc_b vm = mpc_layout_view(&v, m * b->Wc, b->Wc);

		mpc_layout_place(&g->V, m, g->Wc, off, &vm, b->C);
	}
	for (size_t k = 0; rc == 0 && k < NS; k++) {
		struct mpc_b wk = mpc_layout_view(&with, k * b->Wc, b->Wc);

		mpc_layout_place(&g->S, k, g->Wc, off, &wk, b->C);
	}
	mpc_b_free(&before);
	mpc_b_free(&first);
	mpc_b_free(&with);
	mpc_b_free(&rep);
	mpc_b_free(&fm);
	mpc_b_free(&v);
	return rc;
}

/* Rows V_m, then V_m & S_k for every (m, k); counted and opened to P0. */
static int counts(struct mpc_party *p, const struct m4g *g, struct mpc_m4_counts *out)
{
	size_t M = g->M, Wc = g->Wc, R = M + M * NS;
	struct mpc_b x = {0}, y = {0}, z = {0}, rows = {0};
	uint64_t *v = NULL;
	int rc = mpc_b_alloc(&x, M * NS * Wc);

	if (rc == 0)
		rc = mpc_b_alloc(&y, M * NS * Wc);
	for (size_t m = 0; rc == 0 && m < M; m++)
		for (size_t k = 0; k < NS; k++) {
			mpc_layout_copy(&x, (m * NS + k) * Wc, &g->V, m * Wc, Wc);
			mpc_layout_copy(&y, (m * NS + k) * Wc, &g->S, k * Wc, Wc);
		}
	if (rc == 0)
		rc = mpc_layout_and(p, &x, &y, &z);
	if (rc == 0)
		rc = mpc_b_alloc(&rows, R * Wc);
	if (rc == 0) {
		mpc_layout_copy(&rows, 0, &g->V, 0, M * Wc);
		mpc_layout_copy(&rows, M * Wc, &z, 0, M * NS * Wc);
	}
	if (rc == 0 && mpc_party_self(p) == 0) {
		v = calloc(R, sizeof(uint64_t));
		if (v == NULL)
			rc = CL_ENOMEM;
	}
	if (rc == 0)
		rc = mpc_layout_count_open(p, &rows, R, Wc, v);
	if (rc == 0 && v != NULL)
		for (size_t m = 0; m < M; m++) {
			out[m].victims = v[m];
			for (size_t k = 0; k < NS; k++)
				out[m].with_support[k] = v[M + m * NS + k];
		}
	free(v);
	mpc_b_free(&x);
	mpc_b_free(&y);
	mpc_b_free(&z);
	mpc_b_free(&rows);
	return rc;
}

static int check_inputs(const struct mpc_layout_bk *b, const struct mpc_m4_bucket *in, size_t M)
{
	if (in->t.n != b->n || in->police.w < b->W || in->support.w < MPC_M4_NSUPPORT * b->W ||
	    in->muni.w < M * b->W)
		return CL_EINVAL;
	return 0;
}

int mpc_m4(struct mpc_party *p, const struct mpc_bucket *buckets, size_t nbuckets, size_t nmunis,
	   const struct mpc_m4_bucket *in, struct mpc_m4_counts *out)
{
	struct m4g g = {0};
	size_t off = 0;
	int rc;

	if (p == NULL || (nbuckets > 0 && (buckets == NULL || in == NULL)) || nmunis == 0 ||
	    (mpc_party_self(p) == 0 && out == NULL))
		return CL_EINVAL;
	if (nbuckets > MPC_MAX_BUCKETS || nmunis > MPC_MAX_MUNIS)
		return CL_ELIMIT;
	for (size_t i = 0; i < nbuckets; i++)
		g.C += buckets[i].clusters;
	g.Wc = mpc_words(g.C ? g.C : 1);
	g.M = nmunis;
	rc = mpc_b_alloc(&g.V, g.M * g.Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&g.S, NS * g.Wc);
	for (size_t i = 0; rc == 0 && i < nbuckets; i++) {
		struct mpc_layout_bk b;

		rc = mpc_layout_bk_init(&b, &buckets[i]);
		if (rc == 0)
			rc = check_inputs(&b, &in[i], nmunis);
		if (rc == 0 && b.n > 0)
			rc = bucket(p, &b, &in[i], &g, off);
		off += b.C;
		mpc_layout_bk_free(&b);
	}
	if (rc == 0)
		rc = counts(p, &g, out);
	mpc_b_free(&g.V);
	mpc_b_free(&g.S);
	return rc;
}
