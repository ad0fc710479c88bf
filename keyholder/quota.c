#include "keyholder/quota.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "common/cl_error.h"

#define KH_QUOTA_BUSY_MS  10000
#define KH_QUOTA_NODE_MAX 128
#define KH_QUOTA_DAY_LEN  11 /* YYYY-MM-DD and the NUL */
#define KH_QUOTA_BUCKETS  4096

struct kh_quota_bucket {
	char node[KH_QUOTA_NODE_MAX];
	double tokens;
	int64_t last_ms;
};

struct kh_quota {
	sqlite3 *db;
	pthread_mutex_t lock;
	double rate_per_ms;
	double capacity;
	long long daily;
	size_t nbuckets;
	struct kh_quota_bucket *buckets;
};

static const char kh_quota_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS kh_quota(node TEXT NOT NULL, day TEXT NOT NULL,"
    " used INTEGER NOT NULL CHECK (used >= 0), PRIMARY KEY (node, day));";

static int kh_quota_day(int64_t now_ms, char day[KH_QUOTA_DAY_LEN])
{
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		return CL_EINVAL;
	if (strftime(day, KH_QUOTA_DAY_LEN, "%Y-%m-%d", &tm) != KH_QUOTA_DAY_LEN - 1)
		return CL_EINVAL;
	return CL_OK;
}

int kh_quota_open(const char *db_path, long long rate_per_minute, long long daily_quota,
		  struct kh_quota **out)
{
	struct kh_quota *q = NULL;
	int rc = CL_OK;

	if (!db_path || !out || rate_per_minute <= 0 || daily_quota <= 0)
		return CL_EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return CL_ENOMEM;
	if (pthread_mutex_init(&q->lock, NULL) != 0) {
		free(q);
		return CL_ENOMEM;
	}
	q->rate_per_ms = (double)rate_per_minute / 60000.0;
	q->capacity = (double)rate_per_minute;
	q->daily = daily_quota;
	q->buckets = calloc(KH_QUOTA_BUCKETS, sizeof(*q->buckets));
	if (!q->buckets) {
		rc = CL_ENOMEM;
		goto out;
	}
	if (sqlite3_open_v2(db_path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_busy_timeout(q->db, KH_QUOTA_BUSY_MS);
	if (sqlite3_exec(q->db, kh_quota_schema, NULL, NULL, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	*out = q;
	q = NULL;
out:
	kh_quota_close(q);
	return rc;
}

void kh_quota_close(struct kh_quota *q)
{
	if (!q)
		return;
	sqlite3_close(q->db);
	pthread_mutex_destroy(&q->lock);
	free(q->buckets);
	free(q);
}

/* The bucket of node, created full; NULL when the table is full. */
static struct kh_quota_bucket *kh_quota_bucket(struct kh_quota *q, const char *node, int64_t now_ms)
{
	struct kh_quota_bucket *b;
	size_t i;

	for (i = 0; i < q->nbuckets; i++)
		if (!strcmp(q->buckets[i].node, node))
			return &q->buckets[i];
	if (q->nbuckets == KH_QUOTA_BUCKETS)
		return NULL;
	b = &q->buckets[q->nbuckets++];
	memcpy(b->node, node, strlen(node) + 1);
	b->tokens = q->capacity;
	b->last_ms = now_ms;
	return b;
}

/* Elements of node counted on day. */
static int kh_quota_used(struct kh_quota *q, const char *node, const char *day, uint64_t *used)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_OK, s;

	*used = 0;
	if (sqlite3_prepare_v2(q->db, "SELECT used FROM kh_quota WHERE node = ? AND day = ?", -1,
			       &st, NULL) != SQLITE_OK)
		return CL_ESQL;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(st, 0);

		if (v < 0)
			rc = CL_ECORRUPT;
		else
			*used = (uint64_t)v;
	} else if (s != SQLITE_DONE) {
		rc = CL_ESQL;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Adds delta (may be negative) to node's count of day. */
static int kh_quota_add(struct kh_quota *q, const char *node, const char *day, int64_t delta)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_OK;

	if (sqlite3_prepare_v2(q->db,
			       "INSERT INTO kh_quota(node, day, used) VALUES (?, ?, max(?, 0))"
			       " ON CONFLICT(node, day) DO UPDATE SET used = max(used + ?3, 0)",
			       -1, &st, NULL) != SQLITE_OK)
		return CL_ESQL;
	sqlite3_bind_text(st, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)delta);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = CL_ESQL;
	sqlite3_finalize(st);
	return rc;
}

int kh_quota_take(struct kh_quota *q, const char *node, uint64_t n, int64_t now_ms,
		  enum kh_quota_limit *limit, uint64_t *used)
{
	struct kh_quota_bucket *b;
	char day[KH_QUOTA_DAY_LEN];
	uint64_t today = 0, sum;
	double tokens;
	int rc;

	if (!q || !node || !limit || !used || strlen(node) >= KH_QUOTA_NODE_MAX ||
	    n > (uint64_t)INT64_MAX)
		return CL_EINVAL;
	rc = kh_quota_day(now_ms, day);
	if (rc != CL_OK)
		return rc;
	pthread_mutex_lock(&q->lock);
	b = kh_quota_bucket(q, node, now_ms);
	if (!b) {
		rc = CL_ELIMIT;
		goto out;
	}
	tokens = b->tokens;
	if (now_ms > b->last_ms)
		tokens += (double)(now_ms - b->last_ms) * q->rate_per_ms;
	if (tokens > q->capacity)
		tokens = q->capacity;
	b->tokens = tokens;
	if (now_ms > b->last_ms)
		b->last_ms = now_ms;
	if ((double)n > tokens) {
		*limit = KH_QUOTA_RATE;
		*used = (uint64_t)((double)n - tokens + 0.999);
		rc = CL_EQUOTA;
		goto out;
	}
	rc = kh_quota_used(q, node, day, &today);
	if (rc != CL_OK)
		goto out;
	if (__builtin_add_overflow(today, n, &sum) || sum > (uint64_t)q->daily) {
		*limit = KH_QUOTA_DAILY;
		*used = today;
		rc = CL_EQUOTA;
		goto out;
	}
	rc = kh_quota_add(q, node, day, (int64_t)n);
	if (rc != CL_OK)
		goto out;
	b->tokens -= (double)n;
	*limit = KH_QUOTA_NONE;
	*used = sum;
out:
	pthread_mutex_unlock(&q->lock);
	return rc;
}

int kh_quota_refund(struct kh_quota *q, const char *node, uint64_t n, int64_t now_ms)
{
	char day[KH_QUOTA_DAY_LEN];
	int rc;

	if (!q || !node || n > (uint64_t)INT64_MAX)
		return CL_EINVAL;
	rc = kh_quota_day(now_ms, day);
	if (rc != CL_OK)
		return rc;
	pthread_mutex_lock(&q->lock);
	rc = kh_quota_add(q, node, day, -(int64_t)n);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

int kh_quota_total(struct kh_quota *q, int64_t now_ms, uint64_t *total)
{
	sqlite3_stmt *st = NULL;
	char day[KH_QUOTA_DAY_LEN];
	int rc;

	if (!q || !total)
		return CL_EINVAL;
	rc = kh_quota_day(now_ms, day);
	if (rc != CL_OK)
		return rc;
	pthread_mutex_lock(&q->lock);
	if (sqlite3_prepare_v2(q->db, "SELECT coalesce(sum(used), 0) FROM kh_quota WHERE day = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_bind_text(st, 1, day, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = CL_ESQL;
		goto out;
	}
	*total = (uint64_t)sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&q->lock);
	return rc;
}
