/* cases_cli — `caselink-node case-history` (M7) and `caselink-node alerts` (M8); cases_cli.h. */
#include "node/cases_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "common/partyconf.h"
#include "node/encode_query.h"
#include "node/store.h"
#include "node/tokens.h"
#include "protocol/party.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"
#include "protocol/sign.h"

#define CC_DEADLINE_MS	30000
#define CC_MAX_COLS	16
#define CC_MAX_ROWS	(1u << 20)
#define CC_MAX_FAILED	4096
#define CC_HISTORY_FROM "1900-01-01" /* M7: the whole history */
#define CC_REF_MAX	256

/* The answer as streamed: coverage, then text rows. */
struct cc_answer {
	size_t ncols, nrows, cap;
	char *cols[CC_MAX_COLS];
	char **cells;
	int have_coverage, complete;
	unsigned asked, answered, omitted;
	size_t nfailed;
	char (*failed)[RPC_PEER_ID_MAX + RPC_STATUS_MSG_MAX + 40];
};

static void cc_usage(void)
{
	fprintf(stderr,
		"usage: caselink-node case-history --data DIR PERSON_REF --purpose CODE\n"
		"         [--legal-basis CODE] [--as-of YYYY-MM-DD] [--coordinator HOST:PORT]\n"
		"         [--config FILE] [--format table|csv]\n"
		"       caselink-node alerts --data DIR [--as-of YYYY-MM-DD] [--purpose CODE]\n"
		"         [--legal-basis CODE] [--coordinator HOST:PORT] [--config FILE]\n"
		"         [--format table|csv]\n"
		"  --config defaults to DIR/node.yaml (its tls: names the node's certificate;\n"
		"  --coordinator and --legal-basis default to its coordinator_address and\n"
		"  legal_basis; the coordinator's certificate name is its first coordinators:);\n"
		"  --legal-basis child_protection also shows records an agency restricted\n");
}

static int cc_on_message(const uint8_t *msg, size_t len, void *user)
{
	struct cc_answer *a = user;
	Caselink__V1__QueryResponse *r = caselink__v1__query_response__unpack(NULL, len, msg);
	size_t i, k;
	int rc = 0;

	if (!r)
		return 1;
	if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_COVERAGE) {
		const Caselink__V1__Coverage *c = r->coverage;

		if (a->have_coverage || c->n_failed > CC_MAX_FAILED) {
			rc = 1;
			goto out;
		}
		a->have_coverage = 1;
		a->asked = c->nodes_asked;
		a->answered = c->nodes_answered;
		a->omitted = c->omitted_records;
		a->failed = calloc(c->n_failed ? c->n_failed : 1, sizeof(*a->failed));
		if (!a->failed) {
			rc = 1;
			goto out;
		}
		for (i = 0; i < c->n_failed; i++)
			snprintf(a->failed[i], sizeof(a->failed[i]), "%.64s (%.200s)",
				 c->failed[i]->node_id, c->failed[i]->reason);
		a->nfailed = c->n_failed;
	} else if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_ROWS) {
		const Caselink__V1__RowBatch *b = r->rows;

		if (b->n_value_columns || !b->n_key_columns || b->n_key_columns > CC_MAX_COLS ||
		    (a->ncols && a->ncols != b->n_key_columns)) {
			rc = 1;
			goto out;
		}
		for (k = 0; !a->ncols && k < b->n_key_columns; k++) {
			a->cols[k] = strdup(b->key_columns[k]);
			if (!a->cols[k]) {
				rc = 1;
				goto out;
			}
			if (k + 1 == b->n_key_columns)
				a->ncols = b->n_key_columns;
		}
		for (i = 0; i < b->n_rows; i++) {
			if (b->rows[i]->n_keys != a->ncols || a->nrows >= CC_MAX_ROWS) {
				rc = 1;
				goto out;
			}
			if (a->nrows == a->cap) {
				size_t cap = a->cap ? a->cap * 2 : 64;
				char **cells = realloc(a->cells, cap * a->ncols * sizeof(*cells));

				if (!cells) {
					rc = 1;
					goto out;
				}
				a->cells = cells;
				a->cap = cap;
			}
			for (k = 0; k < a->ncols; k++) {
				a->cells[a->nrows * a->ncols + k] = strdup(b->rows[i]->keys[k]);
				if (!a->cells[a->nrows * a->ncols + k])
					rc = 1;
			}
			a->nrows++;
			if (rc)
				goto out;
		}
		if (r->last)
			a->complete = 1;
	}
