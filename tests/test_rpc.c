/*
 * Tests for protocol/rpc: real servers on 127.0.0.1 (ephemeral ports) over
 * mutual TLS with certificates made by protocol/pki in CASELINK_TMP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "common/cl_error.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"

#define SLOW_WAIT   "/caselink.test.Slow/Wait"
#define SLOW_DRAIN  "/caselink.test.Slow/Drain"
#define SLOW_STREAM "/caselink.test.Slow/Stream"
#define SMALL_MAX   (64 * 1024)

struct party {
	char *cert, *key;
};

static char tdir[1024];
static char *ca_pem, *ca2_pem, *crl_pem;
static struct party p_server, p_coord, p_user, p_expired, p_revoked, p_foreign;
static struct rpc_server *srv;
static int srv_port;
static atomic_int handler_calls, saw_cancel;

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static char *slurp(const char *rel)
{
	char p[1200];
	char *buf = NULL;
	size_t len;
	int n;

	n = snprintf(p, sizeof(p), "%s/%s", tdir, rel);

	assert_true(n > 0 && (size_t)n < sizeof(p));
	assert_int_equal(pki_read_file(p, PKI_PEM_MAX, &buf, &len), 0);
	return buf;
}

static void make_party(const char *ca, const char *id, const char *role, long long validity,
		       struct party *out)
{
	char c[1200], o[1200], rel[256];
	static const char *const dns[] = {"localhost"};
	static const char *const ips[] = {"127.0.0.1"};
	struct pki_issue_opts opts = {.id = id,
				      .role = role,
				      .dns = dns,
				      .n_dns = 1,
				      .ips = ips,
				      .n_ips = 1,
				      .validity_seconds = validity};

	snprintf(c, sizeof(c), "%s/%s", tdir, ca);
	snprintf(o, sizeof(o), "%s/certs", tdir);
	assert_int_equal(pki_issue(c, o, &opts), 0);
	snprintf(rel, sizeof(rel), "certs/%s.pem", id);
	out->cert = slurp(rel);
	snprintf(rel, sizeof(rel), "certs/%s.key", id);
	out->key = slurp(rel);
}

/* ---- handlers ---- */

/* Status: answers "<peer id>|<peer role>|<request>". */
static enum rpc_code h_echo(struct rpc_ctx *ctx, const uint8_t *req, size_t len, void *user)
{
	char buf[512];
	int n;

	(void)user;
	atomic_fetch_add(&handler_calls, 1);
	n = snprintf(buf, sizeof(buf), "%s|%s|%.*s", rpc_ctx_peer_id(ctx), rpc_ctx_peer_role(ctx),
		     (int)len, (const char *)req);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		rpc_ctx_set_message(ctx, "too long");
		return RPC_INVALID_ARGUMENT;
	}
	if (rpc_ctx_send(ctx, (const uint8_t *)buf, (size_t)n))
		return RPC_INTERNAL;
	return RPC_OK;
}

/* Query: the request is a decimal count N; streams "0", "1", ..., "N-1". */
static enum rpc_code h_count(struct rpc_ctx *ctx, const uint8_t *req, size_t len, void *user)
{
	char buf[32];
	long n, i;

	(void)user;
	atomic_fetch_add(&handler_calls, 1);
	if (len == 0 || len >= sizeof(buf))
		return RPC_INVALID_ARGUMENT;
	memcpy(buf, req, len);
	buf[len] = '\0';
	n = strtol(buf, NULL, 10);
	if (n < 0 || n > 100000)
		return RPC_INVALID_ARGUMENT;
	for (i = 0; i < n; i++) {
		int k = snprintf(buf, sizeof(buf), "%ld", i);
		if (rpc_ctx_send(ctx, (const uint8_t *)buf, (size_t)k))
			return RPC_CANCELLED;
	}
	return RPC_OK;
}

/* Waits until the call is cancelled (client cancel, deadline or shutdown). */
static enum rpc_code h_wait(struct rpc_ctx *ctx, const uint8_t *req, size_t len, void *user)
{
	int i;

