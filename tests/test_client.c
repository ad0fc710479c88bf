/*
 * test_client — protocol/client against a fake coordinator on 127.0.0.1 (plaintext demo):
 * the request it sends (header, requester, measure), the answer it collects from streamed
 * chunks (coverage, failures, omitted records, disclosure, suppressed and real values, the
 * noise_scale column), refusals, incomplete and malformed streams, row limits, and the table,
 * CSV and JSON it prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/cl_error.h"
#include "protocol/client.h"

static struct rpc_server *server;
static char target[64];
static char seen_requester[64], seen_role[16], seen_purpose[32];

static int send_chunk(struct rpc_ctx *ctx, Caselink__V1__QueryResponse *r)
{
	size_t len = caselink__v1__query_response__get_packed_size(r);
	uint8_t *buf = malloc(len ? len : 1);
	int rc;

	if (!buf)
		return CL_ENOMEM;
	caselink__v1__query_response__pack(r, buf);
	rc = rpc_ctx_send(ctx, buf, len);
	free(buf);
	return rc;
}

static int send_coverage(struct rpc_ctx *ctx, unsigned asked, unsigned answered,
			 const char *failed_node, unsigned omitted, Caselink__V1__Disclosure *d)
{
	Caselink__V1__QueryResponse r = CASELINK__V1__QUERY_RESPONSE__INIT;
	Caselink__V1__Coverage c = CASELINK__V1__COVERAGE__INIT;
	Caselink__V1__NodeFailure f = CASELINK__V1__NODE_FAILURE__INIT;
	Caselink__V1__NodeFailure *fp[1] = {&f};

	c.nodes_asked = asked;
	c.nodes_answered = answered;
	c.omitted_records = omitted;
	c.disclosure = d;
	if (failed_node) {
		f.node_id = (char *)failed_node;
		f.reason = "unavailable: connection refused";
		c.n_failed = 1;
		c.failed = fp;
	}
	r.chunk_case = CASELINK__V1__QUERY_RESPONSE__CHUNK_COVERAGE;
	r.coverage = &c;
	return send_chunk(ctx, &r);
}

/* One batch: nk key columns named keys, 0 or 1 value column, n rows of cells. */
static int send_rows(struct rpc_ctx *ctx, char **keycols, size_t nk, char *valcol,
		     char *(*cells)[4], Caselink__V1__Value *vals, size_t n, int last)
{
	Caselink__V1__QueryResponse r = CASELINK__V1__QUERY_RESPONSE__INIT;
	Caselink__V1__RowBatch b = CASELINK__V1__ROW_BATCH__INIT;
	Caselink__V1__Row rows[8], *rp[8];
	Caselink__V1__Value *vp[8];
	char *vc[1] = {valcol};
	size_t i;

	assert_true(n <= 8);
	for (i = 0; i < n; i++) {
		caselink__v1__row__init(&rows[i]);
		rows[i].n_keys = nk;
		rows[i].keys = cells[i];
		if (valcol) {
			vp[i] = &vals[i];
			rows[i].n_values = 1;
			rows[i].values = &vp[i];
		}
		rp[i] = &rows[i];
	}
	b.n_key_columns = nk;
	b.key_columns = keycols;
	b.n_value_columns = valcol ? 1 : 0;
	b.value_columns = vc;
	b.n_rows = n;
	b.rows = rp;
	r.chunk_case = CASELINK__V1__QUERY_RESPONSE__CHUNK_ROWS;
	r.rows = &b;
	r.last = last;
	return send_chunk(ctx, &r);
}

static void count(Caselink__V1__Value *v, long long c, double ns)
{
	caselink__v1__value__init(v);
	v->value_case = CASELINK__V1__VALUE__VALUE_COUNT;
	v->count = c;
	v->noise_scale = ns;
}

static enum rpc_code h_query(struct rpc_ctx *ctx, const uint8_t *req, size_t len, void *user)
{
	Caselink__V1__QueryRequest *q = caselink__v1__query_request__unpack(NULL, len, req);
	Caselink__V1__Disclosure d = CASELINK__V1__DISCLOSURE__INIT;
	char *kc2[2] = {"municipality", "metric"}, *kc1[1] = {"municipality"};
	char *cases_cols[2] = {"handle", "reasons"};
	char *cells[8][4] = {
	    {"A", "victims"},	   {"B", "victims"},  {"A", "rate"}, {"X, \"Y\""}, {"Z"},
	    {"0a0b", "risk_high"}, {"0c0d", "repeat"}};
	Caselink__V1__Value v[8];
	const char *m;
	enum rpc_code code = RPC_OK;

