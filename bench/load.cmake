# bench/load.cmake: bench_load (sustained concurrent load on a running coordinator);
# bench/bench_load.sh builds a 20-node federation with a keyholder and runs it.
add_executable(bench_load ${CMAKE_CURRENT_LIST_DIR}/bench_load.c ${CMAKE_CURRENT_LIST_DIR}/benchutil.c)
target_link_libraries(bench_load PRIVATE cl_client cl_party cl_sign Threads::Threads)
