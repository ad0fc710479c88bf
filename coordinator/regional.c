#include "coordinator/regional.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/aggregate.h"
#include "common/audit.h"
#include "common/cl_error.h"
#include "common/log.h"
#include "common/partyconf.h"
#include "common/replay.h"
#include "coordinator/linker.h"
#include "protocol/party.h"
#include "protocol/sign.h"

#define REGIONAL_MAX_GROUPBY   5
#define REGIONAL_NONCE_LEN     32
#define REGIONAL_MAX_RECORDS   (1u << 22) /* token records one node may send per query */
#define REGIONAL_MAX_TOTAL     (1u << 25) /* token records of one answer, all nodes */
#define REGIONAL_BATCH_RECORDS 1024	  /* records of one outgoing TokenBatch */
#define REGIONAL_BATCH_BYTES   (2u << 20) /* packed bytes of one outgoing TokenBatch */
#define REGIONAL_REASON_MAX    (RPC_STATUS_MSG_MAX + 32)
/* Bytes of a name in a regional's coverage, with the NUL: "ID/NAME" must fit REGIONAL_NAME_MAX. */
#define REGIONAL_SUBNAME_MAX	 (REGIONAL_NAME_MAX - PARTYCONF_MAX_NAME)
#define REGIONAL_MARGIN_MIN_MS	 200
#define REGIONAL_MARGIN_MAX_MS	 1000
#define REGIONAL_DEADLINE_MIN_MS 100
#define REGIONAL_UP_MAX		 256   /* case requests sent up, not yet asked back */
#define REGIONAL_UP_DEADLINE_MS	 30000 /* a case request up, when the caller set none */

/* A case request this regional sent up: the national asks its TOKENS back once. */
struct regional_up_id {
	uint8_t id[PARTY_REQUEST_ID_LEN];
	int64_t expires;
	int used;
};

struct regional {
	struct regional_config cfg;
	struct replay *disclosed; /* query nonces of DISCLOSE requests already relayed (cfg's) */
	struct rpc_channel *up;	  /* to the national coordinator (coordinator_address), or NULL */
	pthread_mutex_t lock;	  /* ups */
	struct regional_up_id ups[REGIONAL_UP_MAX];
};

/* One node's part of a regional fan-out, kept until every node has answered. */
struct regional_call {
	struct agg *partial; /* AGGREGATE: the node's rows */
	size_t nkeys;
	int tokens, malformed, not_participating;
	Caselink__V1__QueryResponse **chunks; /* TOKENS: the node's batches, unpacked */
	size_t nchunks, cap, records;
	Caselink__V1__QueryResponse *cov; /* the coverage of a nested regional coordinator */
};

static void regional_call_clear(struct regional_call *c)
{
	size_t i;

	for (i = 0; i < c->nchunks; i++)
		caselink__v1__query_response__free_unpacked(c->chunks[i], NULL);
	free(c->chunks);
	if (c->cov)
		caselink__v1__query_response__free_unpacked(c->cov, NULL);
	agg_free(c->partial);
	memset(c, 0, sizeof(*c));
}

static int regional_keep_chunk(struct regional_call *c, Caselink__V1__QueryResponse *r)
{
	if (r->chunk_case != CASELINK__V1__QUERY_RESPONSE__CHUNK_TOKENS ||
	    r->tokens->n_records > REGIONAL_MAX_RECORDS - c->records)
		return 1;
	if (c->nchunks == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		Caselink__V1__QueryResponse **grown = realloc(c->chunks, cap * sizeof(*grown));

		if (!grown)
			return 1;
		c->chunks = grown;
		c->cap = cap;
	}
	c->chunks[c->nchunks++] = r;
	c->records += r->tokens->n_records;
	return 0;
}

static int regional_add_rows(struct regional_call *c, const Caselink__V1__QueryResponse *r)
{
	size_t i, k;

	if (r->chunk_case != CASELINK__V1__QUERY_RESPONSE__CHUNK_ROWS ||
	    r->rows->n_key_columns != c->nkeys)
		return 1;
	for (i = 0; i < r->rows->n_rows; i++) {
		const Caselink__V1__Row *row = r->rows->rows[i];
		const char *keys[REGIONAL_MAX_GROUPBY];
		int64_t v;

		if (row->n_keys != c->nkeys || row->n_values != 1 ||
		    row->values[0]->value_case != CASELINK__V1__VALUE__VALUE_COUNT ||
		    row->values[0]->count < 0)
			return 1;
		for (k = 0; k < c->nkeys; k++)
			keys[k] = row->keys[k];
		v = row->values[0]->count;
		if (agg_add(c->partial, keys, &v) != CL_OK)
			return 1;
	}
	return 0;
}

/* One message of a node's answer; nonzero cancels that node's call (marked malformed). */
static int regional_on_message(const uint8_t *msg, size_t len, void *user)
{
	struct regional_call *c = user;
	Caselink__V1__QueryResponse *r = caselink__v1__query_response__unpack(NULL, len, msg);
	int rc = 1;

	if (!r)
		goto out;
	if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_COVERAGE) {
		if (c->cov || regional_cov_check(r->coverage) != CL_OK)
			goto out;
		c->cov = r;
		return 0;
	}
	if (c->tokens) {
		if (regional_keep_chunk(c, r))
			goto out;
		return 0; /* the chunk is kept */
	}
	rc = regional_add_rows(c, r);
out:
	if (rc)
		c->malformed = 1;
	caselink__v1__query_response__free_unpacked(r, NULL);
	return rc;
}

static int regional_answered(const struct rpc_call *call, const struct regional_call *c)
{
	return call->status.code == RPC_OK && !c->malformed && !c->not_participating;
}

/* A coverage name: 1..max-1 bytes of a-z, 0-9, '-', '_', '.', '/'. */
static int regional_is_name(const char *s, size_t max)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.' || *s == '/'))
			return 0;
	return n >= 1 && n < max;
}

/* A reason: printable ASCII, shorter than REGIONAL_REASON_MAX. */
static int regional_is_reason(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; *s; s++, n++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return n < REGIONAL_REASON_MAX;
}

int regional_cov_check(const Caselink__V1__Coverage *c)
{
	size_t i;

	if (!c || c->n_answered > REGIONAL_COVERAGE_MAX || c->n_failed > REGIONAL_COVERAGE_MAX ||
	    c->nodes_answered != c->n_answered || c->nodes_asked != c->n_answered + c->n_failed)
		return CL_EPROTO;
	for (i = 0; i < c->n_answered; i++)
		if (!regional_is_name(c->answered[i], REGIONAL_SUBNAME_MAX))
			return CL_EPROTO;
	for (i = 0; i < c->n_failed; i++)
		if (!regional_is_name(c->failed[i]->node_id, REGIONAL_SUBNAME_MAX) ||
		    !regional_is_reason(c->failed[i]->reason))
			return CL_EPROTO;
	return CL_OK;
}

struct regional_cov {
	char *strings; /* every name and reason, REGIONAL_NAME_MAX or REGIONAL_REASON_MAX each */
	char **answered;
	Caselink__V1__NodeFailure *fails;
	Caselink__V1__NodeFailure **fail_ptrs;
};

void regional_cov_free(struct regional_cov *h)
{
	if (!h)
		return;
	free(h->strings);
	free(h->answered);
	free(h->fails);
	free(h->fail_ptrs);
	free(h);
}

/* The configured node an answered id of cov names, or NULL. */
static const Caselink__V1__Coverage *regional_sub_of(const struct partyconf *conf,
						     const Caselink__V1__Coverage *const *subs,
						     const char *id)
{
	const struct partyconf_node *nd = partyconf_find_node(conf, id);

	return nd ? subs[nd - conf->nodes] : NULL;
}

