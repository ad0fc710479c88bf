#include "keyholder/serve.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/audit.h"
#include "common/cl_error.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/partyconf.h"
#include "common/replay.h"
#include "keyholder/keystore.h"
#include "keyholder/quota.h"
#include "protocol/oprf.h"
#include "protocol/party.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"

#define KH_SERVE_DRAIN_MS   5000
#define KH_SERVE_MSG_EXTRA  (64u * 1024) /* header and framing beyond the elements */
#define KH_SERVE_PER_ELEM   40u		 /* 33 bytes, tag and length, with room to spare */
#define KH_SERVE_DETAILS    256
#define KH_SERVE_WHY	    RPC_STATUS_MSG_MAX
#define KH_SERVE_DEMO_ACTOR "insecure-demo"

struct kh_server {
	const char *data_dir;
	struct partyconf *conf;
	struct kh_keystore *keys;
	struct kh_quota *quota;
	struct audit *audit;
	struct replay *replay; /* DATA/replay.db: request ids already evaluated */
	char self_id[RPC_PEER_ID_MAX];
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	size_t npool, nfree;
	struct oprf_ctx **pool;	     /* every context, freed at the end */
	struct oprf_ctx **free_ctxs; /* the ones not in use */
};

static int64_t kh_serve_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *kh_serve_actor(struct rpc_ctx *ctx)
{
	const char *peer = rpc_ctx_peer_id(ctx);

	return peer && *peer ? peer : KH_SERVE_DEMO_ACTOR;
}

/* Appends one BlindEvaluate outcome to the audit log: never elements, only their count. */
static int kh_serve_audit(struct kh_server *ks, struct rpc_ctx *ctx, size_t n, uint32_t epoch,
			  enum rpc_code code, const char *reason)
{
	char details[KH_SERVE_DETAILS];
	int rc;

	snprintf(details, sizeof(details), "elements=%zu epoch=%u outcome=%s code=%d reason=%s", n,
		 (unsigned)epoch, code == RPC_OK ? "ok" : "refused", (int)code, reason);
	rc = audit_append(ks->audit, kh_serve_actor(ctx), "blind_evaluate", details, NULL);
	if (rc != CL_OK)
		log_event(LOG_LEVEL_ERROR, "audit_failed", "error=%s", cl_errname(rc));
	return rc;
}

/* Refuses a BlindEvaluate: status message, log line and audit entry. */
static enum rpc_code kh_serve_refuse(struct kh_server *ks, struct rpc_ctx *ctx, size_t n,
				     uint32_t epoch, enum rpc_code code, const char *reason,
				     const char *why)
{
	rpc_ctx_set_message(ctx, why);
	log_event(LOG_LEVEL_WARN, "refused", "peer=%.64s code=%d reason=%s elements=%zu",
		  kh_serve_actor(ctx), (int)code, reason, n);
	kh_serve_audit(ks, ctx, n, epoch, code, reason);
	return code;
}

static int kh_serve_registered(const struct kh_server *ks, struct rpc_ctx *ctx)
{
	if (ks->conf->insecure_demo)
		return 1;
	return partyconf_find_node(ks->conf, rpc_ctx_peer_id(ctx)) != NULL;
}

static struct oprf_ctx *kh_serve_ctx_get(struct kh_server *ks)
{
	struct oprf_ctx *c;

	pthread_mutex_lock(&ks->pool_lock);
	while (ks->nfree == 0)
		pthread_cond_wait(&ks->pool_cond, &ks->pool_lock);
	c = ks->free_ctxs[--ks->nfree];
	pthread_mutex_unlock(&ks->pool_lock);
	return c;
}

static void kh_serve_ctx_put(struct kh_server *ks, struct oprf_ctx *c)
{
	pthread_mutex_lock(&ks->pool_lock);
	ks->free_ctxs[ks->nfree++] = c;
	pthread_cond_signal(&ks->pool_cond);
	pthread_mutex_unlock(&ks->pool_lock);
}

/* Evaluates n elements with the key of epoch; on CL_EBADPOINT *bad gets the first bad one. */
static int kh_serve_evaluate(struct kh_server *ks, uint32_t epoch, const uint8_t *in, size_t n,
			     uint8_t *out, size_t *bad)
{
	struct oprf_ctx *c = kh_serve_ctx_get(ks);
	int rc = kh_keystore_evaluate(ks->keys, epoch, c, in, n, out, bad);

	kh_serve_ctx_put(ks, c);
	return rc;
}

