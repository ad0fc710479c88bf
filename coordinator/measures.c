/* measures — M1–M6 over linked persons, sort-based (see measures.h, docs/measures-engine.md). */
#include "coordinator/measures.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "common/grow.h"
#include "common/intern.h"
#include "common/vocab.h"

#define MS_DAY	     86400
#define MS_H72	     (72 * 3600)
#define MS_H24	     (24 * 3600)
#define MS_D30	     (30 * MS_DAY)
#define MS_D365	     (365 * MS_DAY)
#define MS_NONE	     UINT32_MAX
#define MS_ALL_TYPE  0xff
#define MS_NO_REFTO  0xff
#define MS_VALUE_MAX 48

/* ---- vocabularies (common/vocab.h) ---- */

#define MS_NSUPPORT (VOCAB_EV_CHILD_WELFARE_CASE_OPENED - VOCAB_EV_INTAKE + 1)

static const struct {
	const char *name, *spec;
} ms_names[] = {
    {"M1", "incident_counts"}, {"M2", "repeat_victimisation"}, {"M3", "referral_timeliness"},
    {"M4", "service_uptake"},  {"M5", "programme_outcomes"},   {"M6", "children_affected"},
};

static const char *const ms_cols_m1q[] = {"municipality", "agency_type", "quarter", "metric",
					  "value"};
static const char *const ms_cols_m1m[] = {"municipality", "agency_type", "month", "metric",
					  "value"};
static const char *const ms_cols_m1y[] = {"municipality", "agency_type", "year", "metric", "value"};
static const char *const ms_cols_m2[] = {"municipality", "metric", "value"};
static const char *const ms_cols_m3[] = {"agency_type", "municipality", "metric", "value"};
static const char *const ms_cols_m4[] = {"municipality", "support_type", "metric", "value"};
static const char *const ms_cols_m5[] = {"outcome", "metric", "value"};
static const char *const ms_cols_m6[] = {"age_band", "sex", "threat_level", "metric", "value"};

/* ---- input ---- */

struct ms_rec {
	uint32_t node, agency, nmuni, person; /* agency, nmuni: string ids */
	uint8_t atype, sex, restricted, linkable;
};

struct ms_ev {
	int64_t t;
	uint32_t rec, muni; /* muni: string id, the node's when the event has none */
	uint8_t type, role, refto;
	int8_t risk, threat;
	int16_t age;
};

struct measures_input {
	struct ms_rec *recs;
	size_t nrec, rcap;
	struct ms_ev *evs;
	size_t nev, ecap;
	struct intern *strs; /* agency ids and municipalities */
};

int measures_input_new(struct measures_input **out)
{
	struct measures_input *in;
	int rc;

	if (!out)
		return CL_EINVAL;
	in = calloc(1, sizeof *in);
	if (!in)
		return CL_ENOMEM;
	rc = intern_new(MEASURES_MAX_TEXT, &in->strs);
	if (rc) {
		free(in);
		return rc;
	}
	*out = in;
	return 0;
}

void measures_input_free(struct measures_input *in)
{
	if (!in)
		return;
	intern_free(in->strs);
	free(in->recs);
	free(in->evs);
	free(in);
}

int measures_add_record(struct measures_input *in, const struct measures_record *rec, size_t *index)
{
	struct ms_rec r = {0};
	char sx[2] = {0};
	int t, x, rc;

	if (!in || !rec || !rec->agency_id || !rec->agency_type || !rec->node_municipality)
		return CL_EINVAL;
	if (in->nrec >= MEASURES_MAX_RECORDS)
		return CL_ELIMIT;
	sx[0] = rec->sex;
	t = vocab_index(VOCAB_AGENCY_TYPE, rec->agency_type);
	x = vocab_index(VOCAB_SEX, sx);
	if (t < 0 || x < 0)
		return CL_EINVAL;
	r.node = rec->node;
	r.person = rec->person;
	r.atype = (uint8_t)t;
	r.sex = (uint8_t)x;
	r.restricted = rec->restricted != 0;
	r.linkable = rec->linkable != 0;
	rc = intern_add(in->strs, rec->agency_id, &r.agency);
	if (rc)
		return rc;
	rc = intern_add(in->strs, rec->node_municipality, &r.nmuni);
	if (rc)
		return rc;
	rc = grow_array((void **)&in->recs, &in->rcap, in->nrec + 1, sizeof *in->recs);
	if (rc)
		return rc;
	in->recs[in->nrec] = r;
	if (index)
		*index = in->nrec;
	in->nrec++;
	return 0;
}

int measures_add_event(struct measures_input *in, size_t record, const struct measures_event *ev)
{
	struct ms_ev e = {0};
	int v, rc;

	if (!in || !ev || record >= in->nrec || !ev->event_type || !ev->role)
		return CL_EINVAL;
	if (in->nev >= MEASURES_MAX_EVENTS)
		return CL_ELIMIT;
	e.t = ev->occurred_at;
	e.rec = (uint32_t)record;
	v = vocab_index(VOCAB_EVENT_TYPE, ev->event_type);
	if (v < 0)
		return CL_EINVAL;
	e.type = (uint8_t)v;
	v = vocab_index(VOCAB_ROLE, ev->role);
	if (v < 0)
		return CL_EINVAL;
	e.role = (uint8_t)v;
	e.risk = -1;
	if (ev->risk_level && ev->risk_level[0]) {
		v = vocab_index(VOCAB_RISK_LEVEL, ev->risk_level);
		if (v < 0)
			return CL_EINVAL;
		e.risk = (int8_t)v;
	}
	if (ev->child_threat_level < -1 || ev->child_threat_level > 2)
		return CL_EINVAL;
	e.threat = (int8_t)ev->child_threat_level;
	e.refto = MS_NO_REFTO;
	if (ev->referral_to && ev->referral_to[0]) {
		v = vocab_index(VOCAB_AGENCY_TYPE, ev->referral_to);
		if (v < 0)
			return CL_EINVAL;
		e.refto = (uint8_t)v;
	}
	if (ev->age_years < -1 || ev->age_years > 200)
		return CL_EINVAL;
	e.age = (int16_t)ev->age_years;
	if (ev->municipality && ev->municipality[0]) {
		rc = intern_add(in->strs, ev->municipality, &e.muni);
		if (rc)
			return rc;
	} else {
		e.muni = in->recs[record].nmuni;
	}
	rc = grow_array((void **)&in->evs, &in->ecap, in->nev + 1, sizeof *in->evs);
	if (rc)
		return rc;
	in->evs[in->nev++] = e;
	return 0;
}

size_t measures_record_count(const struct measures_input *in)
{
	return in ? in->nrec : 0;
}

size_t measures_event_count(const struct measures_input *in)
{
	return in ? in->nev : 0;
}

