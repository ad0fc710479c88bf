/*
 * seal — one-shot public-key encryption to a party's certificate, so that a message can be
 * relayed by a party that must not read it (a node's seeds for the computing parties through
 * the coordinator; docs/secure-computation.md, "Data path").
 *
 * Box: "CLS1" | ephemeral P-256 public key (65 bytes, uncompressed) | nonce (12) |
 * AES-256-GCM ciphertext | tag (16). Key = HKDF-SHA256(ECDH(ephemeral, recipient),
 * salt = ephemeral key || recipient key, info = "caselink/seal/v1"); the caller's
 * associated data (e.g. the query id) is authenticated, so a box does not open elsewhere.
 */
#ifndef CASELINK_PROTOCOL_SEAL_H
#define CASELINK_PROTOCOL_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_OVERHEAD	 (4 + 65 + 12 + 16)
#define SEAL_MAX_MESSAGE (1u << 20) /* bytes sealed in one box */
#define SEAL_MAX_CERT	 16384	    /* bytes of a PEM certificate */
#define SEAL_REASON_MAX	 160

struct seal_recipient;

/*
 * Checks cert_pem (chains to ca_pem, valid now, subject OU equal to role) and keeps its
 * P-256 public key in *out. CL_EAUTH with a short reason (no personal data) when the
 * certificate is not acceptable.
 */
int seal_recipient_new(const char *ca_pem, const uint8_t *cert_pem, size_t cert_len,
		       const char *role, struct seal_recipient **out, char reason[SEAL_REASON_MAX]);

/* Frees a recipient; NULL is allowed. */
void seal_recipient_free(struct seal_recipient *r);

/* Writes the recipient's subject CN (at most cap bytes with NUL) to cn. */
void seal_recipient_name(const struct seal_recipient *r, char *cn, size_t cap);

/*
 * Seals len (at most SEAL_MAX_MESSAGE) bytes of msg with associated data aad for r; *out
 * (free()) gets len + SEAL_OVERHEAD bytes.
 */
int seal_box(const struct seal_recipient *r, const uint8_t *aad, size_t aad_len, const uint8_t *msg,
	     size_t len, uint8_t **out, size_t *out_len);

/*
 * Opens a box with the recipient's private key (PEM) and the same associated data; *msg
 * (free with OPENSSL_clear_free via seal_free) gets the message. CL_ECRYPTO when the box is
 * malformed, for another key or another aad, or was altered.
 */
int seal_open(const char *key_pem, const uint8_t *aad, size_t aad_len, const uint8_t *box,
	      size_t len, uint8_t **msg, size_t *msg_len);

/* Wipes and frees a message from seal_open. */
void seal_free(uint8_t *msg, size_t len);

#endif
