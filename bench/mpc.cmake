# bench/mpc.cmake: the three-party engine beside plaintext references in the same run.
# Run: build/bin/bench_mpc [--rows 1000000] [--runs 3]
add_executable(bench_mpc ${CMAKE_CURRENT_LIST_DIR}/bench_mpc.c)
target_link_libraries(bench_mpc PRIVATE cl_mpc)
