/*
 * Tests of the caselink-node program as a process: init/import/status exit
 * statuses and messages, and a kill -9 in the middle of a large import leaving
 * the store at its previous state and still usable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "node/store.h"

struct t_ctx {
	char tmp[400], data[512], prog[512], out[512], err[512];
};

static int t_counter;

static int t_setup(void **state)
{
	struct t_ctx *c = calloc(1, sizeof(*c));
	const char *tmp = getenv("CASELINK_TMP"), *bin = getenv("CASELINK_BIN");

	assert_non_null(c);
	snprintf(c->tmp, sizeof(c->tmp), "%s/node_cli_%d_%d", tmp ? tmp : "/tmp", (int)getpid(),
		 t_counter++);
	assert_int_equal(mkdir(c->tmp, 0700), 0);
	snprintf(c->data, sizeof(c->data), "%s/data", c->tmp);
	snprintf(c->prog, sizeof(c->prog), "%s/caselink-node", bin ? bin : "bin");
	snprintf(c->out, sizeof(c->out), "%s/stdout", c->tmp);
	snprintf(c->err, sizeof(c->err), "%s/stderr", c->tmp);
	if (access(c->prog, X_OK) != 0) {
		fprintf(stderr, "caselink-node not built at %s\n", c->prog);
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int t_teardown(void **state)
{
	struct t_ctx *c = *state;
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	free(c);
	return 0;
}

/* Starts the program with args (NULL-terminated, after the program name); output to files. */
static pid_t t_spawn(struct t_ctx *c, const char *const *args)
{
	char *argv[32];
	pid_t pid;
	int i, fd;

	argv[0] = c->prog;
	for (i = 0; args[i] && i < 30; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(c->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		close(fd);
		fd = open(c->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(127);
		close(fd);
		execv(c->prog, argv);
		_exit(127);
	}
	return pid;
}

static int t_run(struct t_ctx *c, const char *const *args)
{
	int status = 0;
	pid_t pid = t_spawn(c, args);

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static char *t_slurp(const char *path)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void t_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void t_init(struct t_ctx *c)
{
	const char *args[] = {"init",	     "--data",	  c->data, "--agency",
			      "lv-riga-ngo", "--type",	  "ngo",   "--municipality",
			      "Rīga",	     "--country", "LV",	   NULL};

	assert_int_equal(t_run(c, args), 0);
}

static void test_init_import_status(void **state)
{
	struct t_ctx *c = *state;
	char persons[600], events[600];
	const char *again[] = {"init",	 "--data",	   c->data, "--agency",	 "other", "--type",
			       "police", "--municipality", "X",	    "--country", "LV",	  NULL};
	const char *badtype[] = {"init",   "--data", "/nonexistent/x", "--agency", "a",
				 "--type", "bakery", "--municipality", "X",	   "--country",
				 "LV",	   NULL};
	const char *import[] = {"import", "--data",   c->data, "--persons",
				persons,  "--events", events,  NULL};
	const char *status[] = {"status", "--data", c->data, NULL};
	const char *noargs[] = {"import", "--data", c->data, NULL};
	const char *unknown[] = {"import", "--data", c->data, "--bogus", NULL};
	char *s;

	t_init(c);
	assert_int_equal(t_run(c, again), 2);
	assert_non_null(strstr(t_slurp(c->err), "already exists"));
	assert_int_equal(t_run(c, badtype), 2);
	assert_non_null(strstr(t_slurp(c->err), "unknown agency type"));
	assert_int_equal(t_run(c, noargs), 2);
	assert_int_equal(t_run(c, unknown), 2);

	snprintf(persons, sizeof(persons), "%s/persons.csv", c->tmp);
	snprintf(events, sizeof(events), "%s/events.csv", c->tmp);
	t_write(persons, "person_ref,family_name,birth_date,sharing\nP1,Kalna,1980,restricted\n"
			 "P2,,,\n");
	t_write(events, "event_ref,person_ref,event_type,occurred_at,role\n"
			"E1,P1,intake,2024-01-01,victim\nE2,P2,intake,2999-01-01,victim\n");
	assert_int_equal(t_run(c, import), 1);
	s = t_slurp(c->err);
	assert_string_equal(s, "events.csv:3:occurred_at: date in the future\n"
			       "import rejected: 1 bad rows; nothing stored\n");

	t_write(events,
		"event_ref,person_ref,event_type,occurred_at,role\n"
		"E1,P1,intake,2024-01-01,victim\nE2,P2,conviction,2023-01-01,perpetrator\n");
	assert_int_equal(t_run(c, import), 0);
	assert_string_equal(t_slurp(c->out),
			    "persons.csv: 2 rows: 2 added, 0 updated, 0 unchanged\n"
			    "events.csv: 2 rows: 2 added, 0 updated, 0 unchanged\n"
			    "invalid personal codes: 0\n"
			    "unlinkable persons: 1\n"
			    "import 1 stored\n");
	assert_int_equal(t_run(c, status), 0);
	s = t_slurp(c->out);
	assert_non_null(strstr(s, "agency:         lv-riga-ngo\n"));
	assert_non_null(strstr(s, "type:           ngo\n"));
	assert_non_null(strstr(s, "municipality:   Rīga\n"));
	assert_non_null(strstr(s, "schema version: 2\n"));
	assert_non_null(strstr(s, "1 unlinkable; 1 restricted"));
	assert_non_null(strstr(s, "events:         2 (2023-01-01T00:00:00Z .. "
				  "2024-01-01T00:00:00Z)\n"));
	/* no personal data in the status */
	assert_null(strstr(s, "Kalna"));

	/* an unreadable input file is a configuration error: exit 2, nothing stored */
	{
		char missing[600];
		const char *im2[] = {"import", "--data", c->data, "--events", missing, NULL};

		snprintf(missing, sizeof(missing), "%s/missing.csv", c->tmp);
		assert_int_equal(t_run(c, im2), 2);
		assert_non_null(strstr(t_slurp(c->err), "missing.csv: cannot open"));
	}

	/* --progress prints progress lines on stderr even when it is not a terminal */
	{
		const char *prog[] = {"import", "--data",     c->data, "--events",
				      events,	"--progress", NULL};
		FILE *f = fopen(events, "wb");
		int i;

		assert_non_null(f);
		fputs("event_ref,person_ref,event_type,occurred_at,role\n", f);
		for (i = 0; i < 70000; i++)
			fprintf(f, "X%d,P1,intake,2024-01-01,victim\n", i);
		assert_int_equal(fclose(f), 0);
		assert_int_equal(t_run(c, prog), 0);
		assert_non_null(strstr(t_slurp(c->err), "\revents.csv: 65536 rows, "));
		assert_non_null(strstr(t_slurp(c->err), "\revents.csv: 70000 rows, 100%\n"));
	}

	/* a missing store is a usage/config error */
	{
		char nodata[600];
		const char *st2[] = {"status", "--data", nodata, NULL};

		snprintf(nodata, sizeof(nodata), "%s/none", c->tmp);
		assert_int_equal(t_run(c, st2), 2);
		assert_non_null(strstr(t_slurp(c->err), "no store"));
	}
}

static int64_t t_count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_kill_during_import(void **state)
{
	struct t_ctx *c = *state;
	char persons[600], events[600], wal[600];
	const char *first[] = {"import", "--data", c->data, "--persons", persons, NULL};
	const char *big[] = {"import", "--data",      c->data, "--events",
			     events,   "--cache-mib", "2",     NULL};
	struct node_store *s = NULL;
	struct timespec ts = {0, 2 * 1000 * 1000};
	struct stat sb;
	int64_t np, ne, ni;
	int status = 0, i, killed = 0;
	pid_t pid;
	FILE *f;

	t_init(c);
	snprintf(persons, sizeof(persons), "%s/persons.csv", c->tmp);
	snprintf(events, sizeof(events), "%s/events.csv", c->tmp);
	snprintf(wal, sizeof(wal), "%s/node.db-wal", c->data);
	f = fopen(persons, "wb");
	assert_non_null(f);
	fputs("person_ref,family_name,birth_date\n", f);
	for (i = 0; i < 1000; i++)
		fprintf(f, "P%d,Name%d,19%02d\n", i, i, 40 + i % 60);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(t_run(c, first), 0);

	f = fopen(events, "wb");
	assert_non_null(f);
	fputs("event_ref,person_ref,event_type,occurred_at,role,violence_forms\n", f);
	for (i = 0; i < 400000; i++)
		fprintf(f, "E%07d,P%d,police_callout,2023-%02d-%02dT10:00Z,victim,physical\n", i,
			(int)(((long)i * 7919) % 1000), 1 + i % 12, 1 + i % 28);
	assert_int_equal(fclose(f), 0);

	pid = t_spawn(c, big);
	/* wait until the import has written at least 4 MiB of its transaction to the WAL */
	for (i = 0; i < 60 * 500; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (stat(wal, &sb) == 0 && sb.st_size > 4 * 1024 * 1024) {
			assert_int_equal(kill(pid, SIGKILL), 0);
			killed = 1;
			break;
		}
		nanosleep(&ts, NULL);
	}
	if (!killed)
		fail_msg("the import ended or stalled before it wrote 4 MiB; file too small");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));

	assert_int_equal(node_store_open(c->data, &s), 0);
	np = t_count(node_store_db(s), "SELECT count(*) FROM persons");
	ne = t_count(node_store_db(s), "SELECT count(*) FROM events");
	ni = t_count(node_store_db(s), "SELECT count(*) FROM imports");
	assert_int_equal(np, 1000);
	assert_int_equal(ne, 0);
	assert_int_equal(ni, 1);
	{
		sqlite3_stmt *st = NULL;

		assert_int_equal(
		    sqlite3_prepare_v2(node_store_db(s), "PRAGMA integrity_check", -1, &st, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
		sqlite3_finalize(st);
	}
	node_store_close(s);

	/* the store is still writable: a small import succeeds */
	f = fopen(events, "wb");
	assert_non_null(f);
	fputs("event_ref,person_ref,event_type,occurred_at,role\nE1,P1,intake,2024-01-01,victim\n",
	      f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(t_run(c, big), 0);
	assert_non_null(strstr(t_slurp(c->out), "events.csv: 1 rows: 1 added"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_init_import_status, t_setup, t_teardown),
	    cmocka_unit_test_setup_teardown(test_kill_during_import, t_setup, t_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
