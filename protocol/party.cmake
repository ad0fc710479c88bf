# protocol/party.cmake: TLS files and request headers shared by every party.
add_library(cl_party STATIC ${CMAKE_CURRENT_SOURCE_DIR}/party.c)
target_link_libraries(cl_party PUBLIC cl_transport cl_common PkgConfig::OPENSSL)

# Signed requests (requester and coordinator envelope signatures).
add_library(cl_sign STATIC ${CMAKE_CURRENT_SOURCE_DIR}/sign.c)
target_link_libraries(cl_sign PUBLIC cl_transport cl_common PkgConfig::OPENSSL)
