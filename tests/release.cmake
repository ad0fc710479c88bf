# Disclosure control of answers (coordinator/release.c): hand-built tables, DP, budget, differencing.
caselink_test(test_release SOURCES test_release.c tmpdb.c LIBS cl_release cl_measures m TIMEOUT 120)
# Through the daemons (one small federation, ~3 s): budget after a restart, repeat answered,
# --nodes, all-minus-one refused in period and in node set.
add_test(NAME integration_release COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_release.sh)
set_tests_properties(integration_release PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}"
                     TIMEOUT 120 RUN_SERIAL TRUE)
# The HTML report in a real headless browser (chromium from scripts/deps; 77 = skipped).
add_test(NAME integration_report COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_report.sh)
set_tests_properties(integration_report PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}"
                     TIMEOUT 600 RUN_SERIAL TRUE SKIP_RETURN_CODE 77)
# An exact attacker (GLPK) against whole answers: every relation the measure implies (issue 12 §3).
caselink_test(test_release_attack SOURCES test_release_attack.c synthfed.c LIBS cl_release cl_measures m TIMEOUT 300)
add_dependencies(test_release_attack caselink)
