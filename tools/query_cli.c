/*
 * caselink query — asks the coordinator for a measure and prints the answer
 * with its coverage as a table, CSV or JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cl_error.h"
#include "protocol/party.h"
#include "protocol/pki.h"
#include "protocol/rpc.h"
#include "protocol/sign.h"
#include "tools/cli.h"

#define QUERY_MAX_BY	   5
#define QUERY_DEADLINE_MS  30000
#define QUERY_MAX_ROWS	   (1u << 20)
#define QUERY_MAX_FAILURES 4096

struct query_failure {
	char node[RPC_PEER_ID_MAX];
	char reason[RPC_STATUS_MSG_MAX + 32];
};

#define QUERY_MAX_COLS 16

/*
 * An answer as the coordinator streamed it: column names, which of them are
 * numeric values (aligned right, summed when there is one), and the cells
 * as text — counts, rates with their fixed decimals, or "NA".
 */
struct query_answer {
	size_t ncols;
	char *cols[QUERY_MAX_COLS];
	int numeric[QUERY_MAX_COLS];
	size_t nvalue_cols; /* how many of the columns are counts sent as values */
	char **cells;	    /* nrows * ncols */
	size_t nrows, cap;
	int have_coverage, complete;
	unsigned asked, answered;
	size_t nfailed;
	struct query_failure *failed;
	/* Disclosure control the coordinator released the answer under (Coverage.disclosure). */
	int have_disclosure, noisy, noise_col;
	long long threshold, rounding;
	char mechanism[32], budget_period[32], definitions[64];
	double epsilon, noise_scale, budget, remaining;
	unsigned suppressed_cells, suppressed_derived;
	size_t nsuppressed; /* cells marked suppressed in the rows */
};

/* How every format marks a withheld cell (JSON: {"value": null, "suppressed": true}). */
#define QUERY_SUPPRESSED "suppressed"
#define QUERY_MAX_NODES	 64 /* ids in --nodes */

static void query_usage(void)
{
	fprintf(
	    stderr,
	    "usage: caselink query MEASURE --from YYYY-MM-DD --to YYYY-MM-DD [--by LIST]\n"
	    "         [--format table|csv|json] --coordinator HOST:PORT\n"
	    "         (--tls-dir DIR --name ID | --ca FILE --cert FILE --key FILE | "
	    "--insecure-demo)\n"
	    "         [--purpose CODE] [--legal-basis CODE] [--nodes ID,ID,...]\n"
	    "  measures: incident_events (--by municipality,agency_type,quarter|month|year)\n"
	    "            M1..M6 or incident_counts, repeat_victimisation, referral_timeliness,\n"
	    "            service_uptake, programme_outcomes, children_affected (M1: --by\n"
	    "            quarter|month|year)\n"
	    "  the period is half-open: [from, to)\n"
	    "  --nodes: ask only these nodes of the federation (the others are reported as\n"
	    "           not_requested in the coverage)\n");
}

/* Takes the column names of the first row batch; later batches must agree. */
static int query_columns(struct query_answer *a, const Caselink__V1__RowBatch *b)
{
	size_t k, n = b->n_key_columns + b->n_value_columns;

	if (n == 0 || n + 1 > QUERY_MAX_COLS)
		return 1;
	if (a->ncols)
		return a->ncols == n + (size_t)a->noise_col && a->nvalue_cols == b->n_value_columns
			   ? 0
			   : 1;
	for (k = 0; k < n; k++) {
		const char *name = k < b->n_key_columns ? b->key_columns[k]
							: b->value_columns[k - b->n_key_columns];

		a->cols[k] = strdup(name);
		if (!a->cols[k])
			return 1;
		a->numeric[k] = k >= b->n_key_columns || !strcmp(name, "value");
	}
	a->ncols = n;
	a->nvalue_cols = b->n_value_columns;
	if (a->noisy && b->n_value_columns) {
		/* Under DP every row states the noise scale of its value. */
		a->noise_col = 1;
		a->cols[n] = strdup("noise_scale");
		if (!a->cols[n])
			return 1;
		a->numeric[n] = 1;
		a->ncols = n + 1;
	}
	return 0;
}

