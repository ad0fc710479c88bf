/*
 * caselink-node serve as a real process on loopback, asked by a test that
 * plays the coordinator: a good signed request is answered; forgeries,
 * rewrites, replays, expired requests and strangers are refused with a clear
 * status, and the node keeps serving.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "node/import.h"
#include "node/store.h"
#include "protocol/party.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"
#include "protocol/sign.h"

#define NODE_ID "lv-tukums-police"

static char dir[512], pki[600], data[600], ready[700];
static pid_t server = -1;
static char addr[128];
static struct party_tls *coord_tls, *other_tls;
static struct sign_key *national, *researcher, *coordinator, *coordinator2;

static char *slurp(const char *name)
{
	char path[1024], *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/%s", pki, name);
	assert_int_equal(pki_read_file(path, PKI_PEM_MAX, &buf, &len), CL_OK);
	return buf;
}

static struct sign_key *signer(const char *id)
{
	char k[128], c[128], *kp, *cp;
	struct sign_key *sk = NULL;

	snprintf(k, sizeof(k), "%s.key", id);
	snprintf(c, sizeof(c), "%s.pem", id);
	kp = slurp(k);
	cp = slurp(c);
	assert_int_equal(sign_key_load(kp, cp, &sk), CL_OK);
	free(kp);
	free(cp);
	return sk;
}

static struct party_tls *tls_of(const char *id)
{
	char ca[1024], c[1024], k[1024], err[256];
	struct party_tls *t = NULL;

	snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
	snprintf(c, sizeof(c), "%s/%s.pem", pki, id);
	snprintf(k, sizeof(k), "%s/%s.key", pki, id);
	assert_int_equal(party_tls_load(ca, c, k, NULL, &t, err, sizeof(err)), CL_OK);
	return t;
}

static void issue(const char *id, const char *role)
{
	static const char *const dns[] = {"localhost"};
	static const char *const ips[] = {"127.0.0.1"};
	struct pki_issue_opts o;

	memset(&o, 0, sizeof(o));
	o.id = id;
	o.role = role;
	o.dns = dns;
	o.n_dns = 1;
	o.ips = ips;
	o.n_ips = 1;
	assert_int_equal(pki_issue(pki, pki, &o), CL_OK);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	const char *tmp = getenv("CASELINK_TMP"), *bin = getenv("CASELINK_BIN");
	char path[1024], serve[1024], conf[1024];
	struct node_store_meta meta;
	struct node_store *s = NULL;
	struct node_import_opts o;
	struct node_import_report rep;
	int i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/node-serve.%d", tmp ? tmp : "/tmp", (int)getpid());
	snprintf(pki, sizeof(pki), "%s/pki", dir);
	snprintf(data, sizeof(data), "%s/node", dir);
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	assert_int_equal(pki_init_ca(pki), CL_OK);
	issue(NODE_ID, "node");
	issue("coordinator", "coordinator");
	issue("coordinator2", "coordinator");
	issue("national", "user");
	issue("researcher", "user");
	memset(&meta, 0, sizeof(meta));
	strcpy(meta.agency_id, NODE_ID);
	strcpy(meta.agency_type, "police");
	strcpy(meta.municipality, "Tukums");
	strcpy(meta.country, "LV");
	assert_int_equal(node_store_init(data, &meta), CL_OK);
	snprintf(path, sizeof(path), "%s/persons.csv", dir);
	write_file(path, "person_ref,sex\nA,F\n");
	snprintf(conf, sizeof(conf), "%s/events.csv", dir);
	write_file(conf, "event_ref,person_ref,event_type,occurred_at,role\n"
			 "e1,A,police_callout,2025-02-01T22:00Z,victim\n"
			 "e2,A,police_callout,2025-07-01T22:00Z,victim\n");
	assert_int_equal(node_store_open(data, &s), CL_OK);
	memset(&o, 0, sizeof(o));
	o.persons_path = path;
	o.events_path = conf;
	assert_int_equal(node_import_run(s, &o, &rep), CL_OK);
	node_store_close(s);
	/* The node's own policy (docs/policy.md): national may ask incident counts. */
	snprintf(conf, sizeof(conf), "%s/policy.yaml", dir);
	write_file(conf, "version: 1\nscope: node\n"
			 "roles: {national_coordinator: {ou: user, identities: [national]}}\n"
			 "rules:\n"
			 "  - {id: national, role: national_coordinator, measures: [M1],\n"
			 "     group_by: [quarter], period: {max_days: 366},\n"
			 "     purposes: [monitoring], legal_bases: [statistics]}\n"
			 "participation: [{measures: [M1]}]\n");
	snprintf(conf, sizeof(conf), "%s/node.yaml", dir);
	snprintf(path, sizeof(path),
		 "listen: 127.0.0.1:0\n"
		 "tls: {ca: pki/ca.pem, cert: pki/%s.pem, key: pki/%s.key, crl: pki/crl.pem}\n"
		 "coordinators: [coordinator]\npolicy: policy.yaml\n",
		 NODE_ID, NODE_ID);
	write_file(conf, path);
	snprintf(serve, sizeof(serve), "%s/caselink-node", bin ? bin : "build/bin");
	server = fork();
	assert_true(server >= 0);
	if (server == 0) {
		execl(serve, serve, "serve", "--data", data, "--config", conf, "--foreground",
		      "--ready-file", ready, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		FILE *f = fopen(ready, "r");

		if (f) {
			if (fgets(addr, sizeof(addr), f))
				addr[strcspn(addr, "\n")] = '\0';
			fclose(f);
			if (addr[0])
				break;
		}
		usleep(50000);
	}
	assert_true(addr[0] != '\0');
	coord_tls = tls_of("coordinator");
	other_tls = tls_of("coordinator2");
	national = signer("national");
	researcher = signer("researcher");
	coordinator = signer("coordinator");
	coordinator2 = signer("coordinator2");
	return 0;
}

