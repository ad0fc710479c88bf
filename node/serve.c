#include "node/serve.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "common/audit.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/partyconf.h"
#include "common/replay.h"
#include "node/disclose.h"
#include "node/encode_query.h"
#include "node/query.h"
#include "node/shares.h"
#include "node/store.h"
#include "policies/policy_query.h"
#include "protocol/party.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"
#include "protocol/sign.h"

#define NODE_SERVE_DRAIN_MS	  5000
#define NODE_SERVE_DISCLOSED_FILE "disclosed.db" /* DISCLOSE query nonces already answered */
#define NODE_SERVE_NONCE_KEEP                                                                      \
	86400 /* seconds a query nonce is kept beyond its request's expiry                         \
	       */

struct node_server {
	const char *data_dir;
	struct partyconf *conf;
	struct node_store_meta meta;
	struct node_query_cache *cache;
	struct node_encq_cache *encq;	/* persons and events of TOKENS answers, per generation */
	struct sign_verifier *verifier; /* federation CA and CRL for request signatures */
	struct replay *replay;		/* request ids already answered */
	struct replay *nonces;		/* query nonces of TOKENS-mode requests already used */
	struct replay *disclosed;	/* query nonces of DISCLOSE requests already answered */
	struct audit *audit;		/* DIR/audit.db: every question, answer and refusal */
	struct policy *policy;		/* this node's own policy; NULL only in an insecure demo */
	struct policy_rate *rate;	/* its rate limits, for the process lifetime */
	const char *ca_pem;		/* the federation CA (PEM); NULL in an insecure demo */
};

/* A coordinator may ask only when its certificate name is in the configuration. */
static int node_serve_peer_allowed(const struct node_server *ns, struct rpc_ctx *ctx)
{
	const char *peer = rpc_ctx_peer_id(ctx);
	size_t i;

	if (ns->conf->insecure_demo)
		return 1;
	for (i = 0; i < ns->conf->ncoordinators; i++)
		if (!strcmp(ns->conf->coordinators[i], peer))
			return 1;
	return 0;
}

/* Refuses a call: status message, log line and audit entry (party_refuse). */
static enum rpc_code node_serve_refuse(struct node_server *ns, struct rpc_ctx *ctx,
				       const Caselink__V1__QueryRequest *q, enum rpc_code code,
				       const char *why)
{
	return party_refuse(ns->audit, ctx, q, code, why);
}

static enum rpc_code node_serve_status(struct rpc_ctx *ctx, const uint8_t *req, size_t len,
				       void *user)
{
	struct node_server *ns = user;
	const char *why = NULL;
	enum rpc_code code = party_status_reply(ctx, req, len, ns->meta.agency_id, "node", 0, &why);

	return code != RPC_OK && why ? node_serve_refuse(ns, ctx, NULL, code, why) : code;
}

/* Parses a "YYYY-MM-DD" period bound into epoch seconds. */
static int node_serve_date(const char *s, int64_t *out)
{
	const char *why = NULL;

	if (!s || strlen(s) != 10)
		return CL_EINVAL;
	return cldate_parse_time(s, out, &why) == CL_OK ? CL_OK : CL_EINVAL;
}

struct node_serve_emit {
	struct party_rows *rows;
	size_t count;
};

static int node_serve_row(void *ud, const char *const *keys, size_t nkeys, int64_t count)
{
	struct node_serve_emit *e = ud;

	(void)nkeys;
	e->count++;
	return party_rows_add(e->rows, keys, &count);
}

/* Streams a TOKENS-mode answer's batches as QueryResponse chunks; audits before the last. */
struct node_serve_tokens_emit {
	struct node_server *ns;
	struct rpc_ctx *ctx;
	const Caselink__V1__QueryRequest *qr;
	int64_t from, to;
	size_t records, events, sent; /* sent: records of the chunks already sent */
	struct node_shares *shares;   /* secure computation: no events leave, shares do */
	int no_events;		      /* M7: linkage material only; the rows go sealed in phase 2 */
};

/*
 * Secure computation: a copy of batch whose records carry their slot counts and no event
 * (recs and ptrs hold batch->n_records entries); the events go into e->shares.
 */
