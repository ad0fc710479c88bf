/*
 * rpc — the gRPC core adapter. Threading model (see docs/transport.md):
 *
 * Server: one notification completion queue (CQ) shared by the worker
 * threads. Every registered method keeps `workers` requested-call slots; a
 * slot's tag fires on a worker, which re-arms nothing until it has served the
 * call synchronously on the slot's own pluck CQ (handler, sends, status),
 * then requests the next call into the same slot.
 *
 * Client: every call batch (rpc_call_many; unary and stream wrap it) has its
 * own next-CQ driven by the calling thread, so calls are thread-safe and a
 * batch of n calls needs no threads.
 */
#include "protocol/rpc.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include <openssl/conf.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/cl_error.h"
#include "common/log.h"
#include "protocol/pki.h"

#define RPC_POLL_MS 50

enum rpc_tag_kind { RPC_TAG_SLOT = 1, RPC_TAG_SHUTDOWN, RPC_TAG_OP };

struct rpc_method {
	char *path;
	enum rpc_kind kind;
	unsigned roles;
	rpc_handler_fn fn;
	void *user;
	void *handle;
};

struct rpc_slot {
	int kind; /* RPC_TAG_SLOT; first member: the CQ tag */
	struct rpc_server *s;
	struct rpc_method *m; /* NULL: generic slot for unknown methods */
	grpc_completion_queue *cq;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_call_details details;
	grpc_byte_buffer *payload;
};

struct rpc_server {
	char *addr;
	char *ca_pem, *cert_pem, *key_pem;
	struct pki_crl *crl;
	bool insecure;
	size_t max_msg;
	unsigned workers;
	struct rpc_method methods[RPC_METHODS_MAX];
	size_t n_methods;
	struct rpc_slot *slots;
	size_t n_slots;
	grpc_server *srv;
	grpc_completion_queue *cq;
	pthread_t *threads;
	size_t n_threads;
	int shutdown_tag;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started, stopping, shut_done, finished;
	atomic_bool cancelling;
};

struct rpc_ctx {
	struct rpc_slot *slot;
	char peer_id[RPC_PEER_ID_MAX + 1];
	char peer_role[RPC_PEER_ROLE_MAX + 1];
	gpr_timespec deadline; /* monotonic */
	bool closed;
	int cancelled_flag;
	int close_tag, op_tag;
	bool sent_md;
	uint8_t *unary_resp;
	size_t unary_len;
	bool unary_set;
	char message[RPC_STATUS_MSG_MAX];
};

struct rpc_peer_check {
	struct pki_crl *crl;
	unsigned roles;
	char id[RPC_PEER_ID_MAX + 1]; /* "": any CN */
};

struct rpc_channel {
	grpc_channel *ch;
	bool insecure;
};

struct rpc_cancel {
	atomic_bool fired;
};

static pthread_once_t rpc_tls_once = PTHREAD_ONCE_INIT;
static int rpc_tls_rc;

/*
 * The installed gRPC (1.51) has no C API for a minimum TLS version, and
 * negotiates TLS 1.2 or 1.3. We disable TLS 1.2 for every SSL_CTX of this
 * process through OpenSSL's system_default SSL configuration, applied when
 * gRPC creates its contexts: gRPC's own SSL_CTX_set_min_proto_version(1.2)
 * leaves SSL_OP_NO_TLSv1_2 in force, so only TLS 1.3 can be negotiated.
 */
static const char rpc_ossl_conf[] = "openssl_conf = caselink_conf\n"
				    "[caselink_conf]\n"
				    "ssl_conf = caselink_ssl\n"
				    "[caselink_ssl]\n"
				    "system_default = caselink_tls\n"
				    "[caselink_tls]\n"
				    "MinProtocol = TLSv1.3\n"
				    "Protocol = -SSLv3, -TLSv1, -TLSv1.1, -TLSv1.2\n"
				    "CipherString = DEFAULT:@SECLEVEL=2\n";

static void rpc_tls_setup(void)
{
	BIO *bio = NULL;
	CONF *conf = NULL;
	long line = 0;

	rpc_tls_rc = CL_ETLS;
	/* Load the system configuration first so that it cannot replace ours later. */
	if (!OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL))
		goto out;
	bio = BIO_new_mem_buf(rpc_ossl_conf, (int)sizeof(rpc_ossl_conf) - 1);
	conf = NCONF_new(NULL);
	if (!bio || !conf || NCONF_load_bio(conf, bio, &line) <= 0)
		goto out;
	if (CONF_modules_load(conf, NULL, 0) <= 0)
		goto out;
	rpc_tls_rc = 0;
out:
	if (rpc_tls_rc)
		log_event(LOG_LEVEL_ERROR, "rpc_tls_config_failed", "line=%ld", line);
	ERR_clear_error();
	NCONF_free(conf);
	BIO_free(bio);
}

static int rpc_tls_init(void)
{
	pthread_once(&rpc_tls_once, rpc_tls_setup);
	return rpc_tls_rc;
}

int rpc_schema_check(uint32_t version)
{
	return version == CASELINK_SCHEMA_VERSION ? 0 : CL_EVERSION;
}

unsigned rpc_role_from_name(const char *name)
{
	if (!name)
		return 0;
	if (!strcmp(name, "node"))
		return RPC_ROLE_NODE;
	if (!strcmp(name, "coordinator"))
		return RPC_ROLE_COORDINATOR;
	if (!strcmp(name, "keyholder"))
		return RPC_ROLE_KEYHOLDER;
	if (!strcmp(name, "user"))
		return RPC_ROLE_USER;
	if (!strcmp(name, "compute"))
		return RPC_ROLE_COMPUTE;
	return 0;
}

const char *rpc_code_reason(enum rpc_code code)
{
	switch (code) {
	case RPC_DEADLINE_EXCEEDED:
		return "deadline";
	case RPC_UNAVAILABLE:
		return "unavailable";
	case RPC_PERMISSION_DENIED:
		return "refused";
	case RPC_UNAUTHENTICATED:
		return "unauthenticated";
	case RPC_UNIMPLEMENTED:
		return "unsupported";
	case RPC_CANCELLED:
		return "cancelled";
	default:
		return "error";
	}
}