	(void)user;
	if (!q || !q->header || !q->header->requester)
		return RPC_INVALID_ARGUMENT;
	snprintf(seen_requester, sizeof(seen_requester), "%s", q->header->requester->id);
	snprintf(seen_role, sizeof(seen_role), "%s", q->header->requester->role);
	snprintf(seen_purpose, sizeof(seen_purpose), "%s", q->header->purpose);
	m = q->measure;
	if (!strcmp(m, "DISC")) {
		d.threshold = 5;
		d.rounding = 10;
		d.mechanism = "laplace";
		d.epsilon = 0.5;
		d.noise_scale = 2;
		d.budget = 10;
		d.budget_remaining = 9.5;
		d.budget_period = "2025";
		d.definitions_version = "defs-1";
		d.suppressed_cells = 1;
		send_coverage(ctx, 3, 2, "n3", 0, &d);
		count(&v[0], 12, 2);
		caselink__v1__value__init(&v[1]);
		v[1].suppressed = 1;
		v[1].suppressed_reason = "small";
		v[1].noise_scale = 2;
		send_rows(ctx, kc2, 2, "value", cells, v, 2, 0);
		caselink__v1__value__init(&v[2]);
		v[2].value_case = CASELINK__V1__VALUE__VALUE_REAL;
		v[2].real = 0.25;
		send_rows(ctx, kc2, 2, "value", &cells[2], &v[2], 1, 1);
	} else if (!strcmp(m, "PLAIN") || !strcmp(m, "SHAPE") || !strcmp(m, "HALF")) {
		send_coverage(ctx, 2, 2, NULL, 0, NULL);
		count(&v[0], 3, 0);
		count(&v[1], 4, 0);
		send_rows(ctx, kc1, 1, "count", &cells[3], v, 2, !strcmp(m, "PLAIN"));
		if (!strcmp(m, "SHAPE"))
			send_rows(ctx, kc2, 2, "count", cells, v, 1, 1);
	} else if (!strcmp(m, "CASES")) {
		send_coverage(ctx, 2, 2, NULL, 3, NULL);
		send_rows(ctx, cases_cols, 2, NULL, &cells[5], NULL, 2, 1);
	} else if (!strcmp(m, "DENY")) {
		rpc_ctx_set_message(ctx, "policy: not allowed");
		code = RPC_PERMISSION_DENIED;
	} else {
		code = RPC_UNIMPLEMENTED;
	}
	caselink__v1__query_request__free_unpacked(q, NULL);
	return code;
}

static int setup(void **state)
{
	struct rpc_server_config cfg = {.listen_addr = "127.0.0.1:0", .insecure_demo = true};
	int port = 0;

	(void)state;
	if (rpc_server_new(&cfg, &server) ||
	    rpc_server_add_method(server, RPC_METHOD_COORDINATOR_QUERY, RPC_SERVER_STREAMING,
				  RPC_ROLE_ANY, h_query, NULL) ||
	    rpc_server_start(server, &port))
		return -1;
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rpc_server_free(server);
	return 0;
}

/* Asks for measure as agency-x (node) and returns the call's code; *out on success. */
static int ask(const char *measure, int nvalues, size_t max_rows, struct client_answer **out)
{
	struct client_config cfg = {
	    .target = target, .insecure_demo = 1, .demo_id = "agency-x", .demo_role = "node"};
	Caselink__V1__QueryRequest q = CASELINK__V1__QUERY_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	uint8_t id[PARTY_REQUEST_ID_LEN];
	struct client_conn *c = NULL;
	char err[256] = "";
	int rc;

	assert_int_equal(client_connect(&cfg, &c, err, sizeof(err)), CL_OK);
	assert_int_equal(client_request_init(c, &q, &h, &who, id, "monitoring", "statistics"),
			 CL_OK);
	assert_ptr_equal(q.header, &h);
	q.measure = (char *)measure;
	q.period_from = "2025-01-01";
	q.period_to = "2026-01-01";
	rc = client_call(c, &q, 10000, nvalues, max_rows, "test_client", out);
	client_close(c);
	return rc;
}

