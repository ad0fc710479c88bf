#include "protocol/party.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/cl_error.h"
#include "common/partyconf.h"
#include "protocol/pki.h"

_Static_assert(PARTY_MAX_VALIDITY == PARTYCONF_MAX_VALIDITY_DEFAULT &&
		   PARTY_MAX_VALIDITY_LIMIT == PARTYCONF_MAX_VALIDITY_LIMIT,
	       "the configuration's default and limit of max_request_validity are the protocol's");

struct party_tls {
	char *ca, *cert, *key, *crl;
	size_t key_len;
};

static int party_read(const char *path, char **out, size_t *len, char *err, size_t errsz)
{
	int rc = pki_read_file(path, PKI_PEM_MAX, out, len);

	if (rc != CL_OK && err && errsz)
		snprintf(err, errsz, "%s: %s", path, cl_strerror(rc));
	return rc;
}

int party_tls_load(const char *ca, const char *cert, const char *key, const char *crl,
		   struct party_tls **out, char *err, size_t errsz)
{
	struct party_tls *t = NULL;
	size_t len = 0;
	int rc;

	if (!ca || !cert || !key || !out)
		return CL_EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return CL_ENOMEM;
	rc = party_read(ca, &t->ca, &len, err, errsz);
	if (rc == CL_OK)
		rc = party_read(cert, &t->cert, &len, err, errsz);
	if (rc == CL_OK)
		rc = party_read(key, &t->key, &t->key_len, err, errsz);
	if (rc == CL_OK && crl && *crl)
		rc = party_read(crl, &t->crl, &len, err, errsz);
	if (rc != CL_OK)
		goto out;
	*out = t;
	t = NULL;
out:
	party_tls_free(t);
	return rc;
}

void party_tls_fill(const struct party_tls *t, struct rpc_tls *out)
{
	memset(out, 0, sizeof(*out));
	if (!t)
		return;
	out->ca_pem = t->ca;
	out->cert_pem = t->cert;
	out->key_pem = t->key;
	out->crl_pem = t->crl;
}

void party_tls_free(struct party_tls *t)
{
	if (!t)
		return;
	if (t->key)
		OPENSSL_cleanse(t->key, t->key_len);
	free(t->ca);
	free(t->cert);
	free(t->key);
	free(t->crl);
	free(t);
}

int party_header_fill(Caselink__V1__RequestHeader *h, Caselink__V1__Identity *requester,
		      uint8_t id_buf[PARTY_REQUEST_ID_LEN], const char *purpose,
		      const char *legal_basis, const char *requester_id, const char *requester_role)
{
	int64_t now = (int64_t)time(NULL);

	if (!h || !requester || !id_buf)
		return CL_EINVAL;
	if (RAND_bytes(id_buf, PARTY_REQUEST_ID_LEN) != 1)
		return CL_ECRYPTO;
	h->schema_version = CASELINK_SCHEMA_VERSION;
	h->request_id.data = id_buf;
	h->request_id.len = PARTY_REQUEST_ID_LEN;
	h->purpose = (char *)(purpose ? purpose : "");
	h->legal_basis = (char *)(legal_basis ? legal_basis : "");
	h->issued_at = now;
	h->expires_at = now + PARTY_EXPIRY_DEFAULT;
	requester->id = (char *)(requester_id ? requester_id : "");
	requester->role = (char *)(requester_role ? requester_role : "");
	h->requester = requester;
	return CL_OK;
}

/* A coded value: 1..64 characters of a-z, 0-9, '_', '-', '.' (never free text). */
static int party_is_code(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; *s; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-' || *s == '.'))
			return 0;
	return n >= 1 && n <= 64;
}

