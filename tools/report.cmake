# tools/report.cmake: `caselink report --html`, the self-contained monitoring report.
target_sources(caselink PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/report.c)
