/* client — the coordinator's command-line clients' shared request and answer handling; client.h. */
#include "protocol/client.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cl_error.h"
#include "protocol/pki.h"
#include "protocol/sign.h"

struct client_conn {
	struct party_tls *tls;
	struct sign_key *signer;
	struct rpc_channel *ch;
	char id[RPC_PEER_ID_MAX], role[RPC_PEER_ROLE_MAX];
};

struct client_answer {
	size_t ncols, nkeys, nvalues; /* ncols = nkeys + nvalues + noise_col */
	int noise_col, want_values;
	char *cols[CLIENT_MAX_COLS];
	int numeric[CLIENT_MAX_COLS];
	char **cells;		     /* nrows * ncols */
	struct client_value *values; /* nrows * nvalues */
	size_t nrows, cap, max_rows;
	int have_coverage, complete;
	struct client_failure *failed;
	struct client_withheld *withheld;
	struct client_coverage cov;
	Caselink__V1__QueryResponse *case_rows; /* M7: the CaseRows chunk, as received */
};

int client_args_take(struct client_args *a, int argc, char **argv, int *i)
{
	const char **opt = NULL, *o = argv[*i];

	if (!strcmp(o, "--insecure-demo")) {
		a->insecure = 1;
		return 1;
	}
	if (!strcmp(o, "--coordinator"))
		opt = &a->coordinator;
	else if (!strcmp(o, "--tls-dir"))
		opt = &a->tls_dir;
	else if (!strcmp(o, "--name"))
		opt = &a->name;
	else if (!strcmp(o, "--ca"))
		opt = &a->ca;
	else if (!strcmp(o, "--cert"))
		opt = &a->cert;
	else if (!strcmp(o, "--key"))
		opt = &a->key;
	if (!opt)
		return 0;
	if (*i + 1 >= argc)
		return CL_EUSAGE;
	*opt = argv[++*i];
	return 1;
}

int client_tls_paths(const char *dir, const char *name, char path[3][CLIENT_PATH_MAX])
{
	if (snprintf(path[0], CLIENT_PATH_MAX, "%s/ca.pem", dir) >= CLIENT_PATH_MAX ||
	    snprintf(path[1], CLIENT_PATH_MAX, "%s/%s.pem", dir, name) >= CLIENT_PATH_MAX ||
	    snprintf(path[2], CLIENT_PATH_MAX, "%s/%s.key", dir, name) >= CLIENT_PATH_MAX)
		return CL_EUSAGE;
	return CL_OK;
}

int client_identity_load(const char *ca, const char *cert, const char *key, const char *crl,
			 struct party_tls **tls, char id[RPC_PEER_ID_MAX],
			 char role[RPC_PEER_ROLE_MAX], struct sign_key **signer, char *err,
			 size_t errsz)
{
	struct party_tls *t = NULL;
	struct sign_key *k = NULL;
	char idb[RPC_PEER_ID_MAX] = "", roleb[RPC_PEER_ROLE_MAX] = "", *pem = NULL;
	size_t pem_len = 0;
	int rc;

	rc = party_tls_load(ca, cert, key, crl, &t, err, errsz);
	if (rc == CL_OK)
		rc = pki_read_file(cert, PKI_PEM_MAX, &pem, &pem_len);
	if (rc == CL_OK)
		rc = pki_cert_identity(pem, pem_len, idb, sizeof(idb), roleb, sizeof(roleb));
	if (rc == CL_OK && signer) {
		struct rpc_tls rt;

		party_tls_fill(t, &rt);
		rc = sign_key_load(rt.key_pem, rt.cert_pem, &k);
	}
	if (rc != CL_OK)
		goto out;
	memcpy(id, idb, sizeof(idb));
	memcpy(role, roleb, sizeof(roleb));
	*tls = t;
	t = NULL;
	if (signer)
		*signer = k;
	k = NULL;
out:
	free(pem);
	sign_key_free(k);
	party_tls_free(t);
	return rc;
}

