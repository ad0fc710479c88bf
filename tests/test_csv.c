#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/csv.h"

/* A reader over a copy of data[0..n) (fmemopen); the stream is closed by mem_close. */
struct mem {
	char *buf;
	FILE *fp;
	struct csv_reader *r;
};

static void mem_open(struct mem *m, const char *data, size_t n)
{
	m->buf = malloc(n + 1);
	assert_non_null(m->buf);
	memcpy(m->buf, data, n);
	m->fp = fmemopen(m->buf, n, "r");
	assert_non_null(m->fp);
	m->r = NULL;
	assert_int_equal(csv_open_fp(m->fp, "mem.csv", &m->r), 0);
}

static void mem_opens(struct mem *m, const char *s)
{
	mem_open(m, s, strlen(s));
}

static void mem_close(struct mem *m)
{
	csv_close(m->r);
	fclose(m->fp);
	free(m->buf);
}

/* Reads one record and checks its fields against the NULL-terminated list. */
static void expect_record(struct csv_reader *r, uint64_t line, ...)
{
	struct csv_record rec;
	va_list ap;
	size_t i = 0;
	const char *want;

	assert_int_equal(csv_next(r, &rec), 1);
	assert_int_equal(rec.line, line);
	va_start(ap, line);
	while ((want = va_arg(ap, const char *)) != NULL) {
		assert_true(i < rec.nfields);
		assert_int_equal(rec.lens[i], strlen(want));
		assert_memory_equal(rec.fields[i], want, strlen(want) + 1);
		i++;
	}
	va_end(ap);
	assert_int_equal(rec.nfields, i);
}

static void expect_error(struct csv_reader *r, int code, const char *why, uint64_t line, size_t col)
{
	struct csv_record rec;

	assert_int_equal(csv_next(r, &rec), code);
	assert_string_equal(csv_error(r), why);
	assert_int_equal(csv_error_line(r), line);
	assert_int_equal(csv_error_column(r), col);
}

static void expect_eof(struct csv_reader *r)
{
	struct csv_record rec;

	assert_int_equal(csv_next(r, &rec), 0);
	assert_int_equal(csv_next(r, &rec), 0);
}

static void test_simple(void **state)
{
	struct mem m;

	(void)state;
	mem_opens(&m, "a,b,c\n1,,3\n,x,\n");
	expect_record(m.r, 1, "a", "b", "c", NULL);
	expect_record(m.r, 2, "1", "", "3", NULL);
	expect_record(m.r, 3, "", "x", "", NULL);
	expect_eof(m.r);
	assert_string_equal(csv_name(m.r), "mem.csv");
	assert_int_equal(csv_bytes_read(m.r), strlen("a,b,c\n1,,3\n,x,\n"));
	mem_close(&m);
}

static void test_quoted(void **state)
{
	struct mem m;
	struct csv_record rec;

	(void)state;
	mem_opens(&m, "id,name\n"
		      "1,\"Bērziņa, Anna\"\n"
		      "2,\"say \"\"hi\"\"\"\n"
		      "3,\"two\nlines\",\"three\r\nmore\nlines\"\n"
		      "\"\",\"\"\"\"\n"
		      "4,after\n");
	expect_record(m.r, 1, "id", "name", NULL);
	expect_record(m.r, 2, "1", "Bērziņa, Anna", NULL);
	expect_record(m.r, 3, "2", "say \"hi\"", NULL);
	assert_int_equal(csv_next(m.r, &rec), 1);
	assert_int_equal(rec.line, 4);
	assert_int_equal(rec.nfields, 3);
	assert_string_equal(rec.fields[1], "two\nlines");
	assert_string_equal(rec.fields[2], "three\r\nmore\nlines");
	assert_int_equal(rec.field_line[0], 4);
	assert_int_equal(rec.field_line[1], 4);
	assert_int_equal(rec.field_line[2], 5);
	/* Physical lines 4-7 were that record. */
	expect_record(m.r, 8, "", "\"", NULL);
	expect_record(m.r, 9, "4", "after", NULL);
	expect_eof(m.r);
	mem_close(&m);
}

