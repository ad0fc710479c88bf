/* cases_answer — the coordinator's M7/M8 answer path (see cases_answer.h). */
#include "coordinator/cases_answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "common/log.h"
#include "coordinator/cases.h"
#include "coordinator/linker.h"
#include "coordinator/tokset.h"
#include "coordinator/regional.h"

#define CA_MAX_RECORDS (1u << 25) /* token records of one case query, all nodes */
#define CA_MAX_ROWS    (1u << 20) /* rows of one answer */

struct cases_answer {
	int which;
	uint32_t omitted;
	size_t ncols, nrows, cap;
	char **cells; /* nrows * ncols, each malloc'd */
};

static int ca_date(const char *s, int64_t *out)
{
	const char *why = NULL;

	if (!s || strlen(s) != 10)
		return CL_EINVAL;
	return cldate_parse_time(s, out, &why) == CL_OK ? CL_OK : CL_EINVAL;
}

static const char *ca_param(const Caselink__V1__QueryRequest *qr, const char *key)
{
	size_t i;

	for (i = 0; i < qr->n_parameters; i++)
		if (qr->parameters[i]->key && !strcmp(qr->parameters[i]->key, key))
			return qr->parameters[i]->value;
	return NULL;
}

/* Decodes lower- or upper-case hex of 2..2*LINKER_HANDLE_MAX digits; CL_EINVAL otherwise. */
static int ca_unhex(const char *s, unsigned char *out, size_t *len)
{
	size_t n = s ? strlen(s) : 0, i;

	if (n < 2 || n % 2 || n > 2 * LINKER_HANDLE_MAX)
		return CL_EINVAL;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;

		if (v < 0)
			return CL_EINVAL;
		if (i % 2)
			out[i / 2] = (unsigned char)(out[i / 2] | v);
		else
			out[i / 2] = (unsigned char)(v << 4);
	}
	*len = n / 2;
	return CL_OK;
}

int cases_answer_check(int which, const Caselink__V1__QueryRequest *qr,
		       const struct partyconf *conf, size_t via, size_t *requester,
		       int64_t *as_of_end, const char **why)
{
	const Caselink__V1__Identity *who = qr && qr->header ? qr->header->requester : NULL;
	unsigned char handle[LINKER_HANDLE_MAX];
	int64_t from, to;
	size_t i, len;

	if (!qr || !conf || !requester || !as_of_end || !why)
		return CL_EINVAL;
	if (!who || !who->role || !who->id || strcmp(who->role, "node")) {
		*why = "case measures (M7, M8) are asked only by agency nodes";
		return CL_EPERM;
	}
	if (via != CASES_ANSWER_DIRECT) {
		/* a node behind the regional coordinator `via`, which forwarded its request */
		if (via >= conf->nnodes || !conf->nodes[via].coordinator) {
			*why = "only a regional coordinator forwards its nodes' case requests";
			return CL_EPERM;
		}
		i = via;
	} else {
		for (i = 0; i < conf->nnodes; i++)
			if (!conf->nodes[i].coordinator && !strcmp(conf->nodes[i].id, who->id))
				break;
	}
	if (i == conf->nnodes) {
		*why = "the requesting node is not a node of this federation";
		return CL_EPERM;
	}
	if (qr->n_group_by) {
		*why = "case measures take no grouping";
		return CL_EINVAL;
	}
	if (ca_date(qr->period_from, &from) != CL_OK || ca_date(qr->period_to, &to) != CL_OK ||
	    from >= to) {
		*why = "period must be YYYY-MM-DD with from before to (to: the day after as-of)";
		return CL_EINVAL;
	}
	if (ca_param(qr, "window_from") || ca_param(qr, "window_to")) {
		*why = "case measures take their window from the period";
		return CL_EINVAL;
	}
	if (which == CASES_M7 && ca_unhex(ca_param(qr, "subject"), handle, &len) != CL_OK) {
		*why = "case_history needs the parameter subject (a hex row handle)";
		return CL_EINVAL;
	}
	*requester = i;
	*as_of_end = to;
	return CL_OK;
}

static int ca_emit(void *ctx, const char *const *cols, size_t n)
{
	struct cases_answer *a = ctx;
	size_t k, need;

	if (n != a->ncols || a->nrows >= CA_MAX_ROWS)
		return CL_ELIMIT;
	if (a->nrows == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		char **cells;

		if (__builtin_mul_overflow(cap, a->ncols * sizeof(*cells), &need))
			return CL_EOVERFLOW;
		cells = realloc(a->cells, need);
		if (!cells)
			return CL_ENOMEM;
		a->cells = cells;
		a->cap = cap;
	}
	for (k = 0; k < n; k++) {
		a->cells[a->nrows * n + k] = strdup(cols[k]);
		if (!a->cells[a->nrows * n + k]) {
			while (k--)
				free(a->cells[a->nrows * n + k]);
			return CL_ENOMEM;
		}
	}
	a->nrows++;
	return 0;
}

