# The three-party engine (library cl_mpc): channels, sharing, circuits.
add_library(cl_mpc STATIC ${CMAKE_CURRENT_LIST_DIR}/mpc_net.c ${CMAKE_CURRENT_LIST_DIR}/mpc_share.c
            ${CMAKE_CURRENT_LIST_DIR}/mpc_circuit.c
            ${CMAKE_CURRENT_LIST_DIR}/mpc_m2.c ${CMAKE_CURRENT_LIST_DIR}/mpc_input.c
            ${CMAKE_CURRENT_LIST_DIR}/mpc_perm.c)
target_link_libraries(cl_mpc PUBLIC cl_common PkgConfig::OPENSSL Threads::Threads)
# One secure M2 computation from the nodes' uploads (library cl_m2job).
add_library(cl_m2job STATIC ${CMAKE_CURRENT_LIST_DIR}/m2_job.c)
target_link_libraries(cl_m2job PUBLIC cl_mpc cl_crypto cl_transport)
