/*
 * pcode — personal codes of ../shared/spec/record-format.md: the Lithuanian
 * asmens kodas (GYYMMDDNNNC with its two-pass check digit), the Latvian personas
 * kods in the old form (DDMMYY-CNNNN, check digit) and the new form (32...,
 * no check digit). Hyphens and spaces are ignored.
 */
#ifndef CASELINK_PCODE_H
#define CASELINK_PCODE_H

#include <stddef.h>

#define PCODE_MAX 32 /* bytes of a normalised code, NUL included */

enum pcode_status {
	PCODE_VALID,     /* passes its country's rules */
	PCODE_INVALID,   /* fails a check: kept, flagged, never used for exact linkage */
	PCODE_UNCHECKED, /* a country without rules here: kept as given */
};

/*
 * Normalises code (drops hyphens and spaces) into norm (PCODE_MAX bytes) and
 * checks it against the rules of country (ISO 3166 alpha-2, upper case).
 * Returns 0 and writes *status; CL_EINVAL when country is not two letters A-Z,
 * CL_ELIMIT when the normalised code does not fit. reason, when not NULL,
 * receives a short static explanation for PCODE_INVALID ("bad check digit").
 */
int pcode_check(const char *country, const char *code, char norm[PCODE_MAX],
		enum pcode_status *status, const char **reason);

/* Computes the Lithuanian check digit of the first 10 digits; -1 when not digits. */
int pcode_lt_check_digit(const char *digits10);

/* Computes the Latvian old-form check digit of the first 10 digits; -1 when not digits or 10. */
int pcode_lv_check_digit(const char *digits10);

#endif
