# bench_import: caselink-node import vs the sqlite3 shell's .import of the same events.csv.
add_executable(bench_import ${CMAKE_CURRENT_LIST_DIR}/bench_import.c)
add_dependencies(bench_import caselink-node)
target_link_libraries(bench_import PRIVATE cl_common)