int client_args_config(struct client_args *a, struct client_config *cfg)
{
	struct client_config c;

	memset(&c, 0, sizeof(c));
	if (!a->coordinator)
		return CL_EUSAGE;
	c.target = a->coordinator;
	c.insecure_demo = a->insecure;
	if (!a->insecure) {
		c.ca = a->ca;
		c.cert = a->cert;
		c.key = a->key;
		if (a->tls_dir && a->name) {
			if (client_tls_paths(a->tls_dir, a->name, a->path) != CL_OK)
				return CL_EUSAGE;
			c.ca = a->path[0];
			c.cert = a->path[1];
			c.key = a->path[2];
		}
		if (!c.ca || !c.cert || !c.key)
			return CL_EUSAGE;
		c.server_name = "coordinator";
	}
	*cfg = c;
	return CL_OK;
}

int client_connect(const struct client_config *cfg, struct client_conn **out, char *err,
		   size_t errsz)
{
	struct client_conn *c = calloc(1, sizeof(*c));
	struct rpc_channel_config cc;
	int rc = CL_ENOMEM;

	if (!c)
		goto out;
	if (cfg->insecure_demo) {
		snprintf(c->id, sizeof(c->id), "%s", cfg->demo_id ? cfg->demo_id : "");
		snprintf(c->role, sizeof(c->role), "%s", cfg->demo_role ? cfg->demo_role : "");
	} else {
		rc = client_identity_load(cfg->ca, cfg->cert, cfg->key, cfg->crl, &c->tls, c->id,
					  c->role, &c->signer, err, errsz);
		if (rc != CL_OK)
			goto out;
	}
	memset(&cc, 0, sizeof(cc));
	cc.target = cfg->target;
	cc.insecure_demo = cfg->insecure_demo;
	party_tls_fill(c->tls, &cc.tls);
	cc.server_name = cfg->insecure_demo ? NULL : cfg->server_name;
	cc.expected_roles = RPC_ROLE_COORDINATOR;
	rc = rpc_channel_new(&cc, &c->ch);
	if (rc != CL_OK)
		goto out;
	*out = c;
	c = NULL;
out:
	client_close(c);
	return rc;
}

void client_close(struct client_conn *c)
{
	if (!c)
		return;
	rpc_channel_free(c->ch);
	sign_key_free(c->signer);
	party_tls_free(c->tls);
	free(c);
}

int client_request_init(const struct client_conn *c, Caselink__V1__QueryRequest *q,
			Caselink__V1__RequestHeader *h, Caselink__V1__Identity *who,
			uint8_t id[PARTY_REQUEST_ID_LEN], const char *purpose,
			const char *legal_basis)
{
	int rc = party_header_fill(h, who, id, purpose, legal_basis, c->id, c->role);

	if (rc == CL_OK)
		q->header = h;
	return rc;
}

/* ---- collecting the stream ---- */

/* Takes the column names of the first row batch; later batches must agree. */
static int client_columns(struct client_answer *a, const Caselink__V1__RowBatch *b)
{
	size_t k, n = b->n_key_columns + b->n_value_columns;

	if (n == 0 || n + 1 > CLIENT_MAX_COLS ||
	    (a->want_values >= 0 && b->n_value_columns != (size_t)a->want_values))
		return 1;
	if (a->ncols)
		return a->ncols == n + (size_t)a->noise_col && a->nvalues == b->n_value_columns ? 0
												: 1;
	for (k = 0; k < n; k++) {
		const char *name = k < b->n_key_columns ? b->key_columns[k]
							: b->value_columns[k - b->n_key_columns];

		a->cols[k] = strdup(name);
		if (!a->cols[k])
			return 1;
		a->numeric[k] = k >= b->n_key_columns || !strcmp(name, "value");
	}
	a->nkeys = b->n_key_columns;
	a->nvalues = b->n_value_columns;
	if (a->cov.noisy && b->n_value_columns) {
		/* Under DP every row states the noise scale of its value. */
		a->cols[n] = strdup("noise_scale");
		if (!a->cols[n])
			return 1;
		a->noise_col = 1;
		a->numeric[n] = 1;
		n++;
	}
	a->ncols = n;
	return 0;
}

