/*
 * serve — `caselink-node serve`: the node daemon. It answers the
 * coordinator's queries over mutual TLS from the node's own store, and
 * only to the coordinators its configuration names.
 */
#ifndef CASELINK_NODE_SERVE_H
#define CASELINK_NODE_SERVE_H

/*
 * Runs `caselink-node serve --data DIR --config FILE [--foreground]
 * [--ready-file FILE]` (argv[0] is "serve") until SIGTERM or SIGINT.
 * Returns 0 after a clean shutdown, or a CL_E* code (reported on stderr).
 */
int node_serve_main(int argc, char **argv);

/*
 * Runs `caselink-node audit verify --data DIR` (argv[0] is "audit"): walks
 * the node's audit chain and prints whether it is intact or the first broken
 * entry. Returns 0 when intact, CL_EAUDIT when broken.
 */
int node_serve_audit_verify(int argc, char **argv);

#endif
