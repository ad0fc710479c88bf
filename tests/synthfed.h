/*
 * synthfed — shared helpers of the tests that load a `caselink synth` federation as ground truth
 * (test_measures, test_measures_linked, test_cases): generating it, reading its records and
 * events with the linked person ids of truth/links.csv, a small string map, and the engines'
 * answers collected as lines and compared with the expected files. Test code only: failures are
 * CMocka assertions.
 */
#ifndef CASELINK_TESTS_SYNTHFED_H
#define CASELINK_TESTS_SYNTHFED_H

#include <stddef.h>
#include <stdint.h>

#include "common/cldate.h"
#include "common/csv.h"
#include "coordinator/cases.h"
#include "coordinator/measures.h"

/* A map from strings to uint32_t (open addressing); zero-initialise before use. */
struct synthfed_map {
	char **key;
	uint32_t *val;
	size_t cap, n;
};

/* Stores or replaces the value of k. */
void synthfed_map_put(struct synthfed_map *m, const char *k, uint32_t v);

/* Gives the value of k in *v; returns 1 when present, else 0. */
int synthfed_map_get(const struct synthfed_map *m, const char *k, uint32_t *v);

/* Frees the map and zeroes it. */
void synthfed_map_free(struct synthfed_map *m);

/* One person row of an agency, with the agency's row of federation.csv. */
struct synthfed_record {
	uint32_t node;	 /* the agency's position in federation.csv */
	uint32_t person; /* dense linked person id (truth/links.csv), unlinked rows their own */
	const char *agency_id, *agency_type, *municipality;
	const char *person_ref, *sex, *sharing; /* "" when absent */
	int linkable;		   /* a valid personal code, or a family name and birth date */
	struct cldate_birth birth; /* year 0: unknown */
};

/* The agencies of a federation in federation.csv's order (node numbers). */
struct synthfed_agencies {
	char id[64][64];
	size_t n;
};

/* Where the agencies go (when not NULL) and what the caller does with each record and event. */
struct synthfed_sink {
	struct synthfed_agencies *agencies;
	/* Adds a record; returns the caller's index for it, passed back with its events. */
	size_t (*record)(void *ctx, const struct synthfed_record *r);
	/* Adds an event; age_years is the subject's age at occurred_at (-1 unknown). */
	void (*event)(void *ctx, size_t record, const struct measures_event *e);
	void *ctx;
};

/* Fills mr with r's row as a node sends it (sex U when absent), linked as person. */
void synthfed_measures_record(const struct synthfed_record *r, uint32_t person,
			      struct measures_record *mr);

/* Fills cr with r's row as a node sends it (person_ref standing for the handle), as person. */
void synthfed_cases_record(const struct synthfed_record *r, uint32_t person,
			   struct cases_record *cr);

/* Reads the federation at dir (federation.csv, agencies/, truth/links.csv) into sink. */
void synthfed_load(const char *dir, const struct synthfed_sink *sink);

/*
 * Runs `caselink synth --out CASELINK_TMP/<name> <args>` and writes that folder to dir; skips
 * the test when CASELINK_BIN or CASELINK_TMP is unset.
 */
void synthfed_generate(const char *name, const char *args, char *dir, size_t dir_size);

/* Reads truth/expected/period.csv of dir: from, to, as_of (each at least 11 bytes). */
void synthfed_period(const char *dir, char *from, char *to, char *asof);

/* Runs a shell command; prints it and returns its status when it fails. */
int synthfed_shell(const char *cmd);

/* Column index of name in a CSV header record; -1 when absent. */
int synthfed_col(const struct csv_record *h, const char *name);

/* Field c of a CSV record; "" when c is out of range. */
const char *synthfed_field(const struct csv_record *r, int c);

/* Lines of an answer or a file: prefix followed by the comma-joined columns. Zero-initialise. */
struct synthfed_rows {
	char **line;
	size_t n, cap;
	char prefix[256];
};

/* Appends a copy of line. */
void synthfed_rows_add(struct synthfed_rows *r, const char *line);

/* An engine's emit callback (ctx: struct synthfed_rows): adds prefix + the columns. */
int synthfed_collect(void *ctx, const char *const *cols, size_t ncols);

/* As synthfed_collect for M8's three columns, with the first (a hex handle) decoded to text. */
int synthfed_collect_m8(void *ctx, const char *const *cols, size_t ncols);

/* Frees the lines and zeroes r. */
void synthfed_rows_free(struct synthfed_rows *r);

/* Reads the data lines of a CSV file (header skipped) into r; returns 0 when it is absent. */
int synthfed_read_lines(const char *path, struct synthfed_rows *r);

/* A line cut at its last comma: the key before it and the value after it. */
struct synthfed_kv {
	char *key; /* the line up to its last comma, modified in place */
	const char *val;
};

/* Cuts each of n lines at its last comma (in place); returns them sorted by key (free it). */
struct synthfed_kv *synthfed_split_lines(char **lines, size_t n);

/*
 * Compares two sets of lines (sorts both): *same gets the lines in both, *only_a and *only_b
 * the others. Prints up to show differences under the label what.
 */
void synthfed_compare_sets(struct synthfed_rows *a, struct synthfed_rows *b, const char *what,
			   int show, size_t *same, size_t *only_a, size_t *only_b);

/*
 * Compares the engine's rows with the data lines of file (sorts got's lines and cuts them at
 * their last comma): every line equal except the counts of age lines (M1's victims_age_*, M6's
 * cells by age band), whose absolute differences are added to *moved. Prints the first
 * differences, with verbose also the age lines and a total. Returns the other differences.
 */
size_t synthfed_compare_file(struct synthfed_rows *got, const char *file, uint64_t *moved,
			     int verbose);

/* The sum of the last values of the lines that start with prefix and contain infix. */
uint64_t synthfed_sum_lines(const struct synthfed_rows *r, const char *prefix, const char *infix);

/* The time of a date "YYYY-MM-DD" (asserted valid). */
int64_t synthfed_parse_day(const char *s);

#endif