static char *client_value_text(const Caselink__V1__Value *v)
{
	char buf[64];

	if (v->suppressed && v->suppressed_reason && v->suppressed_reason[0])
		snprintf(buf, sizeof(buf), CLIENT_SUPPRESSED " (%.40s)", v->suppressed_reason);
	else if (v->suppressed)
		snprintf(buf, sizeof(buf), CLIENT_SUPPRESSED);
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

static int client_coverage_take(struct client_answer *a, const Caselink__V1__Coverage *c)
{
	struct client_coverage *v = &a->cov;
	size_t i;

	if (a->have_coverage || c->n_failed > CLIENT_MAX_FAILURES)
		return 1;
	a->have_coverage = 1;
	v->asked = c->nodes_asked;
	v->answered = c->nodes_answered;
	v->omitted = c->omitted_records;
	a->failed = calloc(c->n_failed ? c->n_failed : 1, sizeof(*a->failed));
	if (!a->failed)
		return 1;
	for (i = 0; i < c->n_failed; i++) {
		snprintf(a->failed[i].node, sizeof(a->failed[i].node), "%s", c->failed[i]->node_id);
		snprintf(a->failed[i].reason, sizeof(a->failed[i].reason), "%s",
			 c->failed[i]->reason);
	}
	v->failed = a->failed;
	v->nfailed = c->n_failed;
	if (c->n_withheld > CLIENT_MAX_FAILURES)
		return 1;
	a->withheld = calloc(c->n_withheld ? c->n_withheld : 1, sizeof(*a->withheld));
	if (!a->withheld)
		return 1;
	for (i = 0; i < c->n_withheld; i++) {
		struct client_withheld *w = &a->withheld[i];

		snprintf(w->node, sizeof(w->node), "%s", c->withheld[i]->node_id);
		snprintf(w->reason, sizeof(w->reason), "%s", c->withheld[i]->reason);
		w->records = c->withheld[i]->records;
	}
	v->withheld = a->withheld;
	v->nwithheld = c->n_withheld;
	if (c->disclosure) {
		const Caselink__V1__Disclosure *d = c->disclosure;

		v->have_disclosure = 1;
		v->threshold = d->threshold;
		v->rounding = d->rounding;
		snprintf(v->mechanism, sizeof(v->mechanism), "%s", d->mechanism);
		snprintf(v->budget_period, sizeof(v->budget_period), "%s", d->budget_period);
		snprintf(v->definitions, sizeof(v->definitions), "%s", d->definitions_version);
		v->epsilon = d->epsilon;
		v->noise_scale = d->noise_scale;
		v->budget = d->budget;
		v->remaining = d->budget_remaining;
		v->suppressed_cells = d->suppressed_cells;
		v->suppressed_derived = d->suppressed_derived;
		v->noisy = strcmp(d->mechanism, "none") && d->mechanism[0];
	}
	return 0;
}

/* Makes room for one more row. */
static int client_grow(struct client_answer *a)
{
	size_t cap, nc, nv;
	char **cells;
	struct client_value *values;

	if (a->nrows < a->cap)
		return 0;
	cap = a->cap ? a->cap * 2 : 64;
	if (__builtin_mul_overflow(cap, a->ncols * sizeof(*cells), &nc) ||
	    __builtin_mul_overflow(cap, (a->nvalues ? a->nvalues : 1) * sizeof(*values), &nv))
		return 1;
	cells = realloc(a->cells, nc);
	if (!cells)
		return 1;
	a->cells = cells;
	values = realloc(a->values, nv);
	if (!values)
		return 1;
	a->values = values;
	a->cap = cap;
	return 0;
}

static int client_row(struct client_answer *a, const Caselink__V1__Row *row)
{
	size_t k, nk = a->nkeys;
	int rc = 0;

	if (row->n_keys != nk || row->n_values != a->nvalues || a->nrows >= a->max_rows ||
	    client_grow(a))
		return 1;
	for (k = 0; k < a->ncols; k++) {
		char *t, ns[32];

		if (k < nk) {
			t = strdup(row->keys[k]);
		} else if (k - nk < a->nvalues) {
			const Caselink__V1__Value *v = row->values[k - nk];
			struct client_value *w = &a->values[a->nrows * a->nvalues + (k - nk)];

			t = client_value_text(v);
			a->cov.nsuppressed += v->suppressed ? 1 : 0;
			w->suppressed = v->suppressed;
			snprintf(w->reason, sizeof(w->reason), "%s",
				 v->suppressed && v->suppressed_reason ? v->suppressed_reason : "");
			w->present = v->value_case != CASELINK__V1__VALUE__VALUE__NOT_SET;
			w->real_valued = v->value_case == CASELINK__V1__VALUE__VALUE_REAL;
			w->count = v->count;
			w->real = w->real_valued ? v->real : (double)v->count;
			w->noise_scale = v->noise_scale;
		} else {
			/* noise_scale: that of the row's (last) value */
			const Caselink__V1__Value *v = row->values[a->nvalues - 1];

			snprintf(ns, sizeof(ns), "%g", v->noise_scale);
			t = strdup(v->suppressed ? "" : ns);
		}
		a->cells[a->nrows * a->ncols + k] = t;
		if (!t)
			rc = 1;
	}
	a->nrows++;
	return rc;
}

static int client_on_message(const uint8_t *msg, size_t len, void *user)
{
	struct client_answer *a = user;
	Caselink__V1__QueryResponse *r = caselink__v1__query_response__unpack(NULL, len, msg);
	size_t i;
	int rc = 0;

	if (!r)
		return 1;
	if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_COVERAGE) {
		rc = client_coverage_take(a, r->coverage);
	} else if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_ROWS) {
		rc = client_columns(a, r->rows);
		for (i = 0; !rc && i < r->rows->n_rows; i++)
			rc = client_row(a, r->rows->rows[i]);
		if (!rc && r->last)
			a->complete = 1;
	} else if (r->chunk_case == CASELINK__V1__QUERY_RESPONSE__CHUNK_CASE_ROWS &&
		   !a->case_rows && r->case_rows && !r->last) {
		a->case_rows = r; /* kept for the asking node, which opens it */
		return 0;
	}
	caselink__v1__query_response__free_unpacked(r, NULL);
	return rc;
}

