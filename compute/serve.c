#include "compute/serve.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/audit.h"
#include "common/cl_error.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/replay.h"
#include "compute/compute_job.h"
#include "compute/computeconf.h"
#include "compute/mpc_rpc.h"
#include "protocol/party.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"

#define CP_SERVE_MSG_EXTRA  (64u * 1024) /* ComputeStart bytes beyond the job */
#define CP_SERVE_DETAILS    512
#define CP_SERVE_STOP_MS    5000 /* rpc drain once no computation runs */
#define CP_SERVE_CODE_MAX   16	 /* bytes of a measure code */
#define CP_SERVE_REPLAY_MAX 65536

struct cp_server {
	struct computeconf *conf;
	struct audit *audit;
	struct mpc_rpc *mpc;
	struct replay *replay;
	char self_id[RPC_PEER_ID_MAX + 1];
	const char *key_pem; /* this party's private key: opens the nodes' sealed seeds */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned running;
	int draining;
	unsigned long long done, failed;
};

/* One Start call being served. */
struct cp_start {
	Caselink__V1__ComputeStartRequest *req;
	char comp_hex[2 * 32 + 1];
	char query_hex[2 * 32 + 1];
	char measure[CP_SERVE_CODE_MAX + 1];
	char period[32];
};

static void cp_hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < n && 2 * i + 2 < cap; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* A coded value made only of [A-Za-z0-9_-], 1..max bytes ("" for none). */
static int cp_code_ok(const char *s, size_t max, int empty_ok)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0)
		return empty_ok;
	if (n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static const char *cp_actor(struct rpc_ctx *ctx)
{
	const char *peer = rpc_ctx_peer_id(ctx);

	return peer && *peer ? peer : "insecure-demo";
}

/* Refuses a Start: status message, log line and audit entry (no values, only coded fields). */
static enum rpc_code cp_refuse(struct cp_server *cs, struct rpc_ctx *ctx, const struct cp_start *st,
			       enum rpc_code code, const char *reason, const char *why)
{
	char details[CP_SERVE_DETAILS];

	rpc_ctx_set_message(ctx, why);
	log_event(LOG_LEVEL_WARN, "compute_refused", "peer=%.64s code=%d reason=%s", cp_actor(ctx),
		  (int)code, reason);
	snprintf(details, sizeof(details), "computation=%s code=%d reason=%s",
		 st && st->comp_hex[0] ? st->comp_hex : "-", (int)code, reason);
	if (audit_append(cs->audit, cp_actor(ctx), "compute_refused", details, NULL) != CL_OK)
		log_event(LOG_LEVEL_ERROR, "audit_failed", "action=compute_refused");
	return code;
}

enum rpc_code cp_start_check(const Caselink__V1__ComputeStartRequest *r, unsigned party,
			     size_t max_job, int64_t now, const char **reason, char *why,
			     size_t whysz)
{
	const Caselink__V1__ComputeQuery *q = r->query;
	const char *hwhy = NULL;
	int rc;

	*reason = "header";
	rc = party_header_check(r->header, now, &hwhy);
	if (rc != CL_OK) {
		snprintf(why, whysz, "%s", hwhy);
		return party_error_to_code(rc);
	}
	*reason = "party";
	if (r->party != party) {
		snprintf(why, whysz, "this is computing party %u, not party %u", party, r->party);
		return RPC_INVALID_ARGUMENT;
	}
	*reason = "computation_id";
	if (r->computation_id.len < 16 || r->computation_id.len > 32) {
		snprintf(why, whysz, "computation id must be 16 to 32 bytes, not %zu",
			 r->computation_id.len);
		return RPC_INVALID_ARGUMENT;
	}
	*reason = "query";
	if (!q || !cp_code_ok(q->measure, CP_SERVE_CODE_MAX, 0) ||
	    !cp_code_ok(q->period_from, 10, 1) || !cp_code_ok(q->period_to, 10, 1) ||
	    q->query_request_id.len > 32) {
		snprintf(why, whysz,
			 "the query must name a measure code (1 to %d of A-Z, a-z, "
			 "0-9, _ -), a period of dates and a request id of at most 32 bytes",
			 CP_SERVE_CODE_MAX);
		return RPC_INVALID_ARGUMENT;
	}
	*reason = "job_size";
	if (r->job.len == 0 || r->job.len > max_job) {
		snprintf(why, whysz, "a job must hold 1 to %zu bytes, not %zu", max_job,
			 r->job.len);
		return RPC_RESOURCE_EXHAUSTED;
	}
	return RPC_OK;
}

/* Checks what a Start asks before anything runs, then that it is not replayed. */
static enum rpc_code cp_check(struct cp_server *cs, const Caselink__V1__ComputeStartRequest *r,
			      const char **reason, char *why, size_t whysz)
{
	int64_t now = (int64_t)time(NULL);
	enum rpc_code code;
	int rc;

	code = cp_start_check(r, cs->conf->party, (size_t)cs->conf->max_job_bytes, now, reason, why,
			      whysz);
	if (code != RPC_OK)
		return code;
	*reason = "replay";
	rc = replay_check(cs->replay, r->header->request_id.data, r->header->request_id.len,
			  r->header->expires_at, now);
	if (rc != CL_OK) {
		const char *rwhy = NULL;
		enum rpc_code rcode = party_replay_refusal(rc, &rwhy);

		snprintf(why, whysz, "%s", rwhy);
		return rcode;
	}
	return RPC_OK;
}

/* Admits one more running computation, unless draining or full. */
static enum rpc_code cp_admit(struct cp_server *cs, const char **reason, char *why, size_t whysz)
{
	enum rpc_code code = RPC_OK;

	pthread_mutex_lock(&cs->lock);
	if (cs->draining) {
		*reason = "draining";
		snprintf(why, whysz, "party %u (%.64s): shutting down, no new computation",
			 cs->conf->party, cs->self_id);
		code = RPC_UNAVAILABLE;
	} else if (cs->running >= (unsigned)cs->conf->max_computations) {
		*reason = "busy";
		snprintf(why, whysz, "party %u (%.64s): runs %u computations already",
			 cs->conf->party, cs->self_id, cs->running);
		code = RPC_RESOURCE_EXHAUSTED;
	} else {
		cs->running++;
	}
	pthread_mutex_unlock(&cs->lock);
	return code;
}

static void cp_release(struct cp_server *cs, int ok)
{
	pthread_mutex_lock(&cs->lock);
	cs->running--;
	if (ok)
		cs->done++;
	else
		cs->failed++;
	pthread_cond_broadcast(&cs->idle);
	pthread_mutex_unlock(&cs->lock);
}

/* Packs and sends the answer: the output shares and what was sent. */
static int cp_answer(struct rpc_ctx *ctx, const struct cp_server *cs,
		     const Caselink__V1__ComputeStartRequest *r, const struct mpc_net *net,
		     uint8_t *out, size_t out_len)
{
	Caselink__V1__ComputeStartResponse resp = CASELINK__V1__COMPUTE_START_RESPONSE__INIT;
	uint8_t *msg;
	size_t n;
	int rc;

	resp.schema_version = CASELINK_SCHEMA_VERSION;
	resp.computation_id = r->computation_id;
	resp.party = cs->conf->party;
	resp.output.data = out;
	resp.output.len = out_len;
	resp.bytes_sent = net->bytes_sent;
	resp.messages_sent = net->messages_sent;
	n = caselink__v1__compute_start_response__get_packed_size(&resp);
	msg = malloc(n ? n : 1);
	if (!msg)
		return CL_ENOMEM;
	caselink__v1__compute_start_response__pack(&resp, msg);
	rc = rpc_ctx_send(ctx, msg, n);
	OPENSSL_cleanse(msg, n);
	free(msg);
	return rc;
}

/* Runs the admitted computation and answers; returns the call's status. */
static enum rpc_code cp_run(struct cp_server *cs, struct rpc_ctx *ctx, struct cp_start *st)
{
	const Caselink__V1__ComputeStartRequest *r = st->req;
	struct mpc_rpc_run *run = NULL;
	char details[CP_SERVE_DETAILS], why[MPC_RPC_WHY_MAX] = "";
	uint8_t *out = NULL;
	size_t out_len = 0;
	unsigned party = cs->conf->party;
	struct timespec t0, t1;
	long long ms;
	int rc;

	rc = mpc_rpc_begin(cs->mpc, r->computation_id.data, r->computation_id.len, r->timeout_ms,
			   &run);
	if (rc != CL_OK)
		return cp_refuse(cs, ctx, st, party_error_to_code(rc), "begin",
				 rc == CL_EEXIST ? "this computation runs already"
						 : "cannot begin the computation");
	snprintf(details, sizeof(details),
		 "computation=%s query=%s measure=%s period=%s job_bytes=%zu party=%u",
		 st->comp_hex, st->query_hex[0] ? st->query_hex : "-", st->measure, st->period,
		 r->job.len, party);
	/* Fail closed: no computation without its audit entry. */
	if (audit_append(cs->audit, cp_actor(ctx), "compute_start", details, NULL) != CL_OK) {
		mpc_rpc_end(run, CL_EAUDIT);
		rpc_ctx_set_message(ctx, "audit log unavailable");
		return RPC_UNAVAILABLE;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = compute_run(mpc_rpc_net(run), party, r->job.data, r->job.len, cs->key_pem, &out,
			 &out_len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (long long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (rc != CL_OK && !mpc_rpc_failure(run, &party, why, sizeof(why)))
		snprintf(why, sizeof(why), "party %u: the job failed: %s", cs->conf->party,
			 cl_strerror(rc));
	if (rc == CL_OK)
		snprintf(details, sizeof(details),
			 "computation=%s outcome=ok output_bytes=%zu bytes_sent=%llu "
			 "messages_sent=%llu ms=%lld",
			 st->comp_hex, out_len, (unsigned long long)mpc_rpc_net(run)->bytes_sent,
			 (unsigned long long)mpc_rpc_net(run)->messages_sent, ms);
	else
		snprintf(details, sizeof(details),
			 "computation=%s outcome=failed error=%s party=%u bytes_sent=%llu ms=%lld",
			 st->comp_hex, cl_errname(rc), party,
			 (unsigned long long)mpc_rpc_net(run)->bytes_sent, ms);
	if (audit_append(cs->audit, cp_actor(ctx), rc == CL_OK ? "compute_done" : "compute_failed",
			 details, NULL) != CL_OK &&
	    rc == CL_OK) {
		rc = CL_EAUDIT; /* nothing leaves without its audit entry */
		snprintf(why, sizeof(why), "party %u: audit log unavailable", cs->conf->party);
	}
	if (rc == CL_OK)
		rc = cp_answer(ctx, cs, r, mpc_rpc_net(run), out, out_len);
	log_event(rc == CL_OK ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, "compute_end",
		  "computation=%s outcome=%s error=%s ms=%lld", st->comp_hex,
		  rc == CL_OK ? "ok" : "failed", cl_errname(rc), ms);
	mpc_rpc_end(run, rc);
	if (out) {
		OPENSSL_cleanse(out, out_len);
		free(out);
	}
	if (rc == CL_OK)
		return RPC_OK;
	rpc_ctx_set_message(ctx, why);
	return party_error_to_code(rc);
}

static enum rpc_code cp_start(struct rpc_ctx *ctx, const uint8_t *req, size_t len, void *user)
{
	struct cp_server *cs = user;
	struct cp_start st;
	const char *reason = "malformed";
	char why[RPC_STATUS_MSG_MAX];
	enum rpc_code code;

	memset(&st, 0, sizeof(st));
	if (!cs->conf->insecure_demo && strcmp(rpc_ctx_peer_id(ctx), cs->conf->coordinator.id))
		return cp_refuse(cs, ctx, NULL, RPC_PERMISSION_DENIED, "not_coordinator",
				 "only the configured coordinator may start computations");
	if (len > (size_t)cs->conf->max_job_bytes + CP_SERVE_MSG_EXTRA)
		return cp_refuse(cs, ctx, NULL, RPC_RESOURCE_EXHAUSTED, "job_size",
				 "ComputeStartRequest too large");
	st.req = caselink__v1__compute_start_request__unpack(NULL, len, req);
	if (!st.req)
		return cp_refuse(cs, ctx, NULL, RPC_INVALID_ARGUMENT, "malformed",
				 "malformed ComputeStartRequest");
	code = cp_check(cs, st.req, &reason, why, sizeof(why));
	if (code == RPC_OK) {
		cp_hex(st.req->computation_id.data, st.req->computation_id.len, st.comp_hex,
		       sizeof(st.comp_hex));
		cp_hex(st.req->query->query_request_id.data, st.req->query->query_request_id.len,
		       st.query_hex, sizeof(st.query_hex));
		snprintf(st.measure, sizeof(st.measure), "%s", st.req->query->measure);
		snprintf(st.period, sizeof(st.period), "%s..%s", st.req->query->period_from,
			 st.req->query->period_to);
		code = cp_admit(cs, &reason, why, sizeof(why));
	}
	if (code != RPC_OK) {
		code = cp_refuse(cs, ctx, &st, code, reason, why);
		goto out;
	}
	code = cp_run(cs, ctx, &st);
	cp_release(cs, code == RPC_OK);
out:
	if (st.req->job.data)
		OPENSSL_cleanse(st.req->job.data, st.req->job.len);
	caselink__v1__compute_start_request__free_unpacked(st.req, NULL);
	return code;
}

static enum rpc_code cp_status(struct rpc_ctx *ctx, const uint8_t *req, size_t len, void *user)
{
	struct cp_server *cs = user;
	const char *why = NULL;
	enum rpc_code code = party_status_reply(ctx, req, len, cs->self_id, "compute", 0, &why);

	if (code != RPC_OK && why)
		rpc_ctx_set_message(ctx, why);
	return code;
}

/* Reads the daemon's own certificate name, which must carry the compute role. */
static int cp_self_id(struct cp_server *cs, char *err, size_t errsz)
{
	char role[RPC_PEER_ROLE_MAX + 1], *pem = NULL;
	size_t pem_len = 0;
	int rc;

	snprintf(cs->self_id, sizeof(cs->self_id), "compute-%u", cs->conf->party);
	if (cs->conf->insecure_demo)
		return CL_OK;
	rc = pki_read_file(cs->conf->tls_cert, PKI_PEM_MAX, &pem, &pem_len);
	if (rc == CL_OK)
		rc = pki_cert_identity(pem, pem_len, cs->self_id, sizeof(cs->self_id), role,
				       sizeof(role));
	free(pem);
	if (rc == CL_OK && strcmp(role, "compute")) {
		snprintf(err, errsz,
			 "%.256s: the certificate has role '%s'; a computing party needs "
			 "one issued with --role compute",
			 cs->conf->tls_cert, role);
		rc = CL_ECONFIG;
	}
	return rc;
}

static int cp_transport(struct cp_server *cs, const struct party_tls *tls)
{
	struct mpc_rpc_config mc;
	unsigned self = cs->conf->party, other = 3 - self;

	memset(&mc, 0, sizeof(mc));
	mc.self = self;
	snprintf(mc.parties[0].id, sizeof(mc.parties[0].id), "%s", cs->conf->coordinator.id);
	snprintf(mc.parties[0].address, sizeof(mc.parties[0].address), "%s",
		 cs->conf->coordinator.address);
	snprintf(mc.parties[self].id, sizeof(mc.parties[self].id), "%s", cs->self_id);
	snprintf(mc.parties[other].id, sizeof(mc.parties[other].id), "%s", cs->conf->peer.id);
	snprintf(mc.parties[other].address, sizeof(mc.parties[other].address), "%s",
		 cs->conf->peer.address);
	party_tls_fill(tls, &mc.tls);
	mc.insecure_demo = cs->conf->insecure_demo;
	mc.timeout_ms = (unsigned)cs->conf->timeout_ms;
	mc.max_computations = (unsigned)cs->conf->max_computations;
	mc.max_buffered = (size_t)cs->conf->max_buffered_bytes;
	return mpc_rpc_new(&mc, &cs->mpc);
}

/*
 * Waits for SIGTERM or SIGINT, then drains: new computations are refused, the
 * running ones may finish for drain_ms, then they are failed (their peers told).
 */
static int cp_drain(struct cp_server *cs, int *signo)
{
	sigset_t set;
	struct timespec dl;
	unsigned left;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigwait(&set, signo) != 0)
		return CL_EINTERNAL;
	pthread_mutex_lock(&cs->lock);
	left = cs->running;
	pthread_mutex_unlock(&cs->lock);
	log_event(LOG_LEVEL_INFO, "draining", "signal=%d running=%u", *signo, left);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += (time_t)(cs->conf->drain_ms / 1000);
	dl.tv_nsec += (long)(cs->conf->drain_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&cs->lock);
	cs->draining = 1;
	while (cs->running && pthread_cond_timedwait(&cs->idle, &cs->lock, &dl) == 0)
		;
	left = cs->running;
	pthread_mutex_unlock(&cs->lock);
	if (left) {
		log_event(LOG_LEVEL_WARN, "drain_cancel", "running=%u", left);
		mpc_rpc_cancel_all(cs->mpc, CL_ECANCELLED);
		pthread_mutex_lock(&cs->lock);
		while (cs->running)
			pthread_cond_wait(&cs->idle, &cs->lock);
		pthread_mutex_unlock(&cs->lock);
	}
	return CL_OK;
}

static int cp_serve_open(struct cp_server *cs, const char *data, char *err, size_t errsz)
{
	int rc = audit_open_in(data, CP_DB_FILE, 0, &cs->audit);

	if (rc == CL_ENOTFOUND)
		snprintf(err, errsz,
			 "%s/%s: no audit log; run caselink-compute init --data %s first", data,
			 CP_DB_FILE, data);
	else if (rc != CL_OK)
		snprintf(err, errsz, "%s/%s: %s", data, CP_DB_FILE, cl_strerror(rc));
	/* request ids of Start, kept across restarts (docs/protocol.md "Replay") */
	if (rc == CL_OK)
		rc = replay_open_in(data, REPLAY_FILE, CP_SERVE_REPLAY_MAX, (int64_t)time(NULL),
				    &cs->replay, err, errsz);
	return rc;
}

static int cp_serve_rpc(struct cp_server *cs, const struct party_tls *tls, struct rpc_server **srv,
			int *port)
{
	struct rpc_server_config sc;
	int rc;

	memset(&sc, 0, sizeof(sc));
	sc.listen_addr = cs->conf->listen;
	sc.insecure_demo = cs->conf->insecure_demo;
	sc.max_message_bytes = (size_t)cs->conf->max_job_bytes + CP_SERVE_MSG_EXTRA;
	/* A worker per running Start, two per peer for Exchange, and one for Status. */
	sc.workers = (unsigned)cs->conf->max_computations * 3 + 3;
	party_tls_fill(tls, &sc.tls);
	rc = rpc_server_new(&sc, srv);
	if (rc == CL_OK)
		rc = rpc_server_add_method(*srv, RPC_METHOD_COMPUTE_STATUS, RPC_UNARY, RPC_ROLE_ANY,
					   cp_status, cs);
	if (rc == CL_OK)
		rc = rpc_server_add_method(*srv, RPC_METHOD_COMPUTE_START, RPC_UNARY,
					   RPC_ROLE_COORDINATOR, cp_start, cs);
	if (rc == CL_OK)
		rc = mpc_rpc_register(cs->mpc, *srv);
	if (rc == CL_OK)
		rc = rpc_server_start(*srv, port);
	return rc;
}

int cp_serve_main(int argc, char **argv)
{
	struct cp_server cs;
	struct party_tls *tls = NULL;
	struct rpc_server *srv = NULL;
	struct daemon_opts opts;
	char err[512] = "", details[CP_SERVE_DETAILS];
	int port = 0, signo = 0, rc;

	memset(&cs, 0, sizeof(cs));
	pthread_mutex_init(&cs.lock, NULL);
	pthread_cond_init(&cs.idle, NULL);
	rc = daemon_parse("caselink-compute", argc, argv, &opts);
	if (rc != CL_OK)
		goto out;
	log_init("compute", LOG_LEVEL_INFO);
	/* detached first: the memory lock of the keys is not inherited across fork */
	if (!opts.foreground && (rc = daemon_detach()) != CL_OK)
		goto out;
	rc = daemon_protect();
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-compute serve: memory protection: %s\n", cl_strerror(rc));
		goto out;
	}
	rc = computeconf_load(opts.config, &cs.conf, err, sizeof(err));
	if (rc == CL_OK)
		rc = cp_serve_open(&cs, opts.data, err, sizeof(err));
	if (rc == CL_OK && !cs.conf->insecure_demo)
		rc = party_tls_load(cs.conf->tls_ca, cs.conf->tls_cert, cs.conf->tls_key,
				    cs.conf->tls_crl, &tls, err, sizeof(err));
	if (rc == CL_OK && tls) {
		struct rpc_tls kt;

		party_tls_fill(tls, &kt);
		cs.key_pem = kt.key_pem; /* valid while tls is */
	}
	if (rc == CL_OK)
		rc = cp_self_id(&cs, err, sizeof(err));
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-compute serve: %s\n", *err ? err : cl_strerror(rc));
		goto out;
	}
	rc = rpc_signals_block();
	if (rc == CL_OK)
		rc = cp_transport(&cs, tls);
	if (rc == CL_OK)
		rc = cp_serve_rpc(&cs, tls, &srv, &port);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-compute serve: cannot serve on %s: %s\n", cs.conf->listen,
			cl_strerror(rc));
		goto out;
	}
	snprintf(details, sizeof(details), "party=%u coordinator=%s peer=%s", cs.conf->party,
		 cs.conf->coordinator.id, cs.conf->peer.id);
	rc = audit_append(cs.audit, cs.self_id, "serve_start", details, NULL);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-compute serve: audit log: %s\n", cl_strerror(rc));
		goto out;
	}
	log_event(LOG_LEVEL_INFO, "serve_start", "listen=%s port=%d tls=%s party=%u",
		  cs.conf->listen, port, cs.conf->insecure_demo ? "off-INSECURE-DEMO" : "mutual",
		  cs.conf->party);
	rc = daemon_ready(opts.ready, cs.conf->listen, port);
	if (rc == CL_OK)
		rc = cp_drain(&cs, &signo);
	rpc_server_shutdown(srv, CP_SERVE_STOP_MS);
	snprintf(details, sizeof(details),
		 "signal=%d computations_done=%llu computations_failed=%llu", signo, cs.done,
		 cs.failed);
	audit_append(cs.audit, cs.self_id, "serve_stop", details, NULL);
	log_event(LOG_LEVEL_INFO, "serve_stop", "signal=%d done=%llu failed=%llu", signo, cs.done,
		  cs.failed);
out:
	rpc_server_free(srv);
	mpc_rpc_free(cs.mpc);
	party_tls_free(tls);
	replay_free(cs.replay);
	audit_close(cs.audit);
	computeconf_free(cs.conf);
	pthread_cond_destroy(&cs.idle);
	pthread_mutex_destroy(&cs.lock);
	return rc;
}
