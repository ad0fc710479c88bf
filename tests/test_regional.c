/*
 * test_regional — the parts of two-level coordination that need no daemon:
 * the configuration keys (kind: coordinator, upstream), the coverage a
 * regional coordinator sends and how the national one names its nodes, the
 * agency attributes of a regional's records and the linker's per-agency
 * node indexes. The daemons are tested end to end in
 * tests/integration/test_two_level.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/partyconf.h"
#include "coordinator/regional.h"

static const char conf_text[] = "listen: 127.0.0.1:0\n"
				"insecure_demo: true\n"
				"upstream: [national-lv, national-backup]\n"
				"nodes:\n"
				"  - {id: lt-klaipeda-police, agency_type: police, municipality: "
				"Klaipėda, country: LT, address: 127.0.0.1:7101}\n"
				"  - {id: regional-kurzeme, kind: coordinator, address: "
				"127.0.0.1:7201}\n"
				"  - {id: lv-tukums-ngo, agency_type: ngo, municipality: Tukums, "
				"country: LV, address: 127.0.0.1:7102}\n";

static struct partyconf *load(const char *text, int *rc, char *err, size_t errsz)
{
	struct partyconf *pc = NULL;

	*rc = partyconf_load_mem("test.yaml", text, strlen(text), PARTYCONF_COORDINATOR, &pc, err,
				 errsz);
	return pc;
}

static void test_config_keys(void **state)
{
	char err[256] = "";
	int rc;
	struct partyconf *pc = load(conf_text, &rc, err, sizeof(err));

	(void)state;
	assert_int_equal(rc, CL_OK);
	assert_int_equal(pc->nnodes, 3);
	assert_int_equal(pc->nodes[0].coordinator, 0);
	assert_int_equal(pc->nodes[1].coordinator, 1);
	assert_string_equal(pc->nodes[1].agency_type, "");
	assert_string_equal(pc->nodes[1].address, "127.0.0.1:7201");
	assert_int_equal(pc->nupstream, 2);
	assert_string_equal(pc->upstream[0], "national-lv");
	assert_string_equal(pc->upstream[1], "national-backup");
	assert_string_equal(pc->coordinator_address, "");
	partyconf_free(pc);

	/* A regional's coordinator_address: where its nodes' case requests go up. */
	pc = load("listen: 127.0.0.1:0\ninsecure_demo: true\nupstream: [national]\n"
		  "coordinator_address: 127.0.0.1:7100\nnodes:\n"
		  "  - {id: a, agency_type: police, municipality: M, country: LV, "
		  "address: 127.0.0.1:1}\n",
		  &rc, err, sizeof(err));
	assert_int_equal(rc, CL_OK);
	assert_string_equal(pc->coordinator_address, "127.0.0.1:7100");
	partyconf_free(pc);
	pc = load("listen: 127.0.0.1:0\ninsecure_demo: true\ncoordinator_address: [x]\nnodes:\n"
		  "  - {id: a, kind: coordinator, address: 127.0.0.1:1}\n",
		  &rc, err, sizeof(err));
	assert_int_equal(rc, CL_ECONFIG);
	assert_null(pc);

	/* An unknown kind, and a plain node without its agency, are refused with their place. */
	pc = load("listen: 127.0.0.1:0\ninsecure_demo: true\nnodes:\n"
		  "  - {id: a, kind: region, address: 127.0.0.1:1}\n",
		  &rc, err, sizeof(err));
	assert_int_equal(rc, CL_ECONFIG);
	assert_null(pc);
	assert_non_null(strstr(err, "'kind' must be node or coordinator"));
	pc = load("listen: 127.0.0.1:0\ninsecure_demo: true\nnodes:\n"
		  "  - {id: a, address: 127.0.0.1:1}\n",
		  &rc, err, sizeof(err));
	assert_int_equal(rc, CL_ECONFIG);
	assert_null(pc);
	pc = load("listen: 127.0.0.1:0\ninsecure_demo: true\nupstream: national\nnodes:\n"
		  "  - {id: a, kind: coordinator, address: 127.0.0.1:1}\n",
		  &rc, err, sizeof(err));
	assert_int_equal(rc, CL_ECONFIG);
	assert_non_null(strstr(err, "'upstream' must be a list"));
	/* A regional's country, when given, is still checked. */
	pc = load("listen: 127.0.0.1:0\ninsecure_demo: true\nnodes:\n"
		  "  - {id: a, kind: coordinator, country: lv, address: 127.0.0.1:1}\n",
		  &rc, err, sizeof(err));
	assert_int_equal(rc, CL_ECONFIG);
}

/* A coverage as a regional coordinator sends it. */
struct cov_fixture {
	Caselink__V1__Coverage cov;
	Caselink__V1__NodeFailure fail;
	Caselink__V1__NodeFailure *fail_ptr;
	char *answered[2];
};

