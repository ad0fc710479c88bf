/* Tests for protocol/pki: files, modes, subject, SAN, refusal to overwrite, CRL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/cl_error.h"
#include "protocol/pki.h"

static char tdir[1024];

static void tpath(char *buf, size_t cap, const char *rel)
{
	int n = snprintf(buf, cap, "%s/%s", tdir, rel);
	assert_true(n > 0 && (size_t)n < cap);
}

static X509 *load_cert(const char *rel)
{
	char p[1200];
	FILE *f;
	X509 *x;

	tpath(p, sizeof(p), rel);
	f = fopen(p, "r");
	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static mode_t file_mode(const char *rel)
{
	char p[1200];
	struct stat st;

	tpath(p, sizeof(p), rel);
	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 0777;
}

static void issue(const char *ca, const char *out, const char *id, const char *role,
		  long long validity)
{
	char c[1200], o[1200];
	static const char *const dns[] = {"localhost"};
	static const char *const ips[] = {"127.0.0.1"};
	struct pki_issue_opts opts = {.id = id,
				      .role = role,
				      .dns = dns,
				      .n_dns = 1,
				      .ips = ips,
				      .n_ips = 1,
				      .validity_seconds = validity};

	tpath(c, sizeof(c), ca);
	tpath(o, sizeof(o), out);
	assert_int_equal(pki_issue(c, o, &opts), 0);
}

static int setup(void **state)
{
	const char *tmp = getenv("CASELINK_TMP");
	char p[1200];

	(void)state;
	snprintf(tdir, sizeof(tdir), "%s/test_pki.%ld", tmp ? tmp : "/tmp", (long)getpid());
	tpath(p, sizeof(p), "ca");
	assert_int_equal(pki_init_ca(p), 0);
	tpath(p, sizeof(p), "ca2");
	assert_int_equal(pki_init_ca(p), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[1200];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_ca_files_and_modes(void **state)
{
	X509 *ca;

	(void)state;
	assert_int_equal(file_mode("ca/ca.key"), 0600);
	assert_int_equal(file_mode("ca/ca.pem"), 0644);
	assert_int_equal(file_mode("ca/crl.pem"), 0644);
	ca = load_cert("ca/ca.pem");
	assert_int_equal(X509_check_ca(ca), 1);
	assert_int_equal(X509_check_issued(ca, ca), X509_V_OK);
	X509_free(ca);
}

static void test_ca_refuses_overwrite(void **state)
{
	char p[1200];
	struct stat before, after;

	(void)state;
	tpath(p, sizeof(p), "ca/ca.key");
	assert_int_equal(stat(p, &before), 0);
	tpath(p, sizeof(p), "ca");
	assert_int_equal(pki_init_ca(p), CL_EEXIST);
	tpath(p, sizeof(p), "ca/ca.key");
	assert_int_equal(stat(p, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(before.st_mtime, after.st_mtime);
}

static void test_issue_subject_san_eku(void **state)
{
	X509 *x, *ca;
	char buf[128];
	GENERAL_NAMES *san;
	int i, dns = 0, ip = 0, self = 0;
	EVP_PKEY *pub;

	(void)state;
	issue("ca", "out", "police-riga", "node", 0);
	assert_int_equal(file_mode("out/police-riga.key"), 0600);
	x = load_cert("out/police-riga.pem");
	ca = load_cert("ca/ca.pem");
	assert_int_equal(X509_check_issued(ca, x), X509_V_OK);
	pub = X509_get0_pubkey(ca);
	assert_int_equal(X509_verify(x, pub), 1);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf,
					      sizeof(buf)) > 0);
	assert_string_equal(buf, "police-riga");
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationalUnitName,
					      buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "node");
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_organizationName, buf,
					      sizeof(buf)) > 0);
	assert_string_equal(buf, "caselink");
	san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_non_null(san);
	for (i = 0; i < sk_GENERAL_NAME_num(san); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
		if (g->type == GEN_DNS) {
			const char *s = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
			dns += !strcmp(s, "localhost");
			self += !strcmp(s, "police-riga");
		} else if (g->type == GEN_IPADD) {
			const unsigned char *d = ASN1_STRING_get0_data(g->d.iPAddress);
			ip += ASN1_STRING_length(g->d.iPAddress) == 4 && d[0] == 127 && d[3] == 1;
		}
	}
	GENERAL_NAMES_free(san);
	assert_int_equal(self, 1);
	assert_int_equal(dns, 1);
	assert_int_equal(ip, 1);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
	X509_free(x);
	X509_free(ca);
}

static void test_issue_refuses_overwrite_and_bad_input(void **state)
{
	char c[1200], o[1200];
	struct pki_issue_opts opts = {.id = "dup", .role = "user"};
	static const char *const bad_dns[] = {"a,email:x@y"};
	static const char *const bad_ip[] = {"300.1.1.1"};

	(void)state;
	tpath(c, sizeof(c), "ca");
	tpath(o, sizeof(o), "out");
	assert_int_equal(pki_issue(c, o, &opts), 0);
	assert_int_equal(pki_issue(c, o, &opts), CL_EEXIST);
	opts.id = "../escape";
	assert_int_equal(pki_issue(c, o, &opts), CL_EINVAL);
	opts.id = "has space";
	assert_int_equal(pki_issue(c, o, &opts), CL_EINVAL);
	opts.id = "";
	assert_int_equal(pki_issue(c, o, &opts), CL_EINVAL);
	opts.id = "ok";
	opts.role = "admin";
	assert_int_equal(pki_issue(c, o, &opts), CL_EINVAL);
	opts.role = "user";
	opts.dns = bad_dns;
	opts.n_dns = 1;
	assert_int_equal(pki_issue(c, o, &opts), CL_EINVAL);
	opts.dns = NULL;
	opts.n_dns = 0;
	opts.ips = bad_ip;
	opts.n_ips = 1;
	assert_int_equal(pki_issue(c, o, &opts), CL_EINVAL);
	tpath(o, sizeof(o), "out/ok.pem");
	assert_int_not_equal(access(o, F_OK), 0);
}

static void test_expired_certificate(void **state)
{
	X509 *x;

	(void)state;
	issue("ca", "out", "expired-1", "coordinator", -60);
	x = load_cert("out/expired-1.pem");
	assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) < 0);
	assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	X509_free(x);
}

/* Verifies with an independent OpenSSL store and CRL check; returns the X509_V_ code. */
static int verify_with_crl(const char *cert_rel)
{
	X509 *x = load_cert(cert_rel), *ca = load_cert("ca/ca.pem");
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_CRL *crl;
	char p[1200];
	FILE *f;
	int err;

	tpath(p, sizeof(p), "ca/crl.pem");
	f = fopen(p, "r");
	assert_non_null(f);
	crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(crl);
	assert_int_equal(X509_STORE_add_cert(st, ca), 1);
	assert_int_equal(X509_STORE_add_crl(st, crl), 1);
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	assert_int_equal(X509_STORE_CTX_init(ctx, st, x, NULL), 1);
	(void)X509_verify_cert(ctx);
	err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_CRL_free(crl);
	X509_free(ca);
	X509_free(x);
	return err;
}

