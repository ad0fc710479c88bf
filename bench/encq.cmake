# bench/encq.cmake: a node's TOKENS-mode answer (node_encq_run) on a real store, filled cache.
add_executable(bench_encq ${CMAKE_CURRENT_SOURCE_DIR}/bench_encq.c)
target_link_libraries(bench_encq PRIVATE cl_nodetokens)
