# compute/: the three-party engine over the in-process transport.
caselink_test(test_mpc SOURCES test_mpc.c LIBS cl_mpc TIMEOUT 120)
caselink_test(test_mpc_m2 SOURCES test_mpc_m2.c synthfed.c LIBS cl_mpc cl_measures cl_common
              TIMEOUT 300)
add_dependencies(test_mpc_m2 caselink)
# test_mpc_perm wraps free() to see that no permutation is freed unwiped.
caselink_test(test_mpc_perm SOURCES test_mpc_perm.c LIBS cl_mpc TIMEOUT 120)
target_link_options(test_mpc_perm PRIVATE -Wl,--wrap=free)
# Secure M2 end to end in one process: node shares, the coordinator's jobs, three parties.
caselink_test(test_m2_job SOURCES test_m2_job.c synthfed.c
              LIBS cl_m2job cl_nodeshares cl_measures cl_transport cl_common m TIMEOUT 300)
add_dependencies(test_m2_job caselink)
# A linked M2 under secure computation through the daemons (nodes, keyholder, two computing
# parties, coordinator) against the plaintext path on the same nodes.
add_test(NAME integration_secure COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_secure.sh)
set_tests_properties(integration_secure PROPERTIES ENVIRONMENT
                     "${CASELINK_TEST_ENV};CASELINK_IT_TOOLS=${CMAKE_BINARY_DIR}/tests"
                     TIMEOUT 300 RUN_SERIAL TRUE)
