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
#include "node/disclose.h"
#include "node/encode_query.h"
#include "node/store.h"
#include "node/tokens.h"
#include "protocol/client.h"
#include "protocol/pki.h"
#include "protocol/seal.h"

#define CC_DEADLINE_MS	30000
#define CC_MAX_ROWS	(1u << 20)
#define CC_HISTORY_FROM "1900-01-01" /* M7: the whole history */
#define CC_REF_MAX	256

static void cc_usage(void)
{
	fprintf(stderr,
		"usage: caselink-node case-history --data DIR PERSON_REF --purpose CODE\n"
		"         [--legal-basis CODE] [--as-of YYYY-MM-DD] [--coordinator HOST:PORT]\n"
		"         [--config FILE] [--format table|csv|json]\n"
		"       caselink-node alerts --data DIR [--as-of YYYY-MM-DD] [--purpose CODE]\n"
		"         [--legal-basis CODE] [--coordinator HOST:PORT] [--config FILE]\n"
		"         [--format table|csv|json]\n"
		"  --config defaults to DIR/node.yaml (its tls: names the node's certificate;\n"
		"  --coordinator and --legal-basis default to its coordinator_address and\n"
		"  legal_basis; the coordinator's certificate name is its first coordinators:);\n"
		"  --legal-basis child_protection also shows records an agency restricted\n"
		"  --format json: the shape of `caselink query --format json` (measure M7 or M8,\n"
		"  period [1900-01-01, as-of + 1 day), columns, rows, coverage), with\n"
		"  coverage.omitted_records and, for case-history, own_record_restricted\n");
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
/* node_tokens_resolve_many's callback: row i's handle belongs to person_ref ref. */
struct cc_resolved {
	struct client_answer *a;
	unsigned char *seen;
};

static int cc_found(void *ud, size_t i, const char *ref)
{
	struct cc_resolved *r = ud;
	int rc = client_answer_set_cell(r->a, i, 0, ref);

	if (rc == CL_OK)
		r->seen[i] = 1;
	return rc;
}

static int cc_resolve(struct client_answer *a, struct node_store *s,
		      const uint8_t own[ENC_NONCE_LEN])
{
	uint8_t(*h)[NODE_TOKENS_HANDLE_LEN] = NULL;
	struct cc_resolved r = {a, NULL};
	size_t i, n = client_answer_nrows(a);
	int rc = CL_OK;

	if (client_answer_ncols(a) < 1 || strcmp(client_answer_col(a, 0), "handle"))
		return n ? CL_EPROTO : CL_OK;
	/* one pass over this node's persons for all rows, not one per row */
	h = n ? calloc(n, sizeof(*h)) : NULL;
	r.seen = n ? calloc(n, 1) : NULL;
	if (n && (!h || !r.seen))
		rc = CL_ENOMEM;
	for (i = 0; rc == CL_OK && i < n; i++)
		rc = cc_unhex16(client_answer_cell(a, i, 0), h[i]);
	if (rc == CL_OK)
		rc = node_tokens_resolve_many(s, own, (const uint8_t(*)[NODE_TOKENS_HANDLE_LEN])h,
					      n, cc_found, &r);
	for (i = 0; rc == CL_OK && i < n; i++)
		if (!r.seen[i])
			rc = CL_ENOTFOUND; /* a row that is not this node's own */
	if (rc == CL_OK)
		rc = client_answer_set_col(a, 0, "person_ref");
	free(h);
	free(r.seen);
	return rc;
}

/* ---- M7: the rows arrive sealed by their holders (docs/privacy.md "Case answers") ---- */

/* One row of the history before it is numbered: its 8 cells and where it came from. */
struct cc_row {
	char *const *cells; /* occurred_at, agency_type, agency_id, municipality, ... */
	size_t src, idx;    /* the box (0: this node's own records) and the row in it */
};

static int cc_row_cmp(const void *x, const void *y)
{
	const struct cc_row *a = x, *b = y;
	int k = strcmp(a->cells[0], b->cells[0]); /* YYYY-MM-DDTHH:MM:SSZ sorts as time */

	if (k)
		return k;
	k = strcmp(a->cells[2], b->cells[2]);
	if (k)
		return k;
	if (a->src != b->src)
		return a->src < b->src ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

struct cc_own {
	char (*refs)[CC_REF_MAX];
	unsigned char *seen;
};

static int cc_own_found(void *ud, size_t i, const char *ref)
{
	struct cc_own *o = ud;

	if (strlen(ref) >= CC_REF_MAX)
		return CL_ELIMIT;
	memcpy(o->refs[i], ref, strlen(ref) + 1);
	o->seen[i] = 1;
	return CL_OK;
}

/* This node's own linked records' rows, read from its store (the handles in the answer's order). */
static int cc_own_rows(const Caselink__V1__CaseRows *cr, struct node_store *s,
		       const struct node_store_meta *meta, const uint8_t own[ENC_NONCE_LEN],
		       int64_t as_of_end, Caselink__V1__RowBatch *rb, size_t *cap)
{
	uint8_t(*h)[NODE_TOKENS_HANDLE_LEN] = NULL;
	struct cc_own o = {NULL, NULL};
	size_t i, n = cr->n_own_handles;
	int rc = CL_OK;

	if (!n)
		return CL_OK;
	h = calloc(n, sizeof(*h));
	o.refs = calloc(n, sizeof(*o.refs));
	o.seen = calloc(n, 1);
	if (!h || !o.refs || !o.seen)
		rc = CL_ENOMEM;
	for (i = 0; rc == CL_OK && i < n; i++) {
		if (cr->own_handles[i].len != NODE_TOKENS_HANDLE_LEN)
			rc = CL_EPROTO;
		else
			memcpy(h[i], cr->own_handles[i].data, NODE_TOKENS_HANDLE_LEN);
	}
	if (rc == CL_OK)
		rc = node_tokens_resolve_many(s, own, (const uint8_t(*)[NODE_TOKENS_HANDLE_LEN])h,
					      n, cc_own_found, &o);
	for (i = 0; rc == CL_OK && i < n; i++)
		rc = o.seen[i] ? node_disclose_record_rows(s, meta, o.refs[i], as_of_end, rb, cap)
			       : CL_ENOTFOUND; /* a handle that is not this node's own */
	if (o.refs)
		OPENSSL_cleanse(o.refs, n * sizeof(*o.refs));
	free(o.refs);
	free(o.seen);
	free(h);
	return rc;
}

/*
 * Opens one holder's box (sealed to this node's key; plain in an insecure demo) into a
 * RowBatch whose every row is 8 cells of that holder's own agency.
 */
static int cc_open_box(const Caselink__V1__CaseSealed *cs, const char *key_pem,
		       const ProtobufCBinaryData *request_id, Caselink__V1__RowBatch **out)
{
	uint8_t aad[512], *msg = NULL;
	size_t aad_len, len = 0, i;
	Caselink__V1__RowBatch *rb = NULL;
	int rc = CL_OK;

	aad_len =
	    node_disclose_aad(request_id->data, request_id->len, cs->node_id, aad, sizeof(aad));
	if (!aad_len)
		return CL_EPROTO;
	if (key_pem)
		rc = seal_open(key_pem, aad, aad_len, cs->box.data, cs->box.len, &msg, &len);
	if (rc != CL_OK)
		return rc;
	rb = caselink__v1__row_batch__unpack(NULL, key_pem ? len : cs->box.len,
					     key_pem ? msg : cs->box.data);
	if (msg)
		seal_free(msg, len);
	if (!rb || rb->n_key_columns != NODE_DISCLOSE_ROW_COLS)
		rc = CL_EPROTO;
	for (i = 0; rc == CL_OK && i < rb->n_rows; i++)
		if (rb->rows[i]->n_keys != NODE_DISCLOSE_ROW_COLS ||
		    strcmp(rb->rows[i]->keys[2], cs->node_id))
			rc = CL_EPROTO; /* a holder speaks for its own agency only */
	if (rc != CL_OK) {
		if (rb)
			caselink__v1__row_batch__free_unpacked(rb, NULL);
		return rc;
	}
	*out = rb;
	return CL_OK;
}

/*
 * Builds the history: this node's own linked records and every holder's opened box, ordered
 * as the coordinator's engine orders them (time, agency id, record, event), numbered from 1.
 */
static int cc_history(struct client_answer *a, struct node_store *s,
		      const struct node_store_meta *meta, const uint8_t own[ENC_NONCE_LEN],
		      const char *key_pem, const ProtobufCBinaryData *request_id, int64_t as_of_end)
{
	const Caselink__V1__CaseRows *cr = client_answer_case_rows(a);
	Caselink__V1__RowBatch mine = CASELINK__V1__ROW_BATCH__INIT, **boxes = NULL;
	struct cc_row *rows = NULL;
	size_t cap = 0, nb = 0, n = 0, i, k, total;
	int rc;

	if (!cr || client_answer_nrows(a) || client_answer_ncols(a) != NODE_DISCLOSE_ROW_COLS + 1)
		return CL_EPROTO;
	rc = cc_own_rows(cr, s, meta, own, as_of_end, &mine, &cap);
	boxes = calloc(cr->n_sealed ? cr->n_sealed : 1, sizeof(*boxes));
	if (rc == CL_OK && !boxes)
		rc = CL_ENOMEM;
	for (nb = 0; rc == CL_OK && nb < cr->n_sealed; nb++)
		rc = cc_open_box(cr->sealed[nb], key_pem, request_id, &boxes[nb]);
	total = mine.n_rows;
	for (i = 0; rc == CL_OK && i < nb; i++)
		total += boxes[i]->n_rows;
	if (rc == CL_OK && total > CC_MAX_ROWS)
		rc = CL_ELIMIT;
	rows = rc == CL_OK ? calloc(total ? total : 1, sizeof(*rows)) : NULL;
	if (rc == CL_OK && !rows)
		rc = CL_ENOMEM;
	for (i = 0; rc == CL_OK && i <= nb; i++) {
		const Caselink__V1__RowBatch *b = i ? boxes[i - 1] : &mine;

		for (k = 0; k < b->n_rows; k++, n++) {
			rows[n].cells = b->rows[k]->keys;
			rows[n].src = i;
			rows[n].idx = k;
		}
	}
	if (rc == CL_OK)
		qsort(rows, n, sizeof(*rows), cc_row_cmp);
	for (i = 0; rc == CL_OK && i < n; i++) {
		const char *cells[NODE_DISCLOSE_ROW_COLS + 1];
		char seq[24];

		snprintf(seq, sizeof(seq), "%zu", i + 1);
		cells[0] = seq;
		for (k = 0; k < NODE_DISCLOSE_ROW_COLS; k++)
			cells[k + 1] = rows[i].cells[k];
		rc = client_answer_add_row(a, cells, NODE_DISCLOSE_ROW_COLS + 1);
	}
	free(rows);
	for (i = 0; boxes && i < nb; i++)
		if (boxes[i])
			caselink__v1__row_batch__free_unpacked(boxes[i], NULL);
	free(boxes);
	node_disclose_rows_free(&mine);
	return rc;
}

/* The answer's heading (title, coverage, what was left out), then table or CSV. */
static void cc_print(const struct client_answer *a, const char *title, const char *as_of, int csv,
		     int own_restricted)
{
	const char *pre = csv ? "# " : "";
	unsigned omitted = client_answer_coverage(a)->omitted;

	printf("%s%s, as of %s\n", pre, title, as_of);
	client_print_coverage(stdout, pre, a);
	if (own_restricted)
		printf("%sthis agency restricted the record: it is absent from the federation's "
		       "answer (legal basis child_protection shows it)\n",
		       pre);
	const struct client_coverage *cov = client_answer_coverage(a);
	unsigned withheld = 0;
	size_t k;

	for (k = 0; k < cov->nwithheld; k++)
		withheld += cov->withheld[k].records;
	if (omitted)
		printf("%sleft out: %u restricted record(s) of other agencies or of this one "
		       "(legal basis child_protection shows them)\n",
		       pre, omitted);
	if (withheld)
		printf("%sleft out: %u linked record(s) of other agencies, withheld under their "
		       "own policies (see coverage)\n",
		       pre, withheld);
	if (!omitted && !withheld)
		printf("%sleft out: nothing\n", pre);
	if (csv) {
		client_print_csv(stdout, a);
		return;
	}
	putchar('\n');
	client_print_table(stdout, a, 0);
	printf("\n%zu row(s)\n", client_answer_nrows(a));
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
	char cfg[PARTYCONF_MAX_PATH], err[512] = "", to[11], today[11], prog[64];
	char subject[2 * NODE_TOKENS_HANDLE_LEN + 1];
	Caselink__V1__QueryRequest q = CASELINK__V1__QUERY_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	Caselink__V1__QueryRequest__ParametersEntry param =
	    CASELINK__V1__QUERY_REQUEST__PARAMETERS_ENTRY__INIT;
	Caselink__V1__QueryRequest__ParametersEntry *params[1] = {&param};
	struct client_answer *ans = NULL;
	char *key_pem = NULL;
	struct client_conn *conn = NULL;
	struct client_config cc;
	struct node_store_meta meta;
	struct partyconf *conf = NULL;
	struct node_store *store = NULL;
	uint8_t id[PARTY_REQUEST_ID_LEN], own[ENC_NONCE_LEN], key[NODE_TOKENS_KEY_LEN],
	    handle[NODE_TOKENS_HANDLE_LEN];
	size_t k;
	int64_t pid = 0;
	time_t now = time(NULL);
	struct tm tm;

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
	    (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json"))) {
		cc_usage();
		return CL_EUSAGE;
	}
	snprintf(prog, sizeof(prog), "caselink-node %s", m7 ? "case-history" : "alerts");
	gmtime_r(&now, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	if (!as_of)
		as_of = today;
	if (cc_next_day(as_of, to) != CL_OK) {
		fprintf(stderr, "%s: --as-of must be YYYY-MM-DD\n", prog);
		return CL_EUSAGE;
	}
	if (!config) {
		if (snprintf(cfg, sizeof(cfg), "%s/node.yaml", data) >= (int)sizeof(cfg))
			return CL_EUSAGE;
		config = cfg;
	}
	rc = partyconf_load(config, PARTYCONF_NODE, &conf, err, sizeof(err));
	if (rc != CL_OK) {
		fprintf(stderr, "%s: %s\n", prog, *err ? err : cl_strerror(rc));
		return rc;
	}
	if (!coordinator && conf->coordinator_address[0])
		coordinator = conf->coordinator_address;
	if (!legal_basis && conf->legal_basis[0])
		legal_basis = conf->legal_basis;
	if (!coordinator || !legal_basis) {
		fprintf(stderr, "%s: no %s (give %s or set %s in %s)\n", prog,
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
		fprintf(stderr, "%s: store %s: %s%s\n", prog, data, cl_strerror(rc),
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
	/* In a plaintext demo the requester is this node's agency, unsigned. */
	memset(&cc, 0, sizeof(cc));
	cc.target = coordinator;
	cc.insecure_demo = conf->insecure_demo;
	cc.ca = conf->tls_ca;
	cc.cert = conf->tls_cert;
	cc.key = conf->tls_key;
	cc.crl = conf->tls_crl;
	cc.server_name = conf->ncoordinators ? conf->coordinators[0] : NULL;
	if (conf->insecure_demo) {
		rc = node_store_get_meta(store, &meta);
		if (rc != CL_OK)
			goto out;
		cc.demo_id = meta.agency_id;
		cc.demo_role = "node";
	}
	rc = client_connect(&cc, &conn, err, sizeof(err));
	if (rc != CL_OK) {
		fprintf(stderr, "%s: %s\n", prog, *err ? err : cl_strerror(rc));
		goto out;
	}
	rc = client_request_init(conn, &q, &h, &who, id, purpose, legal_basis);
	if (rc == CL_OK)
		rc = node_encq_own_nonce(id, sizeof(id), own);
	if (rc != CL_OK)
		goto out;
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
	rc = client_call(conn, &q, CC_DEADLINE_MS, 0, CC_MAX_ROWS, prog, &ans);
	if (rc != CL_OK)
		goto out;
	if (m7) {
		int64_t as_of_end = 0;
		size_t klen = 0;

		rc = cldate_parse_time(to, &as_of_end, NULL);
		if (rc == CL_OK)
			rc = node_store_get_meta(store, &meta);
		if (rc == CL_OK && !conf->insecure_demo)
			rc = pki_read_file(conf->tls_key, PKI_PEM_MAX, &key_pem, &klen);
		if (rc == CL_OK)
			rc = cc_history(ans, store, &meta, own, key_pem, &h.request_id, as_of_end);
		if (rc != CL_OK) {
			fprintf(stderr,
				"caselink-node case-history: the holders' rows cannot be opened: "
				"%s\n",
				cl_strerror(rc));
			goto out;
		}
	}
	if (!m7) {
		rc = cc_resolve(ans, store, own);
		if (rc != CL_OK) {
			fprintf(stderr,
				"caselink-node alerts: a row names no record of this node: %s\n",
				cl_strerror(rc));
			goto out;
		}
	}
	own_restricted = m7 && own_restricted && strcmp(legal_basis, "child_protection");
	if (!strcmp(format, "json")) {
		rc = client_print_json(stdout, ans, q.measure, CC_HISTORY_FROM, to,
				       CLIENT_JSON_OMITTED | (m7 ? CLIENT_JSON_OWN : 0) |
					   (own_restricted ? CLIENT_JSON_OWN_RESTRICTED : 0));
	} else {
		char title[CC_REF_MAX + 64];

		if (m7)
			snprintf(title, sizeof(title), "case history of %.200s", ref);
		else
			snprintf(title, sizeof(title), "high-risk alerts");
		cc_print(ans, title, as_of, !strcmp(format, "csv"), own_restricted);
	}
out:
	if (key_pem)
		OPENSSL_cleanse(key_pem, strlen(key_pem));
	free(key_pem);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(own, sizeof(own));
	OPENSSL_cleanse(handle, sizeof(handle));
	OPENSSL_cleanse(subject, sizeof(subject));
	client_answer_free(ans);
	client_close(conn);
	partyconf_free(conf);
	node_store_close(store);
	return rc;
}
