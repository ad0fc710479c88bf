/*
 * pcode — Lithuanian and Latvian personal codes (record-format.md "Personal codes").
 */
#include "common/pcode.h"

#include <string.h>

#include "common/cl_error.h"
#include "common/cldate.h"

#define PCODE_DIGITS 11

static int pcode_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : -1;
}

/* Reads the first n characters of s as digits into d; 0, or -1 at a non-digit or the end. */
static int pcode_digits(const char *s, int *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		d[i] = pcode_digit(s[i]);
		if (d[i] < 0)
			return -1;
	}
	return 0;
}

int pcode_lt_check_digit(const char *digits10)
{
	static const int w1[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1};
	static const int w2[10] = {3, 4, 5, 6, 7, 8, 9, 1, 2, 3};
	int d[10], s1 = 0, s2 = 0;

	if (digits10 == NULL || pcode_digits(digits10, d, 10) < 0)
		return -1;
	for (int i = 0; i < 10; i++) {
		s1 += d[i] * w1[i];
		s2 += d[i] * w2[i];
	}
	if (s1 % 11 != 10)
		return s1 % 11;
	if (s2 % 11 != 10)
		return s2 % 11;
	return 0;
}

int pcode_lv_check_digit(const char *digits10)
{
	static const int w[10] = {1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	int d[10], s = 0, c;

	if (digits10 == NULL || pcode_digits(digits10, d, 10) < 0)
		return -1;
	for (int i = 0; i < 10; i++)
		s += d[i] * w[i];
	c = (1101 - s) % 11; /* s <= 9 * 55 < 1101: never negative */
	return c == 10 ? -1 : c;
}

/* The Lithuanian rules; NULL when valid, else the reason. */
static const char *pcode_lt(const char *n)
{
	int d[PCODE_DIGITS], year;

	if (pcode_digits(n, d, PCODE_DIGITS) < 0)
		return "non-digit character";
	if (d[0] < 1 || d[0] > 6)
		return "bad century digit";
	year = 1800 + 100 * ((d[0] - 1) / 2) + 10 * d[1] + d[2];
	if (!cldate_is_valid(year, 10 * d[3] + d[4], 10 * d[5] + d[6]))
		return "impossible date";
	if (pcode_lt_check_digit(n) != d[10])
		return "bad check digit";
	return NULL;
}

/* The Latvian rules; NULL when valid, else the reason. */
static const char *pcode_lv(const char *n)
{
	int d[PCODE_DIGITS], year;

	if (pcode_digits(n, d, PCODE_DIGITS) < 0)
		return "non-digit character";
	if (d[0] == 3 && d[1] == 2)
		return NULL; /* the new form: no date, no check digit */
	if (d[6] > 2)
		return "bad century digit";
	year = 1800 + 100 * d[6] + 10 * d[4] + d[5];
	if (!cldate_is_valid(year, 10 * d[2] + d[3], 10 * d[0] + d[1]))
		return "impossible date";
	if (pcode_lv_check_digit(n) != d[10])
		return "bad check digit";
	return NULL;
}

int pcode_check(const char *country, const char *code, char norm[PCODE_MAX],
		enum pcode_status *status, const char **reason)
{
	char buf[PCODE_MAX];
	const char *why = NULL;
	enum pcode_status st = PCODE_UNCHECKED;
	size_t n = 0;
	int rc = CL_EINVAL;

	if (country == NULL || code == NULL || norm == NULL || status == NULL)
		goto out;
	if (!(country[0] >= 'A' && country[0] <= 'Z' && country[1] >= 'A' && country[1] <= 'Z' &&
	      country[2] == '\0'))
		goto out;
	rc = CL_ELIMIT;
	for (const char *p = code; *p != '\0'; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		if (n + 1 >= PCODE_MAX)
			goto out;
		buf[n++] = *p;
	}
	buf[n] = '\0';

	if (strcmp(country, "LT") == 0 || strcmp(country, "LV") == 0) {
		/* A non-digit is the more telling reason, so it is looked for first. */
		for (size_t i = 0; i < n && why == NULL; i++) {
			if (pcode_digit(buf[i]) < 0)
				why = "non-digit character";
		}
		if (why == NULL && n != PCODE_DIGITS)
			why = "wrong length";
		if (why == NULL)
			why = country[1] == 'T' ? pcode_lt(buf) : pcode_lv(buf);
		st = why == NULL ? PCODE_VALID : PCODE_INVALID;
	}

	memcpy(norm, buf, n + 1);
	*status = st;
	if (reason != NULL)
		*reason = why;
	rc = 0;
out:
	return rc;
}
