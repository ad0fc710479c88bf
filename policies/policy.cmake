# Policy engine: federation and node policies (docs/policy.md).
add_library(cl_policy STATIC policy.c)
target_link_libraries(cl_policy PUBLIC cl_yconf Threads::Threads m)

# The daemons' side: policy file of a configuration, QueryRequest -> policy_request.
add_library(cl_policyquery STATIC ${CMAKE_CURRENT_LIST_DIR}/policy_query.c)
target_link_libraries(cl_policyquery PUBLIC cl_policy cl_transport cl_common)

# The daemons enforce their policies (coordinator/serve.c, node/serve.c; docs/policy.md).
target_link_libraries(caselink-coordinator PRIVATE cl_policyquery)
target_link_libraries(caselink-node PRIVATE cl_policyquery)
