# Last fragment (sorted): no integration test may leave a daemon behind. Every integration_*
# test requires the fixture caselink_daemons, whose cleanup test runs after all of them (even
# when they failed or timed out) and fails if a caselink daemon under CASELINK_TMP is alive.
# Each integration test also gets CASELINK_IT_TIMEOUT, 15 s under its ctest TIMEOUT: the
# watchdog of tests/integration/lib.sh ends it cleanly before ctest's SIGKILL (which no trap
# survives).
get_property(caselink_all_tests DIRECTORY PROPERTY TESTS)
foreach(t ${caselink_all_tests})
  if(t MATCHES "^integration_")
    get_test_property(${t} TIMEOUT t_timeout)
    if(NOT t_timeout)
      set(t_timeout 1500)
    endif()
    math(EXPR t_watchdog "${t_timeout} - 15")
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT "CASELINK_IT_TIMEOUT=${t_watchdog}")
    set_property(TEST ${t} APPEND PROPERTY FIXTURES_REQUIRED caselink_daemons)
  endif()
endforeach()
add_test(NAME no_daemons_left COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/check_daemons.sh)
set_tests_properties(no_daemons_left PROPERTIES ENVIRONMENT "${CASELINK_TEST_ENV}" TIMEOUT 30
                     RUN_SERIAL TRUE FIXTURES_CLEANUP caselink_daemons)
