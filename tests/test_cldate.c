/*
 * Dates and times. Ground truth: the C library's timegm()/gmtime_r() and the
 * Gregorian leap-year rule, both independent of the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/cl_error.h"
#include "common/cldate.h"

static int64_t libc_epoch(int y, int m, int d, int hh, int mm, int ss)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	return (int64_t)timegm(&tm);
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static void test_days_against_libc(void **state)
{
	(void)state;
	assert_int_equal(cldate_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(cldate_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(cldate_days_from_civil(2000, 3, 1), 11017);
	/* Every day from 1600 to 2400 against timegm and gmtime_r, both ways. */
	int64_t days = cldate_days_from_civil(1600, 1, 1);
	for (int y = 1600; y < 2400; y++) {
		int64_t ydays =
		    cldate_days_from_civil(y + 1, 1, 1) - cldate_days_from_civil(y, 1, 1);
		assert_int_equal(ydays, is_leap(y) ? 366 : 365);
		for (int m = 1; m <= 12; m++) {
			for (int d = 1; d <= 31; d++) {
				struct tm tm;
				time_t t;
				int yy, mm, dd;

				if (!cldate_is_valid(y, m, d))
					break;
				assert_int_equal(cldate_days_from_civil(y, m, d), days);
				if (d == 1 || d == 28)
					assert_int_equal(days * 86400,
							 libc_epoch(y, m, d, 0, 0, 0));
				t = (time_t)(days * 86400);
				assert_non_null(gmtime_r(&t, &tm));
				assert_int_equal(tm.tm_year + 1900, y);
				assert_int_equal(tm.tm_mon + 1, m);
				assert_int_equal(tm.tm_mday, d);
				cldate_civil_from_days(days, &yy, &mm, &dd);
				assert_int_equal(yy, y);
				assert_int_equal(mm, m);
				assert_int_equal(dd, d);
				days++;
			}
		}
	}
	/* Far-away dates still round-trip. */
	for (int64_t z = -3000000; z <= 3000000; z += 997) {
		int y, m, d;
		cldate_civil_from_days(z, &y, &m, &d);
		assert_int_equal(cldate_days_from_civil(y, m, d), z);
	}
}

static void test_is_valid(void **state)
{
	(void)state;
	for (int y = 1; y <= 9999; y += 7) {
		assert_int_equal(cldate_is_valid(y, 2, 29), is_leap(y));
		assert_true(cldate_is_valid(y, 2, 28));
	}
	assert_true(cldate_is_valid(2000, 2, 29));
	assert_false(cldate_is_valid(1900, 2, 29));
	assert_false(cldate_is_valid(2023, 4, 31));
	assert_true(cldate_is_valid(2023, 12, 31));
	assert_false(cldate_is_valid(2023, 13, 1));
	assert_false(cldate_is_valid(2023, 0, 1));
	assert_false(cldate_is_valid(2023, 1, 0));
	assert_false(cldate_is_valid(0, 1, 1));
	assert_false(cldate_is_valid(10000, 1, 1));
}

static void expect_birth(const char *s, int y, int m, int d)
{
	struct cldate_birth b = {-1, -1, -1};
	const char *why = "unset";

	assert_int_equal(cldate_parse_birth(s, &b, &why), 0);
	assert_int_equal(b.year, y);
	assert_int_equal(b.month, m);
	assert_int_equal(b.day, d);
	assert_string_equal(why, "unset");
}

static void expect_birth_error(const char *s, const char *reason)
{
	struct cldate_birth b = {-1, -1, -1};
	const char *why = NULL;

	assert_int_equal(cldate_parse_birth(s, &b, &why), CL_EPARSE);
	assert_non_null(why);
	assert_string_equal(why, reason);
	assert_int_equal(b.year, -1);
}

static void test_birth(void **state)
{
	struct cldate_birth b;

	(void)state;
	expect_birth("1985-06-15", 1985, 6, 15);
	expect_birth("1985", 1985, 0, 0);
	expect_birth("2000-02-29", 2000, 2, 29);
	expect_birth("1896-02-29", 1896, 2, 29);
	expect_birth("0001-01-01", 1, 1, 1);
	expect_birth_error("1900-02-29", "day out of range for month");
	expect_birth_error("2023-02-29", "day out of range for month");
	expect_birth_error("2023-04-31", "day out of range for month");
	expect_birth_error("2023-04-00", "day out of range for month");
	expect_birth_error("2023-13-01", "month out of range");
	expect_birth_error("2023-00-10", "month out of range");
	expect_birth_error("0000", "year out of range");
	expect_birth_error("0000-01-01", "year out of range");
	expect_birth_error("85-06-15", "not a date");
	expect_birth_error("1985-6-15", "not a date");
	expect_birth_error("1985-06-5", "not a date");
	expect_birth_error("1985/06/15", "not a date");
	expect_birth_error("1985-06-15T00:00", "not a date");
	expect_birth_error("1985-06-15 ", "not a date");
	expect_birth_error(" 1985", "not a date");
	expect_birth_error("19850", "not a date");
	expect_birth_error("198", "not a date");
	expect_birth_error("abcd", "not a date");
	expect_birth_error("", "not a date");
	expect_birth_error("1985-", "not a date");
	assert_int_equal(cldate_parse_birth("1985", &b, NULL), 0);
	assert_int_equal(cldate_parse_birth("x", &b, NULL), CL_EPARSE);
	assert_int_equal(cldate_parse_birth(NULL, &b, NULL), CL_EINVAL);
}

