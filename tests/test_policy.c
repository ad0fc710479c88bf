/*
 * Tests of the policy engine: every refusal path with its exact message, load
 * errors with their location, rate limits across windows, participation, a
 * node refusing what the federation allows, and every example policy loading.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "policies/policy.h"

/* A federation policy exercising every kind of constraint. */
static const char TEST_POLICY[] =
    "# test policy\n"
    "version: 1\n"
    "scope: federation\n"
    "roles:\n"
    "  national_coordinator: {ou: user, identities: [national, national.lv-*]}\n"
    "  researcher: {ou: user, identities: [researcher.lv-*]}\n"
    "  case_coordinator: {ou: user, identities: [case-coordinator.lv-*-social-services]}\n"
    "disclosure:\n"
    "  researcher:\n"
    "    threshold: 10\n"
    "    rounding: 5\n"
    "    dp: {mechanism: discrete_laplace, epsilon_per_query: 0.5, budget: 2,\n"
    "         budget_period_days: 365}\n"
    "    differencing: false\n"
    "rules:\n"
    "  - id: national-monitoring\n"
    "    role: national_coordinator\n"
    "    measures: [M1, M2]\n"
    "    group_by: [municipality, quarter]\n"
    "    parameters: {granularity: [quarter, year]}\n"
    "    period: {min_days: 28, max_days: 366}\n"
    "    purposes: [monitoring]\n"
    "    legal_bases: [lv_interinstitutional_cooperation]\n"
    "  - id: researchers-aggregates\n"
    "    role: researcher\n"
    "    measures: [M1, M2, M3]\n"
    "    group_by: [municipality, year]\n"
    "    period: {min_days: 90, max_days: 366}\n"
    "    purposes: [research]\n"
    "    legal_bases: [research_public_interest]\n"
    "    rate: {per_hour: 3, per_day: 4}\n"
    "  - id: case-alerts\n"
    "    role: case_coordinator\n"
    "    measures: [M7, M8]\n"
    "    as_of: {max_days_back: 30, max_days_ahead: 0}\n"
    "    purposes: [case_review]\n"
    "    legal_bases: [lv_interinstitutional_cooperation, child_protection]\n"
    "participation:\n"
    "  - measures: [M1, M2, M3]\n"
    "  - measures: [M7, M8]\n"
    "    agency_types: [police, social_services]\n"
    "    nodes: [lv-liepaja-*]\n";

struct fixture {
	char path[512];
	struct policy *p;
	struct policy_rate *rate;
};

static int64_t day_of(int y, int m, int d)
{
	return cldate_days_from_civil(y, m, d);
}

/* 2025-03-01 12:00 UTC. */
static int64_t now_default(void)
{
	return day_of(2025, 3, 1) * 86400 + 12 * 3600;
}

