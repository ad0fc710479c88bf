/*
 * sign — signed requests. A requester (a user or a node) signs the canonical
 * content of its QueryRequest with its certificate's key; the coordinator
 * signs the envelope it forwards to nodes (the requester's content and
 * signature plus the query nonce, mode, computing parties and, for M7/M8,
 * the asking agency and the DISCLOSE handles). Receivers
 * verify both against the federation CA (and CRL), and check that each
 * certificate names the identity the request claims — so a coordinator
 * cannot forge or rewrite a requester's question (its purpose, legal basis,
 * measure, period, the nodes it restricted the question to, ...). ECDSA P-256 with SHA-256
 * (DER signatures), certificates in PEM. The canonical encoding is specified
 * in docs/protocol.md "Signatures", with a test vector (tests/test_sign.c).
 */
#ifndef CASELINK_PROTOCOL_SIGN_H
#define CASELINK_PROTOCOL_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/caselink.pb-c.h"

#define SIGN_MAX_CANONICAL   (256u * 1024) /* bytes of one request's canonical content */
#define SIGN_MAX_CERT	     (16u * 1024)  /* bytes of one PEM certificate in a request */
#define SIGN_REASON_MAX	     128
#define SIGN_DOMAIN_REQUEST  "caselink/request/v2"  /* first field of the requester's content */
#define SIGN_DOMAIN_ENVELOPE "caselink/envelope/v2" /* first field of the envelope's content */

/* A party's signing key and certificate. The key is freed securely. */
struct sign_key;

/* The federation CA (and optional CRL) that certificates in requests must chain to. */
struct sign_verifier;

/* Loads a PEM private key and its PEM certificate (which must hold the matching public key). */
int sign_key_load(const char *key_pem, const char *cert_pem, struct sign_key **out);

/* Frees a key; NULL is allowed. */
void sign_key_free(struct sign_key *k);

/* Creates a verifier from the CA certificate and, when not NULL or "", a CRL (both PEM). */
int sign_verifier_new(const char *ca_pem, const char *crl_pem, struct sign_verifier **out);

/* Frees a verifier; NULL is allowed. */
void sign_verifier_free(struct sign_verifier *v);

/*
 * Signs q as its requester: sets q->header->requester_cert and
 * requester_signature to new malloc'ed buffers (freed by the protobuf-c
 * free_unpacked of an unpacked message, or by sign_header_free).
 */
int sign_request(const struct sign_key *k, Caselink__V1__QueryRequest *q);

/* Signs q's envelope as the coordinator: sets coordinator_cert and coordinator_signature. */
int sign_envelope(const struct sign_key *k, Caselink__V1__QueryRequest *q);

/*
 * Verifies the requester's certificate (chains to the CA, not revoked, valid
 * now, CN and OU equal to header->requester id and role) and signature.
 * Verified certificates are remembered by the verifier (thread-safe). On
 * failure returns CL_ESIGNATURE and writes a short reason (no personal data).
 */
int sign_verify_request(struct sign_verifier *v, const Caselink__V1__QueryRequest *q,
			char reason[SIGN_REASON_MAX]);

/*
 * Verifies the coordinator's envelope certificate (chains to the CA, role
 * coordinator, CN equal to expected_cn when not NULL) and signature.
 */
int sign_verify_envelope(struct sign_verifier *v, const Caselink__V1__QueryRequest *q,
			 const char *expected_cn, char reason[SIGN_REASON_MAX]);

/*
 * Verifies a request forwarded by a coordinator, as every receiver below a
 * coordinator does (a node, or a regional coordinator answering a national
 * one): the envelope signed by the coordinator named coordinator_cn (the TLS
 * peer), then the original requester's signature. Reason as above.
 */
int sign_verify_forwarded(struct sign_verifier *v, const Caselink__V1__QueryRequest *q,
			  const char *coordinator_cn, char reason[SIGN_REASON_MAX]);

/*
 * Writes the canonical content the requester signs (envelope = 0) or the
 * coordinator signs (envelope = 1) into a new malloc'ed buffer *out of *len
 * bytes: for tests and for checking another implementation against
 * docs/protocol.md. CL_EPROTO without header or requester, CL_ELIMIT beyond
 * SIGN_MAX_CANONICAL.
 */
int sign_canonical(const Caselink__V1__QueryRequest *q, int envelope, uint8_t **out, size_t *len);

/* Frees the four signature fields of a header built by the caller (not unpacked). */
void sign_header_free(Caselink__V1__RequestHeader *h);

#endif
