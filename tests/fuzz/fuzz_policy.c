/*
 * libFuzzer harness for the policy parser and engine: loads the input as a
 * policy file and, when it loads, decides a fixed matrix of requests against
 * it, checking the engine's invariants (decision codes, message forms,
 * disclosure bounds, rate counting).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cl_error.h"
#include "policies/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_decision(const struct policy *p, const struct policy_request *q,
			   struct policy_rate *rate)
{
	struct policy_decision d;
	char prefix[POLICY_MAX_MESSAGE];
	int rc = policy_check(p, q, rate, &d);

	if (rc == CL_EINVAL || rc == CL_ENOMEM)
		return; /* a rate-limited rule asked without tracker, or no memory */
	if (rc != 0 && rc != CL_EDENIED && rc != CL_EQUOTA)
		abort();
	if ((rc == 0) != (d.allowed == 1))
		abort();
	snprintf(prefix, sizeof(prefix), "%s by %.200s ", d.allowed ? "allowed" : "refused",
		 policy_name(p));
	if (strncmp(d.message, prefix, strlen(prefix)) != 0)
		abort();
	if (d.disclosure.threshold < POLICY_THRESHOLD_MIN || d.disclosure.rounding < 1)
		abort();
	if (d.disclosure.dp &&
	    !(d.disclosure.epsilon_per_query > 0 &&
	      d.disclosure.epsilon_per_query <= d.disclosure.budget) &&
	    !(d.disclosure.rho_per_query > 0 &&
	      d.disclosure.rho_per_query <= d.disclosure.budget_rho))
		abort();
	if (d.allowed && (d.rule[0] == '\0' || d.role[0] == '\0'))
		abort();
	if (d.include_restricted && (!d.allowed || strcmp(q->legal_basis, "child_protection")))
		abort();
	/* The node scope never allows a measure it does not take part in. */
	if (d.allowed && policy_scope(p) == POLICY_SCOPE_NODE &&
	    !policy_participates(p, q->measure, NULL, NULL))
		abort();
}

/* A node policy's case_disclosure decision (policy_case_check) and its invariants. */
static void check_case(const struct policy *p, const char *measure, const char *type,
		       const char *muni, const char *basis)
{
	struct policy_case_request q = {measure, "case_review", basis,	   type,
					muni,	 "LV",		"Liepāja", "LV"};
	struct policy_case_decision d;
	char prefix[POLICY_MAX_MESSAGE];
	int rc = policy_case_check(p, &q, &d);

	if (policy_scope(p) != POLICY_SCOPE_NODE) {
		if (rc != CL_EINVAL)
			abort();
		return;
	}
	if ((rc != 0 && rc != CL_EDENIED) || (rc == 0) != (d.allowed == 1))
		abort();
	snprintf(prefix, sizeof(prefix), "%s by %.120s case_disclosure",
		 d.allowed ? "allowed" : "refused", policy_name(p));
	if (strncmp(d.message, prefix, strlen(prefix)) != 0)
		abort();
	if (d.allowed &&
	    (!d.evidence || (d.evidence & ~15u) ||
	     ((d.evidence & POLICY_EVIDENCE_NONE) && d.evidence != POLICY_EVIDENCE_NONE)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = {"national", "researcher.lv-x", "a",
					  "case-coordinator.lv-liepaja-social-services"};
	static const char *const ous[] = {"user", "node", "coordinator"};
	static const char *const measures[] = {"M1", "M2", "M3", "M4", "M5", "M6", "M7", "M8"};
	static const char *const purposes[] = {"monitoring", "research", "case_review", "p"};
	static const char *const bases[] = {"lv_interinstitutional_cooperation",
					    "research_public_interest", "child_protection", "b"};
	static const char *const by[] = {"municipality", "quarter"};
	struct policy_param prm = {"granularity", "year"};
	struct policy *p = NULL;
	struct policy_rate *rate = NULL;
	char err[POLICY_MAX_MESSAGE];
	size_t i, j, k;
	int rc;

	rc = policy_load_mem("f.yaml", (const char *)data, size, &p, err, sizeof(err));
	if (rc != 0) {
		if (p != NULL)
			abort();
		if (rc != CL_EPOLICY && rc != CL_ELIMIT && rc != CL_ENOMEM)
			abort();
		if (rc != CL_ENOMEM && strncmp(err, "f.yaml:", 7) != 0)
			abort();
		return 0;
	}
	if (policy_rate_new(&rate) != 0)
		abort();
	for (i = 0; i < 4; i++)
		for (j = 0; j < 3; j++)
			for (k = 0; k < 8; k++) {
				struct policy_request q;

				memset(&q, 0, sizeof(q));
				q.requester_id = ids[i];
				q.requester_ou = ous[j];
				q.measure = measures[k];
				q.purpose = purposes[(i + k) % 4];
				q.legal_basis = bases[(j + k) % 4];
				q.group_by = by;
				q.ngroup_by = k % 3;
				q.params = &prm;
				q.nparams = k % 2;
				q.has_period = k < 6;
				q.period_from = 19723;
				q.period_to = 19723 + 30 * (i + 1) * (j + 1);
				q.has_as_of = k == 7;
				q.as_of = 20000 - (int64_t)i * 10;
				q.now = 20000LL * 86400 + (int64_t)j * 3600;
				check_decision(p, &q, rate);
				/* Asked again: a rate-limited allowance may turn into CL_EQUOTA
				 * only. */
				check_decision(p, &q, rate);
			}
	for (k = 0; k < 4; k++) {
		check_case(p, k % 2 ? "M8" : "M7", k < 2 ? "police" : "ngo",
			   k % 3 ? "Liepāja" : "Klaipėda", bases[k]);
		check_case(p, "M7", "", "", bases[k]);
	}
	(void)policy_participates(p, "M7", "lv-liepaja-police", "police");
	(void)policy_participates(p, "M1", NULL, NULL);
	policy_rate_free(rate);
	policy_free(p);
	return 0;
}
