/*
 * party_refuse lives apart from party.c so that clients linking cl_party
 * do not pull in the audit log (and SQLite).
 */
#include <stdio.h>

#include "common/audit.h"
#include "common/cl_error.h"
#include "common/log.h"
#include "protocol/party.h"

enum rpc_code party_refuse(struct audit *a, struct rpc_ctx *ctx,
			   const Caselink__V1__QueryRequest *q, enum rpc_code code, const char *why)
{
	char details[AUDIT_DETAILS_MAX], req[AUDIT_DETAILS_MAX - 160] = "request=-";

	rpc_ctx_set_message(ctx, why);
	log_event(LOG_LEVEL_WARN, "refused", "peer=%.64s code=%d reason=\"%s\"",
		  rpc_ctx_peer_id(ctx), (int)code, why);
	if (q)
		party_audit_request(q, req, sizeof(req));
	snprintf(details, sizeof(details), "code=%d reason=\"%.100s\" %s", (int)code, why, req);
	if (audit_append(a, rpc_ctx_peer_id(ctx)[0] ? rpc_ctx_peer_id(ctx) : "-", "query_refused",
			 details, NULL) != CL_OK)
		log_event(LOG_LEVEL_ERROR, "audit_failed", "action=query_refused");
	return code;
}
