#include "protocol/pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/cl_error.h"

#define PKI_CA_CN	    "caselink federation CA"
#define PKI_ORG		    "caselink"
#define PKI_CA_DAYS	    3650
#define PKI_CRL_DAYS	    365
#define PKI_PATH_MAX	    4096
#define PKI_SAN_MAX	    4096
#define PKI_SAN_ENTRY_MAX   253
#define PKI_SECONDS_PER_DAY 86400L

struct pki_crl {
	X509_CRL *crl;
};

static const char *const pki_roles[] = {"node", "coordinator", "keyholder", "user", "compute"};

bool pki_role_valid(const char *role)
{
	size_t i;

	if (!role)
		return false;
	for (i = 0; i < sizeof(pki_roles) / sizeof(pki_roles[0]); i++)
		if (!strcmp(role, pki_roles[i]))
			return true;
	return false;
}

static bool pki_name_chars_ok(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return false;
	n = strnlen(s, max + 1);
	if (n == 0 || n > max || s[0] == '.' || s[0] == '-')
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool pki_id_valid(const char *id)
{
	return pki_name_chars_ok(id, PKI_ID_MAX);
}

static bool pki_ip_valid(const char *ip)
{
	unsigned char buf[16];

	if (!ip || strnlen(ip, 64) >= 64)
		return false;
	return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

static int pki_path(char *buf, size_t cap, const char *dir, const char *name, const char *ext)
{
	int n = snprintf(buf, cap, "%s/%s%s", dir, name, ext);

	if (n < 0 || (size_t)n >= cap)
		return CL_EOVERFLOW;
	return 0;
}

static int pki_mkdir_one(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return CL_EIO;
}

/* Creates dir and its missing parents (0700), like mkdir -p. */
static int pki_mkdir(const char *dir)
{
	char buf[PKI_PATH_MAX];
	size_t n = strnlen(dir, sizeof(buf)), i;
	int rc;

	if (n == 0 || n >= sizeof(buf))
		return CL_EOVERFLOW;
	memcpy(buf, dir, n + 1);
	for (i = 1; i < n; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		rc = pki_mkdir_one(buf);
		buf[i] = '/';
		if (rc)
			return rc;
	}
	return pki_mkdir_one(buf);
}

static bool pki_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

int pki_read_file(const char *path, size_t max, char **out, size_t *len)
{
	int rc = CL_EIO;
	FILE *f = NULL;
	char *buf = NULL;
	size_t n = 0, cap;
	struct stat st;

	if (!path || !out || !len || max == 0 || max > SIZE_MAX - 1)
		return CL_EINVAL;
	f = fopen(path, "rb");
	if (!f) {
		rc = errno == ENOENT ? CL_ENOTFOUND : CL_EIO;
		goto out;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if ((unsigned long long)st.st_size > max) {
		rc = CL_ELIMIT;
		goto out;
	}
	cap = max + 1;
	buf = malloc(cap);
	if (!buf) {
		rc = CL_ENOMEM;
		goto out;
	}
	n = fread(buf, 1, cap, f);
	if (ferror(f))
		goto out;
	if (n > max) {
		rc = CL_ELIMIT;
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	if (buf) {
		OPENSSL_cleanse(buf, max + 1);
		free(buf);
	}
	if (f)
		fclose(f);
	return rc;
}

/* Opens a new file exclusively with the given mode, as a stdio stream. */
static int pki_create(const char *path, mode_t mode, FILE **out)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	FILE *f;

	if (fd < 0)
		return errno == EEXIST ? CL_EEXIST : CL_EIO;
	if (fchmod(fd, mode) != 0) {
		close(fd);
		unlink(path);
		return CL_EIO;
	}
	f = fdopen(fd, "wb");
	if (!f) {
		close(fd);
		unlink(path);
		return CL_EIO;
	}
	*out = f;
	return 0;
}

static int pki_finish(FILE *f)
{
	int rc = 0;

	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = CL_EIO;
	if (fclose(f) != 0)
		rc = CL_EIO;
	return rc;
}

static int pki_write_key(const char *path, EVP_PKEY *key)
{
	FILE *f = NULL;
	int rc = pki_create(path, 0600, &f);

	if (rc)
		return rc;
	if (!PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)) {
		fclose(f);
		unlink(path);
		return CL_ECRYPTO;
	}
	rc = pki_finish(f);
	if (rc)
		unlink(path);
	return rc;
}

static int pki_write_cert(const char *path, X509 *x)
{
	FILE *f = NULL;
	int rc = pki_create(path, 0644, &f);

	if (rc)
		return rc;
	if (!PEM_write_X509(f, x)) {
		fclose(f);
		unlink(path);
		return CL_ECRYPTO;
	}
	rc = pki_finish(f);
	if (rc)
		unlink(path);
	return rc;
}

/* Writes the CRL to dir/crl.pem through a temporary file and rename(). */
static int pki_write_crl(const char *dir, X509_CRL *crl)
{
	char tmp[PKI_PATH_MAX], path[PKI_PATH_MAX];
	int rc, fd;
	FILE *f = NULL;

	rc = pki_path(tmp, sizeof(tmp), dir, "crl.pem", ".XXXXXX");
	if (rc)
		return rc;
	rc = pki_path(path, sizeof(path), dir, "crl.pem", "");
	if (rc)
		return rc;
	fd = mkstemp(tmp);
	if (fd < 0)
		return CL_EIO;
	if (fchmod(fd, 0644) != 0 || !(f = fdopen(fd, "wb"))) {
		close(fd);
		unlink(tmp);
		return CL_EIO;
	}
	if (!PEM_write_X509_CRL(f, crl)) {
		fclose(f);
		unlink(tmp);
		return CL_ECRYPTO;
	}
	rc = pki_finish(f);
	if (!rc && rename(tmp, path) != 0)
		rc = CL_EIO;
	if (rc)
		unlink(tmp);
	return rc;
}

static EVP_PKEY *pki_new_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static int pki_set_serial(X509 *x)
{
	int rc = CL_ECRYPTO;
	BIGNUM *bn = BN_new();

	/* 127 random bits: positive, at most 16 octets, unpredictable. */
	if (!bn || !BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY))
		goto out;
	if (BN_is_zero(bn) && !BN_one(bn))
		goto out;
	if (!BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;
	rc = 0;
out:
	BN_free(bn);
	return rc;
}

static int pki_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (!ext)
		return CL_ECRYPTO;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : CL_ECRYPTO;
}

static int pki_name_add(X509_NAME *name, const char *field, const char *value)
{
	if (!X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, (const unsigned char *)value,
					-1, -1, 0))
		return CL_ECRYPTO;
	return 0;
}

