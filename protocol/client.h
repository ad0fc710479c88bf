/*
 * client — what the coordinator's command-line clients (`caselink query`, `caselink report`,
 * `caselink-node case-history` and `alerts`) do the same way: load the TLS files and the
 * requester's identity, open the channel, fill, sign and send a QueryRequest, collect the
 * streamed QueryResponse chunks (coverage with its failures, omitted records and disclosure
 * settings; rows with suppressed values) and print the answer as a table, CSV or JSON.
 */
#ifndef CASELINK_PROTOCOL_CLIENT_H
#define CASELINK_PROTOCOL_CLIENT_H

#include <stdint.h>
#include <stdio.h>

#include "protocol/caselink.pb-c.h"
#include "protocol/party.h"
#include "protocol/rpc.h"

#define CLIENT_MAX_COLS	    16		 /* columns of an answer, noise_scale included */
#define CLIENT_MAX_FAILURES 4096	 /* failed nodes in one coverage */
#define CLIENT_PATH_MAX	    1024	 /* TLS file paths built from --tls-dir and --name */
#define CLIENT_SUPPRESSED   "suppressed" /* how every format marks a withheld cell */

struct sign_key;

/* A connection to a coordinator: channel, signing key and the requester's identity. */
struct client_conn;

/* A collected answer: columns, rows (as text and as values) and coverage. */
struct client_answer;

/* Where and as whom to connect (strings referenced during client_connect only). */
struct client_config {
	const char *target;		   /* the coordinator, HOST:PORT */
	const char *ca, *cert, *key, *crl; /* TLS files; crl may be NULL */
	const char *server_name;	   /* the name in the coordinator's certificate */
	int insecure_demo;		   /* plaintext demo: no TLS, requests unsigned */
	const char *demo_id, *demo_role;   /* the requester named in a plaintext demo */
};

/* The connection options `caselink query` and `caselink report` share. */
struct client_args {
	const char *coordinator, *tls_dir, *name, *ca, *cert, *key;
	int insecure;
	char path[3][CLIENT_PATH_MAX];
};

/* A node that did not answer, as the coverage names it. */
struct client_failure {
	char node[RPC_PEER_ID_MAX];
	char reason[RPC_STATUS_MSG_MAX + 32];
};

/* Records a holding node kept out of a case answer (M7/M8), as the coverage names them. */
struct client_withheld {
	char node[RPC_PEER_ID_MAX];
	char reason[RPC_STATUS_MSG_MAX + 32];
	unsigned records;
};

/* The coverage chunk and the disclosure control the answer was released under. */
struct client_coverage {
	unsigned asked, answered, omitted; /* omitted: restricted records left out (M7/M8) */
	size_t nfailed;
	const struct client_failure *failed;
	size_t nwithheld; /* M7/M8: holding nodes' refusals under their own policies */
	const struct client_withheld *withheld;
	int have_disclosure, noisy;
	long long threshold, rounding;
	char mechanism[32], budget_period[32], definitions[64];
	double epsilon, noise_scale, budget, remaining; /* epsilon/budget: rho when zCDP */
	unsigned suppressed_cells, suppressed_derived;
	size_t nsuppressed; /* cells marked suppressed in the rows */
};

/* One value cell: suppressed, absent (NA), a count or a real. */
struct client_value {
	int suppressed, present, real_valued;
	char reason[32]; /* when suppressed: why (Value.suppressed_reason), may be "" */
	long long count;
	double real, noise_scale;
};

/* Flags of client_print_json. */
#define CLIENT_JSON_OMITTED	   1u /* coverage.omitted_records */
#define CLIENT_JSON_OWN		   2u /* own_record_restricted: false */
#define CLIENT_JSON_OWN_RESTRICTED 4u /* own_record_restricted: true (with CLIENT_JSON_OWN) */

/*
 * Takes argv[*i] when it is one of the shared connection options (--coordinator, --tls-dir,
 * --name, --ca, --cert, --key with a value; --insecure-demo) and advances *i past its value.
 * Returns 1 when taken, 0 when argv[*i] is none of them, CL_EUSAGE when its value is missing.
 */
int client_args_take(struct client_args *a, int argc, char **argv, int *i);

/*
 * Fills path with DIR/ca.pem, DIR/NAME.pem and DIR/NAME.key (the files `caselink pki` issues);
 * CL_EUSAGE when one does not fit.
 */
int client_tls_paths(const char *dir, const char *name, char path[3][CLIENT_PATH_MAX]);

/*
 * Loads the TLS files (crl may be NULL) into *tls and reads the party's id and role from its
 * certificate; with signer non-NULL also its signing key. On failure err gets "FILE: reason"
 * when a file is to blame; the outputs are written only on success.
 */
