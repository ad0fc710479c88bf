/*
 * party_error_to_code: the one error -> gRPC status mapping of the daemons. Ground truth: the
 * status chosen for every code of common/cl_error.h, written out here by hand (a code added to
 * the table without a decision here fails), and the daemons' serve code read from CASELINK_SRC:
 * no hand-written `rc == CL_E... ? RPC_...` chain may bypass the mapping. And the header rules
 * every receiver applies (docs/protocol.md "Header rules"), in particular the bounds of a
 * request's validity: expiry before issue, and validity beyond the configured maximum (default
 * PARTY_MAX_VALIDITY, 10 minutes), are refused.
 */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "protocol/party.h"
#include "protocol/rpc.h"

struct expect {
	int err;
	enum rpc_code code;
};

static const struct expect expected[] = {
    {CL_OK, RPC_OK},
    {CL_ENOMEM, RPC_RESOURCE_EXHAUSTED},
    {CL_EINVAL, RPC_INVALID_ARGUMENT},
    {CL_EIO, RPC_INTERNAL},
    {CL_EOVERFLOW, RPC_INVALID_ARGUMENT},
    {CL_EEXIST, RPC_ALREADY_EXISTS},
    {CL_ENOTFOUND, RPC_NOT_FOUND},
    {CL_ECORRUPT, RPC_INTERNAL},
    {CL_ESQL, RPC_INTERNAL},
    {CL_ESCHEMA, RPC_INTERNAL},
    {CL_EPARSE, RPC_INVALID_ARGUMENT},
    {CL_EBADROWS, RPC_INTERNAL},
    {CL_ELIMIT, RPC_RESOURCE_EXHAUSTED},
    {CL_ECRYPTO, RPC_INTERNAL},
    {CL_EPROTO, RPC_INVALID_ARGUMENT},
    {CL_EVERSION, RPC_FAILED_PRECONDITION},
    {CL_ETLS, RPC_UNAUTHENTICATED},
    {CL_EAUTH, RPC_UNAUTHENTICATED},
    {CL_EDENIED, RPC_PERMISSION_DENIED},
    {CL_ETIMEOUT, RPC_DEADLINE_EXCEEDED},
    {CL_EUNAVAIL, RPC_UNAVAILABLE},
    {CL_ECANCELLED, RPC_CANCELLED},
    {CL_ESIGNATURE, RPC_UNAUTHENTICATED},
    {CL_EREPLAY, RPC_FAILED_PRECONDITION},
    {CL_EEXPIRED, RPC_FAILED_PRECONDITION},
    {CL_EQUOTA, RPC_RESOURCE_EXHAUSTED},
    {CL_EBUDGET, RPC_RESOURCE_EXHAUSTED},
    {CL_EPOLICY, RPC_INTERNAL},
    {CL_ECONFIG, RPC_INTERNAL},
    {CL_EUSAGE, RPC_INTERNAL},
    {CL_EUNSUPPORTED, RPC_UNIMPLEMENTED},
    {CL_EINTERNAL, RPC_INTERNAL},
    {CL_EINTERRUPTED, RPC_CANCELLED},
    {CL_EAUDIT, RPC_UNAVAILABLE},
    {CL_EPERM, RPC_PERMISSION_DENIED},
    {CL_EBUSY, RPC_RESOURCE_EXHAUSTED},
    {CL_ENOSPACE, RPC_RESOURCE_EXHAUSTED},
    {CL_EBADPOINT, RPC_INVALID_ARGUMENT},
    {CL_ESTALE, RPC_FAILED_PRECONDITION},
};

/* Every code of the error table, in the table's order. */
static const int all_codes[] = {
#define TP_CODE(name, value, msg) name,
    CL_ERROR_TABLE(TP_CODE)
#undef TP_CODE
};

static void test_every_code_decided(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(all_codes) / sizeof(all_codes[0]); i++) {
		const struct expect *e = NULL;

		for (j = 0; j < sizeof(expected) / sizeof(expected[0]); j++)
			if (expected[j].err == all_codes[i])
				e = &expected[j];
		if (!e)
			fail_msg("%s has no decided status in this test", cl_errname(all_codes[i]));
		if (party_error_to_code(all_codes[i]) != e->code)
			fail_msg("%s maps to %d, expected %d", cl_errname(all_codes[i]),
				 (int)party_error_to_code(all_codes[i]), (int)e->code);
	}
	/* an unknown code is an internal error, never OK */
	assert_int_equal(party_error_to_code(-9999), RPC_INTERNAL);
	assert_int_equal(party_error_to_code(12345), RPC_INTERNAL);
}

