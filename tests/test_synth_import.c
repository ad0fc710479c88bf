/*
 * test_synth_import — a generated federation imports cleanly: `caselink synth`
 * makes a small federation, then one `caselink-node` store per line of
 * federation.csv is initialised and fed that agency's files. Every import must
 * succeed with every row added, and a second import must find every row unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

static char tmpdir[512], bin[512];

static void xfmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void xfmt(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < cap);
}

/* Data rows of a generated CSV (the generator never puts a newline inside a field). */
static long data_rows(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n = 0;
	int ch;

	if (!f)
		return -1;
	while ((ch = getc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n - 1;
}

/* Runs cmd, captures up to cap bytes of its standard output; returns the exit status. */
static int run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	int st;

	assert_non_null(p);
	while (n + 1 < cap && !feof(p)) {
		size_t k = fread(out + n, 1, cap - 1 - n, p);

		if (k == 0)
			break;
		n += k;
	}
	out[n] = '\0';
	st = pclose(p);
	return st;
}

static void test_import_every_agency(void **state)
{
	char cmd[4096], out[8192], want[128], path[2048];
	char line[512], *id, *type, *muni, *cc, *save = NULL;
	FILE *fed;
	int agencies = 0;
	long persons, events;

	(void)state;
	xfmt(cmd, sizeof(cmd),
	     "rm -rf '%s' && mkdir -p '%s' && '%s/caselink' synth --out '%s/fed' --seed 4 "
	     "--persons 300 --municipalities 'Liepāja,klaipeda' --no-truth 2>&1",
	     tmpdir, tmpdir, bin, tmpdir);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	xfmt(path, sizeof(path), "%s/fed/federation.csv", tmpdir);
	fed = fopen(path, "rb");
	assert_non_null(fed);
	assert_non_null(fgets(line, sizeof(line), fed)); /* header */
	while (fgets(line, sizeof(line), fed)) {
		line[strcspn(line, "\r\n")] = '\0';
		id = strtok_r(line, ",", &save);
		type = strtok_r(NULL, ",", &save);
		muni = strtok_r(NULL, ",", &save);
		cc = strtok_r(NULL, ",", &save);
		assert_non_null(cc);
		xfmt(cmd, sizeof(cmd),
		     "'%s/caselink-node' init --data '%s/n-%s' --agency '%s' --type '%s' "
		     "--municipality '%s' --country '%s' 2>&1",
		     bin, tmpdir, id, id, type, muni, cc);
		assert_int_equal(run(cmd, out, sizeof(out)), 0);
		xfmt(path, sizeof(path), "%s/fed/agencies/%s/persons.csv", tmpdir, id);
		persons = data_rows(path);
		xfmt(path, sizeof(path), "%s/fed/agencies/%s/events.csv", tmpdir, id);
		events = data_rows(path);
		assert_true(persons > 0 && events > 0);
		xfmt(cmd, sizeof(cmd),
		     "'%s/caselink-node' import --data '%s/n-%s' --persons '%s/fed/agencies/%s/"
		     "persons.csv' --events '%s/fed/agencies/%s/events.csv' 2>&1",
		     bin, tmpdir, id, tmpdir, id, tmpdir, id);
		if (run(cmd, out, sizeof(out)) != 0)
			fail_msg("import of %s failed: %s", id, out);
		xfmt(want, sizeof(want), "persons.csv: %ld rows: %ld added, 0 updated, 0 unchanged",
		     persons, persons);
		if (!strstr(out, want))
			fail_msg("%s: expected '%s' in: %s", id, want, out);
		xfmt(want, sizeof(want), "events.csv: %ld rows: %ld added, 0 updated, 0 unchanged",
		     events, events);
		if (!strstr(out, want))
			fail_msg("%s: expected '%s' in: %s", id, want, out);
		/* re-sending the same export changes nothing */
		assert_int_equal(run(cmd, out, sizeof(out)), 0);
		xfmt(want, sizeof(want), "events.csv: %ld rows: 0 added, 0 updated, %ld unchanged",
		     events, events);
		if (!strstr(out, want))
			fail_msg("%s: expected '%s' in: %s", id, want, out);
		agencies++;
	}
	fclose(fed);
	assert_int_equal(agencies, 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_import_every_agency),
	};
	const char *t = getenv("CASELINK_TMP"), *b = getenv("CASELINK_BIN");

	snprintf(tmpdir, sizeof(tmpdir), "%s/synth-import", t ? t : "/tmp");
	snprintf(bin, sizeof(bin), "%s", b ? b : "build/bin");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
