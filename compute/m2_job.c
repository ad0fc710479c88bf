/*
 * m2_job — a secure M2 computation from the nodes' uploads (m2_job.h).
 */
#include "compute/m2_job.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "common/grow.h"
#include "compute/mpc_circuit.h"
#include "compute/mpc_input.h"
#include "compute/mpc_perm.h"
#include "compute/mpc_share.h"
#include "protocol/seal.h"

/* The measures' layouts (node/shares.c writes them; compute/mpc_measures.h reads them). */
static const struct {
	const char *name;
	unsigned nfixed; /* fixed bit planes; the municipality planes follow when munis */
	int munis;
} kinds[] = {
    [M2_JOB_M2] = {"m2/v1", 3, 1},
    [M2_JOB_M4] = {"m4/v1", 9, 1},
    [M2_JOB_M5] = {"m5/v1", 3, 0},
};

/* ---- bounded byte buffers ---- */

struct wbuf {
	uint8_t *p;
	size_t n, cap;
	int err;
};

/* Appends len bytes; the buffer holds seeds, shares and permutations: grown without copies. */
static void w_bytes(struct wbuf *w, const void *d, size_t len)
{
	int rc;

	if (w->err)
		return;
	if (len > M2_JOB_MAX_BYTES - w->n) {
		w->err = CL_ELIMIT;
		return;
	}
	rc = grow_array_secret((void **)&w->p, &w->cap, w->n + len, 1);
	if (rc != 0) {
		w->err = rc;
		return;
	}
	if (len)
		memcpy(w->p + w->n, d, len);
	w->n += len;
}

static void w_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};

	w_bytes(w, b, 4);
}

struct rbuf {
	const uint8_t *p;
	size_t n, off;
	int err;
};

static const uint8_t *r_bytes(struct rbuf *r, size_t len)
{
	const uint8_t *d;

	if (r->err || len > r->n - r->off) {
		r->err = CL_EPARSE;
		return NULL;
	}
	d = r->p + r->off;
	r->off += len;
	return d;
}

static uint32_t r_u32(struct rbuf *r)
{
	const uint8_t *b = r_bytes(r, 4);

	return b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		       (uint32_t)b[3] << 24
		 : 0;
}

/* ---- the shape every party knows ---- */

struct shape {
	unsigned kind, nfixed;
	uint32_t to_rel;
	uint8_t nonce[32];
	size_t nonce_len, nmunis, nnodes, nbuckets, nin, nout;
	uint32_t *slots;     /* per node */
	uint32_t *nlocal;    /* per node */
	uint32_t (*map)[64]; /* per node: local municipality -> query's */
	struct mpc_bucket b[MPC_MAX_BUCKETS];
};

static void shape_free(struct shape *s)
{
	free(s->slots);
	free(s->nlocal);
	free(s->map);
	memset(s, 0, sizeof(*s));
}

static int shape_alloc(struct shape *s, size_t nnodes)
{
	s->nnodes = nnodes;
	s->slots = calloc(nnodes ? nnodes : 1, sizeof(*s->slots));
	s->nlocal = calloc(nnodes ? nnodes : 1, sizeof(*s->nlocal));
	s->map = calloc(nnodes ? nnodes : 1, sizeof(*s->map));
	return s->slots && s->nlocal && s->map ? 0 : CL_ENOMEM;
}

static void shape_write(struct wbuf *w, const struct shape *s, unsigned party)
{
	w_bytes(w, "CLM2", 4);
	w_u32(w, party);
	w_u32(w, s->kind);
	w_u32(w, s->to_rel);
	w_u32(w, (uint32_t)s->nonce_len);
	w_bytes(w, s->nonce, s->nonce_len);
	w_u32(w, (uint32_t)s->nmunis);
	w_u32(w, (uint32_t)s->nnodes);
	for (size_t k = 0; k < s->nnodes; k++) {
		w_u32(w, s->slots[k]);
		w_u32(w, s->nlocal[k]);
		for (size_t l = 0; l < s->nlocal[k]; l++)
			w_u32(w, s->map[k][l]);
	}
	w_u32(w, (uint32_t)s->nbuckets);
	for (size_t i = 0; i < s->nbuckets; i++) {
		w_u32(w, s->b[i].size);
		w_u32(w, s->b[i].clusters);
	}
}

