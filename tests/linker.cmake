# Tests of the per-query encodings (protocol/encode) and the coordinator's linker.
caselink_test(test_encode SOURCES test_encode.c LIBS cl_encode TIMEOUT 60)
caselink_test(test_linker SOURCES test_linker.c LIBS cl_linker cl_encode TIMEOUT 120)