	(void)req;
	(void)len;
	(void)user;
	atomic_fetch_add(&handler_calls, 1);
	for (i = 0; i < 1000; i++) {
		if (rpc_ctx_cancelled(ctx)) {
			atomic_fetch_add(&saw_cancel, 1);
			return RPC_CANCELLED;
		}
		sleep_ms(10);
	}
	rpc_ctx_set_message(ctx, "never cancelled");
	return RPC_INTERNAL;
}

/* Works for 300 ms, then answers "drained". */
static enum rpc_code h_drain(struct rpc_ctx *ctx, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	atomic_fetch_add(&handler_calls, 1);
	sleep_ms(300);
	return rpc_ctx_send(ctx, (const uint8_t *)"drained", 7) ? RPC_INTERNAL : RPC_OK;
}

/* Streams until cancelled. */
static enum rpc_code h_stream(struct rpc_ctx *ctx, const uint8_t *req, size_t len, void *user)
{
	(void)req;
	(void)len;
	(void)user;
	atomic_fetch_add(&handler_calls, 1);
	for (;;) {
		if (rpc_ctx_send(ctx, (const uint8_t *)"tick", 4)) {
			atomic_fetch_add(&saw_cancel, 1);
			return RPC_CANCELLED;
		}
		sleep_ms(5);
	}
}

static struct rpc_server *start_server(bool with_crl, size_t max, unsigned workers, int *port)
{
	struct rpc_server_config cfg = {.listen_addr = "127.0.0.1:0",
					.tls = {.ca_pem = ca_pem,
						.cert_pem = p_server.cert,
						.key_pem = p_server.key,
						.crl_pem = with_crl ? crl_pem : NULL},
					.max_message_bytes = max,
					.workers = workers};
	struct rpc_server *s = NULL;

	assert_int_equal(rpc_server_new(&cfg, &s), 0);
	assert_int_equal(rpc_server_add_method(s, RPC_METHOD_NODE_STATUS, RPC_UNARY,
					       RPC_ROLE_COORDINATOR, h_echo, NULL),
			 0);
	assert_int_equal(rpc_server_add_method(s, RPC_METHOD_NODE_QUERY, RPC_SERVER_STREAMING,
					       RPC_ROLE_COORDINATOR, h_count, NULL),
			 0);
	assert_int_equal(rpc_server_add_method(s, SLOW_WAIT, RPC_UNARY, RPC_ROLE_ANY, h_wait, NULL),
			 0);
	assert_int_equal(
	    rpc_server_add_method(s, SLOW_DRAIN, RPC_UNARY, RPC_ROLE_ANY, h_drain, NULL), 0);
	assert_int_equal(rpc_server_add_method(s, SLOW_STREAM, RPC_SERVER_STREAMING, RPC_ROLE_ANY,
					       h_stream, NULL),
			 0);
	assert_int_equal(
	    rpc_server_add_method(s, SLOW_STREAM, RPC_UNARY, RPC_ROLE_ANY, h_echo, NULL),
	    CL_EEXIST);
	assert_int_equal(rpc_server_start(s, port), 0);
	assert_true(*port > 0);
	return s;
}

static struct rpc_channel *open_channel(int port, const char *ca, const struct party *p,
					unsigned expect_roles, size_t max)
{
	char target[64];
	struct rpc_channel_config cfg = {
	    .target = target,
	    .tls = {.ca_pem = ca, .cert_pem = p ? p->cert : NULL, .key_pem = p ? p->key : NULL},
	    .expected_roles = expect_roles,
	    .max_message_bytes = max};
	struct rpc_channel *ch = NULL;

	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	assert_int_equal(rpc_channel_new(&cfg, &ch), 0);
	return ch;
}

/* A unary Status call as p; returns the CL code, status and response in out (may be NULL). */
static int status_call(int port, const struct party *p, const char *ca, struct rpc_status *st,
		       char *out, size_t cap)
{
	struct rpc_channel *ch = open_channel(port, ca, p, 0, 0);
	uint8_t *resp = NULL;
	size_t len = 0;
	int rc = rpc_call_unary(ch, RPC_METHOD_NODE_STATUS, (const uint8_t *)"hello", 5, 5000,
				&resp, &len, st);

	if (rc == 0 && out) {
		assert_true(len < cap);
		memcpy(out, resp, len);
		out[len] = '\0';
	}
	free(resp);
	rpc_channel_free(ch);
	return rc;
}