/* Builds and signs a certificate; issuer NULL means self-signed (the CA). */
static int pki_build_cert(EVP_PKEY *key, const char *cn, const char *role, X509 *issuer,
			  EVP_PKEY *issuer_key, long long not_before, long long not_after,
			  const char *san, X509 **out)
{
	int rc = CL_ECRYPTO;
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX ctx;
	time_t now = time(NULL);

	if (!x || !name)
		goto out;
	if (!X509_set_version(x, X509_VERSION_3) || pki_set_serial(x))
		goto out;
	if (!X509_time_adj_ex(X509_getm_notBefore(x), 0, (long)not_before, &now) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), 0, (long)not_after, &now))
		goto out;
	if (pki_name_add(name, "O", PKI_ORG) || (role && pki_name_add(name, "OU", role)) ||
	    pki_name_add(name, "CN", cn))
		goto out;
	if (!X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) ||
	    !X509_set_pubkey(x, key))
		goto out;
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if (!issuer) {
		if (pki_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
		    pki_add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") ||
		    pki_add_ext(x, &ctx, NID_subject_key_identifier, "hash"))
			goto out;
	} else {
		if (pki_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
		    pki_add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
		    pki_add_ext(x, &ctx, NID_ext_key_usage, "serverAuth,clientAuth") ||
		    pki_add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
		    pki_add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") ||
		    pki_add_ext(x, &ctx, NID_subject_alt_name, san))
			goto out;
	}
	if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()))
		goto out;
	*out = x;
	x = NULL;
	rc = 0;
out:
	X509_NAME_free(name);
	X509_free(x);
	return rc;
}

