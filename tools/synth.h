/*
 * synth — `caselink synth`: a deterministic generator of a realistic
 * federation (agency persons.csv/events.csv, federation.csv) and of its
 * ground truth (truth/links.csv, truth/expected/ via the truth engine).
 * The personal-code check digits are computed here independently of
 * common/pcode.c so that tests can cross-check the two.
 */
#ifndef CASELINK_SYNTH_H
#define CASELINK_SYNTH_H

/* Lithuanian check digit of the first 10 digits of d10; -1 when not digits. */
int synth_lt_check_digit(const char *d10);

/* Latvian old-form check digit of the first 10 digits; -1 when not digits or the result is 10. */
int synth_lv_check_digit(const char *d10);

#endif