int party_header_check_max(const Caselink__V1__RequestHeader *h, int64_t now, int64_t max_validity,
			   const char **why)
{
	const char *reason = NULL;
	int64_t validity = 0;
	int rc = CL_OK;

	if (max_validity < 1 || max_validity > PARTY_MAX_VALIDITY_LIMIT)
		return CL_EINVAL;
	if (!h) {
		reason = "request header missing";
		rc = CL_EPROTO;
	} else if (rpc_schema_check(h->schema_version) != CL_OK) {
		reason = "schema version mismatch";
		rc = CL_EVERSION;
	} else if (h->request_id.len < 16 || h->request_id.len > 32) {
		reason = "request id must be 16 to 32 bytes";
		rc = CL_EPROTO;
	} else if (!party_is_code(h->purpose) || !party_is_code(h->legal_basis)) {
		reason = "purpose and legal basis must be codes (a-z, 0-9, _ - .)";
		rc = CL_EPROTO;
	} else if (h->expires_at < h->issued_at) {
		reason = "request expires before it is issued";
		rc = CL_EPROTO;
	} else if (__builtin_sub_overflow(h->expires_at, h->issued_at, &validity) ||
		   validity > max_validity) {
		reason = "request valid for longer than this party accepts (max_request_validity)";
		rc = CL_EPROTO;
	} else if (h->issued_at > now + PARTY_CLOCK_SKEW) {
		reason = "request issued in the future (clock skew)";
		rc = CL_EEXPIRED;
	} else if (h->expires_at < now) {
		reason = "request expired";
		rc = CL_EEXPIRED;
	}
	if (rc != CL_OK && why)
		*why = reason;
	return rc;
}

int party_header_check(const Caselink__V1__RequestHeader *h, int64_t now, const char **why)
{
	return party_header_check_max(h, now, PARTY_MAX_VALIDITY, why);
}

static void party_hex(char *out, size_t outsz, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (!outsz)
		return;
	for (i = 0; i < n && 2 * i + 2 < outsz; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * i] = '\0';
}