out:
	caselink__v1__query_response__free_unpacked(r, NULL);
	return rc;
}

static void cc_answer_free(struct cc_answer *a)
{
	size_t i;

	for (i = 0; i < a->nrows * a->ncols; i++)
		free(a->cells[i]);
	for (i = 0; i < CC_MAX_COLS; i++)
		free(a->cols[i]);
	free(a->cells);
	free(a->failed);
}

static int cc_unhex16(const char *s, uint8_t out[NODE_TOKENS_HANDLE_LEN])
{
	size_t i;
	unsigned v;

	if (strlen(s) != 2 * NODE_TOKENS_HANDLE_LEN)
		return CL_EPROTO;
	for (i = 0; i < NODE_TOKENS_HANDLE_LEN; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return CL_EPROTO;
		out[i] = (uint8_t)v;
	}
	return CL_OK;
}

/*
 * M8: replaces each row's handle (column 0, "handle") by this node's person_ref, resolved
 * locally; the column becomes "person_ref".
 */
static int cc_resolve(struct cc_answer *a, struct node_store *s, const uint8_t own[ENC_NONCE_LEN])
{
	uint8_t h[NODE_TOKENS_HANDLE_LEN];
	char ref[CC_REF_MAX], *copy;
	size_t i;
	int rc;

	if (a->ncols < 1 || strcmp(a->cols[0], "handle"))
		return a->nrows ? CL_EPROTO : CL_OK;
	for (i = 0; i < a->nrows; i++) {
		rc = cc_unhex16(a->cells[i * a->ncols], h);
		if (rc == CL_OK)
			rc = node_tokens_resolve(s, own, h, ref, sizeof(ref));
		if (rc != CL_OK)
			return rc;
		copy = strdup(ref);
		if (!copy)
			return CL_ENOMEM;
		free(a->cells[i * a->ncols]);
		a->cells[i * a->ncols] = copy;
	}
	copy = strdup("person_ref");
	if (!copy)
		return CL_ENOMEM;
	free(a->cols[0]);
	a->cols[0] = copy;
	return CL_OK;
}

