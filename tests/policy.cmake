# Policy engine (policies/policy.c) and the example policies.
caselink_test(test_policy SOURCES test_policy.c LIBS cl_policy TIMEOUT 60)