void client_answer_free(struct client_answer *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->nrows * a->ncols; i++)
		free(a->cells[i]);
	for (i = 0; i < CLIENT_MAX_COLS; i++)
		free(a->cols[i]);
	free(a->cells);
	free(a->values);
	free(a->failed);
	free(a->withheld);
	if (a->case_rows)
		caselink__v1__query_response__free_unpacked(a->case_rows, NULL);
	free(a);
}

int client_call(struct client_conn *c, Caselink__V1__QueryRequest *q, int64_t deadline_ms,
		int nvalues, size_t max_rows, const char *prog, struct client_answer **out)
{
	struct client_answer *a = calloc(1, sizeof(*a));
	struct rpc_status st;
	uint8_t *req = NULL;
	size_t req_len;
	int rc = CL_ENOMEM;

	memset(&st, 0, sizeof(st));
	if (!a)
		goto out;
	a->want_values = nvalues;
	a->max_rows = max_rows;
	/* The request is signed by its requester: nodes verify it whatever the coordinator says. */
	if (c->signer) {
		rc = sign_request(c->signer, q);
		if (rc != CL_OK)
			goto out;
	}
	req_len = caselink__v1__query_request__get_packed_size(q);
	req = malloc(req_len ? req_len : 1);
	if (!req) {
		rc = CL_ENOMEM;
		goto out;
	}
	caselink__v1__query_request__pack(q, req);
	rc = rpc_call_stream(c->ch, RPC_METHOD_COORDINATOR_QUERY, req, req_len, deadline_ms,
			     client_on_message, a, NULL, &st);
	if (rc != CL_OK) {
		if (st.message[0])
			fprintf(stderr, "%s: refused or failed: %s (%s)\n", prog, st.message,
				rpc_code_name(st.code));
		else
			fprintf(stderr, "%s: failed: %s\n", prog, cl_strerror(rc));
		goto out;
	}
	if (!a->have_coverage || !a->complete) {
		fprintf(stderr, "%s: incomplete answer from the coordinator\n", prog);
		rc = CL_EPROTO;
		goto out;
	}
	*out = a;
	a = NULL;
out:
	if (c->signer)
		sign_header_free(q->header);
	free(req);
	client_answer_free(a);
	return rc;
}

