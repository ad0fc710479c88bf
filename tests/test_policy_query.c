/*
 * Tests of policy_query (policies/policy_query.h): a received case request (M7, M8) turned
 * into a policy decision — the as-of date the request implies (the day before period_to) is
 * bounded by the rule's as_of for both measures, and a rule's rate counts the asking node's
 * case histories.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "policies/policy.h"
#include "policies/policy_query.h"

static const char POLICY[] = "version: 1\n"
			     "scope: node\n"
			     "roles:\n"
			     "  case_coordinator: {ou: node, identities: [lv-*]}\n"
			     "rules:\n"
			     "  - id: case-history\n"
			     "    role: case_coordinator\n"
			     "    measures: [M7]\n"
			     "    as_of: {max_days_back: 3660, max_days_ahead: 1}\n"
			     "    purposes: [case_review]\n"
			     "    legal_bases: [lv_interinstitutional_cooperation]\n"
			     "    rate: {per_hour: 2, per_day: 3}\n"
			     "  - id: case-alerts\n"
			     "    role: case_coordinator\n"
			     "    measures: [M8]\n"
			     "    as_of: {max_days_back: 31, max_days_ahead: 0}\n"
			     "    purposes: [marac_preparation]\n"
			     "    legal_bases: [lv_interinstitutional_cooperation]\n"
			     "participation:\n"
			     "  - measures: [M7, M8]\n";

struct req {
	Caselink__V1__QueryRequest q;
	Caselink__V1__RequestHeader h;
	Caselink__V1__Identity who;
	char to[11];
};

/* A case request of node lv-liepaja-police as of the day `ahead` days after now's day. */
static void case_request(struct req *r, const char *measure, const char *purpose, int64_t now,
			 int ahead)
{
	int y, m, d;

	caselink__v1__query_request__init(&r->q);
	caselink__v1__request_header__init(&r->h);
	caselink__v1__identity__init(&r->who);
	r->who.id = "lv-liepaja-police";
	r->who.role = "node";
	r->h.requester = &r->who;
	r->h.purpose = (char *)purpose;
	r->h.legal_basis = "lv_interinstitutional_cooperation";
	r->q.header = &r->h;
	r->q.measure = (char *)measure;
	r->q.period_from = "1900-01-01";
	cldate_civil_from_days(now / 86400 + ahead + 1, &y, &m, &d);
	snprintf(r->to, sizeof(r->to), "%04d-%02d-%02d", y, m, d);
	r->q.period_to = r->to;
}

static struct policy *load(void)
{
	struct policy *p = NULL;
	char err[POLICY_MAX_MESSAGE] = "";

	assert_int_equal(
	    policy_load_mem("node-policy.yaml", POLICY, strlen(POLICY), &p, err, sizeof(err)), 0);
	return p;
}

/* The as-of date beyond max_days_ahead is refused for M7 and M8; today (and +1 for M7) is not. */
static void test_as_of_bound(void **state)
{
	struct policy *p = load();
	struct policy_rate *rate = NULL;
	struct policy_decision d;
	struct req r;
	const char *why = NULL;
	int64_t now = (int64_t)time(NULL);

	(void)state;
	assert_int_equal(policy_rate_new(&rate), 0);
	case_request(&r, "high_risk_alerts", "marac_preparation", now, 0);
	assert_int_equal(policy_query_check(p, rate, &r.q, now, &d, &why), 0);
	case_request(&r, "high_risk_alerts", "marac_preparation", now, 1);
	assert_int_equal(policy_query_check(p, rate, &r.q, now, &d, &why), CL_EDENIED);
	assert_string_equal(d.message, "refused by node-policy.yaml rule 'case-alerts': as-of date "
				       "1 days after today, at most 0");
	/* `caselink-node alerts --as-of 2030-01-01` (issue 12): years ahead */
	r.q.period_to = "2030-01-02";
	assert_int_equal(policy_query_check(p, rate, &r.q, now, &d, &why), CL_EDENIED);
	assert_non_null(strstr(d.message, "days after today, at most 0"));

	case_request(&r, "case_history", "case_review", now, 1);
	assert_int_equal(policy_query_check(p, rate, &r.q, now, &d, &why), 0);
	assert_string_equal(d.rule, "case-history");
	case_request(&r, "case_history", "case_review", now, 2);
	assert_int_equal(policy_query_check(p, rate, &r.q, now, &d, &why), CL_EDENIED);
	assert_string_equal(d.message,
			    "refused by node-policy.yaml rule 'case-history': as-of date "
			    "2 days after today, at most 1");
	r.q.period_to = "2030-01-02";
	assert_int_equal(policy_query_check(p, rate, &r.q, now, &d, &why), CL_EDENIED);
	policy_rate_free(rate);
	policy_free(p);
}

/* The rule's rate counts the asking node's case histories; refused ones are not counted. */
static void test_case_history_rate(void **state)
{
	struct policy *p = load();
	struct policy_rate *rate = NULL;
	struct policy_decision d;
	struct req r;
	const char *why = NULL;
	int64_t now = (int64_t)time(NULL);
	long long hour = -1, day = -1;

	(void)state;
	assert_int_equal(policy_rate_new(&rate), 0);
	case_request(&r, "case_history", "case_review", now, 0);
	assert_int_equal(policy_query_check(p, rate, &r.q, now, &d, &why), 0);
	case_request(&r, "case_history", "case_review", now, 5); /* refused: not counted */
	assert_int_equal(policy_query_check(p, rate, &r.q, now, &d, &why), CL_EDENIED);
	case_request(&r, "case_history", "case_review", now, 0);
	assert_int_equal(policy_query_check(p, rate, &r.q, now, &d, &why), 0);
	assert_int_equal(policy_query_check(p, rate, &r.q, now, &d, &why), CL_EQUOTA);
	assert_string_equal(d.message, "refused by node-policy.yaml rule 'case-history': rate "
				       "limit of 2 queries per hour reached");
	assert_int_equal(
	    policy_rate_get(rate, "lv-liepaja-police", "case-history", now, &hour, &day), 0);
	assert_int_equal(hour, 2);
	assert_int_equal(day, 2);
	/* another asking node has its own count */
	r.who.id = "lv-liepaja-health";
	assert_int_equal(policy_query_check(p, rate, &r.q, now, &d, &why), 0);
	policy_rate_free(rate);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_as_of_bound),
	    cmocka_unit_test(test_case_history_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
