# node/serve.cmake: `caselink-node serve`, the node daemon, and its node-local queries.
add_library(cl_nodequery STATIC ${CMAKE_CURRENT_LIST_DIR}/query.c)
target_link_libraries(cl_nodequery PUBLIC cl_node cl_aggregate Threads::Threads)
target_sources(caselink-node PRIVATE ${CMAKE_CURRENT_LIST_DIR}/serve.c ${CMAKE_CURRENT_LIST_DIR}/disclose.c)
target_link_libraries(caselink-node PRIVATE cl_nodequery cl_party cl_refuse cl_sign cl_replay cl_audit cl_partyconf cl_daemon cl_nodetokens)
# node/shares: the minimised columns a node shares for a secure computation instead of events.
add_library(cl_nodeshares STATIC ${CMAKE_CURRENT_LIST_DIR}/shares.c)
target_link_libraries(cl_nodeshares PUBLIC cl_mpc cl_crypto cl_transport cl_common)
target_link_libraries(caselink-node PRIVATE cl_nodeshares)
