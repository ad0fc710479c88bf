/*
 * regional — two-level coordination (docs/two-level.md). A regional
 * coordinator, besides its own Coordinator service, answers the Node
 * service's Query of the national coordinators named in its configuration's
 * `upstream:` list, so that a group of municipalities answers as one node:
 * it verifies the national envelope and the original requester as a node
 * does, applies its own policy, forwards the question to its own nodes with
 * the same query nonce and mode under its own envelope signature, and
 * streams back its coverage first, then the sum of its nodes' rows
 * (AGGREGATE) or every node's TokenRecords (TOKENS) with the agency's coded
 * attributes and row handles prefixed by the node's index.
 *
 * The national side uses the same module to read those attributes
 * (regional_record_agency, regional_agencies) and to name a regional's nodes
 * in its coverage ("regional-kurzeme/lv-liepaja-police"; regional_cov).
 *
 * Case requests (M7, M8) of a regional's own nodes go up to the national
 * coordinator at the regional's coordinator_address (regional_cases_up), so
 * that the whole nation is covered; the answer comes back down through it.
 */
#ifndef CASELINK_COORDINATOR_REGIONAL_H
#define CASELINK_COORDINATOR_REGIONAL_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/caselink.pb-c.h"
#include "protocol/rpc.h"

#define REGIONAL_ATTR_AGENCY_ID	   "agency_id"
#define REGIONAL_ATTR_AGENCY_TYPE  "agency_type"
#define REGIONAL_ATTR_MUNICIPALITY "municipality"
#define REGIONAL_HANDLE_PREFIX	   2 /* bytes: big-endian index of the node in the regional's list */
#define REGIONAL_NAME_MAX	   256	/* bytes of a coverage name "regional/node", with the NUL */
#define REGIONAL_COVERAGE_MAX	   4096 /* nodes named in one coverage */

struct partyconf;
struct partyconf_node;
struct rpc_channel;
struct sign_key;
struct sign_verifier;
struct replay;
struct audit;

/* The host coordinator's parts a regional answer uses; every pointer is borrowed. */
struct regional_config {
	const struct partyconf *conf;	     /* nodes[] and upstream[] */
	struct rpc_channel *const *channels; /* one per configured node */
	const struct sign_key *signer;	     /* the envelope key; NULL only in an insecure demo */
	struct sign_verifier *verifier;	     /* NULL only in an insecure demo */
	struct replay *replay;		     /* request ids already accepted */
	struct replay *disclosed; /* DISCLOSE query nonces already relayed (persistent) */
	struct audit *audit;
	/*
	 * The host's policy on the original requester: RPC_OK, or the refusal
	 * code with a coded reason in why (whysz bytes).
	 */
	enum rpc_code (*policy_check)(void *user, const Caselink__V1__QueryRequest *qr, char *why,
				      size_t whysz);
	/* Whether configured node i takes part in the request's measure (1) or not (0). */
	int (*participates)(void *user, const Caselink__V1__QueryRequest *qr, size_t i);
	void *policy_user;
	/* TLS for the channel up to conf->coordinator_address; read by regional_new only. */
	const struct rpc_tls *tls;
};

/* A regional coordinator's Node.Query service. */
struct regional;

/* Creates the service over cfg (copied; what it points to must outlive the service). */
int regional_new(const struct regional_config *cfg, struct regional **out);

/* Frees the service; NULL is allowed. */
void regional_free(struct regional *r);

/*
 * Whether case requests of this regional's nodes go up to a national coordinator: a
 * coordinator_address and an upstream name are configured, and TLS is on.
 */
int regional_cases_up_enabled(const struct regional *r);

/*
 * Forwards a case request (M7, M8) of configured node `node`, which the host has admitted
 * (requester verified, not a replay, policy allowed), up to the national coordinator under
 * this regional's envelope signature, and relays the national's answer to ctx: the coverage
 * as it is, M8 row handles stripped of this regional's two-byte prefix after checking that it
 * names `node`. The request id is remembered so that the national's TOKENS request for it
 * passes this regional's replay check once. Audited before the last chunk. Returns the code of
 * the answer; a refusal by the national is relayed with its message.
 */
enum rpc_code regional_cases_up(struct regional *r, struct rpc_ctx *ctx,
				Caselink__V1__QueryRequest *qr, size_t node);

/*
 * Where coverage c puts node id: 1 answered, 2 failed, 0 absent. A name matches when it is id
 * or ends in "/id" (a node behind a nested regional coordinator).
 */
int regional_cov_lists(const Caselink__V1__Coverage *c, const char *id);

/*
 * The rpc handler of /caselink.v1.Node/Query on a regional coordinator (user
 * is the struct regional). Refusals are logged and audited (party_refuse).
 */
enum rpc_code regional_query(struct rpc_ctx *ctx, const uint8_t *req, size_t len, void *user);

/*
 * The agency a TokenRecord speaks for: its attributes agency_id, agency_type
 * and municipality when present (all three, coded), else the configured
 * node's. A record of a regional coordinator (nd->coordinator) without them
 * is CL_EPROTO. The strings point into t or nd.
 */
int regional_record_agency(const Caselink__V1__TokenRecord *t, const struct partyconf_node *nd,
			   const char **agency_id, const char **agency_type,
			   const char **municipality);

/*
 * Dense indexes for (configured node, agency) pairs, in order of first use:
 * the linker's "node" of a record, so that the agencies behind one regional
 * coordinator stay distinct nodes for the linker's one-record-per-node rule.
 */
struct regional_agencies;

/* Creates an empty index table allowing at most max distinct agencies. */
int regional_agencies_new(size_t max, struct regional_agencies **out);

/* Frees the table; NULL is allowed. */
void regional_agencies_free(struct regional_agencies *a);

/* Writes the index of (node, agency_id), adding it when new; CL_ELIMIT beyond max. */
int regional_agencies_index(struct regional_agencies *a, uint32_t node, const char *agency_id,
			    uint32_t *out);

/*
 * Checks a Coverage chunk a regional coordinator sent in its answer: counts
 * consistent, at most REGIONAL_COVERAGE_MAX names of a-z 0-9 - _ . /, short
 * printable reasons. CL_EPROTO otherwise.
 */
int regional_cov_check(const Caselink__V1__Coverage *c);

/* The strings behind an expanded coverage. */
struct regional_cov;

/*
 * Rewrites cov, whose answered ids are configured node ids of conf, so that
 * each answered node i with subs[i] != NULL (the coverage its answer
 * carried) is replaced by that coverage's nodes named "ID/NAME", answered and
 * failed alike, and nodes_asked counts them. cov then points into *hold
 * (free with regional_cov_free after sending); cov is unchanged on failure.
 */
int regional_cov_expand(Caselink__V1__Coverage *cov, const struct partyconf *conf,
			const Caselink__V1__Coverage *const *subs, struct regional_cov **hold);

/* Frees what regional_cov_expand allocated; NULL is allowed. */
void regional_cov_free(struct regional_cov *h);

#endif
