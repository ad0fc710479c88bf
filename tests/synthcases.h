/*
 * synthcases — M7/M8 of the coordinator's case engine (coordinator/cases.c) on a loaded
 * `caselink synth` federation against the reference's expected files; shared by test_cases and
 * test_measures_linked. Test code only: failures are CMocka assertions.
 */
#ifndef CASELINK_TESTS_SYNTHCASES_H
#define CASELINK_TESTS_SYNTHCASES_H

#include <stddef.h>

#include "coordinator/cases.h"
#include "tests/synthfed.h"

/*
 * Compares M7 (every request of expdir/m7_requests.csv, both legal bases: its status, rows and
 * omitted records, and every row with expdir/m7.csv) and M8 (every agency, both bases, with
 * expdir/m8.csv) of in as of the day asof (answers cover it). recs maps "agency_id,person_ref"
 * to in's record index. Adds the requests and rows compared to *lines; returns the number of
 * differing requests and lines, the first of them printed.
 */
size_t synthcases_vs_truth(const struct cases_input *in, const struct synthfed_map *recs,
			   const struct synthfed_agencies *agencies, const char *expdir,
			   const char *asof, size_t *lines);

#endif