static int pki_build_crl(X509 *ca, EVP_PKEY *cakey, X509_CRL *old, X509 *revoke, X509_CRL **out)
{
	int rc = CL_ECRYPTO;
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *now = ASN1_TIME_new(), *next = ASN1_TIME_new();
	ASN1_INTEGER *number = NULL;
	X509_REVOKED *rev = NULL;
	BIGNUM *bn = NULL;
	STACK_OF(X509_REVOKED) * olds;
	long crl_no = 0;
	int i, crit = 0;
	time_t t = time(NULL);
	bool present = false;

	if (!crl || !now || !next)
		goto out;
	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) ||
	    !X509_time_adj_ex(now, 0, 0, &t) || !X509_time_adj_ex(next, PKI_CRL_DAYS, 0, &t) ||
	    !X509_CRL_set1_lastUpdate(crl, now) || !X509_CRL_set1_nextUpdate(crl, next))
		goto out;
	if (old) {
		ASN1_INTEGER *oldno = X509_CRL_get_ext_d2i(old, NID_crl_number, &crit, NULL);
		if (oldno) {
			crl_no = ASN1_INTEGER_get(oldno);
			ASN1_INTEGER_free(oldno);
			if (crl_no < 0 || crl_no == LONG_MAX)
				crl_no = 0;
		}
		olds = X509_CRL_get_REVOKED(old);
		for (i = 0; i < sk_X509_REVOKED_num(olds); i++) {
			X509_REVOKED *r = sk_X509_REVOKED_value(olds, i);
			X509_REVOKED *dup;
			if (revoke && !ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(r),
							X509_get0_serialNumber(revoke)))
				present = true;
			dup = X509_REVOKED_dup(r);
			if (!dup || !X509_CRL_add0_revoked(crl, dup)) {
				X509_REVOKED_free(dup);
				goto out;
			}
		}
	}
	if (revoke && !present) {
		rev = X509_REVOKED_new();
		if (!rev || !X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(revoke)) ||
		    !X509_REVOKED_set_revocationDate(rev, now) || !X509_CRL_add0_revoked(crl, rev))
			goto out;
		rev = NULL;
	}
	number = ASN1_INTEGER_new();
	if (!number || !ASN1_INTEGER_set(number, crl_no + 1) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0))
		goto out;
	if (!X509_CRL_sort(crl) || !X509_CRL_sign(crl, cakey, EVP_sha256()))
		goto out;
	*out = crl;
	crl = NULL;
	rc = 0;
out:
	BN_free(bn);
	ASN1_INTEGER_free(number);
	X509_REVOKED_free(rev);
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	return rc;
}

int pki_init_ca(const char *dir)
{
	char kpath[PKI_PATH_MAX], cpath[PKI_PATH_MAX], rpath[PKI_PATH_MAX];
	EVP_PKEY *key = NULL;
	X509 *ca = NULL;
	X509_CRL *crl = NULL;
	bool wrote_key = false, wrote_cert = false;
	int rc;

	if (!dir || !*dir)
		return CL_EINVAL;
	if ((rc = pki_path(kpath, sizeof(kpath), dir, "ca", ".key")) ||
	    (rc = pki_path(cpath, sizeof(cpath), dir, "ca", ".pem")) ||
	    (rc = pki_path(rpath, sizeof(rpath), dir, "crl", ".pem")))
		return rc;
	rc = pki_mkdir(dir);
	if (rc)
		goto out;
	if (pki_exists(kpath) || pki_exists(cpath) || pki_exists(rpath)) {
		rc = CL_EEXIST;
		goto out;
	}
	rc = CL_ECRYPTO;
	key = pki_new_key();
	if (!key)
		goto out;
	rc = pki_build_cert(key, PKI_CA_CN, NULL, NULL, NULL, -3600,
			    (long long)PKI_CA_DAYS * PKI_SECONDS_PER_DAY, NULL, &ca);
	if (rc)
		goto out;
	rc = pki_build_crl(ca, key, NULL, NULL, &crl);
	if (rc)
		goto out;
	rc = pki_write_key(kpath, key);
	if (rc)
		goto out;
	wrote_key = true;
	rc = pki_write_cert(cpath, ca);
	if (rc)
		goto out;
	wrote_cert = true;
	rc = pki_write_crl(dir, crl);
out:
	if (rc && rc != CL_EEXIST) {
		if (wrote_key)
			unlink(kpath);
		if (wrote_cert)
			unlink(cpath);
	}
	X509_CRL_free(crl);
	X509_free(ca);
	EVP_PKEY_free(key);
	return rc;
}

/* Loads ca_dir/ca.pem and, if keyp is not NULL, ca_dir/ca.key. */
static int pki_load_ca(const char *ca_dir, X509 **cap, EVP_PKEY **keyp)
{
	char path[PKI_PATH_MAX];
	char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	X509 *ca = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	if ((rc = pki_path(path, sizeof(path), ca_dir, "ca", ".pem")) ||
	    (rc = pki_read_file(path, PKI_PEM_MAX, &buf, &len)))
		goto out;
	rc = CL_EPARSE;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio || !(ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		goto out;
	BIO_free(bio);
	bio = NULL;
	OPENSSL_cleanse(buf, len);
	free(buf);
	buf = NULL;
	if (keyp) {
		if ((rc = pki_path(path, sizeof(path), ca_dir, "ca", ".key")) ||
		    (rc = pki_read_file(path, PKI_PEM_MAX, &buf, &len)))
			goto out;
		rc = CL_EPARSE;
		bio = BIO_new_mem_buf(buf, (int)len);
		if (!bio || !(key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)))
			goto out;
		if (X509_check_private_key(ca, key) != 1) {
			rc = CL_ECRYPTO;
			goto out;
		}
		*keyp = key;
		key = NULL;
	}
	*cap = ca;
	ca = NULL;
	rc = 0;
out:
	BIO_free(bio);
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	EVP_PKEY_free(key);
	X509_free(ca);
	return rc;
}

