/*
 * testvec — shared helpers of the tests that read published test vectors from
 * CASELINK_SHARED/vectors (test_h2c, test_oprf). Test code only: failures are
 * CMocka assertions.
 */
#ifndef CASELINK_TESTS_TESTVEC_H
#define CASELINK_TESTS_TESTVEC_H

#include <jansson.h>

/*
 * Loads CASELINK_SHARED/vectors/<name>; returns NULL when the vectors folder
 * is absent (the caller skips), fails the test when the file is unreadable.
 */
json_t *testvec_load(const char *name);

/* The value of one hex digit, or -1 for any other character. */
int testvec_hexval(char c);

#endif
