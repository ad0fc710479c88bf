#include "node/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "common/log.h"

#define STORE_PATH_MAX 4096

struct node_store {
	sqlite3 *db;
};

/*
 * Forward migrations: node_store_migrations[i] takes the schema from version i
 * to version i + 1, applied in one transaction each. Append, never edit.
 */
/* CHECKs use OR chains, not IN lists: an IN list costs an ephemeral table per INSERT. */
static const char *const node_store_migrations[] = {
    /* v1: identity, persons, events, imports */
    "CREATE TABLE meta(key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE persons("
    " id INTEGER PRIMARY KEY,"
    " person_ref TEXT NOT NULL UNIQUE,"
    " national_id TEXT," /* normalised: hyphens and spaces dropped */
    " id_country TEXT,"
    " code_status TEXT NOT NULL CHECK(code_status='valid' OR code_status='invalid' OR"
    "  code_status='unchecked' OR code_status='absent'),"
    " given_name TEXT, family_name TEXT," /* as imported */
    " given_norm TEXT, family_norm TEXT," /* normalised for linkage */
    " birth_year INTEGER, birth_month INTEGER NOT NULL DEFAULT 0,"
    " birth_day INTEGER NOT NULL DEFAULT 0," /* 0 when only the year is known */
    " sex TEXT NOT NULL DEFAULT 'U' CHECK(sex='F' OR sex='M' OR sex='X' OR sex='U'),"
    " sharing TEXT NOT NULL DEFAULT 'allowed' CHECK(sharing='allowed' OR sharing='restricted'),"
    " linkable INTEGER NOT NULL CHECK(linkable=0 OR linkable=1),"
    " content_hash INTEGER NOT NULL,"
    " change_gen INTEGER NOT NULL," /* import that last added or changed the row */
    " import_gen INTEGER NOT NULL"  /* import that last saw the row */
    ");"
    "CREATE INDEX persons_change ON persons(change_gen);"
    "CREATE TABLE events("
    " id INTEGER PRIMARY KEY,"
    " event_ref TEXT NOT NULL UNIQUE,"
    " person_id INTEGER NOT NULL REFERENCES persons(id),"
    " event_type TEXT NOT NULL, category TEXT NOT NULL,"
    " occurred_at INTEGER NOT NULL," /* seconds since the epoch, UTC */
    " occurred_text TEXT NOT NULL,"  /* as imported */
    " role TEXT NOT NULL CHECK(role='victim' OR role='perpetrator' OR role='child'),"
    " other_person_id INTEGER REFERENCES persons(id),"
    " relationship TEXT,"
    " violence_forms INTEGER NOT NULL DEFAULT 0," /* 1 physical 2 psychological 4 sexual
						     8 economic */
    " risk_level TEXT, risk_score INTEGER, risk_instrument TEXT,"
    " child_threat_level INTEGER, referral_to TEXT,"
    " municipality TEXT NOT NULL,"
    " content_hash INTEGER NOT NULL,"
    " change_gen INTEGER NOT NULL,"
    " import_gen INTEGER NOT NULL"
    ");"
    /* no index on events(person_id) in v1: at 10 M events its random inserts would
       dominate the import; case histories add it in a later migration if they need it */
    "CREATE TABLE imports("
    " id INTEGER PRIMARY KEY," /* also the import generation */
    " started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL,"
    " persons_file TEXT, events_file TEXT," /* basenames */
    " persons_added INTEGER NOT NULL, persons_updated INTEGER NOT NULL,"
    " persons_unchanged INTEGER NOT NULL,"
    " events_added INTEGER NOT NULL, events_updated INTEGER NOT NULL,"
    " events_unchanged INTEGER NOT NULL,"
    " invalid_codes INTEGER NOT NULL, unlinkable INTEGER NOT NULL"
    ");",
    /* v2: the token cache of node/tokens.h (OPRF outputs are secrets: this file stays 0600) */
    "CREATE TABLE person_tokens("
    " person_id INTEGER PRIMARY KEY," /* persons.id; one row per evaluated person */
    " gen INTEGER NOT NULL,"	     /* the person's change_gen when evaluated */
    " key_epoch INTEGER NOT NULL,"
    " id_out BLOB CHECK(id_out IS NULL OR length(id_out)=32),"	   /* OPRF(country:code) */
    " demo_out BLOB CHECK(demo_out IS NULL OR length(demo_out)=32)" /* OPRF(family|date|sex) */
    ");"
    "CREATE TABLE qgram_tokens("
    " field INTEGER NOT NULL, qgram TEXT NOT NULL,"
    " key_epoch INTEGER NOT NULL,"
    " output BLOB NOT NULL CHECK(length(output)=32),"
    " PRIMARY KEY(field, qgram)"
    ") WITHOUT ROWID;"
    "CREATE TABLE token_state("
    " id INTEGER PRIMARY KEY CHECK(id=1),"
    " filled_gen INTEGER NOT NULL DEFAULT 0," /* every person with change_gen <= it is cached */
    " key_epoch INTEGER NOT NULL DEFAULT 0,"  /* 0: never filled, or a re-key under way */
    " filled_at INTEGER NOT NULL DEFAULT 0,"
    " handle_key BLOB CHECK(handle_key IS NULL OR length(handle_key)=32)" /* row handles */
    ");"
    "INSERT INTO token_state(id) VALUES (1);",
};

