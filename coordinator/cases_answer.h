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
 * Phase 1 of a case answer: links the records of the nodes that answered and finds what the
 * answer for the requesting node would hold — the agency qr's requester of configured node
 * `requester` (a record's agency is its attributes when a regional coordinator sent it; the
 * M7 subject may carry the regionals' handle prefixes; docs/two-level.md). Marks every other
 * agency's visible record that would go into it (M7: the subject's person; M8: the persons
 * alerted) as asked: phase 2 asks each holding node about them (cases_answer_asks), records
 * its answer (cases_answer_grant or cases_answer_node_failed), and cases_answer_finish
 * computes the rows with every record not granted absent. CL_ENOTFOUND when the M7 subject's
 * node did not answer (why says so), CL_EPROTO for malformed records, CL_ENOMEM.
 */
int cases_answer_link(int which, const Caselink__V1__QueryRequest *qr,
		      const struct cases_answer_node *nodes, size_t n, size_t requester,
		      int64_t as_of_end, struct cases_answer **out, char *why, size_t whysz);

/*
 * The handles phase 2 asks configured node `node` about (its own records as it sent them,
 * with the regional prefixes when it is a regional coordinator): *out (free it; the handles
 * point into a) and their number (0: nothing to ask, *out NULL).
 */
int cases_answer_asks(const struct cases_answer *a, size_t node, ProtobufCBinaryData **out,
		      size_t *n);

/*
 * Records node `node`'s DISCLOSE answer: its granted handles go into the answer, its withheld
 * counts into the coverage, and asked records it neither granted nor counted as withheld into
 * the coverage as node_id's "unreported". CL_EPROTO for a granted handle that was not asked, a
 * malformed withheld entry or sealed rows outside M7 (the caller then treats the node as
 * failed).
 */
int cases_answer_grant(struct cases_answer *a, size_t node, const char *node_id,
		       const Caselink__V1__CaseGrant *g);

/* Node `node` could not be asked: every record asked of it is withheld, for reason. */
int cases_answer_node_failed(struct cases_answer *a, size_t node, const char *node_id,
			     const char *reason);

/* Computes the rows: every asked record not granted is absent (coordinator/cases.h). */
int cases_answer_finish(struct cases_answer *a);

/*
 * M7: the CaseRows chunk for the asking node (pointing into a): the handles of its own records
 * linked to the subject and the holders' sealed rows, which the coordinator cannot open; the
 * coordinator itself sends no M7 row. CL_EINVAL for M8.
 */
int cases_answer_case_rows(const struct cases_answer *a, Caselink__V1__CaseRows *out);

/* The coverage entries of records withheld by their holders (valid while a lives). */
size_t cases_answer_withheld(const struct cases_answer *a, Caselink__V1__CaseWithheld *const **out);

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
