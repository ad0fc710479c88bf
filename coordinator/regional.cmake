# Two-level coordination: a regional coordinator answers a national one's Node.Query
# (coordinator/regional.c, docs/two-level.md). After coordinator.cmake (fragments are sorted).
add_library(cl_regional STATIC ${CMAKE_CURRENT_LIST_DIR}/regional.c)
target_link_libraries(cl_regional PUBLIC cl_refuse cl_party cl_sign cl_replay cl_audit cl_aggregate
                                         cl_partyconf cl_transport cl_common)
target_link_libraries(caselink-coordinator PRIVATE cl_regional)