/* A request for the year 2024 (366 days), grouped by municipality. */
static struct policy_request base_request(const char *id, const char *measure, const char *purpose,
					  const char *basis)
{
	static const char *const by[] = {"municipality"};
	struct policy_request q;

	memset(&q, 0, sizeof(q));
	q.requester_id = id;
	q.requester_ou = "user";
	q.measure = measure;
	q.group_by = by;
	q.ngroup_by = 1;
	q.has_period = 1;
	q.period_from = day_of(2024, 1, 1);
	q.period_to = day_of(2025, 1, 1);
	q.purpose = purpose;
	q.legal_basis = basis;
	q.now = now_default();
	return q;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("CASELINK_TMP");
	char err[POLICY_MAX_MESSAGE];

	if (!fx)
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/test_policy.yaml", tmp ? tmp : ".");
	write_file(fx->path, TEST_POLICY);
	if (policy_load(fx->path, &fx->p, err, sizeof(err)) != 0) {
		print_error("%s\n", err);
		free(fx);
		return -1;
	}
	if (policy_rate_new(&fx->rate) != 0) {
		policy_free(fx->p);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	policy_rate_free(fx->rate);
	policy_free(fx->p);
	remove(fx->path);
	free(fx);
	return 0;
}

/* Checks that q is refused (rc) with exactly "refused by PATH where: why". */
static void expect_refusal(struct fixture *fx, const struct policy_request *q, int rc,
			   const char *rule, const char *where_why)
{
	struct policy_decision d;
	char want[POLICY_MAX_MESSAGE * 3];

	memset(&d, 0x5a, sizeof(d));
	assert_int_equal(policy_check(fx->p, q, fx->rate, &d), rc);
	assert_int_equal(d.allowed, 0);
	assert_int_equal(d.include_restricted, 0);
	assert_string_equal(d.rule, rule);
	snprintf(want, sizeof(want), "refused by %s %s", fx->path, where_why);
	assert_string_equal(d.message, want);
}

static void test_allowed_with_disclosure(void **state)
{
	struct fixture *fx = *state;
	struct policy_request q =
	    base_request("national", "M1", "monitoring", "lv_interinstitutional_cooperation");
	struct policy_decision d;
	char want[POLICY_MAX_MESSAGE * 2];

	assert_int_equal(policy_scope(fx->p), POLICY_SCOPE_FEDERATION);
	assert_string_equal(policy_name(fx->p), fx->path);
	assert_int_equal(policy_check(fx->p, &q, fx->rate, &d), 0);
	assert_int_equal(d.allowed, 1);
	assert_string_equal(d.rule, "national-monitoring");
	assert_string_equal(d.role, "national_coordinator");
	snprintf(want, sizeof(want), "allowed by %s rule 'national-monitoring'", fx->path);
	assert_string_equal(d.message, want);
	/* No disclosure entry for the role: the spec defaults. */
	assert_int_equal(d.disclosure.threshold, 5);
	assert_int_equal(d.disclosure.rounding, 1);
	assert_int_equal(d.disclosure.dp, 0);
	assert_int_equal(d.disclosure.no_differencing, 0); /* the check applies by default */

	/* A pattern identity, a researcher: the role's own disclosure settings. */
	q = base_request("researcher.lv-uni-7", "M2", "research", "research_public_interest");
	assert_int_equal(policy_check(fx->p, &q, fx->rate, &d), 0);
	assert_string_equal(d.rule, "researchers-aggregates");
	assert_string_equal(d.role, "researcher");
	assert_int_equal(d.disclosure.threshold, 10);
	assert_int_equal(d.disclosure.rounding, 5);
	assert_int_equal(d.disclosure.dp, 1);
	assert_string_equal(d.disclosure.mechanism, "discrete_laplace");
	assert_true(d.disclosure.epsilon_per_query == 0.5);
	assert_true(d.disclosure.budget == 2.0);
	assert_int_equal(d.disclosure.budget_period_days, 365);
	assert_int_equal(d.disclosure.no_differencing, 1); /* differencing: false */

	/* An allowed parameter value and no grouping at all. */
	{
		struct policy_param prm = {"granularity", "year"};

		q = base_request("national.lv-welfare", "M2", "monitoring",
				 "lv_interinstitutional_cooperation");
		q.ngroup_by = 0;
		q.group_by = NULL;
		q.params = &prm;
		q.nparams = 1;
		assert_int_equal(policy_check(fx->p, &q, fx->rate, &d), 0);
	}
}

static void test_refused_identity(void **state)
{
	struct fixture *fx = *state;
	struct policy_request q =
	    base_request("researcher.lt-uni-1", "M1", "research", "research_public_interest");

	expect_refusal(fx, &q, CL_EDENIED, "roles",
		       "roles: identity 'researcher.lt-uni-1' with OU 'user' holds no role");
	/* The right CN under the wrong certificate role. */
	q = base_request("national", "M1", "monitoring", "lv_interinstitutional_cooperation");
	q.requester_ou = "node";
	expect_refusal(fx, &q, CL_EDENIED, "roles",
		       "roles: identity 'national' with OU 'node' holds no role");
	/* A pattern matches whole identities only. */
	q = base_request("xnational", "M1", "monitoring", "lv_interinstitutional_cooperation");
	expect_refusal(fx, &q, CL_EDENIED, "roles",
		       "roles: identity 'xnational' with OU 'user' holds no role");
	q = base_request("case-coordinator.lv-tukums-police", "M7", "case_review",
			 "child_protection");
	expect_refusal(
	    fx, &q, CL_EDENIED, "roles",
	    "roles: identity 'case-coordinator.lv-tukums-police' with OU 'user' holds no role");
}

static void test_refused_measure(void **state)
{
	struct fixture *fx = *state;
	struct policy_request q =
	    base_request("researcher.lv-uni-7", "M7", "research", "research_public_interest");

	expect_refusal(fx, &q, CL_EDENIED, "researchers-aggregates",
		       "rule 'researchers-aggregates': measure M7 not allowed for role researcher");
	q = base_request("national", "M3", "monitoring", "lv_interinstitutional_cooperation");
	expect_refusal(
	    fx, &q, CL_EDENIED, "national-monitoring",
	    "rule 'national-monitoring': measure M3 not allowed for role national_coordinator");
}

static void test_refused_parameters(void **state)
{
	struct fixture *fx = *state;
	static const char *const by[] = {"municipality", "quarter"};
	struct policy_request q =
	    base_request("researcher.lv-uni-7", "M1", "research", "research_public_interest");
	struct policy_param prm = {"granularity", "month"};

	q.group_by = by;
	q.ngroup_by = 2;
	expect_refusal(fx, &q, CL_EDENIED, "researchers-aggregates",
		       "rule 'researchers-aggregates': group-by column 'quarter' not allowed");
	/* The national coordinator may group by quarter, but not ask monthly granularity. */
	q = base_request("national", "M1", "monitoring", "lv_interinstitutional_cooperation");
	q.group_by = by;
	q.ngroup_by = 2;
	q.params = &prm;
	q.nparams = 1;
	expect_refusal(
	    fx, &q, CL_EDENIED, "national-monitoring",
	    "rule 'national-monitoring': value 'month' of parameter 'granularity' not allowed");
	prm.name = "region";
	prm.value = "kurzeme";
	expect_refusal(fx, &q, CL_EDENIED, "national-monitoring",
		       "rule 'national-monitoring': parameter 'region' not allowed");
}

static void test_refused_period(void **state)
{
	struct fixture *fx = *state;
	struct policy_request q =
	    base_request("national", "M1", "monitoring", "lv_interinstitutional_cooperation");

	q.period_to = q.period_from + 400;
	expect_refusal(fx, &q, CL_EDENIED, "national-monitoring",
		       "rule 'national-monitoring': period of 400 days is longer than 366");
	q.period_to = q.period_from + 10;
	expect_refusal(fx, &q, CL_EDENIED, "national-monitoring",
		       "rule 'national-monitoring': period of 10 days is shorter than 28");
	q.period_to = q.period_from;
	expect_refusal(fx, &q, CL_EDENIED, "national-monitoring",
		       "rule 'national-monitoring': the period is empty");
	q.has_period = 0;
	expect_refusal(fx, &q, CL_EDENIED, "national-monitoring",
		       "rule 'national-monitoring': a period is required");
	/* The bounds themselves are allowed. */
	q.has_period = 1;
	q.period_to = q.period_from + 28;
	assert_int_equal(policy_check(fx->p, &q, fx->rate, &(struct policy_decision){0}), 0);
	q.period_to = q.period_from + 366;
	assert_int_equal(policy_check(fx->p, &q, fx->rate, &(struct policy_decision){0}), 0);
	/* A researcher's quarter is fine, a month is too short for them. */
	q = base_request("researcher.lv-uni-7", "M1", "research", "research_public_interest");
	q.period_to = q.period_from + 31;
	expect_refusal(fx, &q, CL_EDENIED, "researchers-aggregates",
		       "rule 'researchers-aggregates': period of 31 days is shorter than 90");
}

static void test_refused_purpose_and_basis(void **state)
{
	struct fixture *fx = *state;
	struct policy_request q =
	    base_request("national", "M1", "marketing", "lv_interinstitutional_cooperation");

	expect_refusal(fx, &q, CL_EDENIED, "national-monitoring",
		       "rule 'national-monitoring': purpose 'marketing' not allowed");
	q = base_request("national", "M1", "monitoring", "consent");
	expect_refusal(fx, &q, CL_EDENIED, "national-monitoring",
		       "rule 'national-monitoring': legal basis 'consent' not allowed");
}

static void test_as_of_and_restricted(void **state)
{
	struct fixture *fx = *state;
	struct policy_request q = base_request("case-coordinator.lv-liepaja-social-services", "M8",
					       "case_review", "lv_interinstitutional_cooperation");
	int64_t today = day_of(2025, 3, 1);
	struct policy_decision d;

	q.has_period = 0;
	q.ngroup_by = 0;
	q.group_by = NULL;
	q.has_as_of = 1;
	q.as_of = today;
	assert_int_equal(policy_check(fx->p, &q, fx->rate, &d), 0);
	assert_string_equal(d.rule, "case-alerts");
	assert_int_equal(d.include_restricted, 0);
	q.as_of = today - 30;
	assert_int_equal(policy_check(fx->p, &q, fx->rate, &d), 0);
	q.as_of = today - 40;
	expect_refusal(fx, &q, CL_EDENIED, "case-alerts",
		       "rule 'case-alerts': as-of date 40 days before today, at most 30");
	q.as_of = today + 1;
	expect_refusal(fx, &q, CL_EDENIED, "case-alerts",
		       "rule 'case-alerts': as-of date 1 days after today, at most 0");
	/* M7 takes no period: one given is refused. */
	q = base_request("case-coordinator.lv-liepaja-social-services", "M7", "case_review",
			 "lv_interinstitutional_cooperation");
	q.ngroup_by = 0;
	expect_refusal(fx, &q, CL_EDENIED, "case-alerts",
		       "rule 'case-alerts': a period is not allowed");
	/* Grouping is not allowed where the rule lists no columns. */
	q.has_period = 0;
	q.ngroup_by = 1;
	expect_refusal(fx, &q, CL_EDENIED, "case-alerts",
		       "rule 'case-alerts': group-by column 'municipality' not allowed");
	/* Restricted records only with the child_protection basis. */
	q.ngroup_by = 0;
	assert_int_equal(policy_check(fx->p, &q, fx->rate, &d), 0);
	assert_int_equal(d.include_restricted, 0);
	q.legal_basis = "child_protection";
	assert_int_equal(policy_check(fx->p, &q, fx->rate, &d), 0);
	assert_int_equal(d.include_restricted, 1);
	/* An as-of date where the rule has none. */
	q = base_request("national", "M1", "monitoring", "lv_interinstitutional_cooperation");
	q.has_as_of = 1;
	q.as_of = today;
	expect_refusal(fx, &q, CL_EDENIED, "national-monitoring",
		       "rule 'national-monitoring': an as-of date is not allowed");
}

static void test_rate_limits(void **state)
{
	struct fixture *fx = *state;
	struct policy_request q =
	    base_request("researcher.lv-uni-7", "M1", "research", "research_public_interest");
	struct policy_request other =
	    base_request("researcher.lv-uni-8", "M1", "research", "research_public_interest");
	struct policy_decision d;
	long long h = -1, dd = -1;
	int i;

	/* 3 per hour: the fourth in the same hour is refused and not counted. */
	for (i = 0; i < 3; i++)
		assert_int_equal(policy_check(fx->p, &q, fx->rate, &d), 0);
	expect_refusal(fx, &q, CL_EQUOTA, "researchers-aggregates",
		       "rule 'researchers-aggregates': rate limit of 3 queries per hour reached");
	assert_int_equal(policy_rate_get(fx->rate, "researcher.lv-uni-7", "researchers-aggregates",
					 q.now, &h, &dd),
			 0);
	assert_int_equal(h, 3);
	assert_int_equal(dd, 3);
	/* Counters are per identity. */
	assert_int_equal(policy_check(fx->p, &other, fx->rate, &d), 0);
	/* A refusal by another check does not count either. */
	q.purpose = "marketing";
	expect_refusal(fx, &q, CL_EDENIED, "researchers-aggregates",
		       "rule 'researchers-aggregates': purpose 'marketing' not allowed");
	q.purpose = "research";
	/* Next hour: one more, then the day's 4 are used up. */
	q.now += 3600;
	assert_int_equal(policy_check(fx->p, &q, fx->rate, &d), 0);
	q.now += 3600;
	expect_refusal(fx, &q, CL_EQUOTA, "researchers-aggregates",
		       "rule 'researchers-aggregates': rate limit of 4 queries per day reached");
	/* Next UTC day: allowed again. */
	q.now = (day_of(2025, 3, 2)) * 86400;
	assert_int_equal(policy_check(fx->p, &q, fx->rate, &d), 0);
	assert_int_equal(policy_rate_get(fx->rate, "researcher.lv-uni-7", "researchers-aggregates",
					 q.now, &h, &dd),
			 0);
	assert_int_equal(h, 1);
	assert_int_equal(dd, 1);
	/* Restored counts (a daemon after a restart) are enforced. */
	assert_int_equal(
	    policy_rate_set(fx->rate, "researcher.lv-uni-8", "researchers-aggregates", q.now, 0, 4),
	    0);
	other.now = q.now + 60;
	expect_refusal(fx, &other, CL_EQUOTA, "researchers-aggregates",
		       "rule 'researchers-aggregates': rate limit of 4 queries per day reached");
	/* A rate-limited rule without a tracker is a caller error; *out untouched. */
	memset(&d, 0x5a, sizeof(d));
	assert_int_equal(policy_check(fx->p, &q, NULL, &d), CL_EINVAL);
	assert_int_equal(d.rule[0], 0x5a);
	/* A rule without limits needs no tracker. */
	q = base_request("national", "M1", "monitoring", "lv_interinstitutional_cooperation");
	assert_int_equal(policy_check(fx->p, &q, NULL, &d), 0);
}

static void test_malformed_request(void **state)
{
	struct fixture *fx = *state;
	struct policy_request q =
	    base_request("national", "M9", "monitoring", "lv_interinstitutional_cooperation");
	static const char *const by[] = {"municipality\nsecret"};
	struct policy_decision d;

	expect_refusal(fx, &q, CL_EDENIED, "", "request: unknown measure");
	q = base_request("national", "M1", "monitoring\n", "lv_interinstitutional_cooperation");
	expect_refusal(fx, &q, CL_EDENIED, "", "request: malformed purpose");
	q = base_request("national", "M1", "monitoring", "lv_interinstitutional_cooperation");
	q.group_by = by;
	expect_refusal(fx, &q, CL_EDENIED, "", "request: malformed group-by column");
	q = base_request("nat*", "M1", "monitoring", "lv_interinstitutional_cooperation");
	expect_refusal(fx, &q, CL_EDENIED, "", "request: malformed requester identity");
	q = base_request("national", "M1", "monitoring", "lv_interinstitutional_cooperation");
	q.requester_ou = "admin";
	expect_refusal(fx, &q, CL_EDENIED, "", "request: malformed requester role");
	q.requester_ou = NULL;
	assert_int_equal(policy_check(fx->p, &q, fx->rate, &d), CL_EINVAL);
	assert_int_equal(policy_check(NULL, &q, fx->rate, &d), CL_EINVAL);
}

static void test_participation(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(policy_participates(fx->p, "M1", "lv-tukums-education", "education"), 1);
	assert_int_equal(policy_participates(fx->p, "M7", "lv-liepaja-police", "police"), 1);
	assert_int_equal(
	    policy_participates(fx->p, "M8", "lv-liepaja-social-services", "social_services"), 1);
	assert_int_equal(policy_participates(fx->p, "M7", "lv-tukums-police", "police"), 0);
	assert_int_equal(policy_participates(fx->p, "M7", "lv-liepaja-health", "health"), 0);
	assert_int_equal(policy_participates(fx->p, "M7", NULL, NULL), 0);
	assert_int_equal(policy_participates(fx->p, "M5", "lv-liepaja-police", "police"), 0);
	assert_int_equal(policy_participates(fx->p, "M0", "lv-liepaja-police", "police"), 0);
}

/* Loads text as "t.yaml"; returns the code and copies the error. */
static int load_text(const char *text, char *err, size_t errsz)
{
	struct policy *p = NULL;
	int rc = policy_load_mem("t.yaml", text, strlen(text), &p, err, errsz);

	if (rc == 0)
		assert_non_null(p);
	else
		assert_null(p);
	policy_free(p);
	return rc;
}

#define HEAD "version: 1\nscope: federation\nroles:\n  r: {ou: user, identities: [a]}\n"
#define RULE "rules:\n  - {id: x, role: r, measures: [M1], purposes: [p], legal_bases: [b]}\n"
#define PART "participation:\n  - {measures: [M1]}\n"

static void expect_load_error(const char *text, int rc, const char *msg)
{
	char err[POLICY_MAX_MESSAGE];

	memset(err, 0, sizeof(err));
	assert_int_equal(load_text(text, err, sizeof(err)), rc);
	assert_string_equal(err, msg);
}

/* zCDP accounting: discrete_gaussian is charged in ρ, discrete_laplace in ε; mixing is refused. */
static void test_dp_accounting_keys(void **state)
{
	static const char gauss[] =
	    HEAD "disclosure:\n  r:\n    dp: {mechanism: discrete_gaussian, rho_per_query: 0.05,\n"
		 "         budget_rho: 0.8, budget_period_days: 365}\n" RULE PART;
	struct policy *p = NULL;
	struct policy_rate *rate = NULL;
	struct policy_request q = base_request("a", "M1", "p", "b");
	struct policy_decision d;
	char err[POLICY_MAX_MESSAGE] = "";

	(void)state;
	assert_int_equal(policy_load_mem("t.yaml", gauss, strlen(gauss), &p, err, sizeof(err)), 0);
	assert_int_equal(policy_rate_new(&rate), 0);
	q.ngroup_by = 0;
	q.has_period = 0;
	if (policy_check(p, &q, rate, &d) != 0)
		fail_msg("%s", d.message);
	assert_int_equal(d.disclosure.dp, 1);
	assert_string_equal(d.disclosure.mechanism, "discrete_gaussian");
	assert_true(d.disclosure.rho_per_query == 0.05);
	assert_true(d.disclosure.budget_rho == 0.8);
	assert_true(d.disclosure.epsilon_per_query == 0 && d.disclosure.budget == 0);
	policy_rate_free(rate);
	policy_free(p);
	/* ε keys with the Gaussian, ρ keys with the Laplace: refused where they stand. */
	expect_load_error(HEAD
			  "disclosure:\n  r: {dp: {mechanism: discrete_gaussian, "
			  "epsilon_per_query: 0.5, budget: 2, budget_period_days: 30}}\n" RULE PART,
			  CL_EPOLICY,
			  "t.yaml:6:61: 'epsilon_per_query' does not apply to mechanism "
			  "discrete_gaussian, which is charged in rho (zCDP): 'rho_per_query' and "
			  "'budget_rho'");
	expect_load_error(
	    HEAD "disclosure:\n  r: {dp: {mechanism: discrete_gaussian, "
		 "rho_per_query: 0.1, budget_rho: 1,\n   budget: 2, "
		 "budget_period_days: 30}}\n" RULE PART,
	    CL_EPOLICY,
	    "t.yaml:7:12: 'budget' does not apply to mechanism discrete_gaussian, which "
	    "is charged in rho (zCDP): 'rho_per_query' and 'budget_rho'");
	expect_load_error(
	    HEAD "disclosure:\n  r: {dp: {mechanism: discrete_laplace, "
		 "epsilon_per_query: 0.5, budget: 2, rho_per_query: 0.1, "
		 "budget_period_days: 30}}\n" RULE PART,
	    CL_EPOLICY,
	    "t.yaml:6:91: 'rho_per_query' does not apply to mechanism discrete_laplace, "
	    "which is charged in epsilon: 'epsilon_per_query' and 'budget'");
	/* The Gaussian needs its ρ keys, within bounds. */
	expect_load_error(HEAD "disclosure:\n  r: {dp: {mechanism: discrete_gaussian, "
			       "budget_rho: 1, budget_period_days: 30}}\n" RULE PART,
			  CL_EPOLICY, "t.yaml:6:11: missing required key 'rho_per_query'");
	expect_load_error(
	    HEAD "disclosure:\n  r: {dp: {mechanism: discrete_gaussian, "
		 "rho_per_query: 2, budget_rho: 1, budget_period_days: 30}}\n" RULE PART,
	    CL_EPOLICY, "t.yaml:6:57: 'rho_per_query' 2 is larger than 'budget_rho' 1");
}

static void test_load_errors(void **state)
{
	char err[POLICY_MAX_MESSAGE];

	(void)state;
	/* The minimal valid policy loads. */
	assert_int_equal(load_text(HEAD RULE PART, err, sizeof(err)), 0);
	/* A suppression threshold below 3 in the file is a load error. */
	expect_load_error(HEAD "disclosure:\n  r: {threshold: 2}\n" RULE PART, CL_EPOLICY,
			  "t.yaml:6:18: suppression threshold 2 is below the minimum 3");
	expect_load_error(HEAD "disclosure:\n  r: {threshold: 3, rounding: 0}\n" RULE PART,
			  CL_EPOLICY, "t.yaml:6:31: 'rounding' must be between 1 and 1000");
	expect_load_error(HEAD "disclosure:\n  q: {threshold: 5}\n" RULE PART, CL_EPOLICY,
			  "t.yaml:6:6: disclosure for 'q', which is not a role of 'roles'");
	expect_load_error(
	    HEAD "disclosure:\n  r: {dp: {mechanism: discrete_laplace, "
		 "epsilon_per_query: 2, budget: 1, budget_period_days: 30}}\n" RULE PART,
	    CL_EPOLICY, "t.yaml:6:60: 'epsilon_per_query' 2 is larger than 'budget' 1");
	expect_load_error(HEAD "disclosure:\n  r: {differencing: maybe}\n" RULE PART, CL_EPOLICY,
			  "t.yaml:6:21: 'differencing' must be true or false");
	expect_load_error(HEAD "disclosure:\n  r: {dp: {mechanism: gauss}}\n" RULE PART, CL_EPOLICY,
			  "t.yaml:6:23: 'mechanism' must be discrete_laplace or discrete_gaussian");
	/* Unknown keys, at any level. */
	expect_load_error(HEAD RULE PART "extra: 1\n", CL_EPOLICY,
			  "t.yaml:9:1: unknown key 'extra'");
	expect_load_error(HEAD "rules:\n  - {id: x, role: r, measures: [M1], purposes: [p], "
			       "legal_bases: [b], limit: 3}\n" PART,
			  CL_EPOLICY, "t.yaml:6:71: unknown key 'limit'");
	/* Version, scope. */
	expect_load_error("version: 2\nscope: node\n", CL_EPOLICY,
			  "t.yaml:1:10: unsupported policy version 2 (this build reads version 1)");
	expect_load_error("scope: node\n", CL_EPOLICY,
			  "t.yaml:1:1: missing required key 'version'");
	expect_load_error("version: 1\nscope: global\n", CL_EPOLICY,
			  "t.yaml:2:8: 'scope' must be federation or node");
	/* Roles. */
	expect_load_error("version: 1\nscope: node\nroles:\n  r: {ou: admin, identities: [a]}\n",
			  CL_EPOLICY,
			  "t.yaml:4:11: 'ou' must be node, coordinator, keyholder or user");
	expect_load_error("version: 1\nscope: node\nroles:\n  r: {ou: user, identities: ['a b']}\n",
			  CL_EPOLICY,
			  "t.yaml:4:30: 'a b' is not an identity or pattern (letters, digits, "
			  "'.', '_', '-', '*')");
	expect_load_error("version: 1\nscope: node\nroles:\n  r: {ou: user, identities: []}\n",
			  CL_EPOLICY, "t.yaml:4:29: 'identities' must not be empty");
	/* Rules. */
	expect_load_error(HEAD "rules:\n  - {id: x, role: q, measures: [M1], purposes: [p], "
			       "legal_bases: [b]}\n" PART,
			  CL_EPOLICY, "t.yaml:6:19: role 'q' is not defined in 'roles'");
	expect_load_error(HEAD "rules:\n  - {id: x, role: r, measures: [M9], purposes: [p], "
			       "legal_bases: [b]}\n" PART,
			  CL_EPOLICY, "t.yaml:6:33: unknown measure 'M9' (M1..M8)");
	expect_load_error(HEAD "rules:\n  - {id: x, role: r, measures: [M1], group_by: [postcode], "
			       "purposes: [p], legal_bases: [b]}\n" PART,
			  CL_EPOLICY, "t.yaml:6:49: unknown group-by column 'postcode'");
	expect_load_error(HEAD RULE "  - {id: x, role: r, measures: [M2], purposes: [p], "
				    "legal_bases: [b]}\n" PART,
			  CL_EPOLICY, "t.yaml:7:10: rule id 'x' is used twice");
	expect_load_error(HEAD "rules:\n  - {id: x, role: r, measures: [M1], purposes: [p], "
			       "legal_bases: [b], period: {min_days: 30, max_days: 7}}\n" PART,
			  CL_EPOLICY, "t.yaml:6:79: 'min_days' 30 is larger than 'max_days' 7");
	expect_load_error(HEAD "rules:\n  - {id: x, role: r, measures: [M1], purposes: [], "
			       "legal_bases: [b]}\n" PART,
			  CL_EPOLICY, "t.yaml:6:48: 'purposes' must not be empty");
	expect_load_error(HEAD "rules:\n  - {id: x, role: r, measures: [M1], purposes: [p], "
			       "legal_bases: [b], rate: {}}\n" PART,
			  CL_EPOLICY, "t.yaml:6:77: 'rate' needs 'per_hour' or 'per_day'");
	/* Participation: a node policy lists measures only. */
	expect_load_error("version: 1\nscope: node\nroles:\n  r: {ou: user, identities: [a]}\n" RULE
			  "participation:\n  - {measures: [M1], nodes: [n]}\n",
			  CL_EPOLICY,
			  "t.yaml:8:29: a node policy's participation lists measures only");
	expect_load_error(HEAD RULE "participation:\n  - {measures: [M1], agency_types: [bank]}\n",
			  CL_EPOLICY, "t.yaml:8:37: unknown agency type 'bank'");
	/* YAML syntax errors are located by the parser. */
	assert_int_equal(load_text("version: [1\n", err, sizeof(err)), CL_EPOLICY);
	assert_true(strncmp(err, "t.yaml:", 7) == 0);
}

/* A held role without rules, and a rule narrowed to some holders of its role. */
static void test_role_without_rule_and_rule_identities(void **state)
{
	static const char text[] =
	    "version: 1\nscope: federation\nroles:\n"
	    "  r: {ou: user, identities: [a, b, c*]}\n"
	    "  s: {ou: user, identities: [s1]}\n"
	    "rules:\n"
	    "  - {id: only-b, role: r, identities: [b], measures: [M1], purposes: [p], "
	    "legal_bases: [l]}\n"
	    "  - {id: any-r, role: r, measures: [M2], purposes: [p], legal_bases: [l]}\n"
	    "participation:\n  - {measures: [M1, M2]}\n";
	struct policy *p = NULL;
	struct policy_decision d;
	struct policy_request q;
	char err[POLICY_MAX_MESSAGE];

	(void)state;
	assert_int_equal(policy_load_mem("t.yaml", text, strlen(text), &p, err, sizeof(err)), 0);
	q = base_request("s1", "M1", "p", "l");
	q.has_period = 0;
	q.ngroup_by = 0;
	assert_int_equal(policy_check(p, &q, NULL, &d), CL_EDENIED);
	assert_string_equal(d.message, "refused by t.yaml rules: no rule for role s");
	assert_string_equal(d.role, "s");
	q.requester_id = "b";
	assert_int_equal(policy_check(p, &q, NULL, &d), 0);
	assert_string_equal(d.rule, "only-b");
	/* 'a' holds r, but rule only-b is not for it: the first rule left is any-r. */
	q.requester_id = "a";
	assert_int_equal(policy_check(p, &q, NULL, &d), CL_EDENIED);
	assert_string_equal(d.message,
			    "refused by t.yaml rule 'any-r': measure M1 not allowed for role r");
	q.requester_id = "c-anything";
	q.measure = "M2";
	assert_int_equal(policy_check(p, &q, NULL, &d), 0);
	assert_string_equal(d.rule, "any-r");
	policy_free(p);
}

static void test_load_limits(void **state)
{
	size_t cap = POLICY_MAX_FILE + 4096, len;
	char *buf = malloc(cap), err[POLICY_MAX_MESSAGE];
	int i;

	(void)state;
	assert_non_null(buf);
	/* One rule more than the maximum. */
	len = (size_t)snprintf(buf, cap, HEAD "rules:\n");
	for (i = 0; i <= POLICY_MAX_RULES; i++)
		len += (size_t)snprintf(buf + len, cap - len,
					"  - {id: r%d, role: r, measures: [M1], purposes: [p], "
					"legal_bases: [b]}\n",
					i);
	snprintf(buf + len, cap - len, PART);
	assert_int_equal(load_text(buf, err, sizeof(err)), CL_ELIMIT);
	assert_string_equal(err, "t.yaml:6:3: more than 256 rules");
	/* A file over the size limit, refused before parsing. */
	memset(buf, '#', POLICY_MAX_FILE + 1);
	buf[POLICY_MAX_FILE + 1] = '\0';
	assert_int_equal(load_text(buf, err, sizeof(err)), CL_ELIMIT);
	assert_string_equal(err, "t.yaml:0:0: policy file larger than 262144 bytes");
	free(buf);
	/* An unreadable file. */
	assert_int_equal(
	    policy_load("/nonexistent/p.yaml", &(struct policy *){NULL}, err, sizeof(err)), CL_EIO);
	assert_true(strncmp(err, "/nonexistent/p.yaml:0:0: cannot open", 36) == 0);
}

/* ---- the example policies ---------------------------------------------- */

static int example_path(char *buf, size_t sz, const char *name)
{
	const char *src = getenv("CASELINK_SRC");

	if (!src)
		return 0;
	snprintf(buf, sz, "%s/policies/examples/%s", src, name);
	return 1;
}

static struct policy *load_example(const char *name, char *path, size_t pathsz)
{
	struct policy *p = NULL;
	char err[POLICY_MAX_MESSAGE];

	assert_true(example_path(path, pathsz, name));
	if (policy_load(path, &p, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return p;
}

static void test_examples_load(void **state)
{
	const char *src = getenv("CASELINK_SRC");
	char dir[1024], path[1300], err[POLICY_MAX_MESSAGE];
	struct dirent *de;
	DIR *d;
	int n = 0;

	(void)state;
	if (!src) {
		print_message(
		    "skipped: CASELINK_SRC is not set (needed to find policies/examples)\n");
		skip();
	}
	snprintf(dir, sizeof(dir), "%s/policies/examples", src);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct policy *p = NULL;

		if (len < 5 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (policy_load(path, &p, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_int_equal(policy_scope(p), !strncmp(de->d_name, "node-", 5)
						      ? POLICY_SCOPE_NODE
						      : POLICY_SCOPE_FEDERATION);
		policy_free(p);
		n++;
	}
	closedir(d);
	assert_true(n >= 4);
}

/* The node enforces its own policy: it refuses what the federation allows. */
static void test_node_refuses_what_federation_allows(void **state)
{
	char fpath[512], npath[512], want[POLICY_MAX_MESSAGE * 3];
	struct policy *fed, *node;
	struct policy_rate *rf = NULL, *rn = NULL;
	struct policy_decision d;
	struct policy_request q;

	(void)state;
	if (!getenv("CASELINK_SRC")) {
		print_message(
		    "skipped: CASELINK_SRC is not set (needed to find policies/examples)\n");
		skip();
	}
	fed = load_example("federation-lv.yaml", fpath, sizeof(fpath));
	node = load_example("node-lv-police.yaml", npath, sizeof(npath));
	assert_int_equal(policy_rate_new(&rf), 0);
	assert_int_equal(policy_rate_new(&rn), 0);

	/* A researcher's referral timeliness (M3): the coordinator allows it ... */
	q = base_request("researcher.lv-rsu-3", "M3", "research", "research_public_interest");
	assert_int_equal(policy_check(fed, &q, rf, &d), 0);
	assert_string_equal(d.rule, "researchers-aggregates");
	/* ... the Liepāja police node does not. */
	assert_int_equal(policy_check(node, &q, rn, &d), CL_EDENIED);
	snprintf(want, sizeof(want),
		 "refused by %s rule 'researchers-aggregates': measure M3 not allowed for role "
		 "researcher",
		 npath);
	assert_string_equal(d.message, want);

	/* Grouping by sex: federation yes, node no. */
	{
		static const char *const by[] = {"municipality", "sex"};

		q = base_request("researcher.lv-rsu-3", "M1", "research",
				 "research_public_interest");
		q.group_by = by;
		q.ngroup_by = 2;
		assert_int_equal(policy_check(fed, &q, rf, &d), 0);
		assert_int_equal(policy_check(node, &q, rn, &d), CL_EDENIED);
		snprintf(want, sizeof(want),
			 "refused by %s rule 'researchers-aggregates': group-by column 'sex' not "
			 "allowed",
			 npath);
		assert_string_equal(d.message, want);
	}

	/* A Tukums case coordinator's case history: any Latvian team for the
	 * coordinator, only the Liepāja team for the Liepāja police. */
	q = base_request("lv-tukums-social-services", "M7", "case_review", "child_protection");
	q.requester_ou = "node"; /* asked from the agency's node, with its certificate */
	q.has_period = 0;
	q.ngroup_by = 0;
	assert_int_equal(policy_check(fed, &q, rf, &d), 0);
	assert_int_equal(d.include_restricted, 1);
	assert_int_equal(policy_check(node, &q, rn, &d), CL_EDENIED);
	snprintf(want, sizeof(want),
		 "refused by %s roles: identity 'lv-tukums-social-services' with OU 'node' holds "
		 "no role",
		 npath);
	assert_string_equal(d.message, want);
	/* The same node name with a user certificate holds no case coordinator role. */
	q.requester_ou = "user";
	assert_int_equal(policy_check(fed, &q, rf, &d), CL_EDENIED);
	assert_string_equal(d.rule, "roles");
	q.requester_ou = "node";
	q.requester_id = "lv-liepaja-social-services";
	assert_int_equal(policy_check(node, &q, rn, &d), 0);
	assert_string_equal(d.rule, "case-history");

	/* Alerts as of three weeks ago: a month for the coordinator, a week for the node. */
	q.measure = "M8";
	q.purpose = "marac_preparation";
	q.has_as_of = 1;
	q.as_of = q.now / 86400 - 21;
	assert_int_equal(policy_check(fed, &q, rf, &d), 0);
	assert_int_equal(policy_check(node, &q, rn, &d), CL_EDENIED);
	snprintf(want, sizeof(want),
		 "refused by %s rule 'high-risk-alerts': as-of date 21 days before today, at "
		 "most 7",
		 npath);
	assert_string_equal(d.message, want);

	policy_rate_free(rf);
	policy_rate_free(rn);
	policy_free(fed);
	policy_free(node);

	/* Lithuania: the hospital does not answer referral timeliness at all. */
	fed = load_example("federation-lt.yaml", fpath, sizeof(fpath));
	node = load_example("node-lt-health.yaml", npath, sizeof(npath));
	q = base_request("national.lt-socmin", "M3", "monitoring", "lt_domestic_violence_law");
	assert_int_equal(policy_check(fed, &q, NULL, &d), CL_EINVAL); /* rate-limited rule */
	assert_int_equal(policy_rate_new(&rf), 0);
	assert_int_equal(policy_check(fed, &q, rf, &d), 0);
	assert_int_equal(policy_participates(fed, "M3", "lt-klaipeda-health", "health"), 1);
	assert_int_equal(policy_participates(node, "M3", NULL, NULL), 0);
	assert_int_equal(policy_check(node, &q, rf, &d), CL_EDENIED);
	assert_string_equal(d.rule, "participation");
	snprintf(want, sizeof(want),
		 "refused by %s participation: this node does not answer measure M3", npath);
	assert_string_equal(d.message, want);
	policy_rate_free(rf);
	policy_free(fed);
	policy_free(node);
}

static void test_rate_tracker_api(void **state)
{
	struct policy_rate *r = NULL;
	long long h = -1, d = -1;
	int64_t t = now_default();

	(void)state;
	assert_int_equal(policy_rate_new(&r), 0);
	assert_int_equal(policy_rate_get(r, "a", "x", t, &h, &d), 0);
	assert_int_equal(h, 0);
	assert_int_equal(d, 0);
	assert_int_equal(policy_rate_set(r, "a", "x", t, 2, 7), 0);
	assert_int_equal(policy_rate_get(r, "a", "x", t + 10, &h, &d), 0);
	assert_int_equal(h, 2);
	assert_int_equal(d, 7);
	/* The hour window passes before the day window. */
	assert_int_equal(policy_rate_get(r, "a", "x", t + 3600, &h, &d), 0);
	assert_int_equal(h, 0);
	assert_int_equal(d, 7);
	assert_int_equal(policy_rate_get(r, "a", "x", t + 86400, &h, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(policy_rate_set(r, "a", "x", t, -1, 0), CL_EINVAL);
	policy_rate_free(r);
}

/* ---- case answers: the holding agency decides (policy_case_check, policy_case_evidence) ---- */

#define NODE_HEAD "version: 1\nscope: node\nroles:\n  c: {ou: node, identities: [lv-*]}\n"
#define NODE_RULE                                                                                  \
	"rules:\n  - {id: x, role: c, measures: [M7, M8], as_of: {max_days_back: 10}, purposes: "  \
	"[case_review], legal_bases: [lv_interinstitutional_cooperation, child_protection]}\n"
#define NODE_PART "participation:\n  - {measures: [M7, M8]}\n"

static struct policy *load_node(const char *extra)
{
	char text[4096], err[POLICY_MAX_MESSAGE] = "";
	struct policy *p = NULL;

	snprintf(text, sizeof(text), "%s%s%s%s", NODE_HEAD, NODE_RULE, NODE_PART, extra);
	assert_int_equal(policy_load_mem("node.yaml", text, strlen(text), &p, err, sizeof(err)), 0);
	return p;
}

/* Liepāja police asked by an agency of type, municipality and country, for M7. */
static struct policy_case_request case_req(const char *type, const char *muni, const char *cc,
					   const char *basis)
{
	struct policy_case_request q;

	memset(&q, 0, sizeof(q));
	q.measure = "M7";
	q.purpose = "case_review";
	q.legal_basis = basis;
	q.asker_type = type;
	q.asker_municipality = muni;
	q.asker_country = cc;
	q.own_municipality = "Liepāja";
	q.own_country = "LV";
	return q;
}

/* Without case_disclosure: same municipality only, child_protection only to its duty holders. */
static void test_case_defaults(void **state)
{
	struct policy *p = load_node("");
	struct policy_case_request q;
	struct policy_case_decision d;

	(void)state;
	q = case_req("social_services", "Liepāja", "LV", "lv_interinstitutional_cooperation");
	assert_int_equal(policy_case_check(p, &q, &d), 0);
	assert_string_equal(d.rule, "default-shared-case");
	assert_int_equal(d.evidence, POLICY_EVIDENCE_REFERRAL | POLICY_EVIDENCE_MARAC);
	/* another municipality, another country (the fabricated-record attack's asker) */
	q = case_req("police", "Klaipėda", "LT", "lt_domestic_violence_law");
	assert_int_equal(policy_case_check(p, &q, &d), CL_EDENIED);
	assert_string_equal(d.rule, "case_disclosure");
	assert_string_equal(d.message,
			    "refused by node.yaml case_disclosure: no default rule discloses M7 to "
			    "agency type 'police' of 'Klaipėda' (LT) for purpose 'case_review', "
			    "legal basis 'lt_domestic_violence_law'");
	q = case_req("police", "Tukums", "LV", "lv_interinstitutional_cooperation");
	assert_int_equal(policy_case_check(p, &q, &d), CL_EDENIED);
	/* an asker the coordinator does not know */
	q = case_req("", "", "", "lv_interinstitutional_cooperation");
	assert_int_equal(policy_case_check(p, &q, &d), CL_EDENIED);
	/* child_protection: police, social services, child rights — not an NGO or a hospital */
	q = case_req("child_rights", "Liepāja", "LV", "child_protection");
	assert_int_equal(policy_case_check(p, &q, &d), 0);
	assert_string_equal(d.rule, "default-child-protection");
	q = case_req("ngo", "Liepāja", "LV", "child_protection");
	assert_int_equal(policy_case_check(p, &q, &d), CL_EDENIED);
	q = case_req("health", "Liepāja", "LV", "child_protection");
	assert_int_equal(policy_case_check(p, &q, &d), CL_EDENIED);
	/* the NGO on another basis: the shared-case rule */
	q = case_req("ngo", "Liepāja", "LV", "lv_interinstitutional_cooperation");
	assert_int_equal(policy_case_check(p, &q, &d), 0);
	policy_free(p);
}

/* Explicit rules: first match in file order; cooperation_group; measures; purposes. */
static void test_case_rules(void **state)
{
	struct policy *p =
	    load_node("cooperation_group: [Dienvidkurzeme, Grobiņa]\n"
		      "case_disclosure:\n"
		      "  - {id: group-police, agency_types: [police], scope: cooperation_group,\n"
		      "     evidence: [referral, high_risk]}\n"
		      "  - {id: alerts-country, measures: [M8], scope: country, evidence: [none]}\n"
		      "  - {id: marac, scope: municipality, purposes: [marac_preparation],\n"
		      "     evidence: [marac_review]}\n");
	struct policy_case_request q;
	struct policy_case_decision d;

	(void)state;
	q = case_req("police", "Grobiņa", "LV", "lv_interinstitutional_cooperation");
	assert_int_equal(policy_case_check(p, &q, &d), 0);
	assert_string_equal(d.rule, "group-police");
	assert_int_equal(d.evidence, POLICY_EVIDENCE_REFERRAL | POLICY_EVIDENCE_HIGH_RISK);
	q.asker_municipality = "Liepāja"; /* the node's own is always in its group */
	assert_int_equal(policy_case_check(p, &q, &d), 0);
	q.asker_municipality = "Tukums";
	assert_int_equal(policy_case_check(p, &q, &d), CL_EDENIED);
	assert_non_null(strstr(d.message, "no rule discloses M7"));
	q.measure = "M8"; /* M8: any Latvian agency, no evidence asked */
	assert_int_equal(policy_case_check(p, &q, &d), 0);
	assert_string_equal(d.rule, "alerts-country");
	assert_int_equal(d.evidence, POLICY_EVIDENCE_NONE);
	q = case_req("social_services", "Liepāja", "LV", "lv_interinstitutional_cooperation");
	assert_int_equal(policy_case_check(p, &q, &d), CL_EDENIED); /* purpose case_review */
	q.purpose = "marac_preparation";
	assert_int_equal(policy_case_check(p, &q, &d), 0);
	assert_string_equal(d.rule, "marac");
	/* no rule names child_protection: refused whatever the asker */
	q = case_req("police", "Liepāja", "LV", "child_protection");
	assert_int_equal(policy_case_check(p, &q, &d), CL_EDENIED);
	policy_free(p);
}

/* Evidence in the holding agency's own record, before the end of the as-of date. */
static void test_case_evidence(void **state)
{
	const int64_t day = 86400, end = day_of(2025, 6, 1) * day;
	struct policy_case_event ev[] = {
	    {"police_callout", "", "", end - 400 * day},
	    {"referral_sent", "social_services", "", end - 399 * day},
	    {"risk_assessment", "", "high", end - 300 * day},
	    {"marac_case_review", "", "", end + day},
	};
	const unsigned all =
	    POLICY_EVIDENCE_REFERRAL | POLICY_EVIDENCE_MARAC | POLICY_EVIDENCE_HIGH_RISK;

	(void)state;
	/* a referral to social services, for social services only */
	assert_int_equal(policy_case_evidence(all, "social_services", ev, 4, end),
			 POLICY_EVIDENCE_REFERRAL | POLICY_EVIDENCE_HIGH_RISK);
	assert_int_equal(policy_case_evidence(all, "police", ev, 4, end),
			 POLICY_EVIDENCE_HIGH_RISK);
	assert_int_equal(policy_case_evidence(POLICY_EVIDENCE_REFERRAL, "ngo", ev, 4, end), 0);
	assert_int_equal(policy_case_evidence(POLICY_EVIDENCE_REFERRAL, "", ev, 4, end), 0);
	/* the MARAC review comes after the as-of date: not evidence yet; a day later it is */
	assert_int_equal(policy_case_evidence(POLICY_EVIDENCE_MARAC, "ngo", ev, 4, end), 0);
	assert_int_equal(policy_case_evidence(POLICY_EVIDENCE_MARAC, "ngo", ev, 4, end + 2 * day),
			 POLICY_EVIDENCE_MARAC);
	/* high risk: within the 365 days before as-of only */
	assert_int_equal(
	    policy_case_evidence(POLICY_EVIDENCE_HIGH_RISK, "ngo", ev, 4, end + 70 * day), 0);
	ev[0].event_type = "protection_order_breach";
	ev[0].occurred_at = end - day;
	assert_int_equal(policy_case_evidence(POLICY_EVIDENCE_HIGH_RISK, "ngo", ev, 1, end),
			 POLICY_EVIDENCE_HIGH_RISK);
	assert_int_equal(policy_case_evidence(POLICY_EVIDENCE_NONE, "ngo", NULL, 0, end),
			 POLICY_EVIDENCE_NONE);
	assert_string_equal(policy_evidence_name(POLICY_EVIDENCE_MARAC), "marac_review");
}

/* case_disclosure errors are located; they belong in node policies only. */
static void test_case_load_errors(void **state)
{
	char text[4096], err[POLICY_MAX_MESSAGE];
	struct policy *p = NULL;
	static const struct {
		const char *extra, *msg;
	} bad[] = {
	    {"case_disclosure:\n  - {id: a, scope: planet, evidence: [none]}\n",
	     "node.yaml:10:20: 'scope' must be municipality, cooperation_group, country or any"},
	    {"case_disclosure:\n  - {id: a, scope: any, evidence: [gut_feeling]}\n",
	     "node.yaml:10:35: unknown evidence 'gut_feeling' (referral, marac_review, high_risk "
	     "or "
	     "none)"},
	    {"case_disclosure:\n  - {id: a, scope: any, evidence: [none, referral]}\n",
	     "node.yaml:10:35: evidence 'none' cannot be listed with other kinds"},
	    {"case_disclosure:\n  - {id: a, scope: any}\n",
	     "node.yaml:10:5: missing required key 'evidence'"},
	    {"case_disclosure:\n  - {id: a, measures: [M2], scope: any, evidence: [none]}\n",
	     "node.yaml:10:23: case_disclosure rules are about M7 and M8 only"},
	    {"case_disclosure:\n  - {id: a, scope: any, evidence: [none]}\n"
	     "  - {id: a, scope: any, evidence: [none]}\n",
	     "node.yaml:11:10: rule id 'a' is used twice"},
	    {"cooperation_group: [\"Liep\\x01\"]\n", NULL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s%s%s", NODE_HEAD, NODE_RULE, NODE_PART,
			 bad[i].extra);
		memset(err, 0, sizeof(err));
		assert_int_equal(
		    policy_load_mem("node.yaml", text, strlen(text), &p, err, sizeof(err)),
		    CL_EPOLICY);
		if (bad[i].msg)
			assert_string_equal(err, bad[i].msg);
	}
	/* a federation policy cannot decide for the holding agencies */
	expect_load_error(HEAD RULE PART "case_disclosure:\n  - {id: a, scope: any, evidence: "
					 "[none]}\n",
			  CL_EPOLICY,
			  "t.yaml:10:3: 'case_disclosure' belongs in a node policy (the holding "
			  "agency decides)");
	/* policy_case_check refuses a federation policy */
	{
		struct policy_case_request q = case_req("police", "Liepāja", "LV", "x");
		struct policy_case_decision d;

		assert_int_equal(load_text(HEAD RULE PART, err, sizeof(err)), 0);
		assert_int_equal(policy_load_mem("t.yaml", HEAD RULE PART, strlen(HEAD RULE PART),
						 &p, err, sizeof(err)),
				 0);
		assert_int_equal(policy_case_check(p, &q, &d), CL_EINVAL);
		policy_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_allowed_with_disclosure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_measure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_parameters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_period, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_purpose_and_basis, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_as_of_and_restricted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_participation, setup, teardown),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_role_without_rule_and_rule_identities),
	    cmocka_unit_test(test_load_limits),
	    cmocka_unit_test(test_dp_accounting_keys),
	    cmocka_unit_test(test_examples_load),
	    cmocka_unit_test(test_node_refuses_what_federation_allows),
	    cmocka_unit_test(test_rate_tracker_api),
	    cmocka_unit_test(test_case_defaults),
	    cmocka_unit_test(test_case_rules),
	    cmocka_unit_test(test_case_evidence),
	    cmocka_unit_test(test_case_load_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
