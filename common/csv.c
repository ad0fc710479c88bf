/*
 * csv — streaming RFC 4180 reader. The input is read in CSV_BLOCK-byte blocks
 * and scanned with a byte-class table; the fields of one record are copied
 * into one fixed arena of CSV_MAX_FIELDS * (CSV_MAX_FIELD + 1) bytes, so memory
 * does not depend on the file. After an error the lexer keeps running over the
 * rest of the record without storing anything, which resynchronises it at the
 * next record boundary (a newline outside quotes).
 */
#include "common/csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"

#ifndef CSV_BLOCK
#define CSV_BLOCK 65536 /* bytes read at a time; the fuzz harness makes it tiny */
#endif
#define CSV_NAME_MAX 4096
#define CSV_ARENA    ((size_t)CSV_MAX_FIELDS * (CSV_MAX_FIELD + 1))

enum csv_state {
	ST_RECORD,     /* nothing of the record read yet */
	ST_FIELD,      /* just after a comma */
	ST_UNQUOTED,   /* inside an unquoted field */
	ST_QUOTED,     /* inside a quoted field */
	ST_QUOTE_SEEN, /* a quote inside a quoted field: "" or the closing quote */
	ST_CR,	       /* a CR outside quotes; an LF must follow */
};

/* Byte classes: bits of the bytes that stop a scan in each state. */
#define CLS_UNQ 1u /* , \n \r " NUL */
#define CLS_Q	2u /* " \n NUL */

struct csv_reader {
	FILE *fp;
	bool own_fp;
	bool eof;
	bool io_error;
	bool bom_checked;
	char *name;
	unsigned char *buf;
	size_t pos, len;
	uint64_t filled; /* bytes read from fp so far */
	uint64_t line;	 /* current physical line, 1-based */

	/* The record being read. */
	char *arena;
	size_t used;	/* arena bytes used by finished fields */
	size_t cur_len; /* bytes of the current field */
	size_t nfields;
	uint64_t rec_line;
	const char *fields[CSV_MAX_FIELDS];
	size_t lens[CSV_MAX_FIELDS];
	uint64_t field_line[CSV_MAX_FIELDS];
	bool skipping; /* an error was found in this record */

	const char *err;
	int err_code;
	uint64_t err_line;
	size_t err_col;
};

static unsigned char csv_class[256];

static void csv_init_classes(void)
{
	/* Idempotent and race-free in practice: every thread writes the same values. */
	csv_class[(unsigned char)','] = CLS_UNQ;
	csv_class[(unsigned char)'\r'] = CLS_UNQ;
	csv_class[(unsigned char)'\n'] = CLS_UNQ | CLS_Q;
	csv_class[(unsigned char)'"'] = CLS_UNQ | CLS_Q;
	csv_class[0] = CLS_UNQ | CLS_Q;
}

/*
 * Returns the offset of the first byte of s[0..n) that is not part of valid
 * UTF-8 (overlong forms, surrogates and code points above U+10FFFF are
 * invalid), or n when all of it is valid.
 */
static size_t csv_utf8_check(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t need;
		unsigned char lo = 0x80, hi = 0xBF;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c == 0xE0) {
			need = 2;
			lo = 0xA0;
		} else if (c == 0xED) {
			need = 2;
			hi = 0x9F;
		} else if (c >= 0xE1 && c <= 0xEF) {
			need = 2;
		} else if (c == 0xF0) {
			need = 3;
			lo = 0x90;
		} else if (c >= 0xF1 && c <= 0xF3) {
			need = 3;
		} else if (c == 0xF4) {
			need = 3;
			hi = 0x8F;
		} else {
			return i;
		}
		if (n - i - 1 < need)
			return i;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
		}
		i += need + 1;
	}
	return n;
}

int csv_open_fp(FILE *fp, const char *name, struct csv_reader **out)
{
	struct csv_reader *r = NULL;
	size_t nlen;
	int rc = CL_EINVAL;

	if (fp == NULL || out == NULL)
		goto out;
	if (name == NULL)
		name = "(stream)";
	nlen = strnlen(name, CSV_NAME_MAX);
	rc = CL_ELIMIT;
	if (nlen >= CSV_NAME_MAX)
		goto out;
	csv_init_classes();
	rc = CL_ENOMEM;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto out;
	r->name = malloc(nlen + 1);
	r->buf = malloc(CSV_BLOCK);
	r->arena = malloc(CSV_ARENA);
	if (r->name == NULL || r->buf == NULL || r->arena == NULL)
		goto out;
	memcpy(r->name, name, nlen + 1);
	r->fp = fp;
	r->line = 1;
	*out = r;
	r = NULL;
	rc = 0;
out:
	csv_close(r);
	return rc;
}