/* Runs print into a temporary file and returns its text (free()). */
static char *capture(void (*print)(FILE *, const struct client_answer *, int),
		     const struct client_answer *a, int arg)
{
	FILE *f = tmpfile();
	char *buf;
	long n;

	assert_non_null(f);
	print(f, a, arg);
	n = ftell(f);
	assert_true(n >= 0);
	buf = calloc((size_t)n + 1, 1);
	assert_non_null(buf);
	rewind(f);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static void p_table(FILE *f, const struct client_answer *a, int total)
{
	client_print_table(f, a, total);
}

static void p_csv(FILE *f, const struct client_answer *a, int unused)
{
	(void)unused;
	client_print_csv(f, a);
}

static void p_cov(FILE *f, const struct client_answer *a, int unused)
{
	(void)unused;
	client_print_coverage(f, "# ", a);
}

static void p_release(FILE *f, const struct client_answer *a, int unused)
{
	(void)unused;
	client_print_release(f, "", a);
}

static void p_json(FILE *f, const struct client_answer *a, int flags)
{
	assert_int_equal(client_print_json(f, a, "M", "2025-01-01", "2026-01-01", (unsigned)flags),
			 CL_OK);
}

static void expect_text(void (*print)(FILE *, const struct client_answer *, int),
			const struct client_answer *a, int arg, const char *want)
{
	char *got = capture(print, a, arg);

	assert_string_equal(got, want);
	free(got);
}

static void test_disclosure_answer(void **state)
{
	struct client_answer *a = NULL;
	const struct client_coverage *c;
	const struct client_value *v;

	(void)state;
	assert_int_equal(ask("DISC", -1, 100, &a), CL_OK);
	assert_string_equal(seen_requester, "agency-x");
	assert_string_equal(seen_role, "node");
	assert_string_equal(seen_purpose, "monitoring");
	/* keys, the value and the noise_scale column a noisy answer adds */
	assert_int_equal(client_answer_ncols(a), 4);
	assert_int_equal(client_answer_nkeys(a), 2);
	assert_int_equal(client_answer_nrows(a), 3);
	assert_string_equal(client_answer_col(a, 3), "noise_scale");
	assert_string_equal(client_answer_cell(a, 0, 2), "12");
	assert_string_equal(client_answer_cell(a, 0, 3), "2");
	assert_string_equal(client_answer_cell(a, 1, 2), CLIENT_SUPPRESSED " (small)");
	assert_string_equal(client_answer_cell(a, 1, 3), "");
	assert_string_equal(client_answer_cell(a, 2, 2), "0.250000");
	v = client_answer_value(a, 1, 0);
	assert_true(v->suppressed && !v->present);
	assert_string_equal(v->reason, "small");
	v = client_answer_value(a, 2, 0);
	assert_true(v->real_valued && v->present && v->real == 0.25);
	c = client_answer_coverage(a);
	assert_int_equal(c->asked, 3);
	assert_int_equal(c->answered, 2);
	assert_int_equal(c->nfailed, 1);
	assert_string_equal(c->failed[0].node, "n3");
	assert_true(c->have_disclosure && c->noisy);
	assert_int_equal(c->nsuppressed, 1);
	expect_text(p_cov, a, 0,
		    "# coverage: 2 of 3 nodes answered\n"
		    "#   failed: n3 (unavailable: connection refused)\n");
	expect_text(p_release, a, 0,
		    "definitions: defs-1\n"
		    "disclosure: threshold 5, rounding to multiples of 10; suppressed: 1 counts, "
		    "0 derived values (marked \"suppressed (reason)\": small, protects another, no "
		    "per-person bound, derived)\n"
		    "noise: laplace, scale 2 per count (epsilon 0.5 charged; 9.5 of 10 left in "
		    "budget period 2025)\n");
	/* No total under noise or suppression. */
	expect_text(p_table, a, 1,
		    "municipality  metric                value  noise_scale\n"
		    "A             victims                  12            2\n"
		    "B             victims  suppressed (small)             \n"
		    "A             rate               0.250000            0\n");
	{
		char *json = capture(p_json, a, 0);

		/* The reason in JSON: {"value": null, "suppressed": true, "reason": "small"} */
		assert_non_null(strstr(json, "\"reason\": \"small\""));
		assert_non_null(strstr(json, "\"suppressed\": true"));
		free(json);
	}
	client_answer_free(a);
}

/* ---- docs/protocol.md "caselink query --format json": the documented keys are the output's ----
 */

/* The JSON example of docs/protocol.md (the fenced block after "<!-- json: query -->"). */
static json_t *doc_json(void)
{
	const char *src = getenv("CASELINK_SRC");
	char path[1024], *text, *p, *end;
	json_error_t e;
	json_t *j;
	long n;
	FILE *f;

	if (!src)
		fail_msg("CASELINK_SRC is not set: run through ctest");
	snprintf(path, sizeof(path), "%s/docs/protocol.md", src);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot read %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	text = calloc((size_t)n + 1, 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	p = strstr(text, "<!-- json: query -->");
	assert_non_null(p);
	p = strstr(p, "```json\n");
	assert_non_null(p);
	p += 8;
	end = strstr(p, "```");
	assert_non_null(end);
	*end = '\0';
	j = json_loads(p, 0, &e);
	if (!j)
		fail_msg("docs/protocol.md JSON example: line %d: %s", e.line, e.text);
	free(text);
	return j;
}

static int json_kind(const json_t *v)
{
	return json_is_number(v) ? JSON_INTEGER : (int)json_typeof(v);
}

/*
 * Every key of the documented object is in the output with the same kind of value, and every
 * key of the output is documented; objects compared recursively, arrays by their first element.
 */
static void same_shape(const char *where, const json_t *doc, const json_t *got)
{
	const char *k;
	json_t *v;
	char sub[256];

	if (json_kind(doc) != json_kind(got))
		fail_msg("docs/protocol.md JSON %s: documented as another type than printed",
			 where);
	if (json_is_array(doc) && json_array_size(doc) && json_array_size(got)) {
		snprintf(sub, sizeof(sub), "%s[0]", where);
		same_shape(sub, json_array_get(doc, 0), json_array_get(got, 0));
	}
	if (!json_is_object(doc))
		return;
	json_object_foreach((json_t *)doc, k, v)
	{
		snprintf(sub, sizeof(sub), "%s.%s", where, k);
		if (!json_object_get(got, k))
			fail_msg(
			    "docs/protocol.md JSON documents %s, which client_print_json does not "
			    "print",
			    sub);
		same_shape(sub, v, json_object_get(got, k));
	}
	json_object_foreach((json_t *)got, k, v)
	{
		if (!json_object_get(doc, k))
			fail_msg("client_print_json prints %s.%s, which docs/protocol.md does not "
				 "document",
				 where, k);
	}
}

static void test_json_as_documented(void **state)
{
	struct client_answer *a = NULL;
	json_t *doc = doc_json(), *got, *row, *cell;
	json_error_t e;
	char *text;

	(void)state;
	assert_int_equal(ask("DISC", -1, 100, &a), CL_OK);
	text = capture(p_json, a, 0);
	got = json_loads(text, 0, &e);
	assert_non_null(got);
	/* Rows by kind of cell: a key, a count and a suppressed cell, as the example has them. */
	row = json_array_get(json_object_get(got, "rows"), 1);
	cell = json_array_get(row, 2);
	assert_true(json_is_object(cell));
	same_shape("rows[1][1]", json_array_get(json_array_get(json_object_get(doc, "rows"), 1), 1),
		   cell);
	assert_true(json_is_string(json_array_get(row, 0)));
	assert_true(
	    json_is_integer(json_array_get(json_array_get(json_object_get(got, "rows"), 0), 2)));
	/* The rest key by key (rows compared above: their columns differ from the example's). */
	json_object_del(got, "rows");
	json_object_del(doc, "rows");
	same_shape("", doc, got);
	json_decref(got);
	json_decref(doc);
	free(text);
	client_answer_free(a);
}

static void test_plain_answer(void **state)
{
	struct client_answer *a = NULL;
	char *json;

	(void)state;
	assert_int_equal(ask("PLAIN", 1, 100, &a), CL_OK);
	assert_int_equal(client_answer_ncols(a), 2);
	expect_text(p_table, a, 1,
		    "municipality  count\n"
		    "X, \"Y\"            3\n"
		    "Z                 4\n"
		    "total             7\n");
	expect_text(p_table, a, 0,
		    "municipality  count\n"
		    "X, \"Y\"            3\n"
		    "Z                 4\n");
	expect_text(p_csv, a, 0, "municipality,count\n\"X, \"\"Y\"\"\",3\nZ,4\n");
	expect_text(p_release, a, 0, "disclosure: not stated by the coordinator\n");
	json = capture(p_json, a, 0);
	assert_non_null(strstr(json, "\"definitions_version\": null"));
	assert_non_null(strstr(json, "\"bounds\": \"[)\""));
	assert_non_null(strstr(json, "\"X, \\\"Y\\\"\",\n      3\n"));
	assert_null(strstr(json, "omitted_records"));
	assert_null(strstr(json, "own_record_restricted"));
	assert_null(strstr(json, "\"disclosure\""));
	free(json);
	client_answer_free(a);
}

static void test_cases_answer(void **state)
{
	struct client_answer *a = NULL;
	char *json;

	(void)state;
	assert_int_equal(ask("CASES", 0, 100, &a), CL_OK);
	assert_int_equal(client_answer_coverage(a)->omitted, 3);
	assert_int_equal(client_answer_ncols(a), 2);
	assert_int_equal(client_answer_set_col(a, 0, "person_ref"), CL_OK);
	assert_int_equal(client_answer_set_cell(a, 1, 0, "P7"), CL_OK);
	expect_text(p_table, a, 0,
		    "person_ref  reasons\n"
		    "0a0b        risk_high\n"
		    "P7          repeat\n");
	json = capture(p_json, a, CLIENT_JSON_OMITTED | CLIENT_JSON_OWN);
	assert_non_null(strstr(json, "\"omitted_records\": 3"));
	assert_non_null(strstr(json, "\"own_record_restricted\": false"));
	assert_non_null(strstr(json, "\"person_ref\""));
	free(json);
	json =
	    capture(p_json, a, CLIENT_JSON_OMITTED | CLIENT_JSON_OWN | CLIENT_JSON_OWN_RESTRICTED);
	assert_non_null(strstr(json, "\"own_record_restricted\": true"));
	free(json);
	client_answer_free(a);
	/* A case answer has no value columns: one that asks for them is refused. */
	a = NULL;
	assert_int_not_equal(ask("CASES", 1, 100, &a), CL_OK);
	assert_null(a);
}

static void test_failures(void **state)
{
	struct client_answer *a = NULL;

	(void)state;
	assert_int_equal(ask("DENY", -1, 100, &a), CL_EDENIED);
	assert_null(a);
	assert_int_equal(ask("HALF", -1, 100, &a), CL_EPROTO); /* no last chunk */
	assert_null(a);
	assert_int_not_equal(ask("SHAPE", -1, 100, &a), CL_OK); /* columns changed */
	assert_null(a);
	assert_int_not_equal(ask("PLAIN", -1, 1, &a), CL_OK); /* over max_rows */
	assert_null(a);
	assert_int_equal(ask("PLAIN", -1, 2, &a), CL_OK);
	client_answer_free(a);
}

static void test_args(void **state)
{
	char *argv[] = {"x",	  "--coordinator", "h:1",    "--tls-dir", "/p",
			"--name", "alice",	   "--from", "d",	  "--key"};
	struct client_args a;
	struct client_config cfg;
	int i;

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(client_args_config(&a, &cfg), CL_EUSAGE); /* no coordinator */
	for (i = 1; i < 7; i++)
		assert_int_equal(client_args_take(&a, 10, argv, &i), 1);
	assert_int_equal(i, 7);
	assert_int_equal(client_args_take(&a, 10, argv, &i), 0); /* --from: not ours */
	i = 9;
	assert_int_equal(client_args_take(&a, 10, argv, &i), CL_EUSAGE); /* --key, no value */
	assert_int_equal(client_args_config(&a, &cfg), CL_OK);
	assert_string_equal(cfg.ca, "/p/ca.pem");
	assert_string_equal(cfg.cert, "/p/alice.pem");
	assert_string_equal(cfg.key, "/p/alice.key");
	assert_string_equal(cfg.server_name, "coordinator");
	assert_false(cfg.insecure_demo);
	a.tls_dir = NULL;
	a.ca = "/ca";
	assert_int_equal(client_args_config(&a, &cfg), CL_EUSAGE); /* no cert or key */
	a.insecure = 1;
	assert_int_equal(client_args_config(&a, &cfg), CL_OK);
	assert_true(cfg.insecure_demo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_disclosure_answer), cmocka_unit_test(test_json_as_documented),
	    cmocka_unit_test(test_plain_answer),      cmocka_unit_test(test_cases_answer),
	    cmocka_unit_test(test_failures),	      cmocka_unit_test(test_args),
	};

	if (rpc_signals_block())
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
