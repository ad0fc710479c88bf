/*
 * quota — per-node limits on BlindEvaluate elements: a token bucket of
 * rate_per_minute elements (in memory, full at start) and a daily quota of
 * elements per UTC day, counted in the keyholder's SQLite file (table
 * kh_quota) so that a restart does not reset it. Thread-safe.
 */
#ifndef CASELINK_KEYHOLDER_QUOTA_H
#define CASELINK_KEYHOLDER_QUOTA_H

#include <stddef.h>
#include <stdint.h>

/* Which limit refused a request. */
enum kh_quota_limit { KH_QUOTA_NONE, KH_QUOTA_RATE, KH_QUOTA_DAILY };

struct kh_quota;

/* Opens (creating the table if needed) the quota store in the SQLite file db_path. */
int kh_quota_open(const char *db_path, long long rate_per_minute, long long daily_quota,
		  struct kh_quota **out);

/* Closes; NULL is allowed. */
void kh_quota_close(struct kh_quota *q);

/*
 * Takes n elements for node at now_ms (Unix milliseconds): CL_OK when both
 * limits allow it (both are then charged), else CL_EQUOTA with *limit
 * naming the limit and *used the elements already counted against it
 * (tokens missing for the rate, elements used today for the daily quota).
 */
int kh_quota_take(struct kh_quota *q, const char *node, uint64_t n, int64_t now_ms,
		  enum kh_quota_limit *limit, uint64_t *used);

/* Gives back n elements of the daily count of node for the day of now_ms (a failed batch). */
int kh_quota_refund(struct kh_quota *q, const char *node, uint64_t n, int64_t now_ms);

/* Writes the total of elements counted for every node on the UTC day of now_ms. */
int kh_quota_total(struct kh_quota *q, int64_t now_ms, uint64_t *total);

#endif