static enum rpc_code kh_serve_blind_evaluate(struct rpc_ctx *ctx, const uint8_t *req, size_t len,
					     void *user)
{
	struct kh_server *ks = user;
	Caselink__V1__BlindEvaluateRequest *br = NULL;
	Caselink__V1__BlindEvaluateResponse resp = CASELINK__V1__BLIND_EVALUATE_RESPONSE__INIT;
	ProtobufCBinaryData *outs = NULL;
	enum kh_quota_limit limit = KH_QUOTA_NONE;
	uint8_t *in = NULL, *out = NULL, *msg = NULL;
	char why[KH_SERVE_WHY];
	const char *hwhy = NULL;
	size_t n = 0, i, bytes = 0, bad = 0, msg_len = 0;
	uint64_t used = 0;
	uint32_t epoch = 0, cur = kh_keystore_current(ks->keys);
	int64_t now_ms = kh_serve_now_ms();
	enum rpc_code code = RPC_OK;
	int rc, charged = 0;

	if (!ks->conf->insecure_demo &&
	    rpc_role_from_name(rpc_ctx_peer_role(ctx)) != (unsigned)RPC_ROLE_NODE)
		return kh_serve_refuse(ks, ctx, 0, 0, RPC_PERMISSION_DENIED, "wrong_role",
				       "only nodes may ask for evaluations");
	if (!kh_serve_registered(ks, ctx))
		return kh_serve_refuse(ks, ctx, 0, 0, RPC_PERMISSION_DENIED, "unregistered",
				       "peer is not a registered node of this keyholder");
	br = caselink__v1__blind_evaluate_request__unpack(NULL, len, req);
	if (!br)
		return kh_serve_refuse(ks, ctx, 0, 0, RPC_INVALID_ARGUMENT, "malformed",
				       "malformed BlindEvaluateRequest");
	n = br->n_blinded_elements;
	rc = party_header_check_max(br->header, now_ms / 1000, ks->conf->max_request_validity,
				    &hwhy);
	if (rc != CL_OK) {
		code = kh_serve_refuse(ks, ctx, n, br->key_epoch, party_error_to_code(rc), "header",
				       hwhy);
		goto out;
	}
	rc = replay_check(ks->replay, br->header->request_id.data, br->header->request_id.len,
			  br->header->expires_at, now_ms / 1000);
	if (rc != CL_OK) {
		code = party_replay_refusal(rc, &hwhy);
		code = kh_serve_refuse(ks, ctx, n, br->key_epoch, code, "replay", hwhy);
		goto out;
	}
	rc = kh_keystore_choose(ks->keys, br->key_epoch, now_ms / 1000,
				ks->conf->retired_grace_seconds, &epoch);
	if (rc == CL_ENOTFOUND) {
		snprintf(why, sizeof(why),
			 "key epoch %u is unknown to this keyholder (current epoch %u)",
			 (unsigned)br->key_epoch, (unsigned)cur);
		code = kh_serve_refuse(ks, ctx, n, br->key_epoch, RPC_FAILED_PRECONDITION,
				       "unknown_epoch", why);
		goto out;
	}
	if (rc != CL_OK) {
		snprintf(why, sizeof(why),
			 "key epoch %u is retired (current epoch %u): outputs cached under "
			 "epoch %u must be discarded and evaluated again",
			 (unsigned)br->key_epoch, (unsigned)cur, (unsigned)br->key_epoch);
		code = kh_serve_refuse(ks, ctx, n, br->key_epoch, RPC_FAILED_PRECONDITION,
				       "retired_epoch", why);
		goto out;
	}
	if (n == 0 || n > (size_t)ks->conf->max_batch) {
		snprintf(why, sizeof(why), "a batch must hold 1 to %lld elements, not %zu",
			 ks->conf->max_batch, n);
		code = kh_serve_refuse(ks, ctx, n, epoch, RPC_INVALID_ARGUMENT, "batch_size", why);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (br->blinded_elements[i].len != OPRF_ELEMENT_LEN) {
			snprintf(why, sizeof(why),
				 "element %zu is not a %d-byte serialized P-256 point; nothing "
				 "was evaluated",
				 i, OPRF_ELEMENT_LEN);
			code = kh_serve_refuse(ks, ctx, n, epoch, RPC_INVALID_ARGUMENT,
					       "element_size", why);
			goto out;
		}
	}
	rc = kh_quota_take(ks->quota, kh_serve_actor(ctx), n, now_ms, &limit, &used);
	if (rc == CL_EQUOTA) {
		if (limit == KH_QUOTA_RATE)
			snprintf(why, sizeof(why),
				 "rate limit: %zu elements exceed what this node may ask now "
				 "(%lld per minute); retry later",
				 n, ks->conf->rate_per_minute);
		else
			snprintf(why, sizeof(why),
				 "daily quota: this node has used %llu of its %lld elements for "
				 "this UTC day; a batch of %zu is refused",
				 (unsigned long long)used, ks->conf->daily_quota, n);
		code = kh_serve_refuse(ks, ctx, n, epoch, RPC_RESOURCE_EXHAUSTED,
				       limit == KH_QUOTA_RATE ? "rate_limit" : "daily_quota", why);
		goto out;
	}
	if (rc != CL_OK) {
		log_event(LOG_LEVEL_ERROR, "quota_failed", "error=%s", cl_errname(rc));
		code = kh_serve_refuse(ks, ctx, n, epoch, RPC_UNAVAILABLE, "quota_store",
				       "quota store unavailable");
		goto out;
	}
	charged = 1;
	if (__builtin_mul_overflow(n, (size_t)OPRF_ELEMENT_LEN, &bytes)) {
		code = RPC_INTERNAL;
		goto out;
	}
	in = malloc(bytes);
	out = malloc(bytes);
	outs = calloc(n, sizeof(*outs));
	if (!in || !out || !outs) {
		code = kh_serve_refuse(ks, ctx, n, epoch, RPC_RESOURCE_EXHAUSTED, "memory",
				       "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		memcpy(in + i * OPRF_ELEMENT_LEN, br->blinded_elements[i].data, OPRF_ELEMENT_LEN);
	rc = kh_serve_evaluate(ks, epoch, in, n, out, &bad);
	if (rc == CL_EBADPOINT) {
		snprintf(why, sizeof(why),
			 "element %zu is not a valid P-256 point; nothing was evaluated", bad);
		code = kh_serve_refuse(ks, ctx, n, epoch, RPC_INVALID_ARGUMENT, "bad_point", why);
		goto out;
	}
	if (rc != CL_OK) {
		log_event(LOG_LEVEL_ERROR, "evaluate_failed", "error=%s", cl_errname(rc));
		code = kh_serve_refuse(ks, ctx, n, epoch, RPC_INTERNAL, "evaluate",
				       "evaluation failed");
		goto out;
	}
	for (i = 0; i < n; i++) {
		outs[i].data = out + i * OPRF_ELEMENT_LEN;
		outs[i].len = OPRF_ELEMENT_LEN;
	}
	resp.key_epoch = epoch;
	resp.n_evaluated_elements = n;
	resp.evaluated_elements = outs;
	msg_len = caselink__v1__blind_evaluate_response__get_packed_size(&resp);
	msg = malloc(msg_len ? msg_len : 1);
	if (!msg) {
		code = kh_serve_refuse(ks, ctx, n, epoch, RPC_RESOURCE_EXHAUSTED, "memory",
				       "out of memory");
		goto out;
	}
	caselink__v1__blind_evaluate_response__pack(&resp, msg);
	/* Fail closed: nothing leaves without its audit entry. */
	if (kh_serve_audit(ks, ctx, n, epoch, RPC_OK, "none") != CL_OK) {
		rpc_ctx_set_message(ctx, "audit log unavailable");
		code = RPC_UNAVAILABLE;
		goto out;
	}
	charged = 0;
	if (rpc_ctx_send(ctx, msg, msg_len) != CL_OK) {
		code = RPC_CANCELLED;
		goto out;
	}
	log_event(LOG_LEVEL_INFO, "evaluated", "peer=%.64s elements=%zu epoch=%u",
		  kh_serve_actor(ctx), n, (unsigned)epoch);
out:
	if (charged)
		kh_quota_refund(ks->quota, kh_serve_actor(ctx), n, now_ms);
	if (out)
		OPENSSL_cleanse(out, bytes);
	if (msg)
		OPENSSL_cleanse(msg, msg_len);
	free(msg);
	free(outs);
	free(out);
	free(in);
	caselink__v1__blind_evaluate_request__free_unpacked(br, NULL);
	return code;
}

static enum rpc_code kh_serve_status(struct rpc_ctx *ctx, const uint8_t *req, size_t len,
				     void *user)
{
	struct kh_server *ks = user;
	const char *why = NULL;
	enum rpc_code code = party_status_reply(ctx, req, len, ks->self_id, "keyholder",
						kh_keystore_current(ks->keys), &why);

	if (code != RPC_OK && why)
		rpc_ctx_set_message(ctx, why);
	return code;
}

static int kh_serve_pool_new(struct kh_server *ks, size_t n)
{
	size_t i;
	int rc;

	ks->pool = calloc(n, sizeof(*ks->pool));
	ks->free_ctxs = calloc(n, sizeof(*ks->free_ctxs));
	if (!ks->pool || !ks->free_ctxs)
		return CL_ENOMEM;
	for (i = 0; i < n; i++) {
		rc = oprf_ctx_new(&ks->pool[i]);
		if (rc != CL_OK)
			return rc;
		ks->npool = i + 1;
		ks->free_ctxs[i] = ks->pool[i];
	}
	ks->nfree = n;
	return CL_OK;
}

static void kh_serve_pool_free(struct kh_server *ks)
{
	size_t i;

	for (i = 0; ks->pool && i < ks->npool; i++)
		oprf_ctx_free(ks->pool[i]);
	free(ks->pool);
	free(ks->free_ctxs);
}

/* Reads the daemon's own certificate name (for Status). */
static int kh_serve_self_id(struct kh_server *ks)
{
	char role[RPC_PEER_ROLE_MAX], *pem = NULL;
	size_t pem_len = 0;
	int rc;

	snprintf(ks->self_id, sizeof(ks->self_id), "keyholder");
	if (ks->conf->insecure_demo)
		return CL_OK;
	rc = pki_read_file(ks->conf->tls_cert, PKI_PEM_MAX, &pem, &pem_len);
	if (rc == CL_OK)
		rc = pki_cert_identity(pem, pem_len, ks->self_id, sizeof(ks->self_id), role,
				       sizeof(role));
	free(pem);
	return rc;
}

int kh_serve_main(int argc, char **argv)
{
	const char *data = NULL, *config = NULL, *ready = NULL;
	struct kh_server ks;
	struct party_tls *tls = NULL;
	struct rpc_server *srv = NULL;
	struct rpc_server_config sc;
	char err[512] = "", db[KH_KEYSTORE_PATH_MAX + 32], details[128];
	struct kh_keystore_epoch cur;
	size_t max_msg = 0;
	struct daemon_opts opts;
	int foreground = 0, port = 0, signo = 0, rc, n;

	memset(&ks, 0, sizeof(ks));
	pthread_mutex_init(&ks.pool_lock, NULL);
	pthread_cond_init(&ks.pool_cond, NULL);
	rc = daemon_parse("caselink-keyholder", argc, argv, &opts);
	if (rc != CL_OK)
		goto out;
	data = opts.data;
	config = opts.config;
	ready = opts.ready;
	foreground = opts.foreground;
	log_init("keyholder", LOG_LEVEL_INFO);
	/* detached first: the memory lock of the keys is not inherited across fork */
	if (!foreground) {
		rc = daemon_detach();
		if (rc != CL_OK)
			goto out;
	}
	rc = daemon_protect();
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-keyholder serve: memory protection: %s\n",
			cl_strerror(rc));
		goto out;
	}
	rc = partyconf_load(config, PARTYCONF_KEYHOLDER, &ks.conf, err, sizeof(err));
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-keyholder serve: %s\n", *err ? err : cl_strerror(rc));
		goto out;
	}
	ks.data_dir = data;
	rc = kh_keystore_load(data, &ks.keys);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-keyholder serve: keys in %s: %s\n", data,
			cl_strerror(rc));
		goto out;
	}
	n = snprintf(db, sizeof(db), "%s/%s", data, KH_DB_FILE);
	if (n < 0 || (size_t)n >= sizeof(db)) {
		rc = CL_ELIMIT;
		goto out;
	}
	rc = audit_open(db, AUDIT_OPEN_CREATE, &ks.audit);
	if (rc == CL_OK)
		rc = kh_quota_open(db, ks.conf->rate_per_minute, ks.conf->daily_quota, &ks.quota);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-keyholder serve: %s: %s\n", db, cl_strerror(rc));
		goto out;
	}
	/* Persistent: a restarted keyholder still refuses what it evaluated (docs/protocol.md). */
	rc =
	    replay_open_in(data, REPLAY_FILE, 0, (int64_t)time(NULL), &ks.replay, err, sizeof(err));
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-keyholder serve: %s\n", *err ? err : cl_strerror(rc));
		goto out;
	}
	rc = kh_serve_pool_new(&ks, (size_t)ks.conf->workers);
	if (rc != CL_OK)
		goto out;
	if (!ks.conf->insecure_demo) {
		rc = party_tls_load(ks.conf->tls_ca, ks.conf->tls_cert, ks.conf->tls_key,
				    ks.conf->tls_crl, &tls, err, sizeof(err));
		if (rc == CL_OK)
			rc = kh_serve_self_id(&ks);
		if (rc != CL_OK) {
			fprintf(stderr, "caselink-keyholder serve: %s\n",
				*err ? err : cl_strerror(rc));
			goto out;
		}
	}
	rc = rpc_signals_block();
	if (rc != CL_OK)
		goto out;
	/*
	 * BlindEvaluate is open to every federation role at the transport so that
	 * the handler can audit a refused role; it answers nodes only. Messages
	 * are only as large as the largest allowed batch.
	 */
	max_msg = (size_t)ks.conf->max_batch * KH_SERVE_PER_ELEM + KH_SERVE_MSG_EXTRA;
	memset(&sc, 0, sizeof(sc));
	sc.listen_addr = ks.conf->listen;
	sc.insecure_demo = ks.conf->insecure_demo;
	sc.max_message_bytes = max_msg;
	sc.workers = (unsigned)ks.conf->workers;
	party_tls_fill(tls, &sc.tls);
	rc = rpc_server_new(&sc, &srv);
	if (rc == CL_OK)
		rc = rpc_server_add_method(srv, RPC_METHOD_KEYHOLDER_STATUS, RPC_UNARY,
					   RPC_ROLE_NODE | RPC_ROLE_COORDINATOR, kh_serve_status,
					   &ks);
	if (rc == CL_OK)
		rc = rpc_server_add_method(srv, RPC_METHOD_KEYHOLDER_BLIND_EVAL, RPC_UNARY,
					   RPC_ROLE_ANY, kh_serve_blind_evaluate, &ks);
	if (rc == CL_OK)
		rc = rpc_server_start(srv, &port);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-keyholder serve: cannot serve on %s: %s\n",
			ks.conf->listen, cl_strerror(rc));
		goto out;
	}
	kh_keystore_info(ks.keys, kh_keystore_count(ks.keys) - 1, &cur);
	snprintf(details, sizeof(details), "epoch=%u key_id=%s nodes=%zu", (unsigned)cur.epoch,
		 cur.key_id, ks.conf->nnodes);
	rc = audit_append(ks.audit, ks.self_id, "serve_start", details, NULL);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-keyholder serve: audit log: %s\n", cl_strerror(rc));
		goto out;
	}
	log_event(LOG_LEVEL_INFO, "serve_start",
		  "listen=%s port=%d tls=%s epoch=%u key_id=%s nodes=%zu workers=%lld",
		  ks.conf->listen, port, ks.conf->insecure_demo ? "off-INSECURE-DEMO" : "mutual",
		  (unsigned)cur.epoch, cur.key_id, ks.conf->nnodes, ks.conf->workers);
	rc = daemon_ready(ready, ks.conf->listen, port);
	if (rc == CL_OK)
		rc = rpc_server_wait_signal(srv, KH_SERVE_DRAIN_MS, &signo);
	snprintf(details, sizeof(details), "signal=%d", signo);
	audit_append(ks.audit, ks.self_id, "serve_stop", details, NULL);
	log_event(LOG_LEVEL_INFO, "serve_stop", "signal=%d", signo);
out:
	rpc_server_free(srv);
	party_tls_free(tls);
	kh_serve_pool_free(&ks);
	kh_quota_close(ks.quota);
	replay_free(ks.replay);
	audit_close(ks.audit);
	kh_keystore_free(ks.keys);
	partyconf_free(ks.conf);
	pthread_cond_destroy(&ks.pool_cond);
	pthread_mutex_destroy(&ks.pool_lock);
	return rc;
}
