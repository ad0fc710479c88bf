# The coordinator's measure engine for M1–M6 over linked persons (library cl_measures).
add_library(cl_measures STATIC ${CMAKE_CURRENT_LIST_DIR}/measures.c)
target_link_libraries(cl_measures PUBLIC cl_common)