static char *query_value_text(const Caselink__V1__Value *v)
{
	char buf[64];

	if (v->suppressed)
		snprintf(buf, sizeof(buf), QUERY_SUPPRESSED);
	else if (v->value_case == CASELINK__V1__VALUE__VALUE_COUNT)
		snprintf(buf, sizeof(buf), "%lld", (long long)v->count);
	else if (v->value_case == CASELINK__V1__VALUE__VALUE_REAL &&
		 v->real == (long long)v->real && v->real > -1e15 && v->real < 1e15)
		snprintf(buf, sizeof(buf), "%lld", (long long)v->real); /* a median in seconds */
	else if (v->value_case == CASELINK__V1__VALUE__VALUE_REAL)
		snprintf(buf, sizeof(buf), "%.6f", v->real);
	else
		snprintf(buf, sizeof(buf), "NA");
	return strdup(buf);
}

static int query_on_message(const uint8_t *msg, size_t len, void *user)
{
	struct query_answer *a = user;
	Caselink__V1__QueryResponse *r = caselink__v1__query_response__unpack(NULL, len, msg);
	size_t i, k;
	int rc = 0;

	if (!r)
		return 1;
	if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_COVERAGE) {
		Caselink__V1__Coverage *c = r->coverage;

		a->have_coverage = 1;
		a->asked = c->nodes_asked;
		a->answered = c->nodes_answered;
		if (c->n_failed > QUERY_MAX_FAILURES || a->failed) {
			rc = 1;
			goto out;
		}
		a->failed = calloc(c->n_failed ? c->n_failed : 1, sizeof(*a->failed));
		if (!a->failed) {
			rc = 1;
			goto out;
		}
		for (i = 0; i < c->n_failed; i++) {
			snprintf(a->failed[i].node, sizeof(a->failed[i].node), "%s",
				 c->failed[i]->node_id);
			snprintf(a->failed[i].reason, sizeof(a->failed[i].reason), "%s",
				 c->failed[i]->reason);
		}
		a->nfailed = c->n_failed;
		if (c->disclosure) {
			const Caselink__V1__Disclosure *d = c->disclosure;

			a->have_disclosure = 1;
			a->threshold = d->threshold;
			a->rounding = d->rounding;
			snprintf(a->mechanism, sizeof(a->mechanism), "%s", d->mechanism);
			snprintf(a->budget_period, sizeof(a->budget_period), "%s",
				 d->budget_period);
			snprintf(a->definitions, sizeof(a->definitions), "%s",
				 d->definitions_version);
			a->epsilon = d->epsilon;
			a->noise_scale = d->noise_scale;
			a->budget = d->budget;
			a->remaining = d->budget_remaining;
			a->suppressed_cells = d->suppressed_cells;
			a->suppressed_derived = d->suppressed_derived;
			a->noisy = strcmp(d->mechanism, "none") && d->mechanism[0];
		}
	} else if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_ROWS) {
		Caselink__V1__RowBatch *b = r->rows;

		if (query_columns(a, b)) {
			rc = 1;
			goto out;
		}
		for (i = 0; i < b->n_rows; i++) {
			Caselink__V1__Row *row = b->rows[i];
			size_t nk = a->ncols - a->nvalue_cols;

			nk = a->ncols - a->nvalue_cols - (size_t)a->noise_col;
			if (row->n_keys != nk || row->n_values != a->nvalue_cols ||
			    a->nrows >= QUERY_MAX_ROWS) {
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
				char *t, ns[32];

				if (k < nk) {
					t = strdup(row->keys[k]);
				} else if (k - nk < a->nvalue_cols) {
					t = query_value_text(row->values[k - nk]);
					a->nsuppressed += row->values[k - nk]->suppressed ? 1 : 0;
				} else {
					/* noise_scale: that of the row's (last) value */
					const Caselink__V1__Value *v =
					    row->values[a->nvalue_cols - 1];

					snprintf(ns, sizeof(ns), "%g", v->noise_scale);
					t = strdup(v->suppressed ? "" : ns);
				}
				a->cells[a->nrows * a->ncols + k] = t;
				if (!t)
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

static void query_answer_free(struct query_answer *a)
{
	size_t i;

	for (i = 0; i < a->nrows * a->ncols; i++)
		free(a->cells[i]);
	for (i = 0; i < a->ncols; i++)
		free(a->cols[i]);
	free(a->cells);
	free(a->failed);
}

/* The definitions and disclosure settings every output states (table, CSV comments). */
/* Wire Disclosure.epsilon/budget/budget_remaining hold ρ (zCDP) for the discrete Gaussian. */
static const char *query_unit(const struct query_answer *a)
{
	return strcmp(a->mechanism, "discrete_gaussian") ? "epsilon" : "rho";
}

static void query_print_release(FILE *f, const char *prefix, const struct query_answer *a)
{
	char rounding[48] = "none";

	if (!a->have_disclosure) {
		fprintf(f, "%sdisclosure: not stated by the coordinator\n", prefix);
		return;
	}
	fprintf(f, "%sdefinitions: %s\n", prefix, a->definitions);
	if (a->rounding > 1)
		snprintf(rounding, sizeof(rounding), "to multiples of %lld", a->rounding);
	fprintf(f,
		"%sdisclosure: threshold %lld, rounding %s; suppressed: %u counts, %u derived "
		"values (marked \"" QUERY_SUPPRESSED "\")\n",
		prefix, a->threshold, rounding, a->suppressed_cells, a->suppressed_derived);
	if (a->noisy)
		fprintf(f,
			"%snoise: %s, scale %g per count (%s %g charged; %g of %g left in "
			"budget period %s)\n",
			prefix, a->mechanism, a->noise_scale, query_unit(a), a->epsilon,
			a->remaining, a->budget, a->budget_period);
	else
		fprintf(f, "%snoise: none\n", prefix);
}

static void query_print_coverage(FILE *f, const char *prefix, const struct query_answer *a)
{
	size_t i;

	fprintf(f, "%scoverage: %u of %u nodes answered\n", prefix, a->answered, a->asked);
	for (i = 0; i < a->nfailed; i++)
		fprintf(f, "%s  failed: %s (%s)\n", prefix, a->failed[i].node, a->failed[i].reason);
}

/* Display width of UTF-8 text: one column per code point (no wide scripts here). */
static size_t query_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void query_cell(const char *s, size_t width, int right, int last)
{
	size_t w = query_width(s);

	if (right)
		for (; w < width; w++)
			putchar(' ');
	fputs(s, stdout);
	if (!right && !last)
		for (; w < width; w++)
			putchar(' ');
	fputs(last ? "\n" : "  ", stdout);
}

static void query_print_table(const struct query_answer *a, const char *measure, const char *from,
			      const char *to)
{
	size_t w[QUERY_MAX_COLS], i, k, last = a->ncols - 1;
	int64_t total = 0;

	printf("%s, period [%s, %s)\n", measure, from, to);
	query_print_release(stdout, "", a);
	printf("\n");
	for (k = 0; k < a->ncols; k++) {
		w[k] = query_width(a->cols[k]);
		for (i = 0; i < a->nrows; i++) {
			size_t l = query_width(a->cells[i * a->ncols + k]);

			if (l > w[k])
				w[k] = l;
		}
	}
	for (k = 0; k < a->ncols; k++)
		query_cell(a->cols[k], w[k], a->numeric[k], k == last);
	for (i = 0; i < a->nrows; i++) {
		for (k = 0; k < a->ncols; k++)
			query_cell(a->cells[i * a->ncols + k], w[k], a->numeric[k], k == last);
		if (a->nvalue_cols == 1)
			total += strtoll(a->cells[i * a->ncols + last], NULL, 10);
	}
	/*
	 * One count column (incident_events): its total, only when every cell is exact and
	 * published. Linked measures carry their own.
	 */
	if (a->nvalue_cols == 1 && a->ncols > 1 && !a->nsuppressed && !a->noisy) {
		char t[32];

		snprintf(t, sizeof(t), "%lld", (long long)total);
		for (k = 0; k < a->ncols; k++)
			query_cell(k == 0      ? "total"
				   : k == last ? t
					       : "",
				   w[k], a->numeric[k], k == last);
	}
	printf("\n");
	query_print_coverage(stdout, "", a);
}

/* One CSV field, quoted when it holds a comma, quote or line break (RFC 4180). */
static void query_csv_field(const char *s)
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

static void query_print_csv(const struct query_answer *a, const char *measure, const char *from,
			    const char *to)
{
	size_t i, k;

	printf("# %s, period [%s, %s)\n", measure, from, to);
	query_print_release(stdout, "# ", a);
	query_print_coverage(stdout, "# ", a);
	for (k = 0; k < a->ncols; k++) {
		query_csv_field(a->cols[k]);
		putchar(k + 1 < a->ncols ? ',' : '\n');
	}
	for (i = 0; i < a->nrows; i++)
		for (k = 0; k < a->ncols; k++) {
			query_csv_field(a->cells[i * a->ncols + k]);
			putchar(k + 1 < a->ncols ? ',' : '\n');
		}
}

/* A cell as JSON: integers as numbers, everything else (rates, "NA", keys) as text. */
static json_t *query_json_cell(const char *s, int numeric)
{
	char *end = NULL;
	long long v;

	if (numeric && !strcmp(s, QUERY_SUPPRESSED))
		return json_pack("{s:n, s:b}", "value", "suppressed", 1);
	if (numeric && *s && strchr(s, '.')) {
		double x = strtod(s, &end);

		if (end && !*end)
			return json_real(x);
	}
	if (numeric && *s) {
		v = strtoll(s, &end, 10);
		if (end && !*end)
			return json_integer((json_int_t)v);
	}
	return json_string(s);
}

static int query_print_json(const struct query_answer *a, const char *measure, const char *from,
			    const char *to)
{
	json_t *root = json_object(), *rows = json_array(), *cols = json_array(),
	       *cov = json_object(), *failed = json_array();
	size_t i, k;
	int rc = CL_ENOMEM;

	if (!root || !rows || !cols || !cov || !failed)
		goto out;
	json_object_set_new(root, "measure", json_string(measure));
	json_object_set_new(root, "period",
			    json_pack("{s:s, s:s, s:s}", "from", from, "to", to, "bounds", "[)"));
	for (k = 0; k < a->ncols; k++)
		json_array_append_new(cols, json_string(a->cols[k]));
	for (i = 0; i < a->nrows; i++) {
		json_t *row = json_array();

		for (k = 0; k < a->ncols; k++)
			json_array_append_new(
			    row, query_json_cell(a->cells[i * a->ncols + k], a->numeric[k]));
		json_array_append_new(rows, row);
	}
	for (i = 0; i < a->nfailed; i++)
		json_array_append_new(failed, json_pack("{s:s, s:s}", "node", a->failed[i].node,
							"reason", a->failed[i].reason));
	json_object_set_new(root, "definitions_version",
			    a->have_disclosure ? json_string(a->definitions) : json_null());
	if (a->have_disclosure)
		json_object_set_new(
		    root, "disclosure",
		    json_pack("{s:I, s:I, s:s, s:s, s:f, s:f, s:s, s:f, s:f, s:I, s:I, s:s}",
			      "threshold", (json_int_t)a->threshold, "rounding",
			      (json_int_t)a->rounding, "mechanism", a->mechanism, "budget_unit",
			      query_unit(a), "epsilon", a->epsilon, "noise_scale", a->noise_scale,
			      "budget_period", a->budget_period, "budget", a->budget,
			      "budget_remaining", a->remaining, "suppressed_cells",
			      (json_int_t)a->suppressed_cells, "suppressed_derived",
			      (json_int_t)a->suppressed_derived, "suppressed_marker",
			      "{\"value\": null, \"suppressed\": true}"));
	json_object_set_new(cov, "nodes_asked", json_integer(a->asked));
	json_object_set_new(cov, "nodes_answered", json_integer(a->answered));
	json_object_set_new(cov, "failed", failed);
	failed = NULL;
	json_object_set_new(root, "columns", cols);
	cols = NULL;
	json_object_set_new(root, "rows", rows);
	rows = NULL;
	json_object_set_new(root, "coverage", cov);
	cov = NULL;
	if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII) == 0) {
		putchar('\n');
		rc = CL_OK;
	} else {
		rc = CL_EIO;
	}
out:
	json_decref(root);
	json_decref(rows);
	json_decref(cols);
	json_decref(cov);
	json_decref(failed);
	return rc;
}

static int query_split_list(char *list, char **out, size_t max, size_t *n)
{
	char *save = NULL, *tok;

	*n = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n == max)
			return CL_EUSAGE;
		out[(*n)++] = tok;
	}
	return CL_OK;
}

