/*
 * Personal codes. The check digits below were computed by hand / with a separate
 * script from the formulas of record-format.md, not with the code under test;
 * 33309240064 is the usual published example of a valid asmens kodas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/pcode.h"

static void expect(const char *country, const char *code, enum pcode_status want,
		   const char *want_reason, const char *want_norm)
{
	char norm[PCODE_MAX];
	enum pcode_status st = PCODE_UNCHECKED;
	const char *why = "unset";

	assert_int_equal(pcode_check(country, code, norm, &st, &why), 0);
	assert_int_equal(st, want);
	if (want_reason == NULL)
		assert_null(why);
	else
		assert_string_equal(why, want_reason);
	if (want_norm != NULL)
		assert_string_equal(norm, want_norm);
}

static void test_lt_valid(void **state)
{
	(void)state;
	expect("LT", "33309240064", PCODE_VALID, NULL, "33309240064"); /* 2nd pass */
	expect("LT", "333 0924-0064", PCODE_VALID, NULL, "33309240064");
	expect("LT", " 3-3-3-0-9-2-4-0-0-6-4 ", PCODE_VALID, NULL, "33309240064");
	expect("LT", "48506150390", PCODE_VALID, NULL, NULL); /* both passes 10: C = 0 */
	expect("LT", "18812311230", PCODE_VALID, NULL, NULL); /* 1888-12-31, 1st pass */
	expect("LT", "50002290013", PCODE_VALID, NULL, NULL); /* 2000-02-29: leap */
	expect("LT", "62301014564", PCODE_VALID, NULL, NULL);
}

static void test_lt_invalid(void **state)
{
	(void)state;
	expect("LT", "33309240065", PCODE_INVALID, "bad check digit", "33309240065");
	expect("LT", "48506150391", PCODE_INVALID, "bad check digit", NULL);
	expect("LT", "3330924006", PCODE_INVALID, "wrong length", "3330924006");
	expect("LT", "333092400644", PCODE_INVALID, "wrong length", NULL);
	expect("LT", "", PCODE_INVALID, "wrong length", "");
	expect("LT", "3330924006X", PCODE_INVALID, "non-digit character", NULL);
	expect("LT", "333.0924.0064", PCODE_INVALID, "non-digit character", NULL);
	expect("LT", "73309240064", PCODE_INVALID, "bad century digit", NULL);
	expect("LT", "03309240064", PCODE_INVALID, "bad century digit", NULL);
	expect("LT", "30002290011", PCODE_INVALID, "impossible date", NULL); /* 1900-02-29 */
	expect("LT", "33313240064", PCODE_INVALID, "impossible date", NULL); /* month 13 */
	expect("LT", "33300240064", PCODE_INVALID, "impossible date", NULL); /* month 0 */
	expect("LT", "33309310064", PCODE_INVALID, "impossible date", NULL); /* 09-31 */
	expect("LT", "33309000064", PCODE_INVALID, "impossible date", NULL); /* day 0 */
}

static void test_lv(void **state)
{
	(void)state;
	/* 1+12+0+21+36+50+5+16+12+8 = 161; (1101-161) mod 11 = 5. */
	expect("LV", "120345-12345", PCODE_VALID, NULL, "12034512345");
	expect("LV", "12034512345", PCODE_VALID, NULL, "12034512345");
	expect("LV", "290200-21239", PCODE_VALID, NULL, NULL); /* 2000-02-29 */
	expect("LV", "311299-09875", PCODE_VALID, NULL, NULL); /* 1899-12-31 */
	expect("LV", "120345-12346", PCODE_INVALID, "bad check digit", NULL);
	/* Sum 167: (1101-167) mod 11 = 10, which no check digit can match. */
	for (char c = '0'; c <= '9'; c++) {
		char code[] = "120345-1237?";
		code[11] = c;
		expect("LV", code, PCODE_INVALID, "bad check digit", NULL);
	}
	expect("LV", "120345-32345", PCODE_INVALID, "bad century digit", NULL);
	expect("LV", "290200-11239", PCODE_INVALID, "impossible date", NULL); /* 1900-02-29 */
	expect("LV", "310445-12345", PCODE_INVALID, "impossible date", NULL); /* 04-31 */
	expect("LV", "121345-12345", PCODE_INVALID, "impossible date", NULL);
	expect("LV", "000145-12345", PCODE_INVALID, "impossible date", NULL);
	expect("LV", "120345-1234", PCODE_INVALID, "wrong length", NULL);
	expect("LV", "12O345-12345", PCODE_INVALID, "non-digit character", NULL);
	/* The new form: 32 and nine digits, nothing else checked. */
	expect("LV", "321234-56789", PCODE_VALID, NULL, "32123456789");
	expect("LV", "32999999999", PCODE_VALID, NULL, NULL);
	expect("LV", "3212345678", PCODE_INVALID, "wrong length", NULL);
	expect("LV", "3212345678A", PCODE_INVALID, "non-digit character", NULL);
	/* 33... is not the new form: day 33 is impossible. */
	expect("LV", "330345-12345", PCODE_INVALID, "impossible date", NULL);
}

