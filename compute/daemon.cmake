# compute/daemon.cmake: the computing party's daemon caselink-compute, its configuration,
# and the network transport of mpc_net between the three parties (docs/deploy.md).

# The mailbox alone (no network): its rules are tested without gRPC.
add_library(cl_mpc_mailbox STATIC ${CMAKE_CURRENT_LIST_DIR}/mpc_mailbox.c)
target_link_libraries(cl_mpc_mailbox PUBLIC cl_common PkgConfig::OPENSSL Threads::Threads)

# The transport: party 0 links it into the coordinator, parties 1 and 2 into the daemon.
add_library(cl_mpc_rpc STATIC ${CMAKE_CURRENT_LIST_DIR}/mpc_rpc.c)
target_link_libraries(cl_mpc_rpc PUBLIC cl_mpc_mailbox cl_party cl_transport cl_common)

# THE LEAD'S TO REPLACE: the demonstration job behind compute_run (compute_job.h).
add_library(cl_compute_job STATIC ${CMAKE_CURRENT_LIST_DIR}/compute_job.c)
target_link_libraries(cl_compute_job PUBLIC cl_mpc cl_m2job cl_common PkgConfig::OPENSSL)

add_library(cl_computeconf STATIC ${CMAKE_CURRENT_LIST_DIR}/computeconf.c)
target_link_libraries(cl_computeconf PUBLIC cl_yconf)

add_library(cl_compute STATIC ${CMAKE_CURRENT_LIST_DIR}/serve.c)
target_link_libraries(cl_compute PUBLIC cl_computeconf cl_mpc_rpc cl_compute_job cl_audit
                      cl_party cl_replay cl_daemon PkgConfig::OPENSSL Threads::Threads)

add_executable(caselink-compute ${CMAKE_CURRENT_LIST_DIR}/main.c)
target_link_libraries(caselink-compute PRIVATE cl_compute)

# The coordinator's side of a computation (party 0 and orchestrator), for the coordinator
# and for tests/compute_party0.c.
add_library(cl_mpc_coord STATIC ${CMAKE_CURRENT_LIST_DIR}/mpc_coord.c)
target_link_libraries(cl_mpc_coord PUBLIC cl_mpc_rpc cl_compute_job cl_party Threads::Threads)