static const char *const node_agency_types[] = {
    "police",  "municipal_police", "social_services", "child_rights", "health",	   "ngo",
    "shelter", "probation",	   "prosecutor",      "court",	      "education",
};

int node_store_agency_type_valid(const char *type)
{
	size_t i;

	if (!type)
		return 0;
	for (i = 0; i < sizeof(node_agency_types) / sizeof(node_agency_types[0]); i++)
		if (!strcmp(type, node_agency_types[i]))
			return 1;
	return 0;
}

static int store_path(const char *dir, const char *suffix, char *buf, size_t bufsz)
{
	int n = snprintf(buf, bufsz, "%s/%s%s", dir, NODE_STORE_FILE, suffix);

	if (n < 0 || (size_t)n >= bufsz)
		return CL_ELIMIT;
	return 0;
}

static int store_exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		log_event(LOG_LEVEL_ERROR, "store_sql", "err=\"%s\"", sqlite3_errmsg(db));
		return CL_ESQL;
	}
	return 0;
}

/* Runs a query whose first column of the first row is an integer. */
static int store_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_ESQL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	*out = sqlite3_column_int64(st, 0);
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

static int store_pragmas(sqlite3 *db)
{
	int rc;

	sqlite3_busy_timeout(db, 5000);
	rc = store_exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
			    "PRAGMA synchronous=FULL;");
	return rc;
}

static int store_migrate(sqlite3 *db)
{
	const int known = (int)(sizeof(node_store_migrations) / sizeof(node_store_migrations[0]));
	int64_t version = 0;
	char sql[64];
	int rc;

	rc = store_int(db, "PRAGMA user_version", &version);
	if (rc)
		goto out;
	if (version > known) {
		rc = CL_ESCHEMA;
		goto out;
	}
	while (version < known) {
		rc = store_exec(db, "BEGIN IMMEDIATE");
		if (rc)
			goto out;
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", (int)version + 1);
		rc = store_exec(db, node_store_migrations[version]);
		if (!rc)
			rc = store_exec(db, sql);
		if (!rc)
			rc = store_exec(db, "COMMIT");
		if (rc) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
		log_event(LOG_LEVEL_INFO, "store_migrated", "version=%d", (int)version + 1);
		version++;
	}
out:
	return rc;
}

static int store_meta_valid(const struct node_store_meta *m)
{
	size_t i, n;

	n = strnlen(m->agency_id, sizeof(m->agency_id));
	if (n == 0 || n >= sizeof(m->agency_id))
		return 0;
	for (i = 0; i < n; i++) {
		char c = m->agency_id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return 0;
	}
	if (!node_store_agency_type_valid(m->agency_type))
		return 0;
	n = strnlen(m->municipality, sizeof(m->municipality));
	if (n == 0 || n >= sizeof(m->municipality))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)m->municipality[i] < 0x20)
			return 0;
	if (strnlen(m->country, sizeof(m->country)) != 2)
		return 0;
	for (i = 0; i < 2; i++)
		if (m->country[i] < 'A' || m->country[i] > 'Z')
			return 0;
	return 1;
}

