/*
 * party — what every caselink daemon and client does the same way around the
 * transport: load its TLS files named by its configuration, and fill and
 * check the RequestHeader every request carries.
 */
#ifndef CASELINK_PROTOCOL_PARTY_H
#define CASELINK_PROTOCOL_PARTY_H

#include <stdint.h>

#include "protocol/caselink.pb-c.h"
#include "protocol/rpc.h"

#define PARTY_VERSION		 "0.1.0" /* software version in Status answers */
#define PARTY_REQUEST_ID_LEN	 16	 /* bytes of a request id */
#define PARTY_EXPIRY_DEFAULT	 300	 /* seconds a request stays valid */
#define PARTY_CLOCK_SKEW	 60	 /* seconds of clock skew tolerated on issued_at */
#define PARTY_MAX_VALIDITY	 600   /* default: at most this many seconds from issue to expiry */
#define PARTY_MAX_VALIDITY_LIMIT 86400 /* the largest maximum a configuration may set */

/* The PEM texts of a party's TLS files; the key is wiped when freed. */
struct party_tls;

/*
 * Reads the CA, certificate, key and (when crl is not NULL or "") CRL files.
 * Returns CL_EIO naming nothing secret; err gets "FILE: reason".
 */
int party_tls_load(const char *ca, const char *cert, const char *key, const char *crl,
		   struct party_tls **out, char *err, size_t errsz);

/* Fills an rpc_tls with pointers into t (valid while t lives). */
void party_tls_fill(const struct party_tls *t, struct rpc_tls *out);

/* Wipes the key and frees; NULL is allowed. */
void party_tls_free(struct party_tls *t);

/*
 * Fills h (already initialised with caselink__v1__request_header__init) for a
 * new request: schema version, a random request id in id_buf, purpose, legal
 * basis, issued now, expiring after PARTY_EXPIRY_DEFAULT, and the requester.
 * The strings are referenced, not copied.
 */
int party_header_fill(Caselink__V1__RequestHeader *h, Caselink__V1__Identity *requester,
		      uint8_t id_buf[PARTY_REQUEST_ID_LEN], const char *purpose,
		      const char *legal_basis, const char *requester_id,
		      const char *requester_role);

/*
 * Checks a received header: present, schema version, a request id of 16..32
 * bytes, coded purpose and legal basis, expiring no earlier than it was
 * issued and at most max_validity seconds after (1..PARTY_MAX_VALIDITY_LIMIT),
 * issued no later than now + PARTY_CLOCK_SKEW, not expired. On failure
 * returns CL_EPROTO, CL_EVERSION or CL_EEXPIRED and writes a short reason
 * (no personal data) into *why.
 */
int party_header_check_max(const Caselink__V1__RequestHeader *h, int64_t now, int64_t max_validity,
			   const char **why);

/* party_header_check_max with the default maximum validity, PARTY_MAX_VALIDITY. */
int party_header_check(const Caselink__V1__RequestHeader *h, int64_t now, const char **why);

/*
 * Writes the audit details of a query request into buf: requester, measure,
 * period, grouping, purpose, legal basis, request id and both signatures (hex)
 * — coded values only, never personal data. Truncates to bufsz.
 */
void party_audit_request(const Caselink__V1__QueryRequest *q, char *buf, size_t bufsz);

/*
 * Answers a Status call as the party named id with role (key_epoch: the
 * keyholder's current epoch, else 0). A malformed or invalid request is not
 * answered: the refusal code is returned with a static reason in *why for
 * the caller to log and audit; *why stays NULL when sending failed.
 */
enum rpc_code party_status_reply(struct rpc_ctx *ctx, const uint8_t *req, size_t len,
				 const char *id, const char *role, uint32_t key_epoch,
				 const char **why);

struct audit;

/*
 * Refuses a call the way every daemon does: sets why as the status message,
 * logs it, and records a query_refused entry in the audit log a (with the
 * request's coded details when q is not NULL). Returns code.
 */
enum rpc_code party_refuse(struct audit *a, struct rpc_ctx *ctx,
			   const Caselink__V1__QueryRequest *q, enum rpc_code code,
			   const char *why);

/*
 * The refusal of a request whose replay_check (common/replay.h) failed with
 * err: its status (party_error_to_code: FAILED_PRECONDITION for a replay,
 * RESOURCE_EXHAUSTED when the cache is full, INTERNAL when a persistent
 * cache could not record the id, so the request is not answered) and a
 * short reason in *why.
 */
enum rpc_code party_replay_refusal(int err, const char **why);

/*
 * Maps a CL_E* code to the gRPC status a server answers with: the one mapping every daemon
 * uses (docs/protocol.md lists it); a server chooses another status only where the same code
 * means something else at that point, and says why there.
 */
enum rpc_code party_error_to_code(int err);

#endif

#define PARTY_ROWS_PER_CHUNK 512 /* aggregate rows per QueryResponse chunk */

/* Buffers aggregate rows and streams them as QueryResponse chunks on a server call. */
struct party_rows;

/*
 * Starts a row stream for the call ctx answering request_id, with the given
 * key and value column names (referenced, not copied; they must outlive b).
 * Either list may be empty (a measure whose values are texts, such as rates
 * or "NA", sends every column as a key column), not both.
 */
int party_rows_new(struct rpc_ctx *ctx, const ProtobufCBinaryData *request_id,
		   const char *const *key_cols, size_t nkeys, const char *const *value_cols,
		   size_t nvalues, struct party_rows **out);

/* Adds one row (keys copied); sends a chunk whenever PARTY_ROWS_PER_CHUNK are buffered. */
int party_rows_add(struct party_rows *b, const char *const *keys, const int64_t *values);

/*
 * Adds one row whose values are given as Value messages (copied: a count or a real, or
 * suppressed with no value, and its noise scale), for answers under disclosure control.
 */
int party_rows_add_cells(struct party_rows *b, const char *const *keys,
			 const Caselink__V1__Value *values);

/* Sends what is buffered as the final chunk (last = true), even when empty. */
int party_rows_finish(struct party_rows *b);

/* Frees the buffer; NULL is allowed. */
void party_rows_free(struct party_rows *b);

/* Packs and sends one QueryResponse on ctx; the message's fields are the caller's. */
int party_send_response(struct rpc_ctx *ctx, const Caselink__V1__QueryResponse *resp);