int regional_cov_expand(Caselink__V1__Coverage *cov, const struct partyconf *conf,
			const Caselink__V1__Coverage *const *subs, struct regional_cov **hold)
{
	struct regional_cov *h = NULL;
	size_t i, k, na = 0, nf, asked, expanded = 0, slot = 0, nstr, bytes;
	char *s;
	int rc = CL_ENOMEM;

	if (!cov || !conf || !subs || !hold)
		return CL_EINVAL;
	nf = cov->n_failed;
	asked = cov->nodes_asked;
	for (i = 0; i < cov->n_answered; i++) {
		const Caselink__V1__Coverage *sub = regional_sub_of(conf, subs, cov->answered[i]);

		if (!sub) {
			na++;
			continue;
		}
		expanded++;
		na += sub->n_answered;
		nf += sub->n_failed;
		asked += sub->nodes_asked;
	}
	if (!expanded)
		return CL_OK;
	if (na + nf > 4 * (size_t)REGIONAL_COVERAGE_MAX || asked < expanded)
		return CL_ELIMIT;
	asked -= expanded;
	nstr = na + 2 * nf;
	if (__builtin_mul_overflow(nstr, (size_t)REGIONAL_NAME_MAX, &bytes))
		return CL_ELIMIT;
	h = calloc(1, sizeof(*h));
	if (!h)
		goto out;
	h->strings = malloc(bytes ? bytes : 1);
	h->answered = calloc(na ? na : 1, sizeof(*h->answered));
	h->fails = calloc(nf ? nf : 1, sizeof(*h->fails));
	h->fail_ptrs = calloc(nf ? nf : 1, sizeof(*h->fail_ptrs));
	if (!h->strings || !h->answered || !h->fails || !h->fail_ptrs)
		goto out;
	na = nf = 0;
	for (i = 0; i < cov->n_answered; i++) {
		const Caselink__V1__Coverage *sub = regional_sub_of(conf, subs, cov->answered[i]);

		if (!sub) {
			s = h->strings + REGIONAL_NAME_MAX * slot++;
			snprintf(s, REGIONAL_NAME_MAX, "%s", cov->answered[i]);
			h->answered[na++] = s;
			continue;
		}
		for (k = 0; k < sub->n_answered; k++) {
			s = h->strings + REGIONAL_NAME_MAX * slot++;
			snprintf(s, REGIONAL_NAME_MAX, "%.127s/%s", cov->answered[i],
				 sub->answered[k]);
			h->answered[na++] = s;
		}
		for (k = 0; k < sub->n_failed; k++) {
			caselink__v1__node_failure__init(&h->fails[nf]);
			s = h->strings + REGIONAL_NAME_MAX * slot++;
			snprintf(s, REGIONAL_NAME_MAX, "%.127s/%s", cov->answered[i],
				 sub->failed[k]->node_id);
			h->fails[nf].node_id = s;
			s = h->strings + REGIONAL_NAME_MAX * slot++;
			snprintf(s, REGIONAL_NAME_MAX, "%s", sub->failed[k]->reason);
			h->fails[nf].reason = s;
			h->fails[nf].code = sub->failed[k]->code;
			h->fail_ptrs[nf] = &h->fails[nf];
			nf++;
		}
	}
	for (i = 0; i < cov->n_failed; i++) {
		caselink__v1__node_failure__init(&h->fails[nf]);
		s = h->strings + REGIONAL_NAME_MAX * slot++;
		snprintf(s, REGIONAL_NAME_MAX, "%s", cov->failed[i]->node_id);
		h->fails[nf].node_id = s;
		s = h->strings + REGIONAL_NAME_MAX * slot++;
		snprintf(s, REGIONAL_NAME_MAX, "%s", cov->failed[i]->reason);
		h->fails[nf].reason = s;
		h->fails[nf].code = cov->failed[i]->code;
		h->fail_ptrs[nf] = &h->fails[nf];
		nf++;
	}
	cov->nodes_asked = (uint32_t)asked;
	cov->nodes_answered = (uint32_t)na;
	cov->n_answered = na;
	cov->answered = h->answered;
	cov->n_failed = nf;
	cov->failed = h->fail_ptrs;
	*hold = h;
	h = NULL;
	rc = CL_OK;
out:
	regional_cov_free(h);
	return rc;
}

/* Sends the regional's coverage: its nodes, with those of nested regionals expanded. */
static int regional_send_coverage(struct rpc_ctx *ctx, const Caselink__V1__QueryRequest *qr,
				  const struct partyconf *conf, const struct rpc_call *calls,
				  const struct regional_call *cc, size_t *answered_out)
{
	Caselink__V1__QueryResponse resp = CASELINK__V1__QUERY_RESPONSE__INIT;
	Caselink__V1__Coverage cov = CASELINK__V1__COVERAGE__INIT;
	Caselink__V1__NodeFailure *fails = NULL, **fail_ptrs = NULL;
	const Caselink__V1__Coverage **subs = NULL;
	struct regional_cov *hold = NULL;
	char **answered = NULL, (*reasons)[REGIONAL_REASON_MAX] = NULL;
	size_t n = conf->nnodes, i, k, na = 0, nf = 0;
	int rc = CL_ENOMEM;

	fails = calloc(n, sizeof(*fails));
	fail_ptrs = calloc(n, sizeof(*fail_ptrs));
	answered = calloc(n, sizeof(*answered));
	reasons = calloc(n, sizeof(*reasons));
	subs = calloc(n, sizeof(*subs));
	if (!fails || !fail_ptrs || !answered || !reasons || !subs)
		goto out;
	for (i = 0; i < n; i++) {
		if (regional_answered(&calls[i], &cc[i])) {
			answered[na++] = (char *)conf->nodes[i].id;
			subs[i] = cc[i].cov ? cc[i].cov->coverage : NULL;
			continue;
		}
		caselink__v1__node_failure__init(&fails[nf]);
		fails[nf].node_id = (char *)conf->nodes[i].id;
		if (cc[i].not_participating)
			snprintf(reasons[nf], sizeof(reasons[nf]), "not_participating");
		else if (cc[i].malformed)
			snprintf(reasons[nf], sizeof(reasons[nf]), "malformed answer");
		else
			snprintf(reasons[nf], sizeof(reasons[nf]), "%s: %s",
				 rpc_code_reason(calls[i].status.code), calls[i].status.message);
		for (k = 0; reasons[nf][k]; k++) /* the national side refuses anything else */
			if (reasons[nf][k] < 0x20 || reasons[nf][k] > 0x7e)
				reasons[nf][k] = '?';
		fails[nf].reason = reasons[nf];
		fails[nf].code = (int32_t)calls[i].status.code;
		fail_ptrs[nf] = &fails[nf];
		nf++;
	}
	cov.nodes_asked = (uint32_t)n;
	cov.nodes_answered = (uint32_t)na;
	cov.n_failed = nf;
	cov.failed = fail_ptrs;
	cov.n_answered = na;
	cov.answered = answered;
	rc = regional_cov_expand(&cov, conf, subs, &hold);
	if (rc != CL_OK)
		goto out;
	resp.schema_version = CASELINK_SCHEMA_VERSION;
	resp.request_id = qr->header->request_id;
	resp.chunk_case = CASELINK__V1__QUERY_RESPONSE__CHUNK_COVERAGE;
	resp.coverage = &cov;
	rc = party_send_response(ctx, &resp);
	if (rc == CL_OK)
		*answered_out = na;
out:
	regional_cov_free(hold);
	free(fails);
	free(fail_ptrs);
	free(answered);
	free(reasons);
	free(subs);
	return rc;
}

