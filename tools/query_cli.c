/*
 * caselink query — asks the coordinator for a measure and prints the answer
 * with its coverage as a table, CSV or JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "protocol/client.h"
#include "tools/cli.h"

#define QUERY_MAX_BY	  5
#define QUERY_DEADLINE_MS 30000
#define QUERY_MAX_ROWS	  (1u << 20)
#define QUERY_MAX_NODES	  64 /* ids in --nodes */

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
		   *purpose = "monitoring", *legal_basis = "statistics";
	char *by = NULL, *group_by[QUERY_MAX_BY], err[512] = "";
	char *nodes_arg = NULL, *nodes[QUERY_MAX_NODES];
	Caselink__V1__QueryRequest q = CASELINK__V1__QUERY_REQUEST__INIT;
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	struct client_args args;
	struct client_config cfg;
	struct client_conn *conn = NULL;
	struct client_answer *ans = NULL;
	uint8_t id[PARTY_REQUEST_ID_LEN];
	size_t nby = 0, nnodes = 0;
	int i, rc;

	memset(&args, 0, sizeof(args));
	for (i = 1; i < argc; i++) {
		const char **opt = NULL;

		rc = client_args_take(&args, argc, argv, &i);
		if (rc == 1)
			continue;
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
		if (rc != 0 || !opt || i + 1 >= argc) {
			fprintf(stderr, "caselink query: unknown or incomplete option '%.40s'\n",
				argv[i]);
			query_usage();
			return 2;
		}
		*opt = argv[++i];
	}
	if (!measure || !from || !to || !args.coordinator ||
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
	if (client_args_config(&args, &cfg) != CL_OK) {
		fprintf(stderr, "caselink query: give --tls-dir and --name, or --ca, --cert "
				"and --key (or --insecure-demo for a plaintext demo)\n");
		return 2;
	}
	rc = client_connect(&cfg, &conn, err, sizeof(err));
	if (rc != CL_OK) {
		fprintf(stderr, "caselink query: %s\n", *err ? err : cl_strerror(rc));
		return 2;
	}
	rc = client_request_init(conn, &q, &h, &who, id, purpose, legal_basis);
	if (rc != CL_OK)
		goto out;
	q.measure = (char *)measure;
	q.period_from = (char *)from;
	q.period_to = (char *)to;
	q.n_group_by = nby;
	q.group_by = group_by;
	q.n_nodes = nnodes;
	q.nodes = nodes;
	q.mode = CASELINK__V1__QUERY_MODE__QUERY_MODE_AGGREGATE;
	rc = client_call(conn, &q, QUERY_DEADLINE_MS, -1, QUERY_MAX_ROWS, "caselink query", &ans);
	if (rc != CL_OK)
		goto out;
	if (!strcmp(format, "table")) {
		printf("%s, period [%s, %s)\n", measure, from, to);
		client_print_release(stdout, "", ans);
		printf("\n");
		client_print_table(stdout, ans, 1);
		printf("\n");
		client_print_coverage(stdout, "", ans);
	} else if (!strcmp(format, "csv")) {
		printf("# %s, period [%s, %s)\n", measure, from, to);
		client_print_release(stdout, "# ", ans);
		client_print_coverage(stdout, "# ", ans);
		client_print_csv(stdout, ans);
	} else {
		rc = client_print_json(stdout, ans, measure, from, to, 0);
	}
out:
	client_answer_free(ans);
	client_close(conn);
	return rc == CL_OK ? 0 : 1;
}
