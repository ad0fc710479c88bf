# Tests of the per-query encodings (protocol/encode) and the coordinator's linker.
caselink_test(test_encode SOURCES test_encode.c LIBS cl_encode TIMEOUT 60)
caselink_test(test_linker SOURCES test_linker.c LIBS cl_linker cl_encode TIMEOUT 120)
caselink_test(test_linkage_eval
  SOURCES test_linkage_eval.c testskip.c ${CMAKE_SOURCE_DIR}/tools/linkage_eval.c
  LIBS cl_linker cl_encode cl_crypto cl_common TIMEOUT 300)
caselink_test(test_tokset SOURCES test_tokset.c LIBS cl_linker)
# linker.h's promise that tokens and filters are wiped, on growth and on free: every block the
# linker frees or reallocates is searched for the test tokens' marker (--wrap=free,realloc).
caselink_test(test_linker_wipe SOURCES test_linker_wipe.c LIBS cl_linker TIMEOUT 60)
target_link_options(test_linker_wipe PRIVATE -Wl,--wrap=free -Wl,--wrap=realloc)
