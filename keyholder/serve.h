/*
 * serve — `caselink-keyholder serve`: the OPRF keyholder daemon. It answers
 * BlindEvaluate over mutual TLS for registered nodes only, within each
 * node's rate limit and daily quota, with the key of one epoch per batch,
 * and appends every batch and every refusal to the audit log in
 * DATA/keyholder.db. See docs/keyholder.md.
 */
#ifndef CASELINK_KEYHOLDER_SERVE_H
#define CASELINK_KEYHOLDER_SERVE_H

/* The keyholder's SQLite file (audit log and daily counts) in the data folder. */
#define KH_DB_FILE "keyholder.db"

/*
 * Runs `caselink-keyholder serve --data DIR --config FILE [--foreground]
 * [--ready-file FILE]` (argv[0] is "serve") until SIGTERM or SIGINT.
 * Returns 0 after a clean shutdown, or a CL_E* code (reported on stderr).
 */
int kh_serve_main(int argc, char **argv);

#endif
