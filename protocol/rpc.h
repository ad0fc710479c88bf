/*
 * rpc — the one adapter over the gRPC core C API (no other module includes
 * gRPC headers, and no gRPC type appears here).
 *
 * Server: rpc_server_new, rpc_server_add_method (unary or server-streaming,
 * with the roles allowed to call it), rpc_server_start, rpc_server_shutdown.
 * Handlers run on the server's worker threads, one call per thread at a time,
 * and see the request bytes, the peer's identity (certificate CN and OU role),
 * the deadline and a cancellation check; they answer with rpc_ctx_send and
 * return a status code.
 *
 * Client: rpc_channel_new, then rpc_call_unary / rpc_call_stream (blocking,
 * thread-safe, one channel may be shared by many threads) or rpc_call_many,
 * which runs many calls at once on one completion queue from the calling
 * thread (the coordinator's fan-out). See docs/transport.md.
 *
 * Every connection is mutual TLS with certificates of the federation CA,
 * unless the caller sets insecure_demo, which logs a loud warning.
 */
#ifndef CASELINK_PROTOCOL_RPC_H
#define CASELINK_PROTOCOL_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wire schema version carried in every RequestHeader (caselink.proto). */
#define CASELINK_SCHEMA_VERSION 1u

/* Method paths of caselink.proto. */
#define RPC_METHOD_NODE_STATUS		"/caselink.v1.Node/Status"
#define RPC_METHOD_NODE_QUERY		"/caselink.v1.Node/Query"
#define RPC_METHOD_COORDINATOR_STATUS	"/caselink.v1.Coordinator/Status"
#define RPC_METHOD_COORDINATOR_QUERY	"/caselink.v1.Coordinator/Query"
#define RPC_METHOD_KEYHOLDER_STATUS	"/caselink.v1.Keyholder/Status"
#define RPC_METHOD_KEYHOLDER_BLIND_EVAL "/caselink.v1.Keyholder/BlindEvaluate"
#define RPC_METHOD_COMPUTE_STATUS	"/caselink.v1.Compute/Status"
#define RPC_METHOD_COMPUTE_START	"/caselink.v1.Compute/Start"
#define RPC_METHOD_COMPUTE_EXCHANGE	"/caselink.v1.Compute/Exchange"

/* Defaults and bounds. */
#define RPC_MAX_MESSAGE_DEFAULT (4u * 1024 * 1024)
#define RPC_MAX_MESSAGE_LIMIT	(64u * 1024 * 1024)
#define RPC_WORKERS_DEFAULT	4u
#define RPC_WORKERS_MAX		64u
#define RPC_METHODS_MAX		32u
#define RPC_STATUS_MSG_MAX	256u
#define RPC_PEER_ID_MAX		64u
#define RPC_PEER_ROLE_MAX	16u

/* Status codes: numerically the gRPC status codes. */
enum rpc_code {
	RPC_OK = 0,
	RPC_CANCELLED = 1,
	RPC_UNKNOWN = 2,
	RPC_INVALID_ARGUMENT = 3,
	RPC_DEADLINE_EXCEEDED = 4,
	RPC_NOT_FOUND = 5,
	RPC_ALREADY_EXISTS = 6,
	RPC_PERMISSION_DENIED = 7,
	RPC_RESOURCE_EXHAUSTED = 8,
	RPC_FAILED_PRECONDITION = 9,
	RPC_ABORTED = 10,
	RPC_OUT_OF_RANGE = 11,
	RPC_UNIMPLEMENTED = 12,
	RPC_INTERNAL = 13,
	RPC_UNAVAILABLE = 14,
	RPC_DATA_LOSS = 15,
	RPC_UNAUTHENTICATED = 16,
};

/* Roles, as encoded in the certificate subject OU; a bit set in allowed-role masks. */
enum rpc_role {
	RPC_ROLE_NODE = 1u << 0,
	RPC_ROLE_COORDINATOR = 1u << 1,
	RPC_ROLE_KEYHOLDER = 1u << 2,
	RPC_ROLE_USER = 1u << 3,
	RPC_ROLE_COMPUTE = 1u << 4, /* a computing party of the secure computation (1 or 2) */
};
#define RPC_ROLE_ANY                                                                               \
	(RPC_ROLE_NODE | RPC_ROLE_COORDINATOR | RPC_ROLE_KEYHOLDER | RPC_ROLE_USER |               \
	 RPC_ROLE_COMPUTE)

