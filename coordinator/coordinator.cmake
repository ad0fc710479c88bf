# caselink-coordinator: the coordinator daemon.
add_executable(caselink-coordinator ${CMAKE_CURRENT_LIST_DIR}/main.c
                                    ${CMAKE_CURRENT_LIST_DIR}/serve.c)
target_link_libraries(caselink-coordinator PRIVATE cl_measures cl_linker cl_aggregate cl_party cl_refuse cl_sign cl_replay cl_audit cl_partyconf cl_daemon)
