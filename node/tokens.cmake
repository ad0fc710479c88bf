# node/tokens.cmake: the node's token cache (`caselink-node tokens`, a keyholder client) and its
# TOKENS-mode query answers (per-query tokens, Bloom filters, row handles), library cl_nodetokens.
add_library(cl_nodetokens STATIC ${CMAKE_CURRENT_LIST_DIR}/tokens.c
                                 ${CMAKE_CURRENT_LIST_DIR}/encode_query.c)
target_link_libraries(cl_nodetokens PUBLIC cl_node cl_crypto cl_encode cl_party cl_partyconf
                      cl_transport PkgConfig::SQLITE PkgConfig::OPENSSL)
target_link_libraries(caselink-node PRIVATE cl_nodetokens)
