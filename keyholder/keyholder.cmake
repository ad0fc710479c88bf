# keyholder/keyholder.cmake: the OPRF keyholder daemon caselink-keyholder, and the generic
# hash-chained audit log cl_audit (common/audit.c, meant for every party; defined here so that
# the keyholder's area owns its build lines).
add_library(cl_audit STATIC ${CMAKE_SOURCE_DIR}/common/audit.c)
target_link_libraries(cl_audit PUBLIC cl_common PkgConfig::SQLITE PkgConfig::OPENSSL
                      Threads::Threads)

add_library(cl_keyholder STATIC ${CMAKE_CURRENT_LIST_DIR}/keystore.c
                                ${CMAKE_CURRENT_LIST_DIR}/quota.c
                                ${CMAKE_CURRENT_LIST_DIR}/serve.c)
target_link_libraries(cl_keyholder PUBLIC cl_audit cl_crypto cl_party cl_partyconf cl_daemon
                      PkgConfig::SQLITE PkgConfig::OPENSSL Threads::Threads)

add_executable(caselink-keyholder ${CMAKE_CURRENT_LIST_DIR}/main.c)
target_link_libraries(caselink-keyholder PRIVATE cl_keyholder)
