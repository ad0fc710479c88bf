/*
 * test_synth — `caselink synth` as a process: determinism (same seed, same
 * bytes; another seed, other bytes), every row of every agency file checked
 * against the record format's vocabulary (here, independently of the
 * generator), personal codes cross-checked with common/pcode.c, the
 * realistic noise present, and links.csv covering every person row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "common/pcode.h"
#include "common/vocab.h"
#include "tools/synth.h"

/* snprintf that fails the test on truncation. */
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

static char tmpdir[512];
static char bin[512];

static int run_synth(const char *sub, const char *seed, const char *extra)
{
	char cmd[2048];

	xfmt(cmd, sizeof(cmd),
	     "rm -rf '%s/%s' && '%s/caselink' synth --out '%s/%s' --seed %s --persons 400 "
	     "--municipalities 'liepaja,Klaipėda,tukums' %s 2>/dev/null",
	     tmpdir, sub, bin, tmpdir, sub, seed, extra);
	return system(cmd);
}

static int setup(void **state)
{
	const char *t = getenv("CASELINK_TMP"), *b = getenv("CASELINK_BIN");

	(void)state;
	xfmt(tmpdir, sizeof(tmpdir), "%s/synth", t ? t : "/tmp");
	xfmt(bin, sizeof(bin), "%s", b ? b : "build/bin");
	mkdir(tmpdir, 0755);
	if (run_synth("a", "11", "") != 0 || run_synth("b", "11", "") != 0 ||
	    run_synth("c", "12", "") != 0)
		return -1;
	return 0;
}

/* Runs cmp -s over two files; 0 when identical. */
static int same_file(const char *a, const char *b)
{
	char cmd[4400];

	xfmt(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

static void test_determinism(void **state)
{
	char a[2048], b[2048], c[2048];
	int differs = 0;

	(void)state;
	/* every file under a/ equals the one under b/: diff -r over the whole tree */
	xfmt(a, sizeof(a), "diff -r -q '%s/a' '%s/b' >/dev/null", tmpdir, tmpdir);
	assert_int_equal(system(a), 0);
	xfmt(a, sizeof(a), "%s/a/truth/links.csv", tmpdir);
	xfmt(c, sizeof(c), "%s/c/truth/links.csv", tmpdir);
	differs |= !same_file(a, c);
	xfmt(a, sizeof(a), "%s/a/agencies/lv-liepaja-police/persons.csv", tmpdir);
	xfmt(c, sizeof(c), "%s/c/agencies/lv-liepaja-police/persons.csv", tmpdir);
	differs |= !same_file(a, c);
	assert_true(differs);
	xfmt(a, sizeof(a), "%s/a/federation.csv", tmpdir);
	xfmt(b, sizeof(b), "%s/c/federation.csv", tmpdir);
	assert_true(same_file(a, b));
}

/* ---- a small independent CSV reader ---- */

struct rec {
	char buf[8192];
	char *f[64];
	int n;
};

static int read_rec(FILE *fp, struct rec *r)
{
	int ch, q = 0, len = 0, any = 0;

	r->n = 0;
	r->f[r->n++] = r->buf;
	while ((ch = getc(fp)) != EOF) {
		any = 1;
		if (q) {
			if (ch == '"') {
				int nx = getc(fp);

				if (nx != '"') {
					q = 0;
					ungetc(nx, fp);
					continue;
				}
			}
		} else if (ch == '"') {
			q = 1;
			continue;
		} else if (ch == ',') {
			r->buf[len++] = '\0';
			r->f[r->n++] = r->buf + len;
			continue;
		} else if (ch == '\n') {
			break;
		}
		r->buf[len++] = (char)ch;
		if (len > 8000 || r->n > 60)
			return -1;
	}
	r->buf[len] = '\0';
	return any;
}

/* A value of a record-format vocabulary (common/vocab, checked against the spec in test_vocab). */
static int in_vocab(const char *s, enum vocab_list list, int empty_ok)
{
	return (empty_ok && !s[0]) || vocab_index(list, s) >= 0;
}

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return 1;
	return 0;
}

static int is_date(const char *s)
{
	int y, m, d;

	return strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d", &y, &m, &d) == 3 && s[4] == '-' &&
	       m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM], not after 2026-07-01 (end date + 1 day). */
static int is_time(const char *s)
{
	size_t n = strlen(s);
	char day[11];
	int hh, mm;

	if (n < 10)
		return 0;
	memcpy(day, s, 10);
	day[10] = '\0';
	if (!is_date(day) || strncmp(s, "2026-07-01", 10) > 0)
		return 0;
	if (n == 10)
		return 1;
	if (s[10] != 'T' || sscanf(s + 11, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59)
		return 0;
	s += 16;
	if (*s == ':')
		s += 3;
	return !strcmp(s, "") || !strcmp(s, "Z") ||
	       ((s[0] == '+' || s[0] == '-') && strlen(s) == 6);
}

struct refs {
	char (*r)[32];
	size_t n, cap;
};

static void refs_add(struct refs *x, const char *s)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 256;
		x->r = realloc(x->r, x->cap * sizeof(*x->r));
		assert_non_null(x->r);
	}
	xfmt(x->r[x->n++], 32, "%s", s);
}

