# Integration tests: real processes on loopback (shell scripts driving build/bin).
add_test(NAME integration_federation
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_federation.sh)
set_tests_properties(integration_federation PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}"
                     TIMEOUT 300 RUN_SERIAL TRUE)
# Replay after a restart (issue 12): it_request keeps a signed request's bytes and sends them
# again to each party after it restarted.
add_executable(it_request ${CMAKE_CURRENT_SOURCE_DIR}/it_request.c)
set_target_properties(it_request PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
target_link_libraries(it_request PRIVATE cl_party cl_sign cl_crypto)
add_test(NAME integration_replay
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_replay.sh)
set_tests_properties(integration_replay PROPERTIES ENVIRONMENT
                     "${CASELINK_TEST_ENV};CASELINK_IT_TOOLS=${CMAKE_BINARY_DIR}/tests"
                     TIMEOUT 240 RUN_SERIAL TRUE)