static void test_other_countries_and_errors(void **state)
{
	char norm[PCODE_MAX];
	enum pcode_status st = PCODE_VALID;
	const char *why = "unset";
	char longcode[64];

	(void)state;
	expect("EE", "3890-1010 000", PCODE_UNCHECKED, NULL, "38901010000");
	expect("PL", "AB 12-x", PCODE_UNCHECKED, NULL, "AB12x");

	memset(norm, 'k', sizeof(norm));
	assert_int_equal(pcode_check("lt", "33309240064", norm, &st, &why), CL_EINVAL);
	assert_int_equal(pcode_check("L", "33309240064", norm, &st, &why), CL_EINVAL);
	assert_int_equal(pcode_check("LTU", "33309240064", norm, &st, &why), CL_EINVAL);
	assert_int_equal(pcode_check("", "33309240064", norm, &st, &why), CL_EINVAL);
	assert_int_equal(pcode_check(NULL, "33309240064", norm, &st, &why), CL_EINVAL);
	assert_int_equal(pcode_check("LT", NULL, norm, &st, &why), CL_EINVAL);
	memset(longcode, '1', sizeof(longcode) - 1);
	longcode[sizeof(longcode) - 1] = '\0';
	assert_int_equal(pcode_check("LT", longcode, norm, &st, &why), CL_ELIMIT);
	longcode[PCODE_MAX - 1] = '\0'; /* exactly PCODE_MAX - 1 digits fits */
	assert_int_equal(pcode_check("XX", longcode, norm, &st, &why), 0);
	assert_string_equal(norm, longcode);
	assert_int_equal(st, PCODE_UNCHECKED);
	/* Failures leave the outputs alone. */
	st = PCODE_VALID;
	why = "unset";
	memset(norm, 'k', sizeof(norm));
	assert_int_equal(pcode_check("L1", "1", norm, &st, &why), CL_EINVAL);
	assert_int_equal(norm[0], 'k');
	assert_int_equal(st, PCODE_VALID);
	assert_string_equal(why, "unset");
	/* reason may be NULL. */
	assert_int_equal(pcode_check("LT", "33309240065", norm, &st, NULL), 0);
	assert_int_equal(st, PCODE_INVALID);
}

static void test_check_digit_functions(void **state)
{
	(void)state;
	assert_int_equal(pcode_lt_check_digit("3330924006"), 4);
	assert_int_equal(pcode_lt_check_digit("4850615039"), 0);
	assert_int_equal(pcode_lt_check_digit("1881231123"), 0);
	assert_int_equal(pcode_lt_check_digit("6230101456"), 4);
	assert_int_equal(pcode_lt_check_digit("33309240064"), 4); /* only 10 digits are read */
	assert_int_equal(pcode_lt_check_digit("333092400"), -1);
	assert_int_equal(pcode_lt_check_digit("33309x4006"), -1);
	assert_int_equal(pcode_lt_check_digit(NULL), -1);
	assert_int_equal(pcode_lv_check_digit("1203451234"), 5);
	assert_int_equal(pcode_lv_check_digit("2902002123"), 9);
	assert_int_equal(pcode_lv_check_digit("1203451237"), -1);
	assert_int_equal(pcode_lv_check_digit("120345-123"), -1);
	assert_int_equal(pcode_lv_check_digit(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lt_valid),
	    cmocka_unit_test(test_lt_invalid),
	    cmocka_unit_test(test_lv),
	    cmocka_unit_test(test_other_countries_and_errors),
	    cmocka_unit_test(test_check_digit_functions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
