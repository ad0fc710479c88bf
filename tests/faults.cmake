# Fault tests (issue 7): real processes on loopback, each fault a PASS/FAIL step.
add_test(NAME integration_faults
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_faults.sh)
set_tests_properties(integration_faults PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}"
                     TIMEOUT 240 RUN_SERIAL TRUE)
