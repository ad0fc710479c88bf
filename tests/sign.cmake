caselink_test(test_sign SOURCES test_sign.c LIBS cl_sign cl_party)
caselink_test(test_replay SOURCES test_replay.c LIBS cl_replay)
