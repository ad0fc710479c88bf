/*
 * mpc_m5 — M5 programme_outcomes over shares laid out by linked person (mpc_measures.h).
 *
 * Per bucket of cluster size s, with before(f, e) and near(f, e) = t_e − t_f <= 72 h from
 * mpc_layout_before:
 *
 *   start_e   = perp_e and no perp f with before and near      (perpetrator episode starts)
 *   first_o,e = end_o,e and no end_o f before e                (earliest end per outcome o)
 *   T_o       = Σ over the cluster of first_o,e · t_e          (B2A, one multiplication)
 *   has_o     = XOR over the cluster of first_o                (one-hot: local)
 *   obs_o     = T_o + 365 d < to                               (one comparison a cluster)
 *   re_o      = OR over the cluster of start_g and T_o <= t_g <= T_o + 365 d
 *
 * and per outcome: perpetrators = Σ has_o, observable = Σ has_o and obs_o, reoffended =
 * Σ has_o and obs_o and re_o over all clusters of all buckets, opened to P0 only.
 */
#include "compute/mpc_measures.h"

#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "compute/mpc_circuit.h"
#include "compute/mpc_layout.h"

/* Cluster-level planes over all buckets, 2 planes (outcomes) of Wc words each. */
struct m5g {
	size_t C, Wc;
	uint32_t to;
	struct mpc_b has, obs, re;
};

/* Episode starts and the first end per outcome (3 planes of W words: start, first_0, first_1). */
static int firsts(struct mpc_party *p, const struct mpc_layout_bk *b,
		  const struct mpc_m5_bucket *in, struct mpc_b *out)
{
	struct mpc_b before = {0}, near = {0}, c = {0}, st = {0}, f0 = {0}, f1 = {0};
	struct mpc_b e0 = mpc_layout_view(&in->end, 0, b->W);
	struct mpc_b e1 = mpc_layout_view(&in->end, b->W, b->W);
	int rc = 0;

	if (b->Q > 0)
		rc = mpc_layout_before(p, b, &in->t, MPC_H72, &before, &near);
	if (rc == 0 && b->Q > 0)
		rc = mpc_layout_and(p, &before, &near, &c);
	if (rc == 0)
		rc = mpc_layout_first(p, b, &in->perp, &c, &st);
	if (rc == 0)
		rc = mpc_layout_first(p, b, &e0, &before, &f0);
	if (rc == 0)
		rc = mpc_layout_first(p, b, &e1, &before, &f1);
	if (rc == 0)
		rc = mpc_b_alloc(out, 3 * b->W);
	if (rc == 0) {
		mpc_layout_copy(out, 0, &st, 0, b->W);
		mpc_layout_copy(out, b->W, &f0, 0, b->W);
		mpc_layout_copy(out, 2 * b->W, &f1, 0, b->W);
	}
	mpc_b_free(&before);
	mpc_b_free(&near);
	mpc_b_free(&c);
	mpc_b_free(&st);
	mpc_b_free(&f0);
	mpc_b_free(&f1);
	return rc;
}

/* obs_o per cluster (2 planes of Wc words) from T (2·n elements). One comparison batch. */
static int observable(struct mpc_party *p, const struct mpc_layout_bk *b, const struct mpc_a *T,
		      uint32_t to, struct mpc_b *obs)
{
	size_t per = b->Wc * 64;
	unsigned self = mpc_party_self(p);
	struct mpc_a d = {0};
	int rc = mpc_a_alloc(&d, 2 * per);

	/* T + 365 d − to < 0 */
	for (size_t o = 0; rc == 0 && o < 2; o++)
		for (size_t c = 0; c < b->C; c++) {
			size_t k = o * b->n + c * b->s;

			d.s0[o * per + c] =
			    T->s0[k] + (self == 0 ? (uint64_t)MPC_D365 - (uint64_t)to : 0);
			d.s1[o * per + c] =
			    T->s1[k] + (self == 2 ? (uint64_t)MPC_D365 - (uint64_t)to : 0);
		}
	if (rc == 0)
		rc = mpc_msb32(p, &d, obs);
	mpc_a_free(&d);
	return rc;
}

