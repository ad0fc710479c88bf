#include "coordinator/serve.h"
#include "coordinator/linker.h"
#include "coordinator/measures.h"
#include "coordinator/regional.h"
#include "coordinator/release.h"
#include "coordinator/cases.h"
#include "coordinator/cases_answer.h"
#include "compute/mpc_rpc.h"
#include "coordinator/secure.h"
#include "coordinator/tokset.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cl_error.h"
#include "common/audit.h"
#include "common/cldate.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/partyconf.h"
#include "common/replay.h"
#include "common/aggregate.h"
#include "policies/policy_query.h"
#include "protocol/party.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"
#include "protocol/sign.h"

#include <openssl/rand.h>

#define COORD_DRAIN_MS	     5000
#define COORD_DISCLOSED_FILE "disclosed.db" /* a regional's DISCLOSE query nonces relayed */
#define COORD_BACKOFF_MS     200
#define COORD_MAX_GROUPBY    5

struct coord {
	struct partyconf *conf;
	struct party_tls *tls;
	struct rpc_channel **channels; /* one per configured node */
	char self_id[RPC_PEER_ID_MAX];
	struct sign_key *signer;	/* signs the envelopes forwarded to nodes */
	struct sign_verifier *verifier; /* checks requesters' signatures */
	struct replay *replay;		/* request ids already accepted */
	struct replay *disclosed;	/* a regional's DISCLOSE query nonces already relayed */
	struct audit *audit;		/* DATA/audit.db: every question, answer and refusal */
	struct regional *regional;	/* Node.Query for `upstream:` coordinators, or NULL */
	struct ledger *ledger;		/* DATA/ledger.db: ε budgets, researchers' populations */
	struct policy *policy;		/* federation policy; NULL only in an insecure demo */
	struct policy_rate *rate;	/* the policy's rate limits, for the process lifetime */
	struct secure *secure;		/* party 0 of the secure computation, or NULL */
};

#define COORD_MAX_RECORDS_NODE (1u << 22) /* token records one node may send per query */
#define COORD_MAX_RECORDS      (1u << 25) /* token records of one query, all nodes */
#define COORD_LINK_THREADS_MAX 8	  /* linker threads of one query */
#define COORD_RECV_WORKERS     2	  /* threads unpacking TOKENS chunks during a fan-out */
#define COORD_RECV_QUEUED_MAX  ((size_t)64 << 20) /* bytes received but not yet unpacked */

struct coord_recv;

/*
 * One node's part of a fan-out, used only once the node's whole answer has
 * arrived: an aggregate answer is summed into its own partial table; a
 * TOKENS answer's records are copied into a compact set (coordinator/tokset.h)
 * as each chunk arrives, and the chunk is freed at once.
 */
struct coord_call {
	struct agg *partial;
	size_t nkeys;
	int malformed; /* set by the receiving thread: read with __atomic during a fan-out */
	int tokens;
	int not_participating; /* the federation policy leaves this node out: never asked */
	int not_requested;     /* QueryRequest.nodes leaves this node out: never asked */
	const struct partyconf_node *nd; /* the node asked */
	struct tokset *ts;		 /* its records so far (TOKENS) */
	int bad_records; /* a record was malformed: the query fails naming the node */
	Caselink__V1__QueryResponse *sub; /* a regional coordinator's coverage (two-level.md) */
	struct coord_recv *recv;	  /* during a fan-out: the workers unpacking its chunks */
	size_t worker;			  /* which one (each node's chunks stay in order) */
	uint32_t *slots;		  /* secure computation: each record's slots */
	size_t nslots, slots_cap;
	Caselink__V1__QueryResponse *shares; /* secure computation: the node's ShareUpload */
};

/* Forgets what a node sent (before a retry, and at the end of a query: no token is kept). */
static void coord_call_reset(struct coord_call *c)
{
	tokset_free(c->ts);
	c->ts = NULL;
	c->bad_records = 0;
	free(c->slots);
	c->slots = NULL;
	c->nslots = c->slots_cap = 0;
	if (c->shares)
		caselink__v1__query_response__free_unpacked(c->shares, NULL);
	c->shares = NULL;
}

/* Remembers a record's slot count (secure computation); CL_ENOMEM. */
static int coord_keep_slots(struct coord_call *c, uint32_t slots)
{
	if (c->nslots == c->slots_cap) {
		size_t cap = c->slots_cap ? 2 * c->slots_cap : 1024;
		uint32_t *n = realloc(c->slots, cap * sizeof(*n));

		if (!n)
			return CL_ENOMEM;
		c->slots = n;
		c->slots_cap = cap;
	}
	c->slots[c->nslots++] = slots;
	return CL_OK;
}

/* Forgets a regional coordinator's coverage (kept until our own coverage has been sent). */
static void coord_call_forget_coverage(struct coord_call *c)
{
	if (c->sub)
		caselink__v1__query_response__free_unpacked(c->sub, NULL);
	c->sub = NULL;
}

/*
 * Copies one TokenRecord into the node's compact set: CL_EPROTO when malformed (sizes, agency
 * attributes, event strings), CL_ELIMIT or CL_ENOMEM.
 */
static int coord_keep_record(struct coord_call *c, const Caselink__V1__TokenRecord *t)
{
	struct tokset_rec tr;
	size_t e;
	int rc;

	if (t->row_handle.len < 1 || t->row_handle.len > LINKER_HANDLE_MAX ||
	    (t->id_token.len && t->id_token.len != LINKER_TOKEN_LEN) ||
	    (t->demo_token.len && t->demo_token.len != LINKER_TOKEN_LEN) ||
	    (t->bloom.len && t->bloom.len != LINKER_BLOOM_BYTES))
		return CL_EPROTO;
	memset(&tr, 0, sizeof(tr));
	if (regional_record_agency(t, c->nd, &tr.agency_id, &tr.agency_type, &tr.municipality) !=
	    CL_OK)
		return CL_EPROTO;
	tr.handle = t->row_handle.data;
	tr.handle_len = t->row_handle.len;
	tr.id_token = t->id_token.len ? t->id_token.data : NULL;
	tr.demo_token = t->demo_token.len ? t->demo_token.data : NULL;
	tr.bloom = t->bloom.len ? t->bloom.data : NULL;
	/* sex and derived tokens: linker.h linker_set_attrs */
	tr.year_token = t->year_token.len == LINKER_TOKEN_LEN ? t->year_token.data : NULL;
	tr.date_token = t->date_token.len == LINKER_TOKEN_LEN ? t->date_token.data : NULL;
	tr.given_token = t->given_token.len == LINKER_TOKEN_LEN ? t->given_token.data : NULL;
	tr.sex = t->sex && strlen(t->sex) == 1 ? t->sex[0] : 'U';
	tr.restricted = t->restricted ? 1 : 0;
	rc = tokset_add(c->ts, &tr);
	if (rc == CL_OK)
		rc = coord_keep_slots(c, t->slots);
	for (e = 0; rc == CL_OK && e < t->n_events; e++) {
		const Caselink__V1__EventRecord *ev = t->events[e];
		struct measures_event me;

		me.event_type = ev->event_type;
		me.occurred_at = ev->occurred_at;
		me.role = ev->role;
		me.municipality = ev->municipality;
		me.risk_level = ev->risk_level;
		me.child_threat_level = ev->child_threat_level;
		me.referral_to = ev->referral_to;
		me.age_years = ev->age_years;
		rc = tokset_add_event(c->ts, &me);
	}
	return rc == CL_EINVAL ? CL_EPROTO : rc;
}

/*
 * Copies one TOKENS chunk of a node's answer into its compact set (the caller frees the chunk);
 * 1 (cancel the call) when it is not a TOKENS chunk, too big or memory runs out. A malformed
 * record is remembered (bad_records) and fails the query later, naming the node.
 */
static int coord_on_tokens(struct coord_call *c, Caselink__V1__QueryResponse *r)
{
	size_t k;
	int rc = CL_OK;

	if (r->chunk_case != CASELINK__V1__QUERY_RESPONSE__CHUNK_TOKENS || !c->nd ||
	    r->tokens->n_records > COORD_MAX_RECORDS_NODE - tokset_count(c->ts))
		return 1;
	if (c->bad_records)
		return 0; /* the query fails anyway */
	if (!c->ts && tokset_new(&c->ts) != CL_OK)
		return 1;
	for (k = 0; rc == CL_OK && k < r->tokens->n_records; k++)
		rc = coord_keep_record(c, r->tokens->records[k]);
	if (rc == CL_EPROTO) {
		c->bad_records = 1;
		return 0;
	}
	return rc == CL_OK ? 0 : 1;
}

static const char *const coord_groupings[] = {"municipality", "agency_type", "quarter",
					      "month",	      "year",	     NULL};

/* Refuses a call: status message, log line and audit entry (party_refuse). */
static enum rpc_code coord_refuse(struct coord *co, struct rpc_ctx *ctx,
				  const Caselink__V1__QueryRequest *q, enum rpc_code code,
				  const char *why)
{
	return party_refuse(co->audit, ctx, q, code, why);
}

static int coord_on_message(const uint8_t *msg, size_t len, void *user)
{
	struct coord_call *c = user;
	Caselink__V1__QueryResponse *r;
	size_t i, k;
	int rc = 0;

	r = caselink__v1__query_response__unpack(NULL, len, msg);
	if (r && r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_COVERAGE) {
		/* A regional coordinator's own coverage, named in ours (docs/two-level.md). */
		if (c->sub || regional_cov_check(r->coverage) != CL_OK) {
			rc = 1;
			goto out;
		}
		c->sub = r;
		return 0;
	}
	if (r && c->tokens && r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_SHARES) {
		/* a secure computation's upload: kept whole until the computation (one a node) */
		if (c->shares || !r->last) {
			rc = 1;
			goto out;
		}
		c->shares = r;
		return 0;
	}
	if (r && c->tokens) {
		rc = coord_on_tokens(c, r);
		goto out; /* copied: the chunk is freed now */
	}
	if (!r || r->chunk_case != CASELINK__V1__QUERY_RESPONSE__CHUNK_ROWS ||
	    r->rows->n_key_columns != c->nkeys) {
		rc = 1;
		goto out;
	}
	for (i = 0; i < r->rows->n_rows && !rc; i++) {
		Caselink__V1__Row *row = r->rows->rows[i];
		const char *keys[COORD_MAX_GROUPBY];
		int64_t v;

		if (row->n_keys != c->nkeys || row->n_values != 1 ||
		    row->values[0]->value_case != CASELINK__V1__VALUE__VALUE_COUNT ||
		    row->values[0]->count < 0) {
			rc = 1;
			break;
		}
		for (k = 0; k < c->nkeys; k++)
			keys[k] = row->keys[k];
		v = row->values[0]->count;
		if (agg_add(c->partial, keys, &v) != CL_OK)
			rc = 1;
	}
out:
	if (rc)
		__atomic_store_n(&c->malformed, 1, __ATOMIC_RELAXED);
	caselink__v1__query_response__free_unpacked(r, NULL);
	return rc;
}

