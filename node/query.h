/*
 * query — node-local answers computed from the agency's own store. Nothing
 * here leaves the node except the aggregate rows the callback receives.
 */
#ifndef CASELINK_NODE_QUERY_H
#define CASELINK_NODE_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "node/store.h"

/* Grouping columns of an aggregate, in output order. */
#define NODE_QUERY_BY_MUNICIPALITY (1u << 0)
#define NODE_QUERY_BY_AGENCY_TYPE  (1u << 1)
#define NODE_QUERY_BY_QUARTER	   (1u << 2)
#define NODE_QUERY_BY_MONTH	   (1u << 3)
#define NODE_QUERY_BY_YEAR	   (1u << 4)

#define NODE_QUERY_MAX_KEYS	      5
#define NODE_QUERY_MAX_MUNICIPALITIES 4096 /* distinct municipalities in one store */

/*
 * Daily counts kept in memory by a long-running node, rebuilt from the store
 * whenever an import has changed it, so that a query reads a few hundred
 * summary entries instead of every event. Thread-safe.
 */
struct node_query_cache;

/* Receives one aggregate row: nkeys key texts (in the order above) and a count. */
typedef int (*node_query_row_fn)(void *ud, const char *const *keys, size_t nkeys, int64_t count);

/*
 * Parses a comma-separated list of grouping names ("municipality,quarter")
 * into NODE_QUERY_BY_* flags. Returns CL_EINVAL when a name is unknown, or
 * when more than one of quarter/month/year is given.
 */
int node_query_parse_by(const char *list, unsigned *out);

/* The names of the grouping columns of flags, in output order; returns their count. */
size_t node_query_by_names(unsigned flags, const char *names[NODE_QUERY_MAX_KEYS]);

/* Creates an empty cache. */
int node_query_cache_new(struct node_query_cache **out);

/* Frees a cache; NULL is allowed. */
void node_query_cache_free(struct node_query_cache *c);

/*
 * Counts the node's incident events (category incident, role victim — the
 * "incident events" of measure M1, one per victim per recorded incident, so a
 * call-out recorded for both victim and perpetrator counts once) that occurred
 * in [from, to) — epoch seconds at 00:00 UTC of a day, else CL_EINVAL —
 * grouped by the flags, and calls emit once per group in key order. cache may
 * be NULL (a one-off cache is built). A non-zero return from emit stops and
 * is returned.
 */
int node_query_incident_events(struct node_store *s, struct node_query_cache *cache, int64_t from,
			       int64_t to, unsigned by, node_query_row_fn emit, void *ud);

#endif
