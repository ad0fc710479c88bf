# compute/: the computing parties (caselink-compute), their configuration, the mailbox of the
# transport between the three parties, and party 0 of the integration test.
caselink_test(test_computeconf SOURCES test_computeconf.c LIBS cl_computeconf TIMEOUT 60)
caselink_test(test_mpc_mailbox SOURCES test_mpc_mailbox.c LIBS cl_mpc_mailbox TIMEOUT 60)

add_executable(compute_party0 compute_party0.c)
set_target_properties(compute_party0 PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
target_link_libraries(compute_party0 PRIVATE cl_mpc_coord)

add_test(NAME integration_compute
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_compute.sh)
set_tests_properties(integration_compute PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}"
                     TIMEOUT 300 RUN_SERIAL TRUE)
caselink_test(test_mpc_rpc SOURCES test_mpc_rpc.c LIBS cl_mpc_rpc cl_compute_job TIMEOUT 120)