int measures_parse_name(const char *name, int *measure)
{
	size_t i;

	if (!name || !measure)
		return CL_EINVAL;
	for (i = 0; i < sizeof ms_names / sizeof ms_names[0]; i++)
		if (strcmp(name, ms_names[i].name) == 0 || strcmp(name, ms_names[i].spec) == 0) {
			*measure = (int)i + 1;
			return 0;
		}
	return CL_ENOTFOUND;
}

size_t measures_columns(int measure, int group_by, const char *const **cols)
{
	const char *const *c = NULL;
	size_t n = 0;

	switch (measure) {
	case MEASURES_M1:
		c = group_by == MEASURES_BY_QUARTER ? ms_cols_m1q
		    : group_by == MEASURES_BY_MONTH ? ms_cols_m1m
		    : group_by == MEASURES_BY_YEAR  ? ms_cols_m1y
						    : NULL;
		n = c ? 5 : 0;
		break;
	case MEASURES_M2:
		c = ms_cols_m2, n = 3;
		break;
	case MEASURES_M3:
		c = ms_cols_m3, n = 4;
		break;
	case MEASURES_M4:
		c = ms_cols_m4, n = 4;
		break;
	case MEASURES_M5:
		c = ms_cols_m5, n = 3;
		break;
	case MEASURES_M6:
		c = ms_cols_m6, n = 5;
		break;
	default:
		break;
	}
	if (n && cols)
		*cols = c;
	return n;
}

/* ---- computation context ---- */

struct ms_epi {
	int64_t t;	     /* date: the first event's occurred_at */
	uint32_t p;	     /* dense person */
	uint32_t first;	     /* first event */
	uint32_t start, len; /* its events in ctx->inc */
	uint32_t muni;	     /* string id */
	uint8_t role;
};

struct ms_ctx {
	const struct measures_input *in;
	int64_t from, to;
	int group_by;
	int (*emit)(void *ctx, const char *const *cols, size_t ncols);
	void *ectx;
	uint32_t *person; /* dense person of each record */
	size_t npersons;
	uint8_t *psex;	 /* consensus sex per person */
	uint32_t *srank; /* byte-order rank of each string id */
	uint32_t *inc;	 /* incident events by person, role, time, agency, order */
	size_t ninc;
	struct ms_epi *epi; /* by person, role, date */
	size_t nepi;
	uint32_t *byperson; /* records sorted by person */
	uint32_t *pfirst;   /* per person: first index in byperson (npersons + 1 entries) */
	int64_t *blo, *bhi; /* per record: birth key interval (lo, hi]; hi < 0 when unknown */
	int64_t *pbs, *pbe; /* per person: birth keys [s, e] most records agree on; e < 0: none */
};

static void *ms_alloc(size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		return NULL;
	return malloc(bytes ? bytes : 1);
}

static void *ms_zalloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

static int64_t ms_days(int64_t t)
{
	return t >= 0 ? t / MS_DAY : -((-t + MS_DAY - 1) / MS_DAY);
}

static int ms_in_period(const struct ms_ctx *c, int64_t t)
{
	return c->from <= t && t < c->to;
}

static int ms_is_incident(uint8_t type)
{
	return type <= VOCAB_EV_NGO_DISCLOSURE;
}

static uint32_t ms_person_of(const struct ms_ctx *c, const struct ms_ev *e)
{
	return c->person[e->rec];
}

static uint32_t ms_arank(const struct ms_ctx *c, const struct ms_ev *e)
{
	return c->srank[c->in->recs[e->rec].agency];
}

/* Birth keys are year * 10000 + month * 100 + day, ordered like the dates. */
static void ms_date_key(int64_t t, int64_t *year, int64_t *md)
{
	int y, m, d;

	cldate_civil_from_days(ms_days(t), &y, &m, &d);
	*year = y;
	*md = m * 100 + d;
}

/* Age at the date (year, md) of someone born on birth key b. */
static int64_t ms_age_from_key(int64_t year, int64_t md, int64_t b)
{
	return year - b / 10000 - (md < b % 10000);
}

/* Days since 1970 of a birth key (month-days past a month's end roll over). */
static int64_t ms_key_days(int64_t k)
{
	return cldate_days_from_civil((int)(k / 10000), (int)(k / 100 % 100), (int)(k % 100));
}

/*
 * The age band (band(age), band(-1) when unknown) of event e's subject at that event's date.
 * The linked person's birth date is taken to lie in the earliest range of birth dates that the
 * most of their records agree with (each record's events' ages bound its birth date); when
 * the band differs across that range, the range's middle date decides.
 */
static int ms_band_at(const struct ms_ctx *c, uint32_t e, int (*band)(int))
{
	const struct ms_ev *ev = &c->in->evs[e];
	uint32_t p = c->person[ev->rec];
	int64_t year, md, old, young, mid;
	int y, m, d;

	if (c->pbe[p] < 0)
		return band(-1);
	ms_date_key(ev->t, &year, &md);
	old = ms_age_from_key(year, md, c->pbs[p]);
	young = ms_age_from_key(year, md, c->pbe[p]);
	if (young < 0 || old > 200)
		return band(-1);
	if (band((int)old) == band((int)young))
		return band((int)young);
	mid = ms_key_days(c->pbs[p]) + (ms_key_days(c->pbe[p]) - ms_key_days(c->pbs[p])) / 2;
	cldate_civil_from_days(mid, &y, &m, &d);
	return band((int)ms_age_from_key(year, md, (int64_t)y * 10000 + m * 100 + d));
}

/* Writes num/den with `dec` decimals rounded half up, or "NA" when den is 0. */
static int ms_ratio(uint64_t num, uint64_t den, int dec, char *buf, size_t cap)
{
	uint64_t scale = 1, v, twice;
	int i;

	if (den == 0) {
		snprintf(buf, cap, "NA");
		return 0;
	}
	for (i = 0; i < dec; i++)
		scale *= 10;
	if (__builtin_mul_overflow(num, scale, &v) || __builtin_mul_overflow(v, 2, &twice) ||
	    __builtin_add_overflow(twice, den, &twice) || den > UINT64_MAX / 2)
		return CL_EOVERFLOW;
	v = twice / (2 * den);
	if (dec)
		snprintf(buf, cap, "%" PRIu64 ".%0*" PRIu64, v / scale, dec, v % scale);
	else
		snprintf(buf, cap, "%" PRIu64, v);
	return 0;
}

int measures_format_ratio(uint64_t num, uint64_t den, int decimals, char *buf, size_t cap)
{
	if (!buf || cap < 24 || decimals < 0 || decimals > 12)
		return CL_EINVAL;
	return ms_ratio(num, den, decimals, buf, cap);
}

/* Emits one row: keys, then metric and value. */
static int ms_row(struct ms_ctx *c, const char *const *keys, size_t nkeys, const char *metric,
		  const char *value)
{
	const char *cols[MEASURES_MAX_COLUMNS];
	size_t i;

	if (nkeys + 2 > MEASURES_MAX_COLUMNS)
		return CL_EINTERNAL;
	for (i = 0; i < nkeys; i++)
		cols[i] = keys[i];
	cols[nkeys] = metric;
	cols[nkeys + 1] = value;
	return c->emit(c->ectx, cols, nkeys + 2);
}