/*
 * The agency a record speaks for (its attributes when a regional coordinator sent it, else the
 * node's; docs/two-level.md) and its dense (node, agency) index: the linker's and the engine's
 * node, so that the agencies behind one regional coordinator stay distinct.
 */
static int ca_agency(struct regional_agencies *ag, size_t i, const struct tokset_rec *t,
		     struct cases_record *rec)
{
	int rc;

	rec->agency_id = t->agency_id;
	rec->agency_type = t->agency_type;
	rec->node_municipality = t->municipality;
	rc = regional_agencies_index(ag, (uint32_t)i, rec->agency_id, &rec->node);
	return rc == CL_OK || rc == CL_ELIMIT ? rc : CL_EPROTO;
}

/* Adds every record of the answered nodes to the linker, in the order they came. */
static int ca_link(struct linker *l, struct regional_agencies *ag,
		   const struct cases_answer_node *nodes, size_t n, char *why, size_t whysz)
{
	size_t i, r, total = 0;
	int rc;

	for (i = 0; i < n; i++) {
		if (!nodes[i].answered)
			continue;
		if (nodes[i].malformed) {
			snprintf(why, whysz, "node %.64s sent malformed records",
				 nodes[i].conf->id);
			return CL_EPROTO;
		}
		for (r = 0; r < tokset_count(nodes[i].ts); r++) {
			struct tokset_rec t;
			struct cases_record rec;

			memset(&rec, 0, sizeof(rec));
			if (++total > CA_MAX_RECORDS)
				return CL_ELIMIT;
			rc = tokset_get(nodes[i].ts, r, &t);
			if (rc == CL_OK)
				rc = ca_agency(ag, i, &t, &rec);
			if (rc == CL_EPROTO)
				snprintf(why, whysz, "node %.64s sent malformed records",
					 nodes[i].conf->id);
			if (rc == CL_OK)
				rc = linker_add(l, rec.node, 0, t.handle, t.handle_len, t.id_token,
						t.demo_token, t.bloom, NULL);
			if (rc == CL_OK) /* as for M1–M6: sex and derived tokens */
				rc = linker_set_attrs(l, linker_count(l) - 1, t.sex, t.year_token,
						      t.date_token, t.given_token);
			if (rc != CL_OK)
				return rc;
		}
	}
	return CL_OK;
}

/* The M7 subject: the asking agency's record whose handle is the subject (or ends in it). */
struct ca_subject {
	uint32_t asker; /* dense (node, agency) index of the requester */
	const unsigned char *handle;
	size_t len; /* 0: none sought (M8) */
	size_t index;
	int found;
};

/*
 * Whether rec is the subject: the asking agency's record with that handle, after the
 * two-byte prefixes of the regional coordinators it came through (docs/two-level.md).
 */
static int ca_is_subject(const struct ca_subject *sj, const struct cases_answer_node *nd,
			 const struct cases_record *rec)
{
	size_t pre;

	if (!sj->len || sj->found || rec->node != sj->asker || rec->handle_len < sj->len)
		return 0;
	pre = rec->handle_len - sj->len;
	if (pre && (!nd->conf->coordinator || pre % REGIONAL_HANDLE_PREFIX))
		return 0;
	return !memcmp(rec->handle + pre, sj->handle, sj->len);
}

/* Hands the linked records and their events to the case engine, in the linker's order. */
static int ca_input(struct cases_input *in, const struct linker *l, struct regional_agencies *ag,
		    struct ca_subject *sj, const struct cases_answer_node *nodes, size_t n,
		    char *why, size_t whysz)
{
	size_t i, r, e, next = 0, idx;
	int rc;

	for (i = 0; i < n; i++) {
		const struct partyconf_node *nd = nodes[i].conf;

		if (!nodes[i].answered)
			continue;
		for (r = 0; r < tokset_count(nodes[i].ts); r++) {
			struct tokset_rec t;
			struct cases_record rec;
			uint32_t person = 0;

			rc = linker_cluster(l, next++, &person);
			if (rc == CL_OK)
				rc = tokset_get(nodes[i].ts, r, &t);
			if (rc != CL_OK)
				return rc;
			memset(&rec, 0, sizeof(rec));
			rc = ca_agency(ag, i, &t, &rec);
			if (rc != CL_OK)
				return rc;
			rec.restricted = t.restricted;
			rec.person = person;
			rec.handle = t.handle;
			rec.handle_len = t.handle_len;
			rc = cases_add_record(in, &rec, &idx);
			if (rc == CL_OK && ca_is_subject(sj, &nodes[i], &rec)) {
				sj->index = idx;
				sj->found = 1;
			}
			for (e = 0; rc == CL_OK && e < t.nevents; e++) {
				struct measures_event me;

				rc = tokset_event(nodes[i].ts, r, e, &me);
				if (rc == CL_OK)
					rc = cases_add_event(in, idx, &me);
			}
			if (rc != CL_OK) {
				snprintf(why, whysz, "node %.64s sent malformed events", nd->id);
				return rc == CL_ENOMEM ? rc : CL_EPROTO;
			}
		}
	}
	return CL_OK;
}

