# common/daemon: the key-holding daemons' memory protection (forked children).
caselink_test(test_daemon SOURCES test_daemon.c LIBS cl_daemon TIMEOUT 30)
