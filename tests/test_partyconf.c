#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/partyconf.h"

static char conf_path[1024];

static int write_conf(const char *text)
{
	const char *tmp = getenv("CASELINK_TMP");
	FILE *f;

	snprintf(conf_path, sizeof(conf_path), "%s/partyconf-test.yaml", tmp ? tmp : "/tmp");
	f = fopen(conf_path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	return 0;
}

static int load(const char *text, enum partyconf_kind kind, struct partyconf **pc, char *err)
{
	assert_int_equal(write_conf(text), 0);
	return partyconf_load(conf_path, kind, pc, err, 512);
}

/* The error message must start with the file name and continue with this located text. */
static void assert_located(const char *err, const char *suffix)
{
	size_t n = strlen(conf_path);

	assert_true(strncmp(err, conf_path, n) == 0);
	assert_string_equal(err + n, suffix);
}

static void test_coordinator_config(void **state)
{
	struct partyconf *pc = NULL;
	char err[512] = "";
	const struct partyconf_node *nd;

	(void)state;
	assert_int_equal(load("listen: 127.0.0.1:7000\n"
			      "tls: {ca: pki/ca.pem, cert: /abs/c.pem, key: pki/c.key}\n"
			      "policy: federation.yaml\n"
			      "deadline_ms: 2000\n"
			      "nodes:\n"
			      "  - {id: lv-liepaja-police, agency_type: police, municipality: "
			      "\"Liep\xc4\x81ja\", country: LV, address: 127.0.0.1:7101}\n"
			      "  - {id: lt-klaipeda-health, agency_type: health, municipality: "
			      "\"Klaip\xc4\x97"
			      "da\", country: LT, address: 127.0.0.1:7102}\n",
			      PARTYCONF_COORDINATOR, &pc, err),
			 CL_OK);
	assert_int_equal(pc->nnodes, 2);
	assert_int_equal(pc->deadline_ms, 2000);
	assert_int_equal(pc->retries, 1);
	assert_string_equal(pc->tls_cert, "/abs/c.pem");
	assert_non_null(strstr(pc->tls_ca, "/pki/ca.pem"));
	assert_true(strncmp(pc->tls_ca, conf_path, strlen(pc->tls_ca) - strlen("pki/ca.pem")) == 0);
	nd = partyconf_find_node(pc, "lt-klaipeda-health");
	assert_non_null(nd);
	assert_string_equal(nd->address, "127.0.0.1:7102");
	assert_string_equal(nd->country, "LT");
	assert_null(partyconf_find_node(pc, "nobody"));
	/* The policy path is relative to the configuration file, like the TLS files. */
	assert_true(strlen(pc->policy) > strlen("federation.yaml"));
	assert_string_equal(pc->policy + strlen(pc->policy) - strlen("/federation.yaml"),
			    "/federation.yaml");
	assert_true(
	    strncmp(pc->policy, conf_path, strlen(pc->policy) - strlen("federation.yaml")) == 0);
	partyconf_free(pc);
}

/* A coordinator's two computing parties: parsed, each once, paths relative to the file. */
static void test_compute_parties(void **state)
{
	static const char head[] = "listen: 127.0.0.1:7000\n"
				   "insecure_demo: true\n"
				   "nodes: [{id: n1, agency_type: police, municipality: X, "
				   "country: LV, address: 127.0.0.1:7101}]\n";
	struct partyconf *pc = NULL;
	char text[1024], err[512] = "";

	(void)state;
	snprintf(text, sizeof text,
		 "%scompute:\n"
		 "  - {party: 2, id: cp-2, address: 127.0.0.1:7302, cert: pki/cp-2.pem}\n"
		 "  - {party: 1, id: cp-1, address: 127.0.0.1:7301, cert: pki/cp-1.pem}\n",
		 head);
	assert_int_equal(load(text, PARTYCONF_COORDINATOR, &pc, err), CL_OK);
	assert_int_equal(pc->ncompute, 2);
	assert_int_equal(pc->compute[0].party, 1);
	assert_string_equal(pc->compute[0].id, "cp-1");
	assert_string_equal(pc->compute[1].address, "127.0.0.1:7302");
	assert_non_null(strstr(pc->compute[1].cert, "/pki/cp-2.pem"));
	partyconf_free(pc);
	pc = NULL;
	snprintf(text, sizeof text,
		 "%scompute:\n"
		 "  - {party: 1, id: cp-1, address: 127.0.0.1:7301, cert: a.pem}\n"
		 "  - {party: 1, id: cp-2, address: 127.0.0.1:7302, cert: b.pem}\n",
		 head);
	assert_int_equal(load(text, PARTYCONF_COORDINATOR, &pc, err), CL_ECONFIG);
	assert_non_null(strstr(err, "computing party 1 listed twice"));
	snprintf(text, sizeof text,
		 "%scompute:\n  - {party: 1, id: cp-1, address: 127.0.0.1:7301, cert: a.pem}\n",
		 head);
	assert_int_equal(load(text, PARTYCONF_COORDINATOR, &pc, err), CL_ECONFIG);
	assert_non_null(strstr(err, "the two computing parties"));
	assert_null(pc);
}

/* A policy is required unless the demo switch is on; the keyholder has none. */
static void test_policy_key(void **state)
{
	struct partyconf *pc = NULL;
	char err[512] = "";

	(void)state;
	assert_int_equal(load("listen: 127.0.0.1:7101\n"
			      "tls: {ca: ca.pem, cert: n.pem, key: n.key}\n"
			      "coordinators: [coordinator]\n",
			      PARTYCONF_NODE, &pc, err),
			 CL_ECONFIG);
	assert_located(err,
		       ":1:1: missing 'policy' (running without one needs 'insecure_demo: true')");
	assert_int_equal(load("listen: 127.0.0.1:7000\n"
			      "tls: {ca: ca.pem, cert: n.pem, key: n.key}\n"
			      "nodes:\n"
			      "  - {id: a, agency_type: police, municipality: X, country: LV, "
			      "address: h:1}\n",
			      PARTYCONF_COORDINATOR, &pc, err),
			 CL_ECONFIG);
	assert_located(err,
		       ":1:1: missing 'policy' (running without one needs 'insecure_demo: true')");
	assert_int_equal(load("listen: 127.0.0.1:7101\ninsecure_demo: true\npolicy: \"\"\n"
			      "coordinators: [c]\n",
			      PARTYCONF_NODE, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":3:9: 'policy' must not be empty");
	assert_null(pc);
	assert_int_equal(load("listen: 127.0.0.1:7101\ninsecure_demo: true\n"
			      "coordinators: [c]\n",
			      PARTYCONF_NODE, &pc, err),
			 CL_OK);
	assert_string_equal(pc->policy, "");
	partyconf_free(pc);
	pc = NULL;
	assert_int_equal(load("listen: 127.0.0.1:7101\n"
			      "tls: {ca: ca.pem, cert: n.pem, key: n.key}\n"
			      "policy: /etc/caselink/node-policy.yaml\n"
			      "coordinators: [c]\n",
			      PARTYCONF_NODE, &pc, err),
			 CL_OK);
	assert_string_equal(pc->policy, "/etc/caselink/node-policy.yaml");
	partyconf_free(pc);
	pc = NULL;
	assert_int_equal(load("listen: 127.0.0.1:7000\ninsecure_demo: true\nnodes: [a]\n"
			      "policy: p.yaml\n",
			      PARTYCONF_KEYHOLDER, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":4:1: unknown key 'policy'");
}

static void test_node_config_and_refusals(void **state)
{
	struct partyconf *pc = NULL;
	char err[512] = "";

	(void)state;
	assert_int_equal(load("listen: 127.0.0.1:7101\ninsecure_demo: true\n"
			      "coordinators: [coordinator]\n",
			      PARTYCONF_NODE, &pc, err),
			 CL_OK);
	assert_int_equal(pc->insecure_demo, 1);
	assert_int_equal(pc->ncoordinators, 1);
	assert_string_equal(pc->coordinators[0], "coordinator");
	partyconf_free(pc);
	pc = NULL;

	/* TLS is the default: leaving it out without the explicit demo switch is refused. */
	assert_int_equal(
	    load("listen: 127.0.0.1:7101\ncoordinators: [c]\n", PARTYCONF_NODE, &pc, err),
	    CL_ECONFIG);
	assert_null(pc);
	assert_located(err, ":1:1: missing 'tls' (plaintext needs 'insecure_demo: true')");

	/* A key that belongs to another kind of party is a typo here. */
	assert_int_equal(load("listen: 127.0.0.1:7101\ninsecure_demo: true\ncoordinators: [c]\n"
			      "nodes: []\n",
			      PARTYCONF_NODE, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":4:1: unknown key 'nodes'");

	assert_int_equal(load("listen: 127.0.0.1\ninsecure_demo: true\ncoordinators: [c]\n",
			      PARTYCONF_NODE, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":1:9: 'listen' must be HOST:PORT");
}

/* A node's case-request defaults: the coordinator's address and a coded legal basis. */
static void test_node_case_defaults(void **state)
{
	struct partyconf *pc = NULL;
	char err[512] = "";

	(void)state;
	assert_int_equal(load("listen: 127.0.0.1:7101\ninsecure_demo: true\n"
			      "coordinators: [coordinator]\n",
			      PARTYCONF_NODE, &pc, err),
			 CL_OK);
	assert_string_equal(pc->coordinator_address, "");
	assert_string_equal(pc->legal_basis, "");
	partyconf_free(pc);
	pc = NULL;
	assert_int_equal(load("listen: 127.0.0.1:7101\ninsecure_demo: true\n"
			      "coordinators: [coordinator]\ncoordinator_address: 10.0.0.1:7100\n"
			      "legal_basis: lv_interinstitutional_cooperation\n",
			      PARTYCONF_NODE, &pc, err),
			 CL_OK);
	assert_string_equal(pc->coordinator_address, "10.0.0.1:7100");
	assert_string_equal(pc->legal_basis, "lv_interinstitutional_cooperation");
	partyconf_free(pc);
	pc = NULL;
	assert_int_equal(load("listen: 127.0.0.1:7101\ninsecure_demo: true\n"
			      "coordinators: [c]\ncoordinator_address: nowhere\n",
			      PARTYCONF_NODE, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":4:22: 'coordinator_address' must be HOST:PORT");
	assert_int_equal(load("listen: 127.0.0.1:7101\ninsecure_demo: true\n"
			      "coordinators: [c]\nlegal_basis: Article 5\n",
			      PARTYCONF_NODE, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":4:14: 'legal_basis' must be a code (a-z, 0-9, '_', '-')");
	/* Node-only keys are typos in a coordinator's configuration. */
	assert_int_equal(load("listen: 127.0.0.1:7100\ninsecure_demo: true\nnodes: []\n"
			      "legal_basis: x\n",
			      PARTYCONF_COORDINATOR, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":4:1: unknown key 'legal_basis'");
	assert_null(pc);
}

static void test_bad_nodes(void **state)
{
	struct partyconf *pc = NULL;
	char err[512] = "";

	(void)state;
	assert_int_equal(load("listen: 127.0.0.1:7000\ninsecure_demo: true\nnodes:\n"
			      "  - {id: a, agency_type: police, municipality: X, country: LV, "
			      "address: h:1}\n"
			      "  - {id: a, agency_type: police, municipality: X, country: LV, "
			      "address: h:2}\n",
			      PARTYCONF_COORDINATOR, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":5:10: node id listed twice");
	assert_int_equal(load("listen: 127.0.0.1:7000\ninsecure_demo: true\nnodes:\n"
			      "  - {id: a, agency_type: police, municipality: X, country: lv, "
			      "address: h:1}\n",
			      PARTYCONF_COORDINATOR, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":4:60: 'country' must be two capital letters");
	assert_int_equal(load("listen: 127.0.0.1:7000\ninsecure_demo: true\ndeadline_ms: 5\n"
			      "nodes: []\n",
			      PARTYCONF_COORDINATOR, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":3:14: 'deadline_ms' must be between 10 and 600000");
	assert_null(pc);
}

static void test_keyholder_config(void **state)
{
	struct partyconf *pc = NULL;
	char err[512] = "";

	(void)state;
	assert_int_equal(load("listen: 127.0.0.1:7000\ninsecure_demo: true\n"
			      "nodes: [lv-liepaja-police, lt-klaipeda-health]\n"
			      "rate_per_minute: 600\ndaily_quota: 9000\nmax_batch: 50\n"
			      "retired_grace_seconds: 3600\n",
			      PARTYCONF_KEYHOLDER, &pc, err),
			 CL_OK);
	assert_int_equal(pc->nnodes, 2);
	assert_non_null(partyconf_find_node(pc, "lt-klaipeda-health"));
	assert_null(partyconf_find_node(pc, "coordinator"));
	assert_int_equal(pc->rate_per_minute, 600);
	assert_int_equal(pc->daily_quota, 9000);
	assert_int_equal(pc->max_batch, 50);
	assert_int_equal(pc->retired_grace_seconds, 3600);
	assert_int_equal(pc->workers, 4);
	partyconf_free(pc);
	pc = NULL;

	/* Defaults when the limits are left out. */
	assert_int_equal(load("listen: 127.0.0.1:0\ninsecure_demo: true\nnodes: []\n",
			      PARTYCONF_KEYHOLDER, &pc, err),
			 CL_OK);
	assert_int_equal(pc->nnodes, 0);
	assert_int_equal(pc->max_batch, 10000);
	partyconf_free(pc);
	pc = NULL;

	assert_int_equal(
	    load("listen: 127.0.0.1:7000\ninsecure_demo: true\n", PARTYCONF_KEYHOLDER, &pc, err),
	    CL_ECONFIG);
	assert_located(err, ":1:1: missing required key 'nodes'");
	assert_int_equal(load("listen: 127.0.0.1:7000\ninsecure_demo: true\nnodes: [a, a]\n",
			      PARTYCONF_KEYHOLDER, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":3:12: node listed twice");
	assert_int_equal(load("listen: 127.0.0.1:7000\ninsecure_demo: true\nnodes: [a]\n"
			      "max_batch: 0\n",
			      PARTYCONF_KEYHOLDER, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":4:12: 'max_batch' must be between 1 and 65536");
	assert_int_equal(load("listen: 127.0.0.1:7000\ninsecure_demo: true\nnodes: [a]\n"
			      "coordinators: [c]\n",
			      PARTYCONF_KEYHOLDER, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":4:1: unknown key 'coordinators'");
	assert_null(pc);
}

/* max_request_validity: every party, default 600 s, 1..86400. */
static void test_max_request_validity(void **state)
{
	static const enum partyconf_kind kinds[] = {PARTYCONF_NODE, PARTYCONF_COORDINATOR,
						    PARTYCONF_KEYHOLDER};
	static const char *const rest[] = {"coordinators: [coordinator]\n",
					   "nodes:\n  - {id: a, agency_type: police, municipality: "
					   "X, country: LV, address: 127.0.0.1:1}\n",
					   "nodes: [a]\n"};
	struct partyconf *pc = NULL;
	char text[512], err[512] = "";
	size_t k;

	(void)state;
	for (k = 0; k < 3; k++) {
		snprintf(text, sizeof(text), "listen: 127.0.0.1:0\ninsecure_demo: true\n%s",
			 rest[k]);
		assert_int_equal(load(text, kinds[k], &pc, err), CL_OK);
		assert_int_equal(pc->max_request_validity, 600);
		partyconf_free(pc);
		pc = NULL;
		snprintf(text, sizeof(text),
			 "listen: 127.0.0.1:0\ninsecure_demo: true\n%smax_request_validity: 120\n",
			 rest[k]);
		assert_int_equal(load(text, kinds[k], &pc, err), CL_OK);
		assert_int_equal(pc->max_request_validity, 120);
		partyconf_free(pc);
		pc = NULL;
	}
	assert_int_equal(load("listen: 127.0.0.1:0\ninsecure_demo: true\nnodes: [a]\n"
			      "max_request_validity: 86401\n",
			      PARTYCONF_KEYHOLDER, &pc, err),
			 CL_ECONFIG);
	assert_located(err, ":4:23: 'max_request_validity' must be between 1 and 86400");
	assert_int_equal(load("listen: 127.0.0.1:0\ninsecure_demo: true\nnodes: [a]\n"
			      "max_request_validity: 0\n",
			      PARTYCONF_KEYHOLDER, &pc, err),
			 CL_ECONFIG);
	assert_null(pc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_max_request_validity),
	    cmocka_unit_test(test_coordinator_config),
	    cmocka_unit_test(test_node_config_and_refusals),
	    cmocka_unit_test(test_node_case_defaults),
	    cmocka_unit_test(test_policy_key),
	    cmocka_unit_test(test_compute_parties),
	    cmocka_unit_test(test_bad_nodes),
	    cmocka_unit_test(test_keyholder_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