static void read_pem(const char *rel, char **buf, size_t *len)
{
	char p[1200];

	tpath(p, sizeof(p), rel);
	assert_int_equal(pki_read_file(p, PKI_PEM_MAX, buf, len), 0);
}

static void test_revoke_and_crl(void **state)
{
	char c[1200], p[1200];
	char *ca_pem, *crl_pem, *rev_pem, *ok_pem;
	size_t ca_len, crl_len, rev_len, ok_len;
	struct pki_crl *crl = NULL;
	bool revoked = true;

	(void)state;
	issue("ca", "out", "rev-1", "node", 0);
	issue("ca", "out", "keep-1", "node", 0);
	assert_int_equal(verify_with_crl("out/rev-1.pem"), X509_V_OK);
	tpath(c, sizeof(c), "ca");
	tpath(p, sizeof(p), "out/rev-1.pem");
	assert_int_equal(pki_revoke(c, p), 0);
	assert_int_equal(pki_revoke(c, p), 0); /* idempotent */
	assert_int_equal(verify_with_crl("out/rev-1.pem"), X509_V_ERR_CERT_REVOKED);
	assert_int_equal(verify_with_crl("out/keep-1.pem"), X509_V_OK);

	read_pem("ca/ca.pem", &ca_pem, &ca_len);
	read_pem("ca/crl.pem", &crl_pem, &crl_len);
	read_pem("out/rev-1.pem", &rev_pem, &rev_len);
	read_pem("out/keep-1.pem", &ok_pem, &ok_len);
	assert_int_equal(pki_crl_load(ca_pem, ca_len, crl_pem, crl_len, &crl), 0);
	assert_int_equal(pki_crl_check(crl, rev_pem, rev_len, &revoked), 0);
	assert_true(revoked);
	assert_int_equal(pki_crl_check(crl, ok_pem, ok_len, &revoked), 0);
	assert_false(revoked);
	pki_crl_free(crl);
	free(ca_pem);

	/* A CRL does not verify under another CA. */
	read_pem("ca2/ca.pem", &ca_pem, &ca_len);
	crl = NULL;
	assert_int_equal(pki_crl_load(ca_pem, ca_len, crl_pem, crl_len, &crl), CL_ETLS);
	assert_null(crl);
	free(ca_pem);
	free(crl_pem);
	free(rev_pem);
	free(ok_pem);

	/* The CA refuses to revoke a certificate it did not issue. */
	issue("ca2", "out2", "foreign-1", "node", 0);
	tpath(p, sizeof(p), "out2/foreign-1.pem");
	assert_int_equal(pki_revoke(c, p), CL_ETLS);
}