void party_audit_request(const Caselink__V1__QueryRequest *q, char *buf, size_t bufsz)
{
	const Caselink__V1__RequestHeader *h = q ? q->header : NULL;
	char id[2 * 32 + 1], rsig[2 * 80 + 1], csig[2 * 80 + 1], by[128] = "";
	size_t i, used = 0;

	if (!buf || !bufsz)
		return;
	if (!h || !h->requester) {
		snprintf(buf, bufsz, "request=malformed");
		return;
	}
	for (i = 0; i < q->n_group_by && used < sizeof(by); i++) {
		int n =
		    snprintf(by + used, sizeof(by) - used, "%s%.24s", i ? "," : "", q->group_by[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	party_hex(id, sizeof(id), h->request_id.data, h->request_id.len);
	party_hex(rsig, sizeof(rsig), h->requester_signature.data, h->requester_signature.len);
	party_hex(csig, sizeof(csig), h->coordinator_signature.data, h->coordinator_signature.len);
	snprintf(buf, bufsz,
		 "requester=%.64s role=%.16s measure=%.32s from=%.10s to=%.10s by=%s "
		 "purpose=%.64s legal_basis=%.64s request_id=%s requester_sig=%s envelope_sig=%s",
		 h->requester->id, h->requester->role, q->measure, q->period_from, q->period_to,
		 by[0] ? by : "-", h->purpose, h->legal_basis, id, rsig[0] ? rsig : "-",
		 csig[0] ? csig : "-");
}

enum rpc_code party_status_reply(struct rpc_ctx *ctx, const uint8_t *req, size_t len,
				 const char *id, const char *role, uint32_t key_epoch,
				 const char **why)
{
	Caselink__V1__StatusRequest *sr = NULL;
	Caselink__V1__StatusResponse resp = CASELINK__V1__STATUS_RESPONSE__INIT;
	Caselink__V1__Identity party = CASELINK__V1__IDENTITY__INIT;
	uint8_t *buf = NULL;
	enum rpc_code code = RPC_OK;
	size_t n;
	int rc;

	*why = NULL;
	sr = caselink__v1__status_request__unpack(NULL, len, req);
	if (!sr) {
		*why = "malformed StatusRequest";
		return RPC_INVALID_ARGUMENT;
	}
	rc = party_header_check(sr->header, (int64_t)time(NULL), why);
	if (rc != CL_OK) {
		code = party_error_to_code(rc);
		goto out;
	}
	party.id = (char *)id;
	party.role = (char *)role;
	resp.schema_version = CASELINK_SCHEMA_VERSION;
	resp.party = &party;
	resp.software_version = "caselink " PARTY_VERSION;
	resp.now = (int64_t)time(NULL);
	resp.key_epoch = key_epoch;
	resp.ready = 1;
	n = caselink__v1__status_response__get_packed_size(&resp);
	buf = malloc(n ? n : 1);
	if (!buf) {
		code = RPC_INTERNAL;
		goto out;
	}
	caselink__v1__status_response__pack(&resp, buf);
	if (rpc_ctx_send(ctx, buf, n) != CL_OK)
		code = RPC_CANCELLED;
out:
	free(buf);
	caselink__v1__status_request__free_unpacked(sr, NULL);
	return code;
}

enum rpc_code party_replay_refusal(int err, const char **why)
{
	*why = err == CL_EREPLAY ? "replayed request"
	       : err == CL_EBUSY ? "replay cache full"
				 : "replay cache unavailable";
	return party_error_to_code(err);
}

enum rpc_code party_error_to_code(int err)
{
	switch (err) {
	case CL_OK:
		return RPC_OK;
	case CL_EINVAL:
	case CL_EPARSE:
	case CL_EPROTO:
	case CL_EOVERFLOW:
	case CL_EBADPOINT:
		return RPC_INVALID_ARGUMENT; /* the request is wrong: asking again will not help */
	case CL_ENOTFOUND:
		return RPC_NOT_FOUND;
	case CL_EEXIST:
		return RPC_ALREADY_EXISTS;
	case CL_EVERSION:
	case CL_EEXPIRED:
	case CL_EREPLAY:
	case CL_ESTALE:
		return RPC_FAILED_PRECONDITION; /* not in this state: a new request or a fill */
	case CL_EDENIED:
	case CL_EPERM:
		return RPC_PERMISSION_DENIED;
	case CL_EAUTH:
	case CL_ESIGNATURE:
	case CL_ETLS:
		return RPC_UNAUTHENTICATED;
	case CL_ELIMIT:	  /* an answer or table over its bound (gRPC's own oversize status) */
	case CL_EQUOTA:	  /* rate limit or quota */
	case CL_EBUDGET:  /* privacy budget */
	case CL_EBUSY:	  /* replay cache full */
	case CL_ENOMEM:	  /* this server's memory */
	case CL_ENOSPACE: /* this server's disk */
		return RPC_RESOURCE_EXHAUSTED;
	case CL_ETIMEOUT:
		return RPC_DEADLINE_EXCEEDED;
	case CL_ECANCELLED:
	case CL_EINTERRUPTED:
		return RPC_CANCELLED;
	case CL_EUNSUPPORTED:
		return RPC_UNIMPLEMENTED;
	case CL_EUNAVAIL:
	case CL_EAUDIT: /* fail closed: nothing is answered without its audit entry */
		return RPC_UNAVAILABLE;
	default: /* CL_EIO, CL_ECORRUPT, CL_ESQL, CL_ECRYPTO, CL_EINTERNAL, configuration */
		return RPC_INTERNAL;
	}
}

#define PARTY_MAX_COLS 16

struct party_rows {
	struct rpc_ctx *ctx;
	ProtobufCBinaryData request_id;
	const char *const *key_cols;
	const char *const *value_cols;
	size_t nkeys, nvalues, n;
	Caselink__V1__Row rows[PARTY_ROWS_PER_CHUNK];
	Caselink__V1__Row *row_ptrs[PARTY_ROWS_PER_CHUNK];
	Caselink__V1__Value values[PARTY_ROWS_PER_CHUNK][PARTY_MAX_COLS];
	Caselink__V1__Value *value_ptrs[PARTY_ROWS_PER_CHUNK][PARTY_MAX_COLS];
	char *keys[PARTY_ROWS_PER_CHUNK][PARTY_MAX_COLS];
};

int party_send_response(struct rpc_ctx *ctx, const Caselink__V1__QueryResponse *resp)
{
	size_t len = caselink__v1__query_response__get_packed_size(resp);
	uint8_t *buf = NULL;
	int rc;

	if (len > RPC_MAX_MESSAGE_DEFAULT)
		return CL_ELIMIT;
	buf = malloc(len ? len : 1);
	if (!buf)
		return CL_ENOMEM;
	caselink__v1__query_response__pack(resp, buf);
	rc = rpc_ctx_send(ctx, buf, len);
	free(buf);
	return rc;
}

int party_rows_new(struct rpc_ctx *ctx, const ProtobufCBinaryData *request_id,
		   const char *const *key_cols, size_t nkeys, const char *const *value_cols,
		   size_t nvalues, struct party_rows **out)
{
	struct party_rows *b;

	if (!ctx || !out || nkeys > PARTY_MAX_COLS || nvalues > PARTY_MAX_COLS ||
	    nkeys + nvalues == 0)
		return CL_EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return CL_ENOMEM;
	b->ctx = ctx;
	if (request_id)
		b->request_id = *request_id;
	b->key_cols = key_cols;
	b->value_cols = value_cols;
	b->nkeys = nkeys;
	b->nvalues = nvalues;
	*out = b;
	return CL_OK;
}

static void party_rows_clear(struct party_rows *b)
{
	size_t i, k;

	for (i = 0; i < b->n; i++)
		for (k = 0; k < b->nkeys; k++) {
			free(b->keys[i][k]);
			b->keys[i][k] = NULL;
		}
	b->n = 0;
}

static int party_rows_send(struct party_rows *b, int last)
{
	Caselink__V1__QueryResponse resp = CASELINK__V1__QUERY_RESPONSE__INIT;
	Caselink__V1__RowBatch batch = CASELINK__V1__ROW_BATCH__INIT;
	size_t i;
	int rc;

	batch.n_key_columns = b->nkeys;
	batch.key_columns = (char **)b->key_cols;
	batch.n_value_columns = b->nvalues;
	batch.value_columns = (char **)b->value_cols;
	for (i = 0; i < b->n; i++)
		b->row_ptrs[i] = &b->rows[i];
	batch.n_rows = b->n;
	batch.rows = b->row_ptrs;
	resp.schema_version = CASELINK_SCHEMA_VERSION;
	resp.request_id = b->request_id;
	resp.chunk_case = CASELINK__V1__QUERY_RESPONSE__CHUNK_ROWS;
	resp.rows = &batch;
	resp.last = last ? 1 : 0;
	rc = party_send_response(b->ctx, &resp);
	party_rows_clear(b);
	return rc;
}

/* Buffers one row; values NULL: zeros, for party_rows_add_cells to overwrite. */
static int party_rows_push(struct party_rows *b, const char *const *keys, const int64_t *values)
{
	Caselink__V1__Row *row;
	size_t i = 0, k, v;
	int rc;

	static const int64_t zeros[PARTY_MAX_COLS];

	if (!values)
		values = zeros;
	if (!b || (b->nkeys && !keys))
		return CL_EINVAL;
	if (b->n == PARTY_ROWS_PER_CHUNK) {
		rc = party_rows_send(b, 0);
		if (rc != CL_OK)
			return rc;
	}
	i = b->n;
	for (k = 0; k < b->nkeys; k++) {
		b->keys[i][k] = strdup(keys[k] ? keys[k] : "");
		if (!b->keys[i][k]) {
			while (k--) {
				free(b->keys[i][k]);
				b->keys[i][k] = NULL;
			}
			return CL_ENOMEM;
		}
	}
	row = &b->rows[i];
	caselink__v1__row__init(row);
	row->n_keys = b->nkeys;
	row->keys = b->keys[i];
	for (v = 0; v < b->nvalues; v++) {
		caselink__v1__value__init(&b->values[i][v]);
		b->values[i][v].value_case = CASELINK__V1__VALUE__VALUE_COUNT;
		b->values[i][v].count = values[v];
		b->value_ptrs[i][v] = &b->values[i][v];
	}
	row->n_values = b->nvalues;
	row->values = b->value_ptrs[i];
	b->n++;
	return CL_OK;
}

int party_rows_add(struct party_rows *b, const char *const *keys, const int64_t *values)
{
	if (!b || (b->nkeys && !keys) || (b->nvalues && !values))
		return CL_EINVAL;
	return party_rows_push(b, keys, values);
}

int party_rows_add_cells(struct party_rows *b, const char *const *keys,
			 const Caselink__V1__Value *values)
{
	size_t v, i;
	int rc;

	if (!b || (b->nvalues && !values))
		return CL_EINVAL;
	rc = party_rows_push(b, keys, NULL);
	if (rc != CL_OK)
		return rc;
	i = b->n - 1;
	for (v = 0; v < b->nvalues; v++) {
		b->values[i][v] = values[v];
		b->value_ptrs[i][v] = &b->values[i][v];
	}
	return CL_OK;
}

int party_rows_finish(struct party_rows *b)
{
	if (!b)
		return CL_EINVAL;
	return party_rows_send(b, 1);
}

void party_rows_free(struct party_rows *b)
{
	if (!b)
		return;
	party_rows_clear(b);
	free(b);
}