int cases_answer_compute(int which, const Caselink__V1__QueryRequest *qr,
			 const struct cases_answer_node *nodes, size_t n, size_t requester,
			 int64_t as_of_end, struct cases_answer **out, char *why, size_t whysz)
{
	struct linker *l = NULL;
	struct cases_input *in = NULL;
	struct cases_answer *a = NULL;
	struct regional_agencies *ag = NULL;
	struct cases_summary sum;
	struct ca_subject sj;
	unsigned char subject[LINKER_HANDLE_MAX];
	int cp, rc;

	if (!qr || !qr->header || !qr->header->requester || !qr->header->requester->id || !nodes ||
	    requester >= n || !out || !why || whysz == 0)
		return CL_EINVAL;
	memset(&sj, 0, sizeof(sj));
	why[0] = '\0';
	cp = qr->header->legal_basis && !strcmp(qr->header->legal_basis, "child_protection");
	a = calloc(1, sizeof(*a));
	if (!a)
		return CL_ENOMEM;
	a->which = which;
	a->ncols = cases_columns(which, NULL);
	rc = a->ncols ? linker_new(&l) : CL_EINVAL;
	if (rc == CL_OK)
		rc = regional_agencies_new(LINKER_MAX_NODES, &ag);
	/* The asking agency: the requester's own records (behind `requester` when a regional) */
	if (rc == CL_OK)
		rc = regional_agencies_index(ag, (uint32_t)requester, qr->header->requester->id,
					     &sj.asker);
	if (rc == CL_OK && which == CASES_M7) {
		rc = ca_unhex(ca_param(qr, "subject"), subject, &sj.len);
		sj.handle = subject;
	}
	if (rc == CL_OK)
		rc = ca_link(l, ag, nodes, n, why, whysz);
	if (rc == CL_OK)
		rc = linker_run(l);
	if (rc == CL_OK)
		rc = cases_input_new(&in);
	if (rc == CL_OK)
		rc = ca_input(in, l, ag, &sj, nodes, n, why, whysz);
	if (l)
		log_event(LOG_LEVEL_INFO, "linked", "measure=%s records=%zu persons=%llu",
			  which == CASES_M7 ? "M7" : "M8", linker_count(l),
			  (unsigned long long)linker_stat(l, LINKER_STAT_CLUSTERS));
	/* no token is kept after linking */
	linker_free(l);
	if (rc != CL_OK)
		goto out;
	if (which == CASES_M7) {
		if (!sj.found && !nodes[requester].answered) {
			snprintf(why, whysz,
				 "the requesting node did not answer: its record cannot be "
				 "found");
			rc = CL_ENOTFOUND;
			goto out;
		}
		/* The node answered without the subject: its record has no event before the end
		 * of the as-of date, so nothing links to it and the history is empty. */
		memset(&sum, 0, sizeof(sum));
		if (sj.found)
			rc = cases_history(in, sj.index, as_of_end, cp, ca_emit, a, &sum);
	} else {
		rc = cases_alerts(in, sj.asker, as_of_end, cp, ca_emit, a, &sum);
	}
	if (rc != CL_OK)
		goto out;
	a->omitted = sum.omitted > UINT32_MAX ? UINT32_MAX : (uint32_t)sum.omitted;
	*out = a;
	a = NULL;
out:
	regional_agencies_free(ag);
	cases_input_free(in);
	cases_answer_free(a);
	return rc;
}

uint32_t cases_answer_omitted(const struct cases_answer *a)
{
	return a ? a->omitted : 0;
}

size_t cases_answer_rows(const struct cases_answer *a)
{
	return a ? a->nrows : 0;
}

int cases_answer_stream(const struct cases_answer *a, struct rpc_ctx *ctx,
			const ProtobufCBinaryData *request_id, struct party_rows **rows)
{
	const char *const *cols = NULL;
	struct party_rows *pr = NULL;
	size_t i;
	int rc;

	if (!a || !rows || cases_columns(a->which, &cols) != a->ncols)
		return CL_EINVAL;
	rc = party_rows_new(ctx, request_id, cols, a->ncols, NULL, 0, &pr);
	for (i = 0; rc == CL_OK && i < a->nrows; i++)
		rc = party_rows_add(pr, (const char *const *)&a->cells[i * a->ncols], NULL);
	if (rc != CL_OK) {
		party_rows_free(pr);
		return rc;
	}
	*rows = pr;
	return CL_OK;
}

void cases_answer_free(struct cases_answer *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->nrows * a->ncols; i++)
		free(a->cells[i]);
	free(a->cells);
	free(a);
}