static void assert_still_serving(void)
{
	struct rpc_status st;
	char out[256];

	assert_int_equal(status_call(srv_port, &p_coord, ca_pem, &st, out, sizeof(out)), 0);
	assert_int_equal(st.code, RPC_OK);
	assert_string_equal(out, "coord-1|coordinator|hello");
}

static int setup(void **state)
{
	const char *tmp = getenv("CASELINK_TMP");
	char p[1200];

	(void)state;
	snprintf(tdir, sizeof(tdir), "%s/test_rpc.%ld", tmp ? tmp : "/tmp", (long)getpid());
	snprintf(p, sizeof(p), "%s/ca", tdir);
	assert_int_equal(pki_init_ca(p), 0);
	snprintf(p, sizeof(p), "%s/ca2", tdir);
	assert_int_equal(pki_init_ca(p), 0);
	make_party("ca", "node-srv", "node", 0, &p_server);
	make_party("ca", "coord-1", "coordinator", 0, &p_coord);
	make_party("ca", "user-1", "user", 0, &p_user);
	make_party("ca", "coord-expired", "coordinator", -60, &p_expired);
	make_party("ca", "coord-revoked", "coordinator", 0, &p_revoked);
	make_party("ca2", "coord-foreign", "coordinator", 0, &p_foreign);
	snprintf(p, sizeof(p), "%s/certs/coord-revoked.pem", tdir);
	{
		char c[1200];
		snprintf(c, sizeof(c), "%s/ca", tdir);
		assert_int_equal(pki_revoke(c, p), 0);
	}
	ca_pem = slurp("ca/ca.pem");
	ca2_pem = slurp("ca2/ca.pem");
	crl_pem = slurp("ca/crl.pem");
	srv = start_server(true, SMALL_MAX, 4, &srv_port);
	return 0;
}

static void free_party(struct party *p)
{
	free(p->cert);
	free(p->key);
}

