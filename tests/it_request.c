/*
 * it_request — the integration tests' replaying attacker (tests/integration/test_replay.sh):
 * builds one signed request and keeps its bytes, then sends those same bytes to a party, as
 * often as asked, over mutual TLS with a federation certificate. Test tool, not installed.
 *
 *   it_request query PKI REQUESTER FROM TO OUT            signed QueryRequest (incident_events)
 *   it_request envelope PKI REQUESTER COORDINATOR FROM TO OUT
 *                                                         the same, as a coordinator forwards it
 *   it_request secure PKI REQUESTER COORDINATOR FROM TO OUT
 *                                                         an M2 as a coordinator with computing
 *                                                         parties forwards it (TOKENS mode)
 *   it_request blind PKI NODE OUT                         BlindEvaluateRequest of one element
 *   it_request start COORDINATOR PARTY OUT                ComputeStartRequest of a one-round
 *                                                         demonstration job (compute_job.h)
 *   it_request send PKI AS METHOD TARGET IN               METHOD: coordinator | node |
 *                                                         keyholder | compute
 *
 * send prints "code=N message=TEXT rows=R" and exits 0 when the party answered (code 0), 1
 * when it refused, 2 on a usage or local error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/cl_error.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/oprf.h"
#include "protocol/party.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"
#include "protocol/sign.h"

static char *slurp(const char *pki, const char *name, const char *ext)
{
	char path[2048], *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s%s", pki, name, ext);
	if (pki_read_file(path, PKI_PEM_MAX, &buf, &len) != CL_OK) {
		fprintf(stderr, "it_request: cannot read %s\n", path);
		return NULL;
	}
	return buf;
}

static struct sign_key *key_of(const char *pki, const char *name)
{
	char *k = slurp(pki, name, ".key"), *c = slurp(pki, name, ".pem");
	struct sign_key *sk = NULL;

	if (k && c && sign_key_load(k, c, &sk) != CL_OK)
		sk = NULL;
	free(k);
	free(c);
	return sk;
}

static int write_out(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(buf, 1, len, f) == len;

	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : 2;
}

/*
 * A signed QueryRequest; with coordinator, also its envelope (nonce, mode, signature); with
 * secure, an M2 in TOKENS mode naming the computing parties cp-1 and cp-2 of pki, as a
 * coordinator with a compute section forwards it.
 */
static int make_query(const char *pki, const char *requester, const char *coordinator,
		      const char *from, const char *to, const char *out, int secure)
{
	Caselink__V1__ComputeParty cp[2], *cpp[2] = {&cp[0], &cp[1]};
	char *cert[2] = {NULL, NULL};
	Caselink__V1__QueryRequest q = CASELINK__V1__QUERY_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	struct sign_key *rk = key_of(pki, requester), *ck = NULL;
	uint8_t id[PARTY_REQUEST_ID_LEN], nonce[32], *buf = NULL;
	char *by[] = {"quarter"};
	size_t len = 0;
	int rc = 2;

	if (!rk || (coordinator && !(ck = key_of(pki, coordinator))))
		goto out;
	if (party_header_fill(&h, &who, id, "monitoring", "statistics", requester, "user") != CL_OK)
		goto out;
	q.header = &h;
	q.measure = "incident_events";
	q.period_from = (char *)from;
	q.period_to = (char *)to;
	q.group_by = by;
	q.n_group_by = 1;
	q.mode = CASELINK__V1__QUERY_MODE__QUERY_MODE_AGGREGATE;
	if (secure) {
		q.measure = "M2";
		q.n_group_by = 0;
	}
	if (sign_request(rk, &q) != CL_OK)
		goto out;
	for (int i = 0; secure && i < 2; i++) {
		cert[i] = slurp(pki, i ? "cp-2" : "cp-1", ".pem");
		if (!cert[i])
			goto out;
		caselink__v1__compute_party__init(&cp[i]);
		cp[i].party = (uint32_t)i + 1;
		cp[i].certificate.data = (uint8_t *)cert[i];
		cp[i].certificate.len = strlen(cert[i]);
	}
	if (secure) {
		q.mode = CASELINK__V1__QUERY_MODE__QUERY_MODE_TOKENS;
		q.n_compute_parties = 2;
		q.compute_parties = cpp;
	}
	if (ck) {
		if (RAND_bytes(nonce, sizeof(nonce)) != 1)
			goto out;
		q.query_nonce.data = nonce;
		q.query_nonce.len = sizeof(nonce);
		if (sign_envelope(ck, &q) != CL_OK)
			goto out;
	}
	len = caselink__v1__query_request__get_packed_size(&q);
	buf = malloc(len ? len : 1);
	if (!buf)
		goto out;
	caselink__v1__query_request__pack(&q, buf);
	rc = write_out(out, buf, len);
out:
	if (rc)
		fprintf(stderr, "it_request: cannot build the request\n");
	free(cert[0]);
	free(cert[1]);
	free(buf);
	sign_header_free(&h);
	sign_key_free(rk);
	sign_key_free(ck);
	return rc;
}

