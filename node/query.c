#include "node/query.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "common/cl_error.h"

static const struct {
	unsigned flag;
	const char *name;
	const char *sql; /* expression over events e and the node's agency type ?3 */
} node_query_cols[] = {
    {NODE_QUERY_BY_MUNICIPALITY, "municipality", "e.municipality"},
    {NODE_QUERY_BY_AGENCY_TYPE, "agency_type", "?3"},
    {NODE_QUERY_BY_QUARTER, "quarter",
     "strftime('%Y',e.occurred_at,'unixepoch')||'-Q'||"
     "((CAST(strftime('%m',e.occurred_at,'unixepoch') AS INTEGER)+2)/3)"},
    {NODE_QUERY_BY_MONTH, "month", "strftime('%Y-%m',e.occurred_at,'unixepoch')"},
    {NODE_QUERY_BY_YEAR, "year", "strftime('%Y',e.occurred_at,'unixepoch')"},
};

#define NODE_QUERY_NCOLS (sizeof(node_query_cols) / sizeof(node_query_cols[0]))

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

int node_query_incident_events(struct node_store *s, int64_t from, int64_t to, unsigned by,
			       node_query_row_fn emit, void *ud)
{
	struct node_store_meta meta;
	char sql[2048], cols[1024] = "";
	const char *keys[NODE_QUERY_MAX_KEYS];
	sqlite3_stmt *st = NULL;
	size_t i, nkeys = 0, used = 0;
	int rc, step;

	if (!s || !emit || from > to)
		return CL_EINVAL;
	rc = node_store_get_meta(s, &meta);
	if (rc != CL_OK)
		return rc;
	for (i = 0; i < NODE_QUERY_NCOLS; i++) {
		int n;

		if (!(by & node_query_cols[i].flag))
			continue;
		n = snprintf(cols + used, sizeof(cols) - used, "%s%s", nkeys ? "," : "",
			     node_query_cols[i].sql);
		if (n < 0 || (size_t)n >= sizeof(cols) - used)
			return CL_EOVERFLOW;
		used += (size_t)n;
		nkeys++;
	}
	if (nkeys)
		rc = snprintf(sql, sizeof(sql),
			      "SELECT %s,count(*) FROM events e WHERE e.category='incident' AND "
			      "e.role='victim' AND "
			      "e.occurred_at>=?1 AND e.occurred_at<?2 GROUP BY %s ORDER BY %s",
			      cols, cols, cols);
	else
		rc = snprintf(sql, sizeof(sql),
			      "SELECT count(*) FROM events e WHERE e.category='incident' AND "
			      "e.role='victim' AND "
			      "e.occurred_at>=?1 AND e.occurred_at<?2 AND ?3 IS NOT NULL");
	/* Without grouping the one row is the total, zero included. */
	if (rc < 0 || (size_t)rc >= sizeof(sql))
		return CL_EOVERFLOW;
	if (sqlite3_prepare_v2(node_store_db(s), sql, -1, &st, NULL) != SQLITE_OK) {
		rc = CL_ESQL;
		goto out;
	}
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	sqlite3_bind_text(st, 3, meta.agency_type, -1, SQLITE_TRANSIENT);
	rc = CL_OK;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t count = sqlite3_column_int64(st, (int)nkeys);

		for (i = 0; i < nkeys; i++) {
			keys[i] = (const char *)sqlite3_column_text(st, (int)i);
			if (!keys[i])
				keys[i] = "";
		}
		rc = emit(ud, keys, nkeys, count);
		if (rc != 0)
			goto out;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = CL_ESQL;
out:
	sqlite3_finalize(st);
	return rc;
}
