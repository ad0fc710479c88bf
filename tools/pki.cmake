# tools/pki.cmake: `caselink pki` (init-ca, issue, revoke).
target_sources(caselink PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/pki_cli.c)
target_link_libraries(caselink PRIVATE cl_transport)
