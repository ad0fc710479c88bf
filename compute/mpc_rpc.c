#include "compute/mpc_rpc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "common/log.h"
#include "compute/mpc_mailbox.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/party.h"

#define MPC_RPC_ABORT_MS  2000 /* how long telling a peer of a failure may take */
#define MPC_RPC_ANSWER_MS 250  /* a refusal leaves this long before the sender's deadline */

struct mpc_rpc {
	struct mpc_rpc_config cfg; /* tls pointing into the copies below */
	char *pem[4];		   /* ca, cert, key (wiped when freed), crl */
	struct mpc_mailbox *mb;
	atomic_bool cancelled;
};

struct mpc_rpc_run {
	struct mpc_rpc *t;
	struct rpc_channel *ch[MPC_PARTIES]; /* fresh per run: a restarted peer is reached anew */
	struct mpc_net net;
	uint8_t id[MPC_MAILBOX_ID_MAX];
	size_t id_len;
	unsigned timeout_ms;
	pthread_mutex_t lock; /* seq and the failure */
	uint64_t seq[MPC_PARTIES];
	int fail_code;
	unsigned fail_party;
	char why[MPC_RPC_WHY_MAX];
	int told; /* the peers have been sent an abort */
};

static const char *mpc_rpc_name(const struct mpc_rpc *t, unsigned p)
{
	return t->cfg.parties[p].id[0] ? t->cfg.parties[p].id : "-";
}

/* Records the run's first failure (why as given), naming party p; returns the run's code. */
static int mpc_rpc_record(struct mpc_rpc_run *r, unsigned p, int code, const char *why)
{
	pthread_mutex_lock(&r->lock);
	if (!r->fail_code) {
		r->fail_code = code;
		r->fail_party = p;
		snprintf(r->why, sizeof(r->why), "%s", why);
		log_event(LOG_LEVEL_WARN, "mpc_failed", "self=%u party=%u peer=%s error=%s",
			  r->t->cfg.self, p, mpc_rpc_name(r->t, p), cl_errname(code));
	}
	code = r->fail_code;
	pthread_mutex_unlock(&r->lock);
	/* Whatever waits for a message of this computation here stops waiting too. */
	mpc_mailbox_fail(r->t->mb, r->id, r->id_len, p, code);
	return code;
}

