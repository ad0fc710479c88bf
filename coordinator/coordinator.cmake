# caselink-coordinator: the coordinator daemon.
add_executable(caselink-coordinator ${CMAKE_CURRENT_LIST_DIR}/main.c
                                    ${CMAKE_CURRENT_LIST_DIR}/serve.c)
target_link_libraries(caselink-coordinator PRIVATE cl_measures cl_linker cl_aggregate cl_party cl_refuse cl_sign cl_replay cl_audit cl_partyconf cl_daemon)
# The coordinator's engine for M7 case_history and M8 high_risk_alerts (library cl_cases) and
# its answer path (coordinator/cases_answer.c).
add_library(cl_cases STATIC ${CMAKE_CURRENT_LIST_DIR}/cases.c)
target_link_libraries(cl_cases PUBLIC cl_measures cl_common)
target_sources(caselink-coordinator PRIVATE ${CMAKE_CURRENT_LIST_DIR}/cases_answer.c)
target_link_libraries(caselink-coordinator PRIVATE cl_cases)
# Disclosure control of every answer (suppression, DP noise, differencing): coordinator/release.c.
add_library(cl_release STATIC ${CMAKE_CURRENT_LIST_DIR}/release.c)
target_link_libraries(cl_release PUBLIC cl_suppress cl_dp cl_ledger cl_common m)
target_link_libraries(caselink-coordinator PRIVATE cl_release)
# Party 0 of the secure computation (coordinator/secure.c, docs/secure-computation.md).
target_sources(caselink-coordinator PRIVATE ${CMAKE_CURRENT_LIST_DIR}/secure.c)
target_link_libraries(caselink-coordinator PRIVATE cl_mpc_coord cl_m2job)
