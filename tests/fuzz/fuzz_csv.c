/*
 * libFuzzer harness for the CSV reader: feeds the input through fmemopen and
 * reads every record, checking the reader's invariants. csv.c is compiled into
 * this harness with a tiny read block (CSV_BLOCK), so that short inputs cross
 * many block boundaries; the unit tests cover the real 64 KiB block.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "common/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv_reader *r = NULL;
	struct csv_record rec;
	char *copy = malloc(size + 1);
	FILE *fp = NULL;
	size_t calls = 0;
	int rc;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	fp = size > 0 ? fmemopen(copy, size, "r") : fopen("/dev/null", "r");
	if (fp == NULL || csv_open_fp(fp, "fuzz", &r) != 0)
		abort();
	for (;;) {
		/* Every call but the last consumes at least one byte. */
		if (++calls > size + 2)
			abort();
		rc = csv_next(r, &rec);
		if (rc == 0)
			break;
		if (rc == 1) {
			if (rec.nfields < 1 || rec.nfields > CSV_MAX_FIELDS || rec.line < 1)
				abort();
			for (size_t i = 0; i < rec.nfields; i++) {
				if (rec.lens[i] > CSV_MAX_FIELD ||
				    rec.fields[i][rec.lens[i]] != '\0' ||
				    strlen(rec.fields[i]) != rec.lens[i])
					abort();
				if (rec.field_line[i] < (i ? rec.field_line[i - 1] : rec.line))
					abort();
			}
		} else if (rc == CL_EPARSE || rc == CL_ELIMIT) {
			if (csv_error(r) == NULL || csv_error_line(r) < 1 ||
			    csv_error_column(r) < 1 || csv_error_column(r) > CSV_MAX_FIELDS + 1)
				abort();
		} else {
			abort(); /* CL_EIO cannot happen on memory */
		}
	}
	if (csv_bytes_read(r) != size || csv_next(r, &rec) != 0)
		abort();
	csv_close(r);
	fclose(fp);
	free(copy);
	return 0;
}