enum rpc_kind {
	RPC_UNARY,	      /* one request, one response */
	RPC_SERVER_STREAMING, /* one request, zero or more responses */
};

/* Outcome of a client call: the gRPC status and its (bounded) message. */
struct rpc_status {
	enum rpc_code code;
	char message[RPC_STATUS_MSG_MAX];
};

/*
 * TLS material as PEM text (not file names). For a server: ca_pem, cert_pem
 * and key_pem are required; crl_pem is optional. For a client: ca_pem is
 * required; cert_pem/key_pem are the client identity (required by every
 * caselink server); crl_pem optionally checks the server's certificate.
 */
struct rpc_tls {
	const char *ca_pem;
	const char *cert_pem;
	const char *key_pem;
	const char *crl_pem;
};

struct rpc_server_config {
	const char *listen_addr;  /* "127.0.0.1:7001"; port 0 picks a free port */
	struct rpc_tls tls;	  /* ignored when insecure_demo */
	bool insecure_demo;	  /* plaintext, no peer identity, role checks off: demo only */
	size_t max_message_bytes; /* send and receive limit; 0 means RPC_MAX_MESSAGE_DEFAULT */
	unsigned workers;	  /* handler threads; 0 means RPC_WORKERS_DEFAULT */
};

struct rpc_channel_config {
	const char *target; /* "127.0.0.1:7001" or "dns:host:port" */
	struct rpc_tls tls; /* ignored when insecure_demo */
	bool insecure_demo; /* plaintext: demo only, logs a warning */
	const char
	    *server_name; /* expected name in the server certificate (tests); NULL: target host */
	unsigned expected_roles;  /* rpc_role mask the server's certificate must have; 0: any */
	const char *expected_id;  /* CN the server's certificate must have; NULL: any */
	size_t max_message_bytes; /* 0 means RPC_MAX_MESSAGE_DEFAULT */
};

struct rpc_server;
struct rpc_channel;
struct rpc_ctx;
/* A cancellation flag shared between a caller and its calls; thread-safe. */
struct rpc_cancel;

/*
 * A method handler. It runs on a worker thread; req is the request message.
 * It answers with rpc_ctx_send (exactly once for a unary method) and returns
 * the status code; a non-OK code may carry a message set with
 * rpc_ctx_set_message (never personal data).
 */
typedef enum rpc_code (*rpc_handler_fn)(struct rpc_ctx *ctx, const uint8_t *req, size_t req_len,
					void *user);

/*
 * Called by the client for each response message, in order, on the thread
 * that runs the call. Returning nonzero cancels that call.
 */
typedef int (*rpc_message_fn)(const uint8_t *msg, size_t len, void *user);

/* Creates a server from cfg (copied); nothing listens until rpc_server_start. */
int rpc_server_new(const struct rpc_server_config *cfg, struct rpc_server **out);

/*
 * Registers method (e.g. RPC_METHOD_NODE_QUERY) before rpc_server_start.
 * Calls from peers whose role is not in allowed_roles are refused with
 * PERMISSION_DENIED before the handler runs.
 */
int rpc_server_add_method(struct rpc_server *s, const char *method, enum rpc_kind kind,
			  unsigned allowed_roles, rpc_handler_fn handler, void *user);

/* Binds, starts the workers and serves; *port (may be NULL) gets the bound port. */
int rpc_server_start(struct rpc_server *s, int *port);

/*
 * Stops accepting calls, lets in-flight calls finish for up to drain_ms,
 * then cancels the rest and waits for the handlers to return. Idempotent.
 */
int rpc_server_shutdown(struct rpc_server *s, int drain_ms);

/* Shuts the server down (drain 0) if needed and frees it; NULL is allowed. */
void rpc_server_free(struct rpc_server *s);

/*
 * Blocks SIGTERM and SIGINT in the calling thread and every thread created
 * after it; call first thing in main(), before any server or channel.
 */
int rpc_signals_block(void);

/*
 * Waits for SIGTERM or SIGINT (blocked by rpc_signals_block), then shuts s
 * down with rpc_server_shutdown(s, drain_ms). *signo (may be NULL) gets the signal.
 */
