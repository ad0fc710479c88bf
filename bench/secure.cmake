# bench/secure.cmake: M2 under secure computation beside the plaintext engine, in one process.
# Run: build/bin/bench_secure_m2 [--persons 100000] [--nodes 20]
add_executable(bench_secure_m2 ${CMAKE_CURRENT_LIST_DIR}/bench_secure_m2.c)
target_link_libraries(bench_secure_m2 PRIVATE cl_m2job cl_nodeshares cl_measures cl_transport)
