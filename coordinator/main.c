/*
 * caselink-coordinator — the coordinator's program.
 * Exit status: 0 done, 1 failed, 2 usage or configuration error.
 */
#include <stdio.h>
#include <string.h>

#include "common/cl_error.h"
#include "coordinator/serve.h"

int main(int argc, char **argv)
{
	int rc;

	if (argc >= 2 && !strcmp(argv[1], "serve")) {
		rc = coord_serve_main(argc - 1, argv + 1);
		if (rc == CL_OK)
			return 0;
		return rc == CL_EUSAGE || rc == CL_ECONFIG ? 2 : 1;
	}
	if (argc >= 2 && !strcmp(argv[1], "audit")) {
		rc = coord_audit_verify_main(argc - 1, argv + 1);
		if (rc == CL_OK)
			return 0;
		return rc == CL_EUSAGE ? 2 : 1;
	}
	if (argc >= 2 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help"))) {
		printf("usage: caselink-coordinator serve --data DIR --config FILE [--foreground] "
		       "[--ready-file FILE]\n"
		       "       caselink-coordinator audit verify --data DIR\n");
		return 0;
	}
	fprintf(stderr, "usage: caselink-coordinator serve --data DIR --config FILE [--foreground] "
			"[--ready-file FILE]\n"
			"       caselink-coordinator audit verify --data DIR\n");
	return 2;
}
