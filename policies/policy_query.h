/*
 * policy_query — the daemons' side of the policy engine (docs/policy.md,
 * "How the daemons enforce it"): loading the policy named by a party's
 * configuration, turning a received QueryRequest into a policy_request (the
 * ORIGINAL requester of the signed header, never the forwarding
 * coordinator), and the coded reason a node sends when it refuses.
 */
#ifndef CASELINK_POLICY_QUERY_H
#define CASELINK_POLICY_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "policies/policy.h"
#include "protocol/caselink.pb-c.h"

#define POLICY_QUERY_REASON_MAX 160 /* bytes of a node's coded refusal, with the NUL */

/*
 * Loads the policy at path for a daemon that needs scope want. On failure
 * returns the code of policy_load (err: "FILE:LINE:COLUMN: reason") or
 * CL_EPOLICY when the file's scope is not want (err: "FILE: ..."). An empty
 * path is CL_EINVAL: a daemon without a policy must not call this.
 */
int policy_query_open(const char *path, enum policy_scope want, struct policy **out, char *err,
		      size_t errsz);

/*
 * The policy's name for a wire measure: "M1" for "incident_events" (the
 * aggregate incident counts are measure M1's events), "M7" for
 * "case_history", "M8" for "high_risk_alerts", otherwise the name itself.
 * Never NULL.
 */
const char *policy_query_measure(const char *wire_measure);

/*
 * Decides the request qr (header already checked, requester verified by the
 * caller) under p at time now (Unix seconds): the requester is the signed
 * header's requester (CN and OU), the measure per policy_query_measure, the
 * period [period_from, period_to) in days when both are given (for M1-M6),
 * the parameters except window_from, window_to and subject (an "as_of"
 * parameter, YYYY-MM-DD, is the as-of date; M7 and M8 are otherwise asked as
 * of the day before period_to, or today without one), purpose and legal
 * basis. M7 and M8 carry no aggregate period (their period is the case
 * history's window). Returns 0 when
 * allowed, CL_EDENIED or CL_EQUOTA when refused (*out written in these three
 * cases), or CL_EINVAL when the request cannot be decided (malformed period
 * or as-of date, too many parameters or groupings): *why then gets a static
 * reason. The decision's message names the policy file by its base name
 * ("refused by federation-policy.yaml rule 'r': ..."). p NULL (an insecure
 * demo without a policy) allows with the default disclosure settings.
 */
int policy_query_check(const struct policy *p, struct policy_rate *rate,
		       const Caselink__V1__QueryRequest *qr, int64_t now,
		       struct policy_decision *out, const char **why);

/*
 * Writes a node's coded refusal into buf: "policy:<rule> (<policy file name
 * without its folders>)", e.g. "policy:national-monitoring (node-policy.yaml)".
 */
void policy_query_reason(const struct policy *p, const struct policy_decision *d, char *buf,
			 size_t bufsz);

#endif