static char *read_src(const char *rel)
{
	const char *src = getenv("CASELINK_SRC");
	char path[4096];
	long len;
	char *buf;
	FILE *f;

	if (!src)
		fail_msg("CASELINK_SRC is not set: run through ctest");
	assert_true(snprintf(path, sizeof(path), "%s/%s", src, rel) < (int)sizeof(path));
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot read %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len >= 0);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* The serve code of every daemon: each status from a CL_E* code goes through the mapping. */
static void test_no_chain_bypasses_the_mapping(void **state)
{
	static const char *const files[] = {
	    "coordinator/serve.c", "coordinator/regional.c", "coordinator/cases_answer.c",
	    "node/serve.c",	   "keyholder/serve.c",	     "protocol/party.c",
	    "compute/serve.c",	   "compute/mpc_rpc.c",
	};
	regex_t re;
	regmatch_t m;
	size_t i;

	(void)state;
	assert_int_equal(
	    regcomp(&re, "CL_E[A-Z]+[)]?[[:space:]]*[?][[:space:]]*RPC_[A-Z_]+", REG_EXTENDED), 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *text = read_src(files[i]);

		if (regexec(&re, text, 1, &m, 0) == 0) {
			int at = (int)m.rm_so, len = (int)(m.rm_eo - m.rm_so);
			int line = 1, k;

			for (k = 0; k < at; k++)
				line += text[k] == '\n';
			print_message("%s:%d: %.*s\n", files[i], line, len, text + at);
			free(text);
			regfree(&re);
			fail_msg("a hand-written status chain bypasses party_error_to_code");
		}
		free(text);
	}
	regfree(&re);
}

/* ---- header rules ---- */

#define NOW 1767225600 /* 2026-01-01T00:00:00Z */

struct hdr {
	Caselink__V1__RequestHeader h;
	Caselink__V1__Identity who;
	uint8_t id[PARTY_REQUEST_ID_LEN];
};

static void hdr_init(struct hdr *x, int64_t issued, int64_t expires)
{
	memset(x, 0, sizeof(*x));
	caselink__v1__request_header__init(&x->h);
	caselink__v1__identity__init(&x->who);
	memset(x->id, 7, sizeof(x->id));
	x->h.schema_version = CASELINK_SCHEMA_VERSION;
	x->h.request_id.data = x->id;
	x->h.request_id.len = sizeof(x->id);
	x->h.purpose = "monitoring";
	x->h.legal_basis = "statistics";
	x->h.issued_at = issued;
	x->h.expires_at = expires;
	x->who.id = "national";
	x->who.role = "user";
	x->h.requester = &x->who;
}

static int check(int64_t issued, int64_t expires, int64_t max, const char **why)
{
	struct hdr x;

	hdr_init(&x, issued, expires);
	*why = NULL;
	return max ? party_header_check_max(&x.h, NOW, max, why)
		   : party_header_check(&x.h, NOW, why);
}

