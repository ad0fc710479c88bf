# M7 case_history and M8 high_risk_alerts: the coordinator's engine (hand-built cases and synth
# ground truth) and the federation end to end (tests/integration/test_cases.sh).
caselink_test(test_cases SOURCES test_cases.c synthfed.c synthcases.c LIBS cl_cases cl_common TIMEOUT 120)
add_dependencies(test_cases caselink)
add_test(NAME integration_cases COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_cases.sh)
set_tests_properties(integration_cases PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}"
                     TIMEOUT 180 RUN_SERIAL TRUE)

# The fabricated-record attack on case answers against the default case_disclosure policies,
# and a real shared case (a referral) still answered (tests/integration/test_case_attack.sh).
add_test(NAME integration_case_attack
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_case_attack.sh)
set_tests_properties(integration_case_attack PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}"
                     TIMEOUT 180 RUN_SERIAL TRUE)

# The two-phase answer path (coordinator/cases_answer.c): what phase 2 asks, grants, refusals.
caselink_test(test_cases_answer
              SOURCES test_cases_answer.c ${CMAKE_SOURCE_DIR}/coordinator/cases_answer.c
              LIBS cl_cases cl_linker cl_regional cl_party cl_common TIMEOUT 60)
