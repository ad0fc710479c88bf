# The coordinator's record linkage within one query and the compact form of the nodes' TOKENS
# answers it links (library cl_linker: linker.c, tokset.c).
add_library(cl_linker STATIC linker.c tokset.c)
target_link_libraries(cl_linker PUBLIC cl_common PkgConfig::OPENSSL m)
