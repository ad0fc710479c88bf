/*
 * disclose — phase 2 of a case answer (M7, M8) at a holding node (docs/privacy.md "Case
 * answers"): after linking, the coordinator asks this node about its own records linked into
 * another agency's answer, by their row handles of the query. The node resolves them, applies
 * its own case_disclosure policy (policies/policy.h policy_case_check: who asks, from where,
 * for what and on which basis) and the evidence of a real shared case found in its own record
 * of the person (policy_case_evidence), writes one `case_disclosed` entry per record it lets
 * go into its own audit chain (its person_ref, the asking agency, purpose, legal basis, rule,
 * evidence) and answers which handles may go in — for M7 with the granted records' rows sealed
 * to the asking node's certificate (protocol/seal.h), which the coordinator relays and cannot
 * read. `caselink-node audit disclosures` lists the disclosures.
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
	const char *peer;   /* the coordinator on this connection, for the audit actor */
	const char *ca_pem; /* the federation CA (PEM) for the asking node's certificate; NULL
			       in an insecure demo: M7 rows then go unsealed */
};

/* The associated data of a holder's sealed M7 rows (protocol/caselink.proto CaseSealed). */
#define NODE_DISCLOSE_AAD_DOMAIN "caselink/case-rows/v1"

/*
 * Writes into aad (at most cap bytes) the associated data of node_id's sealed rows for the
 * request request_id; returns its length, 0 when it does not fit.
 */
size_t node_disclose_aad(const uint8_t *request_id, size_t id_len, const char *node_id,
			 uint8_t *aad, size_t cap);

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

#define NODE_DISCLOSE_ROW_COLS 8 /* occurred_at ... child_threat_level (CaseSealed) */

/*
 * Appends to rb (rows grown through *cap, the caller's count of allocated row pointers) the M7
 * rows of this node's person ref: every event before as_of_end in time order (then store
 * order), with the node's agency type and id — the rows the coordinator's engine would show.
 * Free them with node_disclose_rows_free.
 */
int node_disclose_record_rows(struct node_store *store, const struct node_store_meta *meta,
			      const char *ref, int64_t as_of_end, Caselink__V1__RowBatch *rb,
			      size_t *cap);

/* Wipes and frees the rows node_disclose_record_rows appended (not rb itself). */
void node_disclose_rows_free(Caselink__V1__RowBatch *rb);

/*
 * Runs `caselink-node audit disclosures --data DIR [--format table|csv]` (argv[0] is
 * "disclosures"): verifies the audit chain, then lists every case_disclosed entry — time,
 * person_ref, asking agency, measure, purpose, legal basis, rule, evidence. CL_EAUDIT when the
 * chain is broken (nothing listed).
 */
int node_disclose_list_main(int argc, char **argv);

#endif