static void test_validity_bounds(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_int_equal(PARTY_MAX_VALIDITY, 600);
	/* The default maximum: 600 s from issue to expiry is accepted, 601 s is not. */
	assert_int_equal(check(NOW, NOW + 600, 0, &why), CL_OK);
	assert_int_equal(check(NOW - 10, NOW + 590, 0, &why), CL_OK);
	assert_int_equal(check(NOW, NOW + 601, 0, &why), CL_EPROTO);
	assert_non_null(strstr(why, "valid for longer"));
	/* The attack of issue 12: a request valid for 100 years. */
	assert_int_equal(check(NOW, NOW + 100LL * 365 * 86400, 0, &why), CL_EPROTO);
	assert_non_null(strstr(why, "valid for longer"));
	/* Expiry before issue, however close to now. */
	assert_int_equal(check(NOW + 30, NOW + 29, 0, &why), CL_EPROTO);
	assert_string_equal(why, "request expires before it is issued");
	assert_int_equal(check(NOW, NOW, 0, &why), CL_OK); /* zero validity: valid this second */
	/* A configured maximum. */
	assert_int_equal(check(NOW, NOW + 60, 60, &why), CL_OK);
	assert_int_equal(check(NOW, NOW + 61, 60, &why), CL_EPROTO);
	assert_int_equal(check(NOW, NOW + 3600, 3600, &why), CL_OK);
	/* Differences that overflow int64 are refused, not wrapped. */
	assert_int_equal(check(INT64_MIN, INT64_MAX, 0, &why), CL_EPROTO);
	assert_non_null(strstr(why, "valid for longer"));
	assert_int_equal(check(INT64_MIN + 1, NOW, PARTY_MAX_VALIDITY_LIMIT, &why), CL_EPROTO);
	/* The maximum itself must be in 1..PARTY_MAX_VALIDITY_LIMIT. */
	assert_int_equal(check(NOW, NOW + 1, -1, &why), CL_EINVAL);
	assert_int_equal(check(NOW, NOW + 1, PARTY_MAX_VALIDITY_LIMIT + 1, &why), CL_EINVAL);
}

static void test_clock_rules(void **state)
{
	const char *why = NULL;

	(void)state;
	/* Issued up to PARTY_CLOCK_SKEW in the future is tolerated, not one second more. */
	assert_int_equal(check(NOW + PARTY_CLOCK_SKEW, NOW + PARTY_CLOCK_SKEW + 300, 0, &why),
			 CL_OK);
	assert_int_equal(check(NOW + PARTY_CLOCK_SKEW + 1, NOW + PARTY_CLOCK_SKEW + 300, 0, &why),
			 CL_EEXPIRED);
	assert_string_equal(why, "request issued in the future (clock skew)");
	/* Expired: expires_at before now; at now it is still valid. */
	assert_int_equal(check(NOW - 300, NOW, 0, &why), CL_OK);
	assert_int_equal(check(NOW - 300, NOW - 1, 0, &why), CL_EEXPIRED);
	assert_string_equal(why, "request expired");
}

static void test_id_and_codes(void **state)
{
	struct hdr x;
	const char *why = NULL;

	(void)state;
	hdr_init(&x, NOW, NOW + 300);
	x.h.request_id.len = 15;
	assert_int_equal(party_header_check(&x.h, NOW, &why), CL_EPROTO);
	assert_string_equal(why, "request id must be 16 to 32 bytes");
	x.h.request_id.len = 16;
	assert_int_equal(party_header_check(&x.h, NOW, &why), CL_OK);
	x.h.purpose = "Monitoring"; /* upper case is not a code */
	assert_int_equal(party_header_check(&x.h, NOW, &why), CL_EPROTO);
	x.h.purpose = "monitoring";
	x.h.schema_version = CASELINK_SCHEMA_VERSION + 1;
	assert_int_equal(party_header_check(&x.h, NOW, &why), CL_EVERSION);
	assert_int_equal(party_header_check(NULL, NOW, &why), CL_EPROTO);
}

/* What party_header_fill issues is within the default bounds. */
static void test_fill_within_bounds(void **state)
{
	Caselink__V1__RequestHeader h = CASELINK__V1__REQUEST_HEADER__INIT;
	Caselink__V1__Identity who = CASELINK__V1__IDENTITY__INIT;
	uint8_t id[PARTY_REQUEST_ID_LEN];
	const char *why = NULL;

	(void)state;
	assert_int_equal(
	    party_header_fill(&h, &who, id, "monitoring", "statistics", "national", "user"), CL_OK);
	assert_int_equal(h.expires_at - h.issued_at, PARTY_EXPIRY_DEFAULT);
	assert_true(PARTY_EXPIRY_DEFAULT <= PARTY_MAX_VALIDITY);
	assert_int_equal(party_header_check(&h, h.issued_at, &why), CL_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_code_decided),
	    cmocka_unit_test(test_no_chain_bypasses_the_mapping),
	    cmocka_unit_test(test_validity_bounds),
	    cmocka_unit_test(test_clock_rules),
	    cmocka_unit_test(test_id_and_codes),
	    cmocka_unit_test(test_fill_within_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
