/*
 * serve — `caselink-compute serve`: a computing party of the secure
 * computation (party 1 or 2). It answers Compute.Start from the configured
 * coordinator only, runs the job with the two other parties over
 * Compute.Exchange (compute/mpc_rpc.h), answers the coordinator with its
 * output shares, and appends every computation it took part in to the
 * hash-chained audit log in DATA/compute.db (query id, measure, period,
 * sizes, outcome; never a value). On SIGTERM it refuses new computations,
 * lets the running ones finish for drain_ms, then fails them cleanly.
 * See docs/deploy.md ("Computing parties").
 */
#ifndef CASELINK_COMPUTE_SERVE_H
#define CASELINK_COMPUTE_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/caselink.pb-c.h"
#include "protocol/rpc.h"

/* The computing party's SQLite file (its audit log) in the data folder. */
#define CP_DB_FILE "compute.db"

/*
 * Checks a received ComputeStartRequest for computing party `party` at time
 * now (epoch seconds), before anything runs: header, party number,
 * computation id, the query's coded fields, the job's size (1..max_job).
 * Returns RPC_OK, or the refusal's status with a short coded *reason and a
 * message in why (no personal data). The replay check is the caller's.
 */
enum rpc_code cp_start_check(const Caselink__V1__ComputeStartRequest *r, unsigned party,
			     size_t max_job, int64_t now, const char **reason, char *why,
			     size_t whysz);

/*
 * Runs `caselink-compute serve --data DIR --config FILE [--foreground]
 * [--ready-file FILE]` (argv[0] is "serve") until SIGTERM or SIGINT.
 * Returns 0 after a clean shutdown, or a CL_E* code (reported on stderr).
 */
int cp_serve_main(int argc, char **argv);

#endif