/* ---- reading the answer ---- */

size_t client_answer_ncols(const struct client_answer *a)
{
	return a->ncols;
}

size_t client_answer_nkeys(const struct client_answer *a)
{
	return a->nkeys;
}

size_t client_answer_nrows(const struct client_answer *a)
{
	return a->nrows;
}

const char *client_answer_col(const struct client_answer *a, size_t k)
{
	return a->cols[k];
}

const char *client_answer_cell(const struct client_answer *a, size_t i, size_t k)
{
	return a->cells[i * a->ncols + k];
}

const struct client_value *client_answer_value(const struct client_answer *a, size_t i, size_t j)
{
	return &a->values[i * a->nvalues + j];
}

const struct client_coverage *client_answer_coverage(const struct client_answer *a)
{
	return &a->cov;
}

int client_answer_set_col(struct client_answer *a, size_t k, const char *name)
{
	char *copy = strdup(name);

	if (!copy)
		return CL_ENOMEM;
	free(a->cols[k]);
	a->cols[k] = copy;
	return CL_OK;
}

const Caselink__V1__CaseRows *client_answer_case_rows(const struct client_answer *a)
{
	return a && a->case_rows ? a->case_rows->case_rows : NULL;
}

int client_answer_add_row(struct client_answer *a, const char *const *cells, size_t n)
{
	size_t k;

	if (!a || !cells || n != a->ncols || a->nvalues || a->nrows >= a->max_rows)
		return CL_EINVAL;
	if (client_grow(a))
		return CL_ENOMEM;
	for (k = 0; k < n; k++) {
		a->cells[a->nrows * n + k] = strdup(cells[k] ? cells[k] : "");
		if (!a->cells[a->nrows * n + k]) {
			while (k--)
				free(a->cells[a->nrows * n + k]);
			return CL_ENOMEM;
		}
	}
	a->nrows++;
	return CL_OK;
}

int client_answer_set_cell(struct client_answer *a, size_t i, size_t k, const char *text)
{
	char *copy = strdup(text);

	if (!copy)
		return CL_ENOMEM;
	free(a->cells[i * a->ncols + k]);
	a->cells[i * a->ncols + k] = copy;
	return CL_OK;
}

/* ---- printing ---- */

/* Wire Disclosure.epsilon/budget/budget_remaining hold rho (zCDP) for the discrete Gaussian. */
static const char *client_unit(const struct client_coverage *v)
{
	return strcmp(v->mechanism, "discrete_gaussian") ? "epsilon" : "rho";
}

void client_print_coverage(FILE *f, const char *prefix, const struct client_answer *a)
{
	size_t i;

	fprintf(f, "%scoverage: %u of %u nodes answered\n", prefix, a->cov.answered, a->cov.asked);
	for (i = 0; i < a->cov.nfailed; i++)
		fprintf(f, "%s  failed: %s (%s)\n", prefix, a->failed[i].node, a->failed[i].reason);
	for (i = 0; i < a->cov.nwithheld; i++)
		fprintf(f, "%s  withheld: %s kept %u linked record(s) out (%s)\n", prefix,
			a->withheld[i].node, a->withheld[i].records, a->withheld[i].reason);
}

