/*
 * measures — the coordinator's engine for the aggregate measures M1–M6 of
 * ../shared/spec/measures.md, computed over linked persons.
 *
 * The input is a set of person records (one per person row a node sent: its
 * node, agency, sex, restriction flag, whether it could be linked at all, and
 * its coded events) with the linked-person id of each record (from the linker,
 * or from a ground-truth file in tests). measures_compute writes the rows of
 * one measure in the long format of docs/ground-truth.md: the measure's key
 * columns, then metric and value (the caller adds from,to). Interpretations
 * are those of docs/ground-truth.md; see docs/measures-engine.md.
 *
 * Everything is sort-based: time O(n log n) and memory O(n) in the number of
 * records and events; no tokens or identifiers are kept.
 */
#ifndef CASELINK_COORDINATOR_MEASURES_H
#define CASELINK_COORDINATOR_MEASURES_H

#include <stddef.h>
#include <stdint.h>

#define MEASURES_M1 1 /* incident_counts */
#define MEASURES_M2 2 /* repeat_victimisation */
#define MEASURES_M3 3 /* referral_timeliness */
#define MEASURES_M4 4 /* service_uptake */
#define MEASURES_M5 5 /* programme_outcomes */
#define MEASURES_M6 6 /* children_affected */

/* Time buckets of M1 (other measures ignore the option). */
#define MEASURES_BY_QUARTER 0 /* key column "quarter", e.g. 2025-Q1 */
#define MEASURES_BY_MONTH   1 /* key column "month", e.g. 2025-03 */
#define MEASURES_BY_YEAR    2 /* key column "year", e.g. 2025 */

#define MEASURES_MAX_RECORDS (1u << 25) /* records in one input */
#define MEASURES_MAX_EVENTS  (1u << 28) /* events in one input */
#define MEASURES_MAX_TEXT    256	/* bytes of an agency id or municipality */
#define MEASURES_MAX_COLUMNS 8		/* key columns + metric + value of any measure */

/* One person record as a node sent it. Strings are copied. */
struct measures_record {
	uint32_t node;		       /* node index */
	const char *agency_id;	       /* the node's agency id */
	const char *agency_type;       /* record-format.md agency type */
	const char *node_municipality; /* the node's municipality (events without one) */
	char sex;		       /* 'F', 'M', 'X' or 'U' */
	int restricted;		       /* sharing = restricted (still counted in M1–M6) */
	int linkable;		       /* 0: no usable code and no family name + birth date */
	uint32_t person;	       /* linked-person id (any value; equal = same person) */
};

/* One event of a record (protocol EventRecord). Strings are copied. */
struct measures_event {
	const char *event_type;	  /* record-format.md vocabulary */
	int64_t occurred_at;	  /* Unix seconds, UTC */
	const char *role;	  /* victim | perpetrator | child */
	const char *municipality; /* "" or NULL: the node's */
	const char *risk_level;	  /* none | standard | medium | high | "" or NULL */
	int child_threat_level;	  /* 0, 1, 2; -1 when not assessed */
	const char *referral_to;  /* agency type for referral_sent; "" or NULL otherwise */
	int age_years;		  /* subject's age at the event; -1 unknown */
};

struct measures_input;

/* Creates an empty input in *out. */
int measures_input_new(struct measures_input **out);

/* Frees an input; NULL is allowed. */
void measures_input_free(struct measures_input *in);

/*
 * Adds a record and writes its index (0, 1, ...) to *index when not NULL. CL_EINVAL for an
 * unknown agency type or sex, CL_ELIMIT beyond MEASURES_MAX_RECORDS or MEASURES_MAX_TEXT.
 */
int measures_add_record(struct measures_input *in, const struct measures_record *rec,
			size_t *index);

/*
 * Adds an event to record `record`. CL_EINVAL for an unknown record, event type, role, risk
 * level, threat level or referral_to; CL_ELIMIT beyond MEASURES_MAX_EVENTS.
 */
int measures_add_event(struct measures_input *in, size_t record, const struct measures_event *ev);

/* Returns the number of records and of events added. */
size_t measures_record_count(const struct measures_input *in);
size_t measures_event_count(const struct measures_input *in);

/*
 * Parses a measure name, "M1".."M6" or the spec name ("incident_counts", ...), into *measure.
 * CL_ENOTFOUND for anything else.
 */
int measures_parse_name(const char *name, int *measure);

/*
 * Writes to *cols the column names of the measure's rows (key columns, then "metric" and
 * "value") and returns their number; 0 for an unknown measure or grouping.
 */
size_t measures_columns(int measure, int group_by, const char *const **cols);

/*
 * Computes measure (MEASURES_M1..M6) over the period [from, to) (Unix seconds, from < to),
 * with M1's time bucket group_by (MEASURES_BY_*), calling emit once per row with the columns
 * of measures_columns. A non-zero return of emit stops the computation and is returned.
 * CL_EINVAL for a bad measure, grouping or period, CL_ENOMEM, CL_EOVERFLOW.
 */
int measures_compute(const struct measures_input *in, int measure, int64_t from, int64_t to,
		     int group_by, int (*emit)(void *ctx, const char *const *cols, size_t ncols),
		     void *ctx);

/*
 * Writes num / den with `decimals` decimals (0..12), rounded half up from the exact integer
 * ratio, as every rate of the measures is written (docs/ground-truth.md); "NA" when den is 0.
 * buf holds at least 24 bytes. CL_EOVERFLOW when num · 10^decimals does not fit.
 */
int measures_format_ratio(uint64_t num, uint64_t den, int decimals, char *buf, size_t cap);

/*
 * Builds the episodes of every linked person in role ("victim", "perpetrator" or "child") as
 * M1–M6 do (incident events chained within 72 h over all the input's times) and calls fn once
 * per episode whose date lies in [from, to), with its linked-person id and date. A non-zero
 * return of fn stops and is returned. CL_EINVAL for a bad role, CL_ENOMEM.
 */
int measures_episodes(const struct measures_input *in, const char *role, int64_t from, int64_t to,
		      int (*fn)(void *ctx, uint32_t person, int64_t date), void *ctx);

#endif