static int teardown(void **state)
{
	char cmd[1200];

	(void)state;
	rpc_server_free(srv);
	free_party(&p_server);
	free_party(&p_coord);
	free_party(&p_user);
	free_party(&p_expired);
	free_party(&p_revoked);
	free_party(&p_foreign);
	free(ca_pem);
	free(ca2_pem);
	free(crl_pem);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- tests ---- */

static void test_unary_echo_and_identity(void **state)
{
	(void)state;
	assert_still_serving();
}

struct counter {
	long next;
	int bad;
};

static int on_count(const uint8_t *msg, size_t len, void *user)
{
	struct counter *c = user;
	char buf[32];

	if (len >= sizeof(buf)) {
		c->bad++;
		return 1;
	}
	memcpy(buf, msg, len);
	buf[len] = '\0';
	if (strtol(buf, NULL, 10) != c->next)
		c->bad++;
	c->next++;
	return 0;
}

static void test_stream_echo(void **state)
{
	struct rpc_channel *ch = open_channel(srv_port, ca_pem, &p_coord, RPC_ROLE_NODE, 0);
	struct counter c = {0, 0};
	struct rpc_status st;

	(void)state;
	assert_int_equal(rpc_call_stream(ch, RPC_METHOD_NODE_QUERY, (const uint8_t *)"500", 3, 5000,
					 on_count, &c, NULL, &st),
			 0);
	assert_int_equal(st.code, RPC_OK);
	assert_int_equal(c.next, 500);
	assert_int_equal(c.bad, 0);
	/* Zero messages is a valid stream. */
	c.next = 0;
	assert_int_equal(rpc_call_stream(ch, RPC_METHOD_NODE_QUERY, (const uint8_t *)"0", 1, 5000,
					 on_count, &c, NULL, &st),
			 0);
	assert_int_equal(c.next, 0);
	rpc_channel_free(ch);
}

static void test_deadline_exceeded(void **state)
{
	struct rpc_channel *ch = open_channel(srv_port, ca_pem, &p_coord, 0, 0);
	struct rpc_status st;
	uint8_t *resp = NULL;
	size_t len = 0;
	int before = atomic_load(&saw_cancel), i;

	(void)state;
	/* Long enough for the call to reach its handler on a loaded machine (ASan, -j2). */
	assert_int_equal(
	    rpc_call_unary(ch, SLOW_WAIT, (const uint8_t *)"x", 1, 1500, &resp, &len, &st),
	    CL_ETIMEOUT);
	assert_int_equal(st.code, RPC_DEADLINE_EXCEEDED);
	assert_null(resp);
	for (i = 0; i < 500 && atomic_load(&saw_cancel) == before; i++)
		sleep_ms(10);
	assert_true(atomic_load(&saw_cancel) > before); /* the handler saw the deadline */
	rpc_channel_free(ch);
}

struct fire_later_arg {
	struct rpc_cancel *cancel;
	int calls_before; /* fire once the handler has started, however loaded the machine */
};

static void *fire_later(void *arg)
{
	struct fire_later_arg *f = arg;
	int i;

	for (i = 0; i < 1000 && atomic_load(&handler_calls) == f->calls_before; i++)
		sleep_ms(10);
	sleep_ms(50);
	rpc_cancel_fire(f->cancel);
	return NULL;
}

static int stop_after_three(const uint8_t *msg, size_t len, void *user)
{
	int *n = user;

	(void)msg;
	(void)len;
	return ++*n >= 3;
}

static void test_cancellation(void **state)
{
	struct rpc_channel *ch = open_channel(srv_port, ca_pem, &p_coord, 0, 0);
	struct rpc_cancel *cancel = NULL;
	struct fire_later_arg fl;
	struct rpc_status st;
	pthread_t t;
	int before = atomic_load(&saw_cancel), n = 0, i;

	(void)state;
	/* From another thread, through a cancel flag. */
	assert_int_equal(rpc_cancel_new(&cancel), 0);
	fl.cancel = cancel;
	fl.calls_before = atomic_load(&handler_calls);
	assert_int_equal(pthread_create(&t, NULL, fire_later, &fl), 0);
	assert_int_equal(
	    rpc_call_stream(ch, SLOW_WAIT, (const uint8_t *)"x", 1, 10000, NULL, NULL, cancel, &st),
	    CL_ECANCELLED);
	assert_int_equal(st.code, RPC_CANCELLED);
	pthread_join(t, NULL);
	rpc_cancel_free(cancel);
	for (i = 0; i < 500 && atomic_load(&saw_cancel) == before; i++)
		sleep_ms(10);
	assert_true(atomic_load(&saw_cancel) > before);
	/* From the message callback. */
	before = atomic_load(&saw_cancel);
	assert_int_equal(rpc_call_stream(ch, SLOW_STREAM, (const uint8_t *)"x", 1, 10000,
					 stop_after_three, &n, NULL, &st),
			 CL_ECANCELLED);
	assert_int_equal(n, 3);
	for (i = 0; i < 500 && atomic_load(&saw_cancel) == before; i++)
		sleep_ms(10);
	assert_true(atomic_load(&saw_cancel) > before);
	rpc_channel_free(ch);
	assert_still_serving();
}

static void test_message_size_limit(void **state)
{
	struct rpc_channel *ch = open_channel(srv_port, ca_pem, &p_coord, 0, 1024 * 1024);
	struct rpc_status st;
	uint8_t *big = calloc(1, SMALL_MAX + 1024), *resp = NULL;
	size_t len = 0;
	int before = atomic_load(&handler_calls);

	(void)state;
	assert_non_null(big);
	memset(big, 'a', SMALL_MAX + 1024);
	assert_int_equal(rpc_call_unary(ch, RPC_METHOD_NODE_STATUS, big, SMALL_MAX + 1024, 5000,
					&resp, &len, &st),
			 CL_ELIMIT);
	assert_int_equal(st.code, RPC_RESOURCE_EXHAUSTED);
	assert_int_equal(atomic_load(&handler_calls), before);
	rpc_channel_free(ch);
	/* The client's own receive limit: a response over it is refused too. */
	ch = open_channel(srv_port, ca_pem, &p_coord, 0, 8);
	assert_int_equal(rpc_call_unary(ch, RPC_METHOD_NODE_STATUS, (const uint8_t *)"hello", 5,
					5000, &resp, &len, &st),
			 CL_ELIMIT);
	assert_int_equal(st.code, RPC_RESOURCE_EXHAUSTED);
	rpc_channel_free(ch);
	free(big);
	assert_still_serving();
}

static void test_refuse_no_client_cert(void **state)
{
	struct rpc_status st;
	int before = atomic_load(&handler_calls);

	(void)state;
	assert_int_equal(status_call(srv_port, NULL, ca_pem, &st, NULL, 0), CL_EUNAVAIL);
	assert_int_equal(st.code, RPC_UNAVAILABLE);
	assert_int_equal(atomic_load(&handler_calls), before);
	assert_still_serving();
}

static void test_refuse_other_ca(void **state)
{
	struct rpc_status st;
	int before = atomic_load(&handler_calls);

	(void)state;
	/* The foreign client trusts our CA but presents a certificate of another CA. */
	assert_int_equal(status_call(srv_port, &p_foreign, ca_pem, &st, NULL, 0), CL_EUNAVAIL);
	assert_int_equal(st.code, RPC_UNAVAILABLE);
	/* A client that trusts only the other CA refuses our server. */
	assert_int_equal(status_call(srv_port, &p_coord, ca2_pem, &st, NULL, 0), CL_EUNAVAIL);
	assert_int_equal(atomic_load(&handler_calls), before);
	assert_still_serving();
}

static void test_refuse_expired(void **state)
{
	struct rpc_status st;
	int before = atomic_load(&handler_calls);

	(void)state;
	assert_int_equal(status_call(srv_port, &p_expired, ca_pem, &st, NULL, 0), CL_EUNAVAIL);
	assert_int_equal(st.code, RPC_UNAVAILABLE);
	assert_int_equal(atomic_load(&handler_calls), before);
	assert_still_serving();
}

static void test_refuse_revoked(void **state)
{
	struct rpc_status st;
	int before = atomic_load(&handler_calls), port = 0;
	struct rpc_server *nocrl;
	char out[256];

	(void)state;
	assert_int_equal(status_call(srv_port, &p_revoked, ca_pem, &st, NULL, 0), CL_EAUTH);
	assert_int_equal(st.code, RPC_UNAUTHENTICATED);
	assert_string_equal(st.message, "certificate revoked");
	assert_int_equal(atomic_load(&handler_calls), before);
	assert_still_serving();
	/* Control: the same certificate is accepted by a server without the CRL. */
	nocrl = start_server(false, 0, 1, &port);
	assert_int_equal(status_call(port, &p_revoked, ca_pem, &st, out, sizeof(out)), 0);
	assert_string_equal(out, "coord-revoked|coordinator|hello");
	rpc_server_free(nocrl);
}

static void test_refuse_wrong_role(void **state)
{
	struct rpc_status st;
	int before = atomic_load(&handler_calls);

	(void)state;
	assert_int_equal(status_call(srv_port, &p_user, ca_pem, &st, NULL, 0), CL_EDENIED);
	assert_int_equal(st.code, RPC_PERMISSION_DENIED);
	assert_int_equal(atomic_load(&handler_calls), before);
	assert_still_serving();
}

static void test_client_checks_server_role(void **state)
{
	struct rpc_channel *ch = open_channel(srv_port, ca_pem, &p_coord, RPC_ROLE_KEYHOLDER, 0);
	struct rpc_status st;
	uint8_t *resp = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(rpc_call_unary(ch, RPC_METHOD_NODE_STATUS, (const uint8_t *)"x", 1, 5000,
					&resp, &len, &st),
			 CL_EUNAVAIL);
	rpc_channel_free(ch);
}

static void test_unknown_method(void **state)
{
	struct rpc_channel *ch = open_channel(srv_port, ca_pem, &p_coord, 0, 0);
	struct rpc_status st;
	uint8_t *resp = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(rpc_call_unary(ch, "/caselink.v1.Node/Nope", (const uint8_t *)"x", 1, 5000,
					&resp, &len, &st),
			 CL_EUNSUPPORTED);
	assert_int_equal(st.code, RPC_UNIMPLEMENTED);
	rpc_channel_free(ch);
	assert_still_serving();
}

struct fan {
	int messages;
};

static int on_fan(const uint8_t *msg, size_t len, void *user)
{
	(void)msg;
	(void)len;
	((struct fan *)user)->messages++;
	return 0;
}

static void test_fanout_many(void **state)
{
	enum { N = 24 };
	struct rpc_channel *ch = open_channel(srv_port, ca_pem, &p_coord, RPC_ROLE_NODE, 0);
	struct rpc_channel *dead;
	struct rpc_call calls[N + 1];
	struct fan fans[N + 1];
	char reqs[N][8];
	struct rpc_channel_config dc = {
	    .target = "127.0.0.1:1",
	    .tls = {.ca_pem = ca_pem, .cert_pem = p_coord.cert, .key_pem = p_coord.key}};
	int i;

	(void)state;
	assert_int_equal(rpc_channel_new(&dc, &dead), 0);
	memset(calls, 0, sizeof(calls));
	memset(fans, 0, sizeof(fans));
	for (i = 0; i < N; i++) {
		snprintf(reqs[i], sizeof(reqs[i]), "%d", i * 10);
		calls[i].channel = ch;
		calls[i].method = RPC_METHOD_NODE_QUERY;
		calls[i].req = (const uint8_t *)reqs[i];
		calls[i].req_len = strlen(reqs[i]);
		calls[i].on_message = on_fan;
		calls[i].user = &fans[i];
	}
	calls[N].channel = dead; /* a node that is down */
	calls[N].method = RPC_METHOD_NODE_QUERY;
	calls[N].req = (const uint8_t *)"5";
	calls[N].req_len = 1;
	calls[N].on_message = on_fan;
	calls[N].user = &fans[N];
	assert_int_equal(rpc_call_many(calls, N + 1, 10000, NULL), 0);
	for (i = 0; i < N; i++) {
		assert_int_equal(calls[i].status.code, RPC_OK);
		assert_int_equal(fans[i].messages, i * 10);
	}
	assert_int_equal(calls[N].status.code, RPC_UNAVAILABLE);
	assert_int_equal(fans[N].messages, 0);
	rpc_channel_free(dead);
	rpc_channel_free(ch);
}

struct bg_call {
	int port;
	const char *method;
	int rc;
	struct rpc_status st;
	char out[64];
};

static void *bg_unary(void *arg)
{
	struct bg_call *b = arg;
	struct rpc_channel *ch = open_channel(b->port, ca_pem, &p_coord, 0, 0);
	uint8_t *resp = NULL;
	size_t len = 0;

	b->rc = rpc_call_unary(ch, b->method, (const uint8_t *)"x", 1, 10000, &resp, &len, &b->st);
	if (b->rc == 0 && len < sizeof(b->out)) {
		memcpy(b->out, resp, len);
		b->out[len] = '\0';
	}
	free(resp);
	rpc_channel_free(ch);
	return NULL;
}

static void test_shutdown_drains_in_flight(void **state)
{
	int port = 0, before = atomic_load(&handler_calls), i;
	struct rpc_server *s = start_server(false, 0, 2, &port);
	struct bg_call b = {.port = port, .method = SLOW_DRAIN};
	struct rpc_status st;
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, bg_unary, &b), 0);
	for (i = 0; i < 500 && atomic_load(&handler_calls) == before; i++)
		sleep_ms(10);
	assert_true(atomic_load(&handler_calls) > before); /* the call is in flight */
	assert_int_equal(rpc_server_shutdown(s, 5000), 0);
	pthread_join(t, NULL);
	assert_int_equal(b.rc, 0);
	assert_string_equal(b.out, "drained");
	/* After shutdown nothing is served. */
	assert_int_not_equal(status_call(port, &p_coord, ca_pem, &st, NULL, 0), 0);
	assert_int_equal(rpc_server_shutdown(s, 0), 0); /* idempotent */
	rpc_server_free(s);
}

