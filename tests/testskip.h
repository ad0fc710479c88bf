/*
 * testskip — skipping a CMocka test whose input is absent, so that ctest shows it: the test
 * binary then exits 77, which tests/CMakeLists.txt registers as every test's SKIP_RETURN_CODE
 * ("Skipped" instead of "Passed"). In CI (CI set and not empty) an absent input fails instead:
 * CI always has what these tests read (../shared beside the clone). Test code only.
 */
#ifndef CASELINK_TESTS_TESTSKIP_H
#define CASELINK_TESTS_TESTSKIP_H

/* The exit status ctest reads as "skipped". */
#define TESTSKIP_STATUS 77

/* Prints why, then skips the running test (fails it in CI); does not return. */
void testskip(const char *why);

/* What main returns: failed if any test failed, else 77 if one was skipped, else 0. */
int testskip_status(int failed);

#endif
