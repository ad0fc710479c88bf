caselink_test(test_node_query SOURCES test_node_query.c LIBS cl_nodequery)
caselink_test(test_node_serve SOURCES test_node_serve.c LIBS cl_node cl_sign cl_party TIMEOUT 120)
