/*
 * libFuzzer harness for the field parsers of the record format: name
 * normalisation, personal codes and dates. The first byte picks the output
 * buffer size and the country; the rest is the text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "common/cl_error.h"
#include "common/cldate.h"
#include "common/normalise.h"
#include "common/pcode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks a successful normalisation: valid UTF-8, trimmed, single spaces, no ASCII capitals. */
static void check_norm(const char *out, size_t len)
{
	size_t i = 0;

	if (strlen(out) != len)
		abort();
	if (len > 0 && (out[0] == ' ' || out[len - 1] == ' '))
		abort();
	while (i < len) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)out + i,
						      (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0 || (cp >= 'A' && cp <= 'Z'))
			abort();
		if (cp == ' ' && out[i + 1] == ' ')
			abort();
		i += (size_t)n;
	}
}

static void fuzz_norm(const char *text, size_t n, size_t outsz)
{
	char *out = malloc(outsz), *again = malloc(NORM_MAX * 4), *big = malloc(NORM_MAX * 4);
	size_t len = 0, len2 = 0, len3 = 0;
	int rc;

	if (out == NULL || again == NULL || big == NULL)
		abort();
	rc = norm_name(text, n, out, outsz, &len);
	if (rc == 0) {
		check_norm(out, len);
		/* Normalising a normalised name changes nothing. */
		if (norm_name(out, len, again, NORM_MAX * 4, &len2) != 0 || len2 != len ||
		    memcmp(out, again, len) != 0)
			abort();
	} else if (rc != CL_EPARSE && rc != CL_ELIMIT) {
		abort();
	} else if (outsz > 0 && out[0] != '\0') {
		abort();
	}
	/* A bigger buffer succeeds whenever a smaller one did, with the same result. */
	rc = norm_name(text, n, big, NORM_MAX * 4, &len3);
	if (rc == 0 && norm_name(text, n, out, outsz, &len) == 0 &&
	    (len3 != len || memcmp(big, out, len) != 0))
		abort();
	/* The fast paths give what the reference path (all through utf8proc) gives. */
	{
		int ra = norm_name(text, n, big, NORM_MAX * 4, &len3);
		/* Same buffer size: which error comes first depends on where it runs out. */
		int rb = norm_name_reference(text, n, again, NORM_MAX * 4, &len2);
		if (ra != rb || (ra == 0 && (len2 != len3 || memcmp(big, again, len2) != 0)))
			abort();
	}
	free(out);
	free(again);
	free(big);
}

static void fuzz_pcode(const char *country, const char *code)
{
	char norm[PCODE_MAX];
	enum pcode_status st;
	const char *why = NULL;
	int rc = pcode_check(country, code, norm, &st, &why);

	if (rc == CL_ELIMIT)
		return;
	if (rc != 0)
		abort();
	if (strlen(norm) >= PCODE_MAX || strpbrk(norm, "- ") != NULL)
		abort();
	if ((st == PCODE_INVALID) != (why != NULL))
		abort();
	if (st == PCODE_VALID && strcmp(country, "LT") == 0 &&
	    (strlen(norm) != 11 || pcode_lt_check_digit(norm) != norm[10] - '0'))
		abort();
	if (st == PCODE_VALID && strcmp(country, "LV") == 0 && strncmp(norm, "32", 2) != 0 &&
	    pcode_lv_check_digit(norm) != norm[10] - '0')
		abort();
	if (st == PCODE_UNCHECKED && (strcmp(country, "LT") == 0 || strcmp(country, "LV") == 0))
		abort();
}

static void fuzz_dates(const char *s)
{
	struct cldate_birth b;
	int64_t t = 0, back = 0;
	const char *why = NULL;
	char buf[21];

	if (cldate_parse_birth(s, &b, &why) == 0) {
		if (b.month == 0 ? b.day != 0 || b.year < 1 || b.year > 9999
				 : !cldate_is_valid(b.year, b.month, b.day))
			abort();
	} else if (why == NULL) {
		abort();
	}
	why = NULL;
	if (cldate_parse_time(s, &t, &why) == 0) {
		cldate_format_time(t, buf);
		if (strlen(buf) != 20)
			abort();
		/* Within the four-digit years the formatted time parses back to itself. */
		if (t >= cldate_days_from_civil(1, 1, 1) * 86400 &&
		    t < cldate_days_from_civil(10000, 1, 1) * 86400 &&
		    (cldate_parse_time(buf, &back, NULL) != 0 || back != t))
			abort();
	} else if (why == NULL) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const countries[] = {"LT", "LV", "EE", "PL"};
	char *text;
	size_t n;

	if (size < 1)
		return 0;
	n = size - 1;
	text = malloc(n + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, n);
	text[n] = '\0';
	fuzz_norm(text, n, (size_t)(data[0] & 0x3F) * 3);
	fuzz_pcode(countries[data[0] >> 6], text);
	fuzz_dates(text);
	free(text);
	return 0;
}
