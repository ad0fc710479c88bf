# The measure circuits (compute/mpc_m4 ...) against the plaintext reference engine.
caselink_test(test_mpc_m4 SOURCES test_mpc_m4.c mpcfed.c synthfed.c LIBS cl_mpc cl_measures
              cl_common m TIMEOUT 300)
add_dependencies(test_mpc_m4 caselink)
caselink_test(test_mpc_m5 SOURCES test_mpc_m5.c mpcfed.c synthfed.c LIBS cl_mpc cl_measures
              cl_common m TIMEOUT 300)
add_dependencies(test_mpc_m5 caselink)
caselink_test(test_mpc_m6 SOURCES test_mpc_m6.c mpcfed.c synthfed.c LIBS cl_mpc cl_measures
              cl_common m TIMEOUT 300)
add_dependencies(test_mpc_m6 caselink)
caselink_test(test_mpc_layout SOURCES test_mpc_layout.c LIBS cl_mpc TIMEOUT 120)
