# bench/mpc_rpc.cmake: bench_mpc_rpc, the network transport between the three parties of a
# secure computation beside the in-process one (docs/BENCHMARKS.md).
add_executable(bench_mpc_rpc ${CMAKE_CURRENT_LIST_DIR}/bench_mpc_rpc.c)
target_link_libraries(bench_mpc_rpc PRIVATE cl_mpc_rpc cl_compute_job Threads::Threads)
