caselink_test(test_aggregate SOURCES test_aggregate.c LIBS cl_aggregate)
