#include "common/aggregate.h"

#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"

struct agg_row {
	char *keys[AGG_MAX_KEYS];
	int64_t values[AGG_MAX_VALUES];
	uint64_t hash;
};

struct agg {
	size_t nkeys, nvalues;
	struct agg_row *rows;
	size_t nrows, cap;
	uint32_t *slots; /* open addressing: row index + 1, 0 = empty */
	size_t nslots;	 /* a power of two, at least twice nrows */
};

static uint64_t agg_hash(const char *const *keys, size_t nkeys)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	size_t k;
	const unsigned char *p;

	for (k = 0; k < nkeys; k++) {
		for (p = (const unsigned char *)keys[k]; *p; p++)
			h = (h ^ *p) * 1099511628211ull;
		h = (h ^ 0x1f) * 1099511628211ull; /* column separator */
	}
	return h;
}

int agg_new(size_t nkeys, size_t nvalues, struct agg **out)
{
	struct agg *a;

	if (!out || nkeys > AGG_MAX_KEYS || nvalues == 0 || nvalues > AGG_MAX_VALUES)
		return CL_EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return CL_ENOMEM;
	a->nkeys = nkeys;
	a->nvalues = nvalues;
	*out = a;
	return CL_OK;
}

void agg_free(struct agg *a)
{
	size_t i, k;

	if (!a)
		return;
	for (i = 0; i < a->nrows; i++)
		for (k = 0; k < a->nkeys; k++)
			free(a->rows[i].keys[k]);
	free(a->rows);
	free(a->slots);
	free(a);
}

static int agg_same(const struct agg *a, const struct agg_row *r, const char *const *keys)
{
	size_t k;

	for (k = 0; k < a->nkeys; k++)
		if (strcmp(r->keys[k], keys[k]))
			return 0;
	return 1;
}

/* Places every row into slots (nslots, a power of two, all empty). */
static void agg_fill(struct agg *a, uint32_t *slots, size_t nslots)
{
	size_t i;

	for (i = 0; i < a->nrows; i++) {
		size_t s = (size_t)a->rows[i].hash & (nslots - 1);

		while (slots[s])
			s = (s + 1) & (nslots - 1);
		slots[s] = (uint32_t)(i + 1);
	}
	free(a->slots);
	a->slots = slots;
	a->nslots = nslots;
}

static int agg_rehash(struct agg *a, size_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof(*slots));

	if (!slots)
		return CL_ENOMEM;
	agg_fill(a, slots, nslots);
	return CL_OK;
}

int agg_add(struct agg *a, const char *const *keys, const int64_t *values)
{
	struct agg_row *r = NULL, fresh;
	int64_t sums[AGG_MAX_VALUES];
	uint64_t h;
	size_t s, k, v;
	int rc;

	if (!a || (a->nkeys && !keys) || !values)
		return CL_EINVAL;
	for (k = 0; k < a->nkeys; k++)
		if (!keys[k] || strlen(keys[k]) >= AGG_MAX_KEY_LEN)
			return CL_ELIMIT;
	if (a->nslots < 2 * (a->nrows + 1)) {
		rc = agg_rehash(a, a->nslots ? a->nslots * 2 : 64);
		if (rc != CL_OK)
			return rc;
	}
	h = agg_hash(keys, a->nkeys);
	for (s = (size_t)h & (a->nslots - 1); a->slots[s]; s = (s + 1) & (a->nslots - 1)) {
		struct agg_row *cand = &a->rows[a->slots[s] - 1];

		if (cand->hash == h && agg_same(a, cand, keys)) {
			r = cand;
			break;
		}
	}
	for (v = 0; v < a->nvalues; v++) {
		sums[v] = r ? r->values[v] : 0;
		if (__builtin_add_overflow(sums[v], values[v], &sums[v]))
			return CL_EOVERFLOW;
	}
	if (r) {
		memcpy(r->values, sums, a->nvalues * sizeof(sums[0]));
		return CL_OK;
	}
	if (a->nrows >= AGG_MAX_ROWS)
		return CL_ELIMIT;
	if (a->nrows == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct agg_row *rows = realloc(a->rows, cap * sizeof(*rows));

		if (!rows)
			return CL_ENOMEM;
		a->rows = rows;
		a->cap = cap;
	}
	memset(&fresh, 0, sizeof(fresh));
	fresh.hash = h;
	memcpy(fresh.values, sums, a->nvalues * sizeof(sums[0]));
	for (k = 0; k < a->nkeys; k++) {
		fresh.keys[k] = strdup(keys[k]);
		if (!fresh.keys[k]) {
			while (k--)
				free(fresh.keys[k]);
			return CL_ENOMEM;
		}
	}
	a->rows[a->nrows] = fresh;
	a->slots[s] = (uint32_t)(a->nrows + 1);
	a->nrows++;
	return CL_OK;
}

static int agg_cmp(const void *x, const void *y)
{
	const struct agg_row *a = x, *b = y;
	size_t k;
	int c;

	/* Key columns past the table's count are NULL in every row. */
	for (k = 0; k < AGG_MAX_KEYS && a->keys[k]; k++) {
		c = strcmp(a->keys[k], b->keys[k]);
		if (c)
			return c;
	}
	return 0;
}

int agg_sort(struct agg *a)
{
	uint32_t *slots;

	if (!a)
		return CL_EINVAL;
	if (a->nrows < 2)
		return CL_OK;
	/* Row indices move: allocate the new slots first so that failure changes nothing. */
	slots = calloc(a->nslots, sizeof(*slots));
	if (!slots)
		return CL_ENOMEM;
	qsort(a->rows, a->nrows, sizeof(*a->rows), agg_cmp);
	agg_fill(a, slots, a->nslots);
	return CL_OK;
}

size_t agg_rows(const struct agg *a)
{
	return a ? a->nrows : 0;
}

const char *agg_key(const struct agg *a, size_t row, size_t k)
{
	if (!a || row >= a->nrows || k >= a->nkeys)
		return NULL;
	return a->rows[row].keys[k];
}

int64_t agg_value(const struct agg *a, size_t row, size_t v)
{
	if (!a || row >= a->nrows || v >= a->nvalues)
		return 0;
	return a->rows[row].values[v];
}
