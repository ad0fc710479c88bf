/*
 * party_error_to_code: the one error -> gRPC status mapping of the daemons. Ground truth: the
 * status chosen for every code of common/cl_error.h, written out here by hand (a code added to
 * the table without a decision here fails), and the daemons' serve code read from CASELINK_SRC:
 * no hand-written `rc == CL_E... ? RPC_...` chain may bypass the mapping.
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
	};
	regex_t re;
	regmatch_t m;
	size_t i;

	(void)state;
	assert_int_equal(
	    regcomp(&re, "CL_E[A-Z]+[[:space:]]*[?][[:space:]]*RPC_[A-Z_]+", REG_EXTENDED), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_code_decided),
	    cmocka_unit_test(test_no_chain_bypasses_the_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
