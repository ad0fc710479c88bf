# bench/transport.cmake: bench_query (latency and qps through a running coordinator);
# bench/bench_transport.sh sets up federations of 5, 20 and 100 nodes and runs it.
add_executable(bench_query ${CMAKE_CURRENT_LIST_DIR}/bench_query.c ${CMAKE_CURRENT_LIST_DIR}/benchutil.c)
target_link_libraries(bench_query PRIVATE cl_client cl_party cl_sign Threads::Threads)