static void cc_csv_field(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static size_t cc_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void cc_print(const struct cc_answer *a, const char *title, const char *as_of, int csv,
		     int own_restricted)
{
	const char *pre = csv ? "# " : "";
	size_t w[CC_MAX_COLS], i, k;

	printf("%s%s, as of %s\n", pre, title, as_of);
	printf("%scoverage: %u of %u nodes answered\n", pre, a->answered, a->asked);
	for (i = 0; i < a->nfailed; i++)
		printf("%s  failed: %s\n", pre, a->failed[i]);
	if (own_restricted)
		printf("%sthis agency restricted the record: it is absent from the federation's "
		       "answer (legal basis child_protection shows it)\n",
		       pre);
	if (a->omitted)
		printf("%sleft out: %u restricted record(s) of other agencies or of this one "
		       "(legal basis child_protection shows them)\n",
		       pre, a->omitted);
	else
		printf("%sleft out: nothing\n", pre);
	if (!csv)
		putchar('\n');
	for (k = 0; k < a->ncols; k++) {
		w[k] = cc_width(a->cols[k]);
		for (i = 0; i < a->nrows; i++)
			if (cc_width(a->cells[i * a->ncols + k]) > w[k])
				w[k] = cc_width(a->cells[i * a->ncols + k]);
	}
	for (i = 0; i <= a->nrows; i++) {
		for (k = 0; k < a->ncols; k++) {
			const char *c = i ? a->cells[(i - 1) * a->ncols + k] : a->cols[k];
			size_t pad;

			if (csv) {
				cc_csv_field(c);
				putchar(k + 1 < a->ncols ? ',' : '\n');
				continue;
			}
			fputs(c, stdout);
			if (k + 1 == a->ncols) {
				putchar('\n');
				continue;
			}
			for (pad = cc_width(c); pad < w[k] + 2; pad++)
				putchar(' ');
		}
	}
	if (!csv)
		printf("\n%zu row(s)\n", a->nrows);
}

/* Finds this node's person by reference: its id and whether it is restricted. */
static int cc_person(struct node_store *s, const char *ref, int64_t *id, int *restricted)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_ESQL, step;

	if (sqlite3_prepare_v2(node_store_db(s),
			       "SELECT id, sharing FROM persons WHERE person_ref=?", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = CL_ENOTFOUND;
		goto out;
	}
	if (step != SQLITE_ROW)
		goto out;
	*id = sqlite3_column_int64(st, 0);
	*restricted = sqlite3_column_text(st, 1) &&
		      !strcmp((const char *)sqlite3_column_text(st, 1), "restricted");
	rc = CL_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

/* The day after as_of ("YYYY-MM-DD") into to[11]. */
static int cc_next_day(const char *as_of, char to[11])
{
	int64_t t;
	int y, m, d;

	if (strlen(as_of) != 10 || cldate_parse_time(as_of, &t, NULL) != CL_OK)
		return CL_EUSAGE;
	cldate_civil_from_days(t / 86400 + 1, &y, &m, &d);
	snprintf(to, 11, "%04d-%02d-%02d", y, m, d);
	return CL_OK;
}

int node_cases_main(int argc, char **argv)
{
	const char *data = NULL, *config = NULL, *coordinator = NULL, *purpose = NULL,
		   *legal_basis = NULL, *as_of = NULL, *format = "table", *ref = NULL;
	int m7 = !strcmp(argv[0], "case-history"), i, rc, own_restricted = 0;
	char cfg[PARTYCONF_MAX_PATH], err[512] = "", to[11], today[11],
				      peer_id[RPC_PEER_ID_MAX] = "",
				      peer_role[RPC_PEER_ROLE_MAX] = "";
	char subject[2 * NODE_TOKENS_HANDLE_LEN + 1];
	Caselink__V1__QueryRequest q = CASELINK__V1__QUERY_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	Caselink__V1__QueryRequest__ParametersEntry param =
	    CASELINK__V1__QUERY_REQUEST__PARAMETERS_ENTRY__INIT;
	Caselink__V1__QueryRequest__ParametersEntry *params[1] = {&param};
	struct cc_answer ans;
	struct partyconf *conf = NULL;
	struct party_tls *tls = NULL;
	struct sign_key *signer = NULL;
	struct rpc_channel *ch = NULL;
	struct rpc_channel_config chc;
	struct rpc_status st;
	struct node_store *store = NULL;
	uint8_t id[PARTY_REQUEST_ID_LEN], own[ENC_NONCE_LEN], key[NODE_TOKENS_KEY_LEN],
	    handle[NODE_TOKENS_HANDLE_LEN], *req = NULL;
	size_t req_len, k;
	int64_t pid = 0;
	time_t now = time(NULL);
	struct tm tm;

	memset(&ans, 0, sizeof(ans));
	for (i = 1; i < argc; i++) {
		const char **opt = NULL;

		if (argv[i][0] != '-' && m7 && !ref) {
			ref = argv[i];
			continue;
		}
		if (!strcmp(argv[i], "--data"))
			opt = &data;
		else if (!strcmp(argv[i], "--config"))
			opt = &config;
		else if (!strcmp(argv[i], "--coordinator"))
			opt = &coordinator;
		else if (!strcmp(argv[i], "--purpose"))
			opt = &purpose;
		else if (!strcmp(argv[i], "--legal-basis"))
			opt = &legal_basis;
		else if (!strcmp(argv[i], "--as-of"))
			opt = &as_of;
		else if (!strcmp(argv[i], "--format"))
			opt = &format;
		if (!opt || i + 1 >= argc) {
			fprintf(stderr, "caselink-node %s: unknown or incomplete option '%.40s'\n",
				argv[0], argv[i]);
			cc_usage();
			return CL_EUSAGE;
		}
		*opt = argv[++i];
	}
	if (!m7 && !purpose)
		purpose = "marac_preparation";
	if (!data || !purpose || (m7 && !ref) ||
	    (strcmp(format, "table") && strcmp(format, "csv"))) {
		cc_usage();
		return CL_EUSAGE;
	}
	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	if (!as_of)
		as_of = today;
	if (cc_next_day(as_of, to) != CL_OK) {
		fprintf(stderr, "caselink-node %s: --as-of must be YYYY-MM-DD\n", argv[0]);
		return CL_EUSAGE;
	}
	if (!config) {
		if (snprintf(cfg, sizeof(cfg), "%s/node.yaml", data) >= (int)sizeof(cfg))
			return CL_EUSAGE;
		config = cfg;
	}
	rc = partyconf_load(config, PARTYCONF_NODE, &conf, err, sizeof(err));
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-node %s: %s\n", argv[0], *err ? err : cl_strerror(rc));
		return rc;
	}
	if (!coordinator && conf->coordinator_address[0])
		coordinator = conf->coordinator_address;
	if (!legal_basis && conf->legal_basis[0])
		legal_basis = conf->legal_basis;
	if (!coordinator || !legal_basis) {
		fprintf(stderr, "caselink-node %s: no %s (give %s or set %s in %s)\n", argv[0],
			!coordinator ? "coordinator address" : "legal basis",
			!coordinator ? "--coordinator" : "--legal-basis",
			!coordinator ? "coordinator_address" : "legal_basis", config);
		rc = CL_EUSAGE;
		goto out;
	}
	rc = node_store_open(data, &store);
	if (rc == CL_OK)
		rc = node_tokens_handle_key(node_store_db(store), key);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-node %s: store %s: %s%s\n", argv[0], data,
			cl_strerror(rc),
			rc == CL_ESTALE ? " (run caselink-node tokens first)" : "");
		goto out;
	}
	if (m7) {
		rc = cc_person(store, ref, &pid, &own_restricted);
		if (rc != CL_OK) {
			fprintf(stderr, "caselink-node case-history: %s\n",
				rc == CL_ENOTFOUND ? "no such person_ref in this node's store"
						   : cl_strerror(rc));
			goto out;
		}
	}
	if (!conf->insecure_demo) {
		char *pem = NULL;
		size_t pem_len = 0;

		rc = party_tls_load(conf->tls_ca, conf->tls_cert, conf->tls_key, conf->tls_crl,
				    &tls, err, sizeof(err));
		if (rc == CL_OK)
			rc = pki_read_file(conf->tls_cert, PKI_PEM_MAX, &pem, &pem_len);
		if (rc == CL_OK)
			rc = pki_cert_identity(pem, pem_len, peer_id, sizeof(peer_id), peer_role,
					       sizeof(peer_role));
		free(pem);
		if (rc == CL_OK) {
			struct rpc_tls t;

			party_tls_fill(tls, &t);
			rc = sign_key_load(t.key_pem, t.cert_pem, &signer);
		}
		if (rc != CL_OK) {
			fprintf(stderr, "caselink-node %s: %s\n", argv[0],
				*err ? err : cl_strerror(rc));
			goto out;
		}
	} else {
		struct node_store_meta meta;

		rc = node_store_get_meta(store, &meta);
		if (rc != CL_OK)
			goto out;
		snprintf(peer_id, sizeof(peer_id), "%.*s", (int)sizeof(peer_id) - 1,
			 meta.agency_id);
		snprintf(peer_role, sizeof(peer_role), "node");
	}
	rc = party_header_fill(&h, &who, id, purpose, legal_basis, peer_id, peer_role);
	if (rc == CL_OK)
		rc = node_encq_own_nonce(id, sizeof(id), own);
	if (rc != CL_OK)
		goto out;
	q.header = &h;
	q.measure = (char *)(m7 ? "M7" : "M8");
	q.period_from = (char *)CC_HISTORY_FROM; /* all history: episodes chain over all time */
	q.period_to = to;
	q.mode = CASELINK__V1__QUERY_MODE__QUERY_MODE_TOKENS;
	if (m7) {
		/* The subject: this node's own handle of the person for this request only. */
		rc = node_tokens_handle(key, own, pid, handle);
		if (rc != CL_OK)
			goto out;
		for (k = 0; k < sizeof(handle); k++)
			snprintf(subject + 2 * k, 3, "%02x", handle[k]);
		param.key = "subject";
		param.value = subject;
		q.n_parameters = 1;
		q.parameters = params;
	}
	if (signer) {
		rc = sign_request(signer, &q);
		if (rc != CL_OK)
			goto out;
	}
	req_len = caselink__v1__query_request__get_packed_size(&q);
	req = malloc(req_len ? req_len : 1);
	if (!req) {
		rc = CL_ENOMEM;
		goto out;
	}
	caselink__v1__query_request__pack(&q, req);
	memset(&chc, 0, sizeof(chc));
	chc.target = coordinator;
	chc.insecure_demo = conf->insecure_demo;
	party_tls_fill(tls, &chc.tls);
	chc.server_name =
	    conf->insecure_demo || !conf->ncoordinators ? NULL : conf->coordinators[0];
	chc.expected_roles = RPC_ROLE_COORDINATOR;
	memset(&st, 0, sizeof(st));
	rc = rpc_channel_new(&chc, &ch);
	if (rc == CL_OK)
		rc = rpc_call_stream(ch, RPC_METHOD_COORDINATOR_QUERY, req, req_len, CC_DEADLINE_MS,
				     cc_on_message, &ans, NULL, &st);
	if (rc != CL_OK) {
		if (st.message[0])
			fprintf(stderr, "caselink-node %s: refused or failed: %s (%s)\n", argv[0],
				st.message, rpc_code_name(st.code));
		else
			fprintf(stderr, "caselink-node %s: failed: %s\n", argv[0], cl_strerror(rc));
		goto out;
	}
	if (!ans.have_coverage || !ans.complete) {
		fprintf(stderr, "caselink-node %s: incomplete answer from the coordinator\n",
			argv[0]);
		rc = CL_EPROTO;
		goto out;
	}
	if (!m7) {
		rc = cc_resolve(&ans, store, own);
		if (rc != CL_OK) {
			fprintf(stderr,
				"caselink-node alerts: a row names no record of this node: %s\n",
				cl_strerror(rc));
			goto out;
		}
	}
	{
		char title[CC_REF_MAX + 64];

		if (m7)
			snprintf(title, sizeof(title), "case history of %.200s", ref);
		else
			snprintf(title, sizeof(title), "high-risk alerts");
		cc_print(&ans, title, as_of, !strcmp(format, "csv"),
			 m7 && own_restricted && strcmp(legal_basis, "child_protection"));
	}
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(own, sizeof(own));
	sign_header_free(&h);
	sign_key_free(signer);
	free(req);
	rpc_channel_free(ch);
	party_tls_free(tls);
	partyconf_free(conf);
	node_store_close(store);
	cc_answer_free(&ans);
	return rc;
}