static int ms_row_int(struct ms_ctx *c, const char *const *keys, size_t nkeys, const char *metric,
		      int64_t v)
{
	char buf[MS_VALUE_MAX];

	snprintf(buf, sizeof buf, "%" PRId64, v);
	return ms_row(c, keys, nkeys, metric, buf);
}

static int ms_row_ratio(struct ms_ctx *c, const char *const *keys, size_t nkeys, const char *metric,
			uint64_t num, uint64_t den, int dec)
{
	char buf[MS_VALUE_MAX];
	int rc = ms_ratio(num, den, dec, buf, sizeof buf);

	return rc ? rc : ms_row(c, keys, nkeys, metric, buf);
}

/* ---- preparation: dense persons, consensus sex, string ranks, episodes ---- */

struct ms_pair {
	uint32_t key, idx;
};

static int ms_cmp_pair(const void *a, const void *b)
{
	const struct ms_pair *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct ms_strref {
	const char *s;
	uint32_t id;
};

static int ms_cmp_str(const void *a, const void *b)
{
	return strcmp(((const struct ms_strref *)a)->s, ((const struct ms_strref *)b)->s);
}

struct ms_inck {
	int64_t t;
	uint32_t p, arank, idx;
	uint8_t role;
};

static int ms_cmp_inck(const void *a, const void *b)
{
	const struct ms_inck *x = a, *y = b;

	if (x->p != y->p)
		return x->p < y->p ? -1 : 1;
	if (x->role != y->role)
		return x->role < y->role ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->arank != y->arank)
		return x->arank < y->arank ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct ms_edge {
	int64_t key;
	int delta;
};

static int ms_cmp_edge(const void *a, const void *b)
{
	const struct ms_edge *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->delta - y->delta; /* ends before starts at one key */
}

/* Per person, the earliest range of birth keys covered by the most record intervals. */
static int ms_birth_ranges(struct ms_ctx *c)
{
	struct ms_edge *edge = NULL;
	size_t p, i, n;
	int rc = CL_ENOMEM;

	c->pbs = ms_alloc(c->npersons, sizeof *c->pbs);
	c->pbe = ms_alloc(c->npersons, sizeof *c->pbe);
	edge = c->in->nrec <= SIZE_MAX / 2 ? ms_alloc(2 * c->in->nrec, sizeof *edge) : NULL;
	if (!c->pbs || !c->pbe || !edge)
		goto out;
	for (p = 0; p < c->npersons; p++) {
		int cover = 0, best = 0;

		n = 0;
		c->pbe[p] = -1;
		for (i = c->pfirst[p]; i < c->pfirst[p + 1]; i++) {
			uint32_t r = c->byperson[i];

			if (c->bhi[r] < 0)
				continue;
			edge[n++] = (struct ms_edge){c->blo[r] + 1, 1};
			edge[n++] = (struct ms_edge){c->bhi[r] + 1, -1};
		}
		qsort(edge, n, sizeof *edge, ms_cmp_edge);
		for (i = 0; i < n; i++) {
			cover += edge[i].delta;
			if (cover > best && i + 1 < n) {
				best = cover;
				c->pbs[p] = edge[i].key;
				c->pbe[p] = edge[i + 1].key - 1;
			}
		}
	}
	rc = 0;
out:
	free(edge);
	return rc;
}

static int ms_prepare(struct ms_ctx *c)
{
	const struct measures_input *in = c->in;
	struct ms_pair *pairs = NULL;
	struct ms_inck *keys = NULL;
	struct ms_strref *order = NULL;
	uint32_t(*sexn)[3] = NULL;
	size_t i, j, n = 0;
	int rc = CL_ENOMEM;

	/* dense persons */
	pairs = ms_alloc(in->nrec, sizeof *pairs);
	c->person = ms_alloc(in->nrec, sizeof *c->person);
	if (!pairs || !c->person)
		goto out;
	for (i = 0; i < in->nrec; i++)
		pairs[i] = (struct ms_pair){in->recs[i].person, (uint32_t)i};
	qsort(pairs, in->nrec, sizeof *pairs, ms_cmp_pair);
	for (i = 0; i < in->nrec; i++) {
		if (i > 0 && pairs[i].key != pairs[i - 1].key)
			n++;
		c->person[pairs[i].idx] = (uint32_t)n;
	}
	c->npersons = in->nrec ? n + 1 : 0;
	c->byperson = ms_alloc(in->nrec, sizeof *c->byperson);
	c->pfirst = ms_zalloc(c->npersons + 1, sizeof *c->pfirst);
	c->blo = ms_alloc(in->nrec, sizeof *c->blo);
	c->bhi = ms_alloc(in->nrec, sizeof *c->bhi);
	if (!c->byperson || !c->pfirst || !c->blo || !c->bhi)
		goto out;
	for (i = 0; i < in->nrec; i++) {
		c->byperson[i] = pairs[i].idx;
		c->pfirst[c->person[pairs[i].idx] + 1] = (uint32_t)i + 1;
		c->blo[i] = INT64_MIN;
		c->bhi[i] = INT64_MAX;
	}
	/* birth key interval (lo, hi] of each record from its events' ages */
	for (i = 0; i < in->nev; i++) {
		const struct ms_ev *e = &in->evs[i];
		int64_t year, md, lo, hi;

		if (e->age < 0)
			continue;
		ms_date_key(e->t, &year, &md);
		lo = (year - e->age - 1) * 10000 + md;
		hi = (year - e->age) * 10000 + md;
		if (lo > c->blo[e->rec])
			c->blo[e->rec] = lo;
		if (hi < c->bhi[e->rec])
			c->bhi[e->rec] = hi;
	}
	for (i = 0; i < in->nrec; i++)
		if (c->bhi[i] == INT64_MAX || c->blo[i] >= c->bhi[i])
			c->bhi[i] = -1; /* no age known, or ages that contradict each other */
	rc = ms_birth_ranges(c);
	if (rc)
		goto out;
	rc = CL_ENOMEM;

	/* consensus sex: the most frequent of F, M, X (ties F, M, X), else U */
	sexn = ms_zalloc(c->npersons, sizeof *sexn);
	c->psex = ms_alloc(c->npersons, 1);
	if (!sexn || !c->psex)
		goto out;
	for (i = 0; i < in->nrec; i++)
		if (in->recs[i].sex < 3)
			sexn[c->person[i]][in->recs[i].sex]++;
	for (i = 0; i < c->npersons; i++) {
		uint8_t best = 3;
		uint32_t bn = 0;

		for (j = 0; j < 3; j++)
			if (sexn[i][j] > bn)
				bn = sexn[i][j], best = (uint8_t)j;
		c->psex[i] = best;
	}

	/* byte-order ranks of strings */
	order = ms_alloc(intern_count(in->strs), sizeof *order);
	c->srank = ms_alloc(intern_count(in->strs), sizeof *c->srank);
	if (!order || !c->srank)
		goto out;
	for (i = 0; i < intern_count(in->strs); i++)
		order[i] = (struct ms_strref){intern_str(in->strs, i), (uint32_t)i};
	qsort(order, intern_count(in->strs), sizeof *order, ms_cmp_str);
	for (i = 0; i < intern_count(in->strs); i++)
		c->srank[order[i].id] = (uint32_t)i;

	/* incident events in episode order, then episodes chained within 72 h inclusive */
	for (i = 0; i < in->nev; i++)
		c->ninc += ms_is_incident(in->evs[i].type);
	keys = ms_alloc(c->ninc, sizeof *keys);
	c->inc = ms_alloc(c->ninc, sizeof *c->inc);
	c->epi = ms_alloc(c->ninc, sizeof *c->epi);
	if (!keys || !c->inc || !c->epi)
		goto out;
	for (i = 0, j = 0; i < in->nev; i++) {
		const struct ms_ev *e = &in->evs[i];

		if (!ms_is_incident(e->type))
			continue;
		keys[j++] = (struct ms_inck){e->t, ms_person_of(c, e), ms_arank(c, e), (uint32_t)i,
					     e->role};
	}
	qsort(keys, c->ninc, sizeof *keys, ms_cmp_inck);
	for (i = 0; i < c->ninc; i++) {
		const struct ms_ev *e = &in->evs[keys[i].idx];
		int chain = i > 0 && keys[i - 1].p == keys[i].p &&
			    keys[i - 1].role == keys[i].role && keys[i].t - keys[i - 1].t <= MS_H72;

		c->inc[i] = keys[i].idx;
		if (chain) {
			c->epi[c->nepi - 1].len++;
			continue;
		}
		c->epi[c->nepi++] =
		    (struct ms_epi){e->t, keys[i].p, keys[i].idx, (uint32_t)i, 1, e->muni, e->role};
	}
	rc = 0;
out:
	free(pairs);
	free(sexn);
	free(order);
	free(keys);
	return rc;
}

static void ms_release(struct ms_ctx *c)
{
	free(c->byperson);
	free(c->pfirst);
	free(c->blo);
	free(c->bhi);
	free(c->pbs);
	free(c->pbe);
	free(c->person);
	free(c->psex);
	free(c->srank);
	free(c->inc);
	free(c->epi);
}

/* ---- M1 incident_counts ---- */

struct m1t {
	int64_t t;
	uint32_t mrank, muni, p, ev; /* ev: the episode's first event (kind 1) */
	int32_t bucket;
	uint8_t atype, kind; /* kind 0: incident event, 1: episode */
};

static int m1_cmp(const void *a, const void *b)
{
	const struct m1t *x = a, *y = b;

	if (x->mrank != y->mrank)
		return x->mrank < y->mrank ? -1 : 1;
	if (x->atype != y->atype)
		return x->atype < y->atype ? -1 : 1;
	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->p != y->p)
		return x->p < y->p ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->ev < y->ev ? -1 : x->ev > y->ev;
}