const char *rpc_code_name(enum rpc_code code)
{
	static const char *const names[] = {"OK",
					    "CANCELLED",
					    "UNKNOWN",
					    "INVALID_ARGUMENT",
					    "DEADLINE_EXCEEDED",
					    "NOT_FOUND",
					    "ALREADY_EXISTS",
					    "PERMISSION_DENIED",
					    "RESOURCE_EXHAUSTED",
					    "FAILED_PRECONDITION",
					    "ABORTED",
					    "OUT_OF_RANGE",
					    "UNIMPLEMENTED",
					    "INTERNAL",
					    "UNAVAILABLE",
					    "DATA_LOSS",
					    "UNAUTHENTICATED"};

	if ((unsigned)code >= sizeof(names) / sizeof(names[0]))
		return "UNKNOWN";
	return names[code];
}

int rpc_code_to_error(enum rpc_code code)
{
	switch (code) {
	case RPC_OK:
		return 0;
	case RPC_CANCELLED:
		return CL_ECANCELLED;
	case RPC_DEADLINE_EXCEEDED:
		return CL_ETIMEOUT;
	case RPC_UNAUTHENTICATED:
		return CL_EAUTH;
	case RPC_PERMISSION_DENIED:
		return CL_EDENIED;
	case RPC_UNAVAILABLE:
		return CL_EUNAVAIL;
	case RPC_RESOURCE_EXHAUSTED:
		return CL_ELIMIT;
	case RPC_FAILED_PRECONDITION:
		return CL_EVERSION;
	case RPC_INVALID_ARGUMENT:
		return CL_EINVAL;
	case RPC_NOT_FOUND:
		return CL_ENOTFOUND;
	case RPC_UNIMPLEMENTED:
		return CL_EUNSUPPORTED;
	default:
		return CL_EPROTO;
	}
}

static void rpc_status_set(struct rpc_status *st, enum rpc_code code, const char *msg, size_t len)
{
	if (!st)
		return;
	st->code = code;
	if (len >= sizeof(st->message))
		len = sizeof(st->message) - 1;
	if (msg && len)
		memcpy(st->message, msg, len);
	st->message[msg ? len : 0] = '\0';
}

static void rpc_status_str(struct rpc_status *st, enum rpc_code code, const char *msg)
{
	rpc_status_set(st, code, msg, strlen(msg));
}

static char *rpc_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void rpc_free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static int rpc_check_max(size_t *max)
{
	if (*max == 0)
		*max = RPC_MAX_MESSAGE_DEFAULT;
	if (*max > RPC_MAX_MESSAGE_LIMIT)
		return CL_EINVAL;
	return 0;
}

/* Copies a byte buffer into one malloc'd array. */
static int rpc_buffer_copy(grpc_byte_buffer *bb, uint8_t **out, size_t *len)
{
	grpc_byte_buffer_reader r;
	grpc_slice sl;
	size_t n;
	uint8_t *buf;

	if (!grpc_byte_buffer_reader_init(&r, bb))
		return CL_EPROTO;
	sl = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	n = GRPC_SLICE_LENGTH(sl);
	buf = malloc(n ? n : 1);
	if (!buf) {
		grpc_slice_unref(sl);
		return CL_ENOMEM;
	}
	if (n)
		memcpy(buf, GRPC_SLICE_START_PTR(sl), n);
	grpc_slice_unref(sl);
	*out = buf;
	*len = n;
	return 0;
}

static grpc_byte_buffer *rpc_buffer_new(const uint8_t *msg, size_t len)
{
	grpc_slice sl = grpc_slice_from_copied_buffer((const char *)msg, len);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);

	grpc_slice_unref(sl);
	return bb;
}

static gpr_timespec rpc_deadline(int64_t ms)
{
	if (ms <= 0)
		return gpr_inf_future(GPR_CLOCK_MONOTONIC);
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* ------------------------------------------------------------------ server */

int rpc_server_new(const struct rpc_server_config *cfg, struct rpc_server **out)
{
	struct rpc_server *s = NULL;
	int rc = CL_EINVAL;

	if (!cfg || !out || !cfg->listen_addr)
		return CL_EINVAL;
	if (!cfg->insecure_demo && (!cfg->tls.ca_pem || !cfg->tls.cert_pem || !cfg->tls.key_pem))
		return CL_EINVAL;
	if (cfg->workers > RPC_WORKERS_MAX)
		return CL_EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return CL_ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	atomic_init(&s->cancelling, false);
	s->shutdown_tag = RPC_TAG_SHUTDOWN;
	s->insecure = cfg->insecure_demo;
	s->max_msg = cfg->max_message_bytes;
	s->workers = cfg->workers ? cfg->workers : RPC_WORKERS_DEFAULT;
	if ((rc = rpc_check_max(&s->max_msg)))
		goto out;
	rc = CL_ENOMEM;
	s->addr = rpc_strdup(cfg->listen_addr);
	if (!s->addr)
		goto out;
	if (!s->insecure) {
		s->ca_pem = rpc_strdup(cfg->tls.ca_pem);
		s->cert_pem = rpc_strdup(cfg->tls.cert_pem);
		s->key_pem = rpc_strdup(cfg->tls.key_pem);
		if (!s->ca_pem || !s->cert_pem || !s->key_pem)
			goto out;
		if (cfg->tls.crl_pem) {
			rc = pki_crl_load(s->ca_pem, strlen(s->ca_pem), cfg->tls.crl_pem,
					  strlen(cfg->tls.crl_pem), &s->crl);
			if (rc)
				goto out;
		}
		rc = rpc_tls_init();
		if (rc)
			goto out;
	}
	grpc_init();
	*out = s;
	s = NULL;
	rc = 0;
out:
	if (s) {
		pki_crl_free(s->crl);
		free(s->addr);
		free(s->ca_pem);
		free(s->cert_pem);
		rpc_free_secret(s->key_pem);
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->cond);
		free(s);
	}
	return rc;
}

