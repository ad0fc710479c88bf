# Per-query encodings: q-grams, tokens, balanced Bloom filters (library cl_encode).
add_library(cl_encode STATIC encode.c)
target_link_libraries(cl_encode PUBLIC cl_common PkgConfig::OPENSSL)
