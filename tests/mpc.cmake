# compute/: the three-party engine over the in-process transport.
caselink_test(test_mpc SOURCES test_mpc.c LIBS cl_mpc TIMEOUT 120)
