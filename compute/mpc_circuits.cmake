# The measure circuits over the cluster layout (part of cl_mpc; mpc_measures.h).
target_sources(cl_mpc PRIVATE ${CMAKE_CURRENT_LIST_DIR}/mpc_layout.c
               ${CMAKE_CURRENT_LIST_DIR}/mpc_m4.c ${CMAKE_CURRENT_LIST_DIR}/mpc_m5.c
               ${CMAKE_CURRENT_LIST_DIR}/mpc_m6.c)