/* One bucket's has, obs and re, placed into g at cluster offset off. */
static int bucket(struct mpc_party *p, const struct mpc_layout_bk *b,
		  const struct mpc_m5_bucket *in, struct m5g *g, size_t off)
{
	struct mpc_b fs = {0}, o = {0}, r = {0}, x = {0}, has = {0}, re = {0}, obs = {0};
	struct mpc_a T = {0};
	size_t W = b->W, Wc = b->Wc;
	int rc = firsts(p, b, in, &fs);

	if (rc == 0) {
		struct mpc_b sel = mpc_layout_view(&fs, W, 2 * W);
		const struct mpc_a *cols[1] = {&in->t};

		rc = mpc_layout_pick(p, b, &sel, 2, cols, 1, &T);
		if (rc == 0)
			rc = mpc_layout_cluster_xor(b, &sel, 2, &has);
	}
	if (rc == 0)
		rc = mpc_layout_outside(p, b, &in->t, &T, 2, MPC_D365, &o);
	if (rc == 0)
		rc = observable(p, b, &T, g->to, &obs);
	/* start and not below T_o and not above T_o + 365 d, for both outcomes */
	if (rc == 0)
		rc = mpc_b_alloc(&r, 6 * W);
	if (rc == 0) {
		for (size_t k = 0; k < 2; k++) {
			mpc_layout_copy(&r, k * W, &fs, 0, W);
			mpc_layout_copy(&r, (2 + k) * W, &o, 2 * k * W, W);
			mpc_layout_copy(&r, (4 + k) * W, &o, (2 * k + 1) * W, W);
		}
		{
			struct mpc_b neg = mpc_layout_view(&r, 2 * W, 4 * W);

			mpc_b_not(p, &neg);
		}
		rc = mpc_and_reduce(p, &r, 3, 2 * W, &x);
	}
	if (rc == 0)
		rc = mpc_layout_cluster_or(p, b, &x, 2, &re);
	for (size_t k = 0; rc == 0 && k < 2; k++) {
		struct mpc_b hk = mpc_layout_view(&has, k * Wc, Wc);
		struct mpc_b ok = mpc_layout_view(&obs, k * Wc, Wc);
		struct mpc_b rk = mpc_layout_view(&re, k * Wc, Wc);

		mpc_layout_place(&g->has, k, g->Wc, off, &hk, b->C);
		mpc_layout_place(&g->obs, k, g->Wc, off, &ok, b->C);
		mpc_layout_place(&g->re, k, g->Wc, off, &rk, b->C);
	}
	mpc_b_free(&fs);
	mpc_b_free(&o);
	mpc_b_free(&r);
	mpc_b_free(&x);
	mpc_b_free(&has);
	mpc_b_free(&re);
	mpc_b_free(&obs);
	mpc_a_free(&T);
	return rc;
}

/* Rows has_o, has_o & obs_o, has_o & obs_o & re_o; counted and opened to P0. */
static int counts(struct mpc_party *p, const struct m5g *g, struct mpc_m5_counts *out)
{
	size_t Wc = g->Wc;
	struct mpc_b ho = {0}, hor = {0}, rows = {0};
	uint64_t *v = NULL;
	int rc = mpc_layout_and(p, &g->has, &g->obs, &ho);

	if (rc == 0)
		rc = mpc_layout_and(p, &ho, &g->re, &hor);
	if (rc == 0)
		rc = mpc_b_alloc(&rows, 6 * Wc);
	if (rc == 0) {
		mpc_layout_copy(&rows, 0, &g->has, 0, 2 * Wc);
		mpc_layout_copy(&rows, 2 * Wc, &ho, 0, 2 * Wc);
		mpc_layout_copy(&rows, 4 * Wc, &hor, 0, 2 * Wc);
	}
	if (rc == 0 && mpc_party_self(p) == 0) {
		v = calloc(6, sizeof(uint64_t));
		if (v == NULL)
			rc = CL_ENOMEM;
	}
	if (rc == 0)
		rc = mpc_layout_count_open(p, &rows, 6, Wc, v);
	if (rc == 0 && v != NULL)
		for (size_t o = 0; o < 2; o++) {
			out[o].perpetrators = v[o];
			out[o].observable = v[2 + o];
			out[o].reoffended = v[4 + o];
		}
	free(v);
	mpc_b_free(&ho);
	mpc_b_free(&hor);
	mpc_b_free(&rows);
	return rc;
}

static int check_inputs(const struct mpc_layout_bk *b, const struct mpc_m5_bucket *in)
{
	if (in->t.n != b->n || in->perp.w < b->W || in->end.w < 2 * b->W)
		return CL_EINVAL;
	return 0;
}

int mpc_m5(struct mpc_party *p, const struct mpc_bucket *buckets, size_t nbuckets, uint32_t to_rel,
	   const struct mpc_m5_bucket *in, struct mpc_m5_counts out[2])
{
	struct m5g g = {0};
	size_t off = 0;
	int rc;

	if (p == NULL || (nbuckets > 0 && (buckets == NULL || in == NULL)) ||
	    (mpc_party_self(p) == 0 && out == NULL) || to_rel >= (1u << 30))
		return CL_EINVAL;
	if (nbuckets > MPC_MAX_BUCKETS)
		return CL_ELIMIT;
	for (size_t i = 0; i < nbuckets; i++)
		g.C += buckets[i].clusters;
	g.Wc = mpc_words(g.C ? g.C : 1);
	g.to = to_rel;
	rc = mpc_b_alloc(&g.has, 2 * g.Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&g.obs, 2 * g.Wc);
	if (rc == 0)
		rc = mpc_b_alloc(&g.re, 2 * g.Wc);
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
	mpc_b_free(&g.has);
	mpc_b_free(&g.obs);
	mpc_b_free(&g.re);
	return rc;
}
