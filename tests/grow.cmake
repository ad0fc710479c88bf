# common/grow: checked array growth (the coordinator's engines). free() is wrapped so that the
# test sees the old block of a secret array, still allocated, when it is given back.
caselink_test(test_grow SOURCES test_grow.c LIBS cl_common TIMEOUT 30)
target_link_options(test_grow PRIVATE -Wl,--wrap=free)
