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

#define CA_MAX_WITHHELD 1024	   /* coverage entries of withheld records, sealed boxes */
#define CA_MAX_BOX	(1u << 21) /* bytes of one holder's sealed M7 rows */

/* A record's part in phase 2 (docs/privacy.md "Case answers"). */
enum ca_state { CA_NONE, CA_ASK, CA_GRANTED, CA_TENTATIVE };

/* The M7 subject: the asking agency's record whose handle is the subject (or ends in it). */
struct ca_subject {
	uint32_t asker; /* dense (node, agency) index of the requester */
	const unsigned char *handle;
	size_t len; /* 0: none sought (M8) */
	size_t index;
	int found;
};

struct cases_answer {
	int which;
	uint32_t omitted;
	size_t ncols, nrows, cap;
	char **cells; /* nrows * ncols, each malloc'd */
	/* from cases_answer_link to cases_answer_finish */
	struct cases_input *in;
	size_t nrec;
	size_t *rec_node; /* per record: the configured node it came through */
	uint8_t *state;	  /* per record: enum ca_state */
	struct ca_subject sj;
	unsigned char subject[LINKER_HANDLE_MAX];
	int cp;
	int64_t as_of_end;
	Caselink__V1__CaseWithheld **withheld;
	size_t nwithheld;
	/* M7: the holders' sealed rows, and the asker's own linked handles (CaseRows) */
	Caselink__V1__CaseSealed **sealed;
	size_t nsealed;
	ProtobufCBinaryData *own;
	size_t nown;
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
		    size_t *rec_node, size_t nrec, char *why, size_t whysz)
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
			if (rc == CL_OK && idx >= nrec)
				rc = CL_EPROTO;
			if (rc == CL_OK)
				rec_node[idx] = i;
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

/* M8: collects the persons of the alerts computed before phase 2 (the asker's rows). */
struct ca_alerted {
	struct cases_answer *a;
	uint8_t *person; /* per linked-person id */
	size_t npersons;
};

static int ca_alerted_row(void *ctx, const char *const *cols, size_t n)
{
	struct ca_alerted *c = ctx;
	unsigned char h[LINKER_HANDLE_MAX];
	size_t len = 0, idx;
	uint32_t person;
	int rc;

	if (n < 1 || ca_unhex(cols[0], h, &len) != CL_OK)
		return CL_EPROTO;
	rc = cases_find_handle(c->a->in, c->a->sj.asker, h, len, &idx);
	if (rc == CL_OK)
		rc = cases_record_get(c->a->in, idx, NULL, &person, NULL, NULL, NULL);
	if (rc == CL_OK && person < c->npersons)
		c->person[person] = 1;
	return rc;
}

/*
 * Marks the records phase 2 must ask their holders about: the other agencies' visible records
 * of the M7 subject's person, or of every person M8 alerts the asker about.
 */
static int ca_mark_asks(struct cases_answer *a)
{
	struct ca_alerted c = {a, NULL, 0};
	uint32_t node, person, subject_person = 0;
	size_t i;
	int restricted, rc = CL_OK;

	if (a->which == CASES_M7) {
		if (!a->sj.found)
			return CL_OK;
		rc = cases_record_get(a->in, a->sj.index, NULL, &subject_person, &restricted, NULL,
				      NULL);
		if (rc != CL_OK || (restricted && !a->cp))
			return rc; /* a restricted subject gets no row: nobody is asked */
	} else {
		for (i = 0; i < a->nrec; i++)
			if (cases_record_get(a->in, i, NULL, &person, NULL, NULL, NULL) == CL_OK &&
			    person + (size_t)1 > c.npersons)
				c.npersons = person + (size_t)1;
		c.person = calloc(c.npersons ? c.npersons : 1, 1);
		if (!c.person)
			return CL_ENOMEM;
		rc =
		    cases_alerts(a->in, a->sj.asker, a->as_of_end, a->cp, ca_alerted_row, &c, NULL);
	}
	for (i = 0; rc == CL_OK && i < a->nrec; i++) {
		rc = cases_record_get(a->in, i, &node, &person, &restricted, NULL, NULL);
		if (rc != CL_OK || node == a->sj.asker || (restricted && !a->cp))
			continue;
		if (a->which == CASES_M7 ? person == subject_person
					 : person < c.npersons && c.person[person])
			a->state[i] = CA_ASK;
	}
	free(c.person);
	return rc;
}