static int32_t m1_bucket(int group_by, int64_t t)
{
	int y, m, d;

	cldate_civil_from_days(ms_days(t), &y, &m, &d);
	if (group_by == MEASURES_BY_MONTH)
		return y * 12 + (m - 1);
	if (group_by == MEASURES_BY_YEAR)
		return y;
	return y * 4 + (m - 1) / 3;
}

static void m1_label(int group_by, int32_t b, char *buf, size_t cap)
{
	if (group_by == MEASURES_BY_MONTH)
		snprintf(buf, cap, "%04d-%02d", (int)(b / 12), (int)(b % 12) + 1);
	else if (group_by == MEASURES_BY_YEAR)
		snprintf(buf, cap, "%04d", (int)b);
	else
		snprintf(buf, cap, "%04d-Q%d", (int)(b / 4), (int)(b % 4) + 1);
}

static int m1_age_group(int age)
{
	if (age < 0)
		return 5;
	if (age <= 17)
		return 0;
	if (age <= 24)
		return 1;
	if (age <= 44)
		return 2;
	if (age <= 64)
		return 3;
	return 4;
}

static int m1_emit_cell(struct ms_ctx *c, const struct m1t *t, size_t n, const int8_t *prisk)
{
	static const char *const sexm[] = {"victims_sex_F", "victims_sex_M", "victims_sex_X",
					   "victims_sex_U"};
	static const char *const agem[] = {"victims_age_0-17",	"victims_age_18-24",
					   "victims_age_25-44", "victims_age_45-64",
					   "victims_age_65+",	"victims_age_unknown"};
	static const char *const riskm[] = {"victims_risk_none", "victims_risk_standard",
					    "victims_risk_medium", "victims_risk_high",
					    "victims_risk_unassessed"};
	int64_t events = 0, episodes = 0, victims = 0, sex[4] = {0}, age[6] = {0}, risk[5] = {0};
	char bucket[16];
	const char *keys[3];
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if (t[i].kind == 0) {
			events++;
			continue;
		}
		episodes++;
		if (i > 0 && t[i - 1].kind == 1 && t[i - 1].p == t[i].p)
			continue;
		/* the person's earliest episode in the cell */
		victims++;
		sex[c->psex[t[i].p]]++;
		age[ms_band_at(c, t[i].ev, m1_age_group)]++;
		risk[prisk[t[i].p] < 0 ? 4 : prisk[t[i].p]]++;
	}
	m1_label(c->group_by, t[0].bucket, bucket, sizeof bucket);
	keys[0] = intern_str(c->in->strs, t[0].muni);
	keys[1] = vocab_name(VOCAB_AGENCY_TYPE, t[0].atype);
	keys[2] = bucket;
	rc = ms_row_int(c, keys, 3, "incident_events", events);
	if (!rc)
		rc = ms_row_int(c, keys, 3, "episodes", episodes);
	if (!rc)
		rc = ms_row_int(c, keys, 3, "victims", victims);
	for (i = 0; !rc && i < 4; i++)
		rc = ms_row_int(c, keys, 3, sexm[i], sex[i]);
	for (i = 0; !rc && i < 6; i++)
		rc = ms_row_int(c, keys, 3, agem[i], age[i]);
	for (i = 0; !rc && i < 5; i++)
		rc = ms_row_int(c, keys, 3, riskm[i], risk[i]);
	return rc;
}

