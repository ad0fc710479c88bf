# Disclosure control of answers (coordinator/release.c): hand-built tables, DP, budget, differencing.
caselink_test(test_release SOURCES test_release.c LIBS cl_release TIMEOUT 120)
