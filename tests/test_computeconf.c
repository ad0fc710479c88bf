/* compute/computeconf: the computing party's configuration, every key and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "compute/compute_job.h"
#include "compute/computeconf.h"

#define BASE                                                                                       \
	"party: 2\n"                                                                               \
	"listen: 127.0.0.1:7302\n"                                                                 \
	"tls: {ca: pki/ca.pem, cert: pki/cp-2.pem, key: pki/cp-2.key}\n"                           \
	"coordinator: {id: coordinator, address: 10.0.0.1:7100}\n"                                 \
	"peer: {id: cp-1, address: 127.0.0.1:7301}\n"

static int load(const char *text, struct computeconf **cc, char *err)
{
	err[0] = '\0';
	return computeconf_load_mem("c.yaml", text, strlen(text), cc, err, 512);
}

/* Loading text fails with CL_ECONFIG and an error located in c.yaml containing what. */
static void refused(const char *text, const char *what)
{
	struct computeconf *cc = NULL;
	char err[512];

	assert_int_equal(load(text, &cc, err), CL_ECONFIG);
	assert_null(cc);
	if (!strstr(err, what) || strncmp(err, "c.yaml:", 7)) {
		print_error("error \"%s\" does not say \"%s\"\n", err, what);
		fail();
	}
}

static void test_full(void **state)
{
	struct computeconf *cc = NULL;
	char err[512];

	(void)state;
	assert_int_equal(load(BASE "tls_unused: 1\n", &cc, err), CL_ECONFIG);
	assert_int_equal(load(BASE "timeout_ms: 2500\nmax_job_bytes: 2048\n"
				   "max_buffered_bytes: 8388608\nmax_computations: 3\n"
				   "drain_ms: 0\n",
			      &cc, err),
			 CL_OK);
	assert_int_equal(cc->party, 2);
	assert_string_equal(cc->listen, "127.0.0.1:7302");
	assert_string_equal(cc->tls_ca, "pki/ca.pem");
	assert_string_equal(cc->tls_cert, "pki/cp-2.pem");
	assert_string_equal(cc->tls_key, "pki/cp-2.key");
	assert_string_equal(cc->tls_crl, "");
	assert_string_equal(cc->coordinator.id, "coordinator");
	assert_string_equal(cc->coordinator.address, "10.0.0.1:7100");
	assert_string_equal(cc->peer.id, "cp-1");
	assert_string_equal(cc->peer.address, "127.0.0.1:7301");
	assert_int_equal(cc->timeout_ms, 2500);
	assert_int_equal(cc->max_job_bytes, 2048);
	assert_int_equal(cc->max_buffered_bytes, 8388608);
	assert_int_equal(cc->max_computations, 3);
	assert_int_equal(cc->drain_ms, 0);
	assert_false(cc->insecure_demo);
	computeconf_free(cc);
}

static void test_defaults_and_paths(void **state)
{
	struct computeconf *cc = NULL;
	char path[1024], err[512];
	const char *tmp = getenv("CASELINK_TMP");
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/computeconf-test.yaml", tmp ? tmp : "/tmp");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(BASE "tls_x: 1\n", f);
	fclose(f);
	assert_int_equal(computeconf_load(path, &cc, err, sizeof(err)), CL_ECONFIG);
	assert_non_null(strstr(err, "tls_x"));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("party: 1\nlisten: 127.0.0.1:0\n"
	      "tls: {ca: /etc/ca.pem, cert: c.pem, key: k.pem, crl: crl.pem}\n"
	      "coordinator: {id: coordinator, address: 127.0.0.1:7100}\n"
	      "peer: {id: cp-2, address: 127.0.0.1:7302}\n",
	      f);
	fclose(f);
	assert_int_equal(computeconf_load(path, &cc, err, sizeof(err)), CL_OK);
	assert_string_equal(cc->tls_ca, "/etc/ca.pem"); /* absolute stays */
	assert_non_null(strstr(cc->tls_cert, "/c.pem"));
	assert_true(strlen(cc->tls_cert) > strlen("/c.pem")); /* relative to the file's folder */
	assert_non_null(strstr(cc->tls_crl, "/crl.pem"));
	assert_int_equal(cc->party, 1);
	assert_int_equal(cc->timeout_ms, 30000);
	assert_int_equal(cc->max_job_bytes, COMPUTE_JOB_MAX);
	assert_int_equal(cc->max_buffered_bytes, 64LL << 20);
	assert_int_equal(cc->max_computations, 2);
	assert_int_equal(cc->drain_ms, 30000);
	computeconf_free(cc);
	remove(path);
}

