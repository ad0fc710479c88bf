/*
 * mpcfed — the measure-circuit tests' shared harness (mpcfed.h).
 */
#include "mpcfed.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "common/cldate.h"
#include "common/vocab.h"

#define MAXREC 200000
#define MAXEV  1000000

struct mpcfed *mpcfed_new(void)
{
	struct mpcfed *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->recs = calloc(MAXREC, sizeof(*f->recs));
	f->evs = calloc(MAXEV, sizeof(*f->evs));
	assert_non_null(f->recs);
	assert_non_null(f->evs);
	assert_int_equal(measures_input_new(&f->ref), 0);
	return f;
}

void mpcfed_free(struct mpcfed *f)
{
	measures_input_free(f->ref);
	free(f->recs);
	free(f->evs);
	free(f);
}

size_t mpcfed_record(struct mpcfed *f, uint32_t node, uint32_t person, const char *agency,
		     const char *type, const char *muni, char sex)
{
	struct measures_record r = {0};
	char sx[2] = {sex, 0};
	size_t idx;

	assert_true(f->nrec < MAXREC);
	r.node = node;
	r.agency_id = agency;
	r.agency_type = type;
	r.node_municipality = muni;
	r.sex = sex;
	r.linkable = 1;
	r.person = person;
	assert_int_equal(measures_add_record(f->ref, &r, &idx), 0);
	assert_int_equal(idx, f->nrec);
	f->recs[f->nrec] = (struct mpcfed_rec){.node = node, .person = person};
	f->recs[f->nrec].sex = vocab_index(VOCAB_SEX, sx);
	assert_true(f->recs[f->nrec].sex >= 0);
	snprintf(f->recs[f->nrec].agency, 64, "%s", agency);
	snprintf(f->recs[f->nrec].muni, 64, "%s", muni);
	return f->nrec++;
}

void mpcfed_event(struct mpcfed *f, size_t rec, const struct measures_event *e)
{
	struct mpcfed_ev *p = &f->evs[f->nev];

	assert_true(f->nev < MAXEV);
	assert_int_equal(measures_add_event(f->ref, rec, e), 0);
	p->rec = (uint32_t)rec;
	p->t = e->occurred_at;
	p->type = vocab_index(VOCAB_EVENT_TYPE, e->event_type);
	p->role = vocab_index(VOCAB_ROLE, e->role);
	p->threat = e->child_threat_level;
	p->age = e->age_years;
	snprintf(p->muni, 64, "%s",
		 e->municipality && e->municipality[0] ? e->municipality : f->recs[rec].muni);
	f->nev++;
}

void mpcfed_ev(struct mpcfed *f, size_t rec, const char *type, int64_t t, const char *role,
	       const char *muni)
{
	struct measures_event e = {0};

	e.event_type = type;
	e.occurred_at = t;
	e.role = role;
	e.municipality = muni;
	e.child_threat_level = -1;
	e.age_years = -1;
	mpcfed_event(f, rec, &e);
}

size_t mpcfed_muni(struct mpcfed *f, const char *m)
{
	for (size_t i = 0; i < f->nmunis; i++)
		if (strcmp(f->munis[i], m) == 0)
			return i;
	assert_true(f->nmunis < MPCFED_MAXMUNI);
	snprintf(f->munis[f->nmunis], 64, "%s", m);
	return f->nmunis++;
}

static size_t sink_record(void *ctx, const struct synthfed_record *r)
{
	struct measures_record mr;

	synthfed_measures_record(r, r->person, &mr);
	return mpcfed_record(ctx, r->node, r->person, r->agency_id, r->agency_type, r->municipality,
			     mr.sex);
}

static void sink_event(void *ctx, size_t record, const struct measures_event *e)
{
	mpcfed_event(ctx, record, e);
}

void mpcfed_load_synth(struct mpcfed *f, const char *name, const char *args, int64_t *from,
		       int64_t *to)
{
	char dir[1024], a[16], b[16], asof[16];
	struct synthfed_sink sink = {.record = sink_record, .event = sink_event, .ctx = f};

	synthfed_generate(name, args, dir, sizeof dir);
	synthfed_load(dir, &sink);
	synthfed_period(dir, a, b, asof);
	*from = synthfed_parse_day(a);
	*to = synthfed_parse_day(b);
}

/* ---- layout ---- */

static const struct mpcfed *cmp_fed;

static int item_cmp(const void *a, const void *b)
{
	const struct mpcfed_item *x = a, *y = b;
	int64_t kx, ky;
	int c;

	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	c = strcmp(cmp_fed->recs[x->rec].agency, cmp_fed->recs[y->rec].agency);
	if (c != 0)
		return c;
	kx = x->ev >= 0 ? x->ev : (int64_t)cmp_fed->nev + x->rec;
	ky = y->ev >= 0 ? y->ev : (int64_t)cmp_fed->nev + y->rec;
	return kx < ky ? -1 : kx > ky;
}

