# bench/keyholder.cmake: BlindEvaluate throughput through a real caselink-keyholder over mutual
# TLS vs in-process vs `openssl speed ecdhp256`.
# Run: build/bin/bench_keyholder [--seconds 5] [--batch 1000] [--workers 2] [--clients 4]
add_executable(bench_keyholder ${CMAKE_CURRENT_LIST_DIR}/bench_keyholder.c
                               ${CMAKE_CURRENT_LIST_DIR}/benchutil.c)
target_link_libraries(bench_keyholder PRIVATE cl_party cl_sign cl_crypto Threads::Threads)
add_dependencies(bench_keyholder caselink-keyholder)
