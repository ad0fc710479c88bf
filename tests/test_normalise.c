#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/normalise.h"

static void expect_norm(const char *in, const char *want)
{
	char out[NORM_MAX];
	size_t len = 12345;

	assert_int_equal(norm_name(in, strlen(in), out, sizeof(out), &len), 0);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
}

/* Each letter of the alphabets, precomposed (two UTF-8 bytes), upper and lower case. */
static const struct {
	const char *lower, *upper, *base;
} latvian[] =
    {
	{"ā", "Ā", "a"}, {"č", "Č", "c"}, {"ē", "Ē", "e"}, {"ģ", "Ģ", "g"},
	{"ī", "Ī", "i"}, {"ķ", "Ķ", "k"}, {"ļ", "Ļ", "l"}, {"ņ", "Ņ", "n"},
	{"š", "Š", "s"}, {"ū", "Ū", "u"}, {"ž", "Ž", "z"},
},
  lithuanian[] = {
      {"ą", "Ą", "a"}, {"č", "Č", "c"}, {"ę", "Ę", "e"}, {"ė", "Ė", "e"}, {"į", "Į", "i"},
      {"š", "Š", "s"}, {"ų", "Ų", "u"}, {"ū", "Ū", "u"}, {"ž", "Ž", "z"},
};

static void check_letters(const char *lower, const char *upper, const char *base)
{
	char word[64];

	/* Really precomposed, and really a different code point than its base letter. */
	assert_int_equal(strlen(lower), 2);
	assert_int_equal(strlen(upper), 2);
	assert_true((unsigned char)lower[0] >= 0xC4);
	expect_norm(lower, base);
	expect_norm(upper, base);
	/* Inside a word, with the base letter in upper case around it. */
	snprintf(word, sizeof(word), "X%sY%sZ", lower, upper);
	char want[16];
	snprintf(want, sizeof(want), "x%sy%sz", base, base);
	expect_norm(word, want);
}

static void test_latvian_letters(void **state)
{
	(void)state;
	assert_int_equal(sizeof(latvian) / sizeof(latvian[0]), 11);
	for (size_t i = 0; i < sizeof(latvian) / sizeof(latvian[0]); i++)
		check_letters(latvian[i].lower, latvian[i].upper, latvian[i].base);
	expect_norm("ĀČĒĢĪĶĻŅŠŪŽ āčēģīķļņšūž", "acegiklnsuz acegiklnsuz");
}

static void test_lithuanian_letters(void **state)
{
	(void)state;
	assert_int_equal(sizeof(lithuanian) / sizeof(lithuanian[0]), 9);
	for (size_t i = 0; i < sizeof(lithuanian) / sizeof(lithuanian[0]); i++)
		check_letters(lithuanian[i].lower, lithuanian[i].upper, lithuanian[i].base);
	expect_norm("ĄČĘĖĮŠŲŪŽ ąčęėįšųūž", "aceeisuuz aceeisuuz");
}

static void test_names(void **state)
{
	(void)state;
	expect_norm("Ā. Bērziņa-Ozola", "a berzinaozola");
	expect_norm("ŽEMAITĖ", "zemaite");
	expect_norm("Anna-Marija", "annamarija");
	expect_norm("Kazlauskienė – Jonaitytė", "kazlauskiene jonaityte"); /* en dash */
	expect_norm("O'Brien", "obrien");
	expect_norm("O\u2019Brien", "obrien"); /* right single quotation mark */
	expect_norm("  Jānis \t\n  Bērziņš  ", "janis berzins");
	expect_norm("Jānis\u00A0\u2003Bērziņš", "janis berzins"); /* NBSP, em space */
	expect_norm("\"Anna\" (Ann), Jr.", "anna ann jr");
	expect_norm("€ Anna © 2", "anna 2");
	expect_norm("-.' ,", "");
	expect_norm("", "");
	expect_norm("Stra\u00DFe", "strasse");		   /* ß case-folds to ss */
	expect_norm("\uFB01lip", "filip");		   /* fi ligature */
	expect_norm("\uFF21\uFF4E\uFF4E\uFF41", "anna");   /* full-width */
	expect_norm("E\u0307\u0328 e\u0328\u0307", "e e"); /* decomposed input */
	expect_norm("Ёлка Ὀδυσσεύς", "елка οδυσσευσ");	   /* other scripts keep letters */
	expect_norm("Ann\u00ADa\u200B", "anna");	   /* soft hyphen, zero width */
	expect_norm("İlker", "ilker");
}

