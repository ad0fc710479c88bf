# keyholder/keyholder.cmake: the OPRF keyholder daemon caselink-keyholder.

add_library(cl_keyholder STATIC ${CMAKE_CURRENT_LIST_DIR}/keystore.c
                                ${CMAKE_CURRENT_LIST_DIR}/quota.c
                                ${CMAKE_CURRENT_LIST_DIR}/serve.c)
target_link_libraries(cl_keyholder PUBLIC cl_audit cl_crypto cl_party cl_partyconf cl_daemon cl_replay
                      PkgConfig::SQLITE PkgConfig::OPENSSL Threads::Threads)

add_executable(caselink-keyholder ${CMAKE_CURRENT_LIST_DIR}/main.c)
target_link_libraries(caselink-keyholder PRIVATE cl_keyholder)