static int refs_has(const struct refs *x, const char *s)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		if (!strcmp(x->r[i], s))
			return 1;
	return 0;
}

static void test_vocabulary_and_codes(void **state)
{
	char path[1024], agency[128], type[64];
	struct rec *r = malloc(sizeof(*r));
	FILE *fed, *fp;
	int rc;
	size_t persons = 0, events = 0, codes = 0, invalid = 0, restricted = 0, yearonly = 0;
	size_t nocode = 0, lvnew = 0, lt = 0, stripped = 0, quoted = 0, ctl = 0, refsent = 0;
	size_t agencies = 0, links = 0, i;

	(void)state;
	assert_non_null(r);
	xfmt(path, sizeof(path), "%s/a/federation.csv", tmpdir);
	fed = fopen(path, "rb");
	assert_non_null(fed);
	assert_int_equal(read_rec(fed, r), 1);
	assert_int_equal(r->n, 4);
	assert_string_equal(r->f[0], "agency_id");
	while ((rc = read_rec(fed, r)) == 1) {
		struct refs pr = {0}, er = {0};

		assert_int_equal(r->n, 4);
		assert_true(in_vocab(r->f[1], VOCAB_AGENCY_TYPE, 0));
		assert_true(!strcmp(r->f[3], "LV") || !strcmp(r->f[3], "LT"));
		for (i = 0; r->f[0][i]; i++) /* ASCII ids */
			assert_true((unsigned char)r->f[0][i] < 0x80);
		xfmt(agency, sizeof(agency), "%s", r->f[0]);
		xfmt(type, sizeof(type), "%s", r->f[1]);
		agencies++;

		xfmt(path, sizeof(path), "%s/a/agencies/%s/persons.csv", tmpdir, agency);
		fp = fopen(path, "rb");
		assert_non_null(fp);
		assert_int_equal(read_rec(fp, r), 1);
		assert_int_equal(r->n, 8);
		assert_string_equal(r->f[0], "person_ref");
		assert_string_equal(r->f[7], "sharing");
		while ((rc = read_rec(fp, r)) == 1) {
			char norm[PCODE_MAX];
			enum pcode_status st;

			assert_int_equal(r->n, 8);
			assert_true(r->f[0][0]);
			assert_false(refs_has(&pr, r->f[0]));
			refs_add(&pr, r->f[0]);
			persons++;
			if (r->f[1][0]) {
				char d[16];
				size_t k = 0;
				const char *s;
				int mine;

				assert_true(!strcmp(r->f[2], "LV") || !strcmp(r->f[2], "LT"));
				assert_int_equal(pcode_check(r->f[2], r->f[1], norm, &st, NULL), 0);
				for (s = r->f[1]; *s && k < 15; s++)
					if (*s != '-' && *s != ' ')
						d[k++] = *s;
				d[k] = '\0';
				assert_int_equal(k, 11);
				/* the generator's check digits agree with common/pcode.c */
				if (!strcmp(r->f[2], "LT")) {
					mine = synth_lt_check_digit(d) == d[10] - '0';
					lt++;
				} else if (d[0] == '3' && d[1] == '2') {
					mine = 1;
					lvnew++;
				} else {
					mine = synth_lv_check_digit(d) == d[10] - '0';
				}
				assert_int_equal(mine, st == PCODE_VALID);
				codes++;
				invalid += st != PCODE_VALID;
			} else {
				assert_string_equal(r->f[2], "");
				nocode++;
			}
			if (r->f[5][0]) {
				assert_true(strlen(r->f[5]) == 4 || is_date(r->f[5]));
				yearonly += strlen(r->f[5]) == 4;
			}
			assert_true(in_vocab(r->f[6], VOCAB_SEX, 1));
			assert_true(in_vocab(r->f[7], VOCAB_SHARING, 1));
			restricted += !strcmp(r->f[7], "restricted");
			stripped +=
			    strspn(r->f[4],
				   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") ==
				strlen(r->f[4]) &&
			    (strstr(r->f[4], "ina") || strstr(r->f[4], "iene"));
			quoted += strchr(r->f[3], '"') != NULL;
		}
		assert_int_equal(rc, 0);
		fclose(fp);

		xfmt(path, sizeof(path), "%s/a/agencies/%s/events.csv", tmpdir, agency);
		fp = fopen(path, "rb");
		assert_non_null(fp);
		assert_int_equal(read_rec(fp, r), 1);
		assert_int_equal(r->n, 14);
		assert_string_equal(r->f[0], "event_ref");
		assert_string_equal(r->f[13], "municipality");
		while ((rc = read_rec(fp, r)) == 1) {
			char tmp[256], *tok, *save = NULL;

			assert_int_equal(r->n, 14);
			assert_false(refs_has(&er, r->f[0]));
			refs_add(&er, r->f[0]);
			assert_true(refs_has(&pr, r->f[1]));
			assert_true(in_vocab(r->f[2], VOCAB_EVENT_TYPE, 0));
			assert_true(is_time(r->f[3]));
			assert_true(in_vocab(r->f[4], VOCAB_ROLE, 0));
			if (r->f[5][0])
				assert_true(refs_has(&pr, r->f[5]));
			assert_true(in_vocab(r->f[6], VOCAB_RELATIONSHIP, 1));
			xfmt(tmp, sizeof(tmp), "%s", r->f[7]);
			for (tok = strtok_r(tmp, ";", &save); tok; tok = strtok_r(NULL, ";", &save))
				assert_true(in_vocab(tok, VOCAB_VIOLENCE_FORM, 0));
			assert_true(in_vocab(r->f[8], VOCAB_RISK_LEVEL, 1));
			if (r->f[9][0]) {
				assert_true(strspn(r->f[9], "0123456789") == strlen(r->f[9]));
				assert_true(in_vocab(r->f[10], VOCAB_RISK_INSTRUMENT, 0));
			}
			if (r->f[11][0]) {
				assert_true(
				    in_list(r->f[11], (const char *const[]){"0", "1", "2", NULL}));
				ctl++;
			}
			if (!strcmp(r->f[2], "referral_sent")) {
				assert_true(in_vocab(r->f[12], VOCAB_AGENCY_TYPE, 0));
				refsent++;
			} else {
				assert_string_equal(r->f[12], "");
			}
			events++;
		}
		assert_int_equal(rc, 0);
		fclose(fp);
		free(pr.r);
		free(er.r);
	}
	fclose(fed);
	assert_int_equal(agencies, 18);

	/* links.csv: one row per person row */
	xfmt(path, sizeof(path), "%s/a/truth/links.csv", tmpdir);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(read_rec(fp, r), 1);
	while (read_rec(fp, r) == 1) {
		assert_int_equal(r->n, 3);
		links++;
	}
	fclose(fp);
	assert_int_equal(links, persons);
	free(r);

	/* the noise the brief asks for is present, and rare where it should be */
	assert_true(persons >= 400);
	assert_true(events > persons);
	assert_true(codes > persons / 2);
	assert_true(invalid > 0 && invalid * 20 < codes);
	assert_true(restricted > 0 && restricted * 10 < persons);
	assert_true(yearonly > 0);
	assert_true(nocode > 0);
	assert_true(lvnew > 0 && lt > 0);
	assert_true(stripped > 0);
	assert_true(quoted > 0 || persons < 2000);
	assert_true(ctl > 0 && refsent > 0);
}

/* The ground truth exists for the last full calendar year and names its period. */
static void test_truth_files(void **state)
{
	char path[2048], line[256];
	FILE *f;

	(void)state;
	xfmt(path, sizeof(path), "%s/a/truth/expected/period.csv", tmpdir);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "2025-01-01,2026-01-01,2025-12-31\n");
	fclose(f);
	xfmt(path, sizeof(path), "%s/a/truth/expected/m8.csv", tmpdir);
	f = fopen(path, "rb");
	assert_non_null(f);
	fclose(f);
	/* --no-truth leaves expected/ out */
	assert_int_equal(run_synth("d", "3", "--no-truth"), 0);
	xfmt(path, sizeof(path), "%s/d/truth/expected/m1.csv", tmpdir);
	f = fopen(path, "rb");
	assert_null(f);
	/* bad arguments are refused */
	xfmt(path, sizeof(path),
	     "'%s/caselink' synth --out '%s/e' --municipalities atlantis "
	     "2>/dev/null",
	     bin, tmpdir);
	assert_int_not_equal(system(path), 0);
	xfmt(path, sizeof(path),
	     "'%s/caselink' synth --out '%s/e' --end-date 2025-02-30 "
	     "2>/dev/null",
	     bin, tmpdir);
	assert_int_not_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_determinism),
	    cmocka_unit_test(test_vocabulary_and_codes),
	    cmocka_unit_test(test_truth_files),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
