# tools/query.cmake: `caselink query`, the coordinator's command-line client.
target_sources(caselink PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/query_cli.c)
target_link_libraries(caselink PRIVATE cl_client)