static int node_serve_strip(struct node_serve_tokens_emit *e, const Caselink__V1__TokenBatch *batch,
			    Caselink__V1__TokenBatch *copy, Caselink__V1__TokenRecord *recs,
			    Caselink__V1__TokenRecord **ptrs)
{
	*copy = *batch;
	copy->records = ptrs;
	for (size_t i = 0; i < batch->n_records; i++) {
		int rc;

		recs[i] = *batch->records[i];
		rc = node_shares_add(e->shares, batch->records[i], &recs[i].slots);
		if (rc != CL_OK)
			return rc;
		recs[i].n_events = 0;
		recs[i].events = NULL;
		ptrs[i] = &recs[i];
	}
	return CL_OK;
}

/* Secure computation: the final chunk, the answer's ShareUpload. */
static int node_serve_send_shares(struct node_serve_tokens_emit *e)
{
	Caselink__V1__QueryResponse resp = CASELINK__V1__QUERY_RESPONSE__INIT;
	Caselink__V1__ShareUpload up;
	int rc = node_shares_finish(e->shares, &up);

	if (rc != CL_OK)
		return rc;
	resp.schema_version = CASELINK_SCHEMA_VERSION;
	resp.request_id = e->qr->header->request_id;
	resp.chunk_case = CASELINK__V1__QUERY_RESPONSE__CHUNK_SHARES;
	resp.shares = &up;
	resp.last = 1;
	rc = party_send_response(e->ctx, &resp);
	node_shares_upload_free(&up);
	return rc;
}

static int node_serve_tokens_send(struct node_serve_tokens_emit *e,
				  const Caselink__V1__TokenBatch *batch, int last);

/*
 * M7 (docs/privacy.md "Case answers"): the records without their events — the coordinator
 * links, and each holder seals its granted records' rows to the asking node in phase 2.
 */
static int node_serve_tokens_batch(void *ud, const Caselink__V1__TokenBatch *batch, int last)
{
	struct node_serve_tokens_emit *e = ud;
	Caselink__V1__TokenRecord *copy = NULL, **ptrs = NULL;
	Caselink__V1__TokenBatch stripped;
	size_t i, n = batch->n_records;
	int rc;

	if (!e->no_events || !n)
		return node_serve_tokens_send(e, batch, last);
	copy = malloc(n * sizeof(*copy));
	ptrs = malloc(n * sizeof(*ptrs));
	if (!copy || !ptrs) {
		free(copy);
		free(ptrs);
		return CL_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		copy[i] = *batch->records[i];
		copy[i].n_events = 0;
		copy[i].events = NULL;
		ptrs[i] = &copy[i];
	}
	stripped = *batch;
	stripped.records = ptrs;
	rc = node_serve_tokens_send(e, &stripped, last);
	free(copy);
	free(ptrs);
	return rc;
}

static int node_serve_tokens_send(struct node_serve_tokens_emit *e,
				  const Caselink__V1__TokenBatch *batch, int last)
{
	Caselink__V1__QueryResponse resp = CASELINK__V1__QUERY_RESPONSE__INIT;
	Caselink__V1__TokenBatch stripped;
	Caselink__V1__TokenRecord *recs = NULL, **ptrs = NULL;
	size_t i;
	int rc;

	if (e->shares) {
		recs = calloc(batch->n_records ? batch->n_records : 1, sizeof(*recs));
		ptrs = calloc(batch->n_records ? batch->n_records : 1, sizeof(*ptrs));
		rc = recs && ptrs ? node_serve_strip(e, batch, &stripped, recs, ptrs) : CL_ENOMEM;
		if (rc != CL_OK) {
			free(recs);
			free(ptrs);
			return rc;
		}
	}
	e->records += batch->n_records;
	for (i = 0; i < batch->n_records; i++)
		e->events += batch->records[i]->n_events;
	if (last) {
		/* Recorded before the final chunk leaves: no answer without its audit entry. */
		char details[AUDIT_DETAILS_MAX], text[AUDIT_DETAILS_MAX - 200], nh[17], d1[24],
		    d2[24];
		uint8_t digest[SHA256_DIGEST_LENGTH];

		SHA256(e->qr->query_nonce.data, e->qr->query_nonce.len, digest);
		for (i = 0; i < 8; i++)
			snprintf(nh + 2 * i, 3, "%02x", digest[i]);
		cldate_format_time(e->from, d1);
		cldate_format_time(e->to, d2);
		party_audit_request(e->qr, text, sizeof(text));
		snprintf(
		    details, sizeof(details),
		    "mode=%s records=%zu events=%zu window=%.10s..%.10s nonce_sha256=%s %s",
		    e->shares ? "shares" : "tokens", e->records, e->events, d1, d2, nh, text);
		rc = audit_append(e->ns->audit,
				  rpc_ctx_peer_id(e->ctx)[0] ? rpc_ctx_peer_id(e->ctx) : "-",
				  "query_answered", details, NULL);
		if (rc != CL_OK) {
			log_event(LOG_LEVEL_ERROR, "audit_failed", "action=query_answered");
			free(recs);
			free(ptrs);
			return CL_EAUDIT;
		}
	}
	resp.schema_version = CASELINK_SCHEMA_VERSION;
	resp.request_id = e->qr->header->request_id;
	resp.chunk_case = CASELINK__V1__QUERY_RESPONSE__CHUNK_TOKENS;
	resp.tokens = e->shares ? &stripped : (Caselink__V1__TokenBatch *)batch;
	resp.last = last && !e->shares ? 1 : 0;
	rc = party_send_response(e->ctx, &resp);
	if (rc == CL_OK)
		e->sent += batch->n_records;
	if (rc == CL_OK && last && e->shares)
		rc = node_serve_send_shares(e);
	free(recs);
	free(ptrs);
	return rc;
}

