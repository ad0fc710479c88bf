/*
 * serve — `caselink-coordinator serve`: answers users' queries by fanning
 * them out to every node concurrently, summing the nodes' answers and
 * stating the coverage (nodes asked, answered, failed and why).
 */
#ifndef CASELINK_COORDINATOR_SERVE_H
#define CASELINK_COORDINATOR_SERVE_H

/*
 * Runs `caselink-coordinator serve --data DIR --config FILE [--foreground]
 * [--ready-file FILE]` (argv[0] is "serve") until SIGTERM or SIGINT.
 * Returns 0 after a clean shutdown, or a CL_E* code (reported on stderr).
 */
int coord_serve_main(int argc, char **argv);

/*
 * Runs `caselink-coordinator audit verify --data DIR` (argv[0] is "audit"):
 * 0 when the audit chain is intact, CL_EAUDIT naming the first broken entry.
 */
int coord_audit_verify_main(int argc, char **argv);

#endif
