#include "common/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "common/cl_error.h"

#define AUDIT_DOMAIN  "caselink-audit-v1"
#define AUDIT_BUSY_MS 10000
#define AUDIT_ENCODE_MAX                                                                           \
	(sizeof(AUDIT_DOMAIN) + 8 + 8 + 12 + AUDIT_ACTOR_MAX + AUDIT_ACTION_MAX +                  \
	 AUDIT_DETAILS_MAX + AUDIT_HASH_LEN)

struct audit {
	sqlite3 *db;
	pthread_mutex_t lock;
};

/* One entry as read from or written to the table. */
struct audit_entry {
	uint64_t seq;
	int64_t time;
	const unsigned char *actor, *action, *details;
	size_t actor_len, action_len, details_len;
	uint8_t prev[AUDIT_HASH_LEN];
};

static const char audit_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS audit_log(seq INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, details TEXT NOT NULL,"
    " prev_hash BLOB NOT NULL, hash BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_head(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seq INTEGER NOT NULL, hash BLOB NOT NULL);";

static void audit_put_u64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static void audit_put_field(uint8_t *buf, size_t *off, const unsigned char *s, size_t len)
{
	buf[*off] = (uint8_t)(len >> 24);
	buf[*off + 1] = (uint8_t)(len >> 16);
	buf[*off + 2] = (uint8_t)(len >> 8);
	buf[*off + 3] = (uint8_t)len;
	*off += 4;
	if (len)
		memcpy(buf + *off, s, len);
	*off += len;
}

/* SHA-256 over the canonical encoding of e. */
static int audit_hash(const struct audit_entry *e, uint8_t out[AUDIT_HASH_LEN])
{
	uint8_t buf[AUDIT_ENCODE_MAX];
	unsigned int hlen = 0;
	size_t off = 0;

	if (e->actor_len > AUDIT_ACTOR_MAX || e->action_len > AUDIT_ACTION_MAX ||
	    e->details_len > AUDIT_DETAILS_MAX)
		return CL_ELIMIT;
	memcpy(buf, AUDIT_DOMAIN, sizeof(AUDIT_DOMAIN)); /* with its NUL */
	off = sizeof(AUDIT_DOMAIN);
	audit_put_u64(buf + off, e->seq);
	off += 8;
	audit_put_u64(buf + off, (uint64_t)e->time);
	off += 8;
	audit_put_field(buf, &off, e->actor, e->actor_len);
	audit_put_field(buf, &off, e->action, e->action_len);
	audit_put_field(buf, &off, e->details, e->details_len);
	memcpy(buf + off, e->prev, AUDIT_HASH_LEN);
	off += AUDIT_HASH_LEN;
	if (!EVP_Digest(buf, off, out, &hlen, EVP_sha256(), NULL) || hlen != AUDIT_HASH_LEN)
		return CL_ECRYPTO;
	return CL_OK;
}

static int audit_text_ok(const char *s, size_t max, size_t *len)
{
	size_t n;

	if (!s)
		return CL_EINVAL;
	n = strnlen(s, max + 1);
	if (n > max)
		return CL_ELIMIT;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return CL_EINVAL;
	*len = n;
	return CL_OK;
}

int audit_open(const char *path, unsigned flags, struct audit **out)
{
	struct audit *a = NULL;
	int rc = CL_OK, fd;

	if (!path || !out)
		return CL_EINVAL;
	if (flags & AUDIT_OPEN_CREATE) {
		/* Create the file ourselves so that it is 0600 from the start. */
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return errno == EACCES ? CL_EPERM : CL_EIO;
		close(fd);
	} else if (access(path, F_OK) != 0) {
		return CL_ENOTFOUND;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return CL_ENOMEM;
	if (pthread_mutex_init(&a->lock, NULL) != 0) {
		free(a);
		return CL_ENOMEM;
	}
	if (sqlite3_open_v2(path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_busy_timeout(a->db, AUDIT_BUSY_MS);
	if (sqlite3_exec(a->db, audit_schema, NULL, NULL, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	*out = a;
	a = NULL;
out:
	audit_close(a);
	return rc;
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	sqlite3_close(a->db);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* Reads the head row into seq/hash; an absent row is an empty log. */
static int audit_read_head(sqlite3 *db, uint64_t *seq, uint8_t hash[AUDIT_HASH_LEN], int *present)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_OK, s;

	*seq = 0;
	*present = 0;
	memset(hash, 0, AUDIT_HASH_LEN);
	if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit_head WHERE id = 1", -1, &st,
			       NULL) != SQLITE_OK)
		return CL_ESQL;
	s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		sqlite3_int64 v = sqlite3_column_int64(st, 0);

		if (v < 0 || sqlite3_column_bytes(st, 1) != AUDIT_HASH_LEN) {
			rc = CL_ECORRUPT;
			goto out;
		}
		*seq = (uint64_t)v;
		memcpy(hash, sqlite3_column_blob(st, 1), AUDIT_HASH_LEN);
		*present = 1;
	} else if (s != SQLITE_DONE) {
		rc = CL_ESQL;
	}
out:
	sqlite3_finalize(st);
	return rc;
}

int audit_append(struct audit *a, const char *actor, const char *action, const char *details,
		 uint64_t *seq)
{
	struct audit_entry e;
	sqlite3_stmt *st = NULL;
	uint8_t hash[AUDIT_HASH_LEN];
	uint64_t last = 0;
	int rc, present = 0, locked = 0, in_tx = 0;

	if (!a)
		return CL_EINVAL;
	memset(&e, 0, sizeof(e));
	rc = audit_text_ok(actor, AUDIT_ACTOR_MAX, &e.actor_len);
	if (rc == CL_OK)
		rc = audit_text_ok(action, AUDIT_ACTION_MAX, &e.action_len);
	if (rc == CL_OK)
		rc = audit_text_ok(details, AUDIT_DETAILS_MAX, &e.details_len);
	if (rc != CL_OK)
		return rc;
	e.actor = (const unsigned char *)actor;
	e.action = (const unsigned char *)action;
	e.details = (const unsigned char *)details;
	e.time = (int64_t)time(NULL);
	pthread_mutex_lock(&a->lock);
	locked = 1;
	if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	in_tx = 1;
	rc = audit_read_head(a->db, &last, e.prev, &present);
	if (rc != CL_OK)
		goto out;
	if (last == UINT64_MAX || last >= (uint64_t)INT64_MAX) {
		rc = CL_EOVERFLOW;
		goto out;
	}
	e.seq = last + 1;
	rc = audit_hash(&e, hash);
	if (rc != CL_OK)
		goto out;
	if (sqlite3_prepare_v2(a->db,
			       "INSERT INTO audit_log(seq, time, actor, action, details, prev_hash,"
			       " hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)e.seq);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)e.time);
	sqlite3_bind_text(st, 3, actor, (int)e.actor_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, action, (int)e.action_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, details, (int)e.details_len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, e.prev, AUDIT_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, hash, AUDIT_HASH_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		/* An existing row with this seq means the head was rolled back. */
		rc = CL_EAUDIT;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(a->db,
			       "INSERT INTO audit_head(id, seq, hash) VALUES (1, ?, ?)"
			       " ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = "
			       "excluded.hash",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)e.seq);
	sqlite3_bind_blob(st, 2, hash, AUDIT_HASH_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = CL_ESQL;
		goto out;
	}
	if (sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	in_tx = 0;
	if (seq)
		*seq = e.seq;
out:
	sqlite3_finalize(st);
	if (in_tx)
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	if (locked)
		pthread_mutex_unlock(&a->lock);
	return rc;
}

static int audit_broken(uint64_t seq, uint64_t *broken_seq, char *why, size_t whysz,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int audit_broken(uint64_t seq, uint64_t *broken_seq, char *why, size_t whysz,
			const char *fmt, ...)
{
	va_list ap;

	*broken_seq = seq;
	if (why && whysz) {
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return CL_EAUDIT;
}

int audit_verify(struct audit *a, uint64_t *entries, uint64_t *broken_seq, char *why, size_t whysz)
{
	sqlite3_stmt *st = NULL;
	struct audit_entry e;
	uint8_t prev[AUDIT_HASH_LEN], calc[AUDIT_HASH_LEN], head_hash[AUDIT_HASH_LEN];
	uint64_t expect = 1, head_seq = 0, bad = 0;
	int rc = CL_OK, s, present = 0, locked = 0;

	if (!a || !entries || !broken_seq)
		return CL_EINVAL;
	memset(prev, 0, sizeof(prev));
	pthread_mutex_lock(&a->lock);
	locked = 1;
	if (sqlite3_exec(a->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	rc = audit_read_head(a->db, &head_seq, head_hash, &present);
	if (rc != CL_OK)
		goto out;
	if (sqlite3_prepare_v2(a->db,
			       "SELECT seq, time, actor, action, details, prev_hash, hash"
			       " FROM audit_log ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 seq = sqlite3_column_int64(st, 0);

		memset(&e, 0, sizeof(e));
		if (seq < 0 || (uint64_t)seq != expect) {
			rc = audit_broken(expect, &bad, why, whysz,
					  "entry %llu is missing (the next entry is %llu)",
					  (unsigned long long)expect, (unsigned long long)seq);
			goto out;
		}
		e.seq = (uint64_t)seq;
		e.time = sqlite3_column_int64(st, 1);
		e.actor = sqlite3_column_text(st, 2);
		e.actor_len = (size_t)sqlite3_column_bytes(st, 2);
		e.action = sqlite3_column_text(st, 3);
		e.action_len = (size_t)sqlite3_column_bytes(st, 3);
		e.details = sqlite3_column_text(st, 4);
		e.details_len = (size_t)sqlite3_column_bytes(st, 4);
		if (sqlite3_column_bytes(st, 5) != AUDIT_HASH_LEN ||
		    sqlite3_column_bytes(st, 6) != AUDIT_HASH_LEN || !e.actor || !e.action ||
		    !e.details) {
			rc = audit_broken(expect, &bad, why, whysz, "entry %llu is malformed",
					  (unsigned long long)expect);
			goto out;
		}
		memcpy(e.prev, sqlite3_column_blob(st, 5), AUDIT_HASH_LEN);
		if (memcmp(e.prev, prev, AUDIT_HASH_LEN) != 0) {
			rc = audit_broken(
			    expect, &bad, why, whysz,
			    "entry %llu does not link to entry %llu (removed, inserted "
			    "or reordered entries)",
			    (unsigned long long)expect, (unsigned long long)(expect - 1));
			goto out;
		}
		if (audit_hash(&e, calc) != CL_OK ||
		    memcmp(calc, sqlite3_column_blob(st, 6), AUDIT_HASH_LEN) != 0) {
			rc = audit_broken(expect, &bad, why, whysz,
					  "entry %llu does not match its hash (changed)",
					  (unsigned long long)expect);
			goto out;
		}
		memcpy(prev, calc, AUDIT_HASH_LEN);
		expect++;
	}
	if (s != SQLITE_DONE) {
		rc = CL_ESQL;
		goto out;
	}
	if ((present && (head_seq != expect - 1 || memcmp(head_hash, prev, AUDIT_HASH_LEN))) ||
	    (!present && expect != 1)) {
		if (present && head_seq >= expect)
			rc = audit_broken(expect, &bad, why, whysz,
					  "entries %llu to %llu are missing (removed from the end)",
					  (unsigned long long)expect, (unsigned long long)head_seq);
		else
			rc = audit_broken(expect - 1, &bad, why, whysz,
					  "the head record does not match entry %llu",
					  (unsigned long long)(expect - 1));
		goto out;
	}
	*entries = expect - 1;
out:
	sqlite3_finalize(st);
	if (locked) {
		sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL);
		pthread_mutex_unlock(&a->lock);
	}
	if (rc == CL_EAUDIT)
		*broken_seq = bad;
	return rc;
}

int audit_head(struct audit *a, uint64_t *seq, uint8_t hash[AUDIT_HASH_LEN])
{
	uint8_t h[AUDIT_HASH_LEN];
	uint64_t s = 0;
	int rc, present = 0;

	if (!a || !seq || !hash)
		return CL_EINVAL;
	pthread_mutex_lock(&a->lock);
	rc = audit_read_head(a->db, &s, h, &present);
	pthread_mutex_unlock(&a->lock);
	if (rc != CL_OK)
		return rc;
	*seq = s;
	memcpy(hash, h, AUDIT_HASH_LEN);
	return CL_OK;
}

int audit_each(struct audit *a, const char *action,
	       int (*fn)(void *ud, uint64_t seq, int64_t time, const char *actor,
			 const char *details),
	       void *ud)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_ESQL, step;

	if (!a || !action || !fn)
		return CL_EINVAL;
	pthread_mutex_lock(&a->lock);
	if (sqlite3_prepare_v2(a->db,
			       "SELECT seq, time, actor, details FROM audit_log WHERE action=?"
			       " ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, action, -1, SQLITE_STATIC);
	rc = CL_OK;
	while (rc == CL_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *actor = (const char *)sqlite3_column_text(st, 2),
			   *details = (const char *)sqlite3_column_text(st, 3);

		rc = fn(ud, (uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
			actor ? actor : "", details ? details : "");
	}
	if (rc == CL_OK && step != SQLITE_DONE)
		rc = CL_ESQL;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&a->lock);
	return rc;
}

int audit_verify_report(const char *prog, const char *path)
{
	struct audit *a = NULL;
	uint64_t entries = 0, broken = 0;
	char why[256] = "";
	int rc;

	rc = audit_open(path, 0, &a);
	if (rc == CL_OK)
		rc = audit_verify(a, &entries, &broken, why, sizeof(why));
	audit_close(a);
	if (rc == CL_OK)
		printf("audit log intact: %llu entries\n", (unsigned long long)entries);
	else if (rc == CL_EAUDIT)
		printf("audit log BROKEN at entry %llu: %s\n", (unsigned long long)broken, why);
	else
		fprintf(stderr, "%s audit verify: %s: %s\n", prog, path, cl_strerror(rc));
	return rc;
}

int audit_open_in(const char *dir, const char *file, unsigned flags, struct audit **out)
{
	char path[4096];
	int n;

	if (!dir || !file || !out)
		return CL_EINVAL;
	n = snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return CL_ELIMIT;
	if ((flags & AUDIT_OPEN_CREATE) && mkdir(dir, 0700) != 0 && errno != EEXIST)
		return CL_EIO;
	return audit_open(path, flags, out);
}

int audit_verify_main(const char *prog, const char *file, int argc, char **argv)
{
	char path[4096];
	int n;

	if (argc != 4 || strcmp(argv[1], "verify") || strcmp(argv[2], "--data") || !*argv[3]) {
		fprintf(stderr, "usage: %s audit verify --data DIR\n", prog);
		return CL_EUSAGE;
	}
	n = snprintf(path, sizeof(path), "%s/%s", argv[3], file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return CL_ELIMIT;
	return audit_verify_report(prog, path);
}
