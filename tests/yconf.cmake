caselink_test(test_yconf SOURCES test_yconf.c LIBS cl_yconf)
caselink_test(test_partyconf SOURCES test_partyconf.c LIBS cl_partyconf)
