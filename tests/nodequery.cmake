caselink_test(test_node_query SOURCES test_node_query.c LIBS cl_nodequery)