/*
 * The unpacking and copying of TOKENS chunks, moved off the fan-out's
 * completion-queue thread: that thread copies each chunk's bytes into the
 * FIFO of one worker (node index % workers, so a node's chunks keep their
 * order), and blocks while more than COORD_RECV_QUEUED_MAX bytes wait. The
 * workers run coord_on_message as the completion-queue thread did; a failed
 * chunk marks the call malformed and the next chunk received cancels it. The
 * fan-out joins the workers before anyone reads the calls' results.
 */
struct coord_recv_msg {
	struct coord_recv_msg *next;
	struct coord_call *c;
	size_t len;
	uint8_t data[];
};

struct coord_recv_worker {
	struct coord_recv *rv;
	pthread_t thread;
	pthread_cond_t more; /* a chunk was queued, or stop */
	struct coord_recv_msg *head, *tail;
};

struct coord_recv {
	pthread_mutex_t mu;
	pthread_cond_t room; /* queued fell */
	size_t queued;	     /* bytes in all FIFOs */
	int stop;	     /* no more chunks: drain and exit */
	size_t nworkers;     /* started */
	struct coord_recv_worker w[COORD_RECV_WORKERS];
};

static void coord_recv_msg_free(struct coord_recv_msg *m)
{
	OPENSSL_cleanse(m->data, m->len);
	free(m);
}

static void *coord_recv_main(void *arg)
{
	struct coord_recv_worker *w = arg;
	struct coord_recv *rv = w->rv;
	struct coord_recv_msg *m;

	for (;;) {
		pthread_mutex_lock(&rv->mu);
		while (!w->head && !rv->stop)
			pthread_cond_wait(&w->more, &rv->mu);
		m = w->head;
		if (m) {
			w->head = m->next;
			if (!w->head)
				w->tail = NULL;
		}
		pthread_mutex_unlock(&rv->mu);
		if (!m)
			return NULL; /* stopped and drained */
		if (!__atomic_load_n(&m->c->malformed, __ATOMIC_RELAXED))
			(void)coord_on_message(m->data, m->len, m->c);
		pthread_mutex_lock(&rv->mu);
		rv->queued -= m->len;
		pthread_cond_signal(&rv->room);
		pthread_mutex_unlock(&rv->mu);
		coord_recv_msg_free(m);
	}
}

/* on_message of a TOKENS call during a fan-out: queues the chunk for its worker. */
static int coord_on_message_queued(const uint8_t *msg, size_t len, void *user)
{
	struct coord_call *c = user;
	struct coord_recv *rv = c->recv;
	struct coord_recv_worker *w = &rv->w[c->worker];
	struct coord_recv_msg *m;
	size_t sz;

	if (__atomic_load_n(&c->malformed, __ATOMIC_RELAXED))
		return 1;
	if (__builtin_add_overflow(sizeof(*m), len, &sz) || !(m = malloc(sz))) {
		__atomic_store_n(&c->malformed, 1, __ATOMIC_RELAXED);
		return 1;
	}
	m->next = NULL;
	m->c = c;
	m->len = len;
	memcpy(m->data, msg, len);
	pthread_mutex_lock(&rv->mu);
	while (rv->queued && rv->queued + len > COORD_RECV_QUEUED_MAX)
		pthread_cond_wait(&rv->room, &rv->mu);
	rv->queued += len;
	if (w->tail)
		w->tail->next = m;
	else
		w->head = m;
	w->tail = m;
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&rv->mu);
	return 0;
}

/* Stops the workers once their FIFOs are empty and frees rv (NULL is fine). */
static void coord_recv_stop(struct coord_recv *rv)
{
	size_t k;

	if (!rv)
		return;
	pthread_mutex_lock(&rv->mu);
	rv->stop = 1;
	for (k = 0; k < rv->nworkers; k++)
		pthread_cond_signal(&rv->w[k].more);
	pthread_mutex_unlock(&rv->mu);
	for (k = 0; k < rv->nworkers; k++) {
		pthread_join(rv->w[k].thread, NULL);
		pthread_cond_destroy(&rv->w[k].more);
	}
	pthread_cond_destroy(&rv->room);
	pthread_mutex_destroy(&rv->mu);
	free(rv);
}

/*
 * Starts up to want (<= COORD_RECV_WORKERS) workers; *out is NULL when none could be started
 * (the completion-queue thread then unpacks the chunks itself).
 */
static void coord_recv_start(size_t want, struct coord_recv **out)
{
	struct coord_recv *rv = NULL;
	size_t k;

	*out = NULL;
	if (!want)
		return;
	rv = calloc(1, sizeof(*rv));
	if (!rv)
		return;
	if (pthread_mutex_init(&rv->mu, NULL) != 0) {
		free(rv);
		return;
	}
	if (pthread_cond_init(&rv->room, NULL) != 0) {
		pthread_mutex_destroy(&rv->mu);
		free(rv);
		return;
	}
	for (k = 0; k < want && k < COORD_RECV_WORKERS; k++) {
		struct coord_recv_worker *w = &rv->w[k];

		w->rv = rv;
		if (pthread_cond_init(&w->more, NULL) != 0)
			break;
		if (pthread_create(&w->thread, NULL, coord_recv_main, w) != 0) {
			pthread_cond_destroy(&w->more);
			break;
		}
		rv->nworkers++;
	}
	if (!rv->nworkers) {
		coord_recv_stop(rv);
		return;
	}
	*out = rv;
}

/* Runs the calls of the nodes not yet answered; returns how many still failed. */
static size_t coord_fan_out(struct coord *co, struct rpc_call *calls, struct coord_call *cc,
			    const int *pending, size_t n, const uint8_t *req, size_t req_len,
			    int64_t deadline_ms)
{
	struct rpc_call *batch = NULL;
	struct coord_recv *rv = NULL;
	size_t *index = NULL, m = 0, i, failed = 0, ntokens = 0;

	batch = calloc(n, sizeof(*batch));
	index = calloc(n, sizeof(*index));
	if (!batch || !index) {
		free(batch);
		free(index);
		return n;
	}
	for (i = 0; i < n; i++)
		ntokens += pending[i] && cc[i].tokens;
	coord_recv_start(ntokens < COORD_RECV_WORKERS ? ntokens : COORD_RECV_WORKERS, &rv);
	for (i = 0; i < n; i++) {
		if (!pending[i])
			continue;
		cc[i].recv = NULL;
		if (rv && cc[i].tokens) {
			cc[i].recv = rv;
			cc[i].worker = i % rv->nworkers;
		}
		batch[m].channel = co->channels[i];
		batch[m].method = RPC_METHOD_NODE_QUERY;
		batch[m].req = req;
		batch[m].req_len = req_len;
		batch[m].on_message = cc[i].recv ? coord_on_message_queued : coord_on_message;
		batch[m].user = &cc[i];
		index[m++] = i;
	}
	if (rpc_call_many(batch, m, deadline_ms, NULL) != CL_OK) {
		for (i = 0; i < m; i++) {
			batch[i].status.code = RPC_INTERNAL;
			snprintf(batch[i].status.message, sizeof(batch[i].status.message),
				 "fan-out failed");
		}
	}
	coord_recv_stop(rv); /* every chunk received is unpacked before the results are read */
	for (i = 0; i < m; i++)
		cc[index[i]].recv = NULL;
	for (i = 0; i < m; i++) {
		calls[index[i]].status = batch[i].status;
		if (batch[i].status.code != RPC_OK || cc[index[i]].malformed)
			failed++;
	}
	free(batch);
	free(index);
	return failed;
}

/*
 * Turns the requester's signed request into the envelope sent to nodes: the
 * requester's header and question unchanged (nodes verify its signature), a
 * fresh query nonce, the mode, and the coordinator's signature over it all.
 */
static int coord_forward(struct coord *co, Caselink__V1__QueryRequest *qr,
			 Caselink__V1__QueryMode mode, uint8_t **out, size_t *out_len)
{
	uint8_t *nonce = NULL, *buf;
	size_t len;
	int rc;

	nonce = malloc(32);
	if (!nonce)
		return CL_ENOMEM;
	if (RAND_bytes(nonce, 32) != 1) {
		free(nonce);
		return CL_ECRYPTO;
	}
	free(qr->query_nonce.data);
	qr->query_nonce.data = nonce;
	qr->query_nonce.len = 32;
	qr->mode = mode;
	if (co->signer) {
		rc = sign_envelope(co->signer, qr);
		if (rc != CL_OK)
			return rc;
	}
	len = caselink__v1__query_request__get_packed_size(qr);
	buf = malloc(len ? len : 1);
	if (!buf)
		return CL_ENOMEM;
	caselink__v1__query_request__pack(qr, buf);
	*out = buf;
	*out_len = len;
	return CL_OK;
}

/*
 * Checks that the requester is who it says: the TLS peer is the identity the
 * request names, its signature verifies, and the request is not a replay. A
 * regional coordinator of conf (kind: coordinator) may forward a case request
 * of one of its nodes under its envelope signature (*via = its index; else
 * *via = CASES_ANSWER_DIRECT; docs/two-level.md).
 */
static int coord_check_requester(struct coord *co, struct rpc_ctx *ctx,
				 const Caselink__V1__QueryRequest *qr, size_t *via,
				 enum rpc_code *code, char reason[SIGN_REASON_MAX])
{
	const Caselink__V1__RequestHeader *h = qr->header;
	const struct partyconf_node *up = NULL;
	int rc, which;

