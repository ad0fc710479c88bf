#include "node/query.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/aggregate.h"
#include "common/cl_error.h"
#include "common/cldate.h"

#define NODE_QUERY_DAY 86400

static const struct {
	unsigned flag;
	const char *name;
} node_query_cols[] = {
    {NODE_QUERY_BY_MUNICIPALITY, "municipality"},
    {NODE_QUERY_BY_AGENCY_TYPE, "agency_type"},
    {NODE_QUERY_BY_QUARTER, "quarter"},
    {NODE_QUERY_BY_MONTH, "month"},
    {NODE_QUERY_BY_YEAR, "year"},
};

#define NODE_QUERY_NCOLS (sizeof(node_query_cols) / sizeof(node_query_cols[0]))

/* One day's victim incident events in one municipality. */
struct node_query_day {
	int64_t day; /* days since 1970-01-01 */
	uint32_t municipality;
	uint32_t count;
};

struct node_query_cache {
	pthread_mutex_t lock;
	int valid;
	int64_t generation; /* the store's import generation the entries were built from */
	struct node_query_day *days;
	size_t ndays;
	char **municipalities;
	size_t nmunicipalities;
	char agency_type[NODE_AGENCY_TYPE_MAX];
};

int node_query_parse_by(const char *list, unsigned *out)
{
	unsigned flags = 0, periods = 0;
	const char *p = list;
	size_t i;

	if (!list || !out)
		return CL_EINVAL;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int found = 0;

		for (i = 0; i < NODE_QUERY_NCOLS; i++) {
			if (strlen(node_query_cols[i].name) == len &&
			    !strncmp(node_query_cols[i].name, p, len)) {
				flags |= node_query_cols[i].flag;
				found = 1;
			}
		}
		if (!found)
			return CL_EINVAL;
		p += len;
		if (*p == ',')
			p++;
	}
	periods = flags & (NODE_QUERY_BY_QUARTER | NODE_QUERY_BY_MONTH | NODE_QUERY_BY_YEAR);
	if (periods & (periods - 1))
		return CL_EINVAL;
	*out = flags;
	return CL_OK;
}

size_t node_query_by_names(unsigned flags, const char *names[NODE_QUERY_MAX_KEYS])
{
	size_t i, n = 0;

	for (i = 0; i < NODE_QUERY_NCOLS; i++)
		if (flags & node_query_cols[i].flag)
			names[n++] = node_query_cols[i].name;
	return n;
}

int node_query_cache_new(struct node_query_cache **out)
{
	struct node_query_cache *c;

	if (!out)
		return CL_EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return CL_ENOMEM;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return CL_ENOMEM;
	}
	*out = c;
	return CL_OK;
}

static void node_query_cache_clear(struct node_query_cache *c)
{
	size_t i;

	for (i = 0; i < c->nmunicipalities; i++)
		free(c->municipalities[i]);
	free(c->municipalities);
	free(c->days);
	c->municipalities = NULL;
	c->days = NULL;
	c->nmunicipalities = c->ndays = 0;
	c->valid = 0;
}