static int m1_compute(struct ms_ctx *c)
{
	const struct measures_input *in = c->in;
	struct m1t *t = NULL;
	int8_t *prisk = NULL;
	uint64_t *mev = NULL, *munl = NULL;
	uint32_t *byrank = NULL;
	size_t i, j, n = 0, cap;
	int rc = CL_ENOMEM;

	if (__builtin_mul_overflow(c->nepi, VOCAB_NAGENCY_TYPES, &cap) ||
	    __builtin_add_overflow(cap, c->ninc, &cap)) {
		rc = CL_EOVERFLOW;
		goto out;
	}
	t = ms_alloc(cap, sizeof *t);
	prisk = ms_alloc(c->npersons, 1);
	mev = ms_zalloc(intern_count(in->strs), sizeof *mev);
	munl = ms_zalloc(intern_count(in->strs), sizeof *munl);
	byrank = ms_alloc(intern_count(in->strs), sizeof *byrank);
	if (!t || !prisk || !mev || !munl || !byrank)
		goto out;
	memset(prisk, -1, c->npersons);
	for (i = 0; i < in->nev; i++) {
		const struct ms_ev *e = &in->evs[i];
		uint32_t p = ms_person_of(c, e);

		if (!ms_in_period(c, e->t))
			continue;
		if (e->risk > prisk[p])
			prisk[p] = e->risk;
		if (!ms_is_incident(e->type) || e->role != VOCAB_ROLE_VICTIM)
			continue;
		t[n++] = (struct m1t){.t = e->t,
				      .mrank = c->srank[e->muni],
				      .muni = e->muni,
				      .p = p,
				      .ev = (uint32_t)i,
				      .bucket = m1_bucket(c->group_by, e->t),
				      .atype = in->recs[e->rec].atype,
				      .kind = 0};
		mev[e->muni]++;
		munl[e->muni] += !in->recs[e->rec].linkable;
	}
	for (i = 0; i < c->nepi; i++) {
		const struct ms_epi *ep = &c->epi[i];
		unsigned types = 0;

		if (ep->role != VOCAB_ROLE_VICTIM || !ms_in_period(c, ep->t))
			continue;
		for (j = 0; j < ep->len; j++)
			types |= 1u << in->recs[in->evs[c->inc[ep->start + j]].rec].atype;
		for (j = 0; j < VOCAB_NAGENCY_TYPES; j++)
			if (types & (1u << j))
				t[n++] = (struct m1t){.t = ep->t,
						      .mrank = c->srank[ep->muni],
						      .muni = ep->muni,
						      .p = ep->p,
						      .ev = ep->first,
						      .bucket = m1_bucket(c->group_by, ep->t),
						      .atype = (uint8_t)j,
						      .kind = 1};
	}
	qsort(t, n, sizeof *t, m1_cmp);
	rc = 0;
	for (i = 0; !rc && i < n; i = j) {
		for (j = i + 1; j < n && t[j].mrank == t[i].mrank && t[j].atype == t[i].atype &&
				t[j].bucket == t[i].bucket;
		     j++)
			;
		rc = m1_emit_cell(c, t + i, j - i, prisk);
	}
	/* data quality per event municipality */
	for (i = 0; i < intern_count(in->strs); i++)
		byrank[c->srank[i]] = (uint32_t)i;
	for (i = 0; !rc && i < intern_count(in->strs); i++) {
		uint32_t m = byrank[i];
		const char *keys[3] = {intern_str(in->strs, m), "*", "*"};

		if (!mev[m])
			continue;
		rc = ms_row_int(c, keys, 3, "incident_events", (int64_t)mev[m]);
		if (!rc)
			rc = ms_row_int(c, keys, 3, "unlinkable_incident_events", (int64_t)munl[m]);
		if (!rc)
			rc = ms_row_ratio(c, keys, 3, "unlinkable_share", munl[m], mev[m], 6);
	}
out:
	free(t);
	free(prisk);
	free(mev);
	free(munl);
	free(byrank);
	return rc;
}

/* ---- M2 repeat_victimisation ---- */

struct m2acc {
	uint64_t victims, repeats, repeat_eps, hidden;
};

struct m2gap {
	uint32_t mrank;
	int64_t days;
};

static int m2_cmp_gap(const void *a, const void *b)
{
	const struct m2gap *x = a, *y = b;

	if (x->mrank != y->mrank)
		return x->mrank < y->mrank ? -1 : 1;
	return x->days < y->days ? -1 : x->days > y->days;
}

static int m2_cmp_pair(const void *a, const void *b)
{
	return ms_cmp_pair(a, b);
}

/* Nearest rank: the k-th smallest of n sorted values, k = ceil(q * n / 4). */
static int64_t ms_quartile(const int64_t *sorted, size_t n, int q)
{
	size_t k = ((size_t)q * n + 3) / 4;

	return sorted[k ? k - 1 : 0];
}

static int m2_emit(struct ms_ctx *c, const char *muni, const struct m2acc *a, const struct m2gap *g,
		   size_t ng, int64_t *tmp)
{
	const char *keys[1] = {muni};
	size_t i;
	int rc;

	rc = ms_row_int(c, keys, 1, "victims", (int64_t)a->victims);
	if (!rc)
		rc = ms_row_int(c, keys, 1, "repeat_victims", (int64_t)a->repeats);
	if (!rc)
		rc = ms_row_ratio(c, keys, 1, "repeat_rate", a->repeats, a->victims, 6);
	if (!rc)
		rc = ms_row_int(c, keys, 1, "repeat_victim_episodes", (int64_t)a->repeat_eps);
	if (!rc)
		rc = ms_row_ratio(c, keys, 1, "mean_episodes_per_repeat_victim", a->repeat_eps,
				  a->repeats, 6);
	if (!rc)
		rc = ms_row_int(c, keys, 1, "hidden_repeats", (int64_t)a->hidden);
	if (!rc)
		rc = ms_row_int(c, keys, 1, "gap_count", (int64_t)ng);
	if (rc || ng == 0)
		return rc;
	for (i = 0; i < ng; i++)
		tmp[i] = g[i].days;
	rc = ms_row_int(c, keys, 1, "gap_days_min", tmp[0]);
	if (!rc)
		rc = ms_row_int(c, keys, 1, "gap_days_q1", ms_quartile(tmp, ng, 1));
	if (!rc)
		rc = ms_row_int(c, keys, 1, "gap_days_median", ms_quartile(tmp, ng, 2));
	if (!rc)
		rc = ms_row_int(c, keys, 1, "gap_days_q3", ms_quartile(tmp, ng, 3));
	if (!rc)
		rc = ms_row_int(c, keys, 1, "gap_days_max", tmp[ng - 1]);
	return rc;
}

