caselink_test(test_vocab SOURCES test_vocab.c testskip.c LIBS cl_common TIMEOUT 30)
caselink_test(test_intern SOURCES test_intern.c LIBS cl_common TIMEOUT 30)
