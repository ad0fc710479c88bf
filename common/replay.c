#include "common/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/cl_error.h"

#define REPLAY_SCHEMA_VERSION 1380994049 /* PRAGMA user_version of a replay cache: "RPL\1" */
#define REPLAY_STR_(x)	      #x
#define REPLAY_STR(x)	      REPLAY_STR_(x)
#define REPLAY_BUSY_MS	      5000

struct replay_entry {
	uint8_t id[REPLAY_ID_MAX];
	uint8_t len;
	uint8_t used;
	int64_t expires_at;
};

struct replay {
	pthread_mutex_t lock;
	struct replay_entry *slots;
	size_t nslots, count, max;
	sqlite3 *db;		   /* persistent cache: every entry of slots is a row */
	sqlite3_stmt *put, *prune; /* INSERT OR REPLACE one id; DELETE the expired */
};

static uint64_t replay_hash(const uint8_t *id, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ id[i]) * 1099511628211ull;
	return h;
}

int replay_new(size_t max, struct replay **out)
{
	struct replay *r;

	if (!out)
		return CL_EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return CL_ENOMEM;
	r->max = max ? max : REPLAY_DEFAULT_MAX;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return CL_ENOMEM;
	}
	*out = r;
	return CL_OK;
}

void replay_free(struct replay *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->put);
	sqlite3_finalize(r->prune);
	sqlite3_close(r->db);
	pthread_mutex_destroy(&r->lock);
	free(r->slots);
	free(r);
}

static void replay_insert(struct replay_entry *slots, size_t nslots, const struct replay_entry *e)
{
	size_t s = (size_t)replay_hash(e->id, e->len) & (nslots - 1);

	while (slots[s].used)
		s = (s + 1) & (nslots - 1);
	slots[s] = *e;
}

/* Deletes the rows expired at now from the file (a persistent cache; else nothing). */
static void replay_prune(struct replay *r, int64_t now)
{
	if (!r->prune)
		return;
	sqlite3_bind_int64(r->prune, 1, now);
	sqlite3_step(r->prune); /* a failure leaves expired rows, never loses a live one */
	sqlite3_reset(r->prune);
}

/* Rebuilds the table at nslots, dropping expired entries (from the file too). */
static int replay_rebuild(struct replay *r, size_t nslots, int64_t now)
{
	struct replay_entry *slots = calloc(nslots, sizeof(*slots));
	size_t i, count = 0;

	if (!slots)
		return CL_ENOMEM;
	for (i = 0; i < r->nslots; i++) {
		if (!r->slots[i].used || r->slots[i].expires_at < now)
			continue;
		replay_insert(slots, nslots, &r->slots[i]);
		count++;
	}
	free(r->slots);
	r->slots = slots;
	r->nslots = nslots;
	r->count = count;
	replay_prune(r, now);
	return CL_OK;
}

/* The slot holding id, or the empty slot where it belongs. */
static size_t replay_find(const struct replay *r, const uint8_t *id, size_t len)
{
	size_t s;

	for (s = (size_t)replay_hash(id, len) & (r->nslots - 1); r->slots[s].used;
	     s = (s + 1) & (r->nslots - 1))
		if (r->slots[s].len == len && !memcmp(r->slots[s].id, id, len))
			break;
	return s;
}

/* Makes room for one more entry: forgets expired ids, grows the table; CL_EBUSY when full. */
static int replay_room(struct replay *r, int64_t now, int bounded)
{
	size_t want = r->nslots ? r->nslots : 1024;
	int rc = CL_OK;

	if (r->nslots && ((bounded && r->count >= r->max) || 2 * (r->count + 1) > r->nslots))
		rc = replay_rebuild(r, r->nslots, now); /* first forget expired ids */
	if (rc == CL_OK && bounded && r->count >= r->max)
		return CL_EBUSY;
	while (rc == CL_OK && 2 * (r->count + 1) > want) {
		if (want > SIZE_MAX / 2 / sizeof(struct replay_entry))
			return CL_ENOMEM;
		want *= 2;
	}
	if (rc == CL_OK && want != r->nslots)
		rc = replay_rebuild(r, want, now);
	return rc;
}

