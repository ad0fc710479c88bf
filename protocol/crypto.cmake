# protocol/crypto.cmake: RFC 9380 hash-to-curve and RFC 9497 OPRF (P256-SHA256, mode 0),
# as the static library cl_crypto.
add_library(cl_crypto STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/h2c.c
  ${CMAKE_CURRENT_SOURCE_DIR}/oprf.c
  ${CMAKE_CURRENT_SOURCE_DIR}/seal.c)
target_link_libraries(cl_crypto PUBLIC PkgConfig::OPENSSL cl_common)
