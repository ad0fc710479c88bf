caselink_test(test_vocab SOURCES test_vocab.c LIBS cl_common TIMEOUT 30)