/* A BlindEvaluateRequest of one blinded element, as a node's token-cache fill sends. */
static int make_blind(const char *node, const char *out)
{
	Caselink__V1__BlindEvaluateRequest req = CASELINK__V1__BLIND_EVALUATE_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	ProtobufCBinaryData el;
	struct oprf_ctx *ctx = NULL;
	uint8_t id[PARTY_REQUEST_ID_LEN], blind[OPRF_SCALAR_LEN], blinded[OPRF_ELEMENT_LEN];
	uint8_t *buf = NULL;
	size_t len;
	int rc = 2;

	if (oprf_ctx_new(&ctx) != CL_OK ||
	    oprf_blind(ctx, (const uint8_t *)"LV:00000000000", 14, blind, blinded) != CL_OK ||
	    party_header_fill(&h, &who, id, "pseudonymisation", "node_token_cache", node, "node") !=
		CL_OK)
		goto out;
	el.data = blinded;
	el.len = sizeof(blinded);
	req.header = &h;
	req.n_blinded_elements = 1;
	req.blinded_elements = &el;
	len = caselink__v1__blind_evaluate_request__get_packed_size(&req);
	buf = malloc(len);
	if (!buf)
		goto out;
	caselink__v1__blind_evaluate_request__pack(&req, buf);
	rc = write_out(out, buf, len);
out:
	free(buf);
	oprf_ctx_free(ctx);
	return rc;
}

/*
 * A Compute.Start as the coordinator sends it: a fresh header and computation id, the
 * demonstration job "CLJ1" with one value and one round (it waits for the other parties,
 * which never come: the party gives up after timeout_ms, but has recorded the request id).
 */
static int make_start(const char *coordinator, unsigned party, const char *out)
{
	Caselink__V1__ComputeStartRequest req = CASELINK__V1__COMPUTE_START_REQUEST__INIT;
	Caselink__V1__ComputeQuery q = CASELINK__V1__COMPUTE_QUERY__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	uint8_t id[PARTY_REQUEST_ID_LEN], cid[16], job[28] = {'C', 'L', 'J', '1', 1, 0, 0, 0, 1};
	uint8_t *buf = NULL;
	size_t len;
	int rc = 2;

	if (party_header_fill(&h, &who, id, "monitoring", "statistics", coordinator,
			      "coordinator") != CL_OK ||
	    RAND_bytes(cid, sizeof(cid)) != 1)
		goto out;
	q.measure = "DEMO";
	q.period_from = "2025-01-01";
	q.period_to = "2026-01-01";
	req.header = &h;
	req.computation_id.data = cid;
	req.computation_id.len = sizeof(cid);
	req.party = party;
	req.query = &q;
	req.job.data = job;
	req.job.len = sizeof(job);
	req.timeout_ms = 300;
	len = caselink__v1__compute_start_request__get_packed_size(&req);
	buf = malloc(len);
	if (!buf)
		goto out;
	caselink__v1__compute_start_request__pack(&req, buf);
	rc = write_out(out, buf, len);
out:
	free(buf);
	return rc;
}

struct collect {
	size_t rows, records, with_events, events, slots, shares, x0_bytes;
};