/* Reads a window bound parameter, or the period's bound when it is absent. */
/*
 * A TOKENS window bound: the requester's (signed) parameter when given, else
 * the period's bound moved by shift_days. The default window is [from − 3 days,
 * to + 31 days): an episode chains up to 72 h back across the start, and
 * referrals (M3) and support (M4) are followed 30 days past the end.
 */
static int node_serve_window(const Caselink__V1__QueryRequest *qr, const char *key,
			     const char *dflt, int shift_days, int64_t *out)
{
	size_t i;
	int rc;

	for (i = 0; i < qr->n_parameters; i++)
		if (qr->parameters[i]->key && !strcmp(qr->parameters[i]->key, key))
			return node_serve_date(qr->parameters[i]->value, out);
	rc = node_serve_date(dflt, out);
	if (rc == CL_OK)
		*out += (int64_t)shift_days * 86400;
	return rc;
}

/*
 * Secure computation (docs/secure-computation.md): the answer carries no event; the
 * measure's minimised columns go as shares sealed to the request's two computing parties,
 * whose certificates are checked against the federation CA first.
 */
static enum rpc_code node_serve_shares_start(struct node_server *ns, struct rpc_ctx *ctx,
					     const Caselink__V1__QueryRequest *qr, int cases,
					     struct node_serve_tokens_emit *e)
{
	char reason[160], *ca = NULL;
	int64_t from, to;
	size_t len = 0;
	int rc;

	if (cases)
		return node_serve_refuse(ns, ctx, qr, RPC_INVALID_ARGUMENT,
					 "case measures are not computed by computing parties");
	if (node_serve_date(qr->period_from, &from) != CL_OK ||
	    node_serve_date(qr->period_to, &to) != CL_OK)
		return node_serve_refuse(ns, ctx, qr, RPC_INVALID_ARGUMENT,
					 "period must be YYYY-MM-DD");
	rc = pki_read_file(ns->conf->tls_ca, PKI_PEM_MAX, &ca, &len);
	if (rc != CL_OK)
		return node_serve_refuse(ns, ctx, qr, RPC_UNAVAILABLE, "federation CA unreadable");
	rc = node_shares_new(qr, ca, e->from, from, to, ns->meta.municipality, &e->shares, reason);
	free(ca);
	if (rc != CL_OK)
		return node_serve_refuse(ns, ctx, qr, party_error_to_code(rc),
					 reason[0] ? reason : cl_strerror(rc));
	return RPC_OK;
}

/*
 * QUERY_MODE_TOKENS: per-query tokens for linkage (node/encode_query.h), once per nonce, only
 * from a token cache filled for the current data.
 */