static int shape_read(struct rbuf *r, struct shape *s, unsigned *party)
{
	const uint8_t *m = r_bytes(r, 4);
	size_t nnodes, pairs = 0;
	int rc;

	memset(s, 0, sizeof(*s));
	if (!m || memcmp(m, "CLM2", 4) != 0)
		return CL_EPARSE;
	*party = r_u32(r);
	s->kind = r_u32(r);
	s->to_rel = r_u32(r);
	s->nonce_len = r_u32(r);
	if (r->err || *party >= MPC_PARTIES || s->kind >= M2_JOB_NKINDS || s->nonce_len == 0 ||
	    s->nonce_len > 32 || s->to_rel >= (1u << 30))
		return CL_EPARSE;
	s->nfixed = kinds[s->kind].nfixed;
	m = r_bytes(r, s->nonce_len);
	if (!m)
		return CL_EPARSE;
	memcpy(s->nonce, m, s->nonce_len);
	s->nmunis = r_u32(r);
	nnodes = r_u32(r);
	if (r->err || s->nmunis == 0 || s->nmunis + s->nfixed > 64 || nnodes > M2_JOB_MAX_NODES)
		return CL_EPARSE;
	rc = shape_alloc(s, nnodes);
	for (size_t k = 0; rc == 0 && k < nnodes; k++) {
		s->slots[k] = r_u32(r);
		s->nlocal[k] = r_u32(r);
		if (r->err || s->nlocal[k] > 64 || (!kinds[s->kind].munis && s->nlocal[k]) ||
		    s->slots[k] > M2_JOB_MAX_SLOTS || s->nin + s->slots[k] > M2_JOB_MAX_SLOTS)
			rc = CL_EPARSE;
		for (size_t l = 0; rc == 0 && l < s->nlocal[k]; l++) {
			s->map[k][l] = r_u32(r);
			if (s->map[k][l] >= s->nmunis)
				rc = CL_EPARSE;
		}
		s->nin += s->slots[k];
	}
	if (rc == 0) {
		s->nbuckets = r_u32(r);
		if (r->err || s->nbuckets > MPC_MAX_BUCKETS)
			rc = CL_EPARSE;
	}
	for (size_t i = 0; rc == 0 && i < s->nbuckets; i++) {
		size_t n;

		s->b[i].size = r_u32(r);
		s->b[i].clusters = r_u32(r);
		if (r->err || s->b[i].size == 0 || s->b[i].size > MPC_MAX_BUCKET_SIZE ||
		    __builtin_mul_overflow((size_t)s->b[i].size, (size_t)s->b[i].clusters, &n) ||
		    n > M2_JOB_MAX_SLOTS - s->nout ||
		    (size_t)(s->b[i].size - 1) * n > M2_JOB_MAX_PAIRS - pairs)
			rc = CL_EPARSE;
		else {
			s->nout += n;
			pairs += (size_t)(s->b[i].size - 1) * n;
		}
	}
	if (rc == 0 && (r->err || s->nout < s->nin))
		rc = CL_EPARSE;
	if (rc != 0)
		shape_free(s);
	return rc;
}

/* ---- building (the coordinator) ---- */

struct ent {
	uint32_t person, node, rec;
	const char *agency;
	size_t off, slots; /* in the input: first slot, count */
};

static int ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c;

	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	c = strcmp(x->agency, y->agency);
	if (c)
		return c;
	return x->off < y->off ? -1 : x->off > y->off;
}

struct clus {
	size_t first, count; /* in the sorted entries */
	uint32_t size, bucket;
	size_t base; /* first layout slot */
};