	*via = CASES_ANSWER_DIRECT;
	if (!co->conf->insecure_demo && !strcmp(rpc_ctx_peer_role(ctx), "coordinator")) {
		up = partyconf_find_node(co->conf, rpc_ctx_peer_id(ctx));
		if (!up || !up->coordinator || !h->requester || !h->requester->role ||
		    strcmp(h->requester->role, "node") ||
		    cases_parse_name(qr->measure, &which) != CL_OK) {
			snprintf(reason, SIGN_REASON_MAX,
				 "a coordinator only forwards case requests of its own nodes");
			*code = RPC_PERMISSION_DENIED;
			return CL_EPERM;
		}
		rc = sign_verify_forwarded(co->verifier, qr, rpc_ctx_peer_id(ctx), reason);
		if (rc != CL_OK) {
			*code = RPC_UNAUTHENTICATED;
			return rc;
		}
	} else if (!co->conf->insecure_demo) {
		if (!h->requester || strcmp(h->requester->id, rpc_ctx_peer_id(ctx)) ||
		    strcmp(h->requester->role, rpc_ctx_peer_role(ctx))) {
			snprintf(reason, SIGN_REASON_MAX,
				 "requester does not match the connection's certificate");
			*code = RPC_UNAUTHENTICATED;
			return CL_EAUTH;
		}
		rc = sign_verify_request(co->verifier, qr, reason);
		if (rc != CL_OK) {
			*code = RPC_UNAUTHENTICATED;
			return rc;
		}
	}
	rc = replay_check(co->replay, h->request_id.data, h->request_id.len, h->expires_at,
			  (int64_t)time(NULL));
	if (rc != CL_OK) {
		const char *why = NULL;

		*code = party_replay_refusal(rc, &why);
		snprintf(reason, SIGN_REASON_MAX, "%s", why);
		return rc;
	}
	if (up)
		*via = (size_t)(up - co->conf->nodes);
	return CL_OK;
}

static int coord_send_coverage(struct rpc_ctx *ctx, const ProtobufCBinaryData *request_id,
			       struct coord *co, const struct rpc_call *calls,
			       const struct coord_call *cc, uint32_t omitted,
			       const Caselink__V1__Disclosure *disc,
			       const struct cases_answer *cases)
{
	Caselink__V1__CaseWithheld *const *withheld = NULL;
	size_t nwithheld = cases_answer_withheld(cases, &withheld);
	Caselink__V1__QueryResponse resp = CASELINK__V1__QUERY_RESPONSE__INIT;
	Caselink__V1__Coverage cov = CASELINK__V1__COVERAGE__INIT;
	Caselink__V1__NodeFailure *fails = NULL, **fail_ptrs = NULL;
	char **answered = NULL, (*reasons)[RPC_STATUS_MSG_MAX + 32] = NULL;
	const Caselink__V1__Coverage **subs = NULL;
	struct regional_cov *hold = NULL;
	size_t n = co->conf->nnodes, i, nf = 0, na = 0;
	int rc;

	fails = calloc(n, sizeof(*fails));
	fail_ptrs = calloc(n, sizeof(*fail_ptrs));
	answered = calloc(n, sizeof(*answered));
	reasons = calloc(n, sizeof(*reasons));
	subs = calloc(n, sizeof(*subs));
	if (!fails || !fail_ptrs || !answered || !reasons || !subs) {
		rc = CL_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (calls[i].status.code == RPC_OK && !cc[i].malformed) {
			answered[na++] = co->conf->nodes[i].id;
			subs[i] = cc[i].sub ? cc[i].sub->coverage : NULL;
			continue;
		}
		caselink__v1__node_failure__init(&fails[nf]);
		fails[nf].node_id = co->conf->nodes[i].id;
		if (cc[i].not_participating)
			snprintf(reasons[nf], sizeof(reasons[nf]), "not_participating");
		else if (cc[i].not_requested)
			snprintf(reasons[nf], sizeof(reasons[nf]), "not_requested");
		else if (cc[i].malformed)
			snprintf(reasons[nf], sizeof(reasons[nf]), "malformed answer");
		else
			snprintf(reasons[nf], sizeof(reasons[nf]), "%s: %s",
				 rpc_code_reason(calls[i].status.code), calls[i].status.message);
		fails[nf].reason = reasons[nf];
		fails[nf].code = (int32_t)calls[i].status.code;
		fail_ptrs[nf] = &fails[nf];
		nf++;
	}
	/* Every node of the federation counts: one left out by policy is a failure, not a gap. */
	cov.nodes_asked = (uint32_t)n;
	cov.omitted_records = omitted; /* M7/M8: restricted records left out */
	cov.nodes_answered = (uint32_t)na;
	cov.n_failed = nf;
	cov.failed = fail_ptrs;
	cov.n_answered = na;
	cov.answered = answered;
	cov.disclosure = (Caselink__V1__Disclosure *)disc;
	cov.n_withheld = nwithheld; /* M7/M8: records their holders kept out, by node and reason */
	cov.withheld = (Caselink__V1__CaseWithheld **)withheld;
	/* A regional coordinator's nodes stand in for it: "regional/node" (docs/two-level.md). */
	rc = regional_cov_expand(&cov, co->conf, subs, &hold);
	if (rc != CL_OK)
		goto out;
	resp.schema_version = CASELINK_SCHEMA_VERSION;
	resp.request_id = *request_id;
	resp.chunk_case = CASELINK__V1__QUERY_RESPONSE__CHUNK_COVERAGE;
	resp.coverage = &cov;
	rc = party_send_response(ctx, &resp);
out:
	regional_cov_free(hold);
	free(subs);
	free(fails);
	free(fail_ptrs);
	free(answered);
	free(reasons);
	return rc;
}

/* Records an answer before its final chunk leaves: question, coverage, rows released. */
static int coord_audit_answer(struct coord *co, struct rpc_ctx *ctx,
			      const Caselink__V1__QueryRequest *qr, const struct rpc_call *calls,
			      const struct coord_call *cc, size_t rows)
{
	char details[AUDIT_DETAILS_MAX], req[AUDIT_DETAILS_MAX / 2], failed[AUDIT_DETAILS_MAX / 4];
	size_t i, n = co->conf->nnodes, used = 0, answered = 0;
	int rc;

	failed[0] = '\0';
	for (i = 0; i < n; i++) {
		if (calls[i].status.code == RPC_OK && !cc[i].malformed) {
			answered++;
			continue;
		}
		if (used < sizeof(failed)) {
			int k = snprintf(failed + used, sizeof(failed) - used, "%s%.64s",
					 used ? "," : "", co->conf->nodes[i].id);

			if (k > 0)
				used += (size_t)k;
		}
	}
	party_audit_request(qr, req, sizeof(req));
	snprintf(details, sizeof(details),
		 "nodes_asked=%zu nodes_answered=%zu failed=%s rows=%zu %s", n, answered,
		 failed[0] ? failed : "-", rows, req);
	rc = audit_append(co->audit, rpc_ctx_peer_id(ctx)[0] ? rpc_ctx_peer_id(ctx) : "-",
			  "query_answered", details, NULL);
	if (rc != CL_OK)
		log_event(LOG_LEVEL_ERROR, "audit_failed", "action=query_answered");
	return rc;
}

/* ---- Disclosure control of answers (coordinator/release.c, docs/disclosure.md "Release") ---- */

/*
 * QueryRequest.nodes: every id must be a node of this federation, once (CL_EINVAL, why). An
 * empty list asks every node.
 */
static int coord_nodes_check(const struct coord *co, const Caselink__V1__QueryRequest *qr,
			     const char **why)
{
	size_t i, j;

	for (i = 0; i < qr->n_nodes; i++) {
		int known = 0;

		for (j = 0; j < co->conf->nnodes && !known; j++)
			known = !strcmp(qr->nodes[i], co->conf->nodes[j].id);
		for (j = 0; j < i && known; j++)
			if (!strcmp(qr->nodes[i], qr->nodes[j])) {
				*why = "a node id is repeated in nodes";
				return CL_EINVAL;
			}
		if (!known) {
			*why = "nodes names a node id this coordinator does not know";
			return CL_EINVAL;
		}
	}
	return CL_OK;
}

/* Whether node i is asked: every node without QueryRequest.nodes, else the listed ones. */
static int coord_node_requested(const struct coord *co, const Caselink__V1__QueryRequest *qr,
				size_t i)
{
	size_t k;

	for (k = 0; k < qr->n_nodes; k++)
		if (!strcmp(qr->nodes[k], co->conf->nodes[i].id))
			return 1;
	return qr->n_nodes == 0;
}

static int coord_date(const char *s, int64_t *out);

/* The requester the ledger knows: the verified certificate CN (the signed id in a demo). */
static const char *coord_requester(struct rpc_ctx *ctx, const Caselink__V1__QueryRequest *qr)
{
	const char *peer = rpc_ctx_peer_id(ctx);

	if (peer && peer[0])
		return peer;
	return qr->header->requester && qr->header->requester->id[0] ? qr->header->requester->id
								     : "-";
}

/*
 * Starts the release of an answer with nkeys key columns under the requester's disclosure
 * settings and, for a role with DP, charges its ε in the ledger before any node is asked
 * (CL_EBUDGET: msg names what is left).
 */
static int coord_release_start(struct coord *co, struct rpc_ctx *ctx,
			       const Caselink__V1__QueryRequest *qr,
			       const struct policy_disclosure *d, int measure, size_t nkeys,
			       struct release **out, char *msg, size_t msgsz)
{
	struct release *r = NULL;
	int rc;

	rc = release_new(measure, nkeys, d, &r);
	if (rc == CL_OK)
		rc = release_charge(r, co->ledger, coord_requester(ctx, qr), (int64_t)time(NULL),
				    msg, msgsz);
	if (rc != CL_OK) {
		release_free(r);
		return rc;
	}
	*out = r;
	return CL_OK;
}

/* Appends "a,b,c" to buf; CL_ELIMIT when it does not fit (the check must not guess). */
static int coord_join(char *buf, size_t bufsz, size_t *used, const char *item)
{
	int k = snprintf(buf + *used, bufsz - *used, "%s%s", *used ? "," : "", item);

	if (k < 0 || (size_t)k >= bufsz - *used)
		return CL_ELIMIT;
	*used += (size_t)k;
	return CL_OK;
}

/*
 * Applies disclosure control to the collected rows — the differencing check first (CL_EDENIED,
 * msg) unless the role's policy has differencing: false — then sends the coverage with the
 * settings and the released rows.
 */