/* Records the answer before its final chunk leaves. */
static int regional_audit(const struct regional *rg, struct rpc_ctx *ctx,
			  const Caselink__V1__QueryRequest *qr, const struct rpc_call *calls,
			  const struct regional_call *cc, size_t count)
{
	char details[AUDIT_DETAILS_MAX], req[AUDIT_DETAILS_MAX / 2], failed[AUDIT_DETAILS_MAX / 4];
	const struct partyconf *conf = rg->cfg.conf;
	size_t i, used = 0, answered = 0;
	int rc, tokens = qr->mode == CASELINK__V1__QUERY_MODE__QUERY_MODE_TOKENS;

	failed[0] = '\0';
	for (i = 0; i < conf->nnodes; i++) {
		if (regional_answered(&calls[i], &cc[i])) {
			answered++;
			continue;
		}
		if (used < sizeof(failed)) {
			int k = snprintf(failed + used, sizeof(failed) - used, "%s%.64s",
					 used ? "," : "", conf->nodes[i].id);

			if (k > 0)
				used += (size_t)k;
		}
	}
	party_audit_request(qr, req, sizeof(req));
	snprintf(details, sizeof(details),
		 "level=regional mode=%s nodes_asked=%zu nodes_answered=%zu failed=%s %s=%zu %s",
		 tokens ? "tokens" : "aggregate", conf->nnodes, answered, failed[0] ? failed : "-",
		 tokens ? "records" : "rows", count, req);
	rc = audit_append(rg->cfg.audit, rpc_ctx_peer_id(ctx)[0] ? rpc_ctx_peer_id(ctx) : "-",
			  "query_answered", details, NULL);
	if (rc != CL_OK) {
		log_event(LOG_LEVEL_ERROR, "audit_failed", "action=query_answered");
		return CL_EAUDIT;
	}
	return CL_OK;
}

/* AGGREGATE: the sum of the answered nodes' rows, as one node would send them. */
static int regional_send_rows(const struct regional *rg, struct rpc_ctx *ctx,
			      const Caselink__V1__QueryRequest *qr, const struct rpc_call *calls,
			      const struct regional_call *cc, size_t *rows_out)
{
	static const char *const value_cols[] = {"incident_events"};
	const struct partyconf *conf = rg->cfg.conf;
	struct agg *total = NULL;
	struct party_rows *rows = NULL;
	size_t i, r, k;
	int rc;

	rc = agg_new(qr->n_group_by, 1, &total);
	for (i = 0; rc == CL_OK && i < conf->nnodes; i++) {
		if (!regional_answered(&calls[i], &cc[i]))
			continue;
		for (r = 0; rc == CL_OK && r < agg_rows(cc[i].partial); r++) {
			const char *keys[REGIONAL_MAX_GROUPBY];
			int64_t v = agg_value(cc[i].partial, r, 0);

			for (k = 0; k < qr->n_group_by; k++)
				keys[k] = agg_key(cc[i].partial, r, k);
			rc = agg_add(total, keys, &v);
		}
	}
	if (rc == CL_OK)
		rc = agg_sort(total);
	if (rc == CL_OK)
		rc = party_rows_new(ctx, &qr->header->request_id, (const char *const *)qr->group_by,
				    qr->n_group_by, value_cols, 1, &rows);
	for (i = 0; rc == CL_OK && i < agg_rows(total); i++) {
		const char *keys[REGIONAL_MAX_GROUPBY];
		int64_t v = agg_value(total, i, 0);

		for (k = 0; k < qr->n_group_by; k++)
			keys[k] = agg_key(total, i, k);
		rc = party_rows_add(rows, keys, &v);
	}
	if (rc == CL_OK)
		rc = regional_audit(rg, ctx, qr, calls, cc, agg_rows(total));
	if (rc == CL_OK)
		rc = party_rows_finish(rows);
	if (rc == CL_OK)
		*rows_out = agg_rows(total);
	party_rows_free(rows);
	agg_free(total);
	return rc;
}

/* An outgoing TokenBatch: shallow copies of the nodes' records with new handles. */
struct regional_out {
	struct rpc_ctx *ctx;
	const ProtobufCBinaryData *request_id;
	uint32_t batch_index;
	size_t n, bytes;
	Caselink__V1__TokenRecord recs[REGIONAL_BATCH_RECORDS];
	Caselink__V1__TokenRecord *ptrs[REGIONAL_BATCH_RECORDS];
	uint8_t handles[REGIONAL_BATCH_RECORDS][LINKER_HANDLE_MAX];
};

static int regional_flush(struct regional_out *o, int last)
{
	Caselink__V1__QueryResponse resp = CASELINK__V1__QUERY_RESPONSE__INIT;
	Caselink__V1__TokenBatch batch = CASELINK__V1__TOKEN_BATCH__INIT;
	size_t i;
	int rc;

	for (i = 0; i < o->n; i++)
		o->ptrs[i] = &o->recs[i];
	batch.batch_index = o->batch_index++;
	batch.n_records = o->n;
	batch.records = o->ptrs;
	resp.schema_version = CASELINK_SCHEMA_VERSION;
	resp.request_id = *o->request_id;
	resp.chunk_case = CASELINK__V1__QUERY_RESPONSE__CHUNK_TOKENS;
	resp.tokens = &batch;
	resp.last = last ? 1 : 0;
	rc = party_send_response(o->ctx, &resp);
	o->n = o->bytes = 0;
	return rc;
}

/*
 * Adds one record of node index i: handle = be16(i) || the node's handle (so
 * handles stay unique and the regional knows which node resolves one), and
 * the agency's attributes unless the record carries its own (a nested regional).
 */
static int regional_put(struct regional_out *o, const Caselink__V1__TokenRecord *t, size_t i,
			Caselink__V1__TokenRecord__AttributesEntry **attrs)
{
	Caselink__V1__TokenRecord *rec;
	size_t size;
	int rc;

	if (t->row_handle.len < 1 || t->row_handle.len > LINKER_HANDLE_MAX - REGIONAL_HANDLE_PREFIX)
		return CL_EPROTO;
	if (o->n == REGIONAL_BATCH_RECORDS) {
		rc = regional_flush(o, 0);
		if (rc != CL_OK)
			return rc;
	}
	rec = &o->recs[o->n];
	*rec = *t;
	o->handles[o->n][0] = (uint8_t)(i >> 8);
	o->handles[o->n][1] = (uint8_t)i;
	memcpy(o->handles[o->n] + REGIONAL_HANDLE_PREFIX, t->row_handle.data, t->row_handle.len);
	rec->row_handle.data = o->handles[o->n];
	rec->row_handle.len = t->row_handle.len + REGIONAL_HANDLE_PREFIX;
	if (!t->n_attributes) {
		rec->n_attributes = 3;
		rec->attributes = attrs;
	}
	size = caselink__v1__token_record__get_packed_size(rec) + 16;
	if (size > REGIONAL_BATCH_BYTES)
		return CL_ELIMIT;
	if (o->n && o->bytes + size > REGIONAL_BATCH_BYTES) {
		Caselink__V1__TokenRecord keep = *rec;
		uint8_t handle[LINKER_HANDLE_MAX];

		memcpy(handle, o->handles[o->n], sizeof(handle));
		rc = regional_flush(o, 0);
		if (rc != CL_OK)
			return rc;
		o->recs[0] = keep;
		memcpy(o->handles[0], handle, sizeof(handle));
		o->recs[0].row_handle.data = o->handles[0];
	}
	o->n++;
	o->bytes += size;
	return CL_OK;
}