static enum rpc_code node_serve_tokens(struct node_server *ns, struct rpc_ctx *ctx,
				       const Caselink__V1__QueryRequest *qr)
{
	struct node_serve_tokens_emit e;
	struct node_store *store = NULL;
	struct node_encq_summary sum;
	enum rpc_code code = RPC_OK;
	const Caselink__V1__Identity *who = qr->header->requester;
	uint8_t own[ENC_NONCE_LEN];
	const uint8_t *hnonce = qr->query_nonce.data;
	/* M7/M8 (coordinator/cases.h): the window is the period itself, all history to as-of */
	int cases = !strcmp(qr->measure, "M7") || !strcmp(qr->measure, "case_history") ||
		    !strcmp(qr->measure, "M8") || !strcmp(qr->measure, "high_risk_alerts");
	int64_t keep;
	int rc;

	memset(&e, 0, sizeof(e));
	e.ns = ns;
	e.ctx = ctx;
	e.qr = qr;
	e.no_events = !strcmp(qr->measure, "M7") || !strcmp(qr->measure, "case_history");
	if (qr->query_nonce.len != ENC_NONCE_LEN)
		return node_serve_refuse(ns, ctx, qr, RPC_INVALID_ARGUMENT,
					 "query_nonce must be 32 bytes");
	if (node_serve_window(qr, "window_from", qr->period_from, cases ? 0 : -3, &e.from) !=
		CL_OK ||
	    node_serve_window(qr, "window_to", qr->period_to, cases ? 0 : 31, &e.to) != CL_OK ||
	    e.from >= e.to)
		return node_serve_refuse(ns, ctx, qr, RPC_INVALID_ARGUMENT,
					 "window must be YYYY-MM-DD with from before to");
	/* M7/M8: every record with any event counts as a holder (measures.md M8), so records
	 * whose events all come after the as-of date are sent too; the coordinator's engine
	 * discards events after the as-of date (coordinator/cases.h) */
	if (cases)
		e.to = cldate_days_from_civil(9999, 12, 31) * 86400;
	/* A case measure this node asked itself (signed by it): the handles of its own records
	 * are made from the request id, so that its CLI can find the subject and resolve alerts */
	if (cases && who && who->id && who->role && !strcmp(who->role, "node") &&
	    !strcmp(who->id, ns->meta.agency_id)) {
		if (node_encq_own_nonce(qr->header->request_id.data, qr->header->request_id.len,
					own) != CL_OK)
			return node_serve_refuse(ns, ctx, qr, RPC_INVALID_ARGUMENT,
						 "request id unusable for own handles");
		hnonce = own;
	}
	if (__builtin_add_overflow(qr->header->expires_at, (int64_t)NODE_SERVE_NONCE_KEEP, &keep))
		keep = INT64_MAX;
	rc = replay_check(ns->nonces, qr->query_nonce.data, qr->query_nonce.len, keep,
			  (int64_t)time(NULL));
	if (rc != CL_OK) {
		const char *why = NULL;

		code = party_replay_refusal(rc, &why);
		return node_serve_refuse(ns, ctx, qr, code,
					 rc == CL_EREPLAY ? "nonce already used"
					 : rc == CL_EBUSY ? "nonce cache full"
							  : "nonce cache unavailable");
	}
	if (qr->n_compute_parties > 0) {
		code = node_serve_shares_start(ns, ctx, qr, cases, &e);
		if (code != RPC_OK)
			goto out;
	}
	rc = node_store_open(ns->data_dir, &store);
	if (rc != CL_OK) {
		log_event(LOG_LEVEL_ERROR, "store_open", "error=%s", cl_errname(rc));
		code = node_serve_refuse(ns, ctx, qr, RPC_UNAVAILABLE, "store unavailable");
		goto out;
	}
	rc = node_encq_run_cached(store, ns->encq, qr->query_nonce.data, hnonce, e.from, e.to,
				  node_serve_tokens_batch, &e, &sum);
	if (rc != CL_OK && e.sent) {
		/* records left before the answer failed: the audit says how many */
		char details[AUDIT_DETAILS_MAX], text[AUDIT_DETAILS_MAX - 100];

		party_audit_request(qr, text, sizeof(text));
		snprintf(details, sizeof(details), "mode=tokens records_sent=%zu error=%s %s",
			 e.sent, cl_errname(rc), text);
		if (audit_append(ns->audit, rpc_ctx_peer_id(ctx)[0] ? rpc_ctx_peer_id(ctx) : "-",
				 "query_failed", details, NULL) != CL_OK)
			log_event(LOG_LEVEL_ERROR, "audit_failed", "action=query_failed");
	}
	if (rc == CL_ESTALE) {
		code = node_serve_refuse(ns, ctx, qr, RPC_FAILED_PRECONDITION,
					 "token cache not filled; run caselink-node tokens");
		goto out;
	}
	if (rc != CL_OK) {
		code = party_error_to_code(rc);
		rpc_ctx_set_message(ctx, rc == CL_EAUDIT ? "audit unavailable" : cl_strerror(rc));
		log_event(LOG_LEVEL_ERROR, "query_failed", "mode=tokens error=%s", cl_errname(rc));
		goto out;
	}
	log_event(LOG_LEVEL_INFO, "query_answered",
		  "peer=%.64s mode=tokens records=%zu events=%zu batches=%zu epoch=%u",
		  rpc_ctx_peer_id(ctx), sum.records, sum.events, sum.batches, sum.key_epoch);
out:
	node_shares_free(e.shares);
	node_store_close(store);
	return code;
}