static int query_split_by(char *list, char **out, size_t *n)
{
	return query_split_list(list, out, QUERY_MAX_BY, n);
}

int query_main(int argc, char **argv)
{
	const char *measure = NULL, *from = NULL, *to = NULL, *format = "table",
		   *coordinator = NULL, *tls_dir = NULL, *name = NULL, *ca = NULL, *cert = NULL,
		   *key = NULL, *purpose = "monitoring", *legal_basis = "statistics";
	char *by = NULL, *group_by[QUERY_MAX_BY], path[3][1024], err[512] = "";
	char *nodes_arg = NULL, *nodes[QUERY_MAX_NODES];
	char peer_id[RPC_PEER_ID_MAX] = "", peer_role[RPC_PEER_ROLE_MAX] = "";
	Caselink__V1__QueryRequest q = CASELINK__V1__QUERY_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	struct query_answer ans;
	struct party_tls *tls = NULL;
	struct sign_key *signer = NULL;
	struct rpc_channel *ch = NULL;
	struct rpc_channel_config cc;
	struct rpc_status st;
	uint8_t id[PARTY_REQUEST_ID_LEN], *req = NULL;
	size_t nby = 0, nnodes = 0, req_len;
	int insecure = 0, i, rc;

	memset(&ans, 0, sizeof(ans));
	for (i = 1; i < argc; i++) {
		const char **opt = NULL;

		if (!strcmp(argv[i], "--insecure-demo")) {
			insecure = 1;
			continue;
		}
		if (argv[i][0] != '-' && !measure) {
			measure = argv[i];
			continue;
		}
		if (!strcmp(argv[i], "--from"))
			opt = &from;
		else if (!strcmp(argv[i], "--to"))
			opt = &to;
		else if (!strcmp(argv[i], "--format"))
			opt = &format;
		else if (!strcmp(argv[i], "--coordinator"))
			opt = &coordinator;
		else if (!strcmp(argv[i], "--tls-dir"))
			opt = &tls_dir;
		else if (!strcmp(argv[i], "--name"))
			opt = &name;
		else if (!strcmp(argv[i], "--ca"))
			opt = &ca;
		else if (!strcmp(argv[i], "--cert"))
			opt = &cert;
		else if (!strcmp(argv[i], "--key"))
			opt = &key;
		else if (!strcmp(argv[i], "--purpose"))
			opt = &purpose;
		else if (!strcmp(argv[i], "--legal-basis"))
			opt = &legal_basis;
		if (!strcmp(argv[i], "--by") && i + 1 < argc) {
			by = argv[++i];
			continue;
		}
		if (!strcmp(argv[i], "--nodes") && i + 1 < argc) {
			nodes_arg = argv[++i];
			continue;
		}
		if (!opt || i + 1 >= argc) {
			fprintf(stderr, "caselink query: unknown or incomplete option '%.40s'\n",
				argv[i]);
			query_usage();
			return 2;
		}
		*opt = argv[++i];
	}
	if (!measure || !from || !to || !coordinator ||
	    (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json"))) {
		query_usage();
		return 2;
	}
	if (by && query_split_by(by, group_by, &nby) != CL_OK) {
		fprintf(stderr, "caselink query: at most %d groupings\n", QUERY_MAX_BY);
		return 2;
	}
	if (nodes_arg && (query_split_list(nodes_arg, nodes, QUERY_MAX_NODES, &nnodes) != CL_OK ||
			  nnodes == 0)) {
		fprintf(stderr, "caselink query: --nodes takes 1..%d node ids\n", QUERY_MAX_NODES);
		return 2;
	}
	if (!insecure) {
		if (tls_dir && name) {
			snprintf(path[0], sizeof(path[0]), "%s/ca.pem", tls_dir);
			snprintf(path[1], sizeof(path[1]), "%s/%s.pem", tls_dir, name);
			snprintf(path[2], sizeof(path[2]), "%s/%s.key", tls_dir, name);
			ca = path[0];
			cert = path[1];
			key = path[2];
		}
		if (!ca || !cert || !key) {
			fprintf(stderr,
				"caselink query: give --tls-dir and --name, or --ca, --cert "
				"and --key (or --insecure-demo for a plaintext demo)\n");
			return 2;
		}
		rc = party_tls_load(ca, cert, key, NULL, &tls, err, sizeof(err));
		if (rc == CL_OK) {
			char *pem = NULL;
			size_t pem_len = 0;

			rc = pki_read_file(cert, PKI_PEM_MAX, &pem, &pem_len);
			if (rc == CL_OK)
				rc = pki_cert_identity(pem, pem_len, peer_id, sizeof(peer_id),
						       peer_role, sizeof(peer_role));
			free(pem);
		}
		if (rc == CL_OK) {
			struct rpc_tls pem;

			party_tls_fill(tls, &pem);
			rc = sign_key_load(pem.key_pem, pem.cert_pem, &signer);
		}
		if (rc != CL_OK) {
			fprintf(stderr, "caselink query: %s\n", *err ? err : cl_strerror(rc));
			party_tls_free(tls);
			return 2;
		}
	}
	rc = party_header_fill(&h, &who, id, purpose, legal_basis, peer_id, peer_role);
	if (rc != CL_OK)
		goto out;
	q.header = &h;
	q.measure = (char *)measure;
	q.period_from = (char *)from;
	q.period_to = (char *)to;
	q.n_group_by = nby;
	q.group_by = group_by;
	q.n_nodes = nnodes;
	q.nodes = nodes;
	q.mode = CASELINK__V1__QUERY_MODE__QUERY_MODE_AGGREGATE;
	/* The request is signed by its requester: nodes verify it whatever the coordinator says. */
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
	memset(&cc, 0, sizeof(cc));
	cc.target = coordinator;
	cc.insecure_demo = insecure;
	party_tls_fill(tls, &cc.tls);
	cc.server_name = insecure ? NULL : "coordinator";
	cc.expected_roles = RPC_ROLE_COORDINATOR;
	rc = rpc_channel_new(&cc, &ch);
	if (rc == CL_OK)
		rc = rpc_call_stream(ch, RPC_METHOD_COORDINATOR_QUERY, req, req_len,
				     QUERY_DEADLINE_MS, query_on_message, &ans, NULL, &st);
	if (rc != CL_OK) {
		if (st.message[0])
			fprintf(stderr, "caselink query: refused or failed: %s (%s)\n", st.message,
				rpc_code_name(st.code));
		else
			fprintf(stderr, "caselink query: failed: %s\n", cl_strerror(rc));
		goto out;
	}
	if (!ans.have_coverage || !ans.complete) {
		fprintf(stderr, "caselink query: incomplete answer from the coordinator\n");
		rc = CL_EPROTO;
		goto out;
	}
	if (!strcmp(format, "table"))
		query_print_table(&ans, measure, from, to);
	else if (!strcmp(format, "csv"))
		query_print_csv(&ans, measure, from, to);
	else
		rc = query_print_json(&ans, measure, from, to);
out:
	sign_header_free(&h);
	sign_key_free(signer);
	free(req);
	rpc_channel_free(ch);
	party_tls_free(tls);
	query_answer_free(&ans);
	return rc == CL_OK ? 0 : 1;
}