int rpc_server_add_method(struct rpc_server *s, const char *method, enum rpc_kind kind,
			  unsigned allowed_roles, rpc_handler_fn handler, void *user)
{
	struct rpc_method *m;
	size_t i;

	if (!s || !method || method[0] != '/' || !handler || s->started ||
	    (kind != RPC_UNARY && kind != RPC_SERVER_STREAMING) || (allowed_roles & ~RPC_ROLE_ANY))
		return CL_EINVAL;
	if (s->n_methods >= RPC_METHODS_MAX)
		return CL_ELIMIT;
	for (i = 0; i < s->n_methods; i++)
		if (!strcmp(s->methods[i].path, method))
			return CL_EEXIST;
	m = &s->methods[s->n_methods];
	m->path = strdup(method);
	if (!m->path)
		return CL_ENOMEM;
	m->kind = kind;
	m->roles = allowed_roles;
	m->fn = handler;
	m->user = user;
	s->n_methods++;
	return 0;
}

/* Requests the next call into a slot; the caller holds s->lock. */
static int rpc_slot_request(struct rpc_slot *sl)
{
	struct rpc_server *s = sl->s;
	grpc_call_error e;

	if (s->stopping)
		return CL_ECANCELLED;
	sl->call = NULL;
	sl->payload = NULL;
	grpc_metadata_array_init(&sl->md);
	if (sl->m) {
		e = grpc_server_request_registered_call(s->srv, sl->m->handle, &sl->call,
							&sl->deadline, &sl->md, &sl->payload,
							sl->cq, s->cq, sl);
	} else {
		grpc_call_details_init(&sl->details);
		e = grpc_server_request_call(s->srv, &sl->call, &sl->details, &sl->md, sl->cq,
					     s->cq, sl);
	}
	return e == GRPC_CALL_OK ? 0 : CL_EINTERNAL;
}

static void rpc_slot_reset(struct rpc_slot *sl)
{
	grpc_metadata_array_destroy(&sl->md);
	if (!sl->m)
		grpc_call_details_destroy(&sl->details);
	if (sl->payload)
		grpc_byte_buffer_destroy(sl->payload);
	sl->payload = NULL;
	if (sl->call)
		grpc_call_unref(sl->call);
	sl->call = NULL;
}

/* Runs one batch on the call and waits for it on the slot's pluck CQ. */
static bool rpc_ctx_batch(struct rpc_ctx *c, const grpc_op *ops, size_t n)
{
	grpc_event ev;

	if (grpc_call_start_batch(c->slot->call, ops, n, &c->op_tag, NULL) != GRPC_CALL_OK)
		return false;
	ev = grpc_completion_queue_pluck(c->slot->cq, &c->op_tag,
					 gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	return ev.type == GRPC_OP_COMPLETE && ev.success;
}

const char *rpc_ctx_peer_id(const struct rpc_ctx *ctx)
{
	return ctx->peer_id;
}

const char *rpc_ctx_peer_role(const struct rpc_ctx *ctx)
{
	return ctx->peer_role;
}

int64_t rpc_ctx_remaining_ms(const struct rpc_ctx *ctx)
{
	gpr_timespec now;

	if (gpr_time_cmp(ctx->deadline, gpr_inf_future(GPR_CLOCK_MONOTONIC)) == 0)
		return INT64_MAX;
	now = gpr_now(GPR_CLOCK_MONOTONIC);
	return gpr_time_to_millis(gpr_time_sub(ctx->deadline, now));
}

bool rpc_ctx_cancelled(struct rpc_ctx *ctx)
{
	grpc_event ev;

	if (atomic_load(&ctx->slot->s->cancelling))
		return true;
	if (!ctx->closed) {
		ev = grpc_completion_queue_pluck(ctx->slot->cq, &ctx->close_tag,
						 gpr_time_0(GPR_CLOCK_MONOTONIC), NULL);
		if (ev.type == GRPC_OP_COMPLETE)
			ctx->closed = true;
	}
	if (ctx->closed)
		return true; /* closed before our status: cancelled or deadline */
	return rpc_ctx_remaining_ms(ctx) < 0;
}

void rpc_ctx_set_message(struct rpc_ctx *ctx, const char *msg)
{
	if (!ctx || !msg)
		return;
	snprintf(ctx->message, sizeof(ctx->message), "%s", msg);
}

int rpc_ctx_send(struct rpc_ctx *ctx, const uint8_t *msg, size_t len)
{
	grpc_op ops[2];
	size_t n = 0;
	grpc_byte_buffer *bb;
	bool ok;

	if (!ctx || (!msg && len))
		return CL_EINVAL;
	if (len > ctx->slot->s->max_msg)
		return CL_ELIMIT;
	if (ctx->slot->m->kind == RPC_UNARY) {
		uint8_t *copy;
		if (ctx->unary_set)
			return CL_EPROTO;
		copy = malloc(len ? len : 1);
		if (!copy)
			return CL_ENOMEM;
		if (len)
			memcpy(copy, msg, len);
		ctx->unary_resp = copy;
		ctx->unary_len = len;
		ctx->unary_set = true;
		return 0;
	}
	if (rpc_ctx_cancelled(ctx))
		return CL_ECANCELLED;
	bb = rpc_buffer_new(msg, len);
	if (!bb)
		return CL_ENOMEM;
	memset(ops, 0, sizeof(ops));
	if (!ctx->sent_md) {
		ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
		n++;
	}
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n].data.send_message.send_message = bb;
	n++;
	ok = rpc_ctx_batch(ctx, ops, n);
	grpc_byte_buffer_destroy(bb);
	ctx->sent_md = true;
	return ok ? 0 : CL_ECANCELLED;
}

