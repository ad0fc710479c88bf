/*
 * Tests for common/audit: append and verify; tampering with the SQLite file
 * directly (a changed byte, a removed entry, two entries swapped, a removed
 * tail) is reported at the first broken entry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/audit.h"
#include "common/cl_error.h"

#define N_ENTRIES 6

static char db_path[1024];

static void fresh_log(const char *name)
{
	const char *tmp = getenv("CASELINK_TMP");
	char p[1100];
	struct audit *a = NULL;
	char details[64];
	int i;

	snprintf(db_path, sizeof(db_path), "%s/audit-%s.db", tmp ? tmp : "/tmp", name);
	unlink(db_path);
	snprintf(p, sizeof(p), "%s-wal", db_path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db_path);
	unlink(p);
	assert_int_equal(audit_open(db_path, AUDIT_OPEN_CREATE, &a), CL_OK);
	for (i = 1; i <= N_ENTRIES; i++) {
		uint64_t seq = 0;

		snprintf(details, sizeof(details), "elements=%d epoch=1 outcome=ok", i * 10);
		assert_int_equal(
		    audit_append(a, i % 2 ? "node-a" : "node-b", "blind_evaluate", details, &seq),
		    CL_OK);
		assert_int_equal(seq, (uint64_t)i);
	}
	audit_close(a);
}

/* Runs one SQL statement on the log file behind the audit module's back. */
static void tamper(const char *sql)
{
	sqlite3 *db = NULL;
	char *err = NULL;

	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("tamper: %s", err ? err : "?");
	assert_int_equal(sqlite3_changes(db) > 0 || strstr(sql, "UPDATE") == NULL, 1);
	sqlite3_close(db);
}

/* Verifies and returns the broken seq (0 when intact). */
static uint64_t verify(char *why, size_t whysz)
{
	struct audit *a = NULL;
	uint64_t entries = 0, broken = 0;
	int rc;

	assert_int_equal(audit_open(db_path, 0, &a), CL_OK);
	rc = audit_verify(a, &entries, &broken, why, whysz);
	audit_close(a);
	if (rc == CL_OK)
		return 0;
	assert_int_equal(rc, CL_EAUDIT);
	assert_true(broken > 0);
	return broken;
}

static void test_append_verify(void **state)
{
	struct audit *a = NULL;
	struct stat st;
	uint64_t entries = 0, broken = 0, seq = 0;
	uint8_t hash[AUDIT_HASH_LEN], zero[AUDIT_HASH_LEN];
	char why[256] = "";

	(void)state;
	fresh_log("ok");
	assert_int_equal(stat(db_path, &st), 0);
	assert_int_equal(st.st_mode & 077, 0);
	assert_int_equal(audit_open(db_path, 0, &a), CL_OK);
	assert_int_equal(audit_verify(a, &entries, &broken, why, sizeof(why)), CL_OK);
	assert_int_equal(entries, N_ENTRIES);
	assert_int_equal(audit_head(a, &seq, hash), CL_OK);
	assert_int_equal(seq, N_ENTRIES);
	memset(zero, 0, sizeof(zero));
	assert_memory_not_equal(hash, zero, AUDIT_HASH_LEN);
	/* Appending after reopening continues the chain. */
	assert_int_equal(audit_append(a, "operator", "key_rotate", "epoch=2", &seq), CL_OK);
	assert_int_equal(seq, N_ENTRIES + 1);
	assert_int_equal(audit_verify(a, &entries, &broken, why, sizeof(why)), CL_OK);
	assert_int_equal(entries, N_ENTRIES + 1);
	/* Bad fields are refused, not stored. */
	assert_int_equal(audit_append(a, "node-a", "x", "line\nbreak", NULL), CL_EINVAL);
	{
		char big[AUDIT_DETAILS_MAX + 2];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(audit_append(a, "node-a", "x", big, NULL), CL_ELIMIT);
	}
	assert_int_equal(audit_verify(a, &entries, &broken, why, sizeof(why)), CL_OK);
	assert_int_equal(entries, N_ENTRIES + 1);
	audit_close(a);
	/* A missing file is not created without the flag. */
	assert_int_equal(audit_open("/nonexistent-dir/x.db", 0, &a), CL_ENOTFOUND);
}

static void test_changed_byte(void **state)
{
	char why[256] = "";

	(void)state;
	fresh_log("byte");
	/* One byte of entry 4's details: "elements=40" becomes "elements=41". */
	tamper("UPDATE audit_log SET details = 'elements=41 epoch=1 outcome=ok' WHERE seq = 4");
	assert_int_equal(verify(why, sizeof(why)), 4);
	assert_non_null(strstr(why, "entry 4"));

	fresh_log("actor");
	tamper("UPDATE audit_log SET actor = 'node-c' WHERE seq = 2");
	assert_int_equal(verify(why, sizeof(why)), 2);

	fresh_log("time");
	tamper("UPDATE audit_log SET time = time + 1 WHERE seq = 5");
	assert_int_equal(verify(why, sizeof(why)), 5);

	/* Rewriting an entry's hash too only moves the break to the next link. */
	fresh_log("rehash");
	tamper("UPDATE audit_log SET hash = zeroblob(32) WHERE seq = 3");
	assert_int_equal(verify(why, sizeof(why)), 3);
}

static void test_removed_entry(void **state)
{
	char why[256] = "";

	(void)state;
	fresh_log("removed");
	tamper("DELETE FROM audit_log WHERE seq = 3");
	assert_int_equal(verify(why, sizeof(why)), 3);
	assert_non_null(strstr(why, "missing"));

	/* Removed and the later entries renumbered to close the gap. */
	fresh_log("renumbered");
	tamper("DELETE FROM audit_log WHERE seq = 3;"
	       "UPDATE audit_log SET seq = seq - 1 WHERE seq > 3");
	assert_int_equal(verify(why, sizeof(why)), 3);

	/* The first entry. */
	fresh_log("first");
	tamper("DELETE FROM audit_log WHERE seq = 1");
	assert_int_equal(verify(why, sizeof(why)), 1);

	/* The last entry: the head record still names it. */
	fresh_log("tail");
	tamper("DELETE FROM audit_log WHERE seq = 6");
	assert_int_equal(verify(why, sizeof(why)), 6);
	assert_non_null(strstr(why, "missing"));
}

static void test_swapped_entries(void **state)
{
	char why[256] = "";

	(void)state;
	fresh_log("swap");
	/* Exchange everything but the position of entries 3 and 4. */
	tamper("CREATE TEMP TABLE t AS SELECT * FROM audit_log WHERE seq IN (3, 4);"
	       "UPDATE audit_log SET (time, actor, action, details, prev_hash, hash) ="
	       " (SELECT time, actor, action, details, prev_hash, hash FROM t"
	       "  WHERE t.seq = 7 - audit_log.seq) WHERE seq IN (3, 4)");
	assert_int_equal(verify(why, sizeof(why)), 3);

	/* Exchange the seq numbers themselves. */
	fresh_log("swapseq");
	tamper("UPDATE audit_log SET seq = 100 WHERE seq = 2;"
	       "UPDATE audit_log SET seq = 2 WHERE seq = 5;"
	       "UPDATE audit_log SET seq = 5 WHERE seq = 100");
	assert_int_equal(verify(why, sizeof(why)), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_verify),
	    cmocka_unit_test(test_changed_byte),
	    cmocka_unit_test(test_removed_entry),
	    cmocka_unit_test(test_swapped_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