static void test_shutdown_cancels_after_drain_deadline(void **state)
{
	int port = 0, before = atomic_load(&handler_calls), seen = atomic_load(&saw_cancel), i;
	struct rpc_server *s = start_server(false, 0, 2, &port);
	struct bg_call b = {.port = port, .method = SLOW_WAIT};
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, bg_unary, &b), 0);
	for (i = 0; i < 500 && atomic_load(&handler_calls) == before; i++)
		sleep_ms(10);
	assert_true(atomic_load(&handler_calls) > before);
	assert_int_equal(rpc_server_shutdown(s, 100), 0);
	assert_true(atomic_load(&saw_cancel) > seen); /* the handler was told and returned */
	pthread_join(t, NULL);
	assert_int_not_equal(b.rc, 0);
	rpc_server_free(s);
}

struct sig_wait {
	struct rpc_server *s;
	int signo;
	int rc;
};

static void *wait_signal(void *arg)
{
	struct sig_wait *w = arg;

	w->rc = rpc_server_wait_signal(w->s, 1000, &w->signo);
	return NULL;
}

static void test_sigterm_shutdown(void **state)
{
	int port = 0;
	struct sig_wait w = {0};
	struct rpc_status st;
	char out[128];
	pthread_t t;

	(void)state;
	w.s = start_server(false, 0, 1, &port);
	assert_int_equal(status_call(port, &p_coord, ca_pem, &st, out, sizeof(out)), 0);
	assert_int_equal(pthread_create(&t, NULL, wait_signal, &w), 0);
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	pthread_join(t, NULL);
	assert_int_equal(w.rc, 0);
	assert_int_equal(w.signo, SIGTERM);
	assert_int_not_equal(status_call(port, &p_coord, ca_pem, &st, NULL, 0), 0);
	rpc_server_free(w.s);
}