/* Sends the final status (and a unary response) and waits for the call to close. */
static void rpc_ctx_finish(struct rpc_ctx *c, enum rpc_code code, const char *msg)
{
	grpc_op ops[3];
	size_t n = 0;
	grpc_byte_buffer *bb = NULL;
	grpc_slice details = grpc_slice_from_copied_string(msg ? msg : "");

	memset(ops, 0, sizeof(ops));
	if (!c->sent_md) {
		ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
		n++;
	}
	if (code == RPC_OK && c->unary_set) {
		bb = rpc_buffer_new(c->unary_resp, c->unary_len);
		if (bb) {
			ops[n].op = GRPC_OP_SEND_MESSAGE;
			ops[n].data.send_message.send_message = bb;
			n++;
		} else {
			code = RPC_INTERNAL;
			grpc_slice_unref(details);
			details = grpc_slice_from_static_string("out of memory");
		}
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = (grpc_status_code)code;
	ops[n].data.send_status_from_server.status_details = &details;
	n++;
	(void)rpc_ctx_batch(c, ops, n);
	if (bb)
		grpc_byte_buffer_destroy(bb);
	grpc_slice_unref(details);
	if (!c->closed) {
		grpc_completion_queue_pluck(c->slot->cq, &c->close_tag,
					    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		c->closed = true;
	}
}

static void rpc_refuse(struct rpc_ctx *c, enum rpc_code code, const char *reason)
{
	log_event(LOG_LEVEL_WARN, "rpc_refused", "method=%s peer=%s role=%s code=%d reason=%s",
		  c->slot->m ? c->slot->m->path : "unknown", c->peer_id[0] ? c->peer_id : "-",
		  c->peer_role[0] ? c->peer_role : "-", (int)code, reason);
	rpc_ctx_finish(c, code, reason);
}

/* Reads the peer's identity from the call's auth context; 0 or an rpc_code. */
static enum rpc_code rpc_peer_identify(struct rpc_ctx *c, const char **reason)
{
	struct rpc_server *s = c->slot->s;
	grpc_auth_context *ac;
	grpc_auth_property_iterator it;
	const grpc_auth_property *p;
	enum rpc_code code = RPC_UNAUTHENTICATED;
	bool revoked = false;

	*reason = "no peer certificate";
	ac = grpc_call_auth_context(c->slot->call);
	if (!ac)
		return code;
	it = grpc_auth_context_find_properties_by_name(ac, GRPC_X509_PEM_CERT_PROPERTY_NAME);
	p = grpc_auth_property_iterator_next(&it);
	if (!p || !p->value || p->value_length == 0)
		goto out;
	*reason = "unreadable peer certificate";
	if (pki_cert_identity(p->value, p->value_length, c->peer_id, sizeof(c->peer_id),
			      c->peer_role, sizeof(c->peer_role)))
		goto out;
	if (!c->peer_id[0]) {
		*reason = "peer certificate has no CN";
		goto out;
	}
	if (s->crl) {
		*reason = "certificate revocation check failed";
		if (pki_crl_check(s->crl, p->value, p->value_length, &revoked))
			goto out;
		if (revoked) {
			*reason = "certificate revoked";
			goto out;
		}
	}
	code = RPC_PERMISSION_DENIED;
	*reason = "role not allowed for this method";
	if (!(rpc_role_from_name(c->peer_role) & c->slot->m->roles))
		goto out;
	code = RPC_OK;
	*reason = NULL;
out:
	grpc_auth_context_release(ac);
	return code;
}

static void rpc_serve_call(struct rpc_slot *sl)
{
	struct rpc_server *s = sl->s;
	struct rpc_ctx c;
	grpc_op op;
	const char *reason = NULL;
	enum rpc_code code;
	uint8_t *req = NULL;
	size_t req_len = 0;

	memset(&c, 0, sizeof(c));
	c.slot = sl;
	c.close_tag = RPC_TAG_OP;
	c.op_tag = RPC_TAG_OP;
	c.deadline = sl->m ? gpr_convert_clock_type(sl->deadline, GPR_CLOCK_MONOTONIC)
			   : gpr_inf_future(GPR_CLOCK_MONOTONIC);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &c.cancelled_flag;
	if (grpc_call_start_batch(sl->call, &op, 1, &c.close_tag, NULL) != GRPC_CALL_OK) {
		grpc_call_cancel(sl->call, NULL);
		return;
	}
	if (!sl->m) {
		log_event(LOG_LEVEL_WARN, "rpc_refused", "method=unknown code=%d reason=%s",
			  (int)RPC_UNIMPLEMENTED, "no such method");
		rpc_ctx_finish(&c, RPC_UNIMPLEMENTED, "no such method");
		return;
	}
	if (!s->insecure) {
		code = rpc_peer_identify(&c, &reason);
		if (code != RPC_OK) {
			rpc_refuse(&c, code, reason);
			return;
		}
	}
	if (!sl->payload) {
		rpc_refuse(&c, RPC_INVALID_ARGUMENT, "missing request message");
		return;
	}
	if (rpc_buffer_copy(sl->payload, &req, &req_len)) {
		rpc_refuse(&c, RPC_INTERNAL, "cannot read request");
		return;
	}
	code = sl->m->fn(&c, req, req_len, sl->m->user);
	if (code == RPC_OK && sl->m->kind == RPC_UNARY && !c.unary_set) {
		code = RPC_INTERNAL;
		rpc_ctx_set_message(&c, "handler sent no response");
	}
	if (code != RPC_OK && !c.message[0])
		rpc_ctx_set_message(&c, "request failed");
	rpc_ctx_finish(&c, code, code == RPC_OK ? "" : c.message);
	if (c.unary_resp) {
		OPENSSL_cleanse(c.unary_resp, c.unary_len);
		free(c.unary_resp);
	}
	OPENSSL_cleanse(req, req_len);
	free(req);
}

static void *rpc_worker(void *arg)
{
	struct rpc_server *s = arg;
	grpc_event ev;

	for (;;) {
		ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		if (*(int *)ev.tag == RPC_TAG_SHUTDOWN) {
			pthread_mutex_lock(&s->lock);
			s->shut_done = true;
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		struct rpc_slot *sl = ev.tag;
		if (ev.success && sl->call)
			rpc_serve_call(sl);
		rpc_slot_reset(sl);
		if (!ev.success)
			continue;
		pthread_mutex_lock(&s->lock);
		(void)rpc_slot_request(sl);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

static grpc_server_credentials *rpc_server_creds(struct rpc_server *s)
{
	grpc_ssl_pem_key_cert_pair pair;
	grpc_ssl_server_certificate_config *cc;
	grpc_ssl_server_credentials_options *o;

	if (s->insecure)
		return grpc_insecure_server_credentials_create();
	pair.private_key = s->key_pem;
	pair.cert_chain = s->cert_pem;
	cc = grpc_ssl_server_certificate_config_create(s->ca_pem, &pair, 1);
	if (!cc)
		return NULL;
	o = grpc_ssl_server_credentials_create_options_using_config(
	    GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, cc);
	if (!o) {
		grpc_ssl_server_certificate_config_destroy(cc);
		return NULL;
	}
	return grpc_ssl_server_credentials_create_with_options(o);
}

int rpc_server_start(struct rpc_server *s, int *port)
{
	grpc_arg args[3];
	grpc_channel_args ca;
	grpc_server_credentials *creds = NULL;
	size_t i, j, n;
	int bound, rc = CL_EINTERNAL;

	if (!s || s->started)
		return CL_EINVAL;
	s->started = true;
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = (int)s->max_msg;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
	args[1].value.integer = (int)s->max_msg;
	/* No SO_REUSEPORT: a second daemon on the same port must fail, not share it. */
	args[2].type = GRPC_ARG_INTEGER;
	args[2].key = GRPC_ARG_ALLOW_REUSEPORT;
	args[2].value.integer = 0;
	ca.num_args = 3;
	ca.args = args;
	s->srv = grpc_server_create(&ca, NULL);
	s->cq = grpc_completion_queue_create_for_next(NULL);
	if (!s->srv || !s->cq)
		goto out;
	grpc_server_register_completion_queue(s->srv, s->cq, NULL);
	for (i = 0; i < s->n_methods; i++) {
		s->methods[i].handle = grpc_server_register_method(
		    s->srv, s->methods[i].path, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
		if (!s->methods[i].handle)
			goto out;
	}
	creds = rpc_server_creds(s);
	if (!creds) {
		rc = CL_ETLS;
		goto out;
	}
	if (s->insecure)
		log_event(LOG_LEVEL_WARN, "rpc_insecure_demo",
			  "addr=%s msg=\"PLAINTEXT server: no TLS, no peer identity, role checks "
			  "off; demo use only\"",
			  s->addr);
	bound = grpc_server_add_http2_port(s->srv, s->addr, creds);
	grpc_server_credentials_release(creds);
	if (bound <= 0) {
		rc = CL_EIO;
		log_event(LOG_LEVEL_ERROR, "rpc_bind_failed", "addr=%s", s->addr);
		goto out;
	}
	grpc_server_start(s->srv);
	if (__builtin_mul_overflow((size_t)s->workers, s->n_methods, &n) ||
	    __builtin_add_overflow(n, (size_t)1, &n)) {
		rc = CL_EOVERFLOW;
		goto out;
	}
	s->slots = calloc(n, sizeof(*s->slots));
	s->threads = calloc(s->workers, sizeof(*s->threads));
	if (!s->slots || !s->threads) {
		rc = CL_ENOMEM;
		goto out;
	}
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < n; i++) {
		struct rpc_slot *sl = &s->slots[i];
		sl->kind = RPC_TAG_SLOT;
		sl->s = s;
		sl->m = i + 1 < n ? &s->methods[i % (s->n_methods ? s->n_methods : 1)] : NULL;
		sl->cq = grpc_completion_queue_create_for_pluck(NULL);
		if (!sl->cq) {
			pthread_mutex_unlock(&s->lock);
			goto out;
		}
		s->n_slots++;
		if (rpc_slot_request(sl)) {
			pthread_mutex_unlock(&s->lock);
			goto out;
		}
	}
	pthread_mutex_unlock(&s->lock);
	for (j = 0; j < s->workers; j++) {
		if (pthread_create(&s->threads[j], NULL, rpc_worker, s) != 0)
			goto out;
		s->n_threads++;
	}
	log_event(LOG_LEVEL_INFO, "rpc_serve_start", "addr=%s port=%d tls=%s workers=%u", s->addr,
		  bound, s->insecure ? "off" : "mutual", s->workers);
	if (port)
		*port = bound;
	rc = 0;
out:
	if (rc)
		rpc_server_shutdown(s, 0);
	return rc;
}

int rpc_server_shutdown(struct rpc_server *s, int drain_ms)
{
	struct timespec until;
	size_t i;
	bool timed_out = false;

	if (!s)
		return CL_EINVAL;
	pthread_mutex_lock(&s->lock);
	if (s->finished || !s->started) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	s->finished = true;
	s->stopping = true;
	if (s->srv && s->cq)
		grpc_server_shutdown_and_notify(s->srv, s->cq, &s->shutdown_tag);
	pthread_mutex_unlock(&s->lock);
	if (s->srv && s->cq && s->n_threads == 0) {
		/* Failed start: no worker to collect the tag. */
		grpc_server_cancel_all_calls(s->srv);
		for (;;) {
			grpc_event ev = grpc_completion_queue_next(
			    s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
			if (ev.type == GRPC_OP_COMPLETE && *(int *)ev.tag == RPC_TAG_SHUTDOWN)
				break;
			if (ev.type == GRPC_OP_COMPLETE)
				rpc_slot_reset(ev.tag);
		}
		s->shut_done = true;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += drain_ms > 0 ? drain_ms / 1000 : 0;
	until.tv_nsec += drain_ms > 0 ? (long)(drain_ms % 1000) * 1000000L : 0;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (!s->shut_done && !timed_out)
		timed_out = pthread_cond_timedwait(&s->cond, &s->lock, &until) != 0;
	pthread_mutex_unlock(&s->lock);
	if (!s->shut_done) {
		log_event(LOG_LEVEL_WARN, "rpc_drain_timeout", "addr=%s drain_ms=%d", s->addr,
			  drain_ms);
		atomic_store(&s->cancelling, true);
		grpc_server_cancel_all_calls(s->srv);
		pthread_mutex_lock(&s->lock);
		while (!s->shut_done)
			pthread_cond_wait(&s->cond, &s->lock);
		pthread_mutex_unlock(&s->lock);
	}
	if (s->cq)
		grpc_completion_queue_shutdown(s->cq);
	for (i = 0; i < s->n_threads; i++)
		pthread_join(s->threads[i], NULL);
	if (s->n_threads == 0 && s->cq) {
		while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
			   .type != GRPC_QUEUE_SHUTDOWN)
			;
	}
	log_event(LOG_LEVEL_INFO, "rpc_serve_stop", "addr=%s drained=%s", s->addr,
		  timed_out ? "no" : "yes");
	return 0;
}

void rpc_server_free(struct rpc_server *s)
{
	size_t i;

	if (!s)
		return;
	rpc_server_shutdown(s, 0);
	if (s->srv)
		grpc_server_destroy(s->srv);
	for (i = 0; i < s->n_slots; i++) {
		grpc_completion_queue_shutdown(s->slots[i].cq);
		grpc_completion_queue_destroy(s->slots[i].cq);
	}
	if (s->cq)
		grpc_completion_queue_destroy(s->cq);
	for (i = 0; i < s->n_methods; i++)
		free(s->methods[i].path);
	free(s->slots);
	free(s->threads);
	pki_crl_free(s->crl);
	free(s->addr);
	free(s->ca_pem);
	free(s->cert_pem);
	rpc_free_secret(s->key_pem);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
	grpc_shutdown();
}

int rpc_signals_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	return pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : CL_EINTERNAL;
}

int rpc_server_wait_signal(struct rpc_server *s, int drain_ms, int *signo)
{
	sigset_t set;
	int sig = 0;

	if (!s)
		return CL_EINVAL;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigwait(&set, &sig) != 0)
		return CL_EINTERNAL;
	log_event(LOG_LEVEL_INFO, "rpc_signal", "signal=%d drain_ms=%d", sig, drain_ms);
	if (signo)
		*signo = sig;
	return rpc_server_shutdown(s, drain_ms);
}

/* ------------------------------------------------------------------ client */

static void rpc_peer_check_free(void *user)
{
	struct rpc_peer_check *pc = user;

	if (!pc)
		return;
	pki_crl_free(pc->crl);
	free(pc);
}

/* Checks the server's certificate after gRPC verified its chain: CRL and role. */
static int rpc_peer_check_cb(const char *target, const char *peer_pem, void *user)
{
	struct rpc_peer_check *pc = user;
	char cn[RPC_PEER_ID_MAX + 1], role[RPC_PEER_ROLE_MAX + 1];
	bool revoked = false;
	size_t len;

	(void)target;
	if (!peer_pem)
		return 1;
	len = strlen(peer_pem);
	if (pc->crl && (pki_crl_check(pc->crl, peer_pem, len, &revoked) || revoked)) {
		log_event(LOG_LEVEL_WARN, "rpc_server_refused", "reason=%s",
			  revoked ? "certificate revoked" : "revocation check failed");
		return 1;
	}
	if (pc->roles || pc->id[0]) {
		if (pki_cert_identity(peer_pem, len, cn, sizeof(cn), role, sizeof(role)) ||
		    (pc->roles && !(rpc_role_from_name(role) & pc->roles))) {
			log_event(LOG_LEVEL_WARN, "rpc_server_refused", "reason=%s",
				  "server role not expected");
			return 1;
		}
		if (pc->id[0] && strcmp(cn, pc->id)) {
			log_event(LOG_LEVEL_WARN, "rpc_server_refused", "reason=%s",
				  "server name not expected");
			return 1;
		}
	}
	return 0;
}

int rpc_channel_new(const struct rpc_channel_config *cfg, struct rpc_channel **out)
{
	struct rpc_channel *c = NULL;
	struct rpc_peer_check *pc = NULL;
	grpc_channel_credentials *creds = NULL;
	grpc_ssl_pem_key_cert_pair pair;
	grpc_ssl_verify_peer_options vo;
	grpc_arg args[4];
	grpc_channel_args ca;
	size_t max;
	int rc = CL_EINVAL;
	bool inited = false;

	if (!cfg || !out || !cfg->target || (cfg->expected_roles & ~RPC_ROLE_ANY) ||
	    (cfg->expected_id && strlen(cfg->expected_id) > RPC_PEER_ID_MAX))
		return CL_EINVAL;
	if (!cfg->insecure_demo && (!cfg->tls.ca_pem || (!cfg->tls.cert_pem != !cfg->tls.key_pem)))
		return CL_EINVAL;
	max = cfg->max_message_bytes;
	if ((rc = rpc_check_max(&max)))
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c)
		return CL_ENOMEM;
	c->insecure = cfg->insecure_demo;
	grpc_init();
	inited = true;
	if (c->insecure) {
		log_event(LOG_LEVEL_WARN, "rpc_insecure_demo",
			  "target=%s msg=\"PLAINTEXT channel: no TLS, demo use only\"",
			  cfg->target);
		creds = grpc_insecure_credentials_create();
	} else {
		rc = rpc_tls_init();
		if (rc)
			goto out;
		rc = CL_ENOMEM;
		pc = calloc(1, sizeof(*pc));
		if (!pc)
			goto out;
		pc->roles = cfg->expected_roles;
		if (cfg->expected_id)
			snprintf(pc->id, sizeof(pc->id), "%s", cfg->expected_id);
		if (cfg->tls.crl_pem) {
			rc = pki_crl_load(cfg->tls.ca_pem, strlen(cfg->tls.ca_pem),
					  cfg->tls.crl_pem, strlen(cfg->tls.crl_pem), &pc->crl);
			if (rc)
				goto out;
		}
		memset(&vo, 0, sizeof(vo));
		vo.verify_peer_callback = rpc_peer_check_cb;
		vo.verify_peer_callback_userdata = pc;
		vo.verify_peer_destruct = rpc_peer_check_free;
		pair.private_key = cfg->tls.key_pem;
		pair.cert_chain = cfg->tls.cert_pem;
		creds = grpc_ssl_credentials_create_ex(cfg->tls.ca_pem,
						       cfg->tls.cert_pem ? &pair : NULL, &vo, NULL);
		if (creds)
			pc = NULL; /* owned by the credentials now */
	}
	rc = CL_ETLS;
	if (!creds)
		goto out;
	memset(args, 0, sizeof(args));
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = (int)max;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
	args[1].value.integer = (int)max;
	args[2].type = GRPC_ARG_INTEGER;
	args[2].key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
	args[2].value.integer = 1;
	ca.num_args = 3;
	if (cfg->server_name && !c->insecure) {
		args[3].type = GRPC_ARG_STRING;
		args[3].key = GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
		args[3].value.string = (char *)cfg->server_name;
		ca.num_args = 4;
	}
	ca.args = args;
	c->ch = grpc_channel_create(cfg->target, creds, &ca);
	rc = c->ch ? 0 : CL_EINTERNAL;
out:
	if (creds)
		grpc_channel_credentials_release(creds);
	rpc_peer_check_free(pc);
	if (rc) {
		if (c && c->ch)
			grpc_channel_destroy(c->ch);
		free(c);
		if (inited)
			grpc_shutdown();
		return rc;
	}
	*out = c;
	return 0;
}

void rpc_channel_free(struct rpc_channel *ch)
{
	if (!ch)
		return;
	grpc_channel_destroy(ch->ch);
	free(ch);
	grpc_shutdown();
}

int rpc_cancel_new(struct rpc_cancel **out)
{
	struct rpc_cancel *c;

	if (!out)
		return CL_EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return CL_ENOMEM;
	atomic_init(&c->fired, false);
	*out = c;
	return 0;
}

void rpc_cancel_fire(struct rpc_cancel *c)
{
	if (c)
		atomic_store(&c->fired, true);
}

bool rpc_cancel_fired(const struct rpc_cancel *c)
{
	return c && atomic_load(&((struct rpc_cancel *)c)->fired);
}

void rpc_cancel_free(struct rpc_cancel *c)
{
	free(c);
}

struct rpc_ccall;

struct rpc_ctag {
	int kind; /* RPC_TAG_OP */
	struct rpc_ccall *cc;
	int which; /* 0 start, 1 recv, 2 status */
};

struct rpc_ccall {
	struct rpc_call *spec;
	grpc_call *call;
	struct rpc_ctag tags[3];
	grpc_metadata_array init_md, trail_md;
	grpc_byte_buffer *send, *recv;
	grpc_status_code status;
	grpc_slice details;
	int pending;
	bool got_md, stop, local_cancel, status_done;
};

static bool rpc_ccall_recv(struct rpc_ccall *cc)
{
	grpc_op ops[2];
	size_t n = 0;

	memset(ops, 0, sizeof(ops));
	if (!cc->got_md) {
		ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
		ops[n].data.recv_initial_metadata.recv_initial_metadata = &cc->init_md;
		n++;
		cc->got_md = true;
	}
	ops[n].op = GRPC_OP_RECV_MESSAGE;
	ops[n].data.recv_message.recv_message = &cc->recv;
	n++;
	if (grpc_call_start_batch(cc->call, ops, n, &cc->tags[1], NULL) != GRPC_CALL_OK)
		return false;
	cc->pending++;
	return true;
}

static int rpc_ccall_start(struct rpc_ccall *cc, grpc_completion_queue *cq, gpr_timespec dl)
{
	struct rpc_call *sp = cc->spec;
	grpc_slice method;
	grpc_op ops[3];
	int i;

	for (i = 0; i < 3; i++) {
		cc->tags[i].kind = RPC_TAG_OP;
		cc->tags[i].cc = cc;
		cc->tags[i].which = i;
	}
	grpc_metadata_array_init(&cc->init_md);
	grpc_metadata_array_init(&cc->trail_md);
	cc->details = grpc_empty_slice();
	if (!sp->channel || !sp->method || (!sp->req && sp->req_len))
		return CL_EINVAL;
	method = grpc_slice_from_copied_string(sp->method);
	cc->call = grpc_channel_create_call(sp->channel->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
					    method, NULL, dl, NULL);
	grpc_slice_unref(method);
	if (!cc->call)
		return CL_EINTERNAL;
	cc->send = rpc_buffer_new(sp->req, sp->req_len);
	if (!cc->send)
		return CL_ENOMEM;
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[0].data.recv_status_on_client.trailing_metadata = &cc->trail_md;
	ops[0].data.recv_status_on_client.status = &cc->status;
	ops[0].data.recv_status_on_client.status_details = &cc->details;
	if (grpc_call_start_batch(cc->call, ops, 1, &cc->tags[2], NULL) != GRPC_CALL_OK)
		return CL_EINTERNAL;
	cc->pending++;
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = cc->send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	if (grpc_call_start_batch(cc->call, ops, 3, &cc->tags[0], NULL) != GRPC_CALL_OK) {
		grpc_call_cancel(cc->call, NULL);
		return 0;
	}
	cc->pending++;
	if (!rpc_ccall_recv(cc))
		grpc_call_cancel(cc->call, NULL);
	return 0;
}

static void rpc_ccall_event(struct rpc_ccall *cc, int which, bool success)
{
	struct rpc_call *sp = cc->spec;
	uint8_t *msg = NULL;
	size_t len = 0;

	cc->pending--;
	if (which == 2) {
		cc->status_done = true;
		return;
	}
	if (which != 1)
		return;
	if (!success || !cc->recv)
		return; /* end of stream or failure: the status tells */
	if (!cc->stop && sp->on_message) {
		if (rpc_buffer_copy(cc->recv, &msg, &len)) {
			cc->stop = true;
		} else if (sp->on_message(msg, len, sp->user)) {
			cc->stop = true;
		}
		if (msg) {
			OPENSSL_cleanse(msg, len);
			free(msg);
		}
	}
	grpc_byte_buffer_destroy(cc->recv);
	cc->recv = NULL;
	if (cc->stop) {
		cc->local_cancel = true;
		grpc_call_cancel_with_status(cc->call, GRPC_STATUS_CANCELLED,
					     "cancelled by the receiver", NULL);
	}
	if (!rpc_ccall_recv(cc))
		grpc_call_cancel(cc->call, NULL);
}

static void rpc_ccall_done(struct rpc_ccall *cc)
{
	struct rpc_call *sp = cc->spec;

	if (cc->status_done) {
		rpc_status_set(&sp->status, (enum rpc_code)cc->status,
			       (const char *)GRPC_SLICE_START_PTR(cc->details),
			       GRPC_SLICE_LENGTH(cc->details));
	} else if (!cc->call) {
		rpc_status_str(&sp->status, RPC_INTERNAL, "call not started");
	}
	if (cc->call)
		grpc_call_unref(cc->call);
	if (cc->send)
		grpc_byte_buffer_destroy(cc->send);
	if (cc->recv)
		grpc_byte_buffer_destroy(cc->recv);
	grpc_metadata_array_destroy(&cc->init_md);
	grpc_metadata_array_destroy(&cc->trail_md);
	grpc_slice_unref(cc->details);
}

int rpc_call_many(struct rpc_call *calls, size_t n, int64_t deadline_ms, struct rpc_cancel *cancel)
{
	struct rpc_ccall *cc = NULL;
	grpc_completion_queue *cq = NULL;
	gpr_timespec dl, poll;
	size_t i, active = 0;
	bool cancelled = false;
	int rc = 0;

	if (!calls || n == 0)
		return CL_EINVAL;
	for (i = 0; i < n; i++)
		rpc_status_str(&calls[i].status, RPC_INTERNAL, "call not started");
	cc = calloc(n, sizeof(*cc));
	if (!cc)
		return CL_ENOMEM;
	cq = grpc_completion_queue_create_for_next(NULL);
	if (!cq) {
		free(cc);
		return CL_EINTERNAL;
	}
	dl = rpc_deadline(deadline_ms);
	for (i = 0; i < n; i++) {
		cc[i].spec = &calls[i];
		if (rpc_ccall_start(&cc[i], cq, dl) && !cc[i].pending && cc[i].call) {
			grpc_call_unref(cc[i].call);
			cc[i].call = NULL;
		}
		if (cc[i].pending)
			active++;
	}
	while (active > 0) {
		grpc_event ev;
		struct rpc_ctag *t;

		if (!cancelled && rpc_cancel_fired(cancel)) {
			cancelled = true;
			for (i = 0; i < n; i++)
				if (cc[i].call && cc[i].pending)
					grpc_call_cancel_with_status(
					    cc[i].call, GRPC_STATUS_CANCELLED,
					    "cancelled by the caller", NULL);
		}
		poll = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
				    gpr_time_from_millis(RPC_POLL_MS, GPR_TIMESPAN));
		ev = grpc_completion_queue_next(cq, poll, NULL);
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		t = ev.tag;
		rpc_ccall_event(t->cc, t->which, ev.success);
		if (t->cc->pending == 0)
			active--;
	}
	for (i = 0; i < n; i++)
		rpc_ccall_done(&cc[i]);
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	free(cc);
	return rc;
}

int rpc_call_stream(struct rpc_channel *ch, const char *method, const uint8_t *req, size_t req_len,
		    int64_t deadline_ms, rpc_message_fn on_message, void *user,
		    struct rpc_cancel *cancel, struct rpc_status *status)
{
	struct rpc_call call;
	int rc;

	memset(&call, 0, sizeof(call));
	call.channel = ch;
	call.method = method;
	call.req = req;
	call.req_len = req_len;
	call.on_message = on_message;
	call.user = user;
	rc = rpc_call_many(&call, 1, deadline_ms, cancel);
	if (rc) {
		rpc_status_str(status, RPC_INTERNAL, "call not started");
		return rc;
	}
	if (status)
		*status = call.status;
	return rpc_code_to_error(call.status.code);
}

struct rpc_unary_acc {
	uint8_t *buf;
	size_t len;
	int count;
	int err;
};

static int rpc_unary_collect(const uint8_t *msg, size_t len, void *user)
{
	struct rpc_unary_acc *a = user;

	if (a->count++ > 0) {
		a->err = CL_EPROTO;
		return 1;
	}
	a->buf = malloc(len ? len : 1);
	if (!a->buf) {
		a->err = CL_ENOMEM;
		return 1;
	}
	if (len)
		memcpy(a->buf, msg, len);
	a->len = len;
	return 0;
}

int rpc_call_unary(struct rpc_channel *ch, const char *method, const uint8_t *req, size_t req_len,
		   int64_t deadline_ms, uint8_t **resp, size_t *resp_len, struct rpc_status *status)
{
	struct rpc_unary_acc a;
	struct rpc_status st;
	int rc;

	if (!resp || !resp_len)
		return CL_EINVAL;
	memset(&a, 0, sizeof(a));
	rc = rpc_call_stream(ch, method, req, req_len, deadline_ms, rpc_unary_collect, &a, NULL,
			     &st);
	if (!rc && a.err)
		rc = a.err;
	if (!rc && a.count != 1) {
		rc = CL_EPROTO;
		rpc_status_str(&st, RPC_INTERNAL, "no response message");
	}
	if (a.err && st.code == RPC_CANCELLED)
		rpc_status_str(&st, RPC_INTERNAL, "more than one response message");
	if (status)
		*status = st;
	if (rc) {
		if (a.buf) {
			OPENSSL_cleanse(a.buf, a.len);
			free(a.buf);
		}
		return a.err ? a.err : rc;
	}
	*resp = a.buf;
	*resp_len = a.len;
	return 0;
}