static void test_cert_identity(void **state)
{
	char *pem, cn[PKI_ID_MAX + 1], role[PKI_ROLE_MAX + 1];
	size_t len;

	(void)state;
	issue("ca", "out", "kh-1", "keyholder", 0);
	read_pem("out/kh-1.pem", &pem, &len);
	assert_int_equal(pki_cert_identity(pem, len, cn, sizeof(cn), role, sizeof(role)), 0);
	assert_string_equal(cn, "kh-1");
	assert_string_equal(role, "keyholder");
	assert_int_equal(pki_cert_identity("garbage", 7, cn, sizeof(cn), role, sizeof(role)),
			 CL_EPARSE);
	free(pem);
}

/* The computing parties' role: valid, issued into the OU, told apart from its neighbours. */
static void test_compute_role(void **state)
{
	char *pem, cn[PKI_ID_MAX + 1], role[PKI_ROLE_MAX + 1];
	size_t len;

	(void)state;
	assert_true(pki_role_valid("compute"));
	assert_false(pki_role_valid("Compute"));
	assert_false(pki_role_valid("computer"));
	assert_false(pki_role_valid("comput"));
	issue("ca", "out", "stat-office", "compute", 0);
	read_pem("out/stat-office.pem", &pem, &len);
	assert_int_equal(pki_cert_identity(pem, len, cn, sizeof(cn), role, sizeof(role)), 0);
	assert_string_equal(cn, "stat-office");
	assert_string_equal(role, "compute");
	free(pem);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void **state)
{
	const char *bin = getenv("CASELINK_BIN");
	char cmd[8192];

	(void)state;
	if (!bin) {
		skip();
		return;
	}
	snprintf(cmd, sizeof(cmd), "'%s/caselink' pki init-ca --out '%s/cli/ca' >/dev/null", bin,
		 tdir);
	assert_int_equal(run(cmd), 0);
	assert_int_equal(run(cmd), 1); /* refuses to overwrite */
	snprintf(cmd, sizeof(cmd),
		 "'%s/caselink' pki issue --ca '%s/cli/ca' --name coord-9 --role coordinator "
		 "--out '%s/cli/out' --days 30 --loopback >/dev/null",
		 bin, tdir, tdir);
	assert_int_equal(run(cmd), 0);
	assert_int_equal(file_mode("cli/out/coord-9.key"), 0600);
	snprintf(cmd, sizeof(cmd),
		 "'%s/caselink' pki issue --ca '%s/cli/ca' --name cp-1 --role compute "
		 "--out '%s/cli/out' --loopback >/dev/null && openssl x509 -noout -subject -in "
		 "'%s/cli/out/cp-1.pem' | grep -q 'OU *= *compute'",
		 bin, tdir, tdir, tdir);
	assert_int_equal(run(cmd), 0);
	snprintf(cmd, sizeof(cmd),
		 "'%s/caselink' pki issue --ca '%s/cli/ca' --name x --role root --out '%s/cli/out' "
		 "2>/dev/null",
		 bin, tdir, tdir);
	assert_int_equal(run(cmd), 2);
	snprintf(cmd, sizeof(cmd),
		 "'%s/caselink' pki revoke --ca '%s/cli/ca' --cert '%s/cli/out/coord-9.pem' "
		 ">/dev/null && openssl verify -crl_check -CAfile '%s/cli/ca/ca.pem' -CRLfile "
		 "'%s/cli/ca/crl.pem' '%s/cli/out/coord-9.pem' >/dev/null 2>&1",
		 bin, tdir, tdir, tdir, tdir, tdir);
	assert_int_not_equal(run(cmd), 0); /* openssl now refuses it as revoked */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ca_files_and_modes),
	    cmocka_unit_test(test_compute_role),
	    cmocka_unit_test(test_ca_refuses_overwrite),
	    cmocka_unit_test(test_issue_subject_san_eku),
	    cmocka_unit_test(test_issue_refuses_overwrite_and_bad_input),
	    cmocka_unit_test(test_expired_certificate),
	    cmocka_unit_test(test_revoke_and_crl),
	    cmocka_unit_test(test_cert_identity),
	    cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