static void cov_fill(struct cov_fixture *f)
{
	caselink__v1__coverage__init(&f->cov);
	caselink__v1__node_failure__init(&f->fail);
	f->answered[0] = "lv-liepaja-police";
	f->answered[1] = "lv-liepaja-ngo";
	f->fail.node_id = "lv-liepaja-health";
	f->fail.reason = "deadline: Deadline Exceeded";
	f->fail.code = 4;
	f->fail_ptr = &f->fail;
	f->cov.nodes_asked = 3;
	f->cov.nodes_answered = 2;
	f->cov.n_answered = 2;
	f->cov.answered = f->answered;
	f->cov.n_failed = 1;
	f->cov.failed = &f->fail_ptr;
}

static void test_cov_check(void **state)
{
	struct cov_fixture f;
	char longname[200];

	(void)state;
	cov_fill(&f);
	assert_int_equal(regional_cov_check(&f.cov), CL_OK);
	f.cov.nodes_asked = 4; /* asked must be answered + failed */
	assert_int_equal(regional_cov_check(&f.cov), CL_EPROTO);
	cov_fill(&f);
	f.cov.nodes_answered = 1;
	assert_int_equal(regional_cov_check(&f.cov), CL_EPROTO);
	cov_fill(&f);
	f.answered[1] = "Lv Liepaja"; /* names are codes */
	assert_int_equal(regional_cov_check(&f.cov), CL_EPROTO);
	cov_fill(&f);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	f.fail.node_id = longname;
	assert_int_equal(regional_cov_check(&f.cov), CL_EPROTO);
	cov_fill(&f);
	f.fail.reason = "line\nbreak";
	assert_int_equal(regional_cov_check(&f.cov), CL_EPROTO);
	cov_fill(&f);
	f.answered[0] = "";
	assert_int_equal(regional_cov_check(&f.cov), CL_EPROTO);
	assert_int_equal(regional_cov_check(NULL), CL_EPROTO);
}

static void test_cov_expand(void **state)
{
	char err[256] = "";
	int rc;
	struct partyconf *pc = load(conf_text, &rc, err, sizeof(err));
	struct cov_fixture sub;
	Caselink__V1__Coverage cov = CASELINK__V1__COVERAGE__INIT;
	Caselink__V1__NodeFailure fail = CASELINK__V1__NODE_FAILURE__INIT, *fail_ptr = &fail;
	char *answered[2] = {"lt-klaipeda-police", "regional-kurzeme"};
	const Caselink__V1__Coverage *subs[3] = {NULL, NULL, NULL};
	struct regional_cov *hold = NULL;

	(void)state;
	assert_int_equal(rc, CL_OK);
	cov_fill(&sub);
	fail.node_id = "lv-tukums-ngo";
	fail.reason = "unavailable: connection refused";
	fail.code = 14;
	cov.nodes_asked = 3;
	cov.nodes_answered = 2;
	cov.n_answered = 2;
	cov.answered = answered;
	cov.n_failed = 1;
	cov.failed = &fail_ptr;

	/* Without a regional's coverage nothing changes. */
	assert_int_equal(regional_cov_expand(&cov, pc, subs, &hold), CL_OK);
	assert_null(hold);
	assert_ptr_equal(cov.answered, answered);

	subs[1] = &sub.cov;
	assert_int_equal(regional_cov_expand(&cov, pc, subs, &hold), CL_OK);
	assert_non_null(hold);
	assert_int_equal(cov.nodes_asked, 5); /* 3 - the regional + its 3 */
	assert_int_equal(cov.nodes_answered, 3);
	assert_int_equal(cov.n_answered, 3);
	assert_string_equal(cov.answered[0], "lt-klaipeda-police");
	assert_string_equal(cov.answered[1], "regional-kurzeme/lv-liepaja-police");
	assert_string_equal(cov.answered[2], "regional-kurzeme/lv-liepaja-ngo");
	assert_int_equal(cov.n_failed, 2);
	assert_string_equal(cov.failed[0]->node_id, "regional-kurzeme/lv-liepaja-health");
	assert_string_equal(cov.failed[0]->reason, "deadline: Deadline Exceeded");
	assert_int_equal(cov.failed[0]->code, 4);
	assert_string_equal(cov.failed[1]->node_id, "lv-tukums-ngo");
	assert_int_equal(cov.failed[1]->code, 14);
	/* What a national coordinator sends is again a valid coverage. */
	assert_int_equal(regional_cov_check(&cov), CL_OK);
	regional_cov_free(hold);
	partyconf_free(pc);
}

