/*
 * computeconf — the configuration file of a computing party, caselink-compute
 * (YAML; the keys common to every daemon as in common/partyconf.h):
 *
 *   party: 1                        # this party's number in the computation: 1 or 2
 *   listen: 127.0.0.1:7301          # address:port to serve Compute on
 *   tls:                            # mutual TLS material (paths relative to this file);
 *     ca: pki/ca.pem                # the certificate must have the role compute
 *     cert: pki/cp-1.pem
 *     key: pki/cp-1.key
 *     crl: pki/crl.pem              # optional
 *   insecure_demo: false            # plaintext, no identity checks; only for a local demo
 *   coordinator:                    # party 0: the coordinator (role coordinator)
 *     id: coordinator               #   its certificate name (CN)
 *     address: 127.0.0.1:7100       #   where it serves Compute.Exchange (its listen address)
 *   peer:                           # the other computing party (role compute)
 *     id: cp-2                      #   its certificate name
 *     address: 127.0.0.1:7302       #   its listen address
 *   timeout_ms: 30000               # longest wait for one message from a peer, or for a
 *                                   # peer to take one (100..600000)
 *   max_job_bytes: 50331648         # largest input of one ComputeStart (1 KiB..48 MiB)
 *   max_buffered_bytes: 67108864    # bytes queued per computation from one peer (4..1024 MiB)
 *   max_computations: 2             # computations at once; more are refused (1..16)
 *   drain_ms: 30000                 # on SIGTERM: how long running computations may go on
 *                                   # before they are failed (0..600000)
 *
 * Keys it does not use are refused, so a typo is an error, not a silence.
 */
#ifndef CASELINK_COMPUTE_COMPUTECONF_H
#define CASELINK_COMPUTE_COMPUTECONF_H

#include <stddef.h>

#include "common/partyconf.h"

#define COMPUTECONF_COMPS_MAX 16
#define COMPUTECONF_ID_MAX    64 /* bytes of a certificate name (PKI_ID_MAX) */

/* One other party as a computing party knows it. */
struct computeconf_party {
	char id[COMPUTECONF_ID_MAX + 1];
	char address[PARTYCONF_MAX_NAME];
};

/* A parsed configuration; a plain value type, freed with computeconf_free. */
struct computeconf {
	unsigned party; /* 1 or 2 */
	char listen[PARTYCONF_MAX_NAME];
	int insecure_demo;
	char tls_ca[PARTYCONF_MAX_PATH];
	char tls_cert[PARTYCONF_MAX_PATH];
	char tls_key[PARTYCONF_MAX_PATH];
	char tls_crl[PARTYCONF_MAX_PATH]; /* "" when absent */
	struct computeconf_party coordinator;
	struct computeconf_party peer;
	long long timeout_ms;
	long long max_job_bytes;
	long long max_buffered_bytes;
	long long max_computations;
	long long drain_ms;
};

/*
 * Loads the configuration from path. On failure returns CL_EIO, CL_ELIMIT or
 * CL_ECONFIG and writes "FILE:LINE:COLUMN: reason" into err. On success *out
 * is a new configuration for computeconf_free.
 */
int computeconf_load(const char *path, struct computeconf **out, char *err, size_t errsz);

/* As computeconf_load over a memory buffer named name (relative paths stay relative). */
int computeconf_load_mem(const char *name, const char *buf, size_t len, struct computeconf **out,
			 char *err, size_t errsz);

/* Frees a configuration; NULL is allowed. */
void computeconf_free(struct computeconf *cc);

#endif
