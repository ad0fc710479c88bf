/*
 * policy — the policy engine enforced by the coordinator and by every node
 * (spec privacy.md "Policies"). One YAML file format serves both: a
 * federation policy (scope: federation, loaded by the coordinator) and a node
 * policy (scope: node, loaded by each agency node, which answers only what
 * its own policy allows, whatever the coordinator says). See docs/policy.md
 * for the format and policies/examples/ for commented examples.
 *
 * Use from a daemon:
 *   - at start-up (and on reload) policy_load(); a loaded policy is read-only
 *     and may be shared by threads; keep one policy_rate tracker for the
 *     process lifetime (it survives reloads: counters are keyed by identity
 *     and rule id);
 *   - per request, fill a policy_request from the verified requester
 *     identity (certificate CN and OU of the ORIGINAL requester, i.e. the
 *     signed RequestHeader.requester, not the forwarding coordinator), the
 *     measure, grouping, period (defaults already resolved), as-of date,
 *     purpose, legal basis and the current time, and call policy_check();
 *   - on a refusal send decision.rule (a coded reason such as
 *     "policy:researchers-aggregates") and keep decision.message for the
 *     audit log; on success apply decision.disclosure and
 *     decision.include_restricted.
 * The coordinator also asks policy_participates() which nodes take part in
 * a measure, and a node may ask it whether it answers a measure at all.
 */
#ifndef CASELINK_POLICY_H
#define CASELINK_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define POLICY_MAX_FILE		 (256u << 10) /* bytes of one policy file */
#define POLICY_MAX_NAME		 64	      /* bytes of a name, id or code, with the NUL */
#define POLICY_MAX_ROLES	 64	      /* roles of one file */
#define POLICY_MAX_RULES	 256	      /* rules of one file */
#define POLICY_MAX_LIST		 256	      /* items of one list (identities, codes, ...) */
#define POLICY_MAX_PARTICIPATION 64	      /* participation entries of one file */
#define POLICY_MAX_MESSAGE	 512	      /* bytes of an error or decision message */
#define POLICY_MAX_PARAMS	 16	      /* parameters of one request or one rule */
#define POLICY_MAX_GROUP_BY	 8	      /* group-by columns of one request */
#define POLICY_RATE_MAX		 65536	      /* (identity, rule) counters of one tracker */

#define POLICY_THRESHOLD_DEFAULT 5 /* primary suppression threshold when not set */
#define POLICY_THRESHOLD_MIN	 3 /* a file setting less is refused at load */

struct policy;
struct policy_rate;

enum policy_scope { POLICY_SCOPE_FEDERATION = 1, POLICY_SCOPE_NODE = 2 };

/* One measure parameter of a request: coded name and value. */
struct policy_param {
	const char *name;
	const char *value;
};

/*
 * A request as the daemon has verified it. Days are days since 1970-01-01
 * (UTC); the period is [period_from, period_to). Strings must not be NULL,
 * except that group_by/params may be NULL when their count is 0.
 */
struct policy_request {
	const char *requester_id; /* certificate CN of the original requester */
	const char *requester_ou; /* certificate OU: node, coordinator, keyholder or user */
	const char *measure;	  /* "M1" .. "M8" */
	const char *const *group_by;
	size_t ngroup_by;
	const struct policy_param *params;
	size_t nparams;
	int has_period;
	int64_t period_from;
	int64_t period_to;
	int has_as_of;
	int64_t as_of;
	const char *purpose;
	const char *legal_basis;
	int64_t now; /* Unix seconds, UTC: rate windows and as-of bounds */
};

/* Disclosure control for the requester's role (privacy.md "Disclosure control"). */
struct policy_disclosure {
	long long threshold;		 /* primary suppression threshold, >= 3 */
	long long rounding;		 /* rounding base of published counts; 1 = none */
	int dp;				 /* differential-privacy noise applies */
	char mechanism[POLICY_MAX_NAME]; /* "discrete_laplace" or "discrete_gaussian" when dp */
	double epsilon_per_query;	 /* discrete_laplace (ε-DP); 0 otherwise */
	double budget;			 /* ε per identity per budget period, discrete_laplace */
	double rho_per_query;		 /* discrete_gaussian (ρ-zCDP); 0 otherwise */
	double budget_rho;		 /* ρ per identity per budget period, discrete_gaussian */
	long long budget_period_days;	 /* when dp */
	int no_differencing; /* "differencing: false": the role's answers skip the check */
};

/* The outcome of policy_check. */
struct policy_decision {
	int allowed;
	char rule[POLICY_MAX_NAME]; /* deciding rule id; "roles", "participation" or "" */
	char role[POLICY_MAX_NAME]; /* the requester's role when one was found, else "" */
	int include_restricted;	    /* allowed with legal basis child_protection on M7/M8 */
	struct policy_disclosure disclosure; /* of role; defaults when the role has none */
	char message[POLICY_MAX_MESSAGE];    /* "allowed by FILE rule 'r'" or "refused by ..." */
};

/*
 * Loads the policy file at path (at most POLICY_MAX_FILE bytes). On failure
 * returns CL_EIO (unreadable), CL_ELIMIT (too large or too many items) or
 * CL_EPOLICY (invalid) and writes "FILE:LINE:COLUMN: reason" into err (errsz
 * bytes) when err is not NULL. path is kept and named in every decision.
 */
int policy_load(const char *path, struct policy **out, char *err, size_t errsz);

/* As policy_load over a memory buffer; name stands for the file in messages. */
int policy_load_mem(const char *name, const char *buf, size_t len, struct policy **out, char *err,
		    size_t errsz);

/* Frees a policy; NULL is allowed. */
void policy_free(struct policy *p);

