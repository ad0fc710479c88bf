# Multi-host integration test: each party in its own network namespace (needs root with
# CAP_NET_ADMIN; exits 77 = skipped elsewhere).
add_test(NAME integration_multihost
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_multihost.sh)
set_tests_properties(integration_multihost PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}"
                     TIMEOUT 120 SKIP_RETURN_CODE 77 RUN_SERIAL TRUE)