void node_query_cache_free(struct node_query_cache *c)
{
	if (!c)
		return;
	node_query_cache_clear(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The store's import generation: changes whenever an import stores anything. */
static int node_query_generation(sqlite3 *db, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = CL_ESQL;

	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM imports", -1, &st, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = CL_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

static int node_query_muni_index(struct node_query_cache *c, const char *name, uint32_t *out)
{
	char **grown, *copy;
	size_t i;

	for (i = c->nmunicipalities; i-- > 0;)
		if (!strcmp(c->municipalities[i], name)) {
			*out = (uint32_t)i;
			return CL_OK;
		}
	if (c->nmunicipalities >= NODE_QUERY_MAX_MUNICIPALITIES)
		return CL_ELIMIT;
	grown = realloc(c->municipalities, (c->nmunicipalities + 1) * sizeof(*grown));
	if (!grown)
		return CL_ENOMEM;
	c->municipalities = grown;
	copy = strdup(name);
	if (!copy)
		return CL_ENOMEM;
	c->municipalities[c->nmunicipalities] = copy;
	*out = (uint32_t)c->nmunicipalities++;
	return CL_OK;
}

/* Rebuilds the daily counts from the store (one scan of its incident events). */
static int node_query_cache_build(struct node_query_cache *c, struct node_store *s, int64_t gen)
{
	static const char sql[] =
	    "SELECT (occurred_at - (((occurred_at % 86400) + 86400) % 86400)) / 86400 AS d,"
	    " municipality, count(*) FROM events"
	    " WHERE category = 'incident' AND role = 'victim' GROUP BY d, municipality ORDER BY d";
	struct node_store_meta meta;
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc, step;

	node_query_cache_clear(c);
	rc = node_store_get_meta(s, &meta);
	if (rc != CL_OK)
		return rc;
	memcpy(c->agency_type, meta.agency_type, sizeof(c->agency_type));
	if (sqlite3_prepare_v2(node_store_db(s), sql, -1, &st, NULL) != SQLITE_OK)
		return CL_ESQL;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *muni = (const char *)sqlite3_column_text(st, 1);
		struct node_query_day *d;

		if (c->ndays == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			struct node_query_day *grown = realloc(c->days, ncap * sizeof(*grown));

			if (!grown) {
				rc = CL_ENOMEM;
				goto out;
			}
			c->days = grown;
			cap = ncap;
		}
		d = &c->days[c->ndays];
		d->day = sqlite3_column_int64(st, 0);
		d->count = (uint32_t)sqlite3_column_int64(st, 2);
		rc = node_query_muni_index(c, muni ? muni : "", &d->municipality);
		if (rc != CL_OK)
			goto out;
		c->ndays++;
	}
	if (step != SQLITE_DONE) {
		rc = CL_ESQL;
		goto out;
	}
	c->generation = gen;
	c->valid = 1;
out:
	sqlite3_finalize(st);
	if (rc != CL_OK)
		node_query_cache_clear(c);
	return rc;
}

/* First entry whose day is >= day. */
static size_t node_query_lower(const struct node_query_cache *c, int64_t day)
{
	size_t lo = 0, hi = c->ndays;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->days[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int node_query_run(struct node_query_cache *c, int64_t from, int64_t to, unsigned by,
			  node_query_row_fn emit, void *ud)
{
	const char *keys[NODE_QUERY_MAX_KEYS];
	char period[32];
	struct agg *a = NULL;
	size_t i, k, nkeys = 0, first = node_query_lower(c, from / NODE_QUERY_DAY);
	int64_t total = 0;
	int rc;

	for (k = 0; k < NODE_QUERY_NCOLS; k++)
		nkeys += (by & node_query_cols[k].flag) != 0;
	rc = agg_new(nkeys, 1, &a);
	for (i = first; rc == CL_OK && i < c->ndays && c->days[i].day < to / NODE_QUERY_DAY; i++) {
		int64_t v = c->days[i].count;
		int y, m, d;

		total += v;
		if (!nkeys)
			continue;
		cldate_civil_from_days(c->days[i].day, &y, &m, &d);
		k = 0;
		if (by & NODE_QUERY_BY_MUNICIPALITY)
			keys[k++] = c->municipalities[c->days[i].municipality];
		if (by & NODE_QUERY_BY_AGENCY_TYPE)
			keys[k++] = c->agency_type;
		if (by & NODE_QUERY_BY_QUARTER)
			snprintf(period, sizeof(period), "%04d-Q%d", y, (m + 2) / 3);
		else if (by & NODE_QUERY_BY_MONTH)
			snprintf(period, sizeof(period), "%04d-%02d", y, m);
		else if (by & NODE_QUERY_BY_YEAR)
			snprintf(period, sizeof(period), "%04d", y);
		if (by & (NODE_QUERY_BY_QUARTER | NODE_QUERY_BY_MONTH | NODE_QUERY_BY_YEAR))
			keys[k++] = period;
		rc = agg_add(a, keys, &v);
	}
	if (rc != CL_OK)
		goto out;
	if (!nkeys) {
		/* Without grouping the one row is the total, zero included. */
		rc = emit(ud, keys, 0, total);
		goto out;
	}
	rc = agg_sort(a);
	for (i = 0; rc == CL_OK && i < agg_rows(a); i++) {
		for (k = 0; k < nkeys; k++)
			keys[k] = agg_key(a, i, k);
		rc = emit(ud, keys, nkeys, agg_value(a, i, 0));
	}
out:
	agg_free(a);
	return rc;
}

int node_query_incident_events(struct node_store *s, struct node_query_cache *cache, int64_t from,
			       int64_t to, unsigned by, node_query_row_fn emit, void *ud)
{
	struct node_query_cache *own = NULL;
	int64_t gen = 0;
	int rc;

	if (!s || !emit || from > to || from % NODE_QUERY_DAY || to % NODE_QUERY_DAY)
		return CL_EINVAL;
	if (!cache) {
		rc = node_query_cache_new(&own);
		if (rc != CL_OK)
			return rc;
		cache = own;
	}
	pthread_mutex_lock(&cache->lock);
	rc = node_query_generation(node_store_db(s), &gen);
	if (rc == CL_OK && (!cache->valid || cache->generation != gen))
		rc = node_query_cache_build(cache, s, gen);
	if (rc == CL_OK)
		rc = node_query_run(cache, from, to, by, emit, ud);
	pthread_mutex_unlock(&cache->lock);
	node_query_cache_free(own);
	return rc;
}