/* The policy's scope, and the name it was loaded under. */
enum policy_scope policy_scope(const struct policy *p);
const char *policy_name(const struct policy *p);

/*
 * Decides req under p. Returns 0 when allowed, CL_EDENIED when refused by a
 * rule, CL_EQUOTA when refused by a rate limit; in these three cases *out is
 * written (message names the file and the rule). An allowed request is
 * counted in rate (under the deciding rule and the requester id) before
 * returning. rate may be NULL only if no rule that could decide has a rate
 * limit; otherwise CL_EINVAL. Other errors (CL_EINVAL) leave *out untouched.
 * Thread-safe for a shared p and rate.
 */
int policy_check(const struct policy *p, const struct policy_request *req, struct policy_rate *rate,
		 struct policy_decision *out);

/*
 * True (1) when the policy lets the node node_id of type agency_type take
 * part in measure (federation: per the participation entries; node: whether
 * this node answers the measure at all, node_id/agency_type may be NULL).
 */
int policy_participates(const struct policy *p, const char *measure, const char *node_id,
			const char *agency_type);

/* ---- case answers (M7, M8): the holding agency decides (docs/policy.md "Case answers") ---- */

#define POLICY_MAX_CASE_RULES 32 /* case_disclosure rules of one node policy */

/* Evidence of a real shared case, found in the HOLDING agency's own record of the person. */
#define POLICY_EVIDENCE_REFERRAL  (1u << 0) /* it sent a referral to the asking agency's type */
#define POLICY_EVIDENCE_MARAC	  (1u << 1) /* a marac_case_review is recorded */
#define POLICY_EVIDENCE_HIGH_RISK (1u << 2) /* risk high or an order breach, 365 days to as-of */
#define POLICY_EVIDENCE_NONE	  (1u << 3) /* no evidence asked (explicitly) */

/* Where the asking agency must be, relative to the holding node. */
enum policy_case_scope {
	POLICY_CASE_MUNICIPALITY = 1,  /* the node's own municipality */
	POLICY_CASE_COOPERATION_GROUP, /* it, or a municipality of the policy's cooperation_group */
	POLICY_CASE_COUNTRY,	       /* the node's country */
	POLICY_CASE_ANY
};

/*
 * Another agency's case request as a holding node sees it: the measure ("M7", "M8"), the
 * signed purpose and legal basis, the asking agency as the coordinator names it (empty
 * strings: unknown) and the node's own municipality and country. No string may be NULL.
 */
struct policy_case_request {
	const char *measure;
	const char *purpose;
	const char *legal_basis;
	const char *asker_type;
	const char *asker_municipality;
	const char *asker_country;
	const char *own_municipality;
	const char *own_country;
};

/* The outcome of policy_case_check. */
struct policy_case_decision {
	int allowed;
	char rule[POLICY_MAX_NAME]; /* deciding case_disclosure rule; "case_disclosure" if none */
	unsigned evidence;	    /* POLICY_EVIDENCE_* kinds of which one must hold per record */
	char message[POLICY_MAX_MESSAGE]; /* "allowed by FILE case_disclosure rule 'r'" / refused */
};

/*
 * Decides whether node policy p lets any of its records go into the asking agency's case
 * answer: the first case_disclosure rule (or, when the policy has none, the default rules
 * default-child-protection and default-shared-case) whose measures, agency_types, scope,
 * purposes and legal_bases match. A rule without legal_bases matches every basis except
 * child_protection, which must be named. Returns 0 (allowed: out->evidence says which evidence
 * a record needs), CL_EDENIED (out->message says why) or CL_EINVAL (bad arguments, or p is not
 * a node policy; *out untouched).
 */
int policy_case_check(const struct policy *p, const struct policy_case_request *q,
		      struct policy_case_decision *out);

/* One event of the holding node's record, as policy_case_evidence reads it. */
struct policy_case_event {
	const char *event_type;
	const char *referral_to; /* agency type of a referral_sent; "" or NULL otherwise */
	const char *risk_level;	 /* "" or NULL when not recorded */
	int64_t occurred_at;	 /* Unix seconds */
};

/*
 * Which of the evidence kinds the holding node's record (its events ev[0..n)) shows for an
 * asking agency of type asker_type, counting events before as_of_end: REFERRAL (a referral_sent
 * to that type), MARAC (a marac_case_review), HIGH_RISK (risk_level high or a
 * protection_order_breach in the 365 days before as_of_end). Returns the bits found (0: none),
 * or POLICY_EVIDENCE_NONE when kinds is NONE.
 */
unsigned policy_case_evidence(unsigned kinds, const char *asker_type,
			      const struct policy_case_event *ev, size_t n, int64_t as_of_end);

/* The policy-file name of one POLICY_EVIDENCE_* bit ("referral", ...); "" for others. */
const char *policy_evidence_name(unsigned bit);

/* Creates an empty rate tracker (fixed UTC hour and UTC day windows). */
int policy_rate_new(struct policy_rate **out);

/* Frees a tracker; NULL is allowed. */
void policy_rate_free(struct policy_rate *r);

/*
 * Reads the counts of identity under rule in the windows containing now (0
 * for windows that have passed). For persistence and inspection.
 */
int policy_rate_get(struct policy_rate *r, const char *identity, const char *rule, int64_t now,
		    long long *hour_count, long long *day_count);

/*
 * Restores the counts of identity under rule for the hour and day windows
 * containing now (e.g. from a daemon's store after a restart). CL_ELIMIT
 * when the tracker is full.
 */
int policy_rate_set(struct policy_rate *r, const char *identity, const char *rule, int64_t now,
		    long long hour_count, long long day_count);

#endif