static int on_message(const uint8_t *msg, size_t len, void *user)
{
	struct collect *c = user;
	Caselink__V1__QueryResponse *r = caselink__v1__query_response__unpack(NULL, len, msg);

	if (!r)
		return CL_EPROTO;
	if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_ROWS && r->rows)
		c->rows += r->rows->n_rows;
	if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_TOKENS && r->tokens)
		for (size_t i = 0; i < r->tokens->n_records; i++) {
			c->records++;
			c->with_events += r->tokens->records[i]->n_events > 0;
			c->events += r->tokens->records[i]->n_events;
			c->slots += r->tokens->records[i]->slots;
		}
	if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_SHARES && r->shares) {
		c->shares++;
		c->x0_bytes += r->shares->x0.len;
	}
	caselink__v1__query_response__free_unpacked(r, NULL);
	return CL_OK;
}

static int send_saved(const char *pki, const char *as, const char *method, const char *target,
		      const char *in)
{
	struct rpc_channel_config cc;
	struct rpc_channel *ch = NULL;
	struct rpc_status st;
	struct collect col = {0};
	char *ca = slurp(pki, "ca", ".pem"), *cert = slurp(pki, as, ".pem"),
	     *key = slurp(pki, as, ".key");
	uint8_t buf[1 << 16], *resp = NULL;
	size_t len = 0, resp_len = 0;
	int keyholder = !strcmp(method, "keyholder"), compute = !strcmp(method, "compute"), rc = 2;
	FILE *f = fopen(in, "rb");

	memset(&st, 0, sizeof(st));
	if (!ca || !cert || !key || !f)
		goto out;
	len = fread(buf, 1, sizeof(buf), f);
	memset(&cc, 0, sizeof(cc));
	cc.target = target;
	cc.tls.ca_pem = ca;
	cc.tls.cert_pem = cert;
	cc.tls.key_pem = key;
	if (rpc_channel_new(&cc, &ch) != CL_OK)
		goto out;
	if (keyholder)
		rpc_call_unary(ch, RPC_METHOD_KEYHOLDER_BLIND_EVAL, buf, len, 10000, &resp,
			       &resp_len, &st);
	else if (compute)
		rpc_call_unary(ch, RPC_METHOD_COMPUTE_START, buf, len, 10000, &resp, &resp_len,
			       &st);
	else
		rpc_call_stream(ch,
				!strcmp(method, "node") ? RPC_METHOD_NODE_QUERY
							: RPC_METHOD_COORDINATOR_QUERY,
				buf, len, 30000, on_message, &col, NULL, &st);
	printf("code=%d message=%s rows=%zu records=%zu with_events=%zu events=%zu slots=%zu "
	       "shares=%zu x0_bytes=%zu\n",
	       (int)st.code, st.message, col.rows, col.records, col.with_events, col.events,
	       col.slots, col.shares, col.x0_bytes);
	rc = st.code == RPC_OK ? 0 : 1;
out:
	if (rc == 2)
		fprintf(stderr, "it_request: cannot send %s\n", in);
	if (f)
		fclose(f);
	free(resp);
	rpc_channel_free(ch);
	free(ca);
	free(cert);
	free(key);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 7 && !strcmp(argv[1], "query"))
		return make_query(argv[2], argv[3], NULL, argv[4], argv[5], argv[6], 0);
	if (argc == 8 && !strcmp(argv[1], "envelope"))
		return make_query(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7], 0);
	if (argc == 8 && !strcmp(argv[1], "secure"))
		return make_query(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7], 1);
	if (argc == 5 && !strcmp(argv[1], "blind"))
		return make_blind(argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "start"))
		return make_start(argv[2], (unsigned)strtoul(argv[3], NULL, 10), argv[4]);
	if (argc == 7 && !strcmp(argv[1], "send"))
		return send_saved(argv[2], argv[3], argv[4], argv[5], argv[6]);
	fprintf(stderr,
		"usage: it_request query PKI REQUESTER FROM TO OUT\n"
		"       it_request envelope PKI REQUESTER COORDINATOR FROM TO OUT\n"
		"       it_request blind PKI NODE OUT\n"
		"       it_request secure PKI REQUESTER COORDINATOR FROM TO OUT\n"
		"       it_request start COORDINATOR PARTY OUT\n"
		"       it_request send PKI AS coordinator|node|keyholder|compute TARGET IN\n");
	return 2;
}