static int store_put_meta(sqlite3 *db, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_ESQL;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int node_store_init(const char *dir, const struct node_store_meta *meta)
{
	char path[STORE_PATH_MAX], created[32], extra[STORE_PATH_MAX];
	sqlite3 *db = NULL;
	mode_t old_mask;
	int fd = -1, rc, made_file = 0;

	if (!dir || !meta || !*dir)
		return CL_EINVAL;
	if (!store_meta_valid(meta))
		return CL_EINVAL;
	rc = store_path(dir, "", path, sizeof(path));
	if (rc)
		return rc;

	old_mask = umask(077);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		rc = errno == EACCES ? CL_EPERM : CL_EIO;
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = errno == EEXIST ? CL_EEXIST : errno == EACCES ? CL_EPERM : CL_EIO;
		goto out;
	}
	made_file = 1;
	close(fd);
	fd = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	rc = store_pragmas(db);
	if (!rc)
		rc = store_migrate(db);
	if (rc)
		goto out;
	snprintf(created, sizeof(created), "%lld", (long long)time(NULL));
	rc = store_exec(db, "BEGIN IMMEDIATE");
	if (rc)
		goto out;
	rc = store_put_meta(db, "agency_id", meta->agency_id);
	if (!rc)
		rc = store_put_meta(db, "agency_type", meta->agency_type);
	if (!rc)
		rc = store_put_meta(db, "municipality", meta->municipality);
	if (!rc)
		rc = store_put_meta(db, "country", meta->country);
	if (!rc)
		rc = store_put_meta(db, "created_at", created);
	if (!rc)
		rc = store_exec(db, "COMMIT");
	if (rc) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	made_file = 0;
out:
	if (db)
		sqlite3_close(db);
	if (made_file) {
		unlink(path);
		if (!store_path(dir, "-wal", extra, sizeof(extra)))
			unlink(extra);
		if (!store_path(dir, "-shm", extra, sizeof(extra)))
			unlink(extra);
	}
	umask(old_mask);
	return rc;
}

int node_store_open(const char *dir, struct node_store **out)
{
	char path[STORE_PATH_MAX];
	struct node_store *s = NULL;
	struct stat sb;
	int64_t n = 0;
	mode_t old_mask;
	int rc;

	if (!dir || !out)
		return CL_EINVAL;
	rc = store_path(dir, "", path, sizeof(path));
	if (rc)
		return rc;
	if (stat(path, &sb) != 0)
		return errno == ENOENT ? CL_ENOTFOUND : CL_EIO;
	s = calloc(1, sizeof(*s));
	if (!s)
		return CL_ENOMEM;
	old_mask = umask(077); /* -wal and -shm are created 0600 */
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* before the first read: another connection closing the WAL must not read as corrupt */
	sqlite3_busy_timeout(s->db, 5000);
	rc = store_int(s->db, "PRAGMA user_version", &n);
	if (rc || n == 0) { /* not a database, or not initialised by node_store_init */
		rc = CL_ECORRUPT;
		goto out;
	}
	rc = store_pragmas(s->db);
	if (rc)
		goto out;
	rc = store_migrate(s->db);
	if (rc)
		goto out;
	rc = store_int(s->db, "SELECT count(*) FROM meta WHERE key='agency_id'", &n);
	if (rc || n != 1) {
		rc = CL_ECORRUPT;
		goto out;
	}
	*out = s;
	s = NULL;
out:
	umask(old_mask);
	node_store_close(s);
	return rc;
}

void node_store_close(struct node_store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	free(s);
}

sqlite3 *node_store_db(struct node_store *s)
{
	return s ? s->db : NULL;
}

static int store_get_text(sqlite3 *db, const char *key, char *buf, size_t bufsz)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *v;
	int rc = CL_ESQL, n;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key=?", -1, &st, NULL) !=
	    SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = CL_ECORRUPT;
		goto out;
	}
	v = sqlite3_column_text(st, 0);
	n = sqlite3_column_bytes(st, 0);
	if (!v || n < 0 || (size_t)n >= bufsz) {
		rc = CL_ECORRUPT;
		goto out;
	}
	memcpy(buf, v, (size_t)n);
	buf[n] = '\0';
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