struct clus {
	size_t first, count;
	uint32_t bucket;
};

static int clus_cmp(const void *a, const void *b)
{
	const struct clus *x = a, *y = b;

	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

static size_t collect(const struct mpcfed *f, int (*want)(void *, const struct mpcfed *, size_t),
		      void *ctx, int record_slots, struct mpcfed_item *items)
{
	uint8_t *concerned = calloc(f->nrec ? f->nrec : 1, 1), *pconc;
	uint32_t maxp = 0;
	size_t n = 0;

	assert_non_null(concerned);
	for (size_t r = 0; r < f->nrec; r++)
		if (f->recs[r].person > maxp)
			maxp = f->recs[r].person;
	pconc = calloc((size_t)maxp + 1, 1);
	assert_non_null(pconc);
	for (size_t i = 0; i < f->nev; i++) {
		uint32_t r = f->evs[i].rec;

		if (!want(ctx, f, i))
			continue;
		items[n++] = (struct mpcfed_item){f->recs[r].person, r, (int64_t)i};
		pconc[f->recs[r].person] = 1;
	}
	for (size_t r = 0; record_slots && r < f->nrec; r++)
		if (pconc[f->recs[r].person])
			items[n++] = (struct mpcfed_item){f->recs[r].person, (uint32_t)r, -1};
	free(concerned);
	free(pconc);
	return n;
}

void mpcfed_layout(const struct mpcfed *f,
		   int (*want)(void *ctx, const struct mpcfed *f, size_t ev), void *ctx,
		   int record_slots, struct mpcfed_layout *l)
{
	size_t cap = f->nev + f->nrec + 1, ns, ncl = 0;
	struct clus *cl = calloc(cap, sizeof(*cl));

	memset(l, 0, sizeof(*l));
	l->items = calloc(cap, sizeof(*l->items));
	assert_non_null(l->items);
	assert_non_null(cl);
	l->base = INT64_MAX;
	for (size_t i = 0; i < f->nev; i++)
		if (f->evs[i].t < l->base)
			l->base = f->evs[i].t;
	ns = collect(f, want, ctx, record_slots, l->items);
	l->nitems = ns;
	cmp_fed = f;
	qsort(l->items, ns, sizeof(*l->items), item_cmp);
	for (size_t i = 0; i < ns; i++) {
		if (i == 0 || l->items[i].person != l->items[i - 1].person)
			cl[ncl++] = (struct clus){.first = i};
		cl[ncl - 1].count++;
	}
	for (size_t c = 0; c < ncl; c++) {
		uint32_t b = 1;

		while (b < cl[c].count)
			b *= 2;
		cl[c].bucket = b;
	}
	qsort(cl, ncl, sizeof(*cl), clus_cmp);
	for (size_t c = 0; c < ncl;) {
		size_t e = c, s;

		while (e < ncl && cl[e].bucket == cl[c].bucket)
			e++;
		assert_true(l->nb < MPC_MAX_BUCKETS);
		s = cl[c].bucket;
		l->shape[l->nb] = (struct mpc_bucket){(uint32_t)s, (uint32_t)(e - c)};
		l->slot[l->nb] = malloc((e - c) * s * sizeof(int64_t));
		assert_non_null(l->slot[l->nb]);
		for (size_t i = c; i < e; i++)
			for (size_t j = 0; j < s; j++)
				l->slot[l->nb][(i - c) * s + j] =
				    j < cl[i].count ? (int64_t)(cl[i].first + j) : -1;
		l->nb++;
		c = e;
	}
	free(cl);
}

void mpcfed_layout_free(struct mpcfed_layout *l)
{
	for (size_t i = 0; i < l->nb; i++)
		free(l->slot[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

const struct mpcfed_item *mpcfed_slot(const struct mpcfed_layout *l, size_t bucket, size_t k)
{
	int64_t i = l->slot[bucket][k];

	return i < 0 ? NULL : &l->items[i];
}

void mpcfed_setbit(uint64_t *plane, size_t k)
{
	plane[k / 64] |= 1ull << (k % 64);
}

void mpcfed_run(int (*fn)(struct mpc_net *net, void *ctx), void *ctx)
{
	void *ctxs[MPC_PARTIES] = {ctx, ctx, ctx};

	assert_int_equal(mpc_net_local_run(fn, ctxs, 120000), 0);
}

/* ---- comparison ---- */

static int keep(const char *line, const char *const *metrics)
{
	char pat[128];

	for (size_t i = 0; metrics[i]; i++) {
		snprintf(pat, sizeof pat, ",%s,", metrics[i]);
		if (strstr(line, pat))
			return 1;
	}
	return 0;
}

void mpcfed_compare(struct mpcfed *f, int measure, int64_t from, int64_t to,
		    const char *const *metrics, struct synthfed_rows *got, const char *what)
{
	struct synthfed_rows ref = {0}, refk = {0};
	size_t same = 0, oa = 0, ob = 0;

	assert_int_equal(measures_compute(f->ref, measure, from, to, 0, synthfed_collect, &ref), 0);
	for (size_t i = 0; i < ref.n; i++)
		if (keep(ref.line[i], metrics))
			synthfed_rows_add(&refk, ref.line[i]);
	synthfed_compare_sets(got, &refk, what, 20, &same, &oa, &ob);
	assert_int_equal(oa, 0);
	assert_int_equal(ob, 0);
	assert_true(same > 0);
	synthfed_rows_free(&ref);
	synthfed_rows_free(&refk);
}

void mpcfed_add(struct synthfed_rows *r, const char *key, const char *metric, uint64_t v)
{
	char line[512];

	snprintf(line, sizeof line, "%s,%s,%llu", key, metric, (unsigned long long)v);
	synthfed_rows_add(r, line);
}

int64_t mpcfed_at(int y, int mo, int d, int h, int mi, int s)
{
	return cldate_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* ---- capture of what each party receives ---- */

struct capnet {
	struct mpc_net net;
	struct mpc_net *inner;
	struct mpcfed_capture *cap;
};

static int cap_send(void *ctx, unsigned to, const void *buf, size_t len)
{
	struct capnet *c = ctx;

	return c->inner->ops->send(c->inner->ctx, to, buf, len);
}

static int cap_recv(void *ctx, unsigned from, void *buf, size_t len)
{
	struct capnet *c = ctx;
	struct mpcfed_capture *k = c->cap;
	unsigned me = c->inner->self;
	int rc = c->inner->ops->recv(c->inner->ctx, from, buf, len);

	if (rc != 0)
		return rc;
	if (k->len[me] + len > k->cap[me]) {
		size_t nc = (k->cap[me] + len) * 2;

		k->bytes[me] = realloc(k->bytes[me], nc);
		assert_non_null(k->bytes[me]);
		k->cap[me] = nc;
	}
	memcpy(k->bytes[me] + k->len[me], buf, len);
	k->len[me] += len;
	if (k->nmsg[me] == k->msgcap[me]) {
		k->msgcap[me] = k->msgcap[me] ? 2 * k->msgcap[me] : 256;
		k->msg[me] = realloc(k->msg[me], k->msgcap[me] * sizeof(size_t));
		assert_non_null(k->msg[me]);
	}
	k->msg[me][k->nmsg[me]++] = len;
	return 0;
}

static const struct mpc_net_ops cap_ops = {cap_send, cap_recv};

struct captramp {
	int (*fn)(struct mpc_net *net, void *ctx);
	void *ctx;
	struct mpcfed_capture *cap;
};

static int cap_party(struct mpc_net *net, void *ctx)
{
	struct captramp *t = ctx;
	struct capnet c = {.inner = net, .cap = t->cap};

	c.net.ops = &cap_ops;
	c.net.ctx = &c;
	c.net.self = net->self;
	return t->fn(&c.net, t->ctx);
}

void mpcfed_run_capture(int (*fn)(struct mpc_net *net, void *ctx), void *ctx,
			struct mpcfed_capture *cap)
{
	struct captramp t = {fn, ctx, cap};
	void *ctxs[MPC_PARTIES] = {&t, &t, &t};

	assert_int_equal(mpc_net_local_run(cap_party, ctxs, 120000), 0);
}

void mpcfed_capture_free(struct mpcfed_capture *cap)
{
	for (unsigned i = 0; i < MPC_PARTIES; i++) {
		free(cap->bytes[i]);
		free(cap->msg[i]);
	}
	memset(cap, 0, sizeof(*cap));
}

size_t mpcfed_capture_check(const struct mpcfed_capture *a, const struct mpcfed_capture *b,
			    unsigned party)
{
	size_t n = a->len[party], ones = 0, equal = 0;
	double mean, sd;

	assert_true(party == 1 || party == 2);
	assert_true(n >= 1024);
	assert_int_equal(a->nmsg[party], b->nmsg[party]);
	for (size_t i = 0; i < a->nmsg[party]; i++)
		assert_int_equal(a->msg[party][i], b->msg[party][i]);
	for (size_t i = 0; i < n; i++)
		ones += (size_t)__builtin_popcount(a->bytes[party][i]);
	for (size_t i = 0; i + 8 <= n; i += 8)
		equal += memcmp(a->bytes[party] + i, b->bytes[party] + i, 8) == 0;
	mean = 4.0 * (double)n;
	sd = sqrt(2.0 * (double)n); /* 8n bits, variance 8n / 4 */
	printf("party %u received %zu bytes in %zu messages: %.4f of the bits set, %zu words "
	       "equal to the other run's\n",
	       party, n, a->nmsg[party], (double)ones / (8.0 * (double)n), equal);
	assert_true((double)ones > mean - 6 * sd && (double)ones < mean + 6 * sd);
	assert_int_equal(equal, 0);
	return n;
}