static int clus_cmp(const void *a, const void *b)
{
	const struct clus *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The query's municipalities and every node's map into them. */
static int build_munis(const struct m2_job_node *nodes, size_t nnodes, struct shape *s,
		       struct m2_job_munis *mu)
{
	memset(mu, 0, sizeof(*mu));
	for (size_t k = 0; k < nnodes; k++)
		for (size_t l = 0; l < nodes[k].up->n_municipalities; l++) {
			const char *m = nodes[k].up->municipalities[l];
			size_t i;

			if (!m || strlen(m) >= sizeof(mu->name[0]))
				return CL_EPROTO;
			for (i = 0; i < mu->n && strcmp(mu->name[i], m); i++)
				;
			if (i == mu->n) {
				if (mu->n + s->nfixed >= 64)
					return CL_ELIMIT;
				snprintf(mu->name[mu->n++], sizeof(mu->name[0]), "%s", m);
			}
		}
	if (mu->n == 0)
		snprintf(mu->name[mu->n++], sizeof(mu->name[0]), "-");
	qsort(mu->name, mu->n, sizeof(mu->name[0]), name_cmp);
	s->nmunis = mu->n;
	for (size_t k = 0; k < nnodes; k++) {
		s->nlocal[k] = (uint32_t)nodes[k].up->n_municipalities;
		for (size_t l = 0; l < s->nlocal[k]; l++)
			for (size_t i = 0; i < mu->n; i++)
				if (!strcmp(mu->name[i], nodes[k].up->municipalities[l]))
					s->map[k][l] = (uint32_t)i;
	}
	return 0;
}

static int check_node(const struct m2_job_node *nd, unsigned kind)
{
	struct mpc_input_shape sh;
	size_t sum = 0, words;

	if (!nd->up || !nd->up->layout || strcmp(nd->up->layout, kinds[kind].name) != 0 ||
	    (!kinds[kind].munis && nd->up->n_municipalities) ||
	    nd->up->seed_p0.len != MPC_INPUT_SEED || nd->up->n_municipalities > 64 ||
	    (nd->nrec && (!nd->slots || !nd->person || !nd->agency)))
		return CL_EPROTO;
	for (size_t r = 0; r < nd->nrec; r++) {
		if (nd->slots[r] == 0 || nd->slots[r] > MPC_MAX_BUCKET_SIZE || !nd->agency[r])
			return CL_EPROTO;
		sum += nd->slots[r];
	}
	sh = (struct mpc_input_shape){
	    .n = sum, .na = 1, .nplanes = kinds[kind].nfixed + nd->up->n_municipalities};
	if (sum != nd->up->slots || mpc_input_words(&sh, &words) != 0 ||
	    words * 8 != nd->up->x0.len)
		return CL_EPROTO;
	return 0;
}

/* Sorted entries, clusters by bucket, the layout (pi) and the buckets. */
static int build_layout(const struct m2_job_node *nodes, size_t nnodes, struct shape *s,
			struct ent **pe, size_t *pne, struct clus **pc, size_t *pnc, uint32_t **ppi)
{
	size_t ne = 0, nc = 0, off = 0, base = 0;
	struct ent *e;
	struct clus *c;
	uint32_t *pi;

	for (size_t k = 0; k < nnodes; k++)
		ne += nodes[k].nrec;
	e = calloc(ne ? ne : 1, sizeof(*e));
	c = calloc(ne ? ne : 1, sizeof(*c));
	pi = calloc(s->nin ? s->nin : 1, sizeof(*pi));
	if (!e || !c || !pi) {
		free(e);
		free(c);
		free(pi);
		return CL_ENOMEM;
	}
	ne = 0;
	for (size_t k = 0; k < nnodes; k++)
		for (size_t r = 0; r < nodes[k].nrec; r++) {
			e[ne++] = (struct ent){nodes[k].person[r], (uint32_t)k, (uint32_t)r,
					       nodes[k].agency[r], off,		nodes[k].slots[r]};
			off += nodes[k].slots[r];
		}
	qsort(e, ne, sizeof(*e), ent_cmp);
	for (size_t i = 0; i < ne; i++) {
		if (i == 0 || e[i].person != e[i - 1].person)
			c[nc++] = (struct clus){.first = i};
		c[nc - 1].count++;
		c[nc - 1].size += (uint32_t)e[i].slots;
	}
	for (size_t i = 0; i < nc; i++) {
		uint32_t b = 1;

		while (b < c[i].size)
			b *= 2;
		c[i].size = b;
	}
	qsort(c, nc, sizeof(*c), clus_cmp);
	s->nbuckets = 0;
	for (size_t i = 0; i < nc; i++) {
		if (c[i].size > MPC_MAX_BUCKET_SIZE)
			goto limit;
		if (s->nbuckets == 0 || s->b[s->nbuckets - 1].size != c[i].size) {
			if (s->nbuckets == MPC_MAX_BUCKETS)
				goto limit;
			s->b[s->nbuckets++] = (struct mpc_bucket){c[i].size, 0};
		}
		s->b[s->nbuckets - 1].clusters++;
		c[i].bucket = (uint32_t)(s->nbuckets - 1);
		c[i].base = base;
		base += c[i].size;
		for (size_t j = 0, pos = 0; j < c[i].count; j++) {
			const struct ent *x = &e[c[i].first + j];

			for (size_t q = 0; q < x->slots; q++)
				pi[x->off + q] = (uint32_t)(c[i].base + pos++);
		}
	}
	if (base > M2_JOB_MAX_SLOTS)
		goto limit;
	{
		size_t pairs = 0;

		for (size_t i = 0; i < s->nbuckets; i++)
			pairs += (size_t)(s->b[i].size - 1) * s->b[i].size * s->b[i].clusters;
		if (pairs > M2_JOB_MAX_PAIRS)
			goto limit;
	}
	s->nout = base;
	*pe = e;
	*pne = ne;
	*pc = c;
	*pnc = nc;
	*ppi = pi;
	return 0;
limit:
	free(e);
	free(c);
	free(pi);
	return CL_ELIMIT;
}

/* Party 0's same-node planes of every bucket, appended to w. */
static int write_samenode(struct wbuf *w, const struct shape *s, const struct ent *e,
			  const struct clus *c, size_t nc)
{
	size_t ci = 0;

	for (size_t bi = 0; bi < s->nbuckets; bi++) {
		uint32_t sz = s->b[bi].size;
		size_t n = (size_t)sz * s->b[bi].clusters, W = mpc_words(n);
		uint64_t *pl = calloc((sz > 1 ? sz - 1 : 1) * (W ? W : 1), 8);
		const char **who = calloc(sz, sizeof(*who));

		if (!pl || !who) {
			free(pl);
			free(who);
			return CL_ENOMEM;
		}
		for (size_t cc = 0; cc < s->b[bi].clusters; cc++, ci++) {
			const struct clus *cl = &c[ci];

			memset(who, 0, sz * sizeof(*who));
			for (size_t j = 0, pos = 0; j < cl->count; j++)
				for (size_t q = 0; q < e[cl->first + j].slots; q++)
					who[pos++] = e[cl->first + j].agency;
			for (size_t q = 1; q < sz; q++)
				for (size_t j = 0; j < sz; j++) {
					const char *a = who[j], *b = who[(j + q) % sz];
					size_t k = cc * sz + j;

					if (a && b && !strcmp(a, b))
						pl[(q - 1) * W + k / 64] |= 1ull << (k % 64);
				}
		}
		if (sz > 1)
			w_bytes(w, pl, (size_t)(sz - 1) * W * 8);
		free(pl);
		free(who);
	}
	return ci == nc ? 0 : CL_EINTERNAL;
}

int m2_job_build(const struct m2_job_node *nodes, size_t nnodes, unsigned kind, uint32_t to_rel,
		 const uint8_t *nonce, size_t nonce_len, uint8_t *jobs[MPC_PARTIES],
		 size_t lens[MPC_PARTIES], struct m2_job_munis *munis)
{
	struct wbuf w[MPC_PARTIES] = {{0}};
	struct shape s;
	struct ent *e = NULL;
	struct clus *c = NULL;
	uint32_t *pi = NULL;
	size_t ne = 0, nc = 0;
	int rc;

	memset(&s, 0, sizeof(s));
	if ((!nodes && nnodes) || !nonce || nonce_len == 0 || nonce_len > 32 || !jobs || !lens ||
	    !munis)
		return CL_EINVAL;
	if (nnodes > M2_JOB_MAX_NODES)
		return CL_ELIMIT;
	if (kind >= M2_JOB_NKINDS || to_rel >= (1u << 30))
		return CL_EINVAL;
	rc = shape_alloc(&s, nnodes);
	s.kind = kind;
	s.nfixed = kinds[kind].nfixed;
	s.to_rel = to_rel;
	for (size_t k = 0; rc == 0 && k < nnodes; k++) {
		rc = check_node(&nodes[k], kind);
		s.slots[k] = rc == 0 ? nodes[k].up->slots : 0;
		if (rc == 0 && s.slots[k] > MPC_MAX_ELEMENTS - s.nin)
			rc = CL_ELIMIT;
		s.nin += s.slots[k];
	}
	memcpy(s.nonce, nonce, nonce_len);
	s.nonce_len = nonce_len;
	if (rc == 0)
		rc = build_munis(nodes, nnodes, &s, munis);
	if (rc == 0)
		rc = build_layout(nodes, nnodes, &s, &e, &ne, &c, &nc, &pi);
	for (unsigned i = 0; rc == 0 && i < MPC_PARTIES; i++)
		shape_write(&w[i], &s, i);
	for (size_t k = 0; rc == 0 && k < nnodes; k++) {
		const Caselink__V1__ShareUpload *up = nodes[k].up;

		w_bytes(&w[0], up->seed_p0.data, MPC_INPUT_SEED);
		w_bytes(&w[0], up->x0.data, up->x0.len);
		w_u32(&w[1], (uint32_t)up->sealed_p1.len);
		w_bytes(&w[1], up->sealed_p1.data, up->sealed_p1.len);
		w_u32(&w[2], (uint32_t)up->sealed_p2.len);
		w_bytes(&w[2], up->sealed_p2.data, up->sealed_p2.len);
		w_bytes(&w[2], up->x0.data, up->x0.len);
	}
	if (rc == 0) {
		w_bytes(&w[0], pi, s.nin * 4); /* little-endian u32 on this build */
		rc = kind == M2_JOB_M2 ? write_samenode(&w[0], &s, e, c, nc) : 0;
	}
	for (unsigned i = 0; rc == 0 && i < MPC_PARTIES; i++)
		rc = w[i].err;
	for (unsigned i = 0; i < MPC_PARTIES; i++) {
		if (rc == 0) {
			jobs[i] = w[i].p;
			lens[i] = w[i].n;
		} else {
			if (w[i].p)
				OPENSSL_cleanse(w[i].p, w[i].n);
			free(w[i].p);
		}
	}
	if (pi)
		OPENSSL_cleanse(pi, s.nin * 4);
	free(pi);
	free(e);
	free(c);
	shape_free(&s);
	return rc;
}

/* ---- running (every party) ---- */

/* This party's two components of one node's columns, into c0 and c1 (words each). */
static int node_components(struct rbuf *r, const struct shape *s, unsigned party, size_t k,
			   const char *key_pem, size_t words, uint64_t *c0, uint64_t *c1)
{
	struct mpc_input_shape sh = {
	    .n = s->slots[k], .na = 1, .nplanes = s->nfixed + s->nlocal[k]};
	uint8_t aad[64], *msg = NULL;
	const uint8_t *d;
	size_t alen, mlen = 0, blen;
	int rc = 0;

	if (party == 0) {
		d = r_bytes(r, MPC_INPUT_SEED);
		if (d)
			rc = mpc_input_expand(&sh, d, c1);
		d = r_bytes(r, words * 8);
		if (d && rc == 0)
			memcpy(c0, d, words * 8);
		return r->err ? r->err : rc;
	}
	blen = r_u32(r);
	d = r_bytes(r, blen);
	if (!d || !key_pem)
		return r->err ? r->err : CL_EINVAL;
	rc = mpc_input_aad(party, s->nonce, s->nonce_len, aad, &alen);
	if (rc == 0)
		rc = seal_open(key_pem, aad, alen, d, blen, &msg, &mlen);
	if (rc == 0 && mlen != (party == 1 ? 2u : 1u) * MPC_INPUT_SEED)
		rc = CL_EPARSE;
	if (rc == 0)
		rc = mpc_input_expand(&sh, msg, c0);
	if (rc == 0 && party == 1)
		rc = mpc_input_expand(&sh, msg + MPC_INPUT_SEED, c1);
	if (rc == 0 && party == 2) {
		d = r_bytes(r, words * 8);
		if (d)
			memcpy(c1, d, words * 8);
		rc = r->err;
	}
	seal_free(msg, mlen);
	return rc;
}

/* Places one node's component (words) at input rows [off, off + n): t and the row bits. */
static void place_node(const struct shape *s, size_t k, const uint64_t *c, size_t off, uint64_t *t,
		       uint64_t *rows)
{
	size_t n = s->slots[k], W = mpc_words(n), np = s->nfixed + s->nlocal[k];
	const uint64_t *planes = c + n;

	for (size_t j = 0; j < n; j++) {
		uint64_t word = 0;

		for (size_t p = 0; p < np; p++) {
			uint64_t bit = (planes[p * W + j / 64] >> (j % 64)) & 1;
			size_t to = p < s->nfixed ? p : s->nfixed + s->map[k][p - s->nfixed];

			word |= bit << to;
		}
		t[off + j] = c[j];
		rows[off + j] = word;
	}
}

/* This party's shares of every node's columns, as the input table (t; row bits). */
/* Parties 0 and 2: the job must hold every node's x0 before anything is allocated for it. */
static int x0_present(const struct rbuf *r, const struct shape *s, unsigned party)
{
	size_t need = 0;

	if (party == 1)
		return 0;
	for (size_t k = 0; k < s->nnodes; k++) {
		struct mpc_input_shape sh = {
		    .n = s->slots[k], .na = 1, .nplanes = s->nfixed + s->nlocal[k]};
		size_t words;

		if (mpc_input_words(&sh, &words) != 0 || words * 8 > r->n - r->off - need)
			return CL_EPARSE;
		need += words * 8;
	}
	return 0;
}

static int assemble(struct rbuf *r, const struct shape *s, unsigned party, const char *key_pem,
		    struct mpc_a *t, struct mpc_b *rows)
{
	size_t off = 0;
	int rc = x0_present(r, s, party);

	if (rc == 0)
		rc = mpc_a_alloc(t, s->nin);

	if (rc == 0)
		rc = mpc_b_alloc(rows, s->nin);
	for (size_t k = 0; rc == 0 && k < s->nnodes; k++) {
		struct mpc_input_shape sh = {
		    .n = s->slots[k], .na = 1, .nplanes = s->nfixed + s->nlocal[k]};
		uint64_t *c0 = NULL, *c1 = NULL;
		size_t words = 0;

		rc = mpc_input_words(&sh, &words);
		if (rc == 0) {
			c0 = OPENSSL_zalloc(words ? words * 8 : 8);
			c1 = OPENSSL_zalloc(words ? words * 8 : 8);
			rc = c0 && c1 ? 0 : CL_ENOMEM;
		}
		if (rc == 0)
			rc = node_components(r, s, party, k, key_pem, words, c0, c1);
		if (rc == 0) {
			place_node(s, k, c0, off, t->s0, rows->s0);
			place_node(s, k, c1, off, t->s1, rows->s1);
		}
		off += s->slots[k];
		OPENSSL_clear_free(c0, words ? words * 8 : 8);
		OPENSSL_clear_free(c1, words ? words * 8 : 8);
	}
	return rc;
}

/* Party 0's layout and same-node planes, from its job. */
static int read_private(struct rbuf *r, const struct shape *s, uint32_t **pi, uint64_t **same)
{
	const uint8_t *d = r_bytes(r, s->nin * 4);
	size_t total = 0;

	if (!d)
		return CL_EPARSE;
	for (size_t i = 0; s->kind == M2_JOB_M2 && i < s->nbuckets; i++) {
		size_t n = (size_t)s->b[i].size * s->b[i].clusters;

		total += (size_t)(s->b[i].size - 1) * mpc_words(n);
	}
	*pi = malloc(s->nin ? s->nin * 4 : 4);
	*same = calloc(total ? total : 1, 8);
	if (!*pi || !*same)
		return CL_ENOMEM;
	memcpy(*pi, d, s->nin * 4);
	d = r_bytes(r, total * 8);
	if (!d)
		return CL_EPARSE;
	memcpy(*same, d, total * 8);
	return r->off == r->n ? 0 : CL_EPARSE;
}

/* One bucket's time column and its bit planes, from the laid-out rows [base, base + n). */
struct bucket {
	struct mpc_a t;
	struct mpc_b planes, samenode;
};

static void bucket_free(struct bucket *b)
{
	mpc_a_free(&b->t);
	mpc_b_free(&b->planes);
	mpc_b_free(&b->samenode);
}

static int bucket_inputs(struct mpc_party *p, const struct shape *s, size_t bi, size_t base,
			 const struct mpc_a *t, const struct mpc_b *rows, const uint64_t *same,
			 struct bucket *b)
{
	size_t n = (size_t)s->b[bi].size * s->b[bi].clusters, W = mpc_words(n);
	size_t Q = s->b[bi].size - 1;
	struct mpc_b view = {.w = n, .s0 = rows->s0 + base, .s1 = rows->s1 + base};
	int rc = mpc_a_alloc(&b->t, n);

	if (rc == 0) {
		memcpy(b->t.s0, t->s0 + base, n * 8);
		memcpy(b->t.s1, t->s1 + base, n * 8);
		rc = mpc_perm_rows_to_planes(&view, (unsigned)(s->nfixed + s->nmunis), &b->planes);
	}
	if (rc == 0 && s->kind == M2_JOB_M2)
		rc = mpc_b_input(p, 0, same, Q * W, &b->samenode);
	return rc;
}

/* Planes [first, first + count) of a bucket, as a view. */
static struct mpc_b planes_view(const struct bucket *b, size_t W, size_t first, size_t count)
{
	struct mpc_b v = {count * W, b->planes.s0 + first * W, b->planes.s1 + first * W};

	return v;
}

/* The measure's circuit over the buckets; party 0's counts into out (words). */
static int circuit(struct mpc_party *p, const struct shape *s, const struct bucket *b,
		   uint64_t *out)
{
	struct mpc_m2_bucket m2[MPC_MAX_BUCKETS];
	struct mpc_m4_bucket m4[MPC_MAX_BUCKETS];
	struct mpc_m5_bucket m5[MPC_MAX_BUCKETS];
	size_t M = s->nmunis;

	memset(m2, 0, sizeof(m2));
	memset(m4, 0, sizeof(m4));
	memset(m5, 0, sizeof(m5));
	for (size_t i = 0; i < s->nbuckets; i++) {
		size_t W = mpc_words((size_t)s->b[i].size * s->b[i].clusters);

		m2[i] = (struct mpc_m2_bucket){b[i].t,
					       planes_view(&b[i], W, 0, 1),
					       planes_view(&b[i], W, 1, 1),
					       planes_view(&b[i], W, 2, 1),
					       planes_view(&b[i], W, 3, M),
					       b[i].samenode};
		m4[i] = (struct mpc_m4_bucket){b[i].t, planes_view(&b[i], W, 0, 1),
					       planes_view(&b[i], W, 1, MPC_M4_NSUPPORT),
					       planes_view(&b[i], W, 1 + MPC_M4_NSUPPORT, M)};
		m5[i] = (struct mpc_m5_bucket){b[i].t, planes_view(&b[i], W, 0, 1),
					       planes_view(&b[i], W, 1, 2)};
	}
	switch (s->kind) {
	case M2_JOB_M2:
		return mpc_m2(p, s->b, s->nbuckets, M, m2, (struct mpc_m2_counts *)out);
	case M2_JOB_M4:
		return mpc_m4(p, s->b, s->nbuckets, M, m4, (struct mpc_m4_counts *)out);
	default:
		return mpc_m5(p, s->b, s->nbuckets, s->to_rel, m5, (struct mpc_m5_counts *)out);
	}
}

static int run_circuit(struct mpc_party *p, const struct shape *s, struct mpc_a *t,
		       struct mpc_b *rows, const uint32_t *pi, const uint64_t *same, uint64_t *out)
{
	struct bucket b[MPC_MAX_BUCKETS];
	struct mpc_table tab = {.a = t, .na = 1, .b = rows, .nb = 1};
	size_t base = 0, soff = 0;
	int rc;

	memset(b, 0, sizeof(b));
	/* layout dummies open as zero: carry t − NONE through the permutation */
	mpc_a_add_const(p, t, (uint64_t)0 - MPC_T_NONE);
	rc = mpc_perm_layout(p, &tab, pi, s->nout);
	if (rc == 0)
		mpc_a_add_const(p, t, MPC_T_NONE);
	for (size_t i = 0; rc == 0 && i < s->nbuckets; i++) {
		size_t n = (size_t)s->b[i].size * s->b[i].clusters;

		rc = bucket_inputs(p, s, i, base, t, rows, same ? same + soff : NULL, &b[i]);
		if (s->kind == M2_JOB_M2)
			soff += (size_t)(s->b[i].size - 1) * mpc_words(n);
		base += n;
	}
	if (rc == 0)
		rc = circuit(p, s, b, out);
	for (size_t i = 0; i < MPC_MAX_BUCKETS; i++)
		bucket_free(&b[i]);
	return rc;
}

size_t m2_job_out_words(unsigned kind, size_t nmunis)
{
	return kind == M2_JOB_M2   ? nmunis * (sizeof(struct mpc_m2_counts) / 8)
	       : kind == M2_JOB_M4 ? nmunis * (sizeof(struct mpc_m4_counts) / 8)
				   : 2 * (sizeof(struct mpc_m5_counts) / 8);
}

/* Party 0's output words of the job's kind. */
static size_t out_words(const struct shape *s)
{
	return m2_job_out_words(s->kind, s->nmunis);
}

int m2_job_run(struct mpc_net *net, const uint8_t *job, size_t len, const char *key_pem,
	       uint64_t *out, size_t cap, size_t *nout)
{
	struct rbuf r = {.p = job, .n = len};
	struct mpc_party *p = NULL;
	struct mpc_a t = {0};
	struct mpc_b rows = {0};
	struct shape s;
	uint32_t *pi = NULL;
	uint64_t *same = NULL;
	unsigned party = 0;
	int rc;

	if (!net || !job)
		return CL_EINVAL;
	rc = shape_read(&r, &s, &party);
	if (rc == 0 && (party != net->self || (party == 0 && (!out || !nout))))
		rc = CL_EPARSE;
	if (rc == 0 && party == 0 && out_words(&s) > cap)
		rc = CL_ELIMIT;
	if (rc == 0)
		rc = assemble(&r, &s, party, key_pem, &t, &rows);
	if (rc == 0 && party == 0)
		rc = read_private(&r, &s, &pi, &same);
	if (rc == 0 && party != 0 && r.off != r.n)
		rc = CL_EPARSE;
	if (rc == 0 && s.nin == 0) {
		if (party == 0)
			memset(out, 0, out_words(&s) * sizeof(*out));
	} else {
		if (rc == 0)
			rc = mpc_party_new(&p, net);
		if (rc == 0)
			rc = run_circuit(p, &s, &t, &rows, pi, same, party == 0 ? out : NULL);
	}
	if (rc == 0 && party == 0)
		*nout = out_words(&s);
	mpc_party_free(p);
	mpc_a_free(&t);
	mpc_b_free(&rows);
	if (pi)
		OPENSSL_cleanse(pi, s.nin * 4);
	free(pi);
	free(same);
	shape_free(&s);
	return rc;
}