static void test_insecure_demo(void **state)
{
	struct rpc_server_config cfg = {.listen_addr = "127.0.0.1:0", .insecure_demo = true};
	struct rpc_channel_config cc = {.insecure_demo = true};
	struct rpc_server *s = NULL;
	struct rpc_channel *ch = NULL;
	char target[64];
	uint8_t *resp = NULL;
	size_t len = 0;
	int port = 0;

	(void)state;
	assert_int_equal(rpc_server_new(&cfg, &s), 0);
	assert_int_equal(rpc_server_add_method(s, RPC_METHOD_NODE_STATUS, RPC_UNARY,
					       RPC_ROLE_COORDINATOR, h_echo, NULL),
			 0);
	assert_int_equal(rpc_server_start(s, &port), 0);
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	cc.target = target;
	assert_int_equal(rpc_channel_new(&cc, &ch), 0);
	assert_int_equal(rpc_call_unary(ch, RPC_METHOD_NODE_STATUS, (const uint8_t *)"hi", 2, 5000,
					&resp, &len, NULL),
			 0);
	assert_int_equal(len, 4);
	assert_memory_equal(resp, "||hi", 4); /* no peer identity in plaintext */
	free(resp);
	rpc_channel_free(ch);
	/* A TLS client cannot talk to the plaintext port. */
	assert_int_not_equal(status_call(port, &p_coord, ca_pem, NULL, NULL, 0), 0);
	rpc_server_free(s);
	/* Without the flag, a server without TLS material is refused. */
	cfg.insecure_demo = false;
	s = NULL;
	assert_int_equal(rpc_server_new(&cfg, &s), CL_EINVAL);
	assert_null(s);
}

