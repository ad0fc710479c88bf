caselink_test(test_yconf SOURCES test_yconf.c LIBS cl_yconf)
