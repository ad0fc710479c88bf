# protocol/client: the coordinator's command-line clients' request and answer handling against
# a fake coordinator on loopback (plaintext demo).
caselink_test(test_client SOURCES test_client.c LIBS cl_client PkgConfig::JANSSON TIMEOUT 60)
