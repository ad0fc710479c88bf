# Two-level coordination (coordinator/regional.c, docs/two-level.md).
caselink_test(test_regional SOURCES test_regional.c LIBS cl_regional TIMEOUT 60)
add_test(NAME integration_two_level
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_two_level.sh)
set_tests_properties(integration_two_level PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}"
                     TIMEOUT 180 RUN_SERIAL TRUE)
add_test(NAME integration_two_level_cases
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_two_level_cases.sh)
set_tests_properties(integration_two_level_cases PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}"
                     TIMEOUT 120 RUN_SERIAL TRUE)
