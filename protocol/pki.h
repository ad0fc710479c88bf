/*
 * pki — the federation's certificate authority and certificate helpers
 * (OpenSSL 3): a CA with an EC P-256 key, certificates for parties with
 * subject CN=<id>, OU=<role>, O=caselink, and a CRL.
 *
 * Files: init-ca writes DIR/ca.pem, DIR/ca.key and an empty DIR/crl.pem;
 * issue writes OUT/<id>.pem and OUT/<id>.key. Keys are written 0600 with
 * O_CREAT|O_EXCL; no file is ever overwritten (CL_EEXIST), except crl.pem,
 * which revoke replaces atomically.
 */
#ifndef CASELINK_PROTOCOL_PKI_H
#define CASELINK_PROTOCOL_PKI_H

#include <stdbool.h>
#include <stddef.h>

/* Longest party id (certificate CN) and role name, without the NUL. */
#define PKI_ID_MAX   64
#define PKI_ROLE_MAX 16
/* Largest PEM file pki_read_file accepts. */
#define PKI_PEM_MAX (1024 * 1024)
/* Default and largest validity of an issued certificate, in days. */
#define PKI_DAYS_DEFAULT 365
#define PKI_DAYS_MAX	 3650

/* What to put in an issued certificate. */
struct pki_issue_opts {
	const char *id;		/* CN and first DNS SAN: [A-Za-z0-9._-], 1..PKI_ID_MAX */
	const char *role;	/* OU: "node", "coordinator", "keyholder", "user", "compute" */
	int days;		/* validity in days, 1..PKI_DAYS_MAX; 0 means PKI_DAYS_DEFAULT */
	const char *const *dns; /* extra DNS SANs (e.g. "localhost") */
	size_t n_dns;
	const char *const *ips; /* IP SANs (e.g. "127.0.0.1", "::1") */
	size_t n_ips;
	/*
	 * Test use only: when nonzero, overrides days; the certificate is valid
	 * from now-1h to now+validity_seconds, so a negative value issues an
	 * already expired certificate.
	 */
	long long validity_seconds;
};

/* An opaque loaded CRL, verified against its CA. */
struct pki_crl;

/* Returns true if role is one of the five federation roles. */
bool pki_role_valid(const char *role);

/* Returns true if id is a valid party id (see struct pki_issue_opts). */
bool pki_id_valid(const char *id);

/*
 * Creates a new CA in dir (created 0700 if missing): ca.key, ca.pem (CN =
 * "caselink federation CA", 10 years) and an empty crl.pem. Refuses with
 * CL_EEXIST if any of them exists.
 */
int pki_init_ca(const char *dir);

/*
 * Issues a certificate signed by the CA in ca_dir into out_dir (created 0700
 * if missing) as <id>.pem and <id>.key. Refuses with CL_EEXIST if either exists.
 */
int pki_issue(const char *ca_dir, const char *out_dir, const struct pki_issue_opts *opts);

/*
 * Revokes the certificate in cert_path (which must have been issued by the CA
 * in ca_dir) by adding it to ca_dir/crl.pem, re-signed and replaced
 * atomically. Revoking an already revoked certificate succeeds.
 */
int pki_revoke(const char *ca_dir, const char *cert_path);

/*
 * Reads a whole file of at most max bytes into a NUL-terminated buffer that
 * the caller frees with free(); *len excludes the NUL.
 */
int pki_read_file(const char *path, size_t max, char **out, size_t *len);

/*
 * Parses a PEM certificate and copies its subject CN and OU (role) into cn
 * and role (NUL-terminated; empty when absent). Fails with CL_EPARSE.
 */
int pki_cert_identity(const char *cert_pem, size_t len, char *cn, size_t cn_cap, char *role,
		      size_t role_cap);

/*
 * Loads a PEM CRL and verifies its signature with the PEM CA certificate;
 * fails with CL_ETLS if it does not verify.
 */
int pki_crl_load(const char *ca_pem, size_t ca_len, const char *crl_pem, size_t crl_len,
		 struct pki_crl **out);

/* Sets *revoked to whether the PEM certificate's serial is on the CRL. */
int pki_crl_check(const struct pki_crl *crl, const char *cert_pem, size_t len, bool *revoked);

/* Frees a CRL; NULL is allowed. */
void pki_crl_free(struct pki_crl *crl);

#endif
