# Policy engine (policies/policy.c) and the example policies.
caselink_test(test_policy SOURCES test_policy.c LIBS cl_policy TIMEOUT 60)

# Policies enforced by the real daemons on loopback (tests/integration/test_policy_wired.sh).
add_test(NAME integration_policy_wired
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_policy_wired.sh)
set_tests_properties(integration_policy_wired PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}"
                     TIMEOUT 120 RUN_SERIAL TRUE)

# A received case request's as-of bound and rate (policies/policy_query.c).
caselink_test(test_policy_query SOURCES test_policy_query.c LIBS cl_policyquery TIMEOUT 60)
