# protocol/client.cmake: the coordinator's command-line clients' shared request and answer
# handling (`caselink query`, `caselink report`, `caselink-node case-history` / `alerts`),
# library cl_client.
add_library(cl_client STATIC ${CMAKE_CURRENT_SOURCE_DIR}/client.c)
target_link_libraries(cl_client PUBLIC cl_party cl_sign cl_transport cl_common
                      PRIVATE PkgConfig::JANSSON)
