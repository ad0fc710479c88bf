# protocol/transport.cmake: caselink.proto (protoc-c at build time), the gRPC
# core adapter (rpc.c) and the PKI (pki.c), as the static library cl_transport.
# The generated caselink.pb-c.[ch] live in the build tree only; include them
# as "protocol/caselink.pb-c.h".
set(CASELINK_PROTO_OUT ${CMAKE_BINARY_DIR}/protocol)
file(MAKE_DIRECTORY ${CASELINK_PROTO_OUT})
add_custom_command(
  OUTPUT ${CASELINK_PROTO_OUT}/caselink.pb-c.c ${CASELINK_PROTO_OUT}/caselink.pb-c.h
  COMMAND ${PROTOC_C} --c_out=${CASELINK_PROTO_OUT} -I ${CMAKE_CURRENT_SOURCE_DIR}
          ${CMAKE_CURRENT_SOURCE_DIR}/caselink.proto
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/caselink.proto
  COMMENT "protoc-c caselink.proto"
  VERBATIM)

add_library(cl_transport STATIC
  ${CASELINK_PROTO_OUT}/caselink.pb-c.c
  ${CMAKE_CURRENT_SOURCE_DIR}/rpc.c
  ${CMAKE_CURRENT_SOURCE_DIR}/pki.c)
target_include_directories(cl_transport PUBLIC ${CMAKE_BINARY_DIR})
target_link_libraries(cl_transport
  PUBLIC PkgConfig::PROTOBUFC PkgConfig::OPENSSL cl_common Threads::Threads
  PRIVATE PkgConfig::GRPC)