static void test_bom_crlf_blank_lines(void **state)
{
	struct mem m;

	(void)state;
	mem_opens(&m, "\xEF\xBB\xBF"
		      "a,b\r\n\r\n\n1,\"x\"\r\n\n\n2,y");
	expect_record(m.r, 1, "a", "b", NULL);
	expect_record(m.r, 4, "1", "x", NULL);
	expect_record(m.r, 7, "2", "y", NULL); /* no final newline */
	expect_eof(m.r);
	mem_close(&m);

	/* Only a BOM, or a BOM before a one-field file. */
	mem_opens(&m, "\xEF\xBB\xBF");
	expect_eof(m.r);
	mem_close(&m);
	mem_opens(&m, "\xEF\xBB\xBFx");
	expect_record(m.r, 1, "x", NULL);
	expect_eof(m.r);
	mem_close(&m);
	/* A BOM later in the file is data, and valid UTF-8. */
	mem_opens(&m, "a\n\xEF\xBB\xBF\n");
	expect_record(m.r, 1, "a", NULL);
	expect_record(m.r, 2, "\xEF\xBB\xBF", NULL);
	expect_eof(m.r);
	mem_close(&m);
}

static void test_empty_and_header_only(void **state)
{
	const char *tmp = getenv("CASELINK_TMP");
	char path[1024];
	struct csv_reader *r = NULL;
	struct csv_record rec;
	FILE *fp;
	struct mem m;

	(void)state;
	assert_non_null(tmp);
	snprintf(path, sizeof(path), "%s/test_csv_empty.csv", tmp);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(csv_open(path, &r), 0);
	assert_string_equal(csv_name(r), path);
	assert_int_equal(csv_next(r, &rec), 0);
	assert_int_equal(csv_bytes_read(r), 0);
	csv_close(r);
	remove(path);

	mem_opens(&m, "person_ref,national_id\n");
	expect_record(m.r, 1, "person_ref", "national_id", NULL);
	expect_eof(m.r);
	mem_close(&m);

	mem_opens(&m, "\n\r\n\n");
	expect_eof(m.r);
	mem_close(&m);

	r = NULL;
	snprintf(path, sizeof(path), "%s/test_csv_does_not_exist.csv", tmp);
	assert_int_equal(csv_open(path, &r), CL_EIO);
	assert_null(r);
	csv_close(NULL);
}

static void test_unterminated_quote(void **state)
{
	struct mem m;

	(void)state;
	mem_opens(&m, "a,b\n1,\"open\nstill open\n");
	expect_record(m.r, 1, "a", "b", NULL);
	expect_error(m.r, CL_EPARSE, "unterminated quoted field", 2, 2);
	expect_eof(m.r);
	mem_close(&m);
}

static void test_field_limits(void **state)
{
	size_t n = CSV_MAX_FIELD + 200, i;
	char *buf = malloc(3 * n + 64);
	struct csv_record rec;
	struct mem m;
	size_t len = 0;

	(void)state;
	assert_non_null(buf);
	/* Line 1: a field of exactly CSV_MAX_FIELD bytes; line 2: one byte more,
	 * quoted over two lines; line 4: good. */
	memset(buf, 'x', CSV_MAX_FIELD);
	len = CSV_MAX_FIELD;
	buf[len++] = '\n';
	buf[len++] = 'y';
	buf[len++] = ',';
	buf[len++] = '"';
	memset(buf + len, 'z', CSV_MAX_FIELD - 1);
	len += CSV_MAX_FIELD - 1;
	memcpy(buf + len, "\n,\"\"\",w\n", 8); /* commas and quotes inside: still one field */
	len += 8;
	memcpy(buf + len, "good,row\n", 9);
	len += 9;
	mem_open(&m, buf, len);
	assert_int_equal(csv_next(m.r, &rec), 1);
	assert_int_equal(rec.nfields, 1);
	assert_int_equal(rec.lens[0], CSV_MAX_FIELD);
	expect_error(m.r, CL_ELIMIT, "field too long", 2, 2);
	expect_record(m.r, 4, "good", "row", NULL);
	expect_eof(m.r);
	mem_close(&m);

	/* CSV_MAX_FIELDS fields are fine, one more is not. */
	len = 0;
	for (int rows = 0; rows < 2; rows++) {
		for (i = 0; i < (size_t)CSV_MAX_FIELDS + (size_t)rows; i++)
			len += (size_t)sprintf(buf + len, i ? ",%zu" : "%zu", i);
		buf[len++] = '\n';
	}
	memcpy(buf + len, "ok\n", 3);
	len += 3;
	mem_open(&m, buf, len);
	assert_int_equal(csv_next(m.r, &rec), 1);
	assert_int_equal(rec.nfields, CSV_MAX_FIELDS);
	assert_string_equal(rec.fields[CSV_MAX_FIELDS - 1], "63");
	expect_error(m.r, CL_ELIMIT, "too many fields", 2, CSV_MAX_FIELDS + 1);
	expect_record(m.r, 3, "ok", NULL);
	expect_eof(m.r);
	mem_close(&m);
	free(buf);
}