/* Raw TLS handshake with OpenSSL: returns the negotiated version or 0 on failure. */
static int raw_handshake(int port, int max_version)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	BIO *b;
	X509 *x;
	EVP_PKEY *k;
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), version = 0;

	assert_non_null(ctx);
	assert_true(fd >= 0);
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TLSv1_2 | SSL_OP_NO_TLSv1_3);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, max_version);
	b = BIO_new_mem_buf(p_coord.cert, -1);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	b = BIO_new_mem_buf(p_coord.key, -1);
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, k), 1);
	SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x02h2", 3);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) == 1)
		version = SSL_version(ssl);
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
	X509_free(x);
	EVP_PKEY_free(k);
	SSL_CTX_free(ctx);
	return version;
}

static void test_bind_failure(void **state)
{
	char addr[64];
	struct rpc_server_config cfg = {
	    .listen_addr = addr,
	    .tls = {.ca_pem = ca_pem, .cert_pem = p_server.cert, .key_pem = p_server.key}};
	struct rpc_server *s = NULL;
	int port = 0;

	(void)state;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", srv_port); /* already in use */
	assert_int_equal(rpc_server_new(&cfg, &s), 0);
	assert_int_equal(rpc_server_add_method(s, RPC_METHOD_NODE_STATUS, RPC_UNARY,
					       RPC_ROLE_COORDINATOR, h_echo, NULL),
			 0);
	assert_int_equal(rpc_server_start(s, &port), CL_EIO);
	assert_int_equal(port, 0);
	rpc_server_free(s);
	assert_still_serving();
}

