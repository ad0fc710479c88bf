/*
 * cases — the coordinator's engine for the two case measures of ../shared/spec/measures.md:
 * M7 case_history (every linked record of one person, ordered by date) and M8
 * high_risk_alerts (which of the asking agency's own records concern a high-risk person held
 * by at least two agencies, why, and which other agency types hold them).
 *
 * The input is the set of person records the nodes sent for one query (node, agency, opaque
 * row handle, restriction flag, linked-person id) with their coded events. Records marked
 * restricted are treated as absent unless the request carries the child_protection legal
 * basis ("Restricted records"); the engine counts what it left out. Rows are text columns
 * (cases_columns), for party_rows. See docs/measures-engine.md.
 */
#ifndef CASELINK_COORDINATOR_CASES_H
#define CASELINK_COORDINATOR_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/measures.h"

#define CASES_M7 7 /* case_history */
#define CASES_M8 8 /* high_risk_alerts */

#define CASES_MAX_RECORDS (1u << 25) /* records in one input */
#define CASES_MAX_EVENTS  (1u << 28) /* events in one input */
#define CASES_HANDLE_MAX  64	     /* bytes of a row handle */
#define CASES_WINDOW_DAYS 365	     /* M8: the days up to and including the as-of date */

/* One person record as a node sent it. Strings and the handle are copied. */
struct cases_record {
	uint32_t node;		       /* node index */
	const char *agency_id;	       /* the node's agency id */
	const char *agency_type;       /* record-format.md agency type */
	const char *node_municipality; /* the node's municipality (events without one) */
	int restricted;		       /* sharing = restricted at this agency */
	uint32_t person;	       /* linked-person id (equal = same person) */
	const unsigned char *handle;   /* the node's opaque row handle, 1..CASES_HANDLE_MAX bytes */
	size_t handle_len;
};

/* What an answer left out or found. */
struct cases_summary {
	size_t rows;		  /* rows emitted */
	size_t omitted;		  /* restricted records left out (of the persons concerned) */
	int requester_restricted; /* M7: the subject's own record is restricted (no rows) */
};

struct cases_input;

/* Creates an empty input in *out. */
int cases_input_new(struct cases_input **out);

/* Frees an input; NULL is allowed. */
void cases_input_free(struct cases_input *in);

/*
 * Adds a record and writes its index (0, 1, ...) to *index when not NULL. CL_EINVAL for an
 * unknown agency type or a bad handle, CL_ELIMIT beyond CASES_MAX_RECORDS or MEASURES_MAX_TEXT.
 */
int cases_add_record(struct cases_input *in, const struct cases_record *rec, size_t *index);

/*
 * Adds an event (the measures_event of measures.h) to record `record`. CL_EINVAL for an
 * unknown record, event type, role or risk level; CL_ELIMIT beyond CASES_MAX_EVENTS.
 */
int cases_add_event(struct cases_input *in, size_t record, const struct measures_event *ev);

/* Returns the number of records added. */
size_t cases_record_count(const struct cases_input *in);

/* Finds the record of node with this handle; CL_ENOTFOUND when there is none. */
int cases_find_handle(const struct cases_input *in, uint32_t node, const unsigned char *handle,
		      size_t handle_len, size_t *index);

/*
 * Marks record `record` as withheld by its holding node (docs/privacy.md "Case answers"): it
 * is then absent from every answer — no row, no holder, no reason — and, unlike a restricted
 * record, not counted in the summary's omitted records. CL_EINVAL for an unknown record.
 */
int cases_set_withheld(struct cases_input *in, size_t record, int withheld);

/* Reads record `record`'s node, linked person, restriction and handle (each may be NULL). */
int cases_record_get(const struct cases_input *in, size_t record, uint32_t *node, uint32_t *person,
		     int *restricted, const unsigned char **handle, size_t *handle_len);

/*
 * Parses "M7", "case_history", "M8" or "high_risk_alerts" into *which (CASES_M7, CASES_M8).
 * CL_ENOTFOUND for anything else.
 */
int cases_parse_name(const char *name, int *which);

/* Writes to *cols the column names of the measure's rows and returns their number (0: bad). */
size_t cases_columns(int which, const char *const **cols);

/*
 * M7: emits, ordered by time, then agency id, then the order records and events were added,
 * every event before as_of_end (Unix seconds) of every record linked to record `subject`:
 * seq, occurred_at (YYYY-MM-DDTHH:MM:SSZ), agency_type, agency_id, municipality, event_type,
 * role, risk_level, child_threat_level. Without child_protection, restricted records are left
 * out and counted; a restricted subject gives no row. *sum (may be NULL) gets the summary.
 */
int cases_history(const struct cases_input *in, size_t subject, int64_t as_of_end,
		  int child_protection, int (*emit)(void *ctx, const char *const *cols, size_t n),
		  void *ctx, struct cases_summary *sum);

/*
 * M8: a linked person is high risk when, among the visible records' events in
 * [as_of_end − 365 d, as_of_end), one has risk_level high (reason risk_high), or they have
 * ≥ 3 victim episodes with their date there (repeat_episodes; episodes as M2, chained over all
 * times before as_of_end), or a protection_order_breach (order_breach). For each high-risk
 * person whose visible records are held by ≥ 2 nodes, emits one row per visible record of node
 * `node`: handle (lower-case hex), reasons (';'-joined in that order), other_agency_types (the
 * types of the other holding nodes, vocabulary order, ';'-joined). Without child_protection,
 * restricted records are absent; sum->omitted counts those of the persons in the answer.
 */
int cases_alerts(const struct cases_input *in, uint32_t node, int64_t as_of_end,
		 int child_protection, int (*emit)(void *ctx, const char *const *cols, size_t n),
		 void *ctx, struct cases_summary *sum);

#endif
