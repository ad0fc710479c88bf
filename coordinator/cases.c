/* cases — M7 case_history and M8 high_risk_alerts over linked records (see cases.h). */
#define _GNU_SOURCE /* qsort_r */
#include "coordinator/cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "common/grow.h"
#include "common/intern.h"
#include "common/vocab.h"

#define CS_DAY	 86400
#define CS_NONE	 UINT32_MAX
#define CS_NTEXT 9 /* columns of M7 */

static const char *const cs_cols_m7[] = {"seq",	      "occurred_at",  "agency_type",
					 "agency_id", "municipality", "event_type",
					 "role",      "risk_level",   "child_threat_level"};
static const char *const cs_cols_m8[] = {"handle", "reasons", "other_agency_types"};

struct cs_rec {
	uint32_t node, person, agency, nmuni; /* agency, nmuni: string ids */
	uint8_t atype, restricted, hlen;
	uint8_t withheld; /* kept out by its holding node (cases_set_withheld) */
	unsigned char handle[CASES_HANDLE_MAX];
};

struct cs_ev {
	int64_t t;
	uint32_t rec, muni, refto; /* string ids; refto CS_NONE when absent */
	uint8_t type, role;
	int8_t risk, threat;
	int16_t age;
};

struct cases_input {
	struct cs_rec *recs;
	size_t nrec, rcap;
	struct cs_ev *evs;
	size_t nev, ecap;
	struct intern *strs; /* agency ids, municipalities and referral types */
};

