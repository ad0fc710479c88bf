/*
 * The record format's vocabularies. Ground truth: the lists and the event vocabulary table of
 * CASELINK_SHARED/spec/record-format.md, read here independently of common/vocab.c.
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
#include "common/vocab.h"
#include "testskip.h"

#define SPEC_MAX  (256 * 1024)
#define WORDS_MAX 64

static char *spec_text;

static int setup(void **state)
{
	const char *sh = getenv("CASELINK_SHARED");
	char path[1024];
	FILE *f;
	size_t n;

	(void)state;
	if (!sh ||
	    snprintf(path, sizeof(path), "%s/spec/record-format.md", sh) >= (int)sizeof(path))
		return 0;
	f = fopen(path, "rb");
	if (!f)
		return 0;
	spec_text = calloc(1, SPEC_MAX + 1);
	if (!spec_text) {
		fclose(f);
		return -1;
	}
	n = fread(spec_text, 1, SPEC_MAX, f);
	fclose(f);
	spec_text[n] = '\0';
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(spec_text);
	return 0;
}

/* The backquoted words (";" skipped) of the first line starting with prefix or, with next_line,
 * of the paragraph that follows it. */
static size_t spec_words(const char *prefix, int next_line, char words[][64])
{
	int next = next_line;
	const char *l = spec_text, *end;
	size_t n = 0, plen = strlen(prefix);

	while (l && strncmp(l, prefix, plen) != 0) {
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	assert_non_null(l);
	while (next_line-- > 0) {
		l = strchr(l, '\n');
		assert_non_null(l);
		l++;
		while (*l == '\n')
			l++;
	}
	end = strstr(l, next ? "\n\n" : "\n"); /* a paragraph, or a table row */
	if (!end)
		end = l + strlen(l);
	while ((l = memchr(l, '`', (size_t)(end - l))) != NULL) {
		const char *c = memchr(l + 1, '`', (size_t)(end - l - 1));
		size_t len;

		assert_non_null(c);
		len = (size_t)(c - l - 1);
		assert_true(len < 64);
		if (!(len == 1 && l[1] == ';')) {
			assert_true(n < WORDS_MAX);
			memcpy(words[n], l + 1, len);
			words[n][len] = '\0';
			n++;
		}
		l = c + 1;
	}
	return n;
}

static void check_list(enum vocab_list list, const char *prefix, int next_line)
{
	char words[WORDS_MAX][64];
	size_t n = spec_words(prefix, next_line, words), i;
	const char *const *names = vocab_names(list);

	assert_true(n > 0);
	assert_int_equal(vocab_count(list), n);
	for (i = 0; i < n; i++) {
		assert_string_equal(vocab_name(list, i), words[i]);
		assert_string_equal(names[i], words[i]);
		assert_int_equal(vocab_index(list, words[i]), (int)i);
		assert_int_equal(vocab_index_n(list, words[i], strlen(words[i])), (int)i);
	}
	assert_null(names[n]);
	assert_null(vocab_name(list, n));
}

static void test_lists_match_spec(void **state)
{
	(void)state;
	if (!spec_text) {
		testskip("no CASELINK_SHARED/spec/record-format.md");
	}
	check_list(VOCAB_AGENCY_TYPE, "### Agency types", 1);
	check_list(VOCAB_ROLE, "| role |", 0);
	check_list(VOCAB_RELATIONSHIP, "| relationship |", 0);
	check_list(VOCAB_VIOLENCE_FORM, "| violence_forms |", 0);
	check_list(VOCAB_RISK_LEVEL, "| risk_level |", 0);
	check_list(VOCAB_RISK_INSTRUMENT, "| risk_instrument |", 0);
	check_list(VOCAB_SEX, "| sex |", 0);
	check_list(VOCAB_SHARING, "| sharing |", 0);
}

/* Every row of the event vocabulary table: its category, then its event types in order. */
static void test_events_match_spec(void **state)
{
	const char *l;
	size_t ev = 0, cat = 0;

	(void)state;
	if (!spec_text) {
		testskip("no CASELINK_SHARED/spec/record-format.md");
	}
	l = strstr(spec_text, "### Event vocabulary");
	assert_non_null(l);
	l = strstr(l, "|---|");
	assert_non_null(l);
	l = strchr(l, '\n') + 1;
	while (*l == '|') {
		char catname[64], words[WORDS_MAX][64], *dst = catname;
		const char *s = l + 1, *end = strchr(l, '\n');
		size_t n, i;

		while (*s == ' ')
			s++;
		while (*s && *s != '(' && *s != '|' && dst < catname + 63) {
			*dst++ = (*s == ' ' || *s == '-') ? '_' : *s;
			s++;
		}
		while (dst > catname && dst[-1] == '_')
			dst--;
		*dst = '\0';
		assert_string_equal(vocab_name(VOCAB_CATEGORY, cat), catname);
		assert_int_equal(vocab_index(VOCAB_CATEGORY, catname), (int)cat);
		n = spec_words(l, 0, words);
		assert_true(n > 0);
		for (i = 0; i < n; i++, ev++) {
			assert_string_equal(vocab_name(VOCAB_EVENT_TYPE, ev), words[i]);
			assert_int_equal(vocab_index(VOCAB_EVENT_TYPE, words[i]), (int)ev);
			assert_int_equal(vocab_event_category(ev), (int)cat);
		}
		cat++;
		l = end ? end + 1 : l + strlen(l);
	}
	assert_int_equal(ev, VOCAB_NEVENT_TYPES);
	assert_int_equal(vocab_count(VOCAB_EVENT_TYPE), ev);
	assert_int_equal(cat, VOCAB_NCATEGORIES);
	assert_int_equal(vocab_count(VOCAB_CATEGORY), cat);
}

/* The enums name the indexes the spec's order gives (spot checks at the boundaries). */
static void test_enums_and_lookups(void **state)
{
	(void)state;
	assert_string_equal(vocab_name(VOCAB_EVENT_TYPE, VOCAB_EV_INTAKE), "intake");
	assert_string_equal(vocab_name(VOCAB_EVENT_TYPE, VOCAB_EV_CHILD_WELFARE_CASE_OPENED),
			    "child_welfare_case_opened");
	assert_string_equal(vocab_name(VOCAB_EVENT_TYPE, VOCAB_EV_PROTECTION_ORDER_BREACH),
			    "protection_order_breach");
	assert_string_equal(vocab_name(VOCAB_EVENT_TYPE, VOCAB_EV_MARAC_CASE_REVIEW),
			    "marac_case_review");
	assert_string_equal(vocab_name(VOCAB_AGENCY_TYPE, VOCAB_AG_EDUCATION), "education");
	assert_string_equal(vocab_name(VOCAB_AGENCY_TYPE, VOCAB_AG_NGO), "ngo");
	assert_string_equal(vocab_name(VOCAB_ROLE, VOCAB_ROLE_CHILD), "child");
	assert_string_equal(vocab_name(VOCAB_RISK_LEVEL, VOCAB_RISK_HIGH), "high");
	assert_int_equal(vocab_count(VOCAB_AGENCY_TYPE), VOCAB_NAGENCY_TYPES);
	assert_int_equal(vocab_count(VOCAB_ROLE), VOCAB_NROLES);
	assert_int_equal(vocab_count(VOCAB_RISK_LEVEL), VOCAB_NRISK_LEVELS);

	assert_int_equal(vocab_index(VOCAB_ROLE, "Victim"), CL_ENOTFOUND);
	assert_int_equal(vocab_index(VOCAB_ROLE, "victi"), CL_ENOTFOUND);
	assert_int_equal(vocab_index(VOCAB_ROLE, ""), CL_ENOTFOUND);
	assert_int_equal(vocab_index(VOCAB_ROLE, NULL), CL_EINVAL);
	assert_int_equal(vocab_index(VOCAB_NLISTS, "victim"), CL_EINVAL);
	assert_int_equal(vocab_index_n(VOCAB_VIOLENCE_FORM, "sexual;economic", 6), 2);
	assert_int_equal(vocab_index_n(VOCAB_VIOLENCE_FORM, "sexual;economic", 5), CL_ENOTFOUND);
	assert_int_equal(vocab_index_n(VOCAB_VIOLENCE_FORM, "sexual", 0), CL_ENOTFOUND);
	assert_int_equal(vocab_event_category(VOCAB_NEVENT_TYPES), CL_EINVAL);
	assert_int_equal(vocab_count(VOCAB_NLISTS), 0);
	assert_null(vocab_names(VOCAB_NLISTS));
	assert_null(vocab_name(VOCAB_NLISTS, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lists_match_spec),
	    cmocka_unit_test(test_events_match_spec),
	    cmocka_unit_test(test_enums_and_lookups),
	};

	return testskip_status(cmocka_run_group_tests(tests, setup, teardown));
}
