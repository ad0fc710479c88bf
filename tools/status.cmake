# tools/status.cmake: `caselink status`, a party's Status RPC (health checks).
target_sources(caselink PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/status_cli.c)