/* Appends ",DNS:x" or ",IP:x" to the SAN text. */
static int pki_san_add(char *san, size_t cap, const char *kind, const char *value)
{
	size_t used = strlen(san);
	int n = snprintf(san + used, cap - used, "%s%s:%s", used ? "," : "", kind, value);

	if (n < 0 || (size_t)n >= cap - used)
		return CL_ELIMIT;
	return 0;
}

int pki_issue(const char *ca_dir, const char *out_dir, const struct pki_issue_opts *opts)
{
	char kpath[PKI_PATH_MAX], cpath[PKI_PATH_MAX];
	char san[PKI_SAN_MAX] = "";
	EVP_PKEY *cakey = NULL, *key = NULL;
	X509 *ca = NULL, *x = NULL;
	long long not_before = -3600, not_after;
	bool wrote_key = false;
	size_t i;
	int rc;

	if (!ca_dir || !out_dir || !opts || !pki_id_valid(opts->id) || !pki_role_valid(opts->role))
		return CL_EINVAL;
	if (opts->days < 0 || opts->days > PKI_DAYS_MAX || (opts->n_dns && !opts->dns) ||
	    (opts->n_ips && !opts->ips))
		return CL_EINVAL;
	if (opts->validity_seconds != 0) {
		if (opts->validity_seconds < -(long long)PKI_DAYS_MAX * PKI_SECONDS_PER_DAY ||
		    opts->validity_seconds > (long long)PKI_DAYS_MAX * PKI_SECONDS_PER_DAY)
			return CL_EINVAL;
		not_after = opts->validity_seconds;
		if (not_after <= not_before)
			not_before = not_after - 3600;
	} else {
		not_after =
		    (long long)(opts->days ? opts->days : PKI_DAYS_DEFAULT) * PKI_SECONDS_PER_DAY;
	}
	if ((rc = pki_san_add(san, sizeof(san), "DNS", opts->id)))
		return rc;
	for (i = 0; i < opts->n_dns; i++) {
		if (!pki_name_chars_ok(opts->dns[i], PKI_SAN_ENTRY_MAX))
			return CL_EINVAL;
		if ((rc = pki_san_add(san, sizeof(san), "DNS", opts->dns[i])))
			return rc;
	}
	for (i = 0; i < opts->n_ips; i++) {
		if (!pki_ip_valid(opts->ips[i]))
			return CL_EINVAL;
		if ((rc = pki_san_add(san, sizeof(san), "IP", opts->ips[i])))
			return rc;
	}
	if ((rc = pki_path(kpath, sizeof(kpath), out_dir, opts->id, ".key")) ||
	    (rc = pki_path(cpath, sizeof(cpath), out_dir, opts->id, ".pem")))
		return rc;
	rc = pki_load_ca(ca_dir, &ca, &cakey);
	if (rc)
		goto out;
	rc = pki_mkdir(out_dir);
	if (rc)
		goto out;
	if (pki_exists(kpath) || pki_exists(cpath)) {
		rc = CL_EEXIST;
		goto out;
	}
	rc = CL_ECRYPTO;
	key = pki_new_key();
	if (!key)
		goto out;
	rc = pki_build_cert(key, opts->id, opts->role, ca, cakey, not_before, not_after, san, &x);
	if (rc)
		goto out;
	rc = pki_write_key(kpath, key);
	if (rc)
		goto out;
	wrote_key = true;
	rc = pki_write_cert(cpath, x);
out:
	if (rc && wrote_key)
		unlink(kpath);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	return rc;
}

static int pki_parse_cert(const char *pem, size_t len, X509 **out)
{
	BIO *bio;
	X509 *x;

	if (!pem || len == 0 || len > PKI_PEM_MAX)
		return CL_EINVAL;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return CL_ENOMEM;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!x) {
		ERR_clear_error();
		return CL_EPARSE;
	}
	*out = x;
	return 0;
}

