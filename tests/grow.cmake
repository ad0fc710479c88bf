# common/grow: checked array growth (the coordinator's engines).
caselink_test(test_grow SOURCES test_grow.c LIBS cl_common TIMEOUT 30)
