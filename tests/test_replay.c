#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/cl_error.h"
#include "common/replay.h"

static char dir[512], path[600];

static int setup(void **state)
{
	const char *tmp = getenv("CASELINK_TMP");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/replay.%d", tmp ? tmp : "/tmp", (int)getpid());
	snprintf(path, sizeof(path), "%s/%s", dir, REPLAY_FILE);
	return mkdir(dir, 0700) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[700];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fresh cache file for one test. */
static void fresh(void)
{
	char p[700];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

/* Rows in the file, read with SQLite directly (not through the module under test). */
static long rows_in_file(const char *where)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char sql[200];
	long n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM replay%s%s", where ? " WHERE " : "",
		 where ? where : "");
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void id_of(uint32_t i, uint8_t id[16])
{
	memset(id, 0x5a, 16);
	memcpy(id, &i, sizeof(i));
}

static void test_replay_refused_until_expiry(void **state)
{
	struct replay *r = NULL;
	uint8_t a[16], b[16];

	(void)state;
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	assert_int_equal(replay_new(0, &r), CL_OK);
	assert_int_equal(replay_check(r, a, sizeof(a), 1300, 1000), CL_OK);
	assert_int_equal(replay_check(r, b, sizeof(b), 1300, 1000), CL_OK);
	assert_int_equal(replay_check(r, a, sizeof(a), 1300, 1200), CL_EREPLAY);
	assert_int_equal(replay_check(r, a, sizeof(a), 1300, 1300), CL_EREPLAY);
	/* A prefix is another id. */
	assert_int_equal(replay_check(r, a, 15, 1300, 1000), CL_OK);
	/* Once expired the id is forgotten (an expired request is refused for expiry anyway). */
	assert_int_equal(replay_check(r, a, sizeof(a), 1700, 1301), CL_OK);
	assert_int_equal(replay_check(r, NULL, 16, 1, 1), CL_EINVAL);
	assert_int_equal(replay_check(r, a, 0, 1, 1), CL_EINVAL);
	assert_int_equal(replay_check(r, a, REPLAY_ID_MAX + 1, 1, 1), CL_EINVAL);
	replay_free(r);
}

/* Many ids through several resizes: every one is remembered; a full cache refuses. */
static void test_bounded(void **state)
{
	enum { N = 5000 };
	struct replay *r = NULL;
	uint8_t id[8];
	uint32_t i;

	(void)state;
	assert_int_equal(replay_new(N, &r), CL_OK);
	for (i = 0; i < N; i++) {
		memcpy(id, &i, sizeof(i));
		memset(id + 4, 0xab, 4);
		assert_int_equal(replay_check(r, id, sizeof(id), 100, 0), CL_OK);
	}
	for (i = 0; i < N; i++) {
		memcpy(id, &i, sizeof(i));
		assert_int_equal(replay_check(r, id, sizeof(id), 100, 0), CL_EREPLAY);
	}
	i = N;
	memcpy(id, &i, sizeof(i));
	assert_int_equal(replay_check(r, id, sizeof(id), 100, 0), CL_EBUSY);
	/* After the ids expire there is room again. */
	assert_int_equal(replay_check(r, id, sizeof(id), 300, 200), CL_OK);
	replay_free(r);
}

/* What a party accepted before it stopped is refused after it starts again. */
static void test_persists_across_restart(void **state)
{
	struct replay *r = NULL;
	char err[512] = "";
	uint8_t a[16], b[32];

	(void)state;
	fresh();
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	assert_int_equal(replay_open(path, 0, 1000, &r, err, sizeof(err)), CL_OK);
	assert_int_equal(replay_check(r, a, sizeof(a), 1300, 1000), CL_OK);
	assert_int_equal(replay_check(r, b, sizeof(b), 1600, 1000), CL_OK);
	assert_int_equal(replay_check(r, a, sizeof(a), 1300, 1001), CL_EREPLAY);
	replay_free(r); /* the party stops */
	assert_int_equal(rows_in_file(NULL), 2);
	r = NULL;
	assert_int_equal(replay_open(path, 0, 1100, &r, err, sizeof(err)), CL_OK);
	assert_int_equal(replay_check(r, a, sizeof(a), 1300, 1100), CL_EREPLAY);
	assert_int_equal(replay_check(r, b, sizeof(b), 1600, 1100), CL_EREPLAY);
	assert_int_equal(replay_check(r, b, 31, 1600, 1100), CL_OK); /* a prefix is another id */
	replay_free(r);
	/* Started again after a's expiry: a is pruned from the file, b is still refused. */
	r = NULL;
	assert_int_equal(replay_open(path, 0, 1301, &r, err, sizeof(err)), CL_OK);
	assert_int_equal(rows_in_file(NULL), 2);
	assert_int_equal(rows_in_file("expires_at < 1301"), 0);
	assert_int_equal(replay_check(r, b, sizeof(b), 1600, 1301), CL_EREPLAY);
	assert_int_equal(replay_check(r, a, sizeof(a), 1700, 1301), CL_OK);
	replay_free(r);
	/* The file is the owner's alone. */
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
}

/*
 * Bounded and pruned: with max ids the file never holds more than max rows, the expired ids
 * are deleted as new ones come, and a full cache of live ids refuses and writes nothing.
 */
static void test_file_bounded_and_pruned(void **state)
{
	enum { MAX = 64, N = 2000, TTL = 10 };
	struct replay *r = NULL;
	char err[512] = "";
	uint8_t id[16];
	long most = 0, n;
	uint32_t i;

	(void)state;
	fresh();
	assert_int_equal(replay_open(path, MAX, 0, &r, err, sizeof(err)), CL_OK);
	for (i = 0; i < N; i++) { /* one id a second, each valid TTL s */
		id_of(i, id);
		assert_int_equal(replay_check(r, id, sizeof(id), (int64_t)i + TTL, i), CL_OK);
		if (i % 97 == 0) {
			n = rows_in_file(NULL);
			most = n > most ? n : most;
		}
	}
	assert_true(most <= MAX);
	assert_true(rows_in_file(NULL) <= MAX);
	/* Every id still live is in the file: the last TTL + 1 (expiry at or after now). */
	assert_true(rows_in_file("expires_at >= 1999") >= TTL + 1);
	/* At now = N the ids N-TTL..N-1 are live (expiry N..N+TTL-1): room for MAX - TTL more. */
	for (i = 0, n = 0; i < MAX; i++) {
		int rc;

		id_of(100000 + i, id);
		rc = replay_check(r, id, sizeof(id), 5000, N);
		assert_true(rc == CL_OK || rc == CL_EBUSY);
		n += rc == CL_OK;
	}
	assert_int_equal(n, MAX - TTL);
	assert_int_equal(rows_in_file(NULL), MAX);
	id_of(200000, id);
	assert_int_equal(replay_check(r, id, sizeof(id), 5000, N), CL_EBUSY);
	assert_true(rows_in_file(NULL) <= MAX);
	assert_int_equal(rows_in_file("id = x'400d0300' || x'5a5a5a5a5a5a5a5a5a5a5a5a'"), 0);
	replay_free(r);
	/* At the next start the file holds what the cache held: still bounded. */
	r = NULL;
	assert_int_equal(replay_open(path, MAX, N, &r, err, sizeof(err)), CL_OK);
	assert_int_equal(replay_check(r, id, sizeof(id), 5000, N), CL_EBUSY);
	replay_free(r);
	r = NULL;
	assert_int_equal(replay_open(path, MAX, 5001, &r, err, sizeof(err)), CL_OK);
	assert_int_equal(rows_in_file(NULL), 0);
	assert_int_equal(replay_check(r, id, sizeof(id), 5300, 5001), CL_OK);
	replay_free(r);
}

/* A file that is not a replay cache, or is damaged, is an error naming it: never an empty cache. */
static void test_corrupt_or_foreign_file(void **state)
{
	struct replay *r = NULL;
	char err[512] = "";
	sqlite3 *db = NULL;
	FILE *f;

	(void)state;
	fresh();
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not a database, but it is long enough to look like a header of one......"
	      "................................................................................",
	      f);
	fclose(f);
	assert_int_equal(replay_open(path, 0, 1000, &r, err, sizeof(err)), CL_ECORRUPT);
	assert_null(r);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "corrupt or not a replay cache"));
	assert_non_null(strstr(err, "refusing to serve without replay protection"));

	/* Another SQLite file (say the audit log named by mistake). */
	fresh();
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE audit_log(seq INTEGER)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(replay_open(path, 0, 1000, &r, err, sizeof(err)), CL_ESCHEMA);
	assert_non_null(strstr(err, "not a replay cache"));

	/* A replay table whose ids are not ids. */
	fresh();
	assert_int_equal(replay_open(path, 0, 1000, &r, err, sizeof(err)), CL_OK);
	replay_free(r);
	r = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO replay VALUES(x'', 5000)", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(replay_open(path, 0, 1000, &r, err, sizeof(err)), CL_ECORRUPT);
	assert_non_null(strstr(err, "a stored id is malformed"));
	assert_null(r);
}