/* TOKENS: every answered node's records, in the configured order, then the audit and last chunk. */
static int regional_send_tokens(const struct regional *rg, struct rpc_ctx *ctx,
				const Caselink__V1__QueryRequest *qr, const struct rpc_call *calls,
				const struct regional_call *cc, size_t *records_out)
{
	const struct partyconf *conf = rg->cfg.conf;
	Caselink__V1__TokenRecord__AttributesEntry *ents = NULL, **ent_ptrs = NULL;
	struct regional_out *o = NULL;
	size_t i, k, r, total = 0, bytes;
	int rc = CL_ENOMEM;

	if (__builtin_mul_overflow(conf->nnodes, (size_t)3, &bytes))
		return CL_ELIMIT;
	o = calloc(1, sizeof(*o));
	ents = calloc(bytes, sizeof(*ents));
	ent_ptrs = calloc(bytes, sizeof(*ent_ptrs));
	if (!o || !ents || !ent_ptrs)
		goto out;
	o->ctx = ctx;
	o->request_id = &qr->header->request_id;
	rc = CL_OK;
	for (i = 0; rc == CL_OK && i < conf->nnodes; i++) {
		const struct partyconf_node *nd = &conf->nodes[i];
		static const char *const keys[3] = {
		    REGIONAL_ATTR_AGENCY_ID, REGIONAL_ATTR_AGENCY_TYPE, REGIONAL_ATTR_MUNICIPALITY};
		const char *values[3] = {nd->id, nd->agency_type, nd->municipality};

		if (!regional_answered(&calls[i], &cc[i]))
			continue;
		for (k = 0; k < 3; k++) {
			caselink__v1__token_record__attributes_entry__init(&ents[3 * i + k]);
			ents[3 * i + k].key = (char *)keys[k];
			ents[3 * i + k].value = (char *)values[k];
			ent_ptrs[3 * i + k] = &ents[3 * i + k];
		}
		for (k = 0; rc == CL_OK && k < cc[i].nchunks; k++) {
			const Caselink__V1__TokenBatch *b = cc[i].chunks[k]->tokens;

			for (r = 0; rc == CL_OK && r < b->n_records; r++) {
				if (total >= REGIONAL_MAX_TOTAL) {
					rc = CL_ELIMIT;
					break;
				}
				rc = regional_put(o, b->records[r], i, &ent_ptrs[3 * i]);
				total++;
			}
		}
	}
	if (rc == CL_OK)
		rc = regional_audit(rg, ctx, qr, calls, cc, total);
	if (rc == CL_OK)
		rc = regional_flush(o, 1);
	if (rc == CL_OK)
		*records_out = total;
out:
	free(o);
	free(ents);
	free(ent_ptrs);
	return rc;
}

int regional_new(const struct regional_config *cfg, struct regional **out)
{
	struct regional *r;

	if (!cfg || !cfg->conf || !cfg->audit || !cfg->replay || !cfg->disclosed || !out ||
	    (cfg->conf->nnodes && !cfg->channels) || cfg->conf->nnodes > 65536 ||
	    (!cfg->conf->insecure_demo && (!cfg->signer || !cfg->verifier)))
		return CL_EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return CL_ENOMEM;
	r->cfg = *cfg;
	r->disclosed = cfg->disclosed;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return CL_ENOMEM;
	}
	if (cfg->conf->coordinator_address[0] && cfg->conf->nupstream &&
	    !cfg->conf->insecure_demo && cfg->tls) {
		struct rpc_channel_config cc;
		int rc;

		memset(&cc, 0, sizeof(cc));
		cc.target = cfg->conf->coordinator_address;
		cc.tls = *cfg->tls;
		cc.server_name = cfg->conf->upstream[0];
		cc.expected_roles = RPC_ROLE_COORDINATOR;
		rc = rpc_channel_new(&cc, &r->up);
		if (rc != CL_OK) {
			regional_free(r);
			return rc;
		}
	}
	r->cfg.tls = NULL; /* used only to open the channel */
	*out = r;
	return CL_OK;
}

