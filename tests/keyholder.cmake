# keyholder/: key store, audit log and the caselink-keyholder daemon (real processes on loopback).
caselink_test(test_audit SOURCES test_audit.c LIBS cl_audit TIMEOUT 60)
caselink_test(test_keystore SOURCES test_keystore.c testkeys.c LIBS cl_keyholder TIMEOUT 60)
caselink_test(test_keyholder SOURCES test_keyholder.c testkeys.c LIBS cl_keyholder cl_transport TIMEOUT 180)
add_dependencies(test_keyholder caselink-keyholder)