static void test_nul_and_utf8(void **state)
{
	static const char data[] = "a,b\n"
				   "x\0y,2\n"		/* 2: NUL unquoted */
				   "1,\"q\0\"\n"	/* 3: NUL quoted */
				   "ok,Ž\xC4\x81\n"	/* 4: valid two-byte letters */
				   "1,\xC0\x80\n"	/* 5: overlong NUL */
				   "\xED\xA0\x80,2\n"	/* 6: surrogate */
				   "1,2,\xE2\x82\n"	/* 7: truncated sequence */
				   "\xF5\x80\x80\x80\n" /* 8: above U+10FFFF */
				   "\"a\nb\xFF\",2\n"	/* 9-10: bad byte on the field's 2nd line */
				   "\xF0\x9F\x98\x80,\xE2\x82\xAC\n"; /* 11: emoji and euro: fine */
	struct mem m;

	(void)state;
	mem_open(&m, data, sizeof(data) - 1);
	expect_record(m.r, 1, "a", "b", NULL);
	expect_error(m.r, CL_EPARSE, "NUL byte", 2, 1);
	expect_error(m.r, CL_EPARSE, "NUL byte", 3, 2);
	expect_record(m.r, 4, "ok", "Žā", NULL);
	expect_error(m.r, CL_EPARSE, "invalid UTF-8", 5, 2);
	expect_error(m.r, CL_EPARSE, "invalid UTF-8", 6, 1);
	expect_error(m.r, CL_EPARSE, "invalid UTF-8", 7, 3);
	expect_error(m.r, CL_EPARSE, "invalid UTF-8", 8, 1);
	expect_error(m.r, CL_EPARSE, "invalid UTF-8", 10, 1);
	expect_record(m.r, 11, "\xF0\x9F\x98\x80", "\xE2\x82\xAC", NULL);
	expect_eof(m.r);
	mem_close(&m);
}

static void test_quote_errors_and_resync(void **state)
{
	struct mem m;

	(void)state;
	mem_opens(&m, "h1,h2\n"
		      "\"a\"b,2\n"	     /* 2: text after closing quote */
		      "3,4\n"		     /* 3: good */
		      "ab\"c,5\n"	     /* 4: quote in unquoted field */
		      "\"x\"\"y\" ,6\n"	     /* 5: a space after the closing quote */
		      "7,8\n"		     /* 6: good */
		      "9\r10\n"		     /* 7: bare CR */
		      "\"m\n,\"x,\"q\nr\"\n" /* 8-10: error in a multi-line record; resync at 10 */
		      "11,12\r\n"	     /* 11: good */
		      "13,\"14\"\r\n");	     /* 12: good */
	expect_record(m.r, 1, "h1", "h2", NULL);
	expect_error(m.r, CL_EPARSE, "text after closing quote", 2, 1);
	expect_record(m.r, 3, "3", "4", NULL);
	expect_error(m.r, CL_EPARSE, "quote inside unquoted field", 4, 1);
	expect_error(m.r, CL_EPARSE, "text after closing quote", 5, 1);
	expect_record(m.r, 6, "7", "8", NULL);
	expect_error(m.r, CL_EPARSE, "carriage return not followed by line feed", 7, 1);
	expect_error(m.r, CL_EPARSE, "text after closing quote", 9, 1);
	expect_record(m.r, 11, "11", "12", NULL);
	expect_record(m.r, 12, "13", "14", NULL);
	expect_eof(m.r);
	mem_close(&m);
}

/* Deterministic generator (xorshift64*). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rng(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32) % n;
}

struct gen_field {
	size_t off, len;
	uint64_t line;
};

/*
 * Writes random records (fields with commas, quotes, CR, LF, multi-byte
 * letters, empty fields; LF or CRLF line ends; blank lines) well past several
 * 64 KiB blocks, keeping what each field and line must be; then reads them back.
 */
