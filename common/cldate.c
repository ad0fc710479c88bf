/*
 * cldate — record-format dates and times, computed with Howard Hinnant's
 * days_from_civil / civil_from_days (proleptic Gregorian calendar), never with
 * the C library's time zone state.
 */
#include "common/cldate.h"

#include <stdio.h>

#include "common/cl_error.h"

static int cldate_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int cldate_days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (month == 2 && cldate_leap(year))
		return 29;
	return days[month - 1];
}

int cldate_is_valid(int year, int month, int day)
{
	if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1)
		return 0;
	return day <= cldate_days_in_month(year, month);
}

int64_t cldate_days_from_civil(int year, int month, int day)
{
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void cldate_civil_from_days(int64_t days, int *year, int *month, int *day)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;

	*year = (int)(yoe + era * 400 + (m <= 2));
	*month = (int)m;
	*day = (int)d;
}

/* Reads exactly n decimal digits at s; -1 when any is not a digit. */
static int cldate_num(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * Parses "YYYY-MM-DD" at the start of s into y/m/d; returns NULL and sets *end
 * past it, or the reason it is not a date. The caller checks what follows.
 */
static const char *cldate_ymd(const char *s, int *y, int *m, int *d, const char **end)
{
	int yy = cldate_num(s, 4);

	if (yy < 0 || s[4] != '-')
		return "not a date";
	int mm = cldate_num(s + 5, 2);
	if (mm < 0 || s[7] != '-')
		return "not a date";
	int dd = cldate_num(s + 8, 2);
	if (dd < 0)
		return "not a date";
	if (yy < 1)
		return "year out of range";
	if (mm < 1 || mm > 12)
		return "month out of range";
	if (dd < 1 || dd > cldate_days_in_month(yy, mm))
		return "day out of range for month";
	*y = yy;
	*m = mm;
	*d = dd;
	*end = s + 10;
	return NULL;
}

int cldate_parse_birth(const char *s, struct cldate_birth *out, const char **why)
{
	const char *reason = "not a date", *end = NULL;
	int y = 0, m = 0, d = 0;
	int rc = CL_EINVAL;

	if (s == NULL || out == NULL)
		goto out;
	rc = CL_EPARSE;
	if (cldate_num(s, 4) >= 0 && s[4] == '\0') {
		y = cldate_num(s, 4);
		if (y < 1) {
			reason = "year out of range";
			goto out;
		}
	} else {
		reason = cldate_ymd(s, &y, &m, &d, &end);
		if (reason != NULL)
			goto out;
		if (*end != '\0') {
			reason = "not a date";
			goto out;
		}
	}
	out->year = y;
	out->month = m;
	out->day = d;
	rc = 0;
out:
	if (rc == CL_EPARSE && why != NULL)
		*why = reason;
	return rc;
}

/* Parses "HH:MM" at s into minutes (hours 0..maxh); -1 when malformed or out of range. */
static int cldate_hhmm(const char *s, int maxh)
{
	int h = cldate_num(s, 2), m;

	if (h < 0 || s[2] != ':')
		return -1;
	m = cldate_num(s + 3, 2);
	if (m < 0 || h > maxh || m > 59)
		return -1;
	return h * 60 + m;
}

int cldate_parse_time(const char *s, int64_t *out, const char **why)
{
	const char *reason = NULL, *p = NULL;
	int y, m, d, hm = 0, sec = 0, off = 0;
	int rc = CL_EINVAL;

	if (s == NULL || out == NULL)
		goto out;
	rc = CL_EPARSE;
	reason = cldate_ymd(s, &y, &m, &d, &p);
	if (reason != NULL)
		goto out;
	if (*p != '\0') {
		reason = "bad time";
		if (*p != 'T')
			goto out;
		p++;
		hm = cldate_hhmm(p, 23);
		if (hm < 0)
			goto out;
		p += 5;
		if (*p == ':') {
			sec = cldate_num(p + 1, 2);
			if (sec < 0 || sec > 59)
				goto out;
			p += 3;
		}
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			reason = "bad offset";
			off = cldate_hhmm(p + 1, 23);
			if (off < 0)
				goto out;
			if (*p == '-')
				off = -off;
			p += 6;
		}
		if (*p != '\0') {
			reason = "bad time";
			goto out;
		}
	}
	*out = cldate_days_from_civil(y, m, d) * 86400 + (int64_t)hm * 60 + sec - (int64_t)off * 60;
	rc = 0;
out:
	if (rc == CL_EPARSE && why != NULL)
		*why = reason;
	return rc;
}

void cldate_format_time(int64_t t, char *buf)
{
	int64_t days = t / 86400, secs = t % 86400;
	int y, m, d;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	cldate_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		/* Outside what four digits can show: clamp, never overflow buf. */
		snprintf(buf, 21, "%s", y < 0 ? "0000-01-01T00:00:00Z" : "9999-12-31T23:59:59Z");
		return;
	}
	snprintf(buf, 21, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(secs / 3600),
		 (int)(secs / 60 % 60), (int)(secs % 60));
}