static int coord_release_send(struct coord *co, struct rpc_ctx *ctx,
			      const Caselink__V1__QueryRequest *qr, struct release *r,
			      int differencing, const struct rpc_call *calls,
			      const struct coord_call *cc, const char *const *key_cols,
			      size_t nkeys, const char *const *value_cols, size_t *rows_out,
			      char *msg, size_t msgsz)
{
	Caselink__V1__Disclosure disc = CASELINK__V1__DISCLOSURE__INIT;
	struct ledger_population pop;
	struct release_info info;
	struct party_rows *rows = NULL;
	char grouping[LEDGER_FIELD_MAX] = "", filters[LEDGER_FIELD_MAX] = "",
	     nodes[LEDGER_FIELD_MAX] = "";
	size_t i, k, ug = 0, uf = 0, un = 0;
	int64_t from = 0, to = 0;
	int rc = CL_OK;

	memset(&pop, 0, sizeof(pop));
	if (differencing) {
		for (i = 0; rc == CL_OK && i < qr->n_group_by; i++)
			rc = coord_join(grouping, sizeof(grouping), &ug, qr->group_by[i]);
		for (i = 0; rc == CL_OK && i < qr->n_parameters; i++) {
			char kv[2 * RELEASE_MAX_TEXT];

			snprintf(kv, sizeof(kv), "%.255s=%.255s", qr->parameters[i]->key,
				 qr->parameters[i]->value);
			rc = coord_join(filters, sizeof(filters), &uf, kv);
		}
		for (i = 0; rc == CL_OK && i < co->conf->nnodes; i++)
			if (calls[i].status.code == RPC_OK && !cc[i].malformed)
				rc = coord_join(nodes, sizeof(nodes), &un, co->conf->nodes[i].id);
		if (rc == CL_OK && (coord_date(qr->period_from, &from) != CL_OK ||
				    coord_date(qr->period_to, &to) != CL_OK))
			rc = CL_EINVAL;
		if (rc != CL_OK) {
			snprintf(msg, msgsz,
				 "refused: the differencing check cannot record this query");
			return CL_EDENIED;
		}
		pop.measure = qr->measure;
		pop.grouping = grouping;
		pop.filters = filters;
		pop.from_day = from / 86400;
		pop.to_day = to / 86400;
		pop.nodes = nodes;
	}
	/* No node answered: no one's records are in the answer, no population to record. */
	if (differencing && un == 0)
		differencing = 0;
	rc = release_apply(r, co->ledger, coord_requester(ctx, qr), differencing ? &pop : NULL, msg,
			   msgsz);
	if (rc != CL_OK)
		return rc;
	release_get_info(r, &info);
	disc.threshold = info.threshold;
	disc.rounding = info.rounding;
	disc.mechanism = (char *)info.mechanism;
	disc.epsilon = info.epsilon;
	disc.noise_scale = info.noise_scale;
	disc.budget_period = info.period;
	disc.budget = info.budget;
	disc.budget_remaining = info.remaining;
	disc.definitions_version = (char *)RELEASE_DEFINITIONS;
	disc.period_from = qr->period_from;
	disc.period_to = qr->period_to;
	/* Every withheld count: small, complements, and under DP those without a bound. */
	disc.suppressed_cells = (uint32_t)(info.primary + info.secondary + info.dp_withheld);
	disc.suppressed_derived = (uint32_t)info.derived_suppressed;
	rc = coord_send_coverage(ctx, &qr->header->request_id, co, calls, cc, 0, &disc, NULL);
	if (rc == CL_OK)
		rc = party_rows_new(ctx, &qr->header->request_id, key_cols, nkeys, value_cols, 1,
				    &rows);
	for (i = 0; rc == CL_OK && i < release_rows(r); i++) {
		Caselink__V1__Value v = CASELINK__V1__VALUE__INIT;
		struct release_value rv;
		const char *const *keys;

		rc = release_row(r, i, &keys, &k, &rv);
		if (rc == CL_OK && k != nkeys)
			rc = CL_EINTERNAL;
		if (rc != CL_OK)
			break;
		if (rv.state == RELEASE_SUPPRESSED) {
			v.suppressed = 1;
			v.suppressed_reason = (char *)(rv.reason ? rv.reason : "");
		} else if (rv.state == RELEASE_COUNT) {
			v.value_case = CASELINK__V1__VALUE__VALUE_COUNT;
			v.count = rv.count;
		} else {
			v.value_case = CASELINK__V1__VALUE__VALUE_REAL;
			v.real = rv.real;
		}
		v.noise_scale = rv.noise_scale;
		rc = party_rows_add_cells(rows, keys, &v);
	}
	if (rc == CL_OK)
		rc = coord_audit_answer(co, ctx, qr, calls, cc, release_rows(r));
	if (rc == CL_OK)
		rc = party_rows_finish(rows);
	if (rc == CL_OK)
		*rows_out = release_rows(r);
	party_rows_free(rows);
	return rc;
}

struct coord_emit {
	struct release *rel;
	size_t count;
};

static int coord_emit_row(void *ctx, const char *const *cols, size_t ncols)
{
	struct coord_emit *e = ctx;

	e->count++;
	return release_add(e->rel, cols, ncols);
}
/* ---- end of disclosure control helpers ---- */

/*
 * Adds the records of one node's TOKENS answer to the linker, in the order they came. The
 * linker's node is the record's agency (regional_agencies): a regional coordinator's agencies
 * stay apart.
 */
static int coord_link_node(struct linker *l, struct regional_agencies *ag, uint32_t node,
			   const struct coord_call *c, size_t *total)
{
	size_t r, nrec = tokset_count(c->ts);
	int rc;

	if (c->bad_records)
		return CL_EPROTO;
	for (r = 0; r < nrec; r++) {
		struct tokset_rec t;
		uint32_t agency;

		if (*total >= COORD_MAX_RECORDS)
			return CL_ELIMIT;
		rc = tokset_get(c->ts, r, &t);
		if (rc == CL_OK)
			rc = regional_agencies_index(ag, node, t.agency_id, &agency);
		if (rc == CL_OK)
			rc = linker_add(l, agency, 0, t.handle, t.handle_len, t.id_token,
					t.demo_token, t.bloom, NULL);
		if (rc == CL_OK) /* sex and derived tokens: linker.h linker_set_attrs */
			rc = linker_set_attrs(l, linker_count(l) - 1, t.sex, t.year_token,
					      t.date_token, t.given_token);
		if (rc != CL_OK)
			return rc;
		(*total)++;
	}
	return CL_OK;
}

/* Threads for linking: the online processors, 1 to COORD_LINK_THREADS_MAX. */
static unsigned coord_link_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > COORD_LINK_THREADS_MAX ? COORD_LINK_THREADS_MAX : (unsigned)n;
}

