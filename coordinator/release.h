/*
 * release — disclosure control of one answer before it leaves the coordinator (privacy.md
 * "Disclosure control", measures.md "Output rules"; docs/disclosure.md "Release").
 *
 * The rows of an answer are collected (release_add), then release_apply:
 *   - cuts the counts into tables (per measure: the key columns where the measure itself
 *     publishes a "*" total are table dimensions, the others slice; incident_events uses
 *     every key column), applies primary and secondary suppression to each table with its
 *     margins (suppress_apply), and to the breakdowns of a total into parts (M1 victims by
 *     sex, age and risk, M3 referrals = received_30d + lost, M5 perpetrators = observable +
 *     not_yet_observable); a cell suppressed in any table is suppressed everywhere;
 *   - for researchers (differencing on), checks the answer's population against the
 *     researcher's earlier ones in the ledger and refuses a near-duplicate;
 *   - suppresses derived values (rates, means, medians) whose denominator is below the
 *     threshold or whose numerator or denominator is suppressed; minima and maxima always;
 *   - when the role has DP: withholds the counts whose per-person contribution is unbounded,
 *     adds discrete Laplace (ε-DP) or discrete Gaussian (ρ-zCDP) noise calibrated to the
 *     per-person sensitivity to every published count,
 *   - then rounds published counts to the policy's base, and recomputes rates from the
 *     released counts when noise or rounding changed them.
 * The ε or ρ of a DP query is charged with release_charge BEFORE any node is asked.
 */
#ifndef CASELINK_COORDINATOR_RELEASE_H
#define CASELINK_COORDINATOR_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "coordinator/ledger.h"
#include "policies/policy.h"

/* Version of the measure definitions an answer follows (measures.md + docs/ground-truth.md). */
#define RELEASE_DEFINITIONS "caselink-measures-2026.1"

#define RELEASE_MAX_KEYS 6	    /* key columns of a row (metric excluded) */
#define RELEASE_MAX_ROWS (1u << 20) /* rows of one answer */
#define RELEASE_MAX_TEXT 256	    /* bytes of one key, metric or value text */

/* States of a released value. */
#define RELEASE_SUPPRESSED 0 /* withheld: no value */
#define RELEASE_COUNT	   1 /* an integer count */
#define RELEASE_REAL	   2 /* a rate, mean, median or other derived number */

/* The settings an answer was released under (every output states them). */
struct release_info {
	long long threshold;
	long long rounding;
	const char *mechanism; /* "none", "discrete_laplace" or "discrete_gaussian" */
	const char *unit;   /* of epsilon, budget, remaining: "epsilon" (Laplace), "rho" (zCDP) */
	double epsilon;	    /* ε or ρ charged for this query; 0 without DP */
	double noise_scale; /* Laplace t or Gaussian σ of every published count; 0 without DP */
	long long
	    sensitivity; /* per person: L1 (= squared L2) sensitivity of the released counts */
	char period[LEDGER_PERIOD_MAX]; /* budget period label; "" without DP */
	double budget;			/* ε or ρ per period; 0 without DP */
	double remaining;		/* ε or ρ left in the period after this query */
	size_t primary, secondary;	/* suppressed counts */
	size_t dp_withheld;		/* counts withheld under DP (no per-person bound) */
	size_t derived_suppressed;	/* suppressed rates, means, medians, extremes */
	size_t joint_added;		/* complements the joint check of all relations added */
	size_t joint_pruned;		/* per-table complements the joint check published again */
	size_t dp_adjusted;		/* noisy counts the consistent post-processing changed */
};

/* One released value. */
struct release_value {
	int state; /* RELEASE_* */
	long long count;
	double real;
	double noise_scale; /* of this value; 0 when exact (or rounded only) */
	const char *reason; /* when suppressed: one of RELEASE_REASON_*; NULL otherwise */
};

/* Why a value is withheld (every output format names it). */
#define RELEASE_REASON_SMALL	 "small"	       /* a count in 1..threshold−1 */
#define RELEASE_REASON_PROTECTS	 "protects another"    /* a complement: hides a small count */
#define RELEASE_REASON_UNBOUNDED "no per-person bound" /* under DP: events, episodes */
#define RELEASE_REASON_DERIVED	 "derived"	       /* a rate, median or extreme withheld */
#define RELEASE_REASON_FAILED	 "fail closed"	       /* the consistency solver failed (DP) */

struct release;

/*
 * Starts the release of one answer of measure (MEASURES_M1..M6, or 0 for incident_events)
 * whose rows have nkeys key columns (1..RELEASE_MAX_KEYS, 0 allowed for incident_events
 * without grouping) followed, for M1–M6, by "metric" and "value" columns, and for
 * incident_events by the count alone. d is copied; CL_EINVAL for a threshold below 3, a
 * rounding below 1 or an unknown mechanism.
 */
int release_new(int measure, size_t nkeys, const struct policy_disclosure *d, struct release **out);

/* Frees r (wiping its exact counts); NULL is allowed. */
void release_free(struct release *r);

/*
 * For a role with DP: charges the policy's ε for requester in the current budget period
 * (time now) in the ledger, before any node is asked. CL_EBUDGET when the budget would be
 * exceeded, with a message in msg naming what is left. Without DP it does nothing.
 */
int release_charge(struct release *r, struct ledger *l, const char *requester, int64_t now,
		   char *msg, size_t msgsz);

/*
 * Refunds the charge of release_charge when the query failed before release_apply succeeded;
 * a no-op without a charge or once numbers were released.
 */
int release_refund(struct release *r, struct ledger *l);

/*
 * Adds one row: ncols texts (keys, then metric and value for M1–M6; keys then the count for
 * incident_events). Texts are copied. CL_EINVAL for a wrong column count, CL_ELIMIT beyond
 * RELEASE_MAX_ROWS rows or RELEASE_MAX_TEXT bytes.
 */
int release_add(struct release *r, const char *const *cols, size_t ncols);

/*
 * Applies disclosure control (see above), once. When pop is not NULL (researchers), the
 * differencing check runs against the ledger l with pop's size set to the answer's
 * population (before noise); CL_EDENIED refuses the answer with a message in msg. Other
 * errors: CL_ENOMEM, CL_EINTERNAL (solver), CL_EOVERFLOW.
 */
int release_apply(struct release *r, struct ledger *l, const char *requester,
		  const struct ledger_population *pop, char *msg, size_t msgsz);

/* Number of rows (all rows are released, suppressed cells marked). */
size_t release_rows(const struct release *r);

/*
 * After release_apply, writes row i's key texts (the metric included for M1–M6) to *keys,
 * their number to *nkeys, and its released value to *v. The texts live as long as r.
 */
int release_row(const struct release *r, size_t i, const char *const **keys, size_t *nkeys,
		struct release_value *v);

/* After release_apply (or release_charge), writes the settings the answer was released under. */
int release_get_info(const struct release *r, struct release_info *out);

/*
 * Whether a count metric of measure (0 for incident_events) is released under DP: 1 when one
 * person adds at most 1 to each of its rows (persons counted), 0 when withheld (events,
 * episodes, referrals: unbounded per person). See docs/disclosure.md "Noise".
 */
int release_dp_released(int measure, const char *metric);

/* Fills d with the secure defaults (threshold 5, no rounding, no DP) used without a policy. */
void release_defaults(struct policy_disclosure *d);

#endif