void client_print_release(FILE *f, const char *prefix, const struct client_answer *a)
{
	const struct client_coverage *v = &a->cov;
	char rounding[48] = "none";

	if (!v->have_disclosure) {
		fprintf(f, "%sdisclosure: not stated by the coordinator\n", prefix);
		return;
	}
	fprintf(f, "%sdefinitions: %s\n", prefix, v->definitions);
	if (v->rounding > 1)
		snprintf(rounding, sizeof(rounding), "to multiples of %lld", v->rounding);
	fprintf(f,
		"%sdisclosure: threshold %lld, rounding %s; suppressed: %u counts, %u derived "
		"values (marked \"" CLIENT_SUPPRESSED " (reason)\": small, protects another, no "
		"per-person bound, derived)\n",
		prefix, v->threshold, rounding, v->suppressed_cells, v->suppressed_derived);
	if (v->noisy)
		fprintf(f,
			"%snoise: %s, scale %g per count (%s %g charged; %g of %g left in "
			"budget period %s)\n",
			prefix, v->mechanism, v->noise_scale, client_unit(v), v->epsilon,
			v->remaining, v->budget, v->budget_period);
	else
		fprintf(f, "%snoise: none\n", prefix);
}

/* Display width of UTF-8 text: one column per code point (no wide scripts here). */
static size_t client_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void client_cell(FILE *f, const char *s, size_t width, int right, int last)
{
	size_t w = client_width(s);

	if (right)
		for (; w < width; w++)
			fputc(' ', f);
	fputs(s, f);
	if (!right && !last)
		for (; w < width; w++)
			fputc(' ', f);
	fputs(last ? "\n" : "  ", f);
}

void client_print_table(FILE *f, const struct client_answer *a, int total)
{
	size_t w[CLIENT_MAX_COLS], i, k, last = a->ncols - 1;
	int64_t sum = 0;

	if (!a->ncols)
		return;
	for (k = 0; k < a->ncols; k++) {
		w[k] = client_width(a->cols[k]);
		for (i = 0; i < a->nrows; i++) {
			size_t l = client_width(a->cells[i * a->ncols + k]);

			if (l > w[k])
				w[k] = l;
		}
	}
	for (k = 0; k < a->ncols; k++)
		client_cell(f, a->cols[k], w[k], a->numeric[k], k == last);
	for (i = 0; i < a->nrows; i++) {
		for (k = 0; k < a->ncols; k++)
			client_cell(f, a->cells[i * a->ncols + k], w[k], a->numeric[k], k == last);
		if (a->nvalues == 1)
			sum += strtoll(a->cells[i * a->ncols + last], NULL, 10);
	}
	/*
	 * One count column (incident_events): its total, only when every cell is exact and
	 * published. Linked measures carry their own.
	 */
	if (total && a->nvalues == 1 && a->ncols > 1 && !a->cov.nsuppressed && !a->cov.noisy) {
		char t[32];

		snprintf(t, sizeof(t), "%lld", (long long)sum);
		for (k = 0; k < a->ncols; k++)
			client_cell(f,
				    k == 0	? "total"
				    : k == last ? t
						: "",
				    w[k], a->numeric[k], k == last);
	}
}

/* One CSV field, quoted when it holds a comma, quote or line break (RFC 4180). */
static void client_csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void client_print_csv(FILE *f, const struct client_answer *a)
{
	size_t i, k;

	for (i = 0; i <= a->nrows; i++)
		for (k = 0; k < a->ncols; k++) {
			client_csv_field(f, i ? a->cells[(i - 1) * a->ncols + k] : a->cols[k]);
			fputc(k + 1 < a->ncols ? ',' : '\n', f);
		}
}