int cases_answer_link(int which, const Caselink__V1__QueryRequest *qr,
		      const struct cases_answer_node *nodes, size_t n, size_t requester,
		      int64_t as_of_end, struct cases_answer **out, char *why, size_t whysz)
{
	struct linker *l = NULL;
	struct cases_answer *a = NULL;
	struct regional_agencies *ag = NULL;
	size_t i, total = 0;
	int rc;

	if (!qr || !qr->header || !qr->header->requester || !qr->header->requester->id || !nodes ||
	    requester >= n || !out || !why || whysz == 0)
		return CL_EINVAL;
	why[0] = '\0';
	a = calloc(1, sizeof(*a));
	if (!a)
		return CL_ENOMEM;
	a->which = which;
	a->as_of_end = as_of_end;
	a->cp = qr->header->legal_basis && !strcmp(qr->header->legal_basis, "child_protection");
	a->ncols = cases_columns(which, NULL);
	for (i = 0; i < n; i++)
		if (nodes[i].answered && !nodes[i].malformed)
			total += tokset_count(nodes[i].ts);
	if (total > CA_MAX_RECORDS) {
		rc = CL_ELIMIT;
		goto out;
	}
	a->nrec = total;
	a->rec_node = calloc(total ? total : 1, sizeof(*a->rec_node));
	a->state = calloc(total ? total : 1, 1);
	rc = a->ncols && a->rec_node && a->state ? linker_new(&l)
	     : a->ncols				 ? CL_ENOMEM
						 : CL_EINVAL;
	if (rc == CL_OK)
		rc = regional_agencies_new(LINKER_MAX_NODES, &ag);
	/* The asking agency: the requester's own records (behind `requester` when a regional) */
	if (rc == CL_OK)
		rc = regional_agencies_index(ag, (uint32_t)requester, qr->header->requester->id,
					     &a->sj.asker);
	if (rc == CL_OK && which == CASES_M7) {
		rc = ca_unhex(ca_param(qr, "subject"), a->subject, &a->sj.len);
		a->sj.handle = a->subject;
	}
	if (rc == CL_OK)
		rc = ca_link(l, ag, nodes, n, why, whysz);
	if (rc == CL_OK)
		rc = linker_run(l);
	if (rc == CL_OK)
		rc = cases_input_new(&a->in);
	if (rc == CL_OK)
		rc = ca_input(a->in, l, ag, &a->sj, nodes, n, a->rec_node, a->nrec, why, whysz);
	if (l)
		log_event(LOG_LEVEL_INFO, "linked", "measure=%s records=%zu persons=%llu",
			  which == CASES_M7 ? "M7" : "M8", linker_count(l),
			  (unsigned long long)linker_stat(l, LINKER_STAT_CLUSTERS));
	/* no token is kept after linking */
	linker_free(l);
	if (rc == CL_OK && which == CASES_M7 && !a->sj.found && !nodes[requester].answered) {
		snprintf(why, whysz,
			 "the requesting node did not answer: its record cannot be found");
		rc = CL_ENOTFOUND;
	}
	/* The node answered without the subject: its record has no event before the end of the
	 * as-of date, so nothing links to it and the history is empty. */
	if (rc == CL_OK)
		rc = ca_mark_asks(a);
	if (rc != CL_OK)
		goto out;
	*out = a;
	a = NULL;
out:
	regional_agencies_free(ag);
	cases_answer_free(a);
	return rc;
}

int cases_answer_asks(const struct cases_answer *a, size_t node, ProtobufCBinaryData **out,
		      size_t *n)
{
	ProtobufCBinaryData *h = NULL;
	size_t i, k = 0;
	int rc = CL_OK;

	if (!a || !a->in || !out || !n)
		return CL_EINVAL;
	for (i = 0; i < a->nrec; i++)
		k += a->state[i] == CA_ASK && a->rec_node[i] == node;
	if (k) {
		h = calloc(k, sizeof(*h));
		if (!h)
			return CL_ENOMEM;
	}
	for (i = 0, k = 0; rc == CL_OK && i < a->nrec; i++) {
		const unsigned char *p = NULL;

		if (a->state[i] != CA_ASK || a->rec_node[i] != node)
			continue;
		rc = cases_record_get(a->in, i, NULL, NULL, NULL, &p, &h[k].len);
		h[k++].data = (uint8_t *)p;
	}
	if (rc != CL_OK) {
		free(h);
		return rc;
	}
	*out = h;
	*n = k;
	return CL_OK;
}

