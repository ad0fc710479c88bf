/*
 * synthfed — shared helpers of the tests that load a `caselink synth` federation as ground truth
 * (test_measures, test_cases): generating it, reading its records and events with the linked
 * person ids of truth/links.csv, and a small string map. Test code only: failures are CMocka
 * assertions.
 */
#ifndef CASELINK_TESTS_SYNTHFED_H
#define CASELINK_TESTS_SYNTHFED_H

#include <stddef.h>
#include <stdint.h>

#include "common/cldate.h"
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

/* What the caller does with each agency, record and event (agency may be NULL). */
struct synthfed_sink {
	void (*agency)(void *ctx, uint32_t node, const char *agency_id, const char *agency_type,
		       const char *municipality);
	/* Adds a record; returns the caller's index for it, passed back with its events. */
	size_t (*record)(void *ctx, const struct synthfed_record *r);
	/* Adds an event; age_years is the subject's age at occurred_at (-1 unknown). */
	void (*event)(void *ctx, size_t record, const struct measures_event *e);
	void *ctx;
};

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

#endif
