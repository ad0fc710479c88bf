/*
 * Tests of node/store: init, reopen, refusal to overwrite, file modes, WAL and
 * foreign keys, a schema version newer than the program, not-a-store files.
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

#include "common/cl_error.h"
#include "node/store.h"

static int t_counter;

struct t_ctx {
	char parent[400], dir[512], db[600];
};

static int t_setup(void **state)
{
	struct t_ctx *c = calloc(1, sizeof(*c));
	const char *tmp = getenv("CASELINK_TMP");

	assert_non_null(c);
	snprintf(c->parent, sizeof(c->parent), "%s/node_store_%d_%d", tmp ? tmp : "/tmp",
		 (int)getpid(), t_counter++);
	snprintf(c->dir, sizeof(c->dir), "%s/data", c->parent);
	snprintf(c->db, sizeof(c->db), "%s/node.db", c->dir);
	assert_int_equal(mkdir(c->parent, 0700), 0);
	*state = c;
	return 0;
}

static int t_teardown(void **state)
{
	struct t_ctx *c = *state;
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->parent);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	free(c);
	return 0;
}

static void t_meta(struct node_store_meta *m, const char *agency)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->agency_id, sizeof(m->agency_id), "%s", agency);
	strcpy(m->agency_type, "social_services");
	strcpy(m->municipality, "Liepāja");
	strcpy(m->country, "LV");
}

static void test_init_and_reopen(void **state)
{
	struct t_ctx *c = *state;
	struct node_store_meta m, got;
	struct node_store *s = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sb;
	char wal[700];

	t_meta(&m, "lv-liepaja-social");
	assert_int_equal(node_store_init(c->dir, &m), 0);
	assert_int_equal(stat(c->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(stat(c->db, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	assert_int_equal(node_store_open(c->dir, &s), 0);
	assert_int_equal(node_store_get_meta(s, &got), 0);
	assert_string_equal(got.agency_id, "lv-liepaja-social");
	assert_string_equal(got.agency_type, "social_services");
	assert_string_equal(got.municipality, "Liepāja");
	assert_string_equal(got.country, "LV");
	assert_int_equal(got.schema_version, NODE_STORE_VERSION);
	assert_true(got.created_at > 1700000000);

	assert_int_equal(sqlite3_prepare_v2(node_store_db(s), "PRAGMA journal_mode", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(node_store_db(s), "PRAGMA foreign_keys", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	/* foreign keys are enforced: an event of an unknown person is refused */
	assert_int_not_equal(
	    sqlite3_exec(node_store_db(s),
			 "INSERT INTO events(event_ref, person_id, event_type,"
			 " category, occurred_at, occurred_text, role, municipality,"
			 " content_hash, change_gen, import_gen) VALUES ('E', 42,"
			 " 'intake', 'support', 0, '1970-01-01', 'victim', 'X', 0, 1,"
			 " 1)",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	/* a write creates the -wal file, mode 0600 too */
	assert_int_equal(sqlite3_exec(node_store_db(s),
				      "INSERT INTO meta(key, value) VALUES ('t', 'x')", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	snprintf(wal, sizeof(wal), "%s-wal", c->db);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(wal, sizeof(wal), "%s-shm", c->db);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	node_store_close(s);
}

static void test_refuses_overwrite(void **state)
{
	struct t_ctx *c = *state;
	struct node_store_meta m, got;
	struct node_store *s = NULL;

	t_meta(&m, "first");
	assert_int_equal(node_store_init(c->dir, &m), 0);
	t_meta(&m, "second");
	assert_int_equal(node_store_init(c->dir, &m), CL_EEXIST);
	assert_int_equal(node_store_open(c->dir, &s), 0);
	assert_int_equal(node_store_get_meta(s, &got), 0);
	assert_string_equal(got.agency_id, "first");
	node_store_close(s);
}

static void test_invalid_meta(void **state)
{
	struct t_ctx *c = *state;
	struct node_store_meta m;
	struct stat sb;

	t_meta(&m, "ok");
	strcpy(m.agency_type, "bakery");
	assert_int_equal(node_store_init(c->dir, &m), CL_EINVAL);
	t_meta(&m, "ok");
	strcpy(m.country, "lv");
	assert_int_equal(node_store_init(c->dir, &m), CL_EINVAL);
	t_meta(&m, "bad id/with slash");
	assert_int_equal(node_store_init(c->dir, &m), CL_EINVAL);
	t_meta(&m, "ok");
	m.municipality[0] = '\0';
	assert_int_equal(node_store_init(c->dir, &m), CL_EINVAL);
	assert_int_not_equal(stat(c->db, &sb), 0);
	assert_int_equal(node_store_agency_type_valid("child_rights"), 1);
	assert_int_equal(node_store_agency_type_valid("Police"), 0);
}

static void test_open_errors(void **state)
{
	struct t_ctx *c = *state;
	struct node_store_meta m;
	struct node_store *s = NULL;
	sqlite3 *db = NULL;
	FILE *f;

	assert_int_equal(node_store_open(c->dir, &s), CL_ENOTFOUND);
	assert_null(s);

	/* a version newer than the program knows */
	t_meta(&m, "x");
	assert_int_equal(node_store_init(c->dir, &m), 0);
	assert_int_equal(sqlite3_open(c->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(node_store_open(c->dir, &s), CL_ESCHEMA);
	assert_null(s);

	/* not a database at all */
	f = fopen(c->db, "wb");
	assert_non_null(f);
	fputs("this is not a database, just text that is long enough to look like a header\n", f);
	fclose(f);
	assert_int_equal(node_store_open(c->dir, &s), CL_ECORRUPT);
	assert_null(s);
}

static void test_migrates_forward_from_nothing(void **state)
{
	struct t_ctx *c = *state;
	struct node_store_meta m;
	struct node_store *s = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	t_meta(&m, "x");
	assert_int_equal(node_store_init(c->dir, &m), 0);
	assert_int_equal(node_store_open(c->dir, &s), 0);
	db = node_store_db(s);
	/* every table of the schema is there */
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT count(*) FROM sqlite_schema WHERE type='table'"
					    " AND name IN ('meta','persons','events','imports')",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 4);
	sqlite3_finalize(st);
	node_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_init_and_reopen, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_refuses_overwrite, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_meta, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_open_errors, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_migrates_forward_from_nothing, t_setup,
					    t_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
