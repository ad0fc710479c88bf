/*
 * m2_job — one secure M2 computation from the nodes' uploads to the per-municipality
 * counts: the coordinator builds the three parties' jobs (m2_job_build), every party runs
 * its job (m2_job_run): assembles its shares of the nodes' columns (party 0 from x0 and its
 * seed, party 1 from its sealed seeds, party 2 from its sealed seed and x0), lays them out
 * by linked person with a permutation only party 0 knows (compute/mpc_perm.h), and runs the
 * M2 circuit (compute/mpc_m2.c). Only party 0 gets the counts.
 *
 * Job bytes (little-endian, every count bounded): "CLM2", u32 party, nonce (u32 len, bytes),
 * u32 nmunis, u32 nnodes, per node (u32 slots, u32 nlocal, u32 map[nlocal] into the
 * query's municipalities), u32 nbuckets, per bucket (u32 size, u32 clusters); then party 0:
 * per node (32-byte seed, x0 words), u32 pi[slots of all nodes], per bucket the same-node
 * planes; party 1: per node (u32 len, sealed seeds); party 2: per node (u32 len, sealed
 * seed, x0 words). Parties 1 and 2 learn the shape only (docs/secure-computation.md,
 * "Leakage profile").
 */
#ifndef CASELINK_COMPUTE_M2_JOB_H
#define CASELINK_COMPUTE_M2_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "compute/mpc_measures.h"
#include "compute/mpc_net.h"
#include "protocol/caselink.pb-c.h"

#define M2_JOB_MAX_MUNIS 61 /* municipalities of one query (one row word: 3 + 61 bits) */
#define M2_JOB_OUT_MAX	 (M2_JOB_MAX_MUNIS * 10) /* words of party 0's counts, any kind */
#define M2_JOB_MAX_SLOTS (1u << 24)		 /* slots of one job, input and layout */
#define M2_JOB_MAX_PAIRS ((size_t)1 << 31) /* pair comparisons of one job (buckets' (s - 1) · n)  \
					    */

/* The measures computed this way (the job's kind; the nodes' layouts m2/v1, m4/v1, m5/v1). */
enum m2_job_kind { M2_JOB_M2, M2_JOB_M4, M2_JOB_M5, M2_JOB_NKINDS };
#define M2_JOB_MAX_NODES 4096	    /* nodes of one query */
#define M2_JOB_MAX_BYTES (1u << 30) /* bytes of one job */

/* What the coordinator knows of one node's answer. */
struct m2_job_node {
	const Caselink__V1__ShareUpload *up; /* its upload */
	size_t nrec;			     /* its records, in the order they came */
	const uint32_t *slots;		     /* per record: slots in the upload */
	const uint32_t *person;		     /* per record: linked person (any ids) */
	const char *const *agency;	     /* per record: agency id (the tie-break) */
};

/* The query's municipalities (the union of the nodes' lists, in byte order). */
struct m2_job_munis {
	char name[M2_JOB_MAX_MUNIS][128];
	size_t n;
};

/*
 * Builds the jobs of the three parties for measure kind (every upload in its layout); to_rel
 * is the period's end in seconds since the window's start (M5 needs it) (jobs[i] of lens[i] bytes,
 * free()) and the query's municipalities. CL_EPROTO when an upload does not match its records
 * (sizes, layout), CL_ELIMIT beyond the M2_JOB_MAX_* or the engine's limits.
 */
int m2_job_build(const struct m2_job_node *nodes, size_t nnodes, unsigned kind, uint32_t to_rel,
		 const uint8_t *nonce, size_t nonce_len, uint8_t *jobs[MPC_PARTIES],
		 size_t lens[MPC_PARTIES], struct m2_job_munis *munis);

/*
 * Runs this party's job over net. key_pem: the party's private key (parties 1 and 2, to
 * open the nodes' seeds; NULL for party 0). Party 0 gets the counts in out (cap words, at
 * least M2_JOB_OUT_MAX) and their number in *nout: M2 struct mpc_m2_counts per municipality,
 * M4 struct mpc_m4_counts per municipality, M5 two struct mpc_m5_counts; the others pass NULL.
 * CL_EPARSE for a malformed job, CL_ECRYPTO for a seed that does not open.
 */
int m2_job_run(struct mpc_net *net, const uint8_t *job, size_t len, const char *key_pem,
	       uint64_t *out, size_t cap, size_t *nout);

/* The number of words of party 0's counts for kind and nmunis municipalities. */
size_t m2_job_out_words(unsigned kind, size_t nmunis);

#endif
