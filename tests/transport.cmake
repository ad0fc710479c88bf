# Transport: PKI and the gRPC adapter (real servers on 127.0.0.1).
caselink_test(test_pki SOURCES test_pki.c LIBS cl_transport TIMEOUT 60)
caselink_test(test_rpc SOURCES test_rpc.c LIBS cl_transport TIMEOUT 120)