int rpc_server_wait_signal(struct rpc_server *s, int drain_ms, int *signo);

/* The peer's certificate CN (party id); "" for an insecure-demo peer. */
const char *rpc_ctx_peer_id(const struct rpc_ctx *ctx);

/* The peer's role name (certificate OU); "" for an insecure-demo peer. */
const char *rpc_ctx_peer_role(const struct rpc_ctx *ctx);

/* Milliseconds left before the call's deadline (negative once passed; INT64_MAX if none). */
int64_t rpc_ctx_remaining_ms(const struct rpc_ctx *ctx);

/* Returns true once the client cancelled, the deadline passed or the server is stopping. */
bool rpc_ctx_cancelled(struct rpc_ctx *ctx);

/*
 * Sends one response message. For a streaming method it blocks until the
 * message is handed to the transport and fails with CL_ECANCELLED if the call
 * is gone; for a unary method it may be called once (CL_EPROTO otherwise).
 */
int rpc_ctx_send(struct rpc_ctx *ctx, const uint8_t *msg, size_t len);

/* Sets the status message sent with a non-OK code (truncated; no personal data). */
void rpc_ctx_set_message(struct rpc_ctx *ctx, const char *msg);

/* Opens a channel (connects lazily); cfg is copied. */
int rpc_channel_new(const struct rpc_channel_config *cfg, struct rpc_channel **out);

/* Frees a channel; no call may be running on it. NULL is allowed. */
void rpc_channel_free(struct rpc_channel *ch);

/* Creates and frees a cancellation flag; rpc_cancel_fire may be called from any thread. */
int rpc_cancel_new(struct rpc_cancel **out);
void rpc_cancel_fire(struct rpc_cancel *c);
bool rpc_cancel_fired(const struct rpc_cancel *c);
void rpc_cancel_free(struct rpc_cancel *c);

/*
 * One unary call. On RPC_OK returns 0 and *resp (free()) / *resp_len get the
 * response; otherwise returns the CL_E* code that matches status->code.
 * status (may be NULL) is always written.
 */
int rpc_call_unary(struct rpc_channel *ch, const char *method, const uint8_t *req, size_t req_len,
		   int64_t deadline_ms, uint8_t **resp, size_t *resp_len,
		   struct rpc_status *status);

/*
 * One server-streaming call; on_message sees each response. cancel may be
 * NULL. Returns 0 on RPC_OK, else the matching CL_E* code; status (may be
 * NULL) is always written.
 */
int rpc_call_stream(struct rpc_channel *ch, const char *method, const uint8_t *req, size_t req_len,
		    int64_t deadline_ms, rpc_message_fn on_message, void *user,
		    struct rpc_cancel *cancel, struct rpc_status *status);

/* One call of a batch for rpc_call_many. */
struct rpc_call {
	struct rpc_channel *channel;
	const char *method;
	const uint8_t *req;
	size_t req_len;
	rpc_message_fn on_message; /* per response message; may be NULL */
	void *user;
	struct rpc_status status; /* out: written for every call */
};

/*
 * Runs n calls at once on one completion queue, all with the same deadline;
 * callbacks run on the calling thread, one at a time. Returns 0 when every
 * call has finished (see each call's status), or a CL_E* code if the batch
 * could not run at all. cancel (may be NULL) cancels every call still open.
 */
int rpc_call_many(struct rpc_call *calls, size_t n, int64_t deadline_ms, struct rpc_cancel *cancel);

/* Maps a status code to the caselink error code (0 for RPC_OK). */
int rpc_code_to_error(enum rpc_code code);

/*
 * The short coded reason a coordinator states in coverage for a node's failed call:
 * "deadline", "unavailable", "refused", "unauthenticated", "unsupported", "cancelled", "error".
 */
const char *rpc_code_reason(enum rpc_code code);

/* The canonical gRPC name of a status code ("PERMISSION_DENIED"), "UNKNOWN" when out of range. */
const char *rpc_code_name(enum rpc_code code);

/* Returns the role bit for a role name, or 0 if unknown. */
unsigned rpc_role_from_name(const char *name);

/*
 * Checks a RequestHeader.schema_version: 0 if it is CASELINK_SCHEMA_VERSION,
 * else CL_EVERSION (servers answer RPC_FAILED_PRECONDITION).
 */
int rpc_schema_check(uint32_t version);

#endif