/* Milliseconds from a to b. */
static long long coord_ms(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* Hands the linked records of one node to the measure engine, in the linker's order. */
static int coord_measure_node(struct measures_input *in, const struct linker *l,
			      struct regional_agencies *ag, uint32_t node,
			      const struct coord_call *c, size_t *next)
{
	size_t r, e, idx, nrec = tokset_count(c->ts);
	int rc;

	for (r = 0; r < nrec; r++) {
		struct tokset_rec t;
		struct measures_record rec;
		uint32_t person = 0;

		rc = linker_cluster(l, (*next)++, &person);
		if (rc == CL_OK)
			rc = tokset_get(c->ts, r, &t);
		if (rc != CL_OK)
			return rc;
		memset(&rec, 0, sizeof(rec));
		rec.agency_id = t.agency_id;
		rec.agency_type = t.agency_type;
		rec.node_municipality = t.municipality;
		rc = regional_agencies_index(ag, node, t.agency_id, &rec.node);
		if (rc != CL_OK)
			return rc == CL_ELIMIT ? rc : CL_EPROTO;
		rec.sex = t.sex;
		rec.restricted = t.restricted;
		rec.linkable = t.id_token || t.demo_token;
		rec.person = person;
		rc = measures_add_record(in, &rec, &idx);
		for (e = 0; rc == CL_OK && e < t.nevents; e++) {
			struct measures_event me;

			rc = tokset_event(c->ts, r, e, &me);
			if (rc == CL_OK)
				rc = measures_add_event(in, idx, &me);
		}
		if (rc != CL_OK)
			return rc == CL_ENOMEM ? rc : CL_EPROTO;
	}
	return CL_OK;
}

/*
 * A linked measure under secure computation (coordinator/secure.h): each answering node's
 * upload, its records' slots, linked persons (in the linker's order) and agency ids, then
 * the computation; its rows go to emit. Call before the token sets are reset.
 */
static int coord_secure(struct coord *co, Caselink__V1__QueryRequest *qr, int measure, int64_t from,
			int64_t to, const struct linker *l, const struct rpc_call *calls,
			struct coord_call *cc, struct coord_emit *emit, char *why, size_t whysz)
{
	int64_t wfrom = from - 3 * 86400; /* the nodes' window (node/serve.c): its start */
	size_t n = co->conf->nnodes, k = 0, next = 0, i, r;
	struct m2_job_node *jn = calloc(n ? n : 1, sizeof(*jn));
	int rc = jn ? CL_OK : CL_ENOMEM;

	for (i = 0; rc == CL_OK && i < n; i++) {
		size_t nrec = tokset_count(cc[i].ts);
		uint32_t *person;
		const char **agency;

		if (calls[i].status.code != RPC_OK || cc[i].malformed)
			continue;
		if (!cc[i].shares || cc[i].nslots != nrec) {
			snprintf(why, whysz, "node %.64s sent no shares for the secure computation",
				 co->conf->nodes[i].id);
			rc = CL_EPROTO;
			break;
		}
		person = calloc(nrec ? nrec : 1, sizeof(*person));
		agency = calloc(nrec ? nrec : 1, sizeof(*agency));
		jn[k] = (struct m2_job_node){cc[i].shares->shares, nrec, cc[i].slots, person,
					     (const char *const *)agency};
		k++;
		if (!person || !agency)
			rc = CL_ENOMEM;
		for (r = 0; rc == CL_OK && r < nrec; r++) {
			struct tokset_rec t;

			rc = linker_cluster(l, next++, &person[r]);
			if (rc == CL_OK)
				rc = tokset_get(cc[i].ts, r, &t);
			if (rc == CL_OK)
				agency[r] = t.agency_id;
		}
	}
	for (i = 0; rc == CL_OK && i < qr->n_parameters; i++)
		if (qr->parameters[i]->key && !strcmp(qr->parameters[i]->key, "window_from") &&
		    coord_date(qr->parameters[i]->value, &wfrom) != CL_OK)
			rc = CL_EINVAL;
	if (rc == CL_OK)
		rc = secure_measure(co->secure, qr, measure, wfrom, to, jn, k, coord_emit_row, emit,
				    why, whysz);
	for (i = 0; i < k; i++) {
		free((void *)jn[i].person);
		free((void *)jn[i].agency);
	}
	free(jn);
	return rc;
}

/*
 * Answers a linked measure (M1–M6): links the records of the nodes that
 * answered, computes the measure over the linked persons, and streams the
 * coverage and the rows (every column as text: rates and "NA" included).
 * Tokens and filters are wiped as soon as the linking is done.
 */
static int coord_answer_linked(struct coord *co, struct rpc_ctx *ctx,
			       Caselink__V1__QueryRequest *qr, int measure, int group_by,
			       int64_t from, int64_t to, const struct rpc_call *calls,
			       struct coord_call *cc, struct release *rel, int differencing,
			       size_t *rows_out, char *why, size_t whysz)
{
	static const char *const value_col[] = {"value"};
	struct linker *l = NULL;
	struct measures_input *in = NULL;
	struct regional_agencies *ag = NULL;
	struct coord_emit emit = {rel, 0};
	const char *const *cols = NULL;
	struct timespec t0, t1, w0, w1, w2, w3, w4;
	size_t n = co->conf->nnodes, i, total = 0, next = 0, ncols;
	int secure = secure_computes(co->secure, measure), rc;

	clock_gettime(CLOCK_MONOTONIC, &w0);
	ncols = measures_columns(measure, group_by, &cols);
	if (!ncols)
		return CL_EINVAL;
	rc = linker_new(&l);
	if (rc == CL_OK) /* the links do not depend on the threads (linker.h) */
		rc = linker_set_threads(l, coord_link_threads());
	if (rc == CL_OK)
		rc = regional_agencies_new(LINKER_MAX_NODES, &ag);
	for (i = 0; rc == CL_OK && i < n; i++) {
		if (calls[i].status.code != RPC_OK || cc[i].malformed)
			continue;
		rc = coord_link_node(l, ag, (uint32_t)i, &cc[i], &total);
		if (rc != CL_OK)
			snprintf(why, whysz, "node %.64s sent malformed records",
				 co->conf->nodes[i].id);
	}
	clock_gettime(CLOCK_MONOTONIC, &w1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0); /* all the linker's threads */
	if (rc == CL_OK)
		rc = linker_run(l);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	clock_gettime(CLOCK_MONOTONIC, &w2);
	if (rc == CL_ELIMIT)
		snprintf(why, whysz,
			 "linking: more than %u candidate pairs (too many lookalike records)",
			 (unsigned)LINKER_MAX_PAIRS);
	if (rc == CL_OK && secure) /* the coordinator never sees an event */
		rc = coord_secure(co, qr, measure, from, to, l, calls, cc, &emit, why, whysz);
	if (rc == CL_OK && !secure)
		rc = measures_input_new(&in);
	for (i = 0; rc == CL_OK && !secure && i < n; i++) {
		if (calls[i].status.code != RPC_OK || cc[i].malformed)
			continue;
		rc = coord_measure_node(in, l, ag, (uint32_t)i, &cc[i], &next);
		if (rc != CL_OK)
			snprintf(why, whysz, "node %.64s sent malformed events",
				 co->conf->nodes[i].id);
	}
	log_event(LOG_LEVEL_INFO, "linked",
		  "records=%zu persons=%llu id_links=%llu demo_links=%llu fuzzy_links=%llu "
		  "blocks=%llu comparisons=%llu candidates=%llu link_cpu_ms=%lld",
		  total, (unsigned long long)linker_stat(l, LINKER_STAT_CLUSTERS),
		  (unsigned long long)linker_stat(l, LINKER_STAT_ID_LINKS),
		  (unsigned long long)linker_stat(l, LINKER_STAT_DEMO_LINKS),
		  (unsigned long long)linker_stat(l, LINKER_STAT_FUZZY_LINKS),
		  (unsigned long long)linker_stat(l, LINKER_STAT_BLOCKS),
		  (unsigned long long)linker_stat(l, LINKER_STAT_COMPARISONS),
		  (unsigned long long)linker_stat(l, LINKER_STAT_CANDIDATES),
		  (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	/* The coordinator keeps no token after linking. */
	linker_free(l);
	regional_agencies_free(ag);
	for (i = 0; i < n; i++)
		coord_call_reset(&cc[i]);
	/* Disclosure control: every row is collected, released as a whole, then sent. */
	clock_gettime(CLOCK_MONOTONIC, &w3);
	if (rc == CL_OK && !secure)
		rc = measures_compute(in, measure, from, to, group_by, coord_emit_row, &emit);
	clock_gettime(CLOCK_MONOTONIC, &w4);
	if (rc == CL_OK)
		rc = coord_release_send(co, ctx, qr, rel, differencing, calls, cc, cols, ncols - 1,
					value_col, rows_out, why, whysz);
	log_event(LOG_LEVEL_INFO, "linked_phases",
		  "add_ms=%lld link_ms=%lld input_ms=%lld compute_ms=%lld", coord_ms(&w0, &w1),
		  coord_ms(&w1, &w2), coord_ms(&w2, &w3), coord_ms(&w3, &w4));
	measures_input_free(in);
	return rc;
}

/* One holding node's DISCLOSE answer (phase 2 of a case answer). */
struct coord_grant {
	Caselink__V1__QueryResponse *resp; /* its CaseGrant chunk */
	int bad;			   /* a chunk that is not one CaseGrant */
};

static int coord_on_grant(const uint8_t *msg, size_t len, void *user)
{
	struct coord_grant *g = user;
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

/*
 * Phase 2 of a case answer (docs/privacy.md "Case answers"): asks every holding node that
 * answered phase 1 about its own records linked into the answer, under the same query nonce
 * and the coordinator's envelope signature, naming the asking agency as this configuration
 * knows it (a regional coordinator's own node: as the regional named it). Each node decides
 * under its own case_disclosure policy; a node that cannot be asked withholds everything.
 */
static int coord_cases_disclose(struct coord *co, Caselink__V1__QueryRequest *qr,
				struct cases_answer *a, size_t requester, size_t via,
				const struct rpc_call *calls, const struct coord_call *cc,
				int64_t deadline_ms)
{
	size_t n = co->conf->nnodes, i, m = 0;
	struct rpc_call *batch = calloc(n ? n : 1, sizeof(*batch));
	struct coord_grant *g = calloc(n ? n : 1, sizeof(*g));
	uint8_t **bufs = calloc(n ? n : 1, sizeof(*bufs));
	size_t *index = calloc(n ? n : 1, sizeof(*index));
	Caselink__V1__QueryMode mode = qr->mode;
	int rc = batch && g && bufs && index ? CL_OK : CL_ENOMEM;

	(void)requester;
	(void)via;
	for (i = 0; rc == CL_OK && i < n; i++) {
		ProtobufCBinaryData *h = NULL;
		size_t nh = 0, len;

		if (calls[i].status.code != RPC_OK || cc[i].malformed)
			continue;
		rc = cases_answer_asks(a, i, &h, &nh);
		if (rc != CL_OK || !nh) {
			free(h);
			continue;
		}
		qr->mode = CASELINK__V1__QUERY_MODE__QUERY_MODE_DISCLOSE;
		qr->case_handles = h;
		qr->n_case_handles = nh;
		rc = co->signer ? sign_envelope(co->signer, qr) : CL_OK;
		len = caselink__v1__query_request__get_packed_size(qr);
		bufs[m] = rc == CL_OK ? malloc(len ? len : 1) : NULL;
		if (rc == CL_OK && !bufs[m])
			rc = CL_ENOMEM;
		if (rc == CL_OK) {
			caselink__v1__query_request__pack(qr, bufs[m]);
			batch[m].channel = co->channels[i];
			batch[m].method = RPC_METHOD_NODE_QUERY;
			batch[m].req = bufs[m];
			batch[m].req_len = len;
			batch[m].on_message = coord_on_grant;
			batch[m].user = &g[m];
			index[m++] = i;
		}
		qr->case_handles = NULL;
		qr->n_case_handles = 0;
		free(h);
	}
	qr->mode = mode;
	if (rc == CL_OK && m && rpc_call_many(batch, m, deadline_ms, NULL) != CL_OK)
		for (i = 0; i < m; i++)
			batch[i].status.code = RPC_INTERNAL;
	for (i = 0; rc == CL_OK && i < m; i++) {
		const char *id = co->conf->nodes[index[i]].id;
		char reason[RPC_STATUS_MSG_MAX + 32];

		if (batch[i].status.code == RPC_OK && !g[i].bad && g[i].resp &&
		    cases_answer_grant(a, index[i], id, g[i].resp->grant) == CL_OK)
			continue;
		snprintf(reason, sizeof(reason), "disclosure %s",
			 batch[i].status.code == RPC_OK ? "malformed answer"
							: rpc_code_reason(batch[i].status.code));
		rc = cases_answer_node_failed(a, index[i], id, reason);
	}
	for (i = 0; g && i < m; i++)
		if (g[i].resp)
			caselink__v1__query_response__free_unpacked(g[i].resp, NULL);
	for (i = 0; bufs && i < m; i++)
		free(bufs[i]);
	free(batch);
	free(g);
	free(bufs);
	free(index);
	return rc;
}

/* The asking agency as this configuration names it, for the holding nodes' policies. */
static void coord_case_asker(const struct coord *co, Caselink__V1__QueryRequest *qr, size_t via,
			     Caselink__V1__CaseAsker *asker)
{
	const struct partyconf_node *nd = NULL;
	size_t i;

	if (via != CASES_ANSWER_DIRECT) /* a regional's node: the regional set it, or nobody */
		return;
	caselink__v1__case_asker__init(asker);
	for (i = 0; i < co->conf->nnodes && !nd; i++)
		if (!co->conf->nodes[i].coordinator &&
		    !strcmp(co->conf->nodes[i].id, qr->header->requester->id))
			nd = &co->conf->nodes[i];
	if (!nd) {
		qr->case_asker = NULL;
		return;
	}
	asker->agency_id = (char *)nd->id;
	asker->agency_type = (char *)nd->agency_type;
	asker->municipality = (char *)nd->municipality;
	asker->country = (char *)nd->country;
	qr->case_asker = asker;
}

/*
 * Answers a case measure (M7, M8) to the node that asked (coordinator/cases_answer.h): links,
 * asks the holding nodes (phase 2), computes, then streams the coverage with the omitted and
 * withheld counts and the rows. No token is kept.
 */
static enum rpc_code coord_answer_cases(struct coord *co, struct rpc_ctx *ctx,
					Caselink__V1__QueryRequest *qr, int which, size_t requester,
					size_t via, int64_t as_of_end, const struct rpc_call *calls,
					struct coord_call *cc, int64_t deadline_ms)
{
	struct cases_answer_node *nodes = NULL;
	struct cases_answer *a = NULL;
	struct party_rows *rows = NULL;
	char why[CASES_ANSWER_WHY_MAX] = "";
	size_t n = co->conf->nnodes, i;
	enum rpc_code code = RPC_OK;
	int rc = CL_ENOMEM;

	nodes = calloc(n ? n : 1, sizeof(*nodes));
	for (i = 0; nodes && i < n; i++) {
		nodes[i].conf = &co->conf->nodes[i];
		nodes[i].ts = cc[i].ts;
		nodes[i].malformed = cc[i].bad_records;
		nodes[i].answered = calls[i].status.code == RPC_OK && !cc[i].malformed;
	}
	if (nodes)
		rc = cases_answer_link(which, qr, nodes, n, requester, as_of_end, &a, why,
				       sizeof(why));
	for (i = 0; i < n; i++)
		coord_call_reset(&cc[i]);
	if (rc == CL_OK)
		rc = coord_cases_disclose(co, qr, a, requester, via, calls, cc, deadline_ms);
	if (rc == CL_OK)
		rc = cases_answer_finish(a);
	if (rc == CL_OK && co->conf->nodes[requester].coordinator) {
		/* A node behind a regional: that regional's own coverage must list it. */
		const Caselink__V1__QueryResponse *sub = cc[requester].sub;
		int listed = sub ? regional_cov_lists(sub->coverage, qr->header->requester->id) : 0;

		if (!listed && calls[requester].status.code == RPC_OK && !cc[requester].malformed) {
			code = coord_refuse(co, ctx, qr, RPC_PERMISSION_DENIED,
					    "the regional coordinator does not list the requesting "
					    "node");
			goto out;
		}
		if (listed != 1 && which == CASES_M7) {
			snprintf(why, sizeof(why), "%s",
				 "the requesting node did not answer: its record cannot be found");
			rc = CL_ENOTFOUND;
		}
	}
	if (rc == CL_ENOTFOUND) {
		code = coord_refuse(co, ctx, qr, RPC_NOT_FOUND, why);
		goto out;
	}
	if (rc == CL_OK)
		rc = coord_send_coverage(ctx, &qr->header->request_id, co, calls, cc,
					 cases_answer_omitted(a), NULL, a);
	if (rc == CL_OK && which == CASES_M7) {
		/* the holders' sealed rows and the asker's own handles, relayed unread */
		Caselink__V1__QueryResponse resp = CASELINK__V1__QUERY_RESPONSE__INIT;
		Caselink__V1__CaseRows cr;

		rc = cases_answer_case_rows(a, &cr);
		resp.schema_version = CASELINK_SCHEMA_VERSION;
		resp.request_id = qr->header->request_id;
		resp.chunk_case = CASELINK__V1__QUERY_RESPONSE__CHUNK_CASE_ROWS;
		resp.case_rows = &cr;
		if (rc == CL_OK)
			rc = party_send_response(ctx, &resp);
	}
	if (rc == CL_OK)
		rc = cases_answer_stream(a, ctx, &qr->header->request_id, &rows);
	if (rc == CL_OK)
		rc = coord_audit_answer(co, ctx, qr, calls, cc, cases_answer_rows(a));
	if (rc == CL_OK)
		rc = party_rows_finish(rows);
	if (rc != CL_OK) {
		code = party_error_to_code(rc);
		rpc_ctx_set_message(ctx, why[0] ? why : cl_strerror(rc));
		log_event(LOG_LEVEL_ERROR, "query_failed", "measure=%.16s error=%s", qr->measure,
			  cl_errname(rc));
		goto out;
	}
	log_event(LOG_LEVEL_INFO, "query_answered", "peer=%.64s measure=%.32s rows=%zu omitted=%u",
		  rpc_ctx_peer_id(ctx), qr->measure, cases_answer_rows(a), cases_answer_omitted(a));
out:
	party_rows_free(rows);
	cases_answer_free(a);
	free(nodes);
	return code;
}

/* Parses a "YYYY-MM-DD" period bound into epoch seconds. */
static int coord_date(const char *s, int64_t *out)
{
	const char *why = NULL;

	if (!s || strlen(s) != 10)
		return CL_EINVAL;
	return cldate_parse_time(s, out, &why);
}

static enum rpc_code coord_query(struct rpc_ctx *ctx, const uint8_t *req, size_t len, void *user)
{
	static const char *const value_cols[] = {"incident_events"};
	struct coord *co = user;
	Caselink__V1__QueryRequest *qr = NULL;
	struct rpc_call *calls = NULL;
	struct coord_call *cc = NULL;
	struct agg *total = NULL;
	struct party_rows *rows = NULL;
	uint8_t *fwd = NULL;
	size_t fwd_len = 0, n = co->conf->nnodes, i, j, failed, answered = 0;
	int *pending = NULL, rc;
	const char *why = NULL;
	char reason[SIGN_REASON_MAX];
	enum rpc_code code = RPC_OK;
	int64_t remaining, deadline, from = 0, to = 0;
	int measure = 0, cases = 0, group_by = MEASURES_BY_QUARTER;
	size_t cases_node = 0, via = CASES_ANSWER_DIRECT;
	struct policy_decision decision;
	struct release *rel = NULL; /* disclosure control of this answer */
	Caselink__V1__CaseAsker asker = CASELINK__V1__CASE_ASKER__INIT;
	Caselink__V1__CaseAsker *sent_asker = NULL;
	int differencing = 0;

	qr = caselink__v1__query_request__unpack(NULL, len, req);
	if (!qr)
		return coord_refuse(co, ctx, NULL, RPC_INVALID_ARGUMENT, "malformed QueryRequest");
	sent_asker = qr->case_asker; /* never the requester's claim: restored before freeing */
	rc = party_header_check_max(qr->header, (int64_t)time(NULL), co->conf->max_request_validity,
				    &why);
	if (rc != CL_OK) {
		code = coord_refuse(co, ctx, qr, party_error_to_code(rc), why);
		goto out;
	}
	if (strcmp(qr->measure, "incident_events") != 0 &&
	    measures_parse_name(qr->measure, &measure) != CL_OK &&
	    cases_parse_name(qr->measure, &cases) != CL_OK) {
		code = coord_refuse(co, ctx, qr, RPC_UNIMPLEMENTED, "unknown measure");
		goto out;
	}
	if (qr->n_group_by > COORD_MAX_GROUPBY) {
		code = coord_refuse(co, ctx, qr, RPC_INVALID_ARGUMENT, "too many groupings");
		goto out;
	}
	for (i = 0; i < qr->n_group_by; i++) {
		int known = 0;

		for (j = 0; coord_groupings[j]; j++)
			known |= !strcmp(qr->group_by[i], coord_groupings[j]);
		if (!known) {
			code = coord_refuse(co, ctx, qr, RPC_INVALID_ARGUMENT, "unknown grouping");
			goto out;
		}
	}
	if (measure) {
		/* Linked measures have fixed keys; M1 only chooses its time bucket. */
		const char *by = qr->n_group_by == 1 ? qr->group_by[0] : NULL;

		if (qr->n_group_by > 1 || (by && measure != MEASURES_M1) ||
		    (by && strcmp(by, "quarter") && strcmp(by, "month") && strcmp(by, "year"))) {
			code =
			    coord_refuse(co, ctx, qr, RPC_INVALID_ARGUMENT,
					 "this measure's grouping is fixed (M1: quarter, month or "
					 "year)");
			goto out;
		}
		group_by = !by || !strcmp(by, "quarter") ? MEASURES_BY_QUARTER
			   : !strcmp(by, "month")	 ? MEASURES_BY_MONTH
							 : MEASURES_BY_YEAR;
		if (coord_date(qr->period_from, &from) != CL_OK ||
		    coord_date(qr->period_to, &to) != CL_OK || from >= to) {
			code = coord_refuse(co, ctx, qr, RPC_INVALID_ARGUMENT,
					    "period must be YYYY-MM-DD with from before to");
			goto out;
		}
	}
	rc = coord_check_requester(co, ctx, qr, &via, &code, reason);
	if (rc != CL_OK) {
		code = coord_refuse(co, ctx, qr, code, reason);
		goto out;
	}
	/* M7/M8 only from agency nodes about their own records; nodes ask nothing else */
	rc = cases ? cases_answer_check(cases, qr, co->conf, via, &cases_node, &to, &why) : CL_OK;
	if (!cases && qr->header->requester && qr->header->requester->role &&
	    !strcmp(qr->header->requester->role, "node")) {
		rc = CL_EPERM;
		why = "agency nodes ask only the case measures (M7, M8)";
	}
	if (rc != CL_OK) {
		code = coord_refuse(co, ctx, qr, party_error_to_code(rc), why);
		goto out;
	}
	/*
	 * The federation policy, on the original requester, before any node is
	 * asked (each node then applies its own). A refusal names file and rule.
	 */
	rc = policy_query_check(co->policy, co->rate, qr, (int64_t)time(NULL), &decision, &why);
	if (rc == CL_EINVAL) {
		code = coord_refuse(co, ctx, qr, RPC_INVALID_ARGUMENT, why);
		goto out;
	}
	if (rc != CL_OK) {
		code = coord_refuse(co, ctx, qr, party_error_to_code(rc),
				    rc == CL_EQUOTA || rc == CL_EDENIED ? decision.message
									: "policy check failed");
		goto out;
	}
	/*
	 * Allowed: `decision` holds the requester's role, the deciding rule and
	 * decision.disclosure (threshold, rounding, noise, budget) that disclosure
	 * control applies to this answer; decision.include_restricted for M7/M8.
	 */
	/* A regional's own node: its case request goes up to the national (docs/two-level.md). */
	if (cases && co->regional && regional_cases_up_enabled(co->regional)) {
		code = regional_cases_up(co->regional, ctx, qr, cases_node);
		goto out;
	}
	/* QueryRequest.nodes restricts the fan-out; checked before anything is charged. */
	if (coord_nodes_check(co, qr, &why) != CL_OK) {
		code = coord_refuse(co, ctx, qr, RPC_INVALID_ARGUMENT, why);
		goto out;
	}
	/* Disclosure control: a DP role's ε is charged now, before any node is asked. */
	if (!cases) {
		char bmsg[LEDGER_MESSAGE_MAX] = "";
		const char *const *mcols = NULL;
		size_t nk =
		    measure ? measures_columns(measure, group_by, &mcols) - 2 : qr->n_group_by;

		rc = coord_release_start(co, ctx, qr, &decision.disclosure, measure, nk, &rel, bmsg,
					 sizeof(bmsg));
		if (rc != CL_OK) {
			/* CL_EDENIED: under DP this query would release nothing (not charged). */
			code = coord_refuse(co, ctx, qr, party_error_to_code(rc),
					    rc == CL_EBUDGET || rc == CL_EDENIED
						? bmsg
						: "disclosure control failed");
			goto out;
		}
		/* The differencing check: every role, unless its policy has differencing: false. */
		differencing = !decision.disclosure.no_differencing;
	}
	if (cases)
		coord_case_asker(co, qr, via, &asker);
	else
		qr->case_asker = NULL;
	if (secure_computes(co->secure, measure))
		secure_request(co->secure, qr); /* the nodes send shares, no event */
	rc = coord_forward(co, qr,
			   measure || cases ? CASELINK__V1__QUERY_MODE__QUERY_MODE_TOKENS
					    : CASELINK__V1__QUERY_MODE__QUERY_MODE_AGGREGATE,
			   &fwd, &fwd_len);
	secure_request_clear(qr);
	calls = calloc(n, sizeof(*calls));
	cc = calloc(n, sizeof(*cc));
	pending = calloc(n, sizeof(*pending));
	if (rc == CL_OK && (!calls || !cc || !pending))
		rc = CL_ENOMEM;
	if (rc == CL_OK)
		rc = agg_new(qr->n_group_by, 1, &total);
	for (i = 0; rc == CL_OK && i < n; i++) {
		cc[i].nkeys = qr->n_group_by;
		cc[i].tokens = measure != 0 || cases != 0;
		cc[i].nd = &co->conf->nodes[i];
		pending[i] = 1;
		if (co->policy &&
		    !policy_participates(co->policy, policy_query_measure(qr->measure),
					 co->conf->nodes[i].id, co->conf->nodes[i].agency_type)) {
			/* Not asked; reported in the coverage as failed "not_participating". */
			pending[i] = 0;
			cc[i].not_participating = 1;
			calls[i].status.code = RPC_FAILED_PRECONDITION;
		} else if (!coord_node_requested(co, qr, i)) {
			/* Left out by QueryRequest.nodes: not asked, "not_requested" in coverage.
			 */
			pending[i] = 0;
			cc[i].not_requested = 1;
			calls[i].status.code = RPC_FAILED_PRECONDITION;
		}
		rc = agg_new(qr->n_group_by, 1, &cc[i].partial);
	}
	if (rc != CL_OK) {
		code = RPC_INTERNAL;
		rpc_ctx_set_message(ctx, cl_strerror(rc));
		goto out;
	}
	/* Leave the client time to receive the answer after the nodes' deadline. */
	remaining = rpc_ctx_remaining_ms(ctx);
	deadline = co->conf->deadline_ms;
	if (remaining != INT64_MAX && remaining - 200 < deadline)
		deadline = remaining > 400 ? remaining - 200 : 200;
	failed = coord_fan_out(co, calls, cc, pending, n, fwd, fwd_len, deadline);
	/* One retry with back-off for the nodes that were unreachable, if time allows. */
	if (failed && co->conf->retries > 0) {
		struct timespec backoff = {0, COORD_BACKOFF_MS * 1000000L};
		int retry = 0;

		for (i = 0; i < n; i++) {
			pending[i] = calls[i].status.code == RPC_UNAVAILABLE && !cc[i].malformed;
			retry |= pending[i];
		}
		remaining = rpc_ctx_remaining_ms(ctx);
		if (retry && (remaining == INT64_MAX || remaining > COORD_BACKOFF_MS + 600)) {
			nanosleep(&backoff, NULL);
			for (i = 0; i < n; i++) {
				if (!pending[i])
					continue;
				agg_free(cc[i].partial);
				cc[i].partial = NULL;
				coord_call_reset(&cc[i]);
				coord_call_forget_coverage(&cc[i]);
				if (agg_new(qr->n_group_by, 1, &cc[i].partial) != CL_OK)
					pending[i] = 0;
			}
			remaining = rpc_ctx_remaining_ms(ctx);
			if (remaining != INT64_MAX && remaining - 200 < deadline)
				deadline = remaining > 400 ? remaining - 200 : 200;
			coord_fan_out(co, calls, cc, pending, n, fwd, fwd_len, deadline);
		}
	}
	for (i = 0; i < n; i++)
		answered += calls[i].status.code == RPC_OK && !cc[i].malformed;
	if (cases) {
		remaining = rpc_ctx_remaining_ms(ctx);
		if (remaining != INT64_MAX && remaining - 200 < deadline)
			deadline = remaining > 400 ? remaining - 200 : 200;
		code = coord_answer_cases(co, ctx, qr, cases, cases_node, via, to, calls, cc,
					  deadline);
		goto out;
	}
	if (measure) {
		char why_linked[LEDGER_MESSAGE_MAX] = "";
		size_t nrows = 0;

		rc = coord_answer_linked(co, ctx, qr, measure, group_by, from, to, calls, cc, rel,
					 differencing, &nrows, why_linked, sizeof(why_linked));
		if (rc == CL_EDENIED) {
			code = coord_refuse(co, ctx, qr, RPC_PERMISSION_DENIED, why_linked);
			goto out;
		}
		if (rc != CL_OK) {
			code = party_error_to_code(rc);
			rpc_ctx_set_message(ctx, why_linked[0] ? why_linked : cl_strerror(rc));
			log_event(LOG_LEVEL_ERROR, "query_failed", "measure=%.16s error=%s",
				  qr->measure, cl_errname(rc));
			goto out;
		}
		log_event(LOG_LEVEL_INFO, "query_answered",
			  "peer=%.64s measure=%.32s nodes_asked=%zu nodes_answered=%zu rows=%zu",
			  rpc_ctx_peer_id(ctx), qr->measure, n, answered, nrows);
		goto out;
	}
	for (i = 0; i < n; i++) {
		size_t r, k;

		if (calls[i].status.code != RPC_OK || cc[i].malformed)
			continue;
		for (r = 0; r < agg_rows(cc[i].partial); r++) {
			const char *keys[COORD_MAX_GROUPBY];
			int64_t v = agg_value(cc[i].partial, r, 0);

			for (k = 0; k < qr->n_group_by; k++)
				keys[k] = agg_key(cc[i].partial, r, k);
			rc = agg_add(total, keys, &v);
			if (rc != CL_OK)
				break;
		}
	}
	if (rc == CL_OK)
		rc = agg_sort(total);
	/* Disclosure control: the cells are released as one table, then sent. */
	for (i = 0; rc == CL_OK && i < agg_rows(total); i++) {
		const char *cols[COORD_MAX_GROUPBY + 1];
		char count[32];
		size_t k;

		for (k = 0; k < qr->n_group_by; k++)
			cols[k] = agg_key(total, i, k);
		snprintf(count, sizeof(count), "%lld", (long long)agg_value(total, i, 0));
		cols[k] = count;
		rc = release_add(rel, cols, qr->n_group_by + 1);
	}
	if (rc == CL_OK) {
		char dmsg[LEDGER_MESSAGE_MAX] = "";
		size_t nrel = 0;

		rc = coord_release_send(co, ctx, qr, rel, differencing, calls, cc,
					(const char *const *)qr->group_by, qr->n_group_by,
					value_cols, &nrel, dmsg, sizeof(dmsg));
		if (rc == CL_EDENIED) {
			code = coord_refuse(co, ctx, qr, RPC_PERMISSION_DENIED, dmsg);
			goto out;
		}
	}
	if (rc != CL_OK) {
		code = party_error_to_code(rc);
		rpc_ctx_set_message(ctx, cl_strerror(rc));
		goto out;
	}
	log_event(LOG_LEVEL_INFO, "query_answered",
		  "peer=%.64s measure=incident_events nodes_asked=%zu nodes_answered=%zu rows=%zu",
		  rpc_ctx_peer_id(ctx), n, answered, agg_rows(total));
out:
	if (rel && code != RPC_OK)
		release_refund(rel, co->ledger); /* only when nothing was released */
	release_free(rel);
	party_rows_free(rows);
	for (i = 0; cc && i < n; i++) {
		agg_free(cc[i].partial);
		coord_call_reset(&cc[i]);
		coord_call_forget_coverage(&cc[i]);
	}
	agg_free(total);
	free(cc);
	free(calls);
	free(pending);
	free(fwd);
	if (qr)
		qr->case_asker = sent_asker;
	caselink__v1__query_request__free_unpacked(qr, NULL);
	return code;
}

static enum rpc_code coord_status(struct rpc_ctx *ctx, const uint8_t *req, size_t len, void *user)
{
	struct coord *co = user;
	const char *why = NULL;
	enum rpc_code code = party_status_reply(ctx, req, len, co->self_id, "coordinator", 0, &why);

	return code != RPC_OK && why ? coord_refuse(co, ctx, NULL, code, why) : code;
}

static int coord_open_channels(struct coord *co)
{
	struct rpc_channel_config cc;
	size_t i;
	int rc;

	co->channels = calloc(co->conf->nnodes, sizeof(*co->channels));
	if (!co->channels)
		return CL_ENOMEM;
	for (i = 0; i < co->conf->nnodes; i++) {
		memset(&cc, 0, sizeof(cc));
		cc.target = co->conf->nodes[i].address;
		cc.insecure_demo = co->conf->insecure_demo;
		party_tls_fill(co->tls, &cc.tls);
		/* The node's certificate must name it: its id is its TLS server name. */
		cc.server_name = co->conf->nodes[i].id;
		/* A regional coordinator stands as a node with its coordinator certificate. */
		cc.expected_roles =
		    co->conf->nodes[i].coordinator ? RPC_ROLE_COORDINATOR : RPC_ROLE_NODE;
		rc = rpc_channel_new(&cc, &co->channels[i]);
		if (rc != CL_OK)
			return rc;
	}
	return CL_OK;
}

/* The regional side's policy: this coordinator's own, on the original requester. */
static enum rpc_code coord_regional_policy(void *user, const Caselink__V1__QueryRequest *qr,
					   char *why, size_t whysz)
{
	struct coord *co = user;
	struct policy_decision decision;
	const char *reason = NULL;
	int rc =
	    policy_query_check(co->policy, co->rate, qr, (int64_t)time(NULL), &decision, &reason);

	if (rc == CL_OK)
		return RPC_OK;
	if (rc == CL_EDENIED || rc == CL_EQUOTA) {
		policy_query_reason(co->policy, &decision, why, whysz);
		return party_error_to_code(rc);
	}
	snprintf(why, whysz, "%s", rc == CL_EINVAL && reason ? reason : "policy check failed");
	return party_error_to_code(rc);
}

static int coord_regional_participates(void *user, const Caselink__V1__QueryRequest *qr, size_t i)
{
	struct coord *co = user;

	return !co->policy ||
	       policy_participates(co->policy, policy_query_measure(qr->measure),
				   co->conf->nodes[i].id, co->conf->nodes[i].agency_type);
}

/*
 * A regional coordinator (`upstream:` configured) also serves the Node service, so that a
 * national coordinator can ask it as one of its nodes (coordinator/regional.h).
 */
static int coord_regional_serve(struct coord *co, struct rpc_server *srv)
{
	struct regional_config rc_cfg;
	struct rpc_tls tls;
	int rc;

	memset(&rc_cfg, 0, sizeof(rc_cfg));
	party_tls_fill(co->tls, &tls);
	rc_cfg.tls = co->tls ? &tls : NULL; /* the channel up, for its nodes' case requests */
	rc_cfg.conf = co->conf;
	rc_cfg.channels = co->channels;
	rc_cfg.signer = co->signer;
	rc_cfg.verifier = co->verifier;
	rc_cfg.replay = co->replay;
	rc_cfg.disclosed = co->disclosed;
	rc_cfg.audit = co->audit;
	rc_cfg.policy_check = coord_regional_policy;
	rc_cfg.participates = coord_regional_participates;
	rc_cfg.policy_user = co;
	rc = regional_new(&rc_cfg, &co->regional);
	if (rc == CL_OK)
		rc = rpc_server_add_method(srv, RPC_METHOD_NODE_STATUS, RPC_UNARY,
					   RPC_ROLE_COORDINATOR, coord_status, co);
	if (rc == CL_OK)
		rc = rpc_server_add_method(srv, RPC_METHOD_NODE_QUERY, RPC_SERVER_STREAMING,
					   RPC_ROLE_COORDINATOR, regional_query, co->regional);
	return rc;
}

int coord_audit_verify_main(int argc, char **argv)
{
	return audit_verify_main("caselink-coordinator", "audit.db", argc, argv);
}

int coord_serve_main(int argc, char **argv)
{
	const char *config = NULL, *ready = NULL, *data = NULL;
	struct coord co;
	struct rpc_server *srv = NULL;
	struct rpc_server_config sc;
	char err[512] = "", role[RPC_PEER_ROLE_MAX];
	struct daemon_opts opts;
	int foreground = 0, port = 0, signo = 0, rc;
	size_t k;

	memset(&co, 0, sizeof(co));
	rc = daemon_parse("caselink-coordinator", argc, argv, &opts);
	if (rc != CL_OK)
		return rc;
	data = opts.data;
	config = opts.config;
	ready = opts.ready;
	foreground = opts.foreground;
	log_init("coordinator", LOG_LEVEL_INFO);
	rc = partyconf_load(config, PARTYCONF_COORDINATOR, &co.conf, err, sizeof(err));
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-coordinator serve: %s\n", *err ? err : cl_strerror(rc));
		goto out;
	}
	snprintf(co.self_id, sizeof(co.self_id), "coordinator");
	if (!co.conf->insecure_demo) {
		char *pem = NULL;
		size_t pem_len = 0;

		rc = party_tls_load(co.conf->tls_ca, co.conf->tls_cert, co.conf->tls_key,
				    co.conf->tls_crl, &co.tls, err, sizeof(err));
		if (rc == CL_OK)
			rc = pki_read_file(co.conf->tls_cert, PKI_PEM_MAX, &pem, &pem_len);
		if (rc == CL_OK)
			rc = pki_cert_identity(pem, pem_len, co.self_id, sizeof(co.self_id), role,
					       sizeof(role));
		free(pem);
		if (rc == CL_OK) {
			struct rpc_tls t;

			party_tls_fill(co.tls, &t);
			rc = sign_key_load(t.key_pem, t.cert_pem, &co.signer);
			if (rc == CL_OK)
				rc = sign_verifier_new(t.ca_pem, t.crl_pem, &co.verifier);
		}
		if (rc != CL_OK) {
			fprintf(stderr, "caselink-coordinator serve: %s\n",
				*err ? err : cl_strerror(rc));
			goto out;
		}
	}
	if (co.conf->policy[0]) {
		rc = policy_query_open(co.conf->policy, POLICY_SCOPE_FEDERATION, &co.policy, err,
				       sizeof(err));
		if (rc != CL_OK) {
			fprintf(stderr, "caselink-coordinator serve: policy: %s\n",
				*err ? err : cl_strerror(rc));
			goto out;
		}
	} else {
		log_event(LOG_LEVEL_WARN, "policy_absent",
			  "INSECURE DEMO WITHOUT A POLICY: every query of every requester is "
			  "allowed");
	}
	rc = policy_rate_new(&co.rate);
	if (rc != CL_OK)
		goto out;
	rc = audit_open_in(data, "audit.db", AUDIT_OPEN_CREATE, &co.audit);
	if (rc == CL_OK) {
		/* The privacy ledger beside the audit log: survives restarts. */
		char lpath[1024];
		int kl = snprintf(lpath, sizeof(lpath), "%s/ledger.db", data);

		rc = kl > 0 && (size_t)kl < sizeof(lpath) ? ledger_open(lpath, &co.ledger)
							  : CL_ELIMIT;
	}
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-coordinator serve: %s in %s: %s\n",
			co.audit ? "privacy ledger ledger.db" : "audit log audit.db", data,
			cl_strerror(rc));
		goto out;
	}
	/* Persistent: a restarted coordinator still refuses what it accepted (docs/protocol.md). */
	rc =
	    replay_open_in(data, REPLAY_FILE, 0, (int64_t)time(NULL), &co.replay, err, sizeof(err));
	if (rc == CL_OK && co.conf->nupstream) /* a regional relays DISCLOSE once per nonce */
		rc = replay_open_in(data, COORD_DISCLOSED_FILE, 0, (int64_t)time(NULL),
				    &co.disclosed, err, sizeof(err));
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-coordinator serve: %s\n", *err ? err : cl_strerror(rc));
		goto out;
	}
	if (!foreground) {
		rc = daemon_detach();
		if (rc != CL_OK)
			goto out;
	}
	rc = rpc_signals_block();
	if (rc == CL_OK)
		rc = coord_open_channels(&co);
	if (rc == CL_OK && co.conf->ncompute) {
		char serr[256] = "";

		rc = secure_new(co.conf, co.tls, co.self_id, &co.secure, serr, sizeof(serr));
		if (rc != CL_OK)
			fprintf(stderr, "caselink-coordinator serve: %s\n", serr);
	}
	if (rc != CL_OK)
		goto out;
	memset(&sc, 0, sizeof(sc));
	sc.listen_addr = co.conf->listen;
	sc.insecure_demo = co.conf->insecure_demo;
	if (co.secure) /* Compute.Exchange: two handlers beyond the running computations */
		sc.workers = RPC_WORKERS_DEFAULT + 6;
	if (co.secure)
		sc.max_message_bytes = MPC_NET_MAX_MESSAGE + MPC_RPC_MSG_OVERHEAD;
	party_tls_fill(co.tls, &sc.tls);
	rc = rpc_server_new(&sc, &srv);
	if (rc == CL_OK && co.secure)
		rc = secure_register(co.secure, srv);
	if (rc == CL_OK)
		rc = rpc_server_add_method(srv, RPC_METHOD_COORDINATOR_STATUS, RPC_UNARY,
					   RPC_ROLE_ANY, coord_status, &co);
	if (rc == CL_OK)
		rc = rpc_server_add_method(srv, RPC_METHOD_COORDINATOR_QUERY, RPC_SERVER_STREAMING,
					   RPC_ROLE_USER | RPC_ROLE_NODE | RPC_ROLE_COORDINATOR,
					   coord_query, &co);
	if (rc == CL_OK && co.conf->nupstream)
		rc = coord_regional_serve(&co, srv);
	if (rc == CL_OK)
		rc = rpc_server_start(srv, &port);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-coordinator serve: cannot serve on %s: %s\n",
			co.conf->listen, cl_strerror(rc));
		goto out;
	}
	log_event(LOG_LEVEL_INFO, "serve_start", "listen=%s port=%d nodes=%zu tls=%s policy=%s",
		  co.conf->listen, port, co.conf->nnodes,
		  co.conf->insecure_demo ? "off-INSECURE-DEMO" : "mutual",
		  co.policy ? policy_name(co.policy) : "NONE-INSECURE-DEMO");
	rc = daemon_ready(ready, co.conf->listen, port);
	if (rc == CL_OK)
		rc = rpc_server_wait_signal(srv, COORD_DRAIN_MS, &signo);
	log_event(LOG_LEVEL_INFO, "serve_stop", "signal=%d", signo);
out:
	rpc_server_free(srv);
	secure_free(co.secure);
	regional_free(co.regional);
	for (k = 0; co.channels && co.conf && k < co.conf->nnodes; k++)
		rpc_channel_free(co.channels[k]);
	free(co.channels);
	party_tls_free(co.tls);
	sign_key_free(co.signer);
	sign_verifier_free(co.verifier);
	replay_free(co.replay);
	replay_free(co.disclosed);
	audit_close(co.audit);
	ledger_close(co.ledger);
	policy_free(co.policy);
	policy_rate_free(co.rate);
	partyconf_free(co.conf);
	return rc;
}
