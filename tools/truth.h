/*
 * truth — the reference measure engine: computes the expected answers of
 * measures M1–M8 (../shared/spec/measures.md) from a federation's agency CSVs
 * as written plus a linkage file (truth/links.csv: agency_id, person_ref,
 * true_person_id), independently of the coordinator. The file formats and
 * every interpretation are documented in docs/ground-truth.md.
 */
#ifndef CASELINK_TRUTH_H
#define CASELINK_TRUTH_H

#include <stddef.h>

/*
 * Reads data_dir (federation.csv, agencies/<id>/persons.csv and events.csv,
 * truth/links.csv) and writes the expected answers for the period [from, to)
 * (dates YYYY-MM-DD) into out_dir (created when missing). as_of (YYYY-MM-DD)
 * is the date of M7/M8; NULL means the last day of the period. m7_max bounds
 * the number of M7 requests (an evenly spread sample of person rows when
 * there are more). Returns 0, CL_EINVAL for bad dates, CL_EPARSE for
 * malformed input, CL_EIO, CL_ENOMEM or CL_ELIMIT.
 */
int truth_compute(const char *data_dir, const char *from, const char *to, const char *as_of,
		  const char *out_dir, size_t m7_max);

#endif
