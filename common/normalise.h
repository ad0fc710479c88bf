/*
 * normalise — name normalisation for linkage (record-format.md "Names"): Unicode
 * NFKD via utf8proc, combining marks removed, case folded, punctuation removed,
 * runs of white space collapsed to one space, leading/trailing space trimmed.
 * "Ā. Bērziņa-Ozola" -> "a berzinaozola"; "ŽEMAITĖ" -> "zemaite".
 */
#ifndef CASELINK_NORMALISE_H
#define CASELINK_NORMALISE_H

#include <stddef.h>

#define NORM_MAX 1024 /* bytes of a normalised name, NUL included */

/*
 * Normalises the UTF-8 text in[0..inlen) into out (outsz bytes, NUL-terminated).
 * Returns 0 and writes *outlen (may be 0 for a name of only punctuation);
 * CL_EPARSE for invalid UTF-8 or a NUL byte; CL_ELIMIT when out is too small.
 * On error out (when outsz > 0) holds the empty string. Letters and digits are
 * kept; separators and white-space controls become single spaces; punctuation,
 * symbols and other controls are dropped ("O'Brien" -> "obrien").
 */
int norm_name(const char *in, size_t inlen, char *out, size_t outsz, size_t *outlen);

/*
 * As norm_name, but every code point goes through utf8proc, without the ASCII
 * and Latin fast paths: the reference that tests and fuzzers compare against.
 */
int norm_name_reference(const char *in, size_t inlen, char *out, size_t outsz, size_t *outlen);

#endif
