/*
 * benchutil — what the benchmarks that time a running party do alike: a monotonic clock,
 * percentiles of sorted latencies, and a signed QueryRequest with a fresh id (the coordinator
 * and nodes refuse replays). Benchmark code: prints figures, asserts no timing.
 */
#ifndef CASELINK_BENCH_BENCHUTIL_H
#define CASELINK_BENCH_BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>

struct sign_key;

/* Returns CLOCK_MONOTONIC in seconds. */
double benchutil_now(void);

/* Sorts n values ascending. */
void benchutil_sort(double *v, size_t n);

/* Returns the value at pct percent of n sorted values (index n * pct / 100); 0 when n is 0. */
double benchutil_pct(const double *v, size_t n, int pct);

/*
 * Builds a QueryRequest for measure over [from, to) grouped by the nby columns of by, as the
 * requester id/role (purpose monitoring, legal basis statistics), signs it with signer and packs
 * it into *out (free it) of *out_len bytes; the outputs only on success.
 */
int benchutil_request(const struct sign_key *signer, const char *id, const char *role,
		      const char *measure, const char *from, const char *to, char **by, size_t nby,
		      uint8_t **out, size_t *out_len);

#endif
