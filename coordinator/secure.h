/*
 * secure — the coordinator's part of the secure computation (docs/secure-computation.md):
 * party 0 and orchestrator. It names the two computing parties to the nodes (their
 * certificates in the forwarded request), builds the three jobs of a linked M2, M4 or M5 from the
 * nodes' uploads and the linkage (compute/m2_job.h), starts the computing parties and runs
 * party 0 over the parties' transport (compute/mpc_coord.h), and turns the counts opened to
 * it into the measure's rows, which then go through disclosure control as before.
 */
#ifndef CASELINK_COORDINATOR_SECURE_H
#define CASELINK_COORDINATOR_SECURE_H

#include <stddef.h>

#include "common/partyconf.h"
#include "compute/m2_job.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/party.h"
#include "protocol/rpc.h"

struct secure;

/*
 * Sets up party 0 for the computing parties of conf (conf->ncompute == 2): reads their
 * certificates, creates the transport and the channels to their Compute service (checking
 * role compute and their names). CL_ECONFIG with a message in err for an unreadable file.
 */
int secure_new(const struct partyconf *conf, const struct party_tls *tls, const char *self_id,
	       struct secure **out, char *err, size_t errsz);

/* Frees it; NULL is allowed. */
void secure_free(struct secure *s);

/* Registers Compute.Exchange on the coordinator's server (before it starts). */
int secure_register(struct secure *s, struct rpc_server *srv);

/* Whether measure (MEASURES_M*) is computed by the computing parties. */
int secure_computes(const struct secure *s, int measure);

/*
 * Names the computing parties in qr (QueryRequest.compute_parties, pointing into s: call
 * secure_request_clear before qr is freed or packed for anything else).
 */
void secure_request(struct secure *s, Caselink__V1__QueryRequest *qr);
void secure_request_clear(Caselink__V1__QueryRequest *qr);

/*
 * Computes measure (M2, M4 or M5: secure_computes) over the nodes' uploads and emits its rows
 * (keys then metric and value, as measures_compute does; M2's gap quartiles are not computed
 * under secret sharing yet, so their rows are absent). window_from is the start of the
 * nodes' window (their times count from it), to the period's end. why names a failing
 * party. Nothing is emitted on failure.
 */
int secure_measure(struct secure *s, const Caselink__V1__QueryRequest *qr, int measure,
		   int64_t window_from, int64_t to, const struct m2_job_node *nodes, size_t nnodes,
		   int (*emit)(void *ctx, const char *const *cols, size_t ncols), void *ctx,
		   char *why, size_t whysz);

#endif
