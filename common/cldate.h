/*
 * cldate — the dates and times of the record format, without the C library's
 * time zone state: a birth date (YYYY-MM-DD or YYYY) and an occurred_at
 * (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]; no offset means UTC).
 */
#ifndef CASELINK_CLDATE_H
#define CASELINK_CLDATE_H

#include <stdint.h>

/* A birth date; month and day are 0 when only the year is known. */
struct cldate_birth {
	int year, month, day;
};

/* Parses a birth date; CL_EPARSE with a static reason in *why (when not NULL). */
int cldate_parse_birth(const char *s, struct cldate_birth *out, const char **why);

/* Parses an occurred_at into seconds since 1970-01-01T00:00Z; CL_EPARSE with *why. */
int cldate_parse_time(const char *s, int64_t *out, const char **why);

/* Returns 1 when year-month-day is a real proleptic Gregorian date (year 1..9999), else 0. */
int cldate_is_valid(int year, int month, int day);

/* Days since 1970-01-01 of a proleptic Gregorian date (no validation). */
int64_t cldate_days_from_civil(int year, int month, int day);

/* The civil date of a day count since 1970-01-01. */
void cldate_civil_from_days(int64_t days, int *year, int *month, int *day);

/* Formats epoch seconds as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
void cldate_format_time(int64_t t, char *buf);

#endif
