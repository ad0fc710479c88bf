/*
 * compute_job — what a computing party computes for one ComputeStart: the
 * one entry point between the daemon (compute/serve.c) and the engine.
 *
 * THE LEAD'S TO REPLACE with the measure circuits. Two demonstration jobs:
 *
 * "CLJ2", the engine (compute/mpc_share.h) over the transport: party 0 owns
 * two vectors x and y (its job carries them; the others' carry only n), the
 * three parties share them (mpc_a_input), multiply (mpc_a_mul), add x, and
 * open z = x * y + x to party 0 alone (mpc_a_open_to). Job: "CLJ2", u32 n,
 * u32 has_inputs, then at party 0 n u64 x and n u64 y. Output: party 0
 * "CLO2", u32 n, n u64 z; parties 1 and 2 "CLO2", u32 n, n u64 s0, n u64 s1
 * (their replicated shares of z, so that a test can check them too).
 *
 * "CLJ1", the transport alone: the coordinator splits two vectors x and y of
 * 64-bit values into three additive shares (x = x0 + x1 + x2 mod 2^64, same
 * for y) and gives party i the job (x_i, y_i, rounds); each party adds its
 * shares, z_i = x_i + y_i, and in each of `rounds` rounds sends z_i to party
 * i+1 and receives z_{i-1} from party i-1 (mod 3), checking that every round
 * brought the same vector. Its output is (z_i, z_{i-1}): the replicated
 * 2-out-of-3 sharing of z = x + y, so any two parties' outputs open z and
 * one alone is uniformly random.
 *
 * Job layout (little-endian): "CLJ1", u32 n, u32 rounds, n u64 x_i, n u64 y_i.
 * Output layout: "CLO1", u32 n, n u64 z_i, n u64 z_{i-1}.
 */
#ifndef CASELINK_COMPUTE_JOB_H
#define CASELINK_COMPUTE_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "compute/mpc_net.h"

#define COMPUTE_JOB_MAX	       (48u << 20) /* bytes of one party's job */
#define COMPUTE_JOB_ROUNDS_MAX 1000u	   /* demonstration: rounds of one job */

/*
 * Runs party `party`'s part (0, 1 or 2) of the job over net. A measure job ("CLM2",
 * compute/m2_job.h) needs the party's private key (PEM) at parties 1 and 2, to open the
 * nodes' sealed seeds; party 0's output is then "CLO3", u32 n, n u64 counts (m2_job_run). On
 * success *out (free()) and *out_len get the party's output. Returns CL_EPARSE for a malformed job,
 * CL_ELIMIT for one too large, or the transport's error.
 */
int compute_run(struct mpc_net *net, unsigned party, const uint8_t *job, size_t job_len,
		const char *key_pem, uint8_t **out, size_t *out_len);

/* The CLJ2 jobs of x and y (n values each): party 0's carries them, the others' n only. */
int compute_demo_mul_jobs(const uint64_t *x, const uint64_t *y, size_t n,
			  uint8_t *jobs[MPC_PARTIES], size_t lens[MPC_PARTIES]);

/*
 * Reads z (n values) from a CLJ2 run: party 0's output (what it opened), or,
 * when out0 is NULL, the sum of parties 1 and 2's shares (z1 + z2 + z0, with
 * the share both hold compared). CL_EPARSE when an output is malformed.
 */
int compute_demo_mul_read(const uint8_t *out0, size_t len0, const uint8_t *out1, size_t len1,
			  const uint8_t *out2, size_t len2, uint64_t *z, size_t n);

/*
 * Demonstration (coordinator side): splits x and y (n values each) into the
 * three parties' jobs (jobs[i], lens[i]; free() each) with fresh randomness.
 */
int compute_demo_jobs(const uint64_t *x, const uint64_t *y, size_t n, unsigned rounds,
		      uint8_t *jobs[MPC_PARTIES], size_t lens[MPC_PARTIES]);

/*
 * Demonstration: opens z = x + y from the outputs of two different parties
 * a and b (any two of 0, 1, 2) into z (n values). CL_EPARSE when an output is
 * malformed or the two disagree on the share they both hold.
 */
int compute_demo_open(unsigned a, const uint8_t *out_a, size_t len_a, unsigned b,
		      const uint8_t *out_b, size_t len_b, uint64_t *z, size_t n);

#endif
