# tools/linkage_eval.cmake: `caselink linkage-eval` (FEBRL4 and synth federation linkage quality).
target_sources(caselink PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/linkage_eval.c)
target_link_libraries(caselink PRIVATE cl_linker cl_encode cl_crypto cl_common)
