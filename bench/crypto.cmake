# bench/crypto.cmake: OPRF throughput (key holder BlindEvaluate vs `openssl speed ecdhp256`,
# node hash_to_curve / Blind / Finalize). Run: build/bin/bench_oprf [--seconds 5] [--rounds 3]
add_executable(bench_oprf ${CMAKE_CURRENT_SOURCE_DIR}/bench_oprf.c)
target_link_libraries(bench_oprf PRIVATE cl_crypto)
