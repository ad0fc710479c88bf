caselink_test(test_cl_error SOURCES test_cl_error.c LIBS cl_common)