int cases_input_new(struct cases_input **out)
{
	struct cases_input *in;
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

void cases_input_free(struct cases_input *in)
{
	if (!in)
		return;
	intern_free(in->strs);
	free(in->recs);
	free(in->evs);
	free(in);
}

int cases_add_record(struct cases_input *in, const struct cases_record *rec, size_t *index)
{
	struct cs_rec r;
	int t, rc;

	if (!in || !rec || !rec->agency_id || !rec->agency_type || !rec->node_municipality ||
	    !rec->handle || rec->handle_len < 1 || rec->handle_len > CASES_HANDLE_MAX)
		return CL_EINVAL;
	if (in->nrec >= CASES_MAX_RECORDS)
		return CL_ELIMIT;
	t = vocab_index(VOCAB_AGENCY_TYPE, rec->agency_type);
	if (t < 0)
		return CL_EINVAL;
	memset(&r, 0, sizeof(r));
	r.node = rec->node;
	r.person = rec->person;
	r.atype = (uint8_t)t;
	r.restricted = rec->restricted != 0;
	r.hlen = (uint8_t)rec->handle_len;
	memcpy(r.handle, rec->handle, rec->handle_len);
	rc = intern_add(in->strs, rec->agency_id, &r.agency);
	if (rc == 0)
		rc = intern_add(in->strs, rec->node_municipality, &r.nmuni);
	if (rc == 0)
		rc = grow_array((void **)&in->recs, &in->rcap, in->nrec + 1, sizeof *in->recs);
	if (rc)
		return rc;
	in->recs[in->nrec] = r;
	if (index)
		*index = in->nrec;
	in->nrec++;
	return 0;
}

int cases_add_event(struct cases_input *in, size_t record, const struct measures_event *ev)
{
	struct cs_ev e;
	int v, rc;

	if (!in || !ev || record >= in->nrec)
		return CL_EINVAL;
	if (in->nev >= CASES_MAX_EVENTS)
		return CL_ELIMIT;
	memset(&e, 0, sizeof(e));
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
	if (ev->child_threat_level < -1 || ev->child_threat_level > 2 || ev->age_years < -1 ||
	    ev->age_years > 200)
		return CL_EINVAL;
	e.threat = (int8_t)ev->child_threat_level;
	e.age = (int16_t)ev->age_years;
	e.refto = CS_NONE;
	if (ev->referral_to && ev->referral_to[0]) {
		if (vocab_index(VOCAB_AGENCY_TYPE, ev->referral_to) < 0)
			return CL_EINVAL;
		rc = intern_add(in->strs, ev->referral_to, &e.refto);
		if (rc)
			return rc;
	}
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

size_t cases_record_count(const struct cases_input *in)
{
	return in ? in->nrec : 0;
}

int cases_find_handle(const struct cases_input *in, uint32_t node, const unsigned char *handle,
		      size_t handle_len, size_t *index)
{
	size_t i;

	if (!in || !handle || !index)
		return CL_EINVAL;
	for (i = 0; i < in->nrec; i++) {
		const struct cs_rec *r = &in->recs[i];

		if (r->node == node && r->hlen == handle_len &&
		    memcmp(r->handle, handle, handle_len) == 0) {
			*index = i;
			return 0;
		}
	}
	return CL_ENOTFOUND;
}

int cases_set_withheld(struct cases_input *in, size_t record, int withheld)
{
	if (!in || record >= in->nrec)
		return CL_EINVAL;
	in->recs[record].withheld = withheld != 0;
	return 0;
}

int cases_record_get(const struct cases_input *in, size_t record, uint32_t *node, uint32_t *person,
		     int *restricted, const unsigned char **handle, size_t *handle_len)
{
	const struct cs_rec *r;

	if (!in || record >= in->nrec)
		return CL_EINVAL;
	r = &in->recs[record];
	if (node)
		*node = r->node;
	if (person)
		*person = r->person;
	if (restricted)
		*restricted = r->restricted;
	if (handle)
		*handle = r->handle;
	if (handle_len)
		*handle_len = r->hlen;
	return 0;
}

int cases_parse_name(const char *name, int *which)
{
	if (!name || !which)
		return CL_EINVAL;
	if (!strcmp(name, "M7") || !strcmp(name, "case_history")) {
		*which = CASES_M7;
		return 0;
	}
	if (!strcmp(name, "M8") || !strcmp(name, "high_risk_alerts")) {
		*which = CASES_M8;
		return 0;
	}
	return CL_ENOTFOUND;
}

size_t cases_columns(int which, const char *const **cols)
{
	const char *const *c = which == CASES_M7   ? cs_cols_m7
			       : which == CASES_M8 ? cs_cols_m8
						   : NULL;
	size_t n = which == CASES_M7 ? 9 : which == CASES_M8 ? 3 : 0;

	if (n && cols)
		*cols = c;
	return n;
}

/* Shown: not withheld by its holder, and not restricted unless child_protection. */
static int cs_visible(const struct cs_rec *r, int child_protection)
{
	return !r->withheld && (child_protection || !r->restricted);
}

/* Left out as restricted (counted in the answer's omitted records). */
static int cs_omitted(const struct cs_rec *r, int child_protection)
{
	return !r->withheld && !child_protection && r->restricted;
}

/* ---- M7 ---- */

static int cs_cmp_history(const void *a, const void *b, void *ctx)
{
	const struct cases_input *in = ctx;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	const struct cs_ev *x = &in->evs[i], *y = &in->evs[j];
	int k;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	k = strcmp(intern_str(in->strs, in->recs[x->rec].agency),
		   intern_str(in->strs, in->recs[y->rec].agency));
	if (k)
		return k;
	if (x->rec != y->rec)
		return x->rec < y->rec ? -1 : 1;
	return i < j ? -1 : i > j;
}

int cases_history(const struct cases_input *in, size_t subject, int64_t as_of_end,
		  int child_protection, int (*emit)(void *ctx, const char *const *cols, size_t n),
		  void *ctx, struct cases_summary *sum)
{
	struct cases_summary s = {0, 0, 0};
	uint32_t *idx = NULL, person;
	size_t i, n = 0;
	int rc = 0;

	if (!in || !emit || subject >= in->nrec)
		return CL_EINVAL;
	person = in->recs[subject].person;
	for (i = 0; i < in->nrec; i++)
		if (in->recs[i].person == person && cs_omitted(&in->recs[i], child_protection))
			s.omitted++;
	if (!cs_visible(&in->recs[subject], child_protection)) {
		s.requester_restricted = 1;
		goto done;
	}
	idx = malloc((in->nev ? in->nev : 1) * sizeof *idx);
	if (!idx)
		return CL_ENOMEM;
	for (i = 0; i < in->nev; i++) {
		const struct cs_rec *r = &in->recs[in->evs[i].rec];

		if (r->person == person && cs_visible(r, child_protection) &&
		    in->evs[i].t < as_of_end)
			idx[n++] = (uint32_t)i;
	}
	qsort_r(idx, n, sizeof *idx, cs_cmp_history, (void *)in);
	for (i = 0; i < n && !rc; i++) {
		const struct cs_ev *e = &in->evs[idx[i]];
		const struct cs_rec *r = &in->recs[e->rec];
		char seq[24], when[32], ctl[8];
		const char *cols[CS_NTEXT];

		snprintf(seq, sizeof(seq), "%zu", i + 1);
		cldate_format_time(e->t, when);
		if (e->threat >= 0)
			snprintf(ctl, sizeof(ctl), "%d", e->threat);
		else
			ctl[0] = '\0';
		cols[0] = seq;
		cols[1] = when;
		cols[2] = vocab_name(VOCAB_AGENCY_TYPE, r->atype);
		cols[3] = intern_str(in->strs, r->agency);
		cols[4] = intern_str(in->strs, e->muni);
		cols[5] = vocab_name(VOCAB_EVENT_TYPE, e->type);
		cols[6] = vocab_name(VOCAB_ROLE, e->role);
		cols[7] = e->risk >= 0 ? vocab_name(VOCAB_RISK_LEVEL, e->risk) : "";
		cols[8] = ctl;
		rc = emit(ctx, cols, CS_NTEXT);
		if (rc == 0)
			s.rows++;
	}
	free(idx);
	if (rc)
		return rc;
done:
	if (sum)
		*sum = s;
	return 0;
}

/* ---- M8 ---- */

struct cs_episodes {
	uint32_t *count; /* victim episodes in the window, per dense person */
	size_t n;
};

static int cs_count_episode(void *ctx, uint32_t person, int64_t date)
{
	struct cs_episodes *e = ctx;

	(void)date;
	if (person >= e->n)
		return CL_EINVAL;
	e->count[person]++;
	return 0;
}

static int cs_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Counts the victim episodes with their date in [lo, end) of every dense person, from the
 * visible records' events before end, with the episode rule of measures.c.
 */
static int cs_victim_episodes(const struct cases_input *in, const uint32_t *dense,
			      int child_protection, int64_t lo, int64_t end, uint32_t *count,
			      size_t npersons)
{
	struct measures_input *mi = NULL;
	struct cs_episodes ep = {count, npersons};
	size_t *map = NULL, i;
	int rc;

	map = malloc((in->nrec ? in->nrec : 1) * sizeof *map);
	if (!map)
		return CL_ENOMEM;
	rc = measures_input_new(&mi);
	for (i = 0; rc == 0 && i < in->nrec; i++) {
		const struct cs_rec *r = &in->recs[i];
		struct measures_record mr;

		map[i] = SIZE_MAX;
		if (!cs_visible(r, child_protection))
			continue;
		memset(&mr, 0, sizeof(mr));
		mr.node = r->node;
		mr.agency_id = intern_str(in->strs, r->agency);
		mr.agency_type = vocab_name(VOCAB_AGENCY_TYPE, r->atype);
		mr.node_municipality = intern_str(in->strs, r->nmuni);
		mr.sex = 'U';
		mr.linkable = 1;
		mr.person = dense[i];
		rc = measures_add_record(mi, &mr, &map[i]);
	}
	for (i = 0; rc == 0 && i < in->nev; i++) {
		const struct cs_ev *e = &in->evs[i];
		struct measures_event me;

		if (map[e->rec] == SIZE_MAX || e->t >= end || e->role != 0 || e->type > 3)
			continue; /* only victim incident events matter to victim episodes */
		memset(&me, 0, sizeof(me));
		me.event_type = vocab_name(VOCAB_EVENT_TYPE, e->type);
		me.occurred_at = e->t;
		me.role = vocab_name(VOCAB_ROLE, e->role);
		me.municipality = intern_str(in->strs, e->muni);
		me.child_threat_level = -1;
		me.age_years = -1;
		rc = measures_add_event(mi, map[e->rec], &me);
	}
	if (rc == 0 && measures_event_count(mi) > 0)
		rc = measures_episodes(mi, "victim", lo, end, cs_count_episode, &ep);
	measures_input_free(mi);
	free(map);
	return rc;
}

int cases_alerts(const struct cases_input *in, uint32_t node, int64_t as_of_end,
		 int child_protection, int (*emit)(void *ctx, const char *const *cols, size_t n),
		 void *ctx, struct cases_summary *sum)
{
	struct cases_summary s = {0, 0, 0};
	uint64_t *order = NULL; /* person << 32 | record, sorted: records grouped by person */
	uint32_t *dense = NULL, *count = NULL;
	uint8_t *risk = NULL, *breach = NULL;
	size_t i, j, k, np = 0;
	int64_t lo;
	int rc = CL_ENOMEM;

	if (!in || !emit || as_of_end < INT64_MIN / 2)
		return CL_EINVAL;
	lo = as_of_end - (int64_t)CASES_WINDOW_DAYS * CS_DAY;
	order = malloc((in->nrec ? in->nrec : 1) * sizeof *order);
	dense = malloc((in->nrec ? in->nrec : 1) * sizeof *dense);
	if (!order || !dense)
		goto out;
	for (i = 0; i < in->nrec; i++)
		order[i] = (uint64_t)in->recs[i].person << 32 | (uint64_t)i;
	qsort(order, in->nrec, sizeof *order, cs_cmp_u64);
	for (i = 0; i < in->nrec; i++) {
		if (i > 0 && order[i] >> 32 != order[i - 1] >> 32)
			np++;
		dense[(uint32_t)order[i]] = (uint32_t)np;
	}
	np = in->nrec ? np + 1 : 0;
	count = calloc(np ? np : 1, sizeof *count);
	risk = calloc(np ? np : 1, 1);
	breach = calloc(np ? np : 1, 1);
	if (!count || !risk || !breach)
		goto out;
	/* the rules on the visible records' events in [lo, as_of_end) */
	for (i = 0; i < in->nev; i++) {
		const struct cs_ev *e = &in->evs[i];
		const struct cs_rec *r = &in->recs[e->rec];

		if (!cs_visible(r, child_protection) || e->t < lo || e->t >= as_of_end)
			continue;
		risk[dense[e->rec]] |= e->risk == VOCAB_RISK_HIGH;
		breach[dense[e->rec]] |= e->type == VOCAB_EV_PROTECTION_ORDER_BREACH;
	}
	rc = cs_victim_episodes(in, dense, child_protection, lo, as_of_end, count, np);
	if (rc)
		goto out;
	for (i = 0; i < in->nrec && !rc; i = j) {
		uint32_t p = dense[(uint32_t)order[i]], holders = 0, mine = 0, omitted = 0;
		int repeat = count[p] >= 3;
		char reasons[64];

		for (j = i; j < in->nrec && dense[(uint32_t)order[j]] == p; j++) {
			const struct cs_rec *r = &in->recs[(uint32_t)order[j]];
			int seen = 0;

			if (!cs_visible(r, child_protection)) {
				omitted += cs_omitted(r, child_protection);
				continue;
			}
			mine += r->node == node;
			for (k = i; k < j && !seen; k++) {
				const struct cs_rec *o = &in->recs[(uint32_t)order[k]];

				seen = o->node == r->node && cs_visible(o, child_protection);
			}
			holders += !seen;
		}
		if (!mine || holders < 2 || (!risk[p] && !repeat && !breach[p]))
			continue;
		snprintf(reasons, sizeof(reasons), "%s%s%s%s%s", risk[p] ? "risk_high" : "",
			 risk[p] && (repeat || breach[p]) ? ";" : "",
			 repeat ? "repeat_episodes" : "", repeat && breach[p] ? ";" : "",
			 breach[p] ? "order_breach" : "");
		s.omitted += omitted;
		for (k = i; k < j && !rc; k++) {
			const struct cs_rec *r = &in->recs[(uint32_t)order[k]];
			char hex[2 * CASES_HANDLE_MAX + 1], types[VOCAB_NAGENCY_TYPES * 20];
			unsigned mask = 0, t;
			size_t m, used = 0;
			const char *cols[3];

			if (r->node != node || !cs_visible(r, child_protection))
				continue;
			for (m = i; m < j; m++) {
				const struct cs_rec *o = &in->recs[(uint32_t)order[m]];

				if (o->node != node && cs_visible(o, child_protection))
					mask |= 1u << o->atype;
			}
			types[0] = '\0';
			for (t = 0; t < VOCAB_NAGENCY_TYPES; t++)
				if (mask & (1u << t))
					used += (size_t)snprintf(types + used, sizeof(types) - used,
								 "%s%s", used ? ";" : "",
								 vocab_name(VOCAB_AGENCY_TYPE, t));
			for (m = 0; m < r->hlen; m++)
				snprintf(hex + 2 * m, 3, "%02x", r->handle[m]);
			cols[0] = hex;
			cols[1] = reasons;
			cols[2] = types;
			rc = emit(ctx, cols, 3);
			if (rc == 0)
				s.rows++;
		}
	}
	if (rc == 0 && sum)
		*sum = s;
out:
	free(order);
	free(dense);
	free(count);
	free(risk);
	free(breach);
	return rc;
}
