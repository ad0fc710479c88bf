# cl_node: the node's store and CSV import; caselink-node: init, import, status.
add_library(cl_node STATIC ${CMAKE_CURRENT_LIST_DIR}/store.c ${CMAKE_CURRENT_LIST_DIR}/import.c)
target_link_libraries(cl_node PUBLIC cl_common PkgConfig::SQLITE PkgConfig::OPENSSL)

add_executable(caselink-node ${CMAKE_CURRENT_LIST_DIR}/main.c)
target_link_libraries(caselink-node PRIVATE cl_node)
# `caselink-node case-history` and `caselink-node alerts` (M7, M8 through the coordinator).
target_sources(caselink-node PRIVATE ${CMAKE_CURRENT_LIST_DIR}/cases_cli.c)
target_link_libraries(caselink-node PRIVATE cl_client)