/* A coded name or reason of a node's answer: printable ASCII, 1..127 bytes. */
static int ca_is_text(const char *s)
{
	size_t i;

	if (!s || !*s)
		return 0;
	for (i = 0; s[i]; i++)
		if (i >= 127 || s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

static int ca_add_withheld(struct cases_answer *a, const char *node_id, const char *reason,
			   uint32_t records)
{
	Caselink__V1__CaseWithheld *w, **grown;

	if (!records)
		return CL_OK;
	if (a->nwithheld >= CA_MAX_WITHHELD)
		return CL_ELIMIT;
	grown = realloc(a->withheld, (a->nwithheld + 1) * sizeof(*grown));
	if (!grown)
		return CL_ENOMEM;
	a->withheld = grown;
	w = calloc(1, sizeof(*w));
	if (!w)
		return CL_ENOMEM;
	caselink__v1__case_withheld__init(w);
	w->node_id = strdup(node_id);
	w->reason = strdup(reason);
	w->records = records;
	a->withheld[a->nwithheld++] = w;
	return w->node_id && w->reason ? CL_OK : CL_ENOMEM;
}

/* Keeps a copy of one holder's sealed M7 rows, in the order the holders answered. */
static int ca_add_sealed(struct cases_answer *a, const Caselink__V1__CaseSealed *cs)
{
	Caselink__V1__CaseSealed *c, **grown;

	if (!cs || !ca_is_text(cs->node_id) || !cs->box.len || cs->box.len > CA_MAX_BOX)
		return CL_EPROTO;
	if (a->nsealed >= CA_MAX_WITHHELD)
		return CL_ELIMIT;
	grown = realloc(a->sealed, (a->nsealed + 1) * sizeof(*grown));
	if (!grown)
		return CL_ENOMEM;
	a->sealed = grown;
	c = calloc(1, sizeof(*c));
	if (!c)
		return CL_ENOMEM;
	caselink__v1__case_sealed__init(c);
	a->sealed[a->nsealed++] = c;
	c->node_id = strdup(cs->node_id);
	c->box.data = malloc(cs->box.len);
	if (!c->node_id || !c->box.data)
		return CL_ENOMEM;
	memcpy(c->box.data, cs->box.data, cs->box.len);
	c->box.len = cs->box.len;
	return CL_OK;
}

int cases_answer_grant(struct cases_answer *a, size_t node, const char *node_id,
		       const Caselink__V1__CaseGrant *g)
{
	size_t i, k, left = 0, reported = 0;
	int rc = CL_OK;

	if (!a || !a->in || !g || !node_id)
		return CL_EINVAL;
	/* sealed rows only for M7, and only with granted records */
	if (g->n_sealed && (a->which != CASES_M7 || !g->n_granted))
		return CL_EPROTO;
	for (k = 0; k < g->n_sealed; k++)
		if (!g->sealed[k] || !ca_is_text(g->sealed[k]->node_id) || !g->sealed[k]->box.len ||
		    g->sealed[k]->box.len > CA_MAX_BOX)
			return CL_EPROTO;
	for (k = 0; k < g->n_withheld; k++)
		if (!g->withheld[k] || !ca_is_text(g->withheld[k]->node_id) ||
		    !ca_is_text(g->withheld[k]->reason))
			return CL_EPROTO;
	/* every granted handle one asked of this node, once; else nothing of it is taken */
	for (k = 0; k < g->n_granted; k++) {
		int hit = 0;

		for (i = 0; i < a->nrec && !hit; i++) {
			const unsigned char *p = NULL;
			size_t len = 0;

			if (a->state[i] != CA_ASK || a->rec_node[i] != node)
				continue;
			cases_record_get(a->in, i, NULL, NULL, NULL, &p, &len);
			if (len == g->granted[k].len && !memcmp(p, g->granted[k].data, len)) {
				a->state[i] = CA_TENTATIVE;
				hit = 1;
			}
		}
		if (!hit)
			break;
	}
	for (i = 0; i < a->nrec; i++)
		if (a->state[i] == CA_TENTATIVE && a->rec_node[i] == node)
			a->state[i] = k == g->n_granted ? CA_GRANTED : CA_ASK;
	if (k != g->n_granted)
		return CL_EPROTO; /* a handle that was not asked, or granted twice */
	for (k = 0; rc == CL_OK && k < g->n_withheld; k++)
		rc = ca_add_withheld(a, g->withheld[k]->node_id, g->withheld[k]->reason,
				     g->withheld[k]->records);
	for (k = 0; rc == CL_OK && k < g->n_sealed; k++)
		rc = ca_add_sealed(a, g->sealed[k]);
	/* what the node neither granted nor accounted for still shows in the coverage */
	for (i = 0; i < a->nrec; i++)
		left += a->state[i] == CA_ASK && a->rec_node[i] == node;
	for (k = 0; k < g->n_withheld; k++)
		reported += g->withheld[k]->records;
	if (rc == CL_OK && left > reported)
		rc = ca_add_withheld(a, node_id, "unreported",
				     left - reported > UINT32_MAX ? UINT32_MAX
								  : (uint32_t)(left - reported));
	return rc;
}

/*
 * M7: the asker's own visible records of the subject's person, in the answer's order, with
 * the regional prefixes the subject came with stripped (the asking node resolves them).
 */
static int ca_own_handles(struct cases_answer *a)
{
	uint32_t node, person, sp;
	const unsigned char *h;
	size_t i, len, pre, slen;
	int restricted, rc;

	rc = cases_record_get(a->in, a->sj.index, NULL, &sp, &restricted, &h, &slen);
	if (rc != CL_OK || (restricted && !a->cp))
		return rc;
	pre = slen - a->sj.len;
	a->own = calloc(a->nrec ? a->nrec : 1, sizeof(*a->own));
	if (!a->own)
		return CL_ENOMEM;
	for (i = 0; rc == CL_OK && i < a->nrec; i++) {
		rc = cases_record_get(a->in, i, &node, &person, &restricted, &h, &len);
		if (rc != CL_OK || node != a->sj.asker || person != sp || (restricted && !a->cp) ||
		    len <= pre)
			continue;
		a->own[a->nown].data = malloc(len - pre);
		if (!a->own[a->nown].data)
			return CL_ENOMEM;
		memcpy(a->own[a->nown].data, h + pre, len - pre);
		a->own[a->nown++].len = len - pre;
	}
	return rc;
}

/* M7 at the coordinator: the summary only, no row (the rows go sealed, holder to asker). */
static int ca_no_row(void *ctx, const char *const *cols, size_t n)
{
	(void)ctx;
	(void)cols;
	(void)n;
	return 0;
}

int cases_answer_node_failed(struct cases_answer *a, size_t node, const char *node_id,
			     const char *reason)
{
	size_t i;
	uint32_t k = 0;

	if (!a || !a->in || !node_id || !reason)
		return CL_EINVAL;
	for (i = 0; i < a->nrec; i++)
		if (a->state[i] == CA_ASK && a->rec_node[i] == node) {
			a->state[i] = CA_NONE;
			cases_set_withheld(a->in, i, 1);
			k++;
		}
	return ca_add_withheld(a, node_id, reason, k);
}

int cases_answer_finish(struct cases_answer *a)
{
	struct cases_summary sum;
	size_t i;
	int rc = CL_OK;

	if (!a || !a->in)
		return CL_EINVAL;
	/* every record asked about and not granted is absent */
	for (i = 0; rc == CL_OK && i < a->nrec; i++)
		if (a->state[i] == CA_ASK)
			rc = cases_set_withheld(a->in, i, 1);
	memset(&sum, 0, sizeof(sum));
	if (rc == CL_OK && a->which == CASES_M7 && a->sj.found)
		rc = cases_history(a->in, a->sj.index, a->as_of_end, a->cp, ca_no_row, a, &sum);
	if (rc == CL_OK && a->which == CASES_M7 && a->sj.found)
		rc = ca_own_handles(a);
	else if (rc == CL_OK && a->which == CASES_M8)
		rc = cases_alerts(a->in, a->sj.asker, a->as_of_end, a->cp, ca_emit, a, &sum);
	if (rc == CL_OK)
		a->omitted = sum.omitted > UINT32_MAX ? UINT32_MAX : (uint32_t)sum.omitted;
	cases_input_free(a->in);
	a->in = NULL;
	return rc;
}

int cases_answer_case_rows(const struct cases_answer *a, Caselink__V1__CaseRows *out)
{
	if (!a || !out || a->which != CASES_M7)
		return CL_EINVAL;
	caselink__v1__case_rows__init(out);
	out->own_handles = a->own;
	out->n_own_handles = a->nown;
	out->sealed = a->sealed;
	out->n_sealed = a->nsealed;
	return CL_OK;
}

size_t cases_answer_withheld(const struct cases_answer *a, Caselink__V1__CaseWithheld *const **out)
{
	if (!a)
		return 0;
	if (out)
		*out = a->withheld;
	return a->nwithheld;
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
	for (i = 0; i < a->nwithheld; i++) {
		free(a->withheld[i]->node_id);
		free(a->withheld[i]->reason);
		free(a->withheld[i]);
	}
	free(a->withheld);
	for (i = 0; i < a->nsealed; i++) {
		free(a->sealed[i]->node_id);
		free(a->sealed[i]->box.data);
		free(a->sealed[i]);
	}
	free(a->sealed);
	for (i = 0; i < a->nown; i++)
		free(a->own[i].data);
	free(a->own);
	cases_input_free(a->in);
	free(a->rec_node);
	free(a->state);
	free(a->cells);
	free(a);
}