/* Records the run's first failure, naming party p; returns code. */
static int mpc_rpc_fail(struct mpc_rpc_run *r, unsigned p, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int mpc_rpc_fail(struct mpc_rpc_run *r, unsigned p, int code, const char *fmt, ...)
{
	char what[MPC_RPC_WHY_MAX], why[MPC_RPC_WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(why, sizeof(why), "party %u (%.64s): %.160s", p, mpc_rpc_name(r->t, p), what);
	mpc_rpc_record(r, p, code, why);
	return code;
}

static int mpc_rpc_failed(struct mpc_rpc_run *r)
{
	int code;

	pthread_mutex_lock(&r->lock);
	code = r->fail_code;
	pthread_mutex_unlock(&r->lock);
	return code;
}

/* The CL_E* code a sender reports for the receiver's answer, with why. */
static int mpc_rpc_send_error(enum rpc_code code, const char **why)
{
	switch (code) {
	case RPC_DEADLINE_EXCEEDED:
		*why = "did not take the message in time (hung, or not reading)";
		return CL_ETIMEOUT;
	case RPC_NOT_FOUND:
		*why = "does not run this computation (restarted or never started)";
		return CL_EUNAVAIL;
	case RPC_CANCELLED:
		*why = "has given this computation up";
		return CL_EUNAVAIL;
	case RPC_PERMISSION_DENIED:
	case RPC_UNAUTHENTICATED:
		*why = "refused this party's certificate";
		return CL_EAUTH;
	case RPC_INVALID_ARGUMENT:
	case RPC_FAILED_PRECONDITION:
	case RPC_RESOURCE_EXHAUSTED:
		*why = "refused the message";
		return CL_EPROTO;
	default:
		*why = "unreachable (down, or its certificate was refused)";
		return CL_EUNAVAIL;
	}
}

/* One Exchange call to party `to`: the payload, or an abort when buf is NULL. */
static int mpc_rpc_call(struct mpc_rpc_run *r, unsigned to, uint64_t seq, const void *buf,
			size_t len, unsigned deadline_ms, struct rpc_status *st)
{
	Caselink__V1__ComputeExchange m = CASELINK__V1__COMPUTE_EXCHANGE__INIT;
	uint8_t *req = NULL, *resp = NULL;
	size_t req_len, resp_len = 0;
	int rc;

	m.schema_version = CASELINK_SCHEMA_VERSION;
	m.computation_id.data = r->id;
	m.computation_id.len = r->id_len;
	m.from_party = r->t->cfg.self;
	m.to_party = to;
	m.seq = seq;
	m.payload.data = (uint8_t *)buf;
	m.payload.len = buf ? len : 0;
	m.abort = buf == NULL;
	req_len = caselink__v1__compute_exchange__get_packed_size(&m);
	req = malloc(req_len);
	if (!req)
		return CL_ENOMEM;
	caselink__v1__compute_exchange__pack(&m, req);
	rc = rpc_call_unary(r->ch[to], RPC_METHOD_COMPUTE_EXCHANGE, req, req_len, deadline_ms,
			    &resp, &resp_len, st);
	OPENSSL_cleanse(req, req_len);
	free(req);
	free(resp);
	return rc;
}

static int mpc_rpc_send(void *ctx, unsigned to, const void *buf, size_t len)
{
	struct mpc_rpc_run *r = ctx;
	struct rpc_status st;
	const char *why = NULL;
	int rc;

	if (to >= MPC_PARTIES || to == r->t->cfg.self || !buf || len == 0 ||
	    len > MPC_NET_MAX_MESSAGE)
		return CL_EINVAL;
	if ((rc = mpc_rpc_failed(r)))
		return rc;
	if (atomic_load(&r->t->cancelled))
		return mpc_rpc_fail(r, r->t->cfg.self, CL_ECANCELLED, "stopping");
	memset(&st, 0, sizeof(st));
	rc = mpc_rpc_call(r, to, r->seq[to], buf, len, r->timeout_ms, &st);
	if (rc == CL_ENOMEM)
		return mpc_rpc_fail(r, r->t->cfg.self, rc, "out of memory");
	if (rc != CL_OK) {
		rc = mpc_rpc_send_error(st.code, &why);
		return mpc_rpc_fail(r, to, rc, "%s (%s%s%.96s)", why, rpc_code_name(st.code),
				    st.message[0] ? ": " : "", st.message);
	}
	r->seq[to]++; /* bytes_sent and messages_sent are mpc_net_send's to count */
	return CL_OK;
}

static int mpc_rpc_recv(void *ctx, unsigned from, void *buf, size_t len)
{
	struct mpc_rpc_run *r = ctx;
	unsigned who = from;
	int rc;

	if (from >= MPC_PARTIES || from == r->t->cfg.self || (!buf && len))
		return CL_EINVAL;
	rc = mpc_mailbox_take(r->t->mb, r->id, r->id_len, from, buf, len, r->timeout_ms, &who);
	if (rc == CL_OK)
		return CL_OK;
	if (rc == CL_ETIMEOUT)
		return mpc_rpc_fail(r, from, rc, "sent nothing for %u ms (down or hung?)",
				    r->timeout_ms);
	if (rc == CL_EPROTO && who == from)
		return mpc_rpc_fail(
		    r, from, rc, "sent a message of another length than the schedule's %zu bytes",
		    len);
	if ((rc = mpc_rpc_failed(r)))
		return rc;
	/* Failed by the mailbox alone: a peer's abort message, or a cancel. */
	return mpc_rpc_fail(r, who, rc == CL_ECANCELLED ? rc : CL_EUNAVAIL,
			    who == r->t->cfg.self ? "stopped this computation"
						  : "has given this computation up");
}

static const struct mpc_net_ops mpc_rpc_ops = {.send = mpc_rpc_send, .recv = mpc_rpc_recv};

/* ------------------------------------------------------------ receiving */

/* The role a sender of party number p must have. */
static unsigned mpc_rpc_role_of(unsigned p)
{
	return p == 0 ? RPC_ROLE_COORDINATOR : RPC_ROLE_COMPUTE;
}

static enum rpc_code mpc_rpc_refuse(struct rpc_ctx *ctx, enum rpc_code code, const char *why)
{
	rpc_ctx_set_message(ctx, why);
	log_event(LOG_LEVEL_WARN, "exchange_refused", "peer=%.64s code=%d reason=\"%s\"",
		  rpc_ctx_peer_id(ctx)[0] ? rpc_ctx_peer_id(ctx) : "-", (int)code, why);
	return code;
}

/* Checks that the caller is who party number `from` is configured to be. */
static enum rpc_code mpc_rpc_check_sender(const struct mpc_rpc *t, struct rpc_ctx *ctx,
					  unsigned from, char *why, size_t whysz)
{
	if (t->cfg.insecure_demo)
		return RPC_OK;
	if (rpc_role_from_name(rpc_ctx_peer_role(ctx)) != mpc_rpc_role_of(from)) {
		snprintf(why, whysz, "party %u must have a %s certificate, not %.16s", from,
			 from == 0 ? "coordinator" : "compute", rpc_ctx_peer_role(ctx));
		return RPC_PERMISSION_DENIED;
	}
	if (strcmp(rpc_ctx_peer_id(ctx), t->cfg.parties[from].id)) {
		snprintf(why, whysz, "certificate %.64s is not party %u (%.64s)",
			 rpc_ctx_peer_id(ctx), from, t->cfg.parties[from].id);
		return RPC_PERMISSION_DENIED;
	}
	return RPC_OK;
}

static enum rpc_code mpc_rpc_put(struct mpc_rpc *t, struct rpc_ctx *ctx,
				 const Caselink__V1__ComputeExchange *m)
{
	char why[MPC_RPC_WHY_MAX];
	int64_t wait = rpc_ctx_remaining_ms(ctx);
	uint64_t expected = 0;
	int rc;

	/* answered before the sender's deadline, so that it learns why */
	wait = wait == INT64_MAX ? INT64_MAX : wait - MPC_RPC_ANSWER_MS;
	if (wait > (int64_t)t->cfg.timeout_ms)
		wait = t->cfg.timeout_ms;
	rc = mpc_mailbox_put(t->mb, m->computation_id.data, m->computation_id.len, m->from_party,
			     m->seq, m->payload.data, m->payload.len, wait, &expected);
	switch (rc) {
	case CL_OK:
		return RPC_OK;
	case CL_ENOTFOUND:
		snprintf(why, sizeof(why), "party %u does not run this computation", t->cfg.self);
		break;
	case CL_EPROTO:
		snprintf(why, sizeof(why),
			 "message %llu from party %u is out of sequence: expected %llu",
			 (unsigned long long)m->seq, m->from_party, (unsigned long long)expected);
		break;
	case CL_ETIMEOUT:
		snprintf(why, sizeof(why), "party %u's mailbox for party %u stayed full",
			 t->cfg.self, m->from_party);
		break;
	case CL_ECANCELLED:
		snprintf(why, sizeof(why), "the computation has failed at party %u", t->cfg.self);
		break;
	case CL_ELIMIT:
		snprintf(why, sizeof(why), "message too large");
		break;
	default:
		snprintf(why, sizeof(why), "cannot queue the message");
	}
	return mpc_rpc_refuse(ctx, party_error_to_code(rc), why);
}

enum rpc_code mpc_rpc_exchange_check(const Caselink__V1__ComputeExchange *m, unsigned self,
				     char *why, size_t whysz)
{
	if (rpc_schema_check(m->schema_version)) {
		snprintf(why, whysz, "unsupported schema version %u", m->schema_version);
		return RPC_FAILED_PRECONDITION;
	}
	if (m->from_party >= MPC_PARTIES || m->from_party == self || m->to_party != self) {
		snprintf(why, whysz, "a message from party %u to party %u cannot come to party %u",
			 m->from_party, m->to_party, self);
		return RPC_INVALID_ARGUMENT;
	}
	if (m->computation_id.len < MPC_MAILBOX_ID_MIN ||
	    m->computation_id.len > MPC_MAILBOX_ID_MAX) {
		snprintf(why, whysz, "computation id must be %d to %d bytes, not %zu",
			 MPC_MAILBOX_ID_MIN, MPC_MAILBOX_ID_MAX, m->computation_id.len);
		return RPC_INVALID_ARGUMENT;
	}
	if (m->abort ? m->payload.len != 0
		     : m->payload.len == 0 || m->payload.len > MPC_NET_MAX_MESSAGE) {
		snprintf(why, whysz, "a message must hold %s, not %zu bytes",
			 m->abort ? "nothing with abort" : "1 to 4194304 bytes", m->payload.len);
		return RPC_INVALID_ARGUMENT;
	}
	return RPC_OK;
}

static enum rpc_code mpc_rpc_exchange(struct rpc_ctx *ctx, const uint8_t *req, size_t len,
				      void *user)
{
	struct mpc_rpc *t = user;
	Caselink__V1__ComputeExchange *m = NULL;
	Caselink__V1__ComputeExchangeAck ack = CASELINK__V1__COMPUTE_EXCHANGE_ACK__INIT;
	uint8_t out[16];
	char why[MPC_RPC_WHY_MAX];
	enum rpc_code code;

	if (len > MPC_NET_MAX_MESSAGE + MPC_RPC_MSG_OVERHEAD)
		return mpc_rpc_refuse(ctx, RPC_INVALID_ARGUMENT, "ComputeExchange too large");
	m = caselink__v1__compute_exchange__unpack(NULL, len, req);
	if (!m)
		return mpc_rpc_refuse(ctx, RPC_INVALID_ARGUMENT, "malformed ComputeExchange");
	code = mpc_rpc_exchange_check(m, t->cfg.self, why, sizeof(why));
	if (code != RPC_OK) {
		code = mpc_rpc_refuse(ctx, code, why);
		goto out;
	}
	code = mpc_rpc_check_sender(t, ctx, m->from_party, why, sizeof(why));
	if (code != RPC_OK) {
		code = mpc_rpc_refuse(ctx, code, why);
		goto out;
	}
	if (m->abort) {
		mpc_mailbox_fail(t->mb, m->computation_id.data, m->computation_id.len,
				 m->from_party, CL_EUNAVAIL);
		code = RPC_OK;
	} else {
		code = mpc_rpc_put(t, ctx, m);
		if (code != RPC_OK)
			goto out;
	}
	ack.seq = m->seq;
	code = rpc_ctx_send(ctx, out, caselink__v1__compute_exchange_ack__pack(&ack, out)) == CL_OK
		   ? RPC_OK
		   : RPC_INTERNAL;
out:
	if (m && m->payload.data)
		OPENSSL_cleanse(m->payload.data, m->payload.len);
	caselink__v1__compute_exchange__free_unpacked(m, NULL);
	return code;
}

/* ------------------------------------------------------------ lifecycle */

/*
 * Opens the run's channels to its peers. They are new for every computation, so that a
 * peer restarted since the last one is dialled at once (a channel that lost its peer waits
 * out a reconnect back-off first); they connect on the first message.
 */
static int mpc_rpc_channels(struct mpc_rpc_run *r)
{
	const struct mpc_rpc_config *cfg = &r->t->cfg;
	struct rpc_channel_config cc;
	unsigned p;
	int rc;

	for (p = 0; p < MPC_PARTIES; p++) {
		if (p == cfg->self)
			continue;
		memset(&cc, 0, sizeof(cc));
		cc.target = cfg->parties[p].address;
		cc.tls = cfg->tls;
		cc.insecure_demo = cfg->insecure_demo;
		cc.expected_roles = mpc_rpc_role_of(p);
		cc.expected_id = cfg->parties[p].id;
		cc.max_message_bytes = MPC_NET_MAX_MESSAGE + MPC_RPC_MSG_OVERHEAD;
		rc = rpc_channel_new(&cc, &r->ch[p]);
		if (rc != CL_OK)
			return rc;
	}
	return CL_OK;
}

/* Keeps copies of the PEM texts (the runs' channels are made from them). */
static int mpc_rpc_keep_tls(struct mpc_rpc *t, const struct rpc_tls *tls)
{
	const char *src[4] = {tls->ca_pem, tls->cert_pem, tls->key_pem, tls->crl_pem};
	unsigned i;

	for (i = 0; i < 4; i++)
		if (src[i] && !(t->pem[i] = strdup(src[i])))
			return CL_ENOMEM;
	t->cfg.tls.ca_pem = t->pem[0];
	t->cfg.tls.cert_pem = t->pem[1];
	t->cfg.tls.key_pem = t->pem[2];
	t->cfg.tls.crl_pem = t->pem[3];
	return CL_OK;
}

static int mpc_rpc_check(const struct mpc_rpc_config *cfg)
{
	unsigned p;

	for (p = 0; p < MPC_PARTIES; p++)
		if (p != cfg->self && (!cfg->parties[p].address[0] ||
				       (!cfg->insecure_demo && !cfg->parties[p].id[0])))
			return CL_EINVAL;
	if (!cfg->insecure_demo && (!cfg->tls.ca_pem || !cfg->tls.cert_pem || !cfg->tls.key_pem))
		return CL_EINVAL;
	return CL_OK;
}

int mpc_rpc_new(const struct mpc_rpc_config *cfg, struct mpc_rpc **out)
{
	struct mpc_rpc *t;
	int rc;

	if (!cfg || !out || cfg->self >= MPC_PARTIES ||
	    cfg->max_computations > MPC_MAILBOX_COMPS_MAX ||
	    (cfg->max_buffered && cfg->max_buffered < MPC_NET_MAX_MESSAGE) || mpc_rpc_check(cfg))
		return CL_EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return CL_ENOMEM;
	t->cfg = *cfg;
	memset(&t->cfg.tls, 0, sizeof(t->cfg.tls));
	rc = cfg->insecure_demo ? CL_OK : mpc_rpc_keep_tls(t, &cfg->tls);
	if (rc != CL_OK) {
		mpc_rpc_free(t);
		return rc;
	}
	if (!t->cfg.timeout_ms)
		t->cfg.timeout_ms = MPC_RPC_TIMEOUT_DEFAULT;
	if (!t->cfg.max_computations)
		t->cfg.max_computations = MPC_RPC_COMPS_DEFAULT;
	if (!t->cfg.max_buffered)
		t->cfg.max_buffered = MPC_RPC_BUFFERED_DEFAULT;
	atomic_init(&t->cancelled, false);
	rc = mpc_mailbox_new(cfg->self, t->cfg.max_computations, t->cfg.max_buffered, &t->mb);
	if (rc != CL_OK) {
		mpc_rpc_free(t);
		return rc;
	}
	*out = t;
	return CL_OK;
}

void mpc_rpc_free(struct mpc_rpc *t)
{
	unsigned p;

	if (!t)
		return;
	for (p = 0; p < 4; p++) {
		if (t->pem[p])
			OPENSSL_cleanse(t->pem[p], strlen(t->pem[p]));
		free(t->pem[p]);
	}
	mpc_mailbox_free(t->mb);
	free(t);
}

int mpc_rpc_register(struct mpc_rpc *t, struct rpc_server *srv)
{
	if (!t || !srv)
		return CL_EINVAL;
	return rpc_server_add_method(srv, RPC_METHOD_COMPUTE_EXCHANGE, RPC_UNARY,
				     RPC_ROLE_COORDINATOR | RPC_ROLE_COMPUTE, mpc_rpc_exchange, t);
}

int mpc_rpc_begin(struct mpc_rpc *t, const uint8_t *id, size_t id_len, unsigned timeout_ms,
		  struct mpc_rpc_run **out)
{
	struct mpc_rpc_run *r;
	int rc;

	if (!t || !out || !id || id_len < MPC_MAILBOX_ID_MIN || id_len > MPC_MAILBOX_ID_MAX)
		return CL_EINVAL;
	if (atomic_load(&t->cancelled))
		return CL_ECANCELLED;
	r = calloc(1, sizeof(*r));
	if (!r)
		return CL_ENOMEM;
	rc = mpc_mailbox_open(t->mb, id, id_len);
	if (rc != CL_OK) {
		free(r);
		return rc;
	}
	r->t = t;
	rc = mpc_rpc_channels(r);
	if (rc != CL_OK) {
		for (unsigned p = 0; p < MPC_PARTIES; p++)
			rpc_channel_free(r->ch[p]);
		mpc_mailbox_close(t->mb, id, id_len);
		free(r);
		return rc;
	}
	memcpy(r->id, id, id_len);
	r->id_len = id_len;
	r->timeout_ms = timeout_ms ? timeout_ms : t->cfg.timeout_ms;
	pthread_mutex_init(&r->lock, NULL);
	r->net.ops = &mpc_rpc_ops;
	r->net.ctx = r;
	r->net.self = t->cfg.self;
	*out = r;
	return CL_OK;
}

struct mpc_net *mpc_rpc_net(struct mpc_rpc_run *r)
{
	return r ? &r->net : NULL;
}

int mpc_rpc_failure(const struct mpc_rpc_run *r, unsigned *party, char *why, size_t whysz)
{
	struct mpc_rpc_run *w = (struct mpc_rpc_run *)r;
	int code;

	if (!r)
		return CL_EINVAL;
	pthread_mutex_lock(&w->lock);
	code = r->fail_code;
	if (party)
		*party = r->fail_party;
	if (why && whysz)
		snprintf(why, whysz, "%s", r->why);
	pthread_mutex_unlock(&w->lock);
	return code;
}

/* Sends an abort to every peer but `skip` (once per run), so that they stop waiting. */
static void mpc_rpc_tell(struct mpc_rpc_run *r, unsigned skip)
{
	struct rpc_status st;
	unsigned p;
	int told;

	pthread_mutex_lock(&r->lock);
	told = r->told;
	r->told = 1;
	pthread_mutex_unlock(&r->lock);
	for (p = 0; !told && p < MPC_PARTIES; p++)
		if (p != r->t->cfg.self && p != skip)
			(void)mpc_rpc_call(r, p, r->seq[p], NULL, 0, MPC_RPC_ABORT_MS, &st);
}

void mpc_rpc_cancel(struct mpc_rpc_run *r, unsigned party, int code, const char *why)
{
	char buf[MPC_RPC_WHY_MAX];

	if (!r || code >= 0 || party >= MPC_PARTIES)
		return;
	if (!why) {
		snprintf(buf, sizeof(buf), "party %u (%.64s): stopped this computation (%s)", party,
			 mpc_rpc_name(r->t, party), cl_strerror(code));
		why = buf;
	}
	mpc_rpc_record(r, party, code, why);
	mpc_rpc_tell(r, party);
}

const char *mpc_rpc_party_id(const struct mpc_rpc *t, unsigned p)
{
	return t && p < MPC_PARTIES ? mpc_rpc_name(t, p) : "-";
}

void mpc_rpc_cancel_all(struct mpc_rpc *t, int code)
{
	if (!t || code >= 0)
		return;
	atomic_store(&t->cancelled, true);
	mpc_mailbox_fail_all(t->mb, t->cfg.self, code);
}

void mpc_rpc_end(struct mpc_rpc_run *r, int result)
{
	unsigned cause;
	int code;

	if (!r)
		return;
	code = mpc_rpc_failure(r, &cause, NULL, 0);
	if (result != CL_OK && !code) {
		code = mpc_rpc_fail(r, r->t->cfg.self, result, "gave this computation up (%s)",
				    cl_strerror(result));
		cause = r->t->cfg.self;
	}
	/*
	 * Tell the peers that did not cause the failure, so that they stop waiting for us
	 * (one that sent a malformed message is told too: it may be waiting).
	 */
	if (result != CL_OK)
		mpc_rpc_tell(r, code == CL_EPROTO ? MPC_PARTIES : cause);
	mpc_mailbox_close(r->t->mb, r->id, r->id_len);
	for (unsigned p = 0; p < MPC_PARTIES; p++)
		rpc_channel_free(r->ch[p]);
	pthread_mutex_destroy(&r->lock);
	OPENSSL_cleanse(r, sizeof(*r));
	free(r);
}
