#define _GNU_SOURCE
/*
 * protocol/seal: boxes to a certificate. Ground truth: a box opens with the recipient's key
 * and the same associated data only; the recipient check refuses another CA, another role
 * and an expired certificate; a flipped byte anywhere fails the open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "protocol/pki.h"
#include "protocol/seal.h"

static char base[1024];

static char *slurp(const char *rel, size_t *len)
{
	char p[1200];
	char *buf = NULL;
	size_t n = 0;

	snprintf(p, sizeof p, "%s/%s", base, rel);
	assert_int_equal(pki_read_file(p, PKI_PEM_MAX, &buf, &n), 0);
	if (len)
		*len = n;
	return buf;
}

static void issue(const char *ca, const char *id, const char *role, long long validity)
{
	char c[1200], o[1200];
	struct pki_issue_opts opts = {.id = id, .role = role, .validity_seconds = validity};

	snprintf(c, sizeof c, "%s/%s", base, ca);
	snprintf(o, sizeof o, "%s/certs", base);
	assert_int_equal(pki_issue(c, o, &opts), 0);
}

static int setup(void **state)
{
	const char *tmp = getenv("CASELINK_TMP");
	char p[1200];

	(void)state;
	snprintf(base, sizeof base, "%s/seal-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(base))
		return -1;
	snprintf(p, sizeof p, "%s/ca", base);
	if (pki_init_ca(p) != 0)
		return -1;
	snprintf(p, sizeof p, "%s/ca2", base);
	if (pki_init_ca(p) != 0)
		return -1;
	issue("ca", "cp-1", "node", 0);
	issue("ca", "coord", "coordinator", 0);
	issue("ca2", "foreign", "node", 0);
	issue("ca", "old", "node", -10);
	return 0;
}

static void test_round_trip(void **state)
{
	struct seal_recipient *r = NULL;
	char reason[SEAL_REASON_MAX], *ca = slurp("ca/ca.pem", NULL), *key, cn[64];
	size_t cl, bl, ml;
	char *cert = slurp("certs/cp-1.pem", &cl);
	const uint8_t msg[] = "seeds of two parties", aad[] = "query-1";
	uint8_t *box = NULL, *out = NULL;

	(void)state;
	key = slurp("certs/cp-1.key", NULL);
	assert_int_equal(seal_recipient_new(ca, (uint8_t *)cert, cl, "node", &r, reason), 0);
	seal_recipient_name(r, cn, sizeof cn);
	assert_string_equal(cn, "cp-1");
	assert_int_equal(seal_box(r, aad, sizeof aad, msg, sizeof msg, &box, &bl), 0);
	assert_int_equal(bl, sizeof msg + SEAL_OVERHEAD);
	assert_null(memmem(box, bl, msg, 8)); /* no plaintext in the box */
	assert_int_equal(seal_open(key, aad, sizeof aad, box, bl, &out, &ml), 0);
	assert_int_equal(ml, sizeof msg);
	assert_memory_equal(out, msg, ml);
	seal_free(out, ml);
	/* other aad, any flipped byte, truncation: refused */
	assert_int_equal(seal_open(key, (const uint8_t *)"query-2", 8, box, bl, &out, &ml),
			 CL_ECRYPTO);
	for (size_t i = 0; i < bl; i += 7) {
		box[i] ^= 1;
		assert_int_equal(seal_open(key, aad, sizeof aad, box, bl, &out, &ml), CL_ECRYPTO);
		box[i] ^= 1;
	}
	assert_int_equal(seal_open(key, aad, sizeof aad, box, bl - 1, &out, &ml), CL_ECRYPTO);
	/* another key (the coordinator's) cannot open it */
	free(key);
	key = slurp("certs/coord.key", NULL);
	assert_int_equal(seal_open(key, aad, sizeof aad, box, bl, &out, &ml), CL_ECRYPTO);
	free(key);
	free(box);
	seal_recipient_free(r);
	free(ca);
	free(cert);
}

static void test_recipient_refused(void **state)
{
	struct seal_recipient *r = NULL;
	char reason[SEAL_REASON_MAX], *ca = slurp("ca/ca.pem", NULL);
	size_t l1, l2, l3;
	char *foreign = slurp("certs/foreign.pem", &l1), *coord = slurp("certs/coord.pem", &l2);
	char *old = slurp("certs/old.pem", &l3);

	(void)state;
	assert_int_equal(seal_recipient_new(ca, (uint8_t *)foreign, l1, "node", &r, reason),
			 CL_EAUTH);
	assert_non_null(strstr(reason, "not accepted"));
	assert_int_equal(seal_recipient_new(ca, (uint8_t *)coord, l2, "node", &r, reason),
			 CL_EAUTH);
	assert_non_null(strstr(reason, "role"));
	assert_int_equal(seal_recipient_new(ca, (uint8_t *)old, l3, "node", &r, reason), CL_EAUTH);
	assert_non_null(strstr(reason, "expired"));
	assert_int_equal(seal_recipient_new(ca, (const uint8_t *)"junk", 4, "node", &r, reason),
			 CL_EAUTH);
	assert_null(r);
	free(ca);
	free(foreign);
	free(coord);
	free(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_recipient_refused),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