int node_store_get_meta(struct node_store *s, struct node_store_meta *out)
{
	struct node_store_meta m;
	char created[32];
	int64_t version = 0;
	int rc;

	if (!s || !out)
		return CL_EINVAL;
	memset(&m, 0, sizeof(m));
	rc = store_get_text(s->db, "agency_id", m.agency_id, sizeof(m.agency_id));
	if (!rc)
		rc = store_get_text(s->db, "agency_type", m.agency_type, sizeof(m.agency_type));
	if (!rc)
		rc = store_get_text(s->db, "municipality", m.municipality, sizeof(m.municipality));
	if (!rc)
		rc = store_get_text(s->db, "country", m.country, sizeof(m.country));
	if (!rc)
		rc = store_get_text(s->db, "created_at", created, sizeof(created));
	if (!rc)
		rc = store_int(s->db, "PRAGMA user_version", &version);
	if (rc)
		return rc;
	m.created_at = strtoll(created, NULL, 10);
	m.schema_version = (int)version;
	*out = m;
	return 0;
}

static void store_time(int64_t t, char *buf)
{
	cldate_format_time(t, buf);
}

int node_store_status(struct node_store *s, FILE *out)
{
	static const char *const code_sql =
	    "SELECT count(*), coalesce(sum(code_status='valid'),0),"
	    " coalesce(sum(code_status='invalid'),0), coalesce(sum(code_status='unchecked'),0),"
	    " coalesce(sum(code_status='absent'),0), coalesce(sum(linkable=0),0),"
	    " coalesce(sum(sharing='restricted'),0) FROM persons";
	struct node_store_meta m;
	sqlite3_stmt *st = NULL;
	char t1[32], t2[32];
	int rc, step;

	if (!s || !out)
		return CL_EINVAL;
	rc = node_store_get_meta(s, &m);
	if (rc)
		goto out;
	store_time(m.created_at, t1);
	fprintf(out,
		"agency:         %s\ntype:           %s\nmunicipality:   %s\n"
		"country:        %s\ncreated:        %s\nschema version: %d\n",
		m.agency_id, m.agency_type, m.municipality, m.country, t1, m.schema_version);

	rc = CL_ESQL;
	if (sqlite3_prepare_v2(s->db, code_sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		goto out;
	fprintf(out,
		"persons:        %lld (codes: %lld valid, %lld invalid, %lld unchecked, %lld "
		"absent; %lld unlinkable; %lld restricted)\n",
		(long long)sqlite3_column_int64(st, 0), (long long)sqlite3_column_int64(st, 1),
		(long long)sqlite3_column_int64(st, 2), (long long)sqlite3_column_int64(st, 3),
		(long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5),
		(long long)sqlite3_column_int64(st, 6));
	sqlite3_finalize(st);
	st = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT count(*), min(occurred_at), max(occurred_at) FROM events",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		goto out;
	fprintf(out, "events:         %lld", (long long)sqlite3_column_int64(st, 0));
	if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
		store_time(sqlite3_column_int64(st, 1), t1);
		store_time(sqlite3_column_int64(st, 2), t2);
		fprintf(out, " (%s .. %s)", t1, t2);
	}
	fputc('\n', out);
	sqlite3_finalize(st);
	st = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT category, event_type, count(*) FROM events"
			       " GROUP BY category, event_type ORDER BY category, event_type",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		fprintf(out, "  %-22s %-28s %lld\n", (const char *)sqlite3_column_text(st, 0),
			(const char *)sqlite3_column_text(st, 1),
			(long long)sqlite3_column_int64(st, 2));
	if (step != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT finished_at, coalesce(persons_file,'-'),"
			       " coalesce(events_file,'-'), persons_added, persons_updated,"
			       " persons_unchanged, events_added, events_updated, events_unchanged"
			       " FROM imports ORDER BY id DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		store_time(sqlite3_column_int64(st, 0), t1);
		fprintf(
		    out,
		    "last import:    %s persons=%s (%lld added, %lld updated, %lld unchanged)"
		    " events=%s (%lld added, %lld updated, %lld unchanged)\n",
		    t1, (const char *)sqlite3_column_text(st, 1),
		    (long long)sqlite3_column_int64(st, 3), (long long)sqlite3_column_int64(st, 4),
		    (long long)sqlite3_column_int64(st, 5),
		    (const char *)sqlite3_column_text(st, 2),
		    (long long)sqlite3_column_int64(st, 6), (long long)sqlite3_column_int64(st, 7),
		    (long long)sqlite3_column_int64(st, 8));
	} else if (step == SQLITE_DONE) {
		fprintf(out, "last import:    never\n");
	} else {
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}