/* A cache that cannot be written: refused at open; a write failing later refuses the request. */
static void test_unwritable(void **state)
{
	struct replay *r = NULL;
	struct rlimit old, lim;
	char err[512] = "", p[700];
	uint8_t a[16], b[16];
	int rc;

	(void)state;
	snprintf(p, sizeof(p), "%s/no-such-folder/%s", dir, REPLAY_FILE);
	assert_int_equal(replay_open(p, 0, 1000, &r, err, sizeof(err)), CL_EIO);
	assert_non_null(strstr(err, "cannot be opened for writing"));
	assert_non_null(strstr(err, "no-such-folder"));
	assert_int_equal(replay_open(dir, 0, 1000, &r, err, sizeof(err)), CL_EIO); /* a folder */
	if (geteuid() != 0) { /* root writes a 0400 file all the same */
		fresh();
		assert_int_equal(replay_open(path, 0, 1000, &r, err, sizeof(err)), CL_OK);
		replay_free(r);
		r = NULL;
		assert_int_equal(chmod(path, 0400), 0);
		rc = replay_open(path, 0, 1000, &r, err, sizeof(err));
		assert_true(rc == CL_EPERM);
		assert_non_null(strstr(err, "refusing to serve"));
		assert_int_equal(chmod(path, 0600), 0);
	}
	/* Disk full while serving (a file-size limit): the id is refused, not half-remembered. */
	fresh();
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	assert_int_equal(replay_open(path, 0, 1000, &r, err, sizeof(err)), CL_OK);
	assert_int_equal(replay_check(r, a, sizeof(a), 1300, 1000), CL_OK);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 1;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = replay_check(r, b, sizeof(b), 1300, 1000);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(rc, CL_EIO);
	assert_int_equal(replay_check(r, a, sizeof(a), 1300, 1000), CL_EREPLAY);
	/* b was refused, so it was never accepted: once the disk has room it is accepted once. */
	assert_int_equal(replay_check(r, b, sizeof(b), 1300, 1000), CL_OK);
	assert_int_equal(replay_check(r, b, sizeof(b), 1300, 1000), CL_EREPLAY);
	replay_free(r);
	r = NULL;
	assert_int_equal(replay_open(path, 0, 1000, &r, err, sizeof(err)), CL_OK);
	assert_int_equal(replay_check(r, b, sizeof(b), 1300, 1000), CL_EREPLAY);
	replay_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replay_refused_until_expiry),
	    cmocka_unit_test(test_bounded),
	    cmocka_unit_test(test_persists_across_restart),
	    cmocka_unit_test(test_file_bounded_and_pruned),
	    cmocka_unit_test(test_corrupt_or_foreign_file),
	    cmocka_unit_test(test_unwritable),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