int csv_open(const char *path, struct csv_reader **out)
{
	struct csv_reader *r = NULL;
	FILE *fp = NULL;
	int rc = CL_EINVAL;

	if (path == NULL || out == NULL)
		goto out;
	rc = CL_EIO;
	fp = fopen(path, "rb");
	if (fp == NULL)
		goto out;
	rc = csv_open_fp(fp, path, &r);
	if (rc < 0)
		goto out;
	r->own_fp = true;
	fp = NULL;
	*out = r;
out:
	if (fp != NULL)
		fclose(fp);
	return rc;
}

void csv_close(struct csv_reader *r)
{
	if (r == NULL)
		return;
	if (r->own_fp && r->fp != NULL)
		fclose(r->fp);
	free(r->name);
	free(r->buf);
	free(r->arena);
	free(r);
}

/* Refills the buffer: 1 when bytes are available, 0 at end of file, CL_EIO. */
static int csv_fill(struct csv_reader *r)
{
	size_t n;

	if (r->pos < r->len)
		return 1;
	if (r->eof)
		return 0;
	n = fread(r->buf, 1, CSV_BLOCK, r->fp);
	if (n == 0) {
		if (ferror(r->fp)) {
			r->io_error = true;
			return CL_EIO;
		}
		r->eof = true;
		return 0;
	}
	r->pos = 0;
	r->len = n;
	r->filled += n;
	if (!r->bom_checked) {
		/* The first block holds at least 3 bytes unless the file is shorter. */
		while (r->len < 3 && !feof(r->fp) && !ferror(r->fp)) {
			n = fread(r->buf + r->len, 1, CSV_BLOCK - r->len, r->fp);
			r->len += n;
			r->filled += n;
		}
		if (ferror(r->fp)) {
			r->io_error = true;
			return CL_EIO;
		}
		r->bom_checked = true;
		if (r->len >= 3 && r->buf[0] == 0xEF && r->buf[1] == 0xBB && r->buf[2] == 0xBF)
			r->pos = 3;
		if (r->pos == r->len)
			return csv_fill(r);
	}
	return 1;
}

/* Records the first error of the current record and starts skipping it. */
static void csv_fail(struct csv_reader *r, int code, const char *why, uint64_t line, size_t col)
{
	if (r->skipping)
		return;
	r->skipping = true;
	r->err = why;
	r->err_code = code;
	r->err_line = line;
	r->err_col = col;
}

/* Starts a new field at the current line. */
static void csv_begin_field(struct csv_reader *r)
{
	if (r->skipping)
		return;
	if (r->nfields == 0)
		r->rec_line = r->line;
	if (r->nfields >= CSV_MAX_FIELDS) {
		csv_fail(r, CL_ELIMIT, "too many fields", r->line, r->nfields + 1);
		return;
	}
	r->field_line[r->nfields] = r->line;
	r->cur_len = 0;
}

/* The line on which the current field started. */
static uint64_t csv_field_line(const struct csv_reader *r)
{
	return r->nfields < CSV_MAX_FIELDS ? r->field_line[r->nfields] : r->line;
}

/* Appends bytes to the current field. */
static void csv_append(struct csv_reader *r, const unsigned char *p, size_t n)
{
	if (r->skipping || n == 0)
		return;
	if (n > CSV_MAX_FIELD - r->cur_len) {
		csv_fail(r, CL_ELIMIT, "field too long", csv_field_line(r), r->nfields + 1);
		return;
	}
	memcpy(r->arena + r->used + r->cur_len, p, n);
	r->cur_len += n;
}

/* Finishes the current field: checks its UTF-8 and stores it. */
static void csv_end_field(struct csv_reader *r)
{
	char *f;
	size_t bad;

	if (r->skipping)
		return;
	f = r->arena + r->used;
	bad = csv_utf8_check((const unsigned char *)f, r->cur_len);
	if (bad < r->cur_len) {
		uint64_t line = r->field_line[r->nfields];
		for (size_t i = 0; i < bad; i++)
			line += f[i] == '\n';
		csv_fail(r, CL_EPARSE, "invalid UTF-8", line, r->nfields + 1);
		return;
	}
	f[r->cur_len] = '\0';
	r->fields[r->nfields] = f;
	r->lens[r->nfields] = r->cur_len;
	r->nfields++;
	r->used += r->cur_len + 1;
	r->cur_len = 0;
}

/* Ends the record: 1 with *rec filled, or the code of its error. */
static int csv_finish(struct csv_reader *r, struct csv_record *rec)
{
	if (r->skipping)
		return r->err_code;
	rec->nfields = r->nfields;
	rec->fields = r->fields;
	rec->lens = r->lens;
	rec->line = r->rec_line;
	rec->field_line = r->field_line;
	return 1;
}