/*
 * QUERY_MODE_DISCLOSE: phase 2 of another agency's case answer (node/disclose.h): which of this
 * node's linked records may go in, under its own case_disclosure policy, each one audited.
 */
static enum rpc_code node_serve_disclose(struct node_server *ns, struct rpc_ctx *ctx,
					 const Caselink__V1__QueryRequest *qr)
{
	Caselink__V1__QueryResponse resp = CASELINK__V1__QUERY_RESPONSE__INIT;
	Caselink__V1__CaseGrant grant = CASELINK__V1__CASE_GRANT__INIT;
	struct node_disclose_env env;
	struct node_store *store = NULL;
	enum rpc_code code = RPC_OK;
	const char *why = NULL;
	size_t i, withheld = 0;
	int rc;

	rc = node_store_open(ns->data_dir, &store);
	if (rc != CL_OK) {
		log_event(LOG_LEVEL_ERROR, "store_open", "error=%s", cl_errname(rc));
		return node_serve_refuse(ns, ctx, qr, RPC_UNAVAILABLE, "store unavailable");
	}
	env.store = store;
	env.audit = ns->audit;
	env.policy = ns->policy;
	env.meta = &ns->meta;
	env.peer = rpc_ctx_peer_id(ctx);
	env.ca_pem = ns->ca_pem;
	rc = node_disclose_decide(&env, qr, &grant, &why);
	if (rc == CL_EINVAL) {
		code = node_serve_refuse(ns, ctx, qr, RPC_INVALID_ARGUMENT, why);
		goto out;
	}
	if (rc != CL_OK) {
		code = party_error_to_code(rc);
		rpc_ctx_set_message(ctx, rc == CL_EAUDIT ? "audit unavailable" : cl_strerror(rc));
		log_event(LOG_LEVEL_ERROR, "disclose_failed", "error=%s", cl_errname(rc));
		goto out;
	}
	for (i = 0; i < grant.n_withheld; i++)
		withheld += grant.withheld[i]->records;
	resp.schema_version = CASELINK_SCHEMA_VERSION;
	resp.request_id = qr->header->request_id;
	resp.chunk_case = CASELINK__V1__QUERY_RESPONSE__CHUNK_GRANT;
	resp.grant = &grant;
	resp.last = 1;
	rc = party_send_response(ctx, &resp);
	if (rc != CL_OK) {
		code = party_error_to_code(rc);
		goto out;
	}
	log_event(LOG_LEVEL_INFO, "case_disclosure",
		  "peer=%.64s asker=%.64s measure=%.16s asked=%zu granted=%zu withheld=%zu",
		  env.peer, qr->case_asker ? qr->case_asker->agency_id : "-", qr->measure,
		  qr->n_case_handles, grant.n_granted, withheld);
out:
	node_disclose_grant_free(&grant);
	node_store_close(store);
	return code;
}