static int m2_compute(struct ms_ctx *c)
{
	const struct measures_input *in = c->in;
	struct m2acc *acc = NULL, all = {0};
	struct m2gap *gaps = NULL;
	struct ms_pair *held = NULL;
	int64_t *tmp = NULL;
	uint32_t *byrank = NULL;
	size_t i, j, k, ng = 0;
	int rc = CL_ENOMEM;

	acc = ms_zalloc(intern_count(in->strs), sizeof *acc);
	gaps = ms_alloc(c->nepi, sizeof *gaps);
	held = ms_alloc(c->ninc, sizeof *held);
	tmp = ms_alloc(c->nepi, sizeof *tmp);
	byrank = ms_alloc(intern_count(in->strs), sizeof *byrank);
	if (!acc || !gaps || !held || !tmp || !byrank)
		goto out;
	for (i = 0; i < c->nepi; i = j) {
		size_t first = MS_NONE, cnt = 0, nh = 0, last = 0;
		uint32_t muni;
		int hidden = 1;

		for (j = i;
		     j < c->nepi && c->epi[j].p == c->epi[i].p && c->epi[j].role == c->epi[i].role;
		     j++)
			;
		if (c->epi[i].role != VOCAB_ROLE_VICTIM)
			continue;
		for (k = i; k < j; k++) {
			const struct ms_epi *ep = &c->epi[k];
			size_t x;

			if (!ms_in_period(c, ep->t))
				continue;
			if (first == MS_NONE)
				first = k;
			else
				gaps[ng++] =
				    (struct m2gap){c->srank[c->epi[first].muni],
						   ms_days(ep->t) - ms_days(c->epi[last].t)};
			last = k;
			for (x = 0; x < ep->len; x++)
				held[nh++] = (struct ms_pair){
				    in->recs[in->evs[c->inc[ep->start + x]].rec].agency,
				    (uint32_t)cnt};
			cnt++;
		}
		if (!cnt)
			continue;
		muni = c->epi[first].muni;
		acc[muni].victims++;
		all.victims++;
		if (cnt < 2)
			continue;
		/* hidden: no agency id recorded events in two or more of the episodes */
		qsort(held, nh, sizeof *held, m2_cmp_pair);
		for (k = 1; k < nh; k++)
			if (held[k].key == held[k - 1].key && held[k].idx != held[k - 1].idx)
				hidden = 0;
		acc[muni].repeats++;
		acc[muni].repeat_eps += cnt;
		acc[muni].hidden += (uint64_t)hidden;
		all.repeats++;
		all.repeat_eps += cnt;
		all.hidden += (uint64_t)hidden;
	}
	qsort(gaps, ng, sizeof *gaps, m2_cmp_gap);
	for (i = 0; i < intern_count(in->strs); i++)
		byrank[c->srank[i]] = (uint32_t)i;
	rc = 0;
	for (i = 0, k = 0; !rc && i < intern_count(in->strs); i++) {
		uint32_t m = byrank[i];
		size_t g0 = k;

		while (k < ng && gaps[k].mrank == i)
			k++;
		if (acc[m].victims)
			rc = m2_emit(c, intern_str(in->strs, m), &acc[m], gaps + g0, k - g0, tmp);
	}
	if (!rc) {
		for (i = 0; i < ng; i++)
			gaps[i].mrank = 0;
		qsort(gaps, ng, sizeof *gaps, m2_cmp_gap);
		rc = m2_emit(c, "*", &all, gaps, ng, tmp);
	}
out:
	free(acc);
	free(gaps);
	free(held);
	free(tmp);
	free(byrank);
	return rc;
}

/* ---- M3 referral_timeliness ---- */

struct m3rc {
	int64_t t;
	uint32_t p;
	uint8_t atype;
};

static int m3_cmp_rc(const void *a, const void *b)
{
	const struct m3rc *x = a, *y = b;

	if (x->p != y->p)
		return x->p < y->p ? -1 : 1;
	if (x->atype != y->atype)
		return x->atype < y->atype ? -1 : 1;
	return x->t < y->t ? -1 : x->t > y->t;
}

struct m3t {
	int64_t delay; /* -1: not received within 30 days */
	uint32_t mrank, muni;
	uint8_t atype;
};

static int m3_cmp(const void *a, const void *b)
{
	const struct m3t *x = a, *y = b;

	if (x->atype != y->atype)
		return x->atype < y->atype ? -1 : 1;
	if (x->mrank != y->mrank)
		return x->mrank < y->mrank ? -1 : 1;
	return x->delay < y->delay ? -1 : x->delay > y->delay;
}

static int m3_emit(struct ms_ctx *c, const struct m3t *t, size_t n)
{
	const char *keys[2];
	size_t i, recv = 0, r24 = 0, first = n;
	int rc;

	for (i = 0; i < n; i++)
		if (t[i].delay >= 0) {
			if (first == n)
				first = i;
			recv++;
			r24 += t[i].delay <= MS_H24;
		}
	keys[0] = t[0].atype == MS_ALL_TYPE ? "*" : vocab_name(VOCAB_AGENCY_TYPE, t[0].atype);
	keys[1] = t[0].muni == MS_NONE ? "*" : intern_str(c->in->strs, t[0].muni);
	rc = ms_row_int(c, keys, 2, "referrals", (int64_t)n);
	if (!rc)
		rc = ms_row_int(c, keys, 2, "received_24h", (int64_t)r24);
	if (!rc)
		rc = ms_row_int(c, keys, 2, "received_30d", (int64_t)recv);
	if (!rc)
		rc = ms_row_int(c, keys, 2, "lost", (int64_t)(n - recv));
	if (!rc && recv) {
		int64_t med = t[first + (recv + 1) / 2 - 1].delay;

		rc = ms_row_int(c, keys, 2, "median_delay_seconds", med);
		if (!rc)
			rc = ms_row_ratio(c, keys, 2, "median_delay_hours", (uint64_t)med, 3600, 2);
	}
	return rc;
}