static void test_tls13_only(void **state)
{
	(void)state;
	assert_int_equal(raw_handshake(srv_port, TLS1_3_VERSION), TLS1_3_VERSION);
	assert_int_equal(raw_handshake(srv_port, TLS1_2_VERSION), 0);
	assert_still_serving();
}

static void test_schema_version(void **state)
{
	Caselink__V1__QueryRequest q = CASELINK__V1__QUERY_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__QueryRequest *back;
	uint8_t buf[256];
	size_t n;

	(void)state;
	assert_int_equal(CASELINK_SCHEMA_VERSION,
			 CASELINK__V1__SCHEMA_VERSION__SCHEMA_VERSION_CURRENT);
	assert_int_equal(rpc_schema_check(CASELINK_SCHEMA_VERSION), 0);
	q.header = &h;
	q.measure = "M1";
	h.schema_version = CASELINK_SCHEMA_VERSION + 1;
	n = caselink__v1__query_request__get_packed_size(&q);
	assert_true(n <= sizeof(buf));
	caselink__v1__query_request__pack(&q, buf);
	back = caselink__v1__query_request__unpack(NULL, n, buf);
	assert_non_null(back);
	assert_non_null(back->header);
	assert_string_equal(back->measure, "M1");
	assert_int_equal(rpc_schema_check(back->header->schema_version), CL_EVERSION);
	caselink__v1__query_request__free_unpacked(back, NULL);
	/* A request without a header (version 0) is refused too. */
	assert_int_equal(rpc_schema_check(0), CL_EVERSION);
	assert_int_equal(rpc_code_to_error(RPC_FAILED_PRECONDITION), CL_EVERSION);
	/* status names for users, coded reasons for coverage */
	assert_string_equal(rpc_code_name(RPC_OK), "OK");
	assert_string_equal(rpc_code_name(RPC_RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
	assert_string_equal(rpc_code_name(RPC_UNAUTHENTICATED), "UNAUTHENTICATED");
	assert_string_equal(rpc_code_name((enum rpc_code)17), "UNKNOWN");
	assert_string_equal(rpc_code_reason(RPC_DEADLINE_EXCEEDED), "deadline");
	assert_string_equal(rpc_code_reason(RPC_PERMISSION_DENIED), "refused");
	assert_string_equal(rpc_code_reason(RPC_INTERNAL), "error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unary_echo_and_identity),
	    cmocka_unit_test(test_stream_echo),
	    cmocka_unit_test(test_deadline_exceeded),
	    cmocka_unit_test(test_cancellation),
	    cmocka_unit_test(test_message_size_limit),
	    cmocka_unit_test(test_refuse_no_client_cert),
	    cmocka_unit_test(test_refuse_other_ca),
	    cmocka_unit_test(test_refuse_expired),
	    cmocka_unit_test(test_refuse_revoked),
	    cmocka_unit_test(test_refuse_wrong_role),
	    cmocka_unit_test(test_client_checks_server_role),
	    cmocka_unit_test(test_unknown_method),
	    cmocka_unit_test(test_fanout_many),
	    cmocka_unit_test(test_shutdown_drains_in_flight),
	    cmocka_unit_test(test_shutdown_cancels_after_drain_deadline),
	    cmocka_unit_test(test_sigterm_shutdown),
	    cmocka_unit_test(test_insecure_demo),
	    cmocka_unit_test(test_bind_failure),
	    cmocka_unit_test(test_tls13_only),
	    cmocka_unit_test(test_schema_version),
	};

	/* Before any thread exists, so that SIGTERM reaches only sigwait(). */
	if (rpc_signals_block())
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
