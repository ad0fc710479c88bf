# Common input modules: CSV reader, personal codes, name normalisation, dates.
caselink_test(test_csv SOURCES test_csv.c LIBS cl_common TIMEOUT 60)
caselink_test(test_pcode SOURCES test_pcode.c LIBS cl_common TIMEOUT 60)
caselink_test(test_normalise SOURCES test_normalise.c LIBS cl_common TIMEOUT 60)
caselink_test(test_cldate SOURCES test_cldate.c LIBS cl_common TIMEOUT 60)