static enum rpc_code node_serve_query(struct rpc_ctx *ctx, const uint8_t *req, size_t len,
				      void *user)
{
	static const char *const value_cols[] = {"incident_events"};
	struct node_server *ns = user;
	Caselink__V1__QueryRequest *qr = NULL;
	struct node_store *store = NULL;
	struct node_serve_emit emit = {NULL, 0};
	const char *names[NODE_QUERY_MAX_KEYS], *why = NULL;
	int64_t from = 0, to = 0;
	unsigned by = 0, one;
	enum rpc_code code = RPC_OK;
	size_t i, nkeys;
	int rc, disclose;

	if (!node_serve_peer_allowed(ns, ctx))
		return node_serve_refuse(ns, ctx, NULL, RPC_PERMISSION_DENIED,
					 "peer is not a coordinator of this node");
	qr = caselink__v1__query_request__unpack(NULL, len, req);
	if (!qr)
		return node_serve_refuse(ns, ctx, NULL, RPC_INVALID_ARGUMENT,
					 "malformed QueryRequest");
	disclose = qr->mode == CASELINK__V1__QUERY_MODE__QUERY_MODE_DISCLOSE;
	if (disclose && qr->query_nonce.len != ENC_NONCE_LEN) {
		code = node_serve_refuse(ns, ctx, qr, RPC_INVALID_ARGUMENT,
					 "query_nonce must be 32 bytes");
		goto out;
	}
	rc = party_header_check_max(qr->header, (int64_t)time(NULL), ns->conf->max_request_validity,
				    &why);
	if (rc != CL_OK) {
		code = node_serve_refuse(ns, ctx, qr, party_error_to_code(rc), why);
		goto out;
	}
	/*
	 * Whatever the coordinator says: the envelope must be signed by the
	 * coordinator on this connection, the question by its requester, once.
	 */
	if (!ns->conf->insecure_demo) {
		char reason[SIGN_REASON_MAX];

		rc = sign_verify_forwarded(ns->verifier, qr, rpc_ctx_peer_id(ctx), reason);
		if (rc != CL_OK) {
			code = node_serve_refuse(ns, ctx, qr, RPC_UNAUTHENTICATED, reason);
			goto out;
		}
	}
	/* A DISCLOSE request is phase 2 of a case query this node answered: same request id,
	 * once per query nonce. */
	if (disclose)
		rc = replay_check(ns->disclosed, qr->query_nonce.data, qr->query_nonce.len,
				  qr->header->expires_at, (int64_t)time(NULL));
	else
		rc = replay_check(ns->replay, qr->header->request_id.data,
				  qr->header->request_id.len, qr->header->expires_at,
				  (int64_t)time(NULL));
	if (rc != CL_OK) {
		code = party_replay_refusal(rc, &why);
		code = node_serve_refuse(ns, ctx, qr, code, why);
		goto out;
	}
	/*
	 * This node's own policy, on the original (signed) requester, whatever
	 * the coordinator decided: the refusal is coded "policy:<rule> (file)".
	 */
	{
		struct policy_decision decision;
		char coded[POLICY_QUERY_REASON_MAX];

		struct policy_rate *once = NULL;

		/* phase 2 is not counted again against the request's rate */
		if (disclose && policy_rate_new(&once) != CL_OK) {
			code = node_serve_refuse(ns, ctx, qr, RPC_INTERNAL, "out of memory");
			goto out;
		}
		rc = policy_query_check(ns->policy, disclose ? once : ns->rate, qr,
					(int64_t)time(NULL), &decision, &why);
		policy_rate_free(once);
		if (rc == CL_EINVAL) {
			code = node_serve_refuse(ns, ctx, qr, RPC_INVALID_ARGUMENT, why);
			goto out;
		}
		if (rc == CL_EDENIED || rc == CL_EQUOTA) {
			policy_query_reason(ns->policy, &decision, coded, sizeof(coded));
			code = node_serve_refuse(ns, ctx, qr, party_error_to_code(rc), coded);
			goto out;
		}
		if (rc != CL_OK) {
			code = node_serve_refuse(ns, ctx, qr, RPC_INTERNAL, "policy check failed");
			goto out;
		}
	}
	if (qr->mode == CASELINK__V1__QUERY_MODE__QUERY_MODE_TOKENS) {
		code = node_serve_tokens(ns, ctx, qr);
		goto out;
	}
	if (disclose) {
		code = node_serve_disclose(ns, ctx, qr);
		goto out;
	}
	if (strcmp(qr->measure, "incident_events") != 0) {
		code = node_serve_refuse(ns, ctx, qr, RPC_UNIMPLEMENTED, "unknown measure");
		goto out;
	}
	if (node_serve_date(qr->period_from, &from) != CL_OK ||
	    node_serve_date(qr->period_to, &to) != CL_OK || from >= to) {
		code = node_serve_refuse(ns, ctx, qr, RPC_INVALID_ARGUMENT,
					 "period must be YYYY-MM-DD with from before to");
		goto out;
	}
	for (i = 0; i < qr->n_group_by; i++) {
		if (node_query_parse_by(qr->group_by[i], &one) != CL_OK) {
			code = node_serve_refuse(ns, ctx, qr, RPC_INVALID_ARGUMENT,
						 "unknown grouping");
			goto out;
		}
		by |= one;
	}
	one = by & (NODE_QUERY_BY_QUARTER | NODE_QUERY_BY_MONTH | NODE_QUERY_BY_YEAR);
	if (one & (one - 1)) {
		code = node_serve_refuse(ns, ctx, qr, RPC_INVALID_ARGUMENT,
					 "more than one time grouping");
		goto out;
	}
	nkeys = node_query_by_names(by, names);
	rc = node_store_open(ns->data_dir, &store);
	if (rc != CL_OK) {
		log_event(LOG_LEVEL_ERROR, "store_open", "error=%s", cl_errname(rc));
		code = node_serve_refuse(ns, ctx, qr, RPC_UNAVAILABLE, "store unavailable");
		goto out;
	}
	rc = party_rows_new(ctx, &qr->header->request_id, names, nkeys, value_cols, 1, &emit.rows);
	if (rc == CL_OK)
		rc = node_query_incident_events(store, ns->cache, from, to, by, node_serve_row,
						&emit);
	if (rc == CL_OK) {
		/* Recorded before the final chunk leaves: no answer without its audit entry. */
		char details[AUDIT_DETAILS_MAX], text[AUDIT_DETAILS_MAX - 64];

		party_audit_request(qr, text, sizeof(text));
		snprintf(details, sizeof(details), "rows=%zu %s", emit.count, text);
		rc = audit_append(ns->audit, rpc_ctx_peer_id(ctx)[0] ? rpc_ctx_peer_id(ctx) : "-",
				  "query_answered", details, NULL);
		if (rc != CL_OK) {
			code = RPC_UNAVAILABLE;
			rpc_ctx_set_message(ctx, "audit unavailable");
			log_event(LOG_LEVEL_ERROR, "audit_failed", "action=query_answered");
			goto out;
		}
	}
	if (rc == CL_OK)
		rc = party_rows_finish(emit.rows);
	if (rc != CL_OK) {
		code = party_error_to_code(rc);
		rpc_ctx_set_message(ctx, cl_strerror(rc));
		log_event(LOG_LEVEL_ERROR, "query_failed", "measure=incident_events error=%s",
			  cl_errname(rc));
		goto out;
	}
	log_event(LOG_LEVEL_INFO, "query_answered", "peer=%.64s measure=incident_events rows=%zu",
		  rpc_ctx_peer_id(ctx), emit.count);
out:
	party_rows_free(emit.rows);
	node_store_close(store);
	caselink__v1__query_request__free_unpacked(qr, NULL);
	return code;
}