static void test_insecure_demo(void **state)
{
	struct computeconf *cc = NULL;
	char err[512];

	(void)state;
	refused("party: 1\nlisten: 127.0.0.1:1\ncoordinator: {id: c, address: h:1}\n"
		"peer: {id: p, address: h:2}\n",
		"missing 'tls'");
	assert_int_equal(load("party: 1\nlisten: 127.0.0.1:1\ninsecure_demo: true\n"
			      "coordinator: {id: c, address: h:1}\npeer: {id: p, address: h:2}\n",
			      &cc, err),
			 CL_OK);
	assert_true(cc->insecure_demo);
	computeconf_free(cc);
}

static void test_refusals(void **state)
{
	(void)state;
	refused("- a\n", "must be a mapping");
	refused(BASE "colour: blue\n", "colour");
	refused("listen: 127.0.0.1:7302\ntls: {ca: a, cert: b, key: c}\n"
		"coordinator: {id: c, address: h:1}\npeer: {id: p, address: h:2}\n",
		"party");
	refused("party: 3\nlisten: 127.0.0.1:7302\ntls: {ca: a, cert: b, key: c}\n"
		"coordinator: {id: c, address: h:1}\npeer: {id: p, address: h:2}\n",
		"party");
	refused("party: 0\nlisten: 127.0.0.1:7302\ntls: {ca: a, cert: b, key: c}\n"
		"coordinator: {id: c, address: h:1}\npeer: {id: p, address: h:2}\n",
		"party");
	refused("party: 1\nlisten: nowhere\ntls: {ca: a, cert: b, key: c}\n"
		"coordinator: {id: c, address: h:1}\npeer: {id: p, address: h:2}\n",
		"HOST:PORT");
	refused("party: 1\nlisten: h:1\ntls: {ca: a, cert: b}\n"
		"coordinator: {id: c, address: h:1}\npeer: {id: p, address: h:2}\n",
		"key");
	refused("party: 1\nlisten: h:1\ntls: {ca: a, cert: b, key: c, pin: d}\n"
		"coordinator: {id: c, address: h:1}\npeer: {id: p, address: h:2}\n",
		"pin");
	refused("party: 1\nlisten: h:1\ntls: {ca: a, cert: b, key: c}\n"
		"peer: {id: p, address: h:2}\n",
		"missing required key 'coordinator'");
	refused("party: 1\nlisten: h:1\ntls: {ca: a, cert: b, key: c}\n"
		"coordinator: {id: c, address: h:1}\n",
		"missing required key 'peer'");
	refused("party: 1\nlisten: h:1\ntls: {ca: a, cert: b, key: c}\n"
		"coordinator: [c]\npeer: {id: p, address: h:2}\n",
		"must be a mapping with id and address");
	refused("party: 1\nlisten: h:1\ntls: {ca: a, cert: b, key: c}\n"
		"coordinator: {id: c, address: h:0}\npeer: {id: p, address: h:2}\n",
		"bad port");
	refused("party: 1\nlisten: h:1\ntls: {ca: a, cert: b, key: c}\n"
		"coordinator: {id: c, address: h:1, role: x}\npeer: {id: p, address: h:2}\n",
		"role");
	refused("party: 1\nlisten: h:1\ntls: {ca: a, cert: b, key: c}\n"
		"coordinator: {id: c, address: h:1}\npeer: {id: '', address: h:2}\n",
		"must not be empty");
	refused("party: 1\nlisten: h:1\ntls: {ca: a, cert: b, key: c}\n"
		"coordinator: {id: x, address: h:1}\npeer: {id: x, address: h:2}\n",
		"must be different parties");
	refused("party: 1\nlisten: h:1\ntls: {ca: a, cert: b, key: c}\n"
		"coordinator: {id: "
		"c123456789012345678901234567890123456789012345678901234567890123456789, "
		"address: h:1}\npeer: {id: p, address: h:2}\n",
		"too long");
	refused(BASE "timeout_ms: 50\n", "timeout_ms");
	refused(BASE "max_job_bytes: 100000000\n", "max_job_bytes");
	refused(BASE "max_buffered_bytes: 1000\n", "max_buffered_bytes");
	refused(BASE "max_computations: 0\n", "max_computations");
	refused(BASE "max_computations: 17\n", "max_computations");
	refused(BASE "drain_ms: -1\n", "drain_ms");
	refused(BASE "insecure_demo: maybe\n", "insecure_demo");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_defaults_and_paths),
	    cmocka_unit_test(test_insecure_demo),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
