/*
 * aggregate — sums the aggregate rows that nodes return, keyed by their
 * grouping columns, into one table the coordinator can sort and release.
 */
#ifndef CASELINK_AGGREGATE_H
#define CASELINK_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#define AGG_MAX_KEYS	8
#define AGG_MAX_VALUES	16
#define AGG_MAX_ROWS	(1u << 20) /* distinct key tuples in one answer */
#define AGG_MAX_KEY_LEN 256	   /* bytes of one key text */

struct agg;

/* Creates an empty table with nkeys key columns and nvalues summed value columns. */
int agg_new(size_t nkeys, size_t nvalues, struct agg **out);

/* Frees a table; NULL is allowed. */
void agg_free(struct agg *a);

/*
 * Adds values to the row of keys (creating it at zero). Returns CL_ELIMIT
 * when a key is too long or the table is full, CL_EOVERFLOW when a sum would
 * overflow; the table is unchanged on error.
 */
int agg_add(struct agg *a, const char *const *keys, const int64_t *values);

/* Sorts the rows by their keys (byte order, first column first); on CL_ENOMEM it is unchanged. */
int agg_sort(struct agg *a);

/* Number of rows, and the key text / summed value of a row. */
size_t agg_rows(const struct agg *a);
const char *agg_key(const struct agg *a, size_t row, size_t k);
int64_t agg_value(const struct agg *a, size_t row, size_t v);

#endif