/* Writes id with its expiry to the file of a persistent cache (CL_EIO when it cannot). */
static int replay_persist(struct replay *r, const uint8_t *id, size_t len, int64_t expires_at)
{
	int s;

	if (!r->put)
		return CL_OK;
	sqlite3_bind_blob(r->put, 1, id, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(r->put, 2, expires_at);
	s = sqlite3_step(r->put);
	sqlite3_reset(r->put);
	sqlite3_clear_bindings(r->put);
	return s == SQLITE_DONE ? CL_OK : CL_EIO;
}

/* Adds an id known to be absent (room already made). */
static void replay_add(struct replay *r, const uint8_t *id, size_t len, int64_t expires_at)
{
	struct replay_entry e;

	memset(&e, 0, sizeof(e));
	memcpy(e.id, id, len);
	e.len = (uint8_t)len;
	e.used = 1;
	e.expires_at = expires_at;
	r->slots[replay_find(r, id, len)] = e;
	r->count++;
}

int replay_check(struct replay *r, const uint8_t *id, size_t len, int64_t expires_at, int64_t now)
{
	size_t s;
	int rc = CL_OK;

	if (!r || !id || len == 0 || len > REPLAY_ID_MAX)
		return CL_EINVAL;
	pthread_mutex_lock(&r->lock);
	if (r->nslots) {
		s = replay_find(r, id, len);
		if (r->slots[s].used && r->slots[s].expires_at >= now) {
			rc = CL_EREPLAY;
			goto out;
		}
		if (r->slots[s].used) {
			/* The same id again after it expired: remember the new expiry. */
			rc = replay_persist(r, id, len, expires_at);
			if (rc == CL_OK)
				r->slots[s].expires_at = expires_at;
			goto out;
		}
	}
	rc = replay_room(r, now, 1);
	if (rc == CL_OK)
		rc = replay_persist(r, id, len, expires_at);
	if (rc == CL_OK)
		replay_add(r, id, len, expires_at);
out:
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* ---- the persistent backend ---- */

/* Writes "replay cache PATH: WHAT (DETAIL); refusing ..." into err and returns rc. */
static int replay_fail(int rc, char *err, size_t errsz, const char *path, const char *what,
		       const char *detail)
{
	if (err && errsz)
		snprintf(err, errsz,
			 "replay cache %s: %s%s%.160s%s; refusing to serve without replay "
			 "protection",
			 path, what, detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
	return rc;
}

/* An SQLite failure at open: corrupt or foreign file, unwritable file or folder, else I/O. */
static int replay_sql_fail(sqlite3 *db, int s, const char *path, char *err, size_t errsz)
{
	const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(s);

	switch (s & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return replay_fail(CL_ECORRUPT, err, errsz, path, "corrupt or not a replay cache",
				   msg);
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_CANTOPEN:
		return replay_fail(CL_EPERM, err, errsz, path, "cannot be written", msg);
	default:
		return replay_fail(CL_EIO, err, errsz, path, "database error", msg);
	}
}

/* Journal, schema version and table; a file with other tables or version is refused. */
static int replay_schema(struct replay *r, const char *path, char *err, size_t errsz)
{
	sqlite3_stmt *st = NULL;
	int s, version = -1, tables = -1;

	s = sqlite3_exec(r->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
			 NULL);
	if (s != SQLITE_OK)
		return replay_sql_fail(r->db, s, path, err, errsz);
	s = sqlite3_prepare_v2(r->db,
			       "SELECT (SELECT user_version FROM pragma_user_version),"
			       " (SELECT count(*) FROM sqlite_master WHERE name <> 'replay' AND"
			       "  name <> 'replay_expiry')",
			       -1, &st, NULL);
	if (s == SQLITE_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		version = sqlite3_column_int(st, 0);
		tables = sqlite3_column_int(st, 1);
		s = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (s != SQLITE_OK)
		return replay_sql_fail(r->db, s, path, err, errsz);
	if (tables != 0 || (version != 0 && version != REPLAY_SCHEMA_VERSION))
		return replay_fail(CL_ESCHEMA, err, errsz, path,
				   "not a replay cache (another file of the data folder?)", NULL);
	s = sqlite3_prepare_v2(r->db, "PRAGMA quick_check", -1, &st, NULL);
	if (s == SQLITE_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *ok = (const char *)sqlite3_column_text(st, 0);
		int rc = CL_OK;

		if (!ok || strcmp(ok, "ok"))
			rc = replay_fail(CL_ECORRUPT, err, errsz, path, "corrupt: quick_check",
					 ok ? ok : "no answer");
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	return replay_sql_fail(r->db, s, path, err, errsz);
}

/* Creates the table and its expiry index, and marks the file as a replay cache. */
static int replay_create(struct replay *r, const char *path, char *err, size_t errsz)
{
	int s;

	s = sqlite3_exec(r->db,
			 "BEGIN IMMEDIATE;"
			 "CREATE TABLE IF NOT EXISTS replay(id BLOB PRIMARY KEY,"
			 " expires_at INTEGER NOT NULL) WITHOUT ROWID;"
			 "CREATE INDEX IF NOT EXISTS replay_expiry ON replay(expires_at);"
			 "PRAGMA user_version = " REPLAY_STR(REPLAY_SCHEMA_VERSION) ";"
										    "COMMIT;",
			 NULL, NULL, NULL);
	if (s != SQLITE_OK) {
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
		return replay_sql_fail(r->db, s, path, err, errsz);
	}
	return CL_OK;
}

/* Reads the unexpired ids into memory; a malformed row means a corrupt file. */
static int replay_load(struct replay *r, int64_t now, const char *path, char *err, size_t errsz)
{
	sqlite3_stmt *st = NULL;
	int s, rc = CL_OK;

	s = sqlite3_prepare_v2(r->db, "SELECT id, expires_at FROM replay WHERE expires_at >= ?", -1,
			       &st, NULL);
	if (s != SQLITE_OK)
		return replay_sql_fail(r->db, s, path, err, errsz);
	sqlite3_bind_int64(st, 1, now);
	while (rc == CL_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		int len = sqlite3_column_bytes(st, 0);
		const void *id = sqlite3_column_blob(st, 0);

		if (sqlite3_column_type(st, 0) != SQLITE_BLOB || len < 1 || len > REPLAY_ID_MAX ||
		    sqlite3_column_type(st, 1) != SQLITE_INTEGER) {
			rc = replay_fail(CL_ECORRUPT, err, errsz, path,
					 "corrupt: a stored id is malformed", NULL);
			break;
		}
		rc = replay_room(r, now, 0); /* what was accepted stays, even beyond max */
		if (rc == CL_OK)
			replay_add(r, id, (size_t)len, sqlite3_column_int64(st, 1));
	}
	if (rc == CL_OK && s != SQLITE_DONE)
		rc = replay_sql_fail(r->db, s, path, err, errsz);
	sqlite3_finalize(st);
	return rc;
}

int replay_open(const char *path, size_t max, int64_t now, struct replay **out, char *err,
		size_t errsz)
{
	struct replay *r = NULL;
	int rc, s, fd;

	if (!path || !out)
		return CL_EINVAL;
	/* Created here so that it is 0600 from the start; O_NOFOLLOW: never through a link. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return replay_fail(errno == EACCES || errno == EROFS ? CL_EPERM : CL_EIO, err,
				   errsz, path, "cannot be opened for writing", strerror(errno));
	close(fd);
	rc = replay_new(max, &r);
	if (rc != CL_OK)
		return rc;
	s = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (s == SQLITE_OK && sqlite3_db_readonly(r->db, "main") != 0)
		s = SQLITE_READONLY;
	if (s != SQLITE_OK) {
		rc = replay_sql_fail(r->db, s, path, err, errsz);
		goto out;
	}
	sqlite3_busy_timeout(r->db, REPLAY_BUSY_MS);
	rc = replay_schema(r, path, err, errsz);
	if (rc == CL_OK)
		rc = replay_create(r, path, err, errsz);
	if (rc == CL_OK) {
		s = sqlite3_prepare_v2(r->db,
				       "INSERT OR REPLACE INTO replay(id, expires_at) VALUES(?, ?)",
				       -1, &r->put, NULL);
		if (s == SQLITE_OK)
			s = sqlite3_prepare_v2(r->db, "DELETE FROM replay WHERE expires_at < ?", -1,
					       &r->prune, NULL);
		if (s != SQLITE_OK)
			rc = replay_sql_fail(r->db, s, path, err, errsz);
	}
	if (rc == CL_OK) {
		replay_prune(r, now);
		rc = replay_load(r, now, path, err, errsz);
	}
	if (rc != CL_OK)
		goto out;
	*out = r;
	r = NULL;
out:
	replay_free(r);
	return rc;
}

int replay_open_in(const char *dir, const char *file, size_t max, int64_t now, struct replay **out,
		   char *err, size_t errsz)
{
	char path[4096];
	int n;

	if (!dir || !file || !out)
		return CL_EINVAL;
	n = snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= sizeof(path))
		return replay_fail(CL_ELIMIT, err, errsz, file, "path too long", NULL);
	return replay_open(path, max, now, out, err, errsz);
}
