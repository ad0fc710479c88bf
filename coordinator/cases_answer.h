/*
 * cases_answer — the coordinator's answer path for M7 case_history and M8 high_risk_alerts
 * (coordinator/cases.h): checks who asks (only an agency node of the federation, about its own
 * records), links the nodes' TOKENS answers (coordinator/linker.h) and computes the rows, which
 * the caller streams with party_rows after a coverage chunk carrying the omitted count.
 *
 * A case request carries: period_from = the start of the history (any date), period_to = the day
 * after the as-of date (so as_of_end = period_to 00:00 UTC); for M7 the parameter `subject`, the
 * hex row handle the requesting node made for its own record (node_encq_own_nonce); legal basis
 * child_protection shows restricted records.
 */
#ifndef CASELINK_COORDINATOR_CASES_ANSWER_H
#define CASELINK_COORDINATOR_CASES_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "common/partyconf.h"
#include "protocol/caselink.pb-c.h"
#include "protocol/party.h"

#define CASES_ANSWER_WHY_MAX 160
#define CASES_ANSWER_DIRECT  SIZE_MAX /* `via` of a request the node sent itself */

struct tokset;

/* One node's TOKENS answer as the coordinator received it (compact: coordinator/tokset.h). */
struct cases_answer_node {
	const struct partyconf_node *conf;
	const struct tokset *ts; /* NULL: no record */
	int malformed;		 /* a record was malformed: the answer fails naming the node */
	int answered;		 /* 0: the node failed; its records are ignored */
};

struct cases_answer;

/*
 * Checks a case request (which: CASES_M7 or CASES_M8) before any node is asked: the requester
 * is role "node" and one of conf's nodes (its index into *requester) or, when via is not
 * CASES_ANSWER_DIRECT, a node behind the regional coordinator conf->nodes[via] that forwarded
 * it (*requester = via; docs/two-level.md); the period parses, M7 has a well-formed subject. On
 * refusal returns CL_EPERM (who asks) or CL_EINVAL (what is asked) with a static reason in
 * *why; never writes the outputs then.
 */
int cases_answer_check(int which, const Caselink__V1__QueryRequest *qr,
		       const struct partyconf *conf, size_t via, size_t *requester,
		       int64_t *as_of_end, const char **why);

/*
 * Links the records of the nodes that answered and computes the answer for the requesting
 * node: the agency qr's requester of configured node `requester` (a record's agency is its
 * attributes when a regional coordinator sent it; the M7 subject may carry the regionals'
 * handle prefixes; docs/two-level.md). CL_ENOTFOUND when the M7 subject is not among the
 * requester's records (why says so), CL_EPROTO for malformed records, CL_ENOMEM.
 */
int cases_answer_compute(int which, const Caselink__V1__QueryRequest *qr,
			 const struct cases_answer_node *nodes, size_t n, size_t requester,
			 int64_t as_of_end, struct cases_answer **out, char *why, size_t whysz);

/* Returns the records left out (restricted, no child_protection basis). */
uint32_t cases_answer_omitted(const struct cases_answer *a);

/* Returns the number of rows. */
size_t cases_answer_rows(const struct cases_answer *a);

/* Starts a party_rows stream with the measure's columns and adds every row to it. */
int cases_answer_stream(const struct cases_answer *a, struct rpc_ctx *ctx,
			const ProtobufCBinaryData *request_id, struct party_rows **rows);

/* Frees an answer; NULL is allowed. */
void cases_answer_free(struct cases_answer *a);

#endif
