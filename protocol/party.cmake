# protocol/party.cmake: TLS files and request headers shared by every party.
add_library(cl_party STATIC ${CMAKE_CURRENT_SOURCE_DIR}/party.c)
target_link_libraries(cl_party PUBLIC cl_transport cl_common PkgConfig::OPENSSL)

# The daemons' refusal (log + audit); a separate library so clients stay free of SQLite.
add_library(cl_refuse STATIC ${CMAKE_CURRENT_SOURCE_DIR}/refuse.c)
target_link_libraries(cl_refuse PUBLIC cl_party cl_audit)

# Signed requests (requester and coordinator envelope signatures).
add_library(cl_sign STATIC ${CMAKE_CURRENT_SOURCE_DIR}/sign.c)
target_link_libraries(cl_sign PUBLIC cl_transport cl_common PkgConfig::OPENSSL)