static int teardown(void **state)
{
	char cmd[1100];
	int status = 0;

	(void)state;
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, &status, 0);
	}
	party_tls_free(coord_tls);
	party_tls_free(other_tls);
	sign_key_free(national);
	sign_key_free(researcher);
	sign_key_free(coordinator);
	sign_key_free(coordinator2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return -1;
	/* The node stops cleanly on SIGTERM. */
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* How a test request deviates from a good one. */
struct tamper {
	const struct sign_key *requester_key; /* NULL: national */
	const char *requester_id;	      /* claimed identity; NULL: national */
	const struct sign_key *envelope_key;  /* NULL: coordinator */
	const char *purpose_after_signing;    /* the coordinator rewrites the purpose */
	int widen_nodes;		      /* the coordinator drops the requester's nodes */
	int64_t issued_shift, expires_shift;  /* seconds added to issued_at / expires_at */
};

static int build(const struct tamper *t, uint8_t **out, size_t *len)
{
	Caselink__V1__QueryRequest q = CASELINK__V1__QUERY_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	uint8_t id[PARTY_REQUEST_ID_LEN], nonce[32];
	char *by[] = {"quarter"}, *only[] = {NODE_ID};
	int rc;

	rc = party_header_fill(&h, &who, id, "monitoring", "statistics",
			       t->requester_id ? t->requester_id : "national", "user");
	if (rc != CL_OK)
		return rc;
	h.issued_at += t->issued_shift;
	h.expires_at += t->expires_shift;
	q.header = &h;
	q.measure = "incident_events";
	q.period_from = "2025-01-01";
	q.period_to = "2026-01-01";
	q.group_by = by;
	q.n_group_by = 1;
	memset(nonce, 3, sizeof(nonce));
	q.query_nonce.data = nonce;
	q.query_nonce.len = sizeof(nonce);
	q.mode = CASELINK__V1__QUERY_MODE__QUERY_MODE_AGGREGATE;
	q.nodes = only;
	q.n_nodes = 1;
	rc = sign_request(t->requester_key ? t->requester_key : national, &q);
	if (t->purpose_after_signing)
		h.purpose = (char *)t->purpose_after_signing;
	if (t->widen_nodes)
		q.n_nodes = 0; /* every node, where the requester asked one */
	if (rc == CL_OK)
		rc = sign_envelope(t->envelope_key ? t->envelope_key : coordinator, &q);
	if (rc == CL_OK) {
		*len = caselink__v1__query_request__get_packed_size(&q);
		*out = malloc(*len);
		assert_non_null(*out);
		caselink__v1__query_request__pack(&q, *out);
	}
	sign_header_free(&h);
	return rc;
}

struct answer {
	size_t rows;
	int64_t total;
};

static int on_message(const uint8_t *msg, size_t len, void *user)
{
	struct answer *a = user;
	Caselink__V1__QueryResponse *r = caselink__v1__query_response__unpack(NULL, len, msg);
	size_t i;

	if (!r)
		return 1;
	if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_ROWS)
		for (i = 0; i < r->rows->n_rows; i++) {
			a->rows++;
			a->total += r->rows->rows[i]->values[0]->count;
		}
	caselink__v1__query_response__free_unpacked(r, NULL);
	return 0;
}