/* Whether a coverage lists a requesting node: answered, failed, or not at all. */
static void test_cov_lists(void **state)
{
	struct cov_fixture f;
	char *nested[2] = {"regional-inner/lv-liepaja-police", "xlv-liepaja-ngo"};

	(void)state;
	cov_fill(&f);
	assert_int_equal(regional_cov_lists(&f.cov, "lv-liepaja-police"), 1);
	assert_int_equal(regional_cov_lists(&f.cov, "lv-liepaja-ngo"), 1);
	assert_int_equal(regional_cov_lists(&f.cov, "lv-liepaja-health"), 2);
	assert_int_equal(regional_cov_lists(&f.cov, "lv-liepaja-probation"), 0);
	assert_int_equal(regional_cov_lists(&f.cov, "liepaja-police"), 0);
	assert_int_equal(regional_cov_lists(&f.cov, "lv-liepaja-police-2"), 0);
	assert_int_equal(regional_cov_lists(&f.cov, ""), 0);
	assert_int_equal(regional_cov_lists(&f.cov, NULL), 0);
	assert_int_equal(regional_cov_lists(NULL, "lv-liepaja-police"), 0);
	/* Behind a nested regional the name carries its path; a longer name is another node. */
	f.answered[0] = nested[0];
	f.answered[1] = nested[1];
	assert_int_equal(regional_cov_lists(&f.cov, "lv-liepaja-police"), 1);
	assert_int_equal(regional_cov_lists(&f.cov, "lv-liepaja-ngo"), 0);
}

static void test_record_agency(void **state)
{
	char err[256] = "";
	int rc;
	struct partyconf *pc = load(conf_text, &rc, err, sizeof(err));
	Caselink__V1__TokenRecord t = CASELINK__V1__TOKEN_RECORD__INIT;
	Caselink__V1__TokenRecord__AttributesEntry e[3], *ep[3];
	const char *id = NULL, *type = NULL, *muni = NULL;
	size_t k;

	(void)state;
	assert_int_equal(rc, CL_OK);
	/* A direct node's record: the configured agency. */
	assert_int_equal(regional_record_agency(&t, &pc->nodes[0], &id, &type, &muni), CL_OK);
	assert_string_equal(id, "lt-klaipeda-police");
	assert_string_equal(type, "police");
	assert_string_equal(muni, "Klaipėda");
	/* A regional's record must say which agency it is. */
	assert_int_equal(regional_record_agency(&t, &pc->nodes[1], &id, &type, &muni), CL_EPROTO);
	for (k = 0; k < 3; k++) {
		caselink__v1__token_record__attributes_entry__init(&e[k]);
		ep[k] = &e[k];
	}
	e[0].key = REGIONAL_ATTR_AGENCY_ID;
	e[0].value = "lv-liepaja-ngo";
	e[1].key = REGIONAL_ATTR_AGENCY_TYPE;
	e[1].value = "ngo";
	e[2].key = REGIONAL_ATTR_MUNICIPALITY;
	e[2].value = "Liepāja";
	t.n_attributes = 3;
	t.attributes = ep;
	assert_int_equal(regional_record_agency(&t, &pc->nodes[1], &id, &type, &muni), CL_OK);
	assert_string_equal(id, "lv-liepaja-ngo");
	assert_string_equal(type, "ngo");
	assert_string_equal(muni, "Liepāja");
	/* Incomplete or malformed attributes are refused, not half used. */
	t.n_attributes = 2;
	assert_int_equal(regional_record_agency(&t, &pc->nodes[1], &id, &type, &muni), CL_EPROTO);
	t.n_attributes = 3;
	e[0].value = "regional-x/lv-liepaja-ngo";
	assert_int_equal(regional_record_agency(&t, &pc->nodes[1], &id, &type, &muni), CL_EPROTO);
	e[0].value = "lv-liepaja-ngo";
	e[2].value = "";
	assert_int_equal(regional_record_agency(&t, &pc->nodes[1], &id, &type, &muni), CL_EPROTO);
	partyconf_free(pc);
}

static void test_agencies(void **state)
{
	struct regional_agencies *a = NULL;
	uint32_t i0 = 99, i1 = 99, i2 = 99, again = 99;

	(void)state;
	assert_int_equal(regional_agencies_new(3, &a), CL_OK);
	assert_int_equal(regional_agencies_index(a, 0, "lt-klaipeda-police", &i0), CL_OK);
	assert_int_equal(regional_agencies_index(a, 1, "lv-liepaja-police", &i1), CL_OK);
	assert_int_equal(regional_agencies_index(a, 1, "lv-liepaja-ngo", &i2), CL_OK);
	assert_int_equal(i0, 0);
	assert_int_equal(i1, 1);
	assert_int_equal(i2, 2);
	assert_int_equal(regional_agencies_index(a, 1, "lv-liepaja-police", &again), CL_OK);
	assert_int_equal(again, 1);
	assert_int_equal(regional_agencies_index(a, 0, "lt-klaipeda-police", &again), CL_OK);
	assert_int_equal(again, 0);
	/* The same agency id behind another configured node is another agency. */
	assert_int_equal(regional_agencies_index(a, 2, "lv-liepaja-police", &again), CL_ELIMIT);
	regional_agencies_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_keys), cmocka_unit_test(test_cov_check),
	    cmocka_unit_test(test_cov_expand),	cmocka_unit_test(test_record_agency),
	    cmocka_unit_test(test_agencies),	cmocka_unit_test(test_cov_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
