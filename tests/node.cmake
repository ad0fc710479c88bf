# node/: store, CSV import and the caselink-node program.
caselink_test(test_node_store SOURCES test_node_store.c LIBS cl_node TIMEOUT 60)
caselink_test(test_node_import SOURCES test_node_import.c LIBS cl_node TIMEOUT 120)
caselink_test(test_node_cli SOURCES test_node_cli.c LIBS cl_node TIMEOUT 300)
add_dependencies(test_node_cli caselink-node)
