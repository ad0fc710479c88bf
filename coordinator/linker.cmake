# The coordinator's record linkage within one query (library cl_linker).
add_library(cl_linker STATIC linker.c)
target_link_libraries(cl_linker PUBLIC cl_common PkgConfig::OPENSSL m)