/* Sends req as the coordinator (or coordinator2) and returns the status. */
static enum rpc_code ask(struct party_tls *as, const uint8_t *req, size_t len, struct answer *a,
			 char msg[RPC_STATUS_MSG_MAX])
{
	struct rpc_channel_config cc;
	struct rpc_channel *ch = NULL;
	struct rpc_status st;

	memset(&cc, 0, sizeof(cc));
	cc.target = addr;
	party_tls_fill(as, &cc.tls);
	cc.server_name = NODE_ID;
	cc.expected_roles = RPC_ROLE_NODE;
	assert_int_equal(rpc_channel_new(&cc, &ch), CL_OK);
	memset(a, 0, sizeof(*a));
	rpc_call_stream(ch, RPC_METHOD_NODE_QUERY, req, len, 5000, on_message, a, NULL, &st);
	rpc_channel_free(ch);
	memcpy(msg, st.message, RPC_STATUS_MSG_MAX);
	return st.code;
}

static void expect(const struct tamper *t, struct party_tls *as, enum rpc_code code,
		   const char *message)
{
	uint8_t *req = NULL;
	size_t len = 0;
	struct answer a;
	char msg[RPC_STATUS_MSG_MAX];

	assert_int_equal(build(t, &req, &len), CL_OK);
	assert_int_equal(ask(as, req, len, &a, msg), code);
	if (message)
		assert_string_equal(msg, message);
	if (code != RPC_OK)
		assert_int_equal(a.rows, 0);
	free(req);
}

static void test_good_request_answered(void **state)
{
	struct tamper t;
	uint8_t *req = NULL;
	size_t len = 0;
	struct answer a;
	char msg[RPC_STATUS_MSG_MAX];

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(build(&t, &req, &len), CL_OK);
	assert_int_equal(ask(coord_tls, req, len, &a, msg), RPC_OK);
	assert_int_equal(a.rows, 2); /* 2025-Q1 and 2025-Q3 */
	assert_int_equal(a.total, 2);
	/* The same request again, byte for byte: a replay. */
	assert_int_equal(ask(coord_tls, req, len, &a, msg), RPC_FAILED_PRECONDITION);
	assert_string_equal(msg, "replayed request");
	free(req);
}