static void test_round_trip_across_blocks(void **state)
{
	static const char *const pieces[] = {"a",    "Z", "9", " ", ",", "\"",	"\n",
					     "\r\n", "ā", "ž", "ė", "😀", "x,y", "\"\""};
	const size_t cap = 600000, maxrecs = 20000;
	char *csv = malloc(cap), *vals = malloc(cap);
	struct gen_field *f = calloc(maxrecs * 8, sizeof(*f));
	size_t *nf = calloc(maxrecs, sizeof(*nf));
	uint64_t *rline = calloc(maxrecs, sizeof(*rline));
	size_t len = 0, vlen = 0, nrec = 0, nfield = 0;
	uint64_t line = 1;
	struct csv_record rec;
	struct mem m;

	(void)state;
	assert_non_null(csv);
	assert_non_null(vals);
	assert_non_null(f);
	assert_non_null(nf);
	assert_non_null(rline);
	while (len < cap - 4096 && nrec < maxrecs) {
		size_t k = 1 + rng(8);
		bool crlf = rng(2);

		if (rng(10) == 0) {
			memcpy(csv + len, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
			len += crlf ? 2 : 1;
			line++;
		}
		rline[nrec] = line;
		nf[nrec] = k;
		for (size_t i = 0; i < k; i++) {
			struct gen_field *g = &f[nfield++];
			size_t np = rng(4) == 0 ? 0 : rng(12);
			bool quote = rng(3) == 0 || (k == 1 && np == 0);

			g->off = vlen;
			g->line = line;
			if (i > 0)
				csv[len++] = ',';
			for (size_t j = 0; j < np; j++) {
				const char *p = pieces[rng(sizeof(pieces) / sizeof(pieces[0]))];
				if (!quote && strpbrk(p, ",\"\r\n") != NULL)
					p = "b";
				memcpy(vals + vlen, p, strlen(p));
				vlen += strlen(p);
			}
			g->len = vlen - g->off;
			if (quote)
				csv[len++] = '"';
			for (size_t j = g->off; j < vlen; j++) {
				csv[len++] = vals[j];
				if (vals[j] == '"')
					csv[len++] = '"';
				if (vals[j] == '\n')
					line++;
			}
			if (quote)
				csv[len++] = '"';
		}
		memcpy(csv + len, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
		len += crlf ? 2 : 1;
		line++;
		nrec++;
	}
	assert_true(len > 4 * 65536);

	mem_open(&m, csv, len);
	nfield = 0;
	for (size_t i = 0; i < nrec; i++) {
		assert_int_equal(csv_next(m.r, &rec), 1);
		assert_int_equal(rec.line, rline[i]);
		assert_int_equal(rec.nfields, nf[i]);
		for (size_t j = 0; j < nf[i]; j++) {
			struct gen_field *g = &f[nfield++];
			assert_int_equal(rec.lens[j], g->len);
			assert_memory_equal(rec.fields[j], vals + g->off, g->len);
			assert_int_equal(rec.fields[j][g->len], '\0');
			assert_int_equal(rec.field_line[j], g->line);
		}
	}
	expect_eof(m.r);
	assert_int_equal(csv_bytes_read(m.r), len);
	mem_close(&m);
	free(csv);
	free(vals);
	free(f);
	free(nf);
	free(rline);
}

/* Errors and escapes lying across a 64 KiB block boundary at every offset still resynchronise. */
static void test_errors_at_block_boundary(void **state)
{
	static const char tail[] = "\"ab\"c\"\r\nd\"\r\nok,\"k\"\"\"\r\n\"\n\",\xC5\xBE\n";
	const size_t block = 65536, tlen = sizeof(tail) - 1;
	char *buf = malloc(2 * block);
	struct mem m;

	(void)state;
	assert_non_null(buf);
	for (size_t shift = 0; shift <= tlen; shift++) {
		size_t len = 0, lines = 0, target = block - shift;

		/* Lines of 1000 bytes, then one shorter line, so that the tail starts at target. */
		while (target - len > 1000) {
			memset(buf + len, 'p', 999);
			buf[len + 999] = '\n';
			len += 1000;
			lines++;
		}
		memset(buf + len, 'q', target - len - 1);
		buf[target - 1] = '\n';
		len = target;
		lines++;
		memcpy(buf + len, tail, tlen);
		len += tlen;
		mem_open(&m, buf, len);
		for (size_t i = 0; i < lines; i++) {
			struct csv_record rec;
			assert_int_equal(csv_next(m.r, &rec), 1);
			assert_int_equal(rec.line, i + 1);
		}
		expect_error(m.r, CL_EPARSE, "text after closing quote", lines + 1, 1);
		expect_error(m.r, CL_EPARSE, "quote inside unquoted field", lines + 2, 1);
		expect_record(m.r, lines + 3, "ok", "k\"", NULL);
		expect_record(m.r, lines + 4, "\n", "\xC5\xBE", NULL);
		expect_eof(m.r);
		assert_int_equal(csv_bytes_read(m.r), len);
		mem_close(&m);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simple),
	    cmocka_unit_test(test_quoted),
	    cmocka_unit_test(test_bom_crlf_blank_lines),
	    cmocka_unit_test(test_empty_and_header_only),
	    cmocka_unit_test(test_unterminated_quote),
	    cmocka_unit_test(test_field_limits),
	    cmocka_unit_test(test_nul_and_utf8),
	    cmocka_unit_test(test_quote_errors_and_resync),
	    cmocka_unit_test(test_round_trip_across_blocks),
	    cmocka_unit_test(test_errors_at_block_boundary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
