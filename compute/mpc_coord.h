/*
 * mpc_coord — the coordinator's side of one secure computation (party 0 and
 * orchestrator): starts the computation at both computing parties
 * (Compute.Start, each on its own thread), runs party 0's part of the job
 * with compute_run in the calling thread over the party's mpc_rpc
 * transport, and collects the three outputs. The first failure of any party
 * stops the others at once (its run is cancelled, the peers are told) and is
 * reported naming the party.
 *
 * The coordinator links this module and registers mpc_rpc_register on its
 * own server; tests/compute_party0.c is a small party 0 built the same way.
 */
#ifndef CASELINK_COMPUTE_MPC_COORD_H
#define CASELINK_COMPUTE_MPC_COORD_H

#include <stddef.h>
#include <stdint.h>

#include "compute/mpc_rpc.h"
#include "protocol/caselink.pb-c.h"

/* What to compute: one job per party (job[0] is party 0's own). */
struct mpc_coord_job {
	const uint8_t *id; /* computation id, 16..32 fresh random bytes */
	size_t id_len;
	const Caselink__V1__ComputeQuery *query; /* the essential fields, for the parties' audit */
	const uint8_t *job[MPC_PARTIES];
	size_t job_len[MPC_PARTIES];
	unsigned timeout_ms;	  /* per message at every party (0: the parties' defaults) */
	int64_t deadline_ms;	  /* of the Start calls (0: none) */
	const char *requester_id; /* the coordinator's certificate name, for the header */
	const char *purpose;	  /* coded, for the header */
	const char *legal_basis;  /* coded, for the header */
};

/* What came back: outputs (free with mpc_coord_result_clear) or the first failure. */
struct mpc_coord_result {
	uint8_t *out[MPC_PARTIES];
	size_t out_len[MPC_PARTIES];
	uint64_t bytes_sent[MPC_PARTIES];
	unsigned failed_party;	   /* valid when mpc_coord_run failed */
	char why[MPC_RPC_WHY_MAX]; /* "party 2 (cp-2): ..." when it failed */
};

/*
 * Runs the computation. start[1] and start[2] are channels to the computing
 * parties' Compute service (checking role compute and their names; a message
 * limit of at least the largest job). On success returns 0 and fills res; on
 * failure returns the first failure's CL_E* code with res->failed_party and
 * res->why naming it, and no output.
 */
int mpc_coord_run(struct mpc_rpc *t, struct rpc_channel *start[MPC_PARTIES],
		  const struct mpc_coord_job *job, struct mpc_coord_result *res);

/* Wipes and frees the outputs of res. */
void mpc_coord_result_clear(struct mpc_coord_result *res);

#endif
