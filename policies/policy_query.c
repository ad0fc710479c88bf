#include "policies/policy_query.h"

#include <stdio.h>
#include <string.h>

#include "common/cl_error.h"
#include "common/cldate.h"

#define POLICY_QUERY_DAY 86400

int policy_query_open(const char *path, enum policy_scope want, struct policy **out, char *err,
		      size_t errsz)
{
	struct policy *p = NULL;
	int rc;

	if (!path || !*path || !out)
		return CL_EINVAL;
	rc = policy_load(path, &p, err, errsz);
	if (rc != CL_OK)
		goto out;
	if (policy_scope(p) != want) {
		if (err && errsz)
			snprintf(err, errsz, "%s: scope is %s, this daemon needs scope: %s", path,
				 policy_scope(p) == POLICY_SCOPE_NODE ? "node" : "federation",
				 want == POLICY_SCOPE_NODE ? "node" : "federation");
		rc = CL_EPOLICY;
		goto out;
	}
	*out = p;
	p = NULL;
out:
	policy_free(p);
	return rc;
}

const char *policy_query_measure(const char *wire_measure)
{
	if (!wire_measure)
		return "";
	if (!strcmp(wire_measure, "incident_events"))
		return "M1";
	if (!strcmp(wire_measure, "case_history"))
		return "M7";
	if (!strcmp(wire_measure, "high_risk_alerts"))
		return "M8";
	return wire_measure;
}

/* A "YYYY-MM-DD" date as days since 1970-01-01. */
static int policy_query_day(const char *s, int64_t *out)
{
	const char *why = NULL;
	int64_t t = 0;

	if (!s || strlen(s) != 10 || cldate_parse_time(s, &t, &why) != CL_OK)
		return CL_EINVAL;
	*out = t / POLICY_QUERY_DAY;
	return CL_OK;
}

/* The file's name without its folders. */
static const char *policy_query_base(const struct policy *p)
{
	const char *name = policy_name(p), *slash;

	if (!name)
		return "";
	slash = strrchr(name, '/');
	return slash ? slash + 1 : name;
}

/*
 * Names the file by its base name in the decision's message ("refused by
 * node-policy.yaml rule ..."): short enough for the status message and the
 * audit entry, and no server folders on the wire.
 */
static void policy_query_short_name(const struct policy *p, struct policy_decision *d)
{
	const char *name = policy_name(p), *base = policy_query_base(p),
		   *verbs[] = {"refused by ", "allowed by "};
	char msg[POLICY_MAX_MESSAGE];
	size_t i, vl, nl;

	if (!name || base == name)
		return;
	nl = strlen(name);
	for (i = 0; i < 2; i++) {
		vl = strlen(verbs[i]);
		if (strncmp(d->message, verbs[i], vl) || strncmp(d->message + vl, name, nl))
			continue;
		snprintf(msg, sizeof(msg), "%s%s%s", verbs[i], base, d->message + vl + nl);
		memcpy(d->message, msg, sizeof(msg));
		return;
	}
}

/* The decision when no policy is loaded (insecure demo only): allowed, default disclosure. */
static void policy_query_allow_all(struct policy_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->allowed = 1;
	d->disclosure.threshold = POLICY_THRESHOLD_DEFAULT;
	d->disclosure.rounding = 1;
	snprintf(d->message, sizeof(d->message), "allowed: no policy (insecure demo)");
}

int policy_query_check(const struct policy *p, struct policy_rate *rate,
		       const Caselink__V1__QueryRequest *qr, int64_t now,
		       struct policy_decision *out, const char **why)
{
	struct policy_param params[POLICY_MAX_PARAMS];
	struct policy_request req;
	struct policy_decision d;
	const Caselink__V1__Identity *who;
	size_t i, np = 0;
	int rc, cases;

	if (!qr || !qr->header || !out || !why)
		return CL_EINVAL;
	if (!p) {
		policy_query_allow_all(out);
		return CL_OK;
	}
	who = qr->header->requester;
	memset(&req, 0, sizeof(req));
	req.requester_id = who && who->id ? who->id : "";
	req.requester_ou = who && who->role ? who->role : "";
	req.measure = policy_query_measure(qr->measure);
	if (qr->n_group_by > POLICY_MAX_GROUP_BY) {
		*why = "too many groupings";
		return CL_EINVAL;
	}
	req.group_by = (const char *const *)qr->group_by;
	req.ngroup_by = qr->n_group_by;
	for (i = 0; i < qr->n_parameters; i++) {
		const Caselink__V1__QueryRequest__ParametersEntry *e = qr->parameters[i];

		if (!e || !e->key || !e->value) {
			*why = "malformed parameter";
			return CL_EINVAL;
		}
		if (!strcmp(e->key, "as_of")) {
			if (req.has_as_of || policy_query_day(e->value, &req.as_of) != CL_OK) {
				*why = "as_of must be one YYYY-MM-DD date";
				return CL_EINVAL;
			}
			req.has_as_of = 1;
			continue;
		}
		/* Not measure parameters: the TOKENS window around the period (node/serve.c)
		 * and the M7 case's own record handle (coordinator/cases_answer.h). */
		if (!strcmp(e->key, "window_from") || !strcmp(e->key, "window_to") ||
		    !strcmp(e->key, "subject"))
			continue;
		if (np == POLICY_MAX_PARAMS) {
			*why = "too many parameters";
			return CL_EINVAL;
		}
		params[np].name = e->key;
		params[np].value = e->value;
		np++;
	}
	req.params = np ? params : NULL;
	req.nparams = np;
	cases = !strcmp(req.measure, "M7") || !strcmp(req.measure, "M8");
	if ((qr->period_from && *qr->period_from) || (qr->period_to && *qr->period_to)) {
		if (policy_query_day(qr->period_from, &req.period_from) != CL_OK ||
		    policy_query_day(qr->period_to, &req.period_to) != CL_OK) {
			*why = "period must be YYYY-MM-DD with from before to";
			return CL_EINVAL;
		}
		req.has_period = !cases;
	}
	/*
	 * A case request's period is the history up to the day after the as-of
	 * date (coordinator/cases_answer.h): no aggregate period; M7 and M8 are
	 * asked as of that day (measures.md: as of today unless the requester
	 * names one), so a rule's as_of bounds hold for both.
	 */
	if (!req.has_as_of && cases) {
		req.has_as_of = 1;
		req.as_of =
		    qr->period_to && *qr->period_to ? req.period_to - 1 : now / POLICY_QUERY_DAY;
	}
	req.purpose = qr->header->purpose ? qr->header->purpose : "";
	req.legal_basis = qr->header->legal_basis ? qr->header->legal_basis : "";
	req.now = now;
	rc = policy_check(p, &req, rate, &d);
	if (rc == CL_OK || rc == CL_EDENIED || rc == CL_EQUOTA) {
		policy_query_short_name(p, &d);
		*out = d;
	} else
		*why = "the policy cannot decide this request";
	return rc;
}

void policy_query_reason(const struct policy *p, const struct policy_decision *d, char *buf,
			 size_t bufsz)
{
	const char *name = p ? policy_query_base(p) : "";

	if (!buf || !bufsz)
		return;
	snprintf(buf, bufsz, "policy:%.63s (%.80s)", d && d->rule[0] ? d->rule : "request",
		 name && *name ? name : "-");
}
