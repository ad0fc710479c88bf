# Common input modules: CSV reader, personal codes, name normalisation, dates.
caselink_test(test_csv SOURCES test_csv.c LIBS cl_common TIMEOUT 60)