static int m3_compute(struct ms_ctx *c)
{
	const struct measures_input *in = c->in;
	struct m3rc *rcv = NULL;
	struct m3t *t = NULL;
	size_t i, j, nr = 0, nref = 0, n = 0;
	int rc = CL_ENOMEM;

	for (i = 0; i < in->nev; i++) {
		uint8_t ty = in->evs[i].type;

		nr += ty == VOCAB_EV_REFERRAL_RECEIVED || ty == VOCAB_EV_INTAKE;
		nref += ty == VOCAB_EV_REFERRAL_SENT && ms_in_period(c, in->evs[i].t);
	}
	rcv = ms_alloc(nr, sizeof *rcv);
	t = nref <= SIZE_MAX / 4 ? ms_alloc(nref * 4, sizeof *t) : NULL;
	if (!rcv || !t)
		goto out;
	for (i = 0, nr = 0; i < in->nev; i++) {
		const struct ms_ev *e = &in->evs[i];

		if (e->type == VOCAB_EV_REFERRAL_RECEIVED || e->type == VOCAB_EV_INTAKE)
			rcv[nr++] = (struct m3rc){e->t, ms_person_of(c, e), in->recs[e->rec].atype};
	}
	qsort(rcv, nr, sizeof *rcv, m3_cmp_rc);
	for (i = 0; i < in->nev; i++) {
		const struct ms_ev *e = &in->evs[i];
		struct m3rc key;
		size_t lo = 0, hi = nr;
		int64_t delay = -1;
		uint8_t st;
		uint32_t mr;

		if (e->type != VOCAB_EV_REFERRAL_SENT || !ms_in_period(c, e->t))
			continue;
		key = (struct m3rc){e->t, ms_person_of(c, e), e->refto};
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (m3_cmp_rc(&rcv[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (e->refto != MS_NO_REFTO && lo < nr && rcv[lo].p == key.p &&
		    rcv[lo].atype == key.atype && rcv[lo].t - e->t <= MS_D30)
			delay = rcv[lo].t - e->t;
		st = in->recs[e->rec].atype;
		mr = c->srank[e->muni];
		t[n++] = (struct m3t){delay, mr, e->muni, st};
		t[n++] = (struct m3t){delay, MS_NONE, MS_NONE, st};
		t[n++] = (struct m3t){delay, mr, e->muni, MS_ALL_TYPE};
		t[n++] = (struct m3t){delay, MS_NONE, MS_NONE, MS_ALL_TYPE};
	}
	qsort(t, n, sizeof *t, m3_cmp);
	rc = 0;
	for (i = 0; !rc && i < n; i = j) {
		for (j = i + 1; j < n && t[j].atype == t[i].atype && t[j].mrank == t[i].mrank; j++)
			;
		rc = m3_emit(c, t + i, j - i);
	}
	if (!rc && n == 0) {
		const char *keys[2] = {"*", "*"};

		rc = ms_row_int(c, keys, 2, "referrals", 0);
		if (!rc)
			rc = ms_row_int(c, keys, 2, "received_24h", 0);
		if (!rc)
			rc = ms_row_int(c, keys, 2, "received_30d", 0);
		if (!rc)
			rc = ms_row_int(c, keys, 2, "lost", 0);
	}
out:
	free(rcv);
	free(t);
	return rc;
}

/* ---- M4 service_uptake ---- */

struct m4s {
	int64_t t;
	uint32_t p;
	uint8_t stype;
};

static int m4_cmp_s(const void *a, const void *b)
{
	const struct m4s *x = a, *y = b;

	if (x->p != y->p)
		return x->p < y->p ? -1 : 1;
	return x->t < y->t ? -1 : x->t > y->t;
}

struct m4acc {
	uint64_t victims, with[MS_NSUPPORT + 1]; /* [0]: any */
};

static int m4_emit(struct ms_ctx *c, const char *muni, const struct m4acc *a)
{
	const char *keys[2] = {muni, NULL};
	size_t k;
	int rc = 0;

	for (k = 0; !rc && k <= MS_NSUPPORT; k++) {
		keys[1] = k ? vocab_name(VOCAB_EVENT_TYPE, VOCAB_EV_INTAKE + k - 1) : "any";
		rc = ms_row_int(c, keys, 2, "victims", (int64_t)a->victims);
		if (!rc)
			rc = ms_row_int(c, keys, 2, "with_support", (int64_t)a->with[k]);
		if (!rc)
			rc = ms_row_ratio(c, keys, 2, "share", a->with[k], a->victims, 6);
	}
	return rc;
}

static int m4_compute(struct ms_ctx *c)
{
	const struct measures_input *in = c->in;
	struct m4s *sup = NULL;
	struct ms_inck *v = NULL;
	struct m4acc *acc = NULL, all = {0};
	uint32_t *byrank = NULL;
	size_t i, k, ns = 0, nv = 0;
	int rc = CL_ENOMEM;

	sup = ms_alloc(in->nev, sizeof *sup);
	v = ms_alloc(in->nev, sizeof *v);
	acc = ms_zalloc(intern_count(in->strs), sizeof *acc);
	byrank = ms_alloc(intern_count(in->strs), sizeof *byrank);
	if (!sup || !v || !acc || !byrank)
		goto out;
	for (i = 0; i < in->nev; i++) {
		const struct ms_ev *e = &in->evs[i];

		if (e->type >= VOCAB_EV_INTAKE && e->type <= VOCAB_EV_CHILD_WELFARE_CASE_OPENED)
			sup[ns++] = (struct m4s){e->t, ms_person_of(c, e), e->type};
		if ((e->type == VOCAB_EV_POLICE_CALLOUT || e->type == VOCAB_EV_CRIME_REPORT) &&
		    e->role == VOCAB_ROLE_VICTIM && ms_in_period(c, e->t))
			v[nv++] = (struct ms_inck){e->t, ms_person_of(c, e), ms_arank(c, e),
						   (uint32_t)i, 0};
	}
	qsort(sup, ns, sizeof *sup, m4_cmp_s);
	qsort(v, nv, sizeof *v, ms_cmp_inck);
	for (i = 0; i < nv; i++) {
		size_t lo = 0, hi = ns;
		unsigned mask = 0;
		uint32_t muni;

		if (i > 0 && v[i - 1].p == v[i].p)
			continue;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (sup[mid].p < v[i].p || (sup[mid].p == v[i].p && sup[mid].t < v[i].t))
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < ns && sup[lo].p == v[i].p && sup[lo].t - v[i].t <= MS_D30; lo++)
			mask |= 1u << (sup[lo].stype - VOCAB_EV_INTAKE + 1);
		muni = in->evs[v[i].idx].muni;
		acc[muni].victims++;
		all.victims++;
		if (mask) {
			acc[muni].with[0]++;
			all.with[0]++;
		}
		for (k = 1; k <= MS_NSUPPORT; k++)
			if (mask & (1u << k)) {
				acc[muni].with[k]++;
				all.with[k]++;
			}
	}
	for (i = 0; i < intern_count(in->strs); i++)
		byrank[c->srank[i]] = (uint32_t)i;
	rc = 0;
	for (i = 0; !rc && i < intern_count(in->strs); i++)
		if (acc[byrank[i]].victims)
			rc = m4_emit(c, intern_str(in->strs, byrank[i]), &acc[byrank[i]]);
	if (!rc)
		rc = m4_emit(c, "*", &all);
out:
	free(sup);
	free(v);
	free(acc);
	free(byrank);
	return rc;
}

/* ---- M5 programme_outcomes ---- */

struct m5t {
	int64_t t;
	uint32_t p;
	uint8_t outcome;
};

static int m5_cmp(const void *a, const void *b)
{
	const struct m5t *x = a, *y = b;

	if (x->outcome != y->outcome)
		return x->outcome < y->outcome ? -1 : 1;
	if (x->p != y->p)
		return x->p < y->p ? -1 : 1;
	return x->t < y->t ? -1 : x->t > y->t;
}

/* Returns 1 when person p has a perpetrator episode with its date in [lo, hi]. */
static int m5_reoffended(const struct ms_ctx *c, uint32_t p, int64_t lo, int64_t hi)
{
	size_t a = 0, b = c->nepi;

	while (a < b) {
		size_t mid = a + (b - a) / 2;
		const struct ms_epi *e = &c->epi[mid];

		if (e->p < p || (e->p == p && e->role < VOCAB_ROLE_PERPETRATOR) ||
		    (e->p == p && e->role == VOCAB_ROLE_PERPETRATOR && e->t < lo))
			a = mid + 1;
		else
			b = mid;
	}
	return a < c->nepi && c->epi[a].p == p && c->epi[a].role == VOCAB_ROLE_PERPETRATOR &&
	       c->epi[a].t <= hi;
}

static int m5_compute(struct ms_ctx *c)
{
	static const char *const outcomes[] = {"completed", "dropped"};
	const struct measures_input *in = c->in;
	struct m5t *t = NULL;
	uint64_t per[2] = {0}, obs[2] = {0}, re[2] = {0};
	size_t i, n = 0;
	int rc = CL_ENOMEM, o;

	t = ms_alloc(in->nev, sizeof *t);
	if (!t)
		goto out;
	for (i = 0; i < in->nev; i++) {
		const struct ms_ev *e = &in->evs[i];

		if ((e->type == VOCAB_EV_PROGRAMME_COMPLETED ||
		     e->type == VOCAB_EV_PROGRAMME_DROPPED) &&
		    ms_in_period(c, e->t))
			t[n++] = (struct m5t){e->t, ms_person_of(c, e),
					      (uint8_t)(e->type == VOCAB_EV_PROGRAMME_DROPPED)};
	}
	qsort(t, n, sizeof *t, m5_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && t[i - 1].outcome == t[i].outcome && t[i - 1].p == t[i].p)
			continue;
		per[t[i].outcome]++;
		if (t[i].t + MS_D365 >= c->to)
			continue;
		obs[t[i].outcome]++;
		re[t[i].outcome] += (uint64_t)m5_reoffended(c, t[i].p, t[i].t, t[i].t + MS_D365);
	}
	rc = 0;
	for (o = 0; !rc && o < 2; o++) {
		const char *keys[1] = {outcomes[o]};

		rc = ms_row_int(c, keys, 1, "perpetrators", (int64_t)per[o]);
		if (!rc)
			rc = ms_row_int(c, keys, 1, "observable", (int64_t)obs[o]);
		if (!rc)
			rc = ms_row_int(c, keys, 1, "not_yet_observable",
					(int64_t)(per[o] - obs[o]));
		if (!rc)
			rc = ms_row_int(c, keys, 1, "reoffended", (int64_t)re[o]);
		if (!rc)
			rc = ms_row_ratio(c, keys, 1, "reoffended_share", re[o], obs[o], 6);
	}
out:
	free(t);
	return rc;
}

/* ---- M6 children_affected ---- */

static int m6_band(int age)
{
	if (age < 0)
		return 6;
	if (age <= 3)
		return 0;
	if (age <= 6)
		return 1;
	if (age <= 9)
		return 2;
	if (age <= 14)
		return 3;
	if (age <= 17)
		return 4;
	return 5;
}

static int m6_compute(struct ms_ctx *c)
{
	static const char *const bands[] = {"0-3",   "4-6", "7-9",    "10-14",
					    "15-17", "18+", "unknown"};
	static const char *const sexes[] = {"F", "M", "X", "U"};
	static const char *const threats[] = {"0", "1", "2", "unassessed"};
	const struct measures_input *in = c->in;
	struct ms_inck *v = NULL;
	int8_t *threat = NULL;
	uint64_t grid[7][4][4] = {{{0}}}, total = 0;
	size_t i, nv = 0;
	int rc = CL_ENOMEM, b, s, l;

	v = ms_alloc(in->nev, sizeof *v);
	threat = ms_alloc(c->npersons, 1);
	if (!v || !threat)
		goto out;
	memset(threat, -1, c->npersons);
	for (i = 0; i < in->nev; i++) {
		const struct ms_ev *e = &in->evs[i];
		uint32_t p = ms_person_of(c, e);

		if (!ms_in_period(c, e->t))
			continue;
		if (e->threat > threat[p])
			threat[p] = e->threat;
		if (e->role == VOCAB_ROLE_CHILD)
			v[nv++] = (struct ms_inck){e->t, p, ms_arank(c, e), (uint32_t)i, 0};
	}
	qsort(v, nv, sizeof *v, ms_cmp_inck);
	for (i = 0; i < nv; i++) {
		uint32_t p = v[i].p;

		if (i > 0 && v[i - 1].p == p)
			continue;
		total++;
		grid[ms_band_at(c, v[i].idx, m6_band)][c->psex[p]][threat[p] < 0 ? 3 : threat[p]]++;
	}
	rc = 0;
	{
		const char *keys[3] = {"*", "*", "*"};

		rc = ms_row_int(c, keys, 3, "children", (int64_t)total);
	}
	for (b = 0; !rc && b < 7; b++)
		for (s = 0; !rc && s < 4; s++)
			for (l = 0; !rc && l < 4; l++) {
				const char *keys[3] = {bands[b], sexes[s], threats[l]};

				rc = ms_row_int(c, keys, 3, "children", (int64_t)grid[b][s][l]);
			}
out:
	free(v);
	free(threat);
	return rc;
}

int measures_compute(const struct measures_input *in, int measure, int64_t from, int64_t to,
		     int group_by, int (*emit)(void *ctx, const char *const *cols, size_t ncols),
		     void *ctx)
{
	struct ms_ctx c = {0};
	int rc;

	if (!in || !emit || from >= to || measures_columns(measure, group_by, NULL) == 0)
		return CL_EINVAL;
	if (to > INT64_MAX - MS_D365 || from < INT64_MIN + MS_D365)
		return CL_EOVERFLOW;
	c.in = in;
	c.from = from;
	c.to = to;
	c.group_by = group_by;
	c.emit = emit;
	c.ectx = ctx;
	rc = ms_prepare(&c);
	if (rc)
		goto out;
	switch (measure) {
	case MEASURES_M1:
		rc = m1_compute(&c);
		break;
	case MEASURES_M2:
		rc = m2_compute(&c);
		break;
	case MEASURES_M3:
		rc = m3_compute(&c);
		break;
	case MEASURES_M4:
		rc = m4_compute(&c);
		break;
	case MEASURES_M5:
		rc = m5_compute(&c);
		break;
	default:
		rc = m6_compute(&c);
		break;
	}
out:
	ms_release(&c);
	return rc;
}

int measures_episodes(const struct measures_input *in, const char *role, int64_t from, int64_t to,
		      int (*fn)(void *ctx, uint32_t person, int64_t date), void *ctx)
{
	struct ms_ctx c = {0};
	size_t i;
	int r = role ? vocab_index(VOCAB_ROLE, role) : -1, rc;

	if (!in || !fn || r < 0 || from >= to)
		return CL_EINVAL;
	c.in = in;
	c.from = from;
	c.to = to;
	rc = ms_prepare(&c);
	for (i = 0; !rc && i < c.nepi; i++)
		if (c.epi[i].role == (uint8_t)r && ms_in_period(&c, c.epi[i].t))
			rc = fn(ctx,
				in->recs[c.epi[i].first < in->nev ? in->evs[c.epi[i].first].rec : 0]
				    .person,
				c.epi[i].t);
	ms_release(&c);
	return rc;
}
