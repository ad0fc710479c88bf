/*
 * ledger — the coordinator's privacy ledger (privacy.md "Disclosure control"): the ε budget of
 * each researcher identity per budget period, and the populations of the researcher's answered
 * queries for the differencing check. One SQLite file (DATA/ledger.db, created 0600, WAL),
 * surviving restarts. Thread-safe; every check-and-record is one IMMEDIATE transaction, so two
 * coordinators' threads (or processes) cannot both spend the last of a budget.
 *
 * ε (discrete Laplace, ε-DP) and ρ (discrete Gaussian, ρ-zCDP) are kept in integer micro-units
 * (dp_epsilon_micro in coordinator/dp.h converts a policy's double): sums are exact. Researchers
 * are certificate CNs (accounts, not persons recorded in the data); messages hold no personal data.
 *
 * Use: before asking any node, ledger_charge(researcher, period, ε) — CL_EBUDGET refuses the
 * query; if the query then fails, ledger_refund(charge id). When the answer is ready, and before
 * it is released, ledger_differencing(researcher, population) — CL_EDENIED refuses it.
 */
#ifndef CASELINK_COORDINATOR_LEDGER_H
#define CASELINK_COORDINATOR_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#define LEDGER_NAME_MAX	   128	/* bytes of a researcher identity */
#define LEDGER_PERIOD_MAX  32	/* bytes of a period label, NUL included */
#define LEDGER_FIELD_MAX   1024 /* bytes of a measure, grouping, filters or node list */
#define LEDGER_MAX_NODES   256	/* node ids in a population */
#define LEDGER_MESSAGE_MAX 256	/* a refusal message, NUL included */
#define LEDGER_MAX_MICRO   ((int64_t)1 << 50)

/* Units of a charge and a budget (micro-units either way). */
#define LEDGER_EPSILON 0 /* ε of ε-DP (discrete Laplace) */
#define LEDGER_RHO     1 /* ρ of ρ-zCDP (discrete Gaussian) */

struct ledger;

/* The population of one answered query, for the differencing check. */
struct ledger_population {
	const char *measure;  /* "M1" .. "M6" */
	const char *grouping; /* group-by columns, recorded only (see ledger_differencing) */
	const char *filters;  /* every other parameter in one canonical string ("" for none) */
	int64_t from_day;     /* period [from_day, to_day), days since 1970-01-01 */
	int64_t to_day;
	const char *nodes; /* ids of the nodes that answered, comma-separated, any order */
	int64_t size;	   /* persons in the population (the answer's grand total) */
	int noisy;	   /* the answer gets DP noise (a repeat is then allowed) */
};

/* Opens (creating, 0600, when missing) the ledger in the SQLite file path. */
int ledger_open(const char *path, struct ledger **out);

/* Closes the ledger; NULL is allowed. */
void ledger_close(struct ledger *l);

/*
 * Writes the label of the budget period holding time now (seconds since 1970, UTC) into buf:
 * for period_days 365 or 366 the calendar year ("2025"), otherwise fixed windows of
 * period_days (1..3660) counted from 1970-01-01 ("d20089+30": from day 20089, 30 days).
 */
int ledger_period(int64_t now, long long period_days, char *buf, size_t bufsz);

/*
 * Atomically checks that the researcher's spending in period plus cost_micro stays within
 * budget_micro, both in unit (LEDGER_EPSILON or LEDGER_RHO), and records the charge, writing its
 * id to *charge_id. Spending in ρ counts an earlier ε charge as ε²/2; spending in ε counts any
 * ρ charge as the whole budget. When over budget, returns CL_EBUDGET and writes a message
 * saying what the query needs and what is left.
 */
int ledger_charge(struct ledger *l, const char *researcher, const char *period, int unit,
		  int64_t cost_micro, int64_t budget_micro, int64_t *charge_id, char *msg,
		  size_t msgsz);

/* Refunds a charge (its query failed); CL_ENOTFOUND when unknown or already refunded. */
int ledger_refund(struct ledger *l, int64_t charge_id);

/* Writes what is left of budget_micro (in unit) for the researcher in period (0 when overspent). */
int ledger_remaining(struct ledger *l, const char *researcher, const char *period, int unit,
		     int64_t budget_micro, int64_t *remaining_micro);

/*
 * Differencing: refuses (CL_EDENIED, with a message) a population that is nested in, or holds,
 * an earlier recorded population of the same researcher — same measure and filters, one period
 * inside the other and the node sets inside each other the same way — and differs from it in
 * size by 1..threshold−1 persons. An earlier population with the same period and node set is
 * the same question asked again, not a differencing pair: allowed when pop->noisy, refused
 * (without noise the change would be exact) when the sizes differ by 1..threshold−1.
 * Otherwise records it and returns CL_OK. threshold >= 3.
 */
int ledger_differencing(struct ledger *l, const char *researcher,
			const struct ledger_population *pop, long long threshold, char *msg,
			size_t msgsz);

#endif