/* A cell as JSON: integers as numbers, everything else (rates, "NA", keys) as text. */
static json_t *client_json_cell(const char *s, int numeric)
{
	char *end = NULL;
	long long v;

	if (numeric && !strcmp(s, CLIENT_SUPPRESSED))
		return json_pack("{s:n, s:b}", "value", "suppressed", 1);
	if (numeric && !strncmp(s, CLIENT_SUPPRESSED " (", sizeof(CLIENT_SUPPRESSED) + 1) &&
	    s[strlen(s) - 1] == ')') {
		/* "suppressed (why)": {"value": null, "suppressed": true, "reason": "why"} */
		size_t n = strlen(s) - sizeof(CLIENT_SUPPRESSED) - 2;

		return json_pack("{s:n, s:b, s:s%}", "value", "suppressed", 1, "reason",
				 s + sizeof(CLIENT_SUPPRESSED) + 1, n);
	}
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

static json_t *client_json_disclosure(const struct client_coverage *v)
{
	return json_pack("{s:I, s:I, s:s, s:s, s:f, s:f, s:s, s:f, s:f, s:I, s:I, s:s}",
			 "threshold", (json_int_t)v->threshold, "rounding", (json_int_t)v->rounding,
			 "mechanism", v->mechanism, "budget_unit", client_unit(v), "epsilon",
			 v->epsilon, "noise_scale", v->noise_scale, "budget_period",
			 v->budget_period, "budget", v->budget, "budget_remaining", v->remaining,
			 "suppressed_cells", (json_int_t)v->suppressed_cells, "suppressed_derived",
			 (json_int_t)v->suppressed_derived, "suppressed_marker",
			 "{\"value\": null, \"suppressed\": true, \"reason\": \"small\" | "
			 "\"protects another\" | ...}");
}

int client_print_json(FILE *f, const struct client_answer *a, const char *measure, const char *from,
		      const char *to, unsigned flags)
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
			    row, client_json_cell(a->cells[i * a->ncols + k], a->numeric[k]));
		json_array_append_new(rows, row);
	}
	for (i = 0; i < a->cov.nfailed; i++)
		json_array_append_new(failed, json_pack("{s:s, s:s}", "node", a->failed[i].node,
							"reason", a->failed[i].reason));
	json_object_set_new(root, "definitions_version",
			    a->cov.have_disclosure ? json_string(a->cov.definitions) : json_null());
	if (a->cov.have_disclosure)
		json_object_set_new(root, "disclosure", client_json_disclosure(&a->cov));
	if (flags & CLIENT_JSON_OWN)
		json_object_set_new(root, "own_record_restricted",
				    json_boolean(flags & CLIENT_JSON_OWN_RESTRICTED));
	json_object_set_new(cov, "nodes_asked", json_integer(a->cov.asked));
	json_object_set_new(cov, "nodes_answered", json_integer(a->cov.answered));
	json_object_set_new(cov, "failed", failed);
	failed = NULL;
	if (flags & CLIENT_JSON_OMITTED) {
		json_t *wh = json_array();

		json_object_set_new(cov, "omitted_records", json_integer(a->cov.omitted));
		for (i = 0; wh && i < a->cov.nwithheld; i++)
			json_array_append_new(wh, json_pack("{s:s, s:s, s:i}", "node",
							    a->withheld[i].node, "reason",
							    a->withheld[i].reason, "records",
							    (json_int_t)a->withheld[i].records));
		if (wh)
			json_object_set_new(cov, "withheld", wh);
	}
	json_object_set_new(root, "columns", cols);
	cols = NULL;
	json_object_set_new(root, "rows", rows);
	rows = NULL;
	json_object_set_new(root, "coverage", cov);
	cov = NULL;
	if (json_dumpf(root, f, JSON_INDENT(2) | JSON_ENSURE_ASCII) == 0) {
		fputc('\n', f);
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