int pki_revoke(const char *ca_dir, const char *cert_path)
{
	char path[PKI_PATH_MAX];
	char *buf = NULL;
	size_t len = 0;
	X509 *ca = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL;
	X509_CRL *old = NULL, *crl = NULL;
	BIO *bio = NULL;
	int rc;

	if (!ca_dir || !cert_path)
		return CL_EINVAL;
	rc = pki_load_ca(ca_dir, &ca, &cakey);
	if (rc)
		goto out;
	rc = pki_read_file(cert_path, PKI_PEM_MAX, &buf, &len);
	if (rc)
		goto out;
	rc = pki_parse_cert(buf, len, &x);
	if (rc)
		goto out;
	free(buf);
	buf = NULL;
	if (X509_check_issued(ca, x) != X509_V_OK || X509_verify(x, X509_get0_pubkey(ca)) != 1) {
		ERR_clear_error();
		rc = CL_ETLS;
		goto out;
	}
	if ((rc = pki_path(path, sizeof(path), ca_dir, "crl", ".pem")))
		goto out;
	rc = pki_read_file(path, PKI_PEM_MAX, &buf, &len);
	if (rc && rc != CL_ENOTFOUND)
		goto out;
	if (!rc) {
		bio = BIO_new_mem_buf(buf, (int)len);
		if (!bio || !(old = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) ||
		    X509_CRL_verify(old, X509_get0_pubkey(ca)) != 1) {
			ERR_clear_error();
			rc = CL_ECORRUPT;
			goto out;
		}
	}
	rc = pki_build_crl(ca, cakey, old, x, &crl);
	if (rc)
		goto out;
	rc = pki_write_crl(ca_dir, crl);
out:
	BIO_free(bio);
	free(buf);
	X509_CRL_free(crl);
	X509_CRL_free(old);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return rc;
}

static void pki_name_field(X509_NAME *name, int nid, char *dst, size_t cap)
{
	int idx = X509_NAME_get_index_by_NID(name, nid, -1);
	ASN1_STRING *s;
	unsigned char *utf8 = NULL;
	int n;

	dst[0] = '\0';
	if (idx < 0)
		return;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	n = ASN1_STRING_to_UTF8(&utf8, s);
	if (n < 0)
		return;
	if ((size_t)n < cap && !memchr(utf8, '\0', (size_t)n)) {
		memcpy(dst, utf8, (size_t)n);
		dst[n] = '\0';
	}
	OPENSSL_free(utf8);
}

int pki_cert_identity(const char *cert_pem, size_t len, char *cn, size_t cn_cap, char *role,
		      size_t role_cap)
{
	X509 *x = NULL;
	int rc;

	if (!cn || !role || cn_cap == 0 || role_cap == 0)
		return CL_EINVAL;
	rc = pki_parse_cert(cert_pem, len, &x);
	if (rc)
		return rc;
	pki_name_field(X509_get_subject_name(x), NID_commonName, cn, cn_cap);
	pki_name_field(X509_get_subject_name(x), NID_organizationalUnitName, role, role_cap);
	X509_free(x);
	return 0;
}

int pki_crl_load(const char *ca_pem, size_t ca_len, const char *crl_pem, size_t crl_len,
		 struct pki_crl **out)
{
	X509 *ca = NULL;
	X509_CRL *crl = NULL;
	BIO *bio = NULL;
	struct pki_crl *c = NULL;
	int rc;

	if (!out || !crl_pem || crl_len == 0 || crl_len > PKI_PEM_MAX)
		return CL_EINVAL;
	rc = pki_parse_cert(ca_pem, ca_len, &ca);
	if (rc)
		goto out;
	rc = CL_EPARSE;
	bio = BIO_new_mem_buf(crl_pem, (int)crl_len);
	if (!bio || !(crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)))
		goto out;
	rc = CL_ETLS;
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0 ||
	    X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1)
		goto out;
	rc = CL_ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		goto out;
	c->crl = crl;
	crl = NULL;
	*out = c;
	rc = 0;
out:
	ERR_clear_error();
	BIO_free(bio);
	X509_CRL_free(crl);
	X509_free(ca);
	return rc;
}

int pki_crl_check(const struct pki_crl *crl, const char *cert_pem, size_t len, bool *revoked)
{
	X509 *x = NULL;
	X509_REVOKED *rev = NULL;
	int rc;

	if (!crl || !revoked)
		return CL_EINVAL;
	rc = pki_parse_cert(cert_pem, len, &x);
	if (rc)
		return rc;
	*revoked = X509_CRL_get0_by_cert(crl->crl, &rev, x) == 1;
	X509_free(x);
	return 0;
}

void pki_crl_free(struct pki_crl *crl)
{
	if (!crl)
		return;
	X509_CRL_free(crl->crl);
	free(crl);
}