int node_serve_audit_verify(int argc, char **argv)
{
	return audit_verify_main("caselink-node", "audit.db", argc, argv);
}

int node_serve_main(int argc, char **argv)
{
	const char *data = NULL, *config = NULL, *ready = NULL;
	struct node_server ns;
	struct party_tls *tls = NULL;
	struct rpc_server *srv = NULL;
	struct rpc_server_config sc;
	struct node_store *store = NULL;
	char err[512] = "";
	struct daemon_opts opts;
	int foreground = 0, port = 0, signo = 0, rc;

	memset(&ns, 0, sizeof(ns));
	rc = daemon_parse("caselink-node", argc, argv, &opts);
	if (rc != CL_OK)
		return rc;
	data = opts.data;
	config = opts.config;
	ready = opts.ready;
	foreground = opts.foreground;
	log_init("node", LOG_LEVEL_INFO);
	/* detached first: the memory lock of the keys is not inherited across fork */
	if (!foreground) {
		rc = daemon_detach();
		if (rc != CL_OK)
			return rc;
	}
	rc = daemon_protect();
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-node serve: memory protection: %s\n", cl_strerror(rc));
		return rc;
	}
	rc = partyconf_load(config, PARTYCONF_NODE, &ns.conf, err, sizeof(err));
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-node serve: %s\n", *err ? err : cl_strerror(rc));
		goto out;
	}
	ns.data_dir = data;
	rc = node_query_cache_new(&ns.cache);
	if (rc == CL_OK)
		rc = node_encq_cache_new(&ns.encq);
	if (rc != CL_OK)
		goto out;
	rc = node_store_open(data, &store);
	if (rc == CL_OK)
		rc = node_store_get_meta(store, &ns.meta);
	/* the TOKENS answers' copy of persons and events, before the first query needs it */
	if (rc == CL_OK && node_encq_cache_warm(store, ns.encq) != CL_OK)
		log_event(LOG_LEVEL_INFO, "encq_cache_cold", "reason=%s",
			  "not built at start (e.g. token cache not filled)");
	node_store_close(store);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-node serve: store %s: %s\n", data, cl_strerror(rc));
		goto out;
	}
	if (!ns.conf->insecure_demo) {
		rc = party_tls_load(ns.conf->tls_ca, ns.conf->tls_cert, ns.conf->tls_key,
				    ns.conf->tls_crl, &tls, err, sizeof(err));
		if (rc == CL_OK) {
			struct rpc_tls t;

			party_tls_fill(tls, &t);
			rc = sign_verifier_new(t.ca_pem, t.crl_pem, &ns.verifier);
			ns.ca_pem = t.ca_pem; /* M7 rows are sealed to certificates it issued */
		}
		if (rc != CL_OK) {
			fprintf(stderr, "caselink-node serve: %s\n", *err ? err : cl_strerror(rc));
			goto out;
		}
	}
	if (ns.conf->policy[0]) {
		rc = policy_query_open(ns.conf->policy, POLICY_SCOPE_NODE, &ns.policy, err,
				       sizeof(err));
		if (rc != CL_OK) {
			fprintf(stderr, "caselink-node serve: policy: %s\n",
				*err ? err : cl_strerror(rc));
			goto out;
		}
	} else {
		log_event(LOG_LEVEL_WARN, "policy_absent",
			  "INSECURE DEMO WITHOUT A POLICY: every query of every requester is "
			  "answered");
	}
	rc = policy_rate_new(&ns.rate);
	if (rc != CL_OK)
		goto out;
	/* Persistent: a restarted node still refuses what it answered (docs/protocol.md). */
	rc =
	    replay_open_in(data, REPLAY_FILE, 0, (int64_t)time(NULL), &ns.replay, err, sizeof(err));
	if (rc == CL_OK)
		rc = replay_open_in(data, REPLAY_NONCE_FILE, 0, (int64_t)time(NULL), &ns.nonces,
				    err, sizeof(err));
	if (rc == CL_OK) /* phase-2 (DISCLOSE) query nonces, kept across restarts too */
		rc = replay_open_in(data, NODE_SERVE_DISCLOSED_FILE, 0, (int64_t)time(NULL),
				    &ns.disclosed, err, sizeof(err));
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-node serve: %s\n", *err ? err : cl_strerror(rc));
		goto out;
	}
	rc = audit_open_in(data, "audit.db", AUDIT_OPEN_CREATE, &ns.audit);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-node serve: audit log in %s: %s\n", data,
			cl_strerror(rc));
		goto out;
	}
	rc = rpc_signals_block();
	if (rc != CL_OK)
		goto out;
	memset(&sc, 0, sizeof(sc));
	sc.listen_addr = ns.conf->listen;
	sc.insecure_demo = ns.conf->insecure_demo;
	party_tls_fill(tls, &sc.tls);
	rc = rpc_server_new(&sc, &srv);
	if (rc == CL_OK)
		rc = rpc_server_add_method(srv, RPC_METHOD_NODE_STATUS, RPC_UNARY,
					   RPC_ROLE_COORDINATOR, node_serve_status, &ns);
	if (rc == CL_OK)
		rc = rpc_server_add_method(srv, RPC_METHOD_NODE_QUERY, RPC_SERVER_STREAMING,
					   RPC_ROLE_COORDINATOR, node_serve_query, &ns);
	if (rc == CL_OK)
		rc = rpc_server_start(srv, &port);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-node serve: cannot serve on %s: %s\n", ns.conf->listen,
			cl_strerror(rc));
		goto out;
	}
	log_event(LOG_LEVEL_INFO, "serve_start", "agency=%s listen=%s port=%d tls=%s policy=%s",
		  ns.meta.agency_id, ns.conf->listen, port,
		  ns.conf->insecure_demo ? "off-INSECURE-DEMO" : "mutual",
		  ns.policy ? policy_name(ns.policy) : "NONE-INSECURE-DEMO");
	rc = daemon_ready(ready, ns.conf->listen, port);
	if (rc == CL_OK)
		rc = rpc_server_wait_signal(srv, NODE_SERVE_DRAIN_MS, &signo);
	log_event(LOG_LEVEL_INFO, "serve_stop", "signal=%d", signo);
out:
	rpc_server_free(srv);
	party_tls_free(tls);
	partyconf_free(ns.conf);
	node_query_cache_free(ns.cache);
	node_encq_cache_free(ns.encq);
	sign_verifier_free(ns.verifier);
	replay_free(ns.replay);
	replay_free(ns.nonces);
	replay_free(ns.disclosed);
	audit_close(ns.audit);
	policy_free(ns.policy);
	policy_rate_free(ns.rate);
	return rc;
}
