# bench/linker.cmake: tokens/s, Bloom encodings/s, Dice comparisons/s, end-to-end linkage.
add_executable(bench_linker ${CMAKE_CURRENT_SOURCE_DIR}/bench_linker.c)
target_link_libraries(bench_linker PRIVATE cl_linker cl_encode)
