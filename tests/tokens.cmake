# node/tokens: the node's token cache and TOKENS-mode answers (real keyholder and node processes).
caselink_test(test_node_tokens SOURCES test_node_tokens.c testkeys.c
              LIBS cl_nodetokens cl_keyholder cl_sign cl_party TIMEOUT 180)
add_dependencies(test_node_tokens caselink-node caselink-keyholder)
