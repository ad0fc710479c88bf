/*
 * caselink-compute — a computing party of the secure computation (party 1
 * or 2): init, status, serve and audit verify. See docs/deploy.md.
 * Exit status: 0 done (audit verify: chain intact), 1 failed (audit verify:
 * chain broken), 2 usage or configuration error.
 */
#include <stdio.h>
#include <string.h>

#include "common/audit.h"
#include "common/cl_error.h"
#include "compute/serve.h"

static void cp_main_usage(FILE *f)
{
	fprintf(f, "usage: caselink-compute init --data DIR\n"
		   "       caselink-compute status --data DIR\n"
		   "       caselink-compute serve --data DIR --config FILE [--foreground] "
		   "[--ready-file FILE]\n"
		   "       caselink-compute audit verify --data DIR\n");
}

/* Parses exactly "--data DIR" from argv[1..]. */
static int cp_main_data(int argc, char **argv, const char **data)
{
	if (argc != 3 || strcmp(argv[1], "--data") != 0 || !*argv[2]) {
		cp_main_usage(stderr);
		return CL_EUSAGE;
	}
	*data = argv[2];
	return CL_OK;
}

/* Creates the data folder and its audit log; refuses an existing one. */
static int cp_main_init(int argc, char **argv)
{
	struct audit *a = NULL;
	const char *data = NULL;
	uint8_t hash[AUDIT_HASH_LEN];
	uint64_t entries = 0;
	int rc;

	rc = cp_main_data(argc, argv, &data);
	if (rc != CL_OK)
		return rc;
	rc = audit_open_in(data, CP_DB_FILE, AUDIT_OPEN_CREATE, &a);
	if (rc == CL_OK)
		rc = audit_head(a, &entries, hash);
	if (rc == CL_OK && entries)
		rc = CL_EEXIST;
	if (rc == CL_OK)
		rc = audit_append(a, "operator", "init", "file=" CP_DB_FILE, NULL);
	audit_close(a);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-compute init: %s: %s\n", data,
			rc == CL_EEXIST ? "initialised already; refusing to start a new audit log"
					: cl_strerror(rc));
		return rc;
	}
	printf("initialised %s/%s (audit log)\n", data, CP_DB_FILE);
	return CL_OK;
}

static int cp_main_status(int argc, char **argv)
{
	struct audit *a = NULL;
	const char *data = NULL;
	uint8_t hash[AUDIT_HASH_LEN];
	uint64_t entries = 0;
	size_t i;
	int rc;

	rc = cp_main_data(argc, argv, &data);
	if (rc != CL_OK)
		return rc;
	rc = audit_open_in(data, CP_DB_FILE, 0, &a);
	if (rc == CL_OK)
		rc = audit_head(a, &entries, hash);
	audit_close(a);
	if (rc != CL_OK) {
		fprintf(stderr, "caselink-compute status: %s/%s: %s\n", data, CP_DB_FILE,
			rc == CL_ENOTFOUND ? "not initialised (caselink-compute init)"
					   : cl_strerror(rc));
		return rc;
	}
	printf("audit_entries: %llu\naudit_head: ", (unsigned long long)entries);
	for (i = 0; i < AUDIT_HASH_LEN; i++)
		printf("%02x", hash[i]);
	printf("\n");
	return CL_OK;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc < 2) {
		cp_main_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help")) {
		cp_main_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "init"))
		rc = cp_main_init(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "status"))
		rc = cp_main_status(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "serve"))
		rc = cp_serve_main(argc - 1, argv + 1);
	else if (!strcmp(argv[1], "audit"))
		rc = audit_verify_main("caselink-compute", CP_DB_FILE, argc - 1, argv + 1);
	else {
		cp_main_usage(stderr);
		return 2;
	}
	if (rc == CL_OK)
		return 0;
	return rc == CL_EUSAGE || rc == CL_ECONFIG ? 2 : 1;
}