static void test_refusals(void **state)
{
	struct tamper t;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.purpose_after_signing = "research";
	expect(&t, coord_tls, RPC_UNAUTHENTICATED, "requester signature does not verify");

	memset(&t, 0, sizeof(t));
	t.widen_nodes = 1; /* issue 12: the nodes restriction is the requester's */
	expect(&t, coord_tls, RPC_UNAUTHENTICATED, "requester signature does not verify");

	memset(&t, 0, sizeof(t));
	t.requester_key = researcher; /* signs, claiming to be "national" */
	expect(&t, coord_tls, RPC_UNAUTHENTICATED,
	       "requester certificate does not name the requester");

	memset(&t, 0, sizeof(t));
	t.envelope_key = coordinator2; /* envelope by another coordinator than the connection */
	expect(&t, coord_tls, RPC_UNAUTHENTICATED,
	       "coordinator certificate does not name the coordinator");

	memset(&t, 0, sizeof(t));
	t.issued_shift = -400;
	t.expires_shift = -400;
	expect(&t, coord_tls, RPC_FAILED_PRECONDITION, "request expired");

	memset(&t, 0, sizeof(t));
	t.issued_shift = 3600;
	t.expires_shift = 3600;
	expect(&t, coord_tls, RPC_FAILED_PRECONDITION, "request issued in the future (clock skew)");

	/* Issue 12: a request valid for 100 years, and one that expires before it is issued. */
	memset(&t, 0, sizeof(t));
	t.expires_shift = 100LL * 365 * 86400;
	expect(&t, coord_tls, RPC_INVALID_ARGUMENT,
	       "request valid for longer than this party accepts (max_request_validity)");
	memset(&t, 0, sizeof(t));
	t.expires_shift = -(PARTY_EXPIRY_DEFAULT + 1);
	expect(&t, coord_tls, RPC_INVALID_ARGUMENT, "request expires before it is issued");

	/* A valid coordinator certificate that this node's configuration does not name. */
	memset(&t, 0, sizeof(t));
	t.envelope_key = coordinator2;
	expect(&t, other_tls, RPC_PERMISSION_DENIED, "peer is not a coordinator of this node");

	/* After all that the node still answers a good request. */
	memset(&t, 0, sizeof(t));
	expect(&t, coord_tls, RPC_OK, NULL);
}

/* Runs a shell command and returns its exit status and first output line. */
static int run(const char *cmd, char *line, size_t linesz)
{
	FILE *p = popen(cmd, "r");
	int status;

	assert_non_null(p);
	line[0] = '\0';
	if (!fgets(line, (int)linesz, p))
		line[0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Every answer and every refusal above is in the node's hash-chained audit; tampering shows. */
static void test_audit_records_everything(void **state)
{
	const char *bin = getenv("CASELINK_BIN");
	char cmd[2048], line[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "%s/caselink-node audit verify --data '%s'",
		 bin ? bin : "build/bin", data);
	assert_int_equal(run(cmd, line, sizeof(line)), 0);
	/* 2 answers, 1 replay and 9 refusals in the two tests before this one. */
	assert_string_equal(line, "audit log intact: 12 entries");
	snprintf(
	    cmd, sizeof(cmd),
	    "sqlite3 '%s/audit.db' \"SELECT count(*) FROM audit_log WHERE action='query_refused'"
	    " AND details LIKE '%%requester_sig=%%' AND details LIKE '%%purpose=monitoring%%'\"",
	    data);
	assert_int_equal(run(cmd, line, sizeof(line)), 0);
	/* The replay, the two forgeries, the foreign envelope, the expired, the future, the too
	 * long and the expiring-before-issue request. */
	assert_string_equal(line, "8");
	snprintf(
	    cmd, sizeof(cmd),
	    "sqlite3 '%s/audit.db' \"UPDATE audit_log SET details = replace(details, 'rows=2', "
	    "'rows=3') WHERE seq = 1\"",
	    data);
	assert_int_equal(run(cmd, line, sizeof(line)), 0);
	snprintf(cmd, sizeof(cmd), "%s/caselink-node audit verify --data '%s'",
		 bin ? bin : "build/bin", data);
	assert_int_equal(run(cmd, line, sizeof(line)), 1);
	assert_non_null(strstr(line, "audit log BROKEN at entry 1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_request_answered),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_audit_records_everything),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