int client_identity_load(const char *ca, const char *cert, const char *key, const char *crl,
			 struct party_tls **tls, char id[RPC_PEER_ID_MAX],
			 char role[RPC_PEER_ROLE_MAX], struct sign_key **signer, char *err,
			 size_t errsz);

/*
 * Fills cfg from a (TLS paths from --tls-dir and --name when both are given; server name
 * "coordinator"). Returns CL_EUSAGE when there is no coordinator or no complete set of TLS
 * files outside --insecure-demo.
 */
int client_args_config(struct client_args *a, struct client_config *cfg);

/*
 * Loads the TLS files, reads the requester's identity from its certificate and its signing
 * key, and opens the channel. On failure err gets "FILE: reason" when a file is to blame.
 */
int client_connect(const struct client_config *cfg, struct client_conn **out, char *err,
		   size_t errsz);

/* Closes the channel and wipes the key; NULL is allowed. */
void client_close(struct client_conn *c);

/*
 * Starts a request from c: fills h and who (a fresh request id in id) with purpose and
 * legal basis, and sets q->header = h. The caller then sets measure, period and the rest.
 */
int client_request_init(const struct client_conn *c, Caselink__V1__QueryRequest *q,
			Caselink__V1__RequestHeader *h, Caselink__V1__Identity *who,
			uint8_t id[PARTY_REQUEST_ID_LEN], const char *purpose,
			const char *legal_basis);

/*
 * Signs q as the requester (unless a plaintext demo; the signature fields are freed again
 * before returning), sends it and collects the streamed answer, at most max_rows rows with
 * exactly nvalues value columns (-1: any). A refusal, a failed call or an incomplete answer is
 * reported on stderr after "prog: " and returned as an error; *out only on success.
 */
int client_call(struct client_conn *c, Caselink__V1__QueryRequest *q, int64_t deadline_ms,
		int nvalues, size_t max_rows, const char *prog, struct client_answer **out);

/* Frees an answer; NULL is allowed. */
void client_answer_free(struct client_answer *a);

/* Columns shown (keys, values, and noise_scale when noisy), key columns, rows. */
size_t client_answer_ncols(const struct client_answer *a);
/* The number of key columns (the first columns of every row). */
size_t client_answer_nkeys(const struct client_answer *a);
/* The number of rows. */
size_t client_answer_nrows(const struct client_answer *a);

/* Column k's name. */
const char *client_answer_col(const struct client_answer *a, size_t k);

/* Row i's cell k as text: a key, a count, a rate, "NA" or CLIENT_SUPPRESSED. */
const char *client_answer_cell(const struct client_answer *a, size_t i, size_t k);

/* Row i's value j (0 .. number of value columns - 1). */
const struct client_value *client_answer_value(const struct client_answer *a, size_t i, size_t j);

/* The coverage and disclosure of the answer. */
const struct client_coverage *client_answer_coverage(const struct client_answer *a);

/* M7: the CaseRows chunk the coordinator relayed (the asking node opens it), or NULL. */
const Caselink__V1__CaseRows *client_answer_case_rows(const struct client_answer *a);

/*
 * Appends a row of n cells (copied) to an answer whose columns are all keys (M7, M8); CL_EINVAL
 * when n is not the number of columns or the answer has value columns or is full.
 */
int client_answer_add_row(struct client_answer *a, const char *const *cells, size_t n);

/* Replaces column k's name (copied). */
int client_answer_set_col(struct client_answer *a, size_t k, const char *name);

/* Replaces row i's cell k (copied). */
int client_answer_set_cell(struct client_answer *a, size_t i, size_t k, const char *text);

/* Writes "PREFIXcoverage: A of N nodes answered" and one "PREFIX  failed: ID (REASON)" each. */
void client_print_coverage(FILE *f, const char *prefix, const struct client_answer *a);

/* Writes the definitions, disclosure threshold, rounding and noise lines after prefix. */
void client_print_release(FILE *f, const char *prefix, const struct client_answer *a);

/*
 * Writes the columns and rows aligned (numbers right), and with total set a "total" row
 * when there is one count column and every cell is exact and published.
 */
void client_print_table(FILE *f, const struct client_answer *a, int total);

/* Writes the header line and rows as CSV (RFC 4180 quoting). */
void client_print_csv(FILE *f, const struct client_answer *a);

/*
 * Writes the answer as one JSON object: measure, period {from, to, bounds "[)"},
 * definitions_version, disclosure (when stated), columns, rows (integers as numbers,
 * suppressed as {"value": null, "suppressed": true}), coverage {nodes_asked, nodes_answered,
 * failed [{node, reason}]}; flags CLIENT_JSON_* add the case fields.
 */
int client_print_json(FILE *f, const struct client_answer *a, const char *measure, const char *from,
		      const char *to, unsigned flags);

#endif
