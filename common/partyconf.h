/*
 * partyconf — the configuration file every caselink daemon reads (YAML):
 *
 *   listen: 127.0.0.1:7101          # address:port to serve on
 *   tls:                            # mutual TLS material (paths relative to this file)
 *     ca: pki/ca.pem
 *     cert: pki/lv-liepaja-police.pem
 *     key: pki/lv-liepaja-police.key
 *     crl: pki/crl.pem              # optional
 *   insecure_demo: false            # plaintext; only for a local demo, loudly logged
 *   policy: policy.yaml             # node, coordinator: the policy file (docs/policy.md;
 *                                   # relative to this file); required unless insecure_demo
 *                                   # (then absent = everything allowed, loudly logged)
 *   coordinators: [coordinator]     # node: certificate names allowed to query it
 *   keyholder: 127.0.0.1:7000       # node: the keyholder's address
 *   coordinator_address: 127.0.0.1:7100  # node: where case-history / alerts are asked
 *                                   # (the coordinator's name is coordinators[0])
 *   legal_basis: lv_interinstitutional_cooperation  # node: default legal basis code of
 *                                   # its case-history / alerts requests
 *   deadline_ms: 5000               # coordinator: per-node deadline
 *   retries: 1                      # coordinator: retries per node, with back-off
 *   nodes:                          # coordinator: every node of the federation
 *     - id: lv-liepaja-police
 *       agency_type: police
 *       municipality: Liepāja
 *       country: LV
 *       address: 127.0.0.1:7101
 *     - id: regional-kurzeme        # a regional coordinator standing as one node
 *       kind: coordinator           # (node by default); agency_type, municipality
 *       address: 127.0.0.1:7201     # and country are then optional (docs/two-level.md)
 *   upstream: [national]            # coordinator: national coordinators it answers as a
 *                                   # node (serves Node.Query; docs/two-level.md)
 *   coordinator_address: 10.0.1.1:7100  # regional coordinator: where its nodes' case
 *                                   # requests go up (the national's name is upstream[0])
 *   compute:                        # coordinator: the two computing parties of the secure
 *     - party: 1                    # computation (docs/secure-computation.md); with them
 *       id: cp-1                    # a linked M2 is computed under secret sharing and no
 *       address: 127.0.0.1:7301     # node sends an event; their certificates (paths
 *       cert: pki/cp-1.pem          # relative to this file) go to the nodes, which seal
 *     - party: 2                    # to them
 *       id: cp-2
 *       address: 127.0.0.1:7302
 *       cert: pki/cp-2.pem
 *
 * The keyholder's own keys (see docs/keyholder.md):
 *
 *   nodes: [lv-liepaja-police]      # keyholder: node certificate names allowed to evaluate
 *   rate_per_minute: 100000         # keyholder: elements per node per minute (token bucket)
 *   daily_quota: 5000000            # keyholder: elements per node per UTC day (persisted)
 *   max_batch: 10000                # keyholder: elements per BlindEvaluate request
 *   retired_grace_seconds: 0        # keyholder: how long a retired epoch may still be asked for
 *   workers: 4                      # keyholder: handler threads
 *
 * Every party:
 *
 *   max_request_validity: 600       # seconds a request may be valid, issue to expiry (at
 *                                   # most 86400); longer ones, and ones that expire before
 *                                   # they are issued, are refused (docs/protocol.md)
 *
 * Keys a party does not use are refused, so a typo is an error, not a silence.
 */
#ifndef CASELINK_PARTYCONF_H
#define CASELINK_PARTYCONF_H

#include <stddef.h>

#define PARTYCONF_MAX_PATH  1024
#define PARTYCONF_MAX_NAME  128
#define PARTYCONF_MAX_LIST  16
#define PARTYCONF_MAX_NODES 4096

#define PARTYCONF_MAX_VALIDITY_DEFAULT 600   /* = PARTY_MAX_VALIDITY (protocol/party.h) */
#define PARTYCONF_MAX_VALIDITY_LIMIT   86400 /* = PARTY_MAX_VALIDITY_LIMIT */

enum partyconf_kind { PARTYCONF_NODE, PARTYCONF_COORDINATOR, PARTYCONF_KEYHOLDER };

/* One node as the coordinator knows it. */
struct partyconf_node {
	char id[PARTYCONF_MAX_NAME];
	char agency_type[32];
	char municipality[PARTYCONF_MAX_NAME];
	char country[3];
	char address[PARTYCONF_MAX_NAME];
	int coordinator; /* kind: coordinator, a regional coordinator (docs/two-level.md) */
};

/* One computing party as the coordinator knows it. */
struct partyconf_compute {
	unsigned party; /* 1 or 2 */
	char id[PARTYCONF_MAX_NAME];
	char address[PARTYCONF_MAX_NAME];
	char cert[PARTYCONF_MAX_PATH];
};

/* A parsed configuration; a plain value type, freed with partyconf_free. */
struct partyconf {
	enum partyconf_kind kind;
	char listen[PARTYCONF_MAX_NAME];
	int insecure_demo;
	char tls_ca[PARTYCONF_MAX_PATH];
	char tls_cert[PARTYCONF_MAX_PATH];
	char tls_key[PARTYCONF_MAX_PATH];
	char tls_crl[PARTYCONF_MAX_PATH]; /* "" when absent */
	char policy[PARTYCONF_MAX_PATH];  /* node, coordinator: "" only when insecure_demo */
	char keyholder[PARTYCONF_MAX_NAME];
	char coordinator_address[PARTYCONF_MAX_NAME]; /* node, regional: "" when absent */
	char legal_basis[PARTYCONF_MAX_NAME];	      /* node: "" when absent */
	size_t ncoordinators;
	char coordinators[PARTYCONF_MAX_LIST][PARTYCONF_MAX_NAME];
	size_t nupstream; /* coordinator: national coordinators it answers as a node */
	char upstream[PARTYCONF_MAX_LIST][PARTYCONF_MAX_NAME];
	long long deadline_ms;
	long long retries;
	size_t nnodes;
	struct partyconf_node *nodes;	     /* keyholder: registered nodes, only id is set */
	long long rate_per_minute;	     /* keyholder */
	long long daily_quota;		     /* keyholder */
	long long max_batch;		     /* keyholder */
	long long retired_grace_seconds;     /* keyholder */
	long long workers;		     /* keyholder */
	long long max_request_validity;	     /* every party: seconds from issue to expiry */
	size_t ncompute;		     /* coordinator: 0, or 2 computing parties */
	struct partyconf_compute compute[2]; /* by party number − 1 */
};

/*
 * Loads the configuration of a party of the given kind from path. On failure
 * returns CL_EIO, CL_ELIMIT or CL_ECONFIG and writes "FILE:LINE:COLUMN: reason"
 * into err. On success *out is a new configuration for partyconf_free.
 */
int partyconf_load(const char *path, enum partyconf_kind kind, struct partyconf **out, char *err,
		   size_t errsz);

/* As partyconf_load over a memory buffer named name (relative paths stay relative). */
int partyconf_load_mem(const char *name, const char *buf, size_t len, enum partyconf_kind kind,
		       struct partyconf **out, char *err, size_t errsz);

/* Frees a configuration; NULL is allowed. */
void partyconf_free(struct partyconf *pc);

/* The node entry with this id, or NULL. */
const struct partyconf_node *partyconf_find_node(const struct partyconf *pc, const char *id);

#endif
