/*
 * import — streams persons.csv and events.csv (../shared/spec/record-format.md)
 * into the node's store in one transaction: every column validated, every bad
 * row reported as FILE:LINE:COLUMN: reason, nothing stored when any row is bad.
 * Re-imported rows update the stored ones; counts say added/updated/unchanged.
 */
#ifndef CASELINK_NODE_IMPORT_H
#define CASELINK_NODE_IMPORT_H

#include <stdint.h>
#include <stdio.h>

#include "node/store.h"

#define NODE_IMPORT_REF_MAX  128 /* bytes of a person_ref or event_ref */
#define NODE_IMPORT_NAME_MAX 512 /* bytes of a given or family name as imported */

struct node_import_opts {
	const char *persons_path; /* may be NULL when events_path is given */
	const char *events_path;  /* may be NULL when persons_path is given */
	FILE *errors;		  /* one line per rejected cell; NULL means stderr */
	FILE *progress;		  /* progress lines ("\r..."); NULL for none */
	int64_t now;		  /* "the future" starts after this; 0 means time(NULL) */
	int cache_mib;		  /* SQLite page cache during the import; 0 means 16 */
};

struct node_import_report {
	uint64_t persons_rows, persons_added, persons_updated, persons_unchanged;
	uint64_t events_rows, events_added, events_updated, events_unchanged;
	uint64_t invalid_codes; /* persons rows whose national_id fails its check */
	uint64_t unlinkable;	/* persons rows that can never be linked across agencies */
	int64_t import_id;	/* the imports row written for this import */
};

/*
 * Imports the files of o into s (persons first) in one transaction. Returns 0
 * and fills *out when everything was stored; CL_EBADROWS when any row or header
 * was rejected (each reported on o->errors; nothing stored); CL_EIO when a file
 * cannot be read; CL_EINVAL for bad options; CL_ESQL for a database failure.
 */
int node_import_run(struct node_store *s, const struct node_import_opts *o,
		    struct node_import_report *out);

/* Prints the summary of a successful import (one line per file, then the totals) to f. */
void node_import_print_report(const struct node_import_opts *o, const struct node_import_report *r,
			      FILE *f);

#endif