static void test_inlen_is_respected(void **state)
{
	char out[16];
	size_t len = 0;

	(void)state;
	assert_int_equal(norm_name("abcdef", 3, out, sizeof(out), &len), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(norm_name("Žžž", 2, out, sizeof(out), &len), 0);
	assert_string_equal(out, "z");
	/* Cutting a letter in half is invalid UTF-8. */
	assert_int_equal(norm_name("Žžž", 3, out, sizeof(out), &len), CL_EPARSE);
	assert_int_equal(norm_name(NULL, 0, out, sizeof(out), &len), 0);
	assert_string_equal(out, "");
	assert_int_equal(norm_name(NULL, 1, out, sizeof(out), &len), CL_EINVAL);
	assert_int_equal(norm_name("a", 1, NULL, 4, &len), CL_EINVAL);
	assert_int_equal(norm_name("a", 1, out, sizeof(out), NULL), CL_EINVAL);
}

static void test_invalid_utf8(void **state)
{
	static const char *const bad[] = {
	    "\xC3", "Bad \xC3(", "\xC0\x80",  "\xE0\x80\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80",
	    "\xFF", "\x80",	 "J\xE2\x82",
	};
	char out[16];
	size_t len = 99;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(out, "junk", 5);
		assert_int_equal(norm_name(bad[i], strlen(bad[i]), out, sizeof(out), &len),
				 CL_EPARSE);
		assert_string_equal(out, "");
		assert_int_equal(len, 99);
	}
	/* A NUL byte inside the given length, on the ASCII and the Unicode path. */
	assert_int_equal(norm_name("ab\0c", 4, out, sizeof(out), &len), CL_EPARSE);
	assert_int_equal(norm_name("ā\0c", 4, out, sizeof(out), &len), CL_EPARSE);
}

static void test_buffer_too_small(void **state)
{
	char out[16];
	size_t len = 99;

	(void)state;
	assert_int_equal(norm_name("abc", 3, out, 3, &len), CL_ELIMIT);
	assert_string_equal(out, "");
	assert_int_equal(norm_name("abc", 3, out, 4, &len), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(norm_name("a b", 3, out, 3, &len), CL_ELIMIT);
	assert_int_equal(norm_name("a b", 3, out, 4, &len), 0);
	assert_int_equal(norm_name("Ā", strlen("Ā"), out, 1, &len), CL_ELIMIT);
	assert_int_equal(norm_name("Ā", strlen("Ā"), out, 2, &len), 0);
	assert_string_equal(out, "a");
	assert_int_equal(norm_name("日本", strlen("日本"), out, 6, &len), CL_ELIMIT);
	assert_int_equal(norm_name("日本", strlen("日本"), out, 7, &len), 0);
	assert_string_equal(out, "日本");
	/* Trailing white space and punctuation need no room. */
	assert_int_equal(norm_name("ab  --", 6, out, 3, &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(norm_name("", 0, out, 0, &len), CL_ELIMIT);
	assert_int_equal(norm_name("", 0, out, 1, &len), 0);
	assert_int_equal(len, 0);
}

/* The fast paths of norm_name against norm_name_reference (every code point through utf8proc). */
static void check_same_both_paths(const char *s, size_t n)
{
	char a[700], b[700];
	size_t la = 0, lb = 0;
	int ra, rb;

	ra = norm_name(s, n, a, sizeof(a), &la);
	rb = norm_name_reference(s, n, b, sizeof(b), &lb);
	assert_int_equal(ra, rb);
	if (ra == 0) {
		assert_int_equal(la, lb);
		assert_string_equal(a, b);
	}
	/* The same with a buffer just too small for the result. */
	if (ra == 0 && la > 0) {
		assert_int_equal(norm_name(s, n, a, la, &la), CL_ELIMIT);
		assert_int_equal(norm_name_reference(s, n, b, lb, &lb), CL_ELIMIT);
	}
}

static void test_fast_paths_match_reference(void **state)
{
	uint64_t x = 88172645463325252ull;
	char s[256];

	(void)state;
	for (int c = 0; c < 128; c++) {
		char one[3] = {'a', (char)c, 'b'};
		check_same_both_paths(one, 3);
		check_same_both_paths(one + 1, 1);
	}
	/* Every code point of the Latin table, alone and between letters and spaces. */
	for (unsigned cp = 0x80; cp < 0x800; cp++) {
		char ctx[8] = {'A', (char)(0xC0 | cp >> 6), (char)(0x80 | (cp & 0x3F)), ' ', 'b'};
		check_same_both_paths(ctx + 1, 2);
		check_same_both_paths(ctx, 5);
		ctx[0] = ' ';
		check_same_both_paths(ctx, 3);
	}
	for (size_t i = 0; i < sizeof(latvian) / sizeof(latvian[0]); i++) {
		check_same_both_paths(latvian[i].upper, 2);
		check_same_both_paths(latvian[i].lower, 2);
	}
	check_same_both_paths("Ā. Bērziņa-Ozola ½ Æsir ǅ ŉ ĳ",
			      strlen("Ā. Bērziņa-Ozola ½ Æsir ǅ ŉ ĳ"));
	for (int i = 0; i < 3000; i++) {
		size_t n;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = (size_t)(x % 40);
		for (size_t k = 0; k < n; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Mostly letters, spaces and punctuation; sometimes any byte below 0x80. */
			s[k] = (x & 3) == 0 ? (char)(x >> 8 & 0x7F) : " .-'AbZz9\t"[(x >> 8) % 10];
		}
		check_same_both_paths(s, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_latvian_letters),
	    cmocka_unit_test(test_lithuanian_letters),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_inlen_is_respected),
	    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_buffer_too_small),
	    cmocka_unit_test(test_fast_paths_match_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