int csv_next(struct csv_reader *r, struct csv_record *rec)
{
	enum csv_state st = ST_RECORD;
	bool started = false; /* a field of this record has begun */
	int rc;

	if (r == NULL || rec == NULL)
		return CL_EINVAL;
	if (r->io_error)
		return CL_EIO;
	r->used = 0;
	r->cur_len = 0;
	r->nfields = 0;
	r->skipping = false;
	r->err = NULL;
	r->err_code = 0;
	r->err_line = 0;
	r->err_col = 0;
	r->rec_line = r->line;

	for (;;) {
		const unsigned char *p, *end, *s;
		unsigned char c;

		rc = csv_fill(r);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (!started)
				return 0;
			switch (st) {
			case ST_QUOTED:
				csv_fail(r, CL_EPARSE, "unterminated quoted field",
					 csv_field_line(r), r->nfields + 1);
				break;
			case ST_FIELD: /* "a," at the end: an empty last field */
				csv_begin_field(r);
				csv_end_field(r);
				break;
			default:
				csv_end_field(r);
				break;
			}
			return csv_finish(r, rec);
		}
		p = r->buf + r->pos;
		end = r->buf + r->len;
		c = *p;

		switch (st) {
		case ST_RECORD:
		case ST_FIELD:
			if (st == ST_RECORD && c == '\n' && !started) {
				/* A blank line. */
				r->line++;
				r->pos++;
				continue;
			}
			if (st == ST_RECORD && c == '\r' && !started) {
				st = ST_CR;
				r->pos++;
				continue;
			}
			started = true;
			csv_begin_field(r);
			if (c == '"') {
				st = ST_QUOTED;
				r->pos++;
			} else {
				st = ST_UNQUOTED;
			}
			continue;
		case ST_UNQUOTED:
			s = p;
			while (p < end && !(csv_class[*p] & CLS_UNQ))
				p++;
			csv_append(r, s, (size_t)(p - s));
			r->pos = (size_t)(p - r->buf);
			if (p == end)
				continue;
			c = *p;
			r->pos++;
			switch (c) {
			case ',':
				csv_end_field(r);
				st = ST_FIELD;
				break;
			case '\n':
				csv_end_field(r);
				r->line++;
				return csv_finish(r, rec);
			case '\r':
				st = ST_CR;
				break;
			case '"':
				csv_fail(r, CL_EPARSE, "quote inside unquoted field", r->line,
					 r->nfields + 1);
				break;
			default: /* NUL */
				csv_fail(r, CL_EPARSE, "NUL byte", r->line, r->nfields + 1);
				break;
			}
			continue;
		case ST_QUOTED:
			s = p;
			while (p < end && !(csv_class[*p] & CLS_Q))
				p++;
			csv_append(r, s, (size_t)(p - s));
			r->pos = (size_t)(p - r->buf);
			if (p == end)
				continue;
			c = *p;
			r->pos++;
			if (c == '"') {
				st = ST_QUOTE_SEEN;
			} else if (c == '\n') {
				csv_append(r, p, 1);
				r->line++;
			} else {
				csv_fail(r, CL_EPARSE, "NUL byte", r->line, r->nfields + 1);
			}
			continue;
		case ST_QUOTE_SEEN:
			r->pos++;
			switch (c) {
			case '"':
				csv_append(r, p, 1);
				st = ST_QUOTED;
				break;
			case ',':
				csv_end_field(r);
				st = ST_FIELD;
				break;
			case '\n':
				csv_end_field(r);
				r->line++;
				return csv_finish(r, rec);
			case '\r':
				st = ST_CR;
				break;
			default:
				csv_fail(r, CL_EPARSE,
					 c == 0 ? "NUL byte" : "text after closing quote", r->line,
					 r->nfields + 1);
				st = ST_UNQUOTED;
				break;
			}
			continue;
		case ST_CR:
			if (c == '\n') {
				r->pos++;
				r->line++;
				if (!started) {
					st = ST_RECORD; /* a blank CRLF line */
					continue;
				}
				csv_end_field(r);
				return csv_finish(r, rec);
			}
			/* A bare CR: an error; the rest is lexed as an unquoted field. */
			if (!started) {
				started = true;
				csv_begin_field(r);
			}
			csv_fail(r, CL_EPARSE, "carriage return not followed by line feed", r->line,
				 r->nfields + 1);
			st = ST_UNQUOTED;
			continue;
		}
	}
}

const char *csv_error(const struct csv_reader *r)
{
	if (r == NULL || r->err == NULL)
		return "no error";
	return r->err;
}

uint64_t csv_error_line(const struct csv_reader *r)
{
	return r == NULL || r->err == NULL ? 0 : r->err_line;
}

size_t csv_error_column(const struct csv_reader *r)
{
	return r == NULL || r->err == NULL ? 0 : r->err_col;
}

uint64_t csv_bytes_read(const struct csv_reader *r)
{
	if (r == NULL)
		return 0;
	return r->filled - (r->len - r->pos);
}

const char *csv_name(const struct csv_reader *r)
{
	return r == NULL ? "" : r->name;
}
