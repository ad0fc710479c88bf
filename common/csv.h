/*
 * csv — a streaming RFC 4180 reader (UTF-8, comma-separated, quoted fields may
 * hold commas, quotes and newlines). A leading UTF-8 BOM is skipped; LF and
 * CRLF line ends are both accepted. Memory is bounded by CSV_MAX_FIELD and
 * CSV_MAX_FIELDS whatever the file size.
 */
#ifndef CASELINK_CSV_H
#define CASELINK_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CSV_MAX_FIELD  4096 /* bytes in one field, after unquoting */
#define CSV_MAX_FIELDS 64   /* fields in one record */

struct csv_reader;

/* One record: fields[i] is NUL-terminated, lens[i] its length; valid until the next csv_next. */
struct csv_record {
	size_t nfields;
	const char *const *fields;
	const size_t *lens;
	uint64_t line;		    /* physical line on which the record starts (1-based) */
	const uint64_t *field_line; /* physical line on which each field starts */
};

/*
 * Opens path for reading; name is used in error messages (defaults to path).
 * On success *out is a new reader that csv_close frees.
 */
int csv_open(const char *path, struct csv_reader **out);

/* As csv_open, over an already open stream; the reader does not close fp. */
int csv_open_fp(FILE *fp, const char *name, struct csv_reader **out);

/*
 * Reads the next record into *rec. Returns 1 when a record was read, 0 at end
 * of file, or a negative CL_E* code. On CL_EPARSE or CL_ELIMIT the record is
 * skipped (the reader resynchronises at the next record boundary when it can),
 * csv_error() describes it, csv_error_line()/csv_error_column() locate it, and
 * reading may continue with another csv_next. CL_EIO is final. Blank lines are
 * skipped.
 */
int csv_next(struct csv_reader *r, struct csv_record *rec);

/*
 * The static reason of the last CL_EPARSE/CL_ELIMIT error: "unterminated quoted
 * field", "text after closing quote", "quote inside unquoted field", "carriage
 * return not followed by line feed", "NUL byte", "invalid UTF-8" (CL_EPARSE);
 * "field too long", "too many fields" (CL_ELIMIT). Never holds input text.
 */
const char *csv_error(const struct csv_reader *r);

/* Line and 1-based column (field number) of the last error; 0 when unknown. */
uint64_t csv_error_line(const struct csv_reader *r);
size_t csv_error_column(const struct csv_reader *r);

/* The name given to csv_open_fp (or the path of csv_open), for "name:line:column: reason". */
const char *csv_name(const struct csv_reader *r);

/* Bytes consumed so far, for progress lines. */
uint64_t csv_bytes_read(const struct csv_reader *r);

/* Closes the reader (and the file when it was opened by csv_open). NULL is allowed. */
void csv_close(struct csv_reader *r);

#endif
