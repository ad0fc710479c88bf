/*
 * disclose — phase 2 of a case answer (M7, M8) at a holding node (docs/privacy.md "Case
 * answers"): after linking, the coordinator asks this node about its own records linked into
 * another agency's answer, by their row handles of the query. The node resolves them, applies
 * its own case_disclosure policy (policies/policy.h policy_case_check: who asks, from where,
 * for what and on which basis) and the evidence of a real shared case found in its own record
 * of the person (policy_case_evidence), writes one `case_disclosed` entry per record it lets
 * go into its own audit chain (its person_ref, the asking agency, purpose, legal basis, rule,
 * evidence) and answers which handles may go in. `caselink-node audit disclosures` lists them.
 */
#ifndef CASELINK_NODE_DISCLOSE_H
#define CASELINK_NODE_DISCLOSE_H

#include <stddef.h>
#include <stdint.h>

#include "common/audit.h"
#include "node/store.h"
#include "policies/policy.h"
#include "protocol/caselink.pb-c.h"

#define NODE_DISCLOSE_MAX_HANDLES 65536 /* handles of one DISCLOSE request */
#define NODE_DISCLOSE_ACTION	  "case_disclosed"

/* What the node holds for deciding: its store, audit, own policy (NULL: insecure demo) and meta. */
struct node_disclose_env {
	struct node_store *store;
	struct audit *audit;
	const struct policy *policy;
	const struct node_store_meta *meta;
	const char *peer; /* the coordinator on this connection, for the audit actor */
};

/*
 * Decides the DISCLOSE request qr (its envelope and requester already verified, the node's
 * access policy already applied) and writes the answer into *grant (free it with
 * node_disclose_grant_free): granted handles (pointing into qr) and the withheld counts by
 * coded reason. Every granted record is audited before this returns. CL_EINVAL with a static
 * reason in *why for a malformed request; CL_EAUDIT when the audit cannot be written (nothing
 * is granted then); other CL_E* codes for store errors.
 */
int node_disclose_decide(const struct node_disclose_env *env, const Caselink__V1__QueryRequest *qr,
			 Caselink__V1__CaseGrant *grant, const char **why);

/* Frees what node_disclose_decide put into grant (not grant itself). */
void node_disclose_grant_free(Caselink__V1__CaseGrant *grant);

/*
 * Runs `caselink-node audit disclosures --data DIR [--format table|csv]` (argv[0] is
 * "disclosures"): verifies the audit chain, then lists every case_disclosed entry — time,
 * person_ref, asking agency, measure, purpose, legal basis, rule, evidence. CL_EAUDIT when the
 * chain is broken (nothing listed).
 */
int node_disclose_list_main(int argc, char **argv);

#endif