static void expect_time(const char *s, int64_t want)
{
	int64_t t = -42;
	const char *why = "unset";

	assert_int_equal(cldate_parse_time(s, &t, &why), 0);
	assert_int_equal(t, want);
	assert_string_equal(why, "unset");
}

static void expect_time_error(const char *s, const char *reason)
{
	int64_t t = -42;
	const char *why = NULL;

	assert_int_equal(cldate_parse_time(s, &t, &why), CL_EPARSE);
	assert_non_null(why);
	assert_string_equal(why, reason);
	assert_int_equal(t, -42);
}

static void test_time(void **state)
{
	(void)state;
	expect_time("2024-03-01", libc_epoch(2024, 3, 1, 0, 0, 0));
	expect_time("2024-03-01T14:05", libc_epoch(2024, 3, 1, 14, 5, 0));
	expect_time("2024-03-01T14:05Z", libc_epoch(2024, 3, 1, 14, 5, 0));
	expect_time("2024-03-01T14:05:09", libc_epoch(2024, 3, 1, 14, 5, 9));
	expect_time("2024-03-01T14:05:09Z", libc_epoch(2024, 3, 1, 14, 5, 9));
	expect_time("2024-03-01T14:05:09+02:00", libc_epoch(2024, 3, 1, 12, 5, 9));
	expect_time("2024-03-01T14:05+02:00", libc_epoch(2024, 3, 1, 12, 5, 0));
	expect_time("2024-03-01T01:00+03:00", libc_epoch(2024, 2, 29, 22, 0, 0));
	expect_time("2024-12-31T20:00-05:30", libc_epoch(2025, 1, 1, 1, 30, 0));
	expect_time("2024-03-01T00:00-00:00", libc_epoch(2024, 3, 1, 0, 0, 0));
	expect_time("1970-01-01T00:00:00Z", 0);
	expect_time("1969-12-31T23:59:59Z", -1);
	expect_time("2000-02-29T23:59:59Z", libc_epoch(2000, 2, 29, 23, 59, 59));

	expect_time_error("2024-02-30", "day out of range for month");
	expect_time_error("2024-02-30T10:00", "day out of range for month");
	expect_time_error("2024-14-01T10:00", "month out of range");
	expect_time_error("24-03-01", "not a date");
	expect_time_error("yesterday", "not a date");
	expect_time_error("", "not a date");
	expect_time_error("2024-03-01T24:00", "bad time");
	expect_time_error("2024-03-01T14:60", "bad time");
	expect_time_error("2024-03-01T14:05:60", "bad time");
	expect_time_error("2024-03-01T1:05", "bad time");
	expect_time_error("2024-03-01T14", "bad time");
	expect_time_error("2024-03-01T14:05:", "bad time");
	expect_time_error("2024-03-01 14:05", "bad time");
	expect_time_error("2024-03-01t14:05", "bad time");
	expect_time_error("2024-03-01T", "bad time");
	expect_time_error("2024-03-01T14:05Zjunk", "bad time");
	expect_time_error("2024-03-01T14:05:09.5Z", "bad time");
	expect_time_error("2024-03-01T14:05+02:00x", "bad time");
	expect_time_error("2024-03-01T14:05+24:00", "bad offset");
	expect_time_error("2024-03-01T14:05+02:60", "bad offset");
	expect_time_error("2024-03-01T14:05+02", "bad offset");
	expect_time_error("2024-03-01T14:05+0200", "bad offset");
	expect_time_error("2024-03-01T14:05-", "bad offset");
}

static void test_format(void **state)
{
	char buf[21];

	(void)state;
	cldate_format_time(0, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	cldate_format_time(-1, buf);
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	cldate_format_time(libc_epoch(2000, 2, 29, 13, 7, 5), buf);
	assert_string_equal(buf, "2000-02-29T13:07:05Z");
	cldate_format_time(libc_epoch(1800, 3, 1, 0, 0, 59), buf);
	assert_string_equal(buf, "1800-03-01T00:00:59Z");
	cldate_format_time(INT64_MAX, buf);
	assert_string_equal(buf, "9999-12-31T23:59:59Z");
	cldate_format_time(INT64_MIN, buf);
	assert_string_equal(buf, "0000-01-01T00:00:00Z");

	/* Against strftime over a spread of instants, and back through the parser. */
	for (int64_t t = -5000000000ll; t < 5000000000ll; t += 7777777) {
		char want[32];
		struct tm tm;
		time_t tt = (time_t)t;
		int64_t back = 0;

		assert_non_null(gmtime_r(&tt, &tm));
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
		cldate_format_time(t, buf);
		assert_string_equal(buf, want);
		assert_int_equal(cldate_parse_time(buf, &back, NULL), 0);
		assert_int_equal(back, t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_days_against_libc),
	    cmocka_unit_test(test_is_valid),
	    cmocka_unit_test(test_birth),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