void regional_free(struct regional *r)
{
	if (!r)
		return;
	rpc_channel_free(r->up);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

int regional_cases_up_enabled(const struct regional *r)
{
	return r && r->up;
}

/* Remembers a request id sent up until it expires; CL_ELIMIT when the table is full. */
static int regional_up_put(struct regional *r, const ProtobufCBinaryData *id, int64_t expires)
{
	int64_t now = (int64_t)time(NULL);
	size_t i;
	int rc = CL_ELIMIT;

	if (id->len != PARTY_REQUEST_ID_LEN)
		return CL_EINVAL;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < REGIONAL_UP_MAX; i++) {
		struct regional_up_id *u = &r->ups[i];

		if (u->used && u->expires >= now)
			continue;
		memcpy(u->id, id->data, PARTY_REQUEST_ID_LEN);
		u->expires = expires;
		u->used = 1;
		rc = CL_OK;
		break;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* Forgets a request id sent up; 1 when it was there (a first ask back), else 0. */
static int regional_up_take(struct regional *r, const ProtobufCBinaryData *id)
{
	size_t i;
	int found = 0;

	if (id->len != PARTY_REQUEST_ID_LEN)
		return 0;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < REGIONAL_UP_MAX && !found; i++) {
		struct regional_up_id *u = &r->ups[i];

		if (u->used && !memcmp(u->id, id->data, PARTY_REQUEST_ID_LEN)) {
			u->used = 0;
			found = 1;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return found;
}

/* A national coordinator may ask only when its certificate name is in `upstream:`. */
static int regional_peer_allowed(const struct partyconf *conf, struct rpc_ctx *ctx)
{
	const char *peer = rpc_ctx_peer_id(ctx);
	size_t i;

	if (conf->insecure_demo)
		return 1;
	for (i = 0; i < conf->nupstream; i++)
		if (!strcmp(conf->upstream[i], peer))
			return 1;
	return 0;
}

/* The regional's own deadline for its nodes: its configured one, within what the caller left. */
static int64_t regional_deadline(const struct partyconf *conf, struct rpc_ctx *ctx)
{
	int64_t remaining = rpc_ctx_remaining_ms(ctx), deadline = conf->deadline_ms, margin;

	if (remaining == INT64_MAX)
		return deadline;
	margin = remaining / 10;
	if (margin < REGIONAL_MARGIN_MIN_MS)
		margin = REGIONAL_MARGIN_MIN_MS;
	if (margin > REGIONAL_MARGIN_MAX_MS)
		margin = REGIONAL_MARGIN_MAX_MS;
	if (remaining - margin < deadline)
		deadline = remaining - margin;
	return deadline < REGIONAL_DEADLINE_MIN_MS ? REGIONAL_DEADLINE_MIN_MS : deadline;
}

/* Runs the calls of the participating nodes at once. */
static int regional_fan_out(const struct regional *rg, struct rpc_call *calls,
			    struct regional_call *cc, const uint8_t *req, size_t req_len,
			    int64_t deadline_ms)
{
	const struct partyconf *conf = rg->cfg.conf;
	struct rpc_call *batch = NULL;
	size_t *index = NULL, m = 0, i;
	int rc = CL_ENOMEM;

	batch = calloc(conf->nnodes ? conf->nnodes : 1, sizeof(*batch));
	index = calloc(conf->nnodes ? conf->nnodes : 1, sizeof(*index));
	if (!batch || !index)
		goto out;
	for (i = 0; i < conf->nnodes; i++) {
		if (cc[i].not_participating)
			continue;
		batch[m].channel = rg->cfg.channels[i];
		batch[m].method = RPC_METHOD_NODE_QUERY;
		batch[m].req = req;
		batch[m].req_len = req_len;
		batch[m].on_message = regional_on_message;
		batch[m].user = &cc[i];
		index[m++] = i;
	}
	rc = rpc_call_many(batch, m, deadline_ms, NULL);
	for (i = 0; i < m; i++) {
		calls[index[i]].status = batch[i].status;
		if (rc != CL_OK) {
			calls[index[i]].status.code = RPC_INTERNAL;
			snprintf(calls[index[i]].status.message,
				 sizeof(calls[index[i]].status.message), "fan-out failed");
		}
	}
	rc = CL_OK;
out:
	free(batch);
	free(index);
	return rc;
}

/*
 * Checks what a node would check (peer, header, both signatures, replay),
 * then the regional's own policy. RPC_OK, or the code of a refusal already
 * sent (logged and audited).
 */
static enum rpc_code regional_admit(struct regional *rg, struct rpc_ctx *ctx,
				    const Caselink__V1__QueryRequest *qr)
{
	const struct partyconf *conf = rg->cfg.conf;
	char reason[REGIONAL_REASON_MAX];
	const char *why = NULL;
	int rc;

	rc = party_header_check_max(qr->header, (int64_t)time(NULL), conf->max_request_validity,
				    &why);
	if (rc != CL_OK)
		return party_refuse(rg->cfg.audit, ctx, qr, party_error_to_code(rc), why);
	if (!conf->insecure_demo) {
		char sreason[SIGN_REASON_MAX];

		rc = sign_verify_forwarded(rg->cfg.verifier, qr, rpc_ctx_peer_id(ctx), sreason);
		if (rc != CL_OK)
			return party_refuse(rg->cfg.audit, ctx, qr, RPC_UNAUTHENTICATED, sreason);
	}
	/* A case request this regional sent up itself comes back once (regional_cases_up);
	 * phase 2 of a case answer (DISCLOSE) keeps the request id: once per query nonce. */
	if (qr->mode == CASELINK__V1__QUERY_MODE__QUERY_MODE_DISCLOSE)
		rc = qr->query_nonce.len != REGIONAL_NONCE_LEN
			 ? CL_EINVAL
			 : replay_check(rg->disclosed, qr->query_nonce.data, qr->query_nonce.len,
					qr->header->expires_at, (int64_t)time(NULL));
	else
		rc = regional_up_take(rg, &qr->header->request_id)
			 ? CL_OK
			 : replay_check(rg->cfg.replay, qr->header->request_id.data,
					qr->header->request_id.len, qr->header->expires_at,
					(int64_t)time(NULL));
	if (rc == CL_EINVAL)
		return party_refuse(rg->cfg.audit, ctx, qr, RPC_INVALID_ARGUMENT,
				    "query_nonce must be 32 bytes");
	if (rc != CL_OK) {
		enum rpc_code code = party_replay_refusal(rc, &why);

		return party_refuse(rg->cfg.audit, ctx, qr, code, why);
	}
	if (qr->mode != CASELINK__V1__QUERY_MODE__QUERY_MODE_AGGREGATE &&
	    qr->mode != CASELINK__V1__QUERY_MODE__QUERY_MODE_TOKENS &&
	    qr->mode != CASELINK__V1__QUERY_MODE__QUERY_MODE_DISCLOSE)
		return party_refuse(rg->cfg.audit, ctx, qr, RPC_INVALID_ARGUMENT,
				    "unknown query mode");
	if (qr->mode == CASELINK__V1__QUERY_MODE__QUERY_MODE_TOKENS &&
	    qr->query_nonce.len != REGIONAL_NONCE_LEN)
		return party_refuse(rg->cfg.audit, ctx, qr, RPC_INVALID_ARGUMENT,
				    "query_nonce must be 32 bytes");
	if (qr->n_group_by > REGIONAL_MAX_GROUPBY)
		return party_refuse(rg->cfg.audit, ctx, qr, RPC_INVALID_ARGUMENT,
				    "too many groupings");
	if (rg->cfg.policy_check) {
		enum rpc_code code;

		reason[0] = '\0';
		code = rg->cfg.policy_check(rg->cfg.policy_user, qr, reason, sizeof(reason));
		if (code != RPC_OK)
			return party_refuse(rg->cfg.audit, ctx, qr, code,
					    reason[0] ? reason : "refused by policy");
	}
	return RPC_OK;
}

/* One node's DISCLOSE answer, relayed (regional_disclose). */
struct regional_grant {
	Caselink__V1__QueryResponse *resp;
	int bad;
	ProtobufCBinaryData *asked; /* the handles asked of it, without this regional's prefix */
	size_t nasked;
};

static int regional_on_grant(const uint8_t *msg, size_t len, void *user)
{
	struct regional_grant *g = user;
	Caselink__V1__QueryResponse *r = caselink__v1__query_response__unpack(NULL, len, msg);

	if (!r || r->chunk_case != CASELINK__V1__QUERY_RESPONSE__CHUNK_GRANT || !r->grant ||
	    g->resp) {
		g->bad = 1;
		if (r)
			caselink__v1__query_response__free_unpacked(r, NULL);
		return CL_OK;
	}
	g->resp = r;
	return CL_OK;
}

/* Whether node j's granted handle h was asked of it. */
static int regional_was_asked(const struct regional_grant *g, const ProtobufCBinaryData *h)
{
	size_t i;

	for (i = 0; i < g->nasked; i++)
		if (g->asked[i].len == h->len && !memcmp(g->asked[i].data, h->data, h->len))
			return 1;
	return 0;
}

/* Adds node j's answer (or its failure) to the merged grant; handles get the prefix back. */
static int regional_merge_grant(const struct regional *rg, size_t j, const struct rpc_call *call,
				const struct regional_grant *g, Caselink__V1__CaseGrant *out,
				uint8_t **prefixed, size_t *np, char (*reasons)[64])
{
	const Caselink__V1__CaseGrant *in = g->resp ? g->resp->grant : NULL;
	Caselink__V1__CaseWithheld *w;
	size_t k;

	if (call->status.code == RPC_OK && !g->bad && in) {
		for (k = 0; k < in->n_granted; k++)
			if (!regional_was_asked(g, &in->granted[k]))
				in = NULL; /* a handle not asked: the node failed */
	}
	if (call->status.code == RPC_OK && !g->bad && in) {
		for (k = 0; k < in->n_granted; k++) {
			uint8_t *h = malloc(in->granted[k].len + REGIONAL_HANDLE_PREFIX);

			if (!h)
				return CL_ENOMEM;
			h[0] = (uint8_t)(j >> 8);
			h[1] = (uint8_t)j;
			memcpy(h + REGIONAL_HANDLE_PREFIX, in->granted[k].data, in->granted[k].len);
			prefixed[(*np)++] = h;
			out->granted[out->n_granted].data = h;
			out->granted[out->n_granted++].len =
			    in->granted[k].len + REGIONAL_HANDLE_PREFIX;
		}
		for (k = 0; k < in->n_withheld; k++) {
			if (!in->withheld[k] || !regional_is_name(in->withheld[k]->node_id, 63) ||
			    !regional_is_reason(in->withheld[k]->reason))
				return CL_EPROTO;
			out->withheld[out->n_withheld++] = in->withheld[k];
		}
		/* M7 rows sealed to the asking node: relayed as they came, unread */
		for (k = 0; k < in->n_sealed; k++) {
			if (!in->sealed[k] || !regional_is_name(in->sealed[k]->node_id, 63))
				return CL_EPROTO;
			out->sealed[out->n_sealed++] = in->sealed[k];
		}
		return CL_OK;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return CL_ENOMEM;
	caselink__v1__case_withheld__init(w);
	w->node_id = (char *)rg->cfg.conf->nodes[j].id;
	snprintf(reasons[j], sizeof(reasons[j]), "disclosure %s",
		 call->status.code == RPC_OK ? "malformed answer"
					     : rpc_code_reason(call->status.code));
	w->reason = reasons[j];
	w->records = g->nasked > UINT32_MAX ? UINT32_MAX : (uint32_t)g->nasked;
	out->withheld[out->n_withheld++] = w;
	prefixed[(*np)++] = (uint8_t *)w; /* freed with the handles */
	return CL_OK;
}

/*
 * QUERY_MODE_DISCLOSE from the national (docs/two-level.md "Case requests"): phase 2 of a case
 * answer, for the records of this regional's nodes. Splits the handles by their node prefix,
 * asks each node about its own under this regional's envelope, and relays one CaseGrant with
 * the prefixes back; a node that cannot be asked withholds everything asked of it.
 */
static enum rpc_code regional_disclose(struct regional *rg, struct rpc_ctx *ctx,
				       Caselink__V1__QueryRequest *qr)
{
	const struct partyconf *conf = rg->cfg.conf;
	size_t n = conf->nnodes, i, j, m = 0, np = 0, total = qr->n_case_handles, nw = 0, ns = 0;
	ProtobufCBinaryData *all = qr->case_handles;
	struct regional_grant *g = calloc(n ? n : 1, sizeof(*g));
	struct rpc_call *batch = calloc(n ? n : 1, sizeof(*batch));
	size_t *index = calloc(n ? n : 1, sizeof(*index));
	uint8_t **bufs = calloc(n ? n : 1, sizeof(*bufs));
	ProtobufCBinaryData *strip = calloc(total ? total : 1, sizeof(*strip));
	char(*reasons)[64] = calloc(n ? n : 1, sizeof(*reasons));
	Caselink__V1__QueryResponse resp = CASELINK__V1__QUERY_RESPONSE__INIT;
	Caselink__V1__CaseGrant out = CASELINK__V1__CASE_GRANT__INIT;
	uint8_t **prefixed = NULL;
	enum rpc_code code = RPC_OK;
	int rc = g && batch && index && bufs && strip && reasons ? CL_OK : CL_ENOMEM;

	for (i = 0; rc == CL_OK && i < total; i++) {
		if (all[i].len <= REGIONAL_HANDLE_PREFIX ||
		    (j = (size_t)all[i].data[0] << 8 | all[i].data[1]) >= n) {
			code =
			    party_refuse(rg->cfg.audit, ctx, qr, RPC_INVALID_ARGUMENT,
					 "a disclosure handle names no node of this coordinator");
			goto out;
		}
		strip[i].data = all[i].data + REGIONAL_HANDLE_PREFIX;
		strip[i].len = all[i].len - REGIONAL_HANDLE_PREFIX;
	}
	/* node j's handles, in the order asked, under this regional's envelope */
	for (j = 0; rc == CL_OK && j < n; j++) {
		size_t k, len;

		for (i = 0; i < total; i++)
			g[j].nasked += ((size_t)all[i].data[0] << 8 | all[i].data[1]) == j;
		if (!g[j].nasked)
			continue;
		g[j].asked = calloc(g[j].nasked, sizeof(*g[j].asked));
		if (!g[j].asked) {
			rc = CL_ENOMEM;
			break;
		}
		for (i = 0, k = 0; i < total; i++)
			if (((size_t)all[i].data[0] << 8 | all[i].data[1]) == j)
				g[j].asked[k++] = strip[i];
		qr->case_handles = g[j].asked;
		qr->n_case_handles = g[j].nasked;
		rc = rg->cfg.signer ? sign_envelope(rg->cfg.signer, qr) : CL_OK;
		len = caselink__v1__query_request__get_packed_size(qr);
		bufs[m] = rc == CL_OK ? malloc(len ? len : 1) : NULL;
		if (rc == CL_OK && !bufs[m])
			rc = CL_ENOMEM;
		if (rc != CL_OK)
			break;
		caselink__v1__query_request__pack(qr, bufs[m]);
		batch[m].channel = rg->cfg.channels[j];
		batch[m].method = RPC_METHOD_NODE_QUERY;
		batch[m].req = bufs[m];
		batch[m].req_len = len;
		batch[m].on_message = regional_on_grant;
		batch[m].user = &g[j];
		index[m++] = j;
	}
	qr->case_handles = all;
	qr->n_case_handles = total;
	if (rc == CL_OK && m &&
	    rpc_call_many(batch, m, regional_deadline(conf, ctx), NULL) != CL_OK)
		for (i = 0; i < m; i++)
			batch[i].status.code = RPC_INTERNAL;
	for (i = 0; rc == CL_OK && i < m; i++) {
		const Caselink__V1__CaseGrant *gi =
		    g[index[i]].resp ? g[index[i]].resp->grant : NULL;

		nw += gi ? gi->n_withheld : 0;
		ns += gi ? gi->n_sealed : 0;
	}
	out.sealed = calloc(ns + 1, sizeof(*out.sealed));
	out.granted = calloc(total ? total : 1, sizeof(*out.granted));
	out.withheld = calloc(nw + m + 1, sizeof(*out.withheld));
	prefixed = calloc(total + m + 1, sizeof(*prefixed));
	if (rc == CL_OK && (!out.granted || !out.withheld || !prefixed || !out.sealed))
		rc = CL_ENOMEM;
	for (i = 0; rc == CL_OK && i < m; i++)
		rc = regional_merge_grant(rg, index[i], &batch[i], &g[index[i]], &out, prefixed,
					  &np, reasons);
	if (rc == CL_OK) {
		char details[AUDIT_DETAILS_MAX], text[AUDIT_DETAILS_MAX - 100];

		party_audit_request(qr, text, sizeof(text));
		snprintf(details, sizeof(details),
			 "mode=disclose asked=%zu granted=%zu nodes=%zu %s", total, out.n_granted,
			 m, text);
		rc = audit_append(rg->cfg.audit,
				  rpc_ctx_peer_id(ctx)[0] ? rpc_ctx_peer_id(ctx) : "-",
				  "disclosure_relayed", details, NULL);
	}
	if (rc == CL_OK) {
		resp.schema_version = CASELINK_SCHEMA_VERSION;
		resp.request_id = qr->header->request_id;
		resp.chunk_case = CASELINK__V1__QUERY_RESPONSE__CHUNK_GRANT;
		resp.grant = &out;
		resp.last = 1;
		rc = party_send_response(ctx, &resp);
	}
	if (rc != CL_OK) {
		code = party_error_to_code(rc);
		rpc_ctx_set_message(ctx, rc == CL_EPROTO ? "malformed answer from a node"
							 : cl_strerror(rc));
	}
out:
	/* prefixed holds the granted copies and the failure entries this function made */
	for (i = 0; prefixed && i < np; i++)
		free(prefixed[i]);
	free(prefixed);
	free(out.granted);
	free(out.withheld);
	free(out.sealed);
	for (j = 0; g && j < n; j++) {
		if (g[j].resp)
			caselink__v1__query_response__free_unpacked(g[j].resp, NULL);
		free(g[j].asked);
	}
	for (i = 0; bufs && i < m; i++)
		free(bufs[i]);
	free(g);
	free(batch);
	free(index);
	free(bufs);
	free(strip);
	free(reasons);
	return code;
}

enum rpc_code regional_query(struct rpc_ctx *ctx, const uint8_t *req, size_t len, void *user)
{
	struct regional *rg = user;
	const struct partyconf *conf = rg->cfg.conf;
	Caselink__V1__QueryRequest *qr = NULL;
	struct rpc_call *calls = NULL;
	struct regional_call *cc = NULL;
	uint8_t *fwd = NULL;
	size_t n = conf->nnodes, i, fwd_len, answered = 0, count = 0;
	enum rpc_code code = RPC_OK;
	int tokens, rc;

	if (!regional_peer_allowed(conf, ctx))
		return party_refuse(rg->cfg.audit, ctx, NULL, RPC_PERMISSION_DENIED,
				    "peer is not an upstream coordinator of this coordinator");
	qr = caselink__v1__query_request__unpack(NULL, len, req);
	if (!qr)
		return party_refuse(rg->cfg.audit, ctx, NULL, RPC_INVALID_ARGUMENT,
				    "malformed QueryRequest");
	code = regional_admit(rg, ctx, qr);
	if (code != RPC_OK)
		goto out;
	if (qr->mode == CASELINK__V1__QUERY_MODE__QUERY_MODE_DISCLOSE) {
		code = regional_disclose(rg, ctx, qr);
		goto out;
	}
	tokens = qr->mode == CASELINK__V1__QUERY_MODE__QUERY_MODE_TOKENS;
	/* Same request, nonce and mode; the envelope is now this coordinator's. */
	rc = rg->cfg.signer ? sign_envelope(rg->cfg.signer, qr) : CL_OK;
	if (rc == CL_OK) {
		fwd_len = caselink__v1__query_request__get_packed_size(qr);
		fwd = malloc(fwd_len ? fwd_len : 1);
		if (!fwd)
			rc = CL_ENOMEM;
		else
			caselink__v1__query_request__pack(qr, fwd);
	}
	calls = calloc(n ? n : 1, sizeof(*calls));
	cc = calloc(n ? n : 1, sizeof(*cc));
	if (rc == CL_OK && (!calls || !cc))
		rc = CL_ENOMEM;
	for (i = 0; rc == CL_OK && i < n; i++) {
		cc[i].nkeys = qr->n_group_by;
		cc[i].tokens = tokens;
		if (rg->cfg.participates && !rg->cfg.participates(rg->cfg.policy_user, qr, i)) {
			cc[i].not_participating = 1;
			calls[i].status.code = RPC_FAILED_PRECONDITION;
		}
		if (!tokens)
			rc = agg_new(qr->n_group_by, 1, &cc[i].partial);
	}
	if (rc == CL_OK)
		rc = regional_fan_out(rg, calls, cc, fwd, fwd_len, regional_deadline(conf, ctx));
	if (rc == CL_OK)
		rc = regional_send_coverage(ctx, qr, conf, calls, cc, &answered);
	if (rc == CL_OK)
		rc = tokens ? regional_send_tokens(rg, ctx, qr, calls, cc, &count)
			    : regional_send_rows(rg, ctx, qr, calls, cc, &count);
	if (rc != CL_OK) {
		code = party_error_to_code(rc);
		rpc_ctx_set_message(ctx, rc == CL_EAUDIT ? "audit unavailable" : cl_strerror(rc));
		log_event(LOG_LEVEL_ERROR, "query_failed", "level=regional mode=%s error=%s",
			  tokens ? "tokens" : "aggregate", cl_errname(rc));
		goto out;
	}
	log_event(LOG_LEVEL_INFO, "query_answered",
		  "level=regional peer=%.64s mode=%s nodes_asked=%zu nodes_answered=%zu %s=%zu",
		  rpc_ctx_peer_id(ctx), tokens ? "tokens" : "aggregate", n, answered,
		  tokens ? "records" : "rows", count);
out:
	for (i = 0; cc && i < n; i++)
		regional_call_clear(&cc[i]);
	free(cc);
	free(calls);
	free(fwd);
	caselink__v1__query_request__free_unpacked(qr, NULL);
	return code;
}

/* The answer of the national coordinator to a case request sent up, relayed to the node. */
struct regional_relay {
	struct regional *rg;
	struct rpc_ctx *ctx;
	const Caselink__V1__QueryRequest *qr;
	size_t node;	/* the asking node's index in this regional's nodes */
	int handles;	/* the rows' first column is "handle" (M8) */
	int malformed;	/* the national's answer broke the protocol */
	int audit_fail; /* the audit entry could not be written */
	int last;	/* the last chunk was relayed */
	int coverage;	/* a coverage chunk was relayed */
	int case_rows;	/* M7: the CaseRows chunk was relayed */
	size_t rows;
};

/*
 * Strips this regional's prefix from a hex row handle, in place, after checking that it names
 * the asking node (the handles the node made come back with its index first).
 */
static int regional_strip(const struct regional_relay *y, char *hex)
{
	char want[2 * REGIONAL_HANDLE_PREFIX + 1];
	size_t n = strlen(hex);

	snprintf(want, sizeof(want), "%02x%02x", (unsigned)(y->node >> 8) & 0xffu,
		 (unsigned)y->node & 0xffu);
	if (n <= 2 * REGIONAL_HANDLE_PREFIX || strncmp(hex, want, 2 * REGIONAL_HANDLE_PREFIX))
		return 1;
	memmove(hex, hex + 2 * REGIONAL_HANDLE_PREFIX, n - 2 * REGIONAL_HANDLE_PREFIX + 1);
	return 0;
}

/* Records the relayed answer before its last chunk leaves. */
static int regional_up_audit(const struct regional_relay *y)
{
	char details[AUDIT_DETAILS_MAX], req[AUDIT_DETAILS_MAX / 2];

	party_audit_request(y->qr, req, sizeof(req));
	snprintf(details, sizeof(details), "level=regional-up measure=%.16s rows=%zu %s",
		 y->qr->measure, y->rows, req);
	if (audit_append(y->rg->cfg.audit,
			 rpc_ctx_peer_id(y->ctx)[0] ? rpc_ctx_peer_id(y->ctx) : "-",
			 "query_answered", details, NULL) != CL_OK) {
		log_event(LOG_LEVEL_ERROR, "audit_failed", "action=query_answered");
		return CL_EAUDIT;
	}
	return CL_OK;
}

/* One chunk of the national's answer: checked, handles mapped back, sent on; nonzero cancels. */
static int regional_relay_message(const uint8_t *msg, size_t len, void *user)
{
	struct regional_relay *y = user;
	Caselink__V1__QueryResponse *r = caselink__v1__query_response__unpack(NULL, len, msg);
	size_t i;
	int rc = 1;

	if (!r || y->last)
		goto out;
	if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_COVERAGE) {
		if (y->coverage || y->rows)
			goto out;
		y->coverage = 1;
	} else if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_ROWS && y->coverage) {
		const Caselink__V1__RowBatch *b = r->rows;

		if (b->n_key_columns)
			y->handles = !strcmp(b->key_columns[0], "handle");
		for (i = 0; i < b->n_rows; i++) {
			Caselink__V1__Row *row = b->rows[i];

			if (y->handles && (!row->n_keys || regional_strip(y, row->keys[0])))
				goto out;
		}
		y->rows += b->n_rows;
	} else if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_CASE_ROWS && y->coverage &&
		   !y->rows && !r->last && r->case_rows) {
		/* M7: the holders' rows sealed to the asking node, and its own handles (the
		 * national stripped the prefixes): relayed unread */
		y->case_rows = 1;
	} else {
		goto out;
	}
	if (r->last) {
		if (regional_up_audit(y) != CL_OK) {
			y->audit_fail = 1;
			rc = 1;
			goto done;
		}
		y->last = 1;
	}
	rc = party_send_response(y->ctx, r) == CL_OK ? 0 : 1;
	goto done;
out:
	y->malformed = 1;
done:
	caselink__v1__query_response__free_unpacked(r, NULL);
	return rc;
}

enum rpc_code regional_cases_up(struct regional *r, struct rpc_ctx *ctx,
				Caselink__V1__QueryRequest *qr, size_t node)
{
	struct regional_relay y;
	struct rpc_status st;
	uint8_t *buf = NULL;
	size_t len;
	int64_t deadline = REGIONAL_UP_DEADLINE_MS, remaining = rpc_ctx_remaining_ms(ctx), margin;
	enum rpc_code code = RPC_OK;
	char msg[RPC_STATUS_MSG_MAX];
	Caselink__V1__CaseAsker asker, *sent_asker;
	int rc;

	if (!r)
		return RPC_INTERNAL;
	if (!r->up || !qr || !qr->header || node >= r->cfg.conf->nnodes)
		return party_refuse(r->cfg.audit, ctx, qr, RPC_INTERNAL,
				    "no national coordinator to ask");
	memset(&y, 0, sizeof(y));
	y.rg = r;
	y.ctx = ctx;
	y.qr = qr;
	y.node = node;
	if (remaining != INT64_MAX) {
		margin = remaining / 10;
		if (margin < REGIONAL_MARGIN_MIN_MS)
			margin = REGIONAL_MARGIN_MIN_MS;
		if (margin > REGIONAL_MARGIN_MAX_MS)
			margin = REGIONAL_MARGIN_MAX_MS;
		deadline = remaining - margin;
		if (deadline < REGIONAL_DEADLINE_MIN_MS)
			deadline = REGIONAL_DEADLINE_MIN_MS;
	}
	/* The asking agency as this regional's configuration names it, for the holding nodes'
	 * case_disclosure policies (never the node's own claim). */
	caselink__v1__case_asker__init(&asker);
	asker.agency_id = (char *)r->cfg.conf->nodes[node].id;
	asker.agency_type = (char *)r->cfg.conf->nodes[node].agency_type;
	asker.municipality = (char *)r->cfg.conf->nodes[node].municipality;
	asker.country = (char *)r->cfg.conf->nodes[node].country;
	sent_asker = qr->case_asker;
	qr->case_asker = &asker;
	/* The node's request as it signed it, under this regional's envelope: it vouches for it. */
	rc = sign_envelope(r->cfg.signer, qr);
	if (rc == CL_OK) {
		len = caselink__v1__query_request__get_packed_size(qr);
		buf = malloc(len ? len : 1);
		if (buf)
			caselink__v1__query_request__pack(qr, buf);
		else
			rc = CL_ENOMEM;
	}
	qr->case_asker = sent_asker;
	if (rc == CL_OK)
		rc = regional_up_put(r, &qr->header->request_id, qr->header->expires_at);
	if (rc != CL_OK)
		free(buf);
	if (rc == CL_ENOMEM)
		return party_refuse(r->cfg.audit, ctx, qr, RPC_INTERNAL, cl_strerror(CL_ENOMEM));
	if (rc == CL_ELIMIT)
		return party_refuse(r->cfg.audit, ctx, qr, RPC_RESOURCE_EXHAUSTED,
				    "too many case requests in flight");
	if (rc != CL_OK)
		return party_refuse(r->cfg.audit, ctx, qr, RPC_INTERNAL,
				    "cannot sign the envelope");
	memset(&st, 0, sizeof(st));
	rc = rpc_call_stream(r->up, RPC_METHOD_COORDINATOR_QUERY, buf, len, deadline,
			     regional_relay_message, &y, NULL, &st);
	/* The national asked its TOKENS back at most once: forget the id either way. */
	regional_up_take(r, &qr->header->request_id);
	if (rc == CL_OK && y.last) {
		log_event(LOG_LEVEL_INFO, "query_answered",
			  "level=regional-up peer=%.64s measure=%.16s rows=%zu",
			  rpc_ctx_peer_id(ctx), qr->measure, y.rows);
		goto out;
	}
	if (y.audit_fail) {
		code = RPC_UNAVAILABLE;
		rpc_ctx_set_message(ctx, "audit unavailable");
	} else if (y.malformed || rc == CL_OK) {
		code = RPC_INTERNAL;
		rpc_ctx_set_message(ctx, "malformed answer from the national coordinator");
	} else if (y.coverage) {
		/* Part of the answer left already: end it with the national's status. */
		code = st.code != RPC_OK ? st.code : RPC_INTERNAL;
		snprintf(msg, sizeof(msg), "national coordinator: %.200s", st.message);
		rpc_ctx_set_message(ctx, msg);
	} else {
		/* Refused or failed before any answer: relayed with the national's message. */
		snprintf(msg, sizeof(msg), "national coordinator: %.200s",
			 st.message[0] ? st.message : cl_strerror(rc));
		code = party_refuse(r->cfg.audit, ctx, qr,
				    st.code != RPC_OK ? st.code : RPC_INTERNAL, msg);
		goto out;
	}
	log_event(LOG_LEVEL_ERROR, "query_failed", "level=regional-up measure=%.16s error=%s",
		  qr->measure, rpc_code_name(code));
out:
	free(buf);
	return code;
}

int regional_cov_lists(const Caselink__V1__Coverage *c, const char *id)
{
	size_t i, n = id ? strlen(id) : 0;

	if (!c || !n)
		return 0;
	for (i = 0; i < c->n_answered + c->n_failed; i++) {
		const char *name =
		    i < c->n_answered ? c->answered[i] : c->failed[i - c->n_answered]->node_id;
		size_t m = name ? strlen(name) : 0;

		if (m >= n && !strcmp(name + m - n, id) && (m == n || name[m - n - 1] == '/'))
			return i < c->n_answered ? 1 : 2;
	}
	return 0;
}

/* The value of attribute key of t, or NULL. */
static const char *regional_attr(const Caselink__V1__TokenRecord *t, const char *key)
{
	size_t i;

	for (i = 0; i < t->n_attributes; i++)
		if (t->attributes[i]->key && !strcmp(t->attributes[i]->key, key))
			return t->attributes[i]->value;
	return NULL;
}

/* A coded attribute value: 1..PARTYCONF_MAX_NAME-1 bytes, no control characters. */
static int regional_is_value(const char *s)
{
	size_t n;

	if (!s)
		return 0;
	for (n = 0; s[n]; n++)
		if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			return 0;
	return n >= 1 && n < PARTYCONF_MAX_NAME;
}

int regional_record_agency(const Caselink__V1__TokenRecord *t, const struct partyconf_node *nd,
			   const char **agency_id, const char **agency_type,
			   const char **municipality)
{
	const char *id, *type, *muni;

	if (!t || !nd || !agency_id || !agency_type || !municipality)
		return CL_EINVAL;
	id = regional_attr(t, REGIONAL_ATTR_AGENCY_ID);
	type = regional_attr(t, REGIONAL_ATTR_AGENCY_TYPE);
	muni = regional_attr(t, REGIONAL_ATTR_MUNICIPALITY);
	if (!id && !type && !muni) {
		if (nd->coordinator)
			return CL_EPROTO;
		*agency_id = nd->id;
		*agency_type = nd->agency_type;
		*municipality = nd->municipality;
		return CL_OK;
	}
	if (!regional_is_name(id, PARTYCONF_MAX_NAME) || strchr(id, '/') ||
	    !regional_is_value(type) || !regional_is_value(muni))
		return CL_EPROTO;
	*agency_id = id;
	*agency_type = type;
	*municipality = muni;
	return CL_OK;
}

struct regional_agency {
	uint32_t node;
	char id[PARTYCONF_MAX_NAME];
};

struct regional_agencies {
	struct regional_agency *items;
	size_t n, max, last;
};

int regional_agencies_new(size_t max, struct regional_agencies **out)
{
	struct regional_agencies *a;

	if (!out || !max)
		return CL_EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return CL_ENOMEM;
	a->items = calloc(max, sizeof(*a->items));
	if (!a->items) {
		free(a);
		return CL_ENOMEM;
	}
	a->max = max;
	*out = a;
	return CL_OK;
}

void regional_agencies_free(struct regional_agencies *a)
{
	if (!a)
		return;
	free(a->items);
	free(a);
}

int regional_agencies_index(struct regional_agencies *a, uint32_t node, const char *agency_id,
			    uint32_t *out)
{
	size_t i;

	if (!a || !agency_id || !out || strlen(agency_id) >= PARTYCONF_MAX_NAME)
		return CL_EINVAL;
	/* Records come node by node, agency by agency: the last one nearly always matches. */
	if (a->last < a->n && a->items[a->last].node == node &&
	    !strcmp(a->items[a->last].id, agency_id)) {
		*out = (uint32_t)a->last;
		return CL_OK;
	}
	for (i = 0; i < a->n; i++)
		if (a->items[i].node == node && !strcmp(a->items[i].id, agency_id))
			break;
	if (i == a->n) {
		if (a->n == a->max)
			return CL_ELIMIT;
		a->items[i].node = node;
		memcpy(a->items[i].id, agency_id, strlen(agency_id) + 1);
		a->n++;
	}
	a->last = i;
	*out = (uint32_t)i;
	return CL_OK;
}
