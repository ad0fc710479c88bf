# Integration tests: real processes on loopback (shell scripts driving build/bin).
add_test(NAME integration_federation
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_federation.sh)
set_tests_properties(integration_federation PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}"
                     TIMEOUT 300 RUN_SERIAL TRUE)
